// The small layers of layers.h: thin wrappers over engine ops that check their input and name
// themselves in errors, plus the minibatch layers written from broadcasting ops.
#include "nn/layers/small.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/rng.h"
#include "nn/init.h"

namespace zg::nn {

namespace {

std::string num(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

void check_4d(const Tensor& x, const std::string& layer) {
    ZG_CHECK(x.defined(), layer, ": input is an undefined tensor");
    ZG_CHECK(x.dim() == 4, layer, ": input must be [N, C, H, W], got ", shape_str(x.shape()));
}

void check_float(const Tensor& x, const std::string& layer) {
    ZG_CHECK(x.defined(), layer, ": input is an undefined tensor");
    ZG_CHECK(is_floating(x.dtype()), layer, ": input must be float32 or float64, got ",
             dtype_name(x.dtype()));
}

}  // namespace

std::string LeakyReLU::extra_repr() const {
    return "negative_slope=" + num(negative_slope);
}

// ---- Flatten, Reshape ----

Tensor Flatten::forward(const Tensor& x) {
    ZG_CHECK(x.defined(), "Flatten: input is an undefined tensor");
    const int64_t n = std::max<int64_t>(x.dim(), 1);
    const int64_t s = start_dim < 0 ? start_dim + n : start_dim;
    const int64_t e = end_dim < 0 ? end_dim + n : end_dim;
    ZG_CHECK(s >= 0 && s < n && e >= 0 && e < n && s <= e, "Flatten(start_dim=", start_dim,
             ", end_dim=", end_dim, "): does not fit an input of shape ", shape_str(x.shape()));
    return x.flatten(s, e);
}

std::string Flatten::extra_repr() const {
    return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

Reshape::Reshape(Shape s) : shape(std::move(s)) {
    int64_t inferred = 0;
    for (int64_t d : shape) {
        ZG_CHECK(d > 0 || d == -1, "Reshape: invalid target shape ", shape_str(shape),
                 " (sizes must be positive, or -1 once)");
        inferred += d == -1;
    }
    ZG_CHECK(inferred <= 1, "Reshape: only one size can be -1 in ", shape_str(shape));
}

Tensor Reshape::forward(const Tensor& x) {
    ZG_CHECK(x.defined() && x.dim() >= 1, "Reshape(", shape_str(shape),
             "): input must have a batch dim, got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
    const int64_t per_sample = shape_numel(Shape(x.shape().begin() + 1, x.shape().end()));
    int64_t known = 1;
    bool infer = false;
    for (int64_t d : shape) {
        if (d == -1)
            infer = true;
        else
            known *= d;
    }
    ZG_CHECK(infer ? per_sample % known == 0 : per_sample == known, "Reshape(", shape_str(shape),
             "): input ", shape_str(x.shape()), " has ", per_sample,
             " elements per sample, which do not fit the target shape ", shape_str(shape),
             " (after the batch dim)");
    Shape target{x.size(0)};
    target.insert(target.end(), shape.begin(), shape.end());
    return x.reshape(target);
}

std::string Reshape::extra_repr() const {
    return shape_str(shape);
}

// ---- resampling and pooling ----

Upsample::Upsample(int64_t scale, std::string m) : scale_factor(scale), mode(std::move(m)) {
    ZG_CHECK(scale_factor >= 1, "Upsample: scale_factor must be ≥ 1, got ", scale_factor);
    ZG_CHECK(mode == "nearest" || mode == "bilinear", "Upsample: unknown mode '", mode,
             "' (expected 'nearest' or 'bilinear')");
}

Tensor Upsample::forward(const Tensor& x) {
    check_4d(x, "Upsample");
    if (mode == "nearest") return upsample_nearest2d(x, scale_factor);
    return upsample_bilinear2d(x, x.size(2) * scale_factor, x.size(3) * scale_factor);
}

std::string Upsample::extra_repr() const {
    return "scale_factor=" + std::to_string(scale_factor) + ", mode='" + mode + "'";
}

PixelShuffle::PixelShuffle(int64_t r) : upscale_factor(r) {
    ZG_CHECK(r >= 1, "PixelShuffle: upscale_factor must be ≥ 1, got ", r);
}

Tensor PixelShuffle::forward(const Tensor& x) {
    check_4d(x, "PixelShuffle");
    const int64_t r2 = upscale_factor * upscale_factor;
    ZG_CHECK(x.size(1) % r2 == 0, "PixelShuffle(", upscale_factor, "): input ",
             shape_str(x.shape()), " has ", x.size(1),
             " channels, expected a multiple of upscale_factor² = ", r2);
    return pixel_shuffle(x, upscale_factor);
}

std::string PixelShuffle::extra_repr() const {
    return "upscale_factor=" + std::to_string(upscale_factor);
}

AvgPool2d::AvgPool2d(int64_t k, int64_t s, int64_t p)
    : kernel_size(k), stride(s == 0 ? k : s), padding(p) {
    ZG_CHECK(k > 0 && s >= 0 && p >= 0 && 2 * p <= k, "AvgPool2d: need kernel_size > 0, stride ≥ 0",
             " and padding ≤ kernel_size/2, got kernel_size ", k, ", stride ", s, ", padding ", p);
}

Tensor AvgPool2d::forward(const Tensor& x) {
    check_4d(x, "AvgPool2d");
    ZG_CHECK(x.size(2) + 2 * padding >= kernel_size && x.size(3) + 2 * padding >= kernel_size,
             "AvgPool2d(", kernel_size, "): input ", shape_str(x.shape()),
             " is smaller than the kernel (with padding ", padding, ")");
    return avg_pool2d(x, kernel_size, stride, padding);
}

std::string AvgPool2d::extra_repr() const {
    return "kernel_size=" + std::to_string(kernel_size) + ", stride=" + std::to_string(stride) +
           ", padding=" + std::to_string(padding);
}

// ---- Dropout, GaussianNoise ----

Dropout::Dropout(double p_, bool at_eval, Rng* gen) : p(p_), also_at_eval(at_eval), gen_(gen) {
    ZG_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) {
    check_float(x, "Dropout");
    return dropout(x, p, active(), gen_);
}

std::string Dropout::extra_repr() const {
    return "p=" + num(p) + (also_at_eval ? ", also_at_eval=True" : "");
}

GaussianNoise::GaussianNoise(double s, bool at_eval, Rng* gen)
    : also_at_eval(at_eval), std_(0.0), gen_(gen) {
    set_std(s);
}

void GaussianNoise::set_std(double s) {
    ZG_CHECK(s >= 0.0 && std::isfinite(s), "GaussianNoise: std must be finite and ≥ 0, got ", s);
    std_ = s;
}

// y = x + σ·ε with ε ~ N(0, I) drawn fresh each call; dy/dx = I (the noise is a constant).
Tensor GaussianNoise::forward(const Tensor& x) {
    check_float(x, "GaussianNoise");
    if (!active() || std_ == 0.0) return x;
    return x + normal(x.shape(), 0.0, std_, gen_, x.dtype());
}

std::string GaussianNoise::extra_repr() const {
    return "std=" + num(std_) + (also_at_eval ? ", also_at_eval=True" : "");
}

// ---- Embedding ----

Embedding::Embedding(int64_t num, int64_t dim, Rng* gen) : num_embeddings(num), embedding_dim(dim) {
    ZG_CHECK(num > 0 && dim > 0,
             "Embedding: num_embeddings and embedding_dim must be positive, got ", num, " and ",
             dim);
    init::normal_(register_parameter("weight", empty({num, dim})), 0.0, 1.0, gen);
}

// y[..., :] = weight[idx[...], :];  the gradient scatters dy back into the selected rows.
Tensor Embedding::forward(const Tensor& indices) {
    ZG_CHECK(indices.defined(), "Embedding: input is an undefined tensor");
    ZG_CHECK(indices.dtype() == DType::i32, "Embedding: indices must be int32, got ",
             dtype_name(indices.dtype()), " of shape ", shape_str(indices.shape()));
    const std::vector<int32_t> idx = indices.to_vector<int32_t>();
    for (size_t i = 0; i < idx.size(); ++i)
        ZG_CHECK(idx[i] >= 0 && idx[i] < num_embeddings, "Embedding(", num_embeddings, ", ",
                 embedding_dim, "): index ", idx[i], " at position ", i, " of the input ",
                 shape_str(indices.shape()), " is out of range [0, ", num_embeddings, ")");
    Shape out = indices.shape();
    out.push_back(embedding_dim);
    return index_select(weight(), 0, indices.reshape({-1})).reshape(out);
}

std::string Embedding::extra_repr() const {
    return std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
}

// ---- minibatch standard deviation (ProGAN) ----

Tensor minibatch_stddev(const Tensor& x, int64_t group_size) {
    check_4d(x, "MinibatchStdDev");
    check_float(x, "MinibatchStdDev");
    ZG_CHECK(group_size >= 1, "MinibatchStdDev: group_size must be ≥ 1, got ", group_size);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    ZG_CHECK(n >= 1, "MinibatchStdDev: empty batch ", shape_str(x.shape()));
    const int64_t g = std::min(group_size, n);
    ZG_CHECK(n % g == 0, "MinibatchStdDev: batch size ", n, " of input ", shape_str(x.shape()),
             " is not divisible by the group size ", g,
             "; use a batch size that is a multiple of it (or a smaller group_size)");
    const int64_t m = n / g;
    // [G, M, C, H, W]: group j holds samples j, j+M, j+2M, ... (official ProGAN layout).
    Tensor y = x.reshape({g, m, c, h, w});
    Tensor sd = sqrt(var(y, {0}, /*unbiased=*/false) + 1e-8);  // [M, C, H, W]
    Tensor s = mean(sd, {1, 2, 3}, true);                      // [M, 1, 1, 1]
    Tensor tiled = s.unsqueeze(0).expand({g, m, 1, h, w}).reshape({n, 1, h, w});
    return concat({x, tiled}, 1);
}

MinibatchStdDev::MinibatchStdDev(int64_t g) : group_size(g) {
    ZG_CHECK(g >= 1, "MinibatchStdDev: group_size must be ≥ 1, got ", g);
}

std::string MinibatchStdDev::extra_repr() const {
    return "group_size=" + std::to_string(group_size);
}

// ---- minibatch discrimination (Salimans et al. 2016, §3.2) ----

Tensor minibatch_discrimination(const Tensor& x, const Tensor& T, int64_t B, int64_t C) {
    check_float(x, "MinibatchDiscrimination");
    ZG_CHECK(B > 0 && C > 0, "MinibatchDiscrimination: out_features and kernel_dims must be ",
             "positive, got ", B, " and ", C);
    ZG_CHECK(T.defined() && T.dim() == 2 && T.size(1) == B * C,
             "MinibatchDiscrimination: T must be [in_features, ", B, "·", C, " = ", B * C,
             "], got ", T.defined() ? shape_str(T.shape()) : std::string("an undefined tensor"));
    ZG_CHECK(x.dim() == 2 && x.size(1) == T.size(0), "MinibatchDiscrimination: input must be [N, ",
             T.size(0), "], got ", shape_str(x.shape()));
    const int64_t n = x.size(0);
    Tensor M = matmul(x, T).view({n, B, C});        // [N, B, C]
    Tensor diff = M.unsqueeze(1) - M.unsqueeze(0);  // [N, N, B, C]: M_i − M_j
    Tensor c = exp(-sum(abs(diff), {3}));           // [N, N, B]: c_b(x_i, x_j)
    Tensor o = sum(c, {1});                         // [N, B], j = i term included
    return concat({x, o}, 1);
}

MinibatchDiscrimination::MinibatchDiscrimination(int64_t in, int64_t out, int64_t kdims, Rng* gen)
    : in_features(in), out_features(out), kernel_dims(kdims) {
    ZG_CHECK(in > 0 && out > 0 && kdims > 0,
             "MinibatchDiscrimination: in_features, out_features and kernel_dims must be "
             "positive, got ",
             in, ", ", out, ", ", kdims);
    init::normal_(register_parameter("T", empty({in, out * kdims})), 0.0, 0.05, gen);
}

Tensor MinibatchDiscrimination::forward(const Tensor& x) {
    return minibatch_discrimination(x, parameter("T"), out_features, kernel_dims);
}

std::string MinibatchDiscrimination::extra_repr() const {
    return "in_features=" + std::to_string(in_features) +
           ", out_features=" + std::to_string(out_features) +
           ", kernel_dims=" + std::to_string(kernel_dims);
}

}  // namespace zg::nn
