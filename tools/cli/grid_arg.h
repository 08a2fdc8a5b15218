#pragma once
// The --grid argument of `zoograd eval --samples grid.png --grid RxC`: how many rows and columns
// of images a PNG grid holds. Its own file so its fuzz target (tests/fuzz/fuzz_grid.cpp) can
// build it without the rest of the CLI.
#include <cstdint>
#include <string>

namespace zg::tools {

struct GridShape {
    int64_t rows, cols;
};

// The largest rows or columns --grid takes: far past any grid of images a PNG can hold.
constexpr int64_t kMaxGridSide = 65536;

// "8x8" → {8, 8}. Anything but two decimal numbers in 1..kMaxGridSide joined by one 'x' (a sign,
// a space, trailing text, an overflowing number) is a zg::Error naming --grid.
GridShape parse_grid(const std::string& text);

}  // namespace zg::tools
