#include <doctest/doctest.h>

#include "test_util.h"
#include "zoo/models/progan/schedule.h"

using namespace zg;
using namespace zg::zoo;

namespace {

// Checks one phase against hand-computed values.
void expect_phase(const ProganSchedule& s, int64_t shown, int64_t segment, int64_t resolution,
                  double alpha) {
    CAPTURE(shown);
    const ProganPhase p = s.at(shown);
    CHECK(p.segment == segment);
    CHECK(p.resolution == resolution);
    CHECK(p.alpha == doctest::Approx(alpha).epsilon(1e-12));
    CHECK(p.fading() == (alpha < 1));
}

}  // namespace

TEST_CASE("progan schedule: stable and fade segments from 4x4 to 32x32, by images shown") {
    // 2 kimg stable, 1 kimg fade: each growth takes 3000 images.
    const ProganSchedule s(4, 32, 2, 1);
    CHECK(s.segments() == 7);
    expect_phase(s, 0, 0, 4, 1);
    expect_phase(s, 1999, 0, 4, 1);
    expect_phase(s, 2000, 1, 8, 0);  // 8×8 fades in with weight 0: the output is still 4×4's
    expect_phase(s, 2300, 1, 8, 0.3);
    expect_phase(s, 2999, 1, 8, 0.999);
    expect_phase(s, 3000, 2, 8, 1);
    expect_phase(s, 5000, 3, 16, 0);
    expect_phase(s, 5500, 3, 16, 0.5);
    expect_phase(s, 6000, 4, 16, 1);
    expect_phase(s, 8999, 5, 32, 0.999);
    expect_phase(s, 9000, 6, 32, 1);  // the final resolution from here on
    expect_phase(s, 1000000, 6, 32, 1);
    CHECK(s.segment_start(0) == 0);
    CHECK(s.segment_start(1) == 2000);
    CHECK(s.segment_start(2) == 3000);
    CHECK(s.segment_start(3) == 5000);
    CHECK(s.segment_start(6) == 9000);
    // Every segment begins where at() says it does.
    for (int64_t seg = 0; seg < s.segments(); ++seg) {
        CHECK(s.at(s.segment_start(seg)).segment == seg);
        if (seg > 0) CHECK(s.at(s.segment_start(seg) - 1).segment == seg - 1);
    }
}

TEST_CASE("progan schedule: fractional kimg, no fade, a single resolution, bad arguments") {
    const ProganSchedule half(4, 8, 0.5, 0.25);
    expect_phase(half, 499, 0, 4, 1);
    expect_phase(half, 500, 1, 8, 0);
    expect_phase(half, 625, 1, 8, 0.5);
    expect_phase(half, 750, 2, 8, 1);
    const ProganSchedule jump(4, 16, 1, 0);  // no fade: each resolution starts at full weight
    expect_phase(jump, 999, 0, 4, 1);
    expect_phase(jump, 1000, 2, 8, 1);
    expect_phase(jump, 2000, 4, 16, 1);
    const ProganSchedule one(32, 32, 0, 0);
    CHECK(one.segments() == 1);
    expect_phase(one, 0, 0, 32, 1);
    using testing::contains;
    using testing::error_of;
    CHECK(contains(error_of([] { ProganSchedule(4, 48, 1, 1); }), "--image-size"));
    CHECK(contains(error_of([] { ProganSchedule(8, 4, 1, 1); }), "--image-size"));
    CHECK(contains(error_of([] { ProganSchedule(2, 8, 1, 1); }), "start resolution"));
    CHECK(contains(error_of([] { ProganSchedule(4, 8, -1, 1); }), "--stable-kimg"));
    CHECK(contains(error_of([] { ProganSchedule(4, 8, 1, -0.5); }), "--fade-kimg"));
    CHECK(contains(error_of([] { ProganSchedule(4, 8, 0, 0); }), "never train below"));
    CHECK(contains(error_of([] { ProganSchedule(4, 8, 1, 1).at(-1); }), "negative"));
}

TEST_CASE("progan schedule: --batch-sizes per resolution, with the nearest one below") {
    const auto sizes = parse_batch_sizes("4:64,8:64,16:64,32:32");
    CHECK(sizes.size() == 4);
    CHECK(batch_size_at(sizes, 4) == 64);
    CHECK(batch_size_at(sizes, 16) == 64);
    CHECK(batch_size_at(sizes, 32) == 32);
    CHECK(batch_size_at(sizes, 128) == 32);  // above the list: the largest listed resolution's
    const auto from8 = parse_batch_sizes("8:16");
    CHECK(batch_size_at(from8, 4) == 16);  // below the list: the smallest listed resolution's
    using testing::contains;
    using testing::error_of;
    for (const char* bad : {"", "4:64,", "4-64", "4:", ":64", "4:64x", "x:64"})
        CHECK_MESSAGE(contains(error_of([&] { parse_batch_sizes(bad); }), "is not RESOLUTION:SIZE"),
                      bad);
    CHECK(contains(error_of([] { parse_batch_sizes("6:64"); }), "not a power of two"));
    CHECK(contains(error_of([] { parse_batch_sizes("4:0"); }), "must be positive"));
    CHECK(contains(error_of([] { parse_batch_sizes("4:64,4:32"); }), "given twice"));
}
