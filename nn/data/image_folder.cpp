// Image folders (through stb_image) and the data-set names the CLI accepts.
#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "nn/data/data_root.h"
#include "nn/data/dataset.h"

namespace zg::nn {

namespace fs = std::filesystem;

namespace {

// stb_image 2.27 (Debian's libstb) writes past its Huffman tables when a JPEG's DHT segment
// declares more than 256 codes (stb_image 2.28 refuses them); found by tests/fuzz/fuzz_image.
// This walks the marker segments the way stb reads them (entropy-coded data skipped byte by
// byte, where only FF 00 and the restart markers FF D0-D7 may appear) and reports such a table.
bool jpeg_has_oversized_huffman_table(const uint8_t* b, size_t n) {
    if (n < 2 || b[0] != 0xFF || b[1] != 0xD8) return false;  // not a JPEG
    size_t i = 2;
    while (i + 1 < n) {
        const uint8_t marker = b[i + 1];
        if (b[i] != 0xFF || marker == 0xFF) {  // scan data, or a fill byte before a marker
            ++i;
            continue;
        }
        i += 2;
        if (marker == 0x00 || (marker >= 0xD0 && marker <= 0xD9)) continue;  // no length
        if (i + 2 > n) break;
        const size_t end = i + (size_t(b[i]) << 8 | b[i + 1]);
        // DHT: tables of 1 + 16 count bytes + the codes; stb reads a table's header whenever
        // the segment has a byte left, even past its end, and past the end of the data as 0s.
        for (size_t p = i + 2; marker == 0xC4 && p < end && p < n;) {
            size_t codes = 0;
            for (size_t k = p + 1; k <= p + 16 && k < n; ++k) codes += b[k];
            if (codes > 256) return true;
            p += 17 + codes;
        }
        i = std::max(end, i + 2);
    }
    return false;
}

// stb_image 2.27 allocates a PNG chunk's declared length (up to 2 GB) before reading it; found
// by tests/fuzz/fuzz_image. True when a chunk claims more bytes than the file has left.
bool png_chunk_overruns_file(const uint8_t* b, size_t n) {
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 8 || std::memcmp(b, signature, 8) != 0) return false;  // not a PNG
    for (size_t i = 8; i + 8 <= n;) {
        const uint64_t length = uint64_t(b[i]) << 24 | b[i + 1] << 16 | b[i + 2] << 8 | b[i + 3];
        if (length > n - i - 8) return true;
        i += 12 + length;  // length, type, data, CRC
    }
    return false;
}

// stb_image 2.27 writes past its buffer converting 16-bit binary PNM (maxval above 255) and
// overflows an int reading a header number of ten digits or more; found by
// tests/fuzz/fuzz_image. True for a P5/P6 header with either. Header numbers are separated
// by whitespace and #-comments, as stb reads them.
bool pnm_header_unsupported(const uint8_t* b, size_t n) {
    if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return false;  // not binary PNM
    size_t i = 2;
    for (int field = 0; field < 3; ++field) {  // width, height, maxval
        while (i < n && (std::isspace(b[i]) || b[i] == '#'))
            if (b[i] == '#')
                while (i < n && b[i] != '\n' && b[i] != '\r') ++i;
            else
                ++i;
        uint64_t value = 0;
        size_t digits = 0;
        for (; i < n && b[i] >= '0' && b[i] <= '9'; ++i, ++digits)
            if (digits < 10) value = value * 10 + (b[i] - '0');
        if (digits > 9 || (field == 2 && value > 255)) return true;
    }
    return false;
}

}  // namespace

Tensor decode_image(const uint8_t* bytes, size_t size, const std::string& what, int64_t channels) {
    ZG_CHECK(channels == 1 || channels == 3, what, ": channels must be 1 or 3, got ", channels);
    ZG_CHECK(size <= (size_t)std::numeric_limits<int>::max(), what, ": ", size,
             " bytes is too large for an image file");
    ZG_CHECK(!jpeg_has_oversized_huffman_table(bytes, size), what,
             ": corrupt JPEG (a Huffman table with more than 256 codes); remove it or re-encode "
             "it");
    ZG_CHECK(!png_chunk_overruns_file(bytes, size), what,
             ": truncated or corrupt PNG (a chunk is longer than the rest of the file)");
    ZG_CHECK(!pnm_header_unsupported(bytes, size), what,
             ": 16-bit or malformed PNM header (zoograd reads 8-bit PGM/PPM); convert it to PNG");
    int w = 0, h = 0, c = 0;
    // stb_image allocates the whole image as its header declares before reading any pixel, so
    // a few hostile bytes could ask for gigabytes. No format stb reads packs more than ~2,700
    // pixels into a byte (GIF's LZW at best; PNG's deflate ~1,000), hence the second bound.
    if (stbi_info_from_memory(bytes, (int)size, &w, &h, &c)) {
        const uint64_t pixels = uint64_t(std::max(w, 0)) * uint64_t(std::max(h, 0));
        ZG_CHECK(pixels <= (uint64_t(1) << 26), what, ": the image is ", w, "×", h,
                 " pixels, more than zoograd reads (64 megapixels); downscale it");
        ZG_CHECK(pixels <= 4096 * uint64_t(size), what, ": the header declares ", w, "×", h,
                 " pixels, more than ", size, " bytes can hold; the file is corrupt");
    }
    unsigned char* px = stbi_load_from_memory(bytes, (int)size, &w, &h, &c, (int)channels);
    ZG_CHECK(px, what, ": cannot decode image (", stbi_failure_reason(),
             "); remove it or convert it to PNG/JPEG");
    if (w <= 0 || h <= 0) {  // stb_image accepts e.g. a PNM header with height 0
        stbi_image_free(px);
        throw Error(what + ": the image is " + std::to_string(w) + "×" + std::to_string(h) +
                    " pixels, it has none; remove it");
    }
    Tensor t = empty({channels, h, w});
    float* p = t.data<float>();
    // interleaved HWC bytes → planar CHW in [-1, 1]
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t k = 0; k < channels; ++k)
                p[(k * h + y) * w + x] = px[(y * w + x) * channels + k] / 127.5f - 1.0f;
    stbi_image_free(px);
    return t;
}

Tensor read_image(const std::string& path, int64_t channels) {
    std::ifstream f(path, std::ios::binary);
    ZG_CHECK(f, path, ": cannot open (", std::strerror(errno), ")");
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                     std::istreambuf_iterator<char>());
    ZG_CHECK(!f.bad(), path, ": read error (", std::strerror(errno), ")");
    return decode_image(bytes.data(), bytes.size(), path, channels);
}

static bool is_image_file(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm", ".pgm"})
        if (ext == e) return true;
    return false;
}

// Hidden entries (.ipynb_checkpoints/, .DS_Store, ._x.png) are tools' leftovers, not data.
static bool is_hidden(const fs::path& p) {
    return p.filename().string().starts_with(".");
}

static std::vector<fs::path> images_in(const fs::path& dir) {
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && !is_hidden(e.path()) && is_image_file(e.path()))
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::shared_ptr<TensorDataset> load_image_folder(const std::string& dir, int64_t image_size,
                                                 int64_t channels) {
    ZG_CHECK(fs::is_directory(dir), dir,
             ": no such directory (expected a folder of images, or "
             "one sub-folder of images per class)");
    std::vector<fs::path> classes;
    for (auto& e : fs::directory_iterator(dir))
        if (e.is_directory() && !is_hidden(e.path())) classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    std::vector<std::pair<fs::path, int32_t>> files;
    std::string found;  // what was read, printed so a wrong layout shows at once
    if (classes.empty()) {
        for (auto& f : images_in(dir)) files.emplace_back(f, 0);
        found = std::to_string(files.size()) + " images, no class folders";
    } else {
        for (size_t k = 0; k < classes.size(); ++k) {
            const std::vector<fs::path> in_class = images_in(classes[k]);
            ZG_CHECK(!in_class.empty(), classes[k].string(),
                     ": an empty class folder (no PNG, JPEG, BMP, GIF, TGA or PPM/PGM images); ",
                     "remove it or fill it");
            for (auto& f : in_class) files.emplace_back(f, (int32_t)k);
            found += (k ? ", " : "") + classes[k].filename().string() + " " +
                     std::to_string(in_class.size());
        }
        found = std::to_string(classes.size()) + " classes (" + found + ")";
    }
    ZG_CHECK(!files.empty(), dir, ": no images found (PNG, JPEG, BMP, GIF, TGA, PPM/PGM)");
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), found.c_str());
    std::vector<Tensor> images;
    std::vector<int32_t> labels;
    for (auto& [path, label] : files) {
        Tensor img = read_image(path.string(), channels).unsqueeze(0);
        images.push_back(fit_images(img, image_size));
        labels.push_back(label);
    }
    const int64_t n = (int64_t)files.size();
    Tensor x = concat(images, 0);
    Tensor y = classes.empty() ? Tensor() : from_vector(labels, {n});
    return std::make_shared<TensorDataset>(x, y, (int64_t)classes.size(), dir);
}

std::shared_ptr<TensorDataset> load_dataset(const std::string& name, bool train, int64_t image_size,
                                            int64_t channels, const std::string& data_root) {
    if (name == "ring8" || name == "grid25")  // a fixed sample; the test split has its own seed
        return make_mixture(name, train ? 100000 : 10000, train ? 1 : 2);
    if (uses_data_root(name)) {
        auto raw = load_idx_dataset(find_data_root(data_root, name) + "/" + name, train, name);
        ZG_CHECK(channels == 0 || channels == 1, name, " has 1 channel, not ", channels);
        return std::make_shared<TensorDataset>(fit_images(raw->examples(), image_size),
                                               raw->labels(), 10, name);
    }
    // A name with a '/' or a leading '.' or '~' was meant as a folder.
    const bool path_like =
        name.find('/') != std::string::npos || name.starts_with('.') || name.starts_with('~');
    ZG_CHECK(fs::exists(name) || !path_like, "--data ", name,
             ": the folder does not exist (an image folder needs one sub-folder per class, or "
             "the images themselves)");
    ZG_CHECK(fs::exists(name), "unknown data set '", name,
             "': use mnist, fashion, ring8, grid25 "
             "or the path of an image folder");
    return load_image_folder(name, image_size, channels == 0 ? 3 : channels);
}

}  // namespace zg::nn
