#include "zoo/report/images.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace zg::zoo {

namespace {

uint8_t to_byte(float v) {  // [-1, 1] → [0, 255]
    return (uint8_t)std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f));
}

void check_images(const Tensor& images, const char* what) {
    ZG_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3), what,
             ": expected images [N, 1 or 3, H, W], got ", shape_str(images.shape()));
}

// Encoded in memory, then written atomically: a full disk is an error, never a 0-byte PNG.
void write_png(const std::string& path, int w, int h, int c, const std::vector<uint8_t>& px) {
    std::string png;
    auto append = [](void* out, void* data, int size) {
        static_cast<std::string*>(out)->append(static_cast<const char*>(data), (size_t)size);
    };
    ZG_CHECK(stbi_write_png_to_func(append, &png, w, h, c, px.data(), w * c), path,
             ": cannot encode the PNG");
    write_file_atomically(path, {png});
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
                    px[((top + y) * gw + left + x) * c + k] =
                        to_byte(v[((i * c + k) * h + y) * w + x]);
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
    const uint16_t len = (uint16_t)dict.size();
    const std::string head =
        std::string("\x93NUMPY\x01\x00", 8) + char(len & 0xff) + char(len >> 8) + dict;
    const std::vector<float> v = t.to_vector<float>();
    write_file_atomically(
        path, {head, {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)}});
}

namespace {

// The value of 'key': in a .npy header dict (the text up to the next ',' or '}' outside
// parentheses), or "" when absent.
std::string npy_field(const std::string& dict, const std::string& key) {
    const size_t at = dict.find("'" + key + "':");
    if (at == std::string::npos) return "";
    size_t i = at + key.size() + 3, depth = 0;
    std::string value;
    for (; i < dict.size(); ++i) {
        const char ch = dict[i];
        if (ch == '(') ++depth;
        if (ch == ')' && depth > 0) --depth;
        if (depth == 0 && (ch == ',' || ch == '}')) break;
        value += ch;
    }
    const size_t b = value.find_first_not_of(" '"), e = value.find_last_not_of(" '");
    return b == std::string::npos ? "" : value.substr(b, e - b + 1);
}

}  // namespace

NpyArray load_npy(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    ZG_CHECK(f, path, ": cannot open (no such file?)");
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::string bad = path + ": not a valid .npy file: ";
    ZG_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, bad,
             "the magic string \\x93NUMPY is missing");
    const int major = (uint8_t)bytes[6];
    ZG_CHECK(major == 1 || major == 2 || major == 3, bad, "unknown format version ", major);
    size_t header_len = (uint8_t)bytes[8] | ((size_t)(uint8_t)bytes[9] << 8), start = 10;
    if (major >= 2) {
        ZG_CHECK(bytes.size() >= 12, bad, "truncated header");
        header_len |= ((size_t)(uint8_t)bytes[10] << 16) | ((size_t)(uint8_t)bytes[11] << 24);
        start = 12;
    }
    ZG_CHECK(start + header_len <= bytes.size(), bad, "the header (", header_len,
             " bytes) runs past the end of the file (", bytes.size(), " bytes)");
    const std::string dict = bytes.substr(start, header_len);
    const std::string descr = npy_field(dict, "descr");
    ZG_CHECK(descr == "<f4" || descr == "|u1" || descr == "<u1", bad, "dtype '", descr,
             "' is not supported; save float32 in [-1, 1] or uint8 "
             "(np.save(path, x.astype(np.float32)))");
    ZG_CHECK(npy_field(dict, "fortran_order") == "False", bad,
             "Fortran-order arrays are not supported (save np.ascontiguousarray(x))");
    std::string shape_text = npy_field(dict, "shape");
    ZG_CHECK(shape_text.size() >= 2 && shape_text.front() == '(' && shape_text.back() == ')', bad,
             "no shape tuple in the header");
    Shape shape;
    int64_t numel = 1;
    std::string num;
    for (char ch : shape_text.substr(1) + ",") {
        if (std::isdigit((unsigned char)ch)) {
            num += ch;
        } else if (ch == ',' || ch == ')') {
            if (!num.empty()) {
                ZG_CHECK(num.size() < 12, bad, "dimension ", num, " is too large");
                shape.push_back(std::stoll(num));
                const bool overflows = __builtin_mul_overflow(numel, shape.back(), &numel);
                ZG_CHECK(!overflows && numel < (int64_t(1) << 34), bad, "the array is too large");
                num.clear();
            }
        } else {
            ZG_CHECK(ch == ' ', bad, "malformed shape ", shape_text);
        }
    }
    const bool u8 = descr != "<f4";
    const size_t data_bytes = (size_t)numel * (u8 ? 1 : 4), offset = start + header_len;
    ZG_CHECK(bytes.size() - offset == data_bytes, bad, "shape ", shape_str(shape), " needs ",
             data_bytes, " bytes of data but the file holds ", bytes.size() - offset,
             " (truncated or padded?)");
    std::vector<float> values((size_t)numel);
    if (u8)
        for (int64_t i = 0; i < numel; ++i) values[i] = (float)(uint8_t)bytes[offset + i];
    else if (data_bytes > 0)  // memcpy into an empty vector's null data() is undefined
        std::memcpy(values.data(), bytes.data() + offset, data_bytes);
    return {from_vector(values, shape), u8};
}

}  // namespace zg::zoo
