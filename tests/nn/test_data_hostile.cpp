// Regression tests for hostile inputs to the data readers that the fuzz targets
// (tests/fuzz/fuzz_idx.cpp, fuzz_image.cpp) found: each must be a clear zg::Error, never a
// crash or a huge allocation.
#include <doctest/doctest.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "nn/data/dataset.h"
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

TEST_CASE("IDX: a zero dim with huge others is refused, with small ones it is an empty array") {
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

TEST_CASE("images: a JPEG Huffman table with more than 256 codes is refused before stb_image") {
    // SOI, then a DHT segment whose 16 code counts add up to 257: stb_image 2.27 would write
    // past its 257-entry size table.
    std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC4, 0x01, 0x14, 0x00, 255, 2};
    jpeg.resize(jpeg.size() + 14 + 257, 0);
    const std::string e =
        error_of([&] { nn::decode_image(jpeg.data(), jpeg.size(), "huffman.jpg", 3); });
    CHECK_MESSAGE(contains(e, "huffman.jpg: corrupt JPEG (a Huffman table with more than 256"), e);
    // stb reads one more table header when the segment has a byte left, past the segment's
    // end and the file's (as zeros): a DHT of 21 bytes with one 1-code table, then FF FF.
    std::vector<uint8_t> cut = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x15, 0x00, 1};
    cut.resize(cut.size() + 15 + 1 + 1, 0);
    cut.insert(cut.end(), {0xFF, 0xFF});
    const std::string c = error_of([&] { nn::decode_image(cut.data(), cut.size(), "cut.jpg", 1); });
    CHECK_MESSAGE(contains(c, "cut.jpg: corrupt JPEG"), c);
    // 256 codes are fine as far as the guard goes (stb then fails on the missing frame).
    jpeg[8] = 1;
    const std::string f =
        error_of([&] { nn::decode_image(jpeg.data(), jpeg.size(), "huffman.jpg", 3); });
    CHECK_MESSAGE(contains(f, "cannot decode image"), f);
}

TEST_CASE("images: a header declaring more pixels than the file can hold is refused unread") {
    // An 18-byte uncompressed TGA header declaring 4096×4096 RGB (stb_image would allocate
    // 48 MB first; the fuzzer found such headers asking for 640 MB).
    const std::vector<uint8_t> tga = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0x10, 24, 0};
    const std::string e = error_of([&] { nn::decode_image(tga.data(), tga.size(), "big.tga", 3); });
    CHECK_MESSAGE(contains(e, "big.tga: the header declares 4096×4096 pixels, more than 18 bytes"),
                  e);
}

TEST_CASE("images: fit_images refuses strips more than 64 times longer than wide") {
    // A 1×65 strip would be resized to 8×520 first; a 1×2²⁴ one (a small PNG) to 8×2²⁷.
    const std::string e = error_of([] { nn::fit_images(zeros({1, 1, 1, 65}), 8); });
    CHECK_MESSAGE(contains(e, "more than 64 times wider than tall"), e);
    CHECK(nn::fit_images(zeros({1, 1, 1, 64}), 8).shape() == Shape{1, 1, 8, 8});
}

TEST_CASE("images: a PNG chunk longer than the file is refused before stb_image allocates it") {
    // Signature, then an IHDR chunk declaring 2^31 - 1 bytes (stb_image would reallocate its
    // buffer to that size first), found by the fuzzer.
    const std::vector<uint8_t> png = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1A, '\n', 0x7F, 0xFF,
                                      0xFF, 0xFF, 'I', 'D', 'A',  'T',  0,    0,    0,    0};
    const std::string e = error_of([&] { nn::decode_image(png.data(), png.size(), "cut.png", 1); });
    CHECK_MESSAGE(contains(e, "cut.png: truncated or corrupt PNG"), e);
}

TEST_CASE("images: 16-bit PNM and PNM header numbers of ten digits are refused before stb_image") {
    // "P6 55 2 655 2": maxval 655 makes stb_image 2.27 read 16-bit samples and overflow its
    // buffer (found by the fuzzer); a ten-digit width overflows its int parser.
    for (const std::string pnm : {"P655 2\n655 \n2", "P5 # comment\n 1844674407 2 255\n"}) {
        const std::string e = error_of([&] {
            nn::decode_image(reinterpret_cast<const uint8_t*>(pnm.data()), pnm.size(), "x.ppm", 3);
        });
        CHECK_MESSAGE(contains(e, "x.ppm: 16-bit or malformed PNM header"), e);
    }
    const std::string ok = "P5\n# 8-bit\n2 1\n255\n\x10\x20";
    const Tensor img =
        nn::decode_image(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "ok.pgm", 1);
    CHECK(img.shape() == Shape{1, 1, 2});
}

TEST_CASE("IDX: a gzip bomb is refused after the bytes its header promises, not inflated") {
    // A header for one 28×28 image, its 784 bytes, then 256 MiB of zeros: a file of about
    // 250 KB that would inflate to a quarter of a gigabyte (issue 21 found 4 GiB ones).
    testing::TempDir dir{"zg_bomb"};
    const std::string path = (dir.path / "bomb-images-idx3-ubyte.gz").string();
    gzFile f = gzopen(path.c_str(), "wb9");
    REQUIRE(f);
    const uint8_t header[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28};
    gzwrite(f, header, sizeof header);
    const std::vector<uint8_t> zeros(1 << 20);
    for (int i = 0; i < 256 + 1; ++i) gzwrite(f, zeros.data(), (unsigned)zeros.size());
    gzclose(f);
    const auto start = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { nn::read_idx(path); });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK_MESSAGE(contains(e, "promises 800 bytes but the file has more (trailing data)"), e);
    CHECK(seconds < 0.5);  // inflating 256 MiB takes longer than that
}
