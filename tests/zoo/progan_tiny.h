#pragma once
// The small ProGAN the progan tests share: 4 → 8 → 16, one channel, nz 8, at most 8 maps
// (--fmap-base 32 --fmap-max 8), the same as tools/fixtures/gen_progan_fixtures.py builds.
#include "zoo/models/progan/networks.h"

namespace zg::testing {

inline zoo::ProganConfig tiny_progan_config() {
    zoo::ProganConfig c;
    c.resolution = 16;
    c.channels = 1;
    c.nz = 8;
    c.fmap_base = 32;
    c.fmap_max = 8;
    return c;
}

}  // namespace zg::testing
