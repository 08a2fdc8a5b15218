// Image folders (through stb_image) and the data-set names the CLI accepts.
#include <stb/stb_image.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "nn/data.h"

namespace zg::nn {

namespace fs = std::filesystem;

Tensor decode_image(const uint8_t* bytes, size_t size, const std::string& what,
                    int64_t channels) {
    ZG_CHECK(channels == 1 || channels == 3, what, ": channels must be 1 or 3, got ", channels);
    ZG_CHECK(size <= (size_t)std::numeric_limits<int>::max(), what, ": ", size,
             " bytes is too large for an image file");
    int w = 0, h = 0, c = 0;
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

static std::vector<fs::path> images_in(const fs::path& dir) {
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::shared_ptr<TensorDataset> load_image_folder(const std::string& dir, int64_t image_size,
                                                 int64_t channels) {
    ZG_CHECK(fs::is_directory(dir), dir, ": no such directory (expected a folder of images, or "
             "one sub-folder of images per class)");
    std::vector<fs::path> classes;
    for (auto& e : fs::directory_iterator(dir))
        if (e.is_directory()) classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    std::vector<std::pair<fs::path, int32_t>> files;
    if (classes.empty()) {
        for (auto& f : images_in(dir)) files.emplace_back(f, 0);
    } else {
        for (size_t k = 0; k < classes.size(); ++k)
            for (auto& f : images_in(classes[k])) files.emplace_back(f, (int32_t)k);
    }
    ZG_CHECK(!files.empty(), dir, ": no images found (PNG, JPEG, BMP, GIF, TGA, PPM/PGM)");
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

std::shared_ptr<TensorDataset> load_dataset(const std::string& name, bool train,
                                            int64_t image_size, int64_t channels,
                                            const std::string& data_root) {
    if (name == "ring8" || name == "grid25")  // a fixed sample; the test split has its own seed
        return make_mixture(name, train ? 100000 : 10000, train ? 1 : 2);
    if (name == "mnist" || name == "fashion") {
        auto raw = load_idx_dataset(data_root + "/" + name, train, name);
        ZG_CHECK(channels == 0 || channels == 1, name, " has 1 channel, not ", channels);
        return std::make_shared<TensorDataset>(fit_images(raw->examples(), image_size),
                                               raw->labels(), 10, name);
    }
    ZG_CHECK(fs::exists(name), "unknown data set '", name, "': use mnist, fashion, ring8, grid25 "
             "or the path of an image folder");
    return load_image_folder(name, image_size, channels == 0 ? 3 : channels);
}

}  // namespace zg::nn
