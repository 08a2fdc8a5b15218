#include "nn/data/dataset.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

namespace zg::nn {

namespace fs = std::filesystem;

TensorDataset::TensorDataset(Tensor examples, Tensor labels, int64_t num_classes, std::string name)
    : examples_(examples.contiguous()),
      labels_(labels),
      num_classes_(num_classes),
      name_(std::move(name)) {
    ZG_CHECK(examples_.dim() >= 2 && examples_.dtype() == DType::f32, name_,
             ": examples must be float32 [N, ...], got ", shape_str(examples_.shape()));
    ZG_CHECK(!labels_.defined() || (labels_.dtype() == DType::i32 && labels_.dim() == 1 &&
                                    labels_.size(0) == examples_.size(0)),
             name_, ": labels must be int32 [", examples_.size(0), "]");
}

Shape TensorDataset::example_shape() const {
    return Shape(examples_.shape().begin() + 1, examples_.shape().end());
}

Batch TensorDataset::get(const std::vector<int64_t>& indices) const {
    Shape s = examples_.shape();
    s[0] = (int64_t)indices.size();
    Batch b{empty(s), labels_.defined() ? empty({s[0]}, DType::i32) : Tensor()};
    const int64_t row = shape_numel(example_shape());
    const float* src = examples_.data<float>();
    float* dst = b.x.data<float>();
    for (size_t i = 0; i < indices.size(); ++i) {
        ZG_CHECK(indices[i] >= 0 && indices[i] < size(), name_, ": example index ", indices[i],
                 " is out of range (", size(), " examples)");
        std::memcpy(dst + i * row, src + indices[i] * row, row * sizeof(float));
        if (labels_.defined()) b.labels.data<int32_t>()[i] = labels_.data<int32_t>()[indices[i]];
    }
    return b;
}

// ---- IDX ----

namespace {

// An IDX header: its dims, its size in bytes and the data bytes it promises.
struct IdxHeader {
    Shape dims;
    size_t size = 0;
    uint64_t count = 1;
};

// The header at the start of `bytes`, checked. With `partial`, a start too short to hold the
// whole header gives nullopt (read more); otherwise that is an error.
std::optional<IdxHeader> parse_idx_header(const std::vector<uint8_t>& bytes,
                                          const std::string& what, bool partial) {
    if (partial && bytes.size() < 4) return std::nullopt;
    ZG_CHECK(bytes.size() >= 4, what, ": not an IDX file (only ", bytes.size(),
             " bytes; expected a 4-byte magic number)");
    ZG_CHECK(bytes[0] == 0 && bytes[1] == 0, what,
             ": not an IDX file (the magic number at byte "
             "0 must start with two zero bytes)");
    ZG_CHECK(bytes[2] == 0x08, what, ": IDX element type 0x", std::hex, int(bytes[2]),
             " at byte 2 is not supported (zoograd reads unsigned bytes, type 0x08)");
    const int ndim = bytes[3];
    ZG_CHECK(ndim >= 1 && ndim <= 4, what, ": IDX file with ", ndim,
             " dimensions (byte 3); expected 1 to 4");
    IdxHeader h;
    h.size = 4 + 4 * (size_t)ndim;
    if (partial && bytes.size() < h.size) return std::nullopt;
    ZG_CHECK(bytes.size() >= h.size, what, ": truncated IDX header (", bytes.size(),
             " bytes, the header needs ", h.size, ")");
    uint64_t extent = 1;  // the product of the nonzero dims
    for (int d = 0; d < ndim; ++d) {
        const uint8_t* p = &bytes[4 + 4 * d];
        const uint64_t v = (uint64_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
        h.dims.push_back((int64_t)v);
        // Checked before multiplying, and zero dims skipped: the product of four 32-bit dims can
        // wrap around 2⁶⁴, and [0, 2³², 2³²] is empty but still no shape a tensor can take.
        ZG_CHECK(v == 0 || extent <= (uint64_t(1) << 36) / v, what,
                 ": IDX dimensions are implausibly large");
        if (v != 0) extent *= v;
        h.count *= v;
    }
    return h;
}

}  // namespace

IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& what) {
    const IdxHeader h = *parse_idx_header(bytes, what, false);
    const uint64_t promised = h.size + h.count;
    ZG_CHECK(bytes.size() == promised, what, ": IDX size mismatch: the header (dims ",
             shape_str(h.dims), ") promises ", promised, " bytes but the file has ",
             (bytes.size() < promised ? std::to_string(bytes.size()) + " (truncated?)"
                                      : "more (trailing data)"));
    IdxArray a;
    a.dims = h.dims;
    a.data.assign(bytes.begin() + h.size, bytes.end());
    return a;
}

IdxArray read_idx(const std::string& path) {
    // gzread reads gzip files and passes plain files through unchanged.
    // Closed however the reading ends: the header check below throws on a bad header.
    const std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
    gzFile f = file.get();
    ZG_CHECK(f, path, ": cannot open (", std::strerror(errno), ")");
    std::vector<uint8_t> bytes;
    uint8_t buf[1 << 16];
    int n;
    // Reading stops one byte past what the header promises: a gzip bomb (a small file that
    // inflates to gigabytes behind a modest header) is refused as trailing data without
    // inflating it.
    std::optional<uint64_t> promised;
    while ((n = gzread(f, buf, sizeof buf)) > 0) {
        bytes.insert(bytes.end(), buf, buf + n);
        if (!promised)
            if (auto h = parse_idx_header(bytes, path, true)) promised = h->size + h->count;
        if (promised && bytes.size() > *promised) break;
    }
    int err = 0;
    const std::string msg = n < 0 ? gzerror(f, &err) : "";
    ZG_CHECK(n >= 0, path, ": corrupt gzip data after ", bytes.size(), " bytes (", msg, ")");
    return parse_idx(bytes, path);
}

Tensor images_from_idx(const IdxArray& a, const std::string& what) {
    ZG_CHECK(a.dims.size() == 3, what, ": expected images [N, H, W], got IDX dims ",
             shape_str(a.dims));
    Tensor t = empty({a.dims[0], 1, a.dims[1], a.dims[2]});
    float* p = t.data<float>();
    for (size_t i = 0; i < a.data.size(); ++i) p[i] = a.data[i] / 127.5f - 1.0f;
    return t;
}

// The first existing file among `base` and `base.gz`.
static std::string find_idx(const std::string& dir, const std::string& base,
                            const std::string& name) {
    for (const std::string& p : {dir + "/" + base, dir + "/" + base + ".gz"})
        if (fs::exists(p)) return p;
    throw Error(name + ": " + dir + "/" + base + "[.gz] not found; run 'make data' to fetch " +
                name);
}

std::shared_ptr<TensorDataset> load_idx_dataset(const std::string& dir, bool train,
                                                const std::string& name) {
    const std::string split = train ? "train" : "t10k";
    std::string img = find_idx(dir, split + "-images-idx3-ubyte", name);
    std::string lab = find_idx(dir, split + "-labels-idx1-ubyte", name);
    Tensor images = images_from_idx(read_idx(img), img);
    IdxArray l = read_idx(lab);
    ZG_CHECK(l.dims.size() == 1 && l.dims[0] == images.size(0), lab, ": expected ", images.size(0),
             " labels (one per image in ", img, "), got dims ", shape_str(l.dims));
    std::vector<int32_t> labels(l.data.begin(), l.data.end());
    for (int32_t v : labels) ZG_CHECK(v >= 0 && v < 10, lab, ": label ", v, " is not a digit 0-9");
    return std::make_shared<TensorDataset>(images, from_vector(labels, {l.dims[0]}), 10, name);
}

// ---- 2-D mixtures ----

MixtureSpec mixture_spec(const std::string& name) {
    MixtureSpec s;
    if (name == "ring8") {
        for (int k = 0; k < 8; ++k)
            s.centers.push_back(
                {2.0 * std::cos(2 * M_PI * k / 8), 2.0 * std::sin(2 * M_PI * k / 8)});
        s.std = 0.02;
    } else if (name == "grid25") {
        for (int i = -2; i <= 2; ++i)
            for (int j = -2; j <= 2; ++j) s.centers.push_back({2.0 * i, 2.0 * j});
        s.std = 0.05;
    } else {
        throw Error("unknown mixture '" + name + "' (known: ring8, grid25)");
    }
    return s;
}

std::shared_ptr<TensorDataset> make_mixture(const std::string& name, int64_t n, uint64_t seed) {
    MixtureSpec s = mixture_spec(name);
    Rng gen(seed);
    const int32_t k = (int32_t)s.centers.size();
    Tensor modes = randint(0, k, {n}, &gen);
    Tensor noise = normal({n, 2}, 0.0, s.std, &gen);
    const int32_t* m = modes.data<int32_t>();
    float* p = noise.data<float>();
    for (int64_t i = 0; i < n; ++i) {
        p[2 * i] += (float)s.centers[m[i]][0];
        p[2 * i + 1] += (float)s.centers[m[i]][1];
    }
    return std::make_shared<TensorDataset>(noise, modes, k, name);
}

// ---- resizing ----

// Pads [N, C, H, W] by p pixels on every side with `value`.
static Tensor pad_images(const Tensor& x, int64_t p, double value) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    Tensor rows = full({n, c, p, w}, value);
    Tensor tall = concat({rows, x, rows}, 2);
    Tensor cols = full({n, c, h + 2 * p, p}, value);
    return concat({cols, tall, cols}, 3);
}

Tensor fit_images(const Tensor& images, int64_t image_size) {
    NoGradGuard ng;
    ZG_CHECK(image_size > 0, "image size must be positive, got ", image_size);
    ZG_CHECK(images.dim() == 4, "fit_images: expected images [N, C, H, W], got ",
             shape_str(images.shape()));
    const int64_t h = images.size(2), w = images.size(3);
    ZG_CHECK(h > 0 && w > 0, "fit_images: images ", shape_str(images.shape()),
             " have no pixels to resize");
    // Resizing the shorter side first makes a long strip longer still (a 1×N image becomes
    // image_size × image_size·N); past 64:1 that is a corrupt or unsuitable file.
    ZG_CHECK(std::max(h, w) <= 64 * std::min(h, w), "fit_images: images ",
             shape_str(images.shape()), " are more than 64 times wider than tall or taller than ",
             "wide; crop them first");
    if (h == image_size && w == image_size) return images;
    // Digits on a black background are padded, not stretched, to the DCGAN's 32×32.
    if (h == w && image_size > h && (image_size - h) % 2 == 0 && image_size - h <= 4)
        return pad_images(images, (image_size - h) / 2, -1.0);
    // Shorter side to image_size, then a centered square crop; in chunks to bound memory.
    const double scale = (double)image_size / (double)std::min(h, w);
    const int64_t rh = std::max<int64_t>(image_size, std::llround(h * scale));
    const int64_t rw = std::max<int64_t>(image_size, std::llround(w * scale));
    std::vector<Tensor> parts;
    for (int64_t at = 0; at < images.size(0); at += 256) {
        Tensor chunk = images.slice(0, at, std::min(at + 256, images.size(0)));
        Tensor r = upsample_bilinear2d(chunk, rh, rw);
        const int64_t top = (rh - image_size) / 2, left = (rw - image_size) / 2;
        parts.push_back(r.slice(2, top, top + image_size).slice(3, left, left + image_size));
    }
    return concat(parts, 0);
}

}  // namespace zg::nn
