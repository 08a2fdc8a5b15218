// Regression tests for hostile inputs to the data readers that the fuzz targets
// (tests/fuzz/fuzz_idx.cpp, fuzz_image.cpp) found: each must be a clear zg::Error, never a
// crash or a huge allocation.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "nn/data.h"
#include "test_util.h"

using namespace zg;
using testing::contains;
using testing::error_of;

TEST_CASE("IDX: dims whose product wraps around 2^64 are refused, not read as an empty array") {
    // [2^18, 2^17, 2^31]: the running product 2^35 times 2^31 is 2^66, which wraps to 0, and a
    // 16-byte file is exactly "header + 0 bytes".
    const std::vector<uint8_t> bytes = {0, 0, 8, 3, 0, 4, 0, 0, 0, 2, 0, 0, 0x80, 0, 0, 0};
    const std::string e = error_of([&] { nn::parse_idx(bytes, "wrap.idx3"); });
    CHECK_MESSAGE(contains(e, "wrap.idx3: IDX dimensions are implausibly large"), e);
}

TEST_CASE("IDX: a zero dim with huge others is refused; with small ones it is an empty array") {
    // [0, 2^32 - 1, 2^32 - 1] holds no bytes, but its shape overflows a tensor's element count.
    const std::vector<uint8_t> huge = {0,    0,    8,    3,    0,    0,    0,    0,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const std::string e = error_of([&] { nn::parse_idx(huge, "empty.idx3"); });
    CHECK_MESSAGE(contains(e, "empty.idx3: IDX dimensions are implausibly large"), e);
    const std::vector<uint8_t> small = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
    const nn::IdxArray a = nn::parse_idx(small, "empty.idx3");
    CHECK(a.data.empty());
    CHECK(nn::images_from_idx(a, "empty.idx3").shape() == Shape{0, 1, 28, 28});
}

TEST_CASE("images: a PGM header with height 0 is refused, not decoded to an empty image") {
    const std::string pgm = "P5\n5 0\n255\n";
    const std::string e = error_of([&] {
        nn::decode_image(reinterpret_cast<const uint8_t*>(pgm.data()), pgm.size(), "flat.pgm", 1);
    });
    CHECK_MESSAGE(contains(e, "flat.pgm: the image is 5×0 pixels"), e);
    // fit_images itself refuses images without pixels (it used to crash on them).
    const std::string f = error_of([] { nn::fit_images(zeros({1, 1, 0, 5}), 8); });
    CHECK_MESSAGE(contains(f, "no pixels"), f);
}
