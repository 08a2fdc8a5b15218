#include "zoo/images.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "engine/error.h"

namespace zg::zoo {

namespace {

uint8_t to_byte(float v) {  // [-1, 1] → [0, 255]
    return (uint8_t)std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f));
}

void check_images(const Tensor& images, const char* what) {
    ZG_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3), what,
             ": expected images [N, 1 or 3, H, W], got ", shape_str(images.shape()));
}

void write_png(const std::string& path, int w, int h, int c, const std::vector<uint8_t>& px) {
    ZG_CHECK(stbi_write_png(path.c_str(), w, h, c, px.data(), w * c), path,
             ": cannot write PNG (does the directory exist and is it writable?)");
}

}  // namespace

void save_image_grid(const Tensor& images, const std::string& path, int64_t nrow) {
    check_images(images, "save_image_grid");
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    const int64_t pad = 2, cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
    const int64_t gw = cols * (w + pad) + pad, gh = rows * (h + pad) + pad;
    std::vector<uint8_t> px(gw * gh * c, 0);
    auto v = images.to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
        const int64_t top = pad + (i / cols) * (h + pad), left = pad + (i % cols) * (w + pad);
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x)
                for (int64_t k = 0; k < c; ++k)
                    px[((top + y) * gw + left + x) * c + k] = to_byte(v[((i * c + k) * h + y) * w + x]);
    }
    write_png(path, (int)gw, (int)gh, (int)c, px);
}

void save_images(const Tensor& images, const std::string& dir) {
    check_images(images, "save_images");
    std::filesystem::create_directories(dir);
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    auto v = images.to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
        std::vector<uint8_t> px(h * w * c);
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x)
                for (int64_t k = 0; k < c; ++k)
                    px[(y * w + x) * c + k] = to_byte(v[((i * c + k) * h + y) * w + x]);
        char name[32];
        std::snprintf(name, sizeof name, "/%06lld.png", (long long)i);
        write_png(dir + name, (int)w, (int)h, (int)c, px);
    }
}

void save_npy(const Tensor& t, const std::string& path) {
    // Magic, version 1.0, a little-endian uint16 header length, then a Python dict literal
    // padded with spaces so the data starts on a 64-byte boundary.
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (int64_t d : t.shape()) dict += std::to_string(d) + ", ";
    if (t.dim() > 1) dict.resize(dict.size() - 1);  // "(3, 4)"; a 1-tuple keeps its comma
    dict += "), }";
    const size_t total = 10 + dict.size() + 1;
    dict += std::string((64 - total % 64) % 64, ' ') + "\n";
    std::ofstream f(path, std::ios::binary);
    ZG_CHECK(f, path, ": cannot open for writing");
    const uint16_t len = (uint16_t)dict.size();
    f.write("\x93NUMPY\x01\x00", 8);
    f.put(char(len & 0xff)).put(char(len >> 8));
    f << dict;
    auto v = t.to_vector<float>();
    f.write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    ZG_CHECK(f.good(), path, ": write failed (disk full?)");
}

}  // namespace zg::zoo
