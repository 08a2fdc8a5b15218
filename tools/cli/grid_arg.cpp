#include "tools/cli/grid_arg.h"

#include <charconv>

#include "engine/error.h"

namespace zg::tools {

namespace {

// One side of the grid: decimal digits only (from_chars would take a leading '-'), in
// 1..kMaxGridSide, up to `end`.
bool read_side(const char* begin, const char* end, int64_t& side) {
    if (begin == end || *begin < '0' || *begin > '9') return false;
    auto [stop, err] = std::from_chars(begin, end, side);
    return err == std::errc() && stop == end && side >= 1 && side <= kMaxGridSide;
}

}  // namespace

GridShape parse_grid(const std::string& text) {
    const size_t x = text.find('x');
    GridShape g{0, 0};
    const char* s = text.data();
    ZG_CHECK(x != std::string::npos && read_side(s, s + x, g.rows) &&
                 read_side(s + x + 1, s + text.size(), g.cols),
             "--grid: expected ROWSxCOLS with each from 1 to ", kMaxGridSide,
             ", such as 8x8, got '", text, "'");
    return g;
}

}  // namespace zg::tools
