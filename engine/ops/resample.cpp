// Pooling, upsampling, pixel shuffle and dropout, all built from ops with known gradients:
// pooling reduces im2col's windows, resizing is a reshape/expand or a product with a fixed
// interpolation matrix, pixel shuffle is a permutation.
#include <cmath>

#include "engine/ops/plumbing.h"

namespace zg {

// Windows of every channel as columns: [k·k, N·C·OH·OW] (channels folded into the batch).
static Tensor pool_windows(const Tensor& x, int64_t k, int64_t stride, int64_t padding,
                           double pad_value, const char* op, Window2d& g) {
    ZG_CHECK(x.dim() == 4, op, ": input must be [N, C, H, W], got ", shape_str(x.shape()));
    ZG_CHECK(k > 0 && stride >= 0 && padding >= 0 && 2 * padding <= k, op,
             ": need kernel > 0, stride ≥ 0 and padding ≤ kernel/2, got kernel ", k, ", stride ",
             stride, ", padding ", padding);
    const int64_t s = stride == 0 ? k : stride;
    g = Window2d{x.size(0) * x.size(1), 1, x.size(2), x.size(3), k, k, s, s, padding, padding};
    return im2col(x.reshape({g.n, 1, g.h, g.w}), g, pad_value);
}

// y = mean of each k×k window (zero padding counted, as PyTorch's count_include_pad=True)
Tensor avg_pool2d(const Tensor& x, int64_t k, int64_t stride, int64_t padding) {
    Window2d g;
    Tensor cols = pool_windows(x, k, stride, padding, 0.0, "avg_pool2d", g);
    return mean(cols, {0}).view({x.size(0), x.size(1), g.out_h(), g.out_w()});
}

// y = max of each k×k window (padding never wins: it is −∞)
Tensor max_pool2d(const Tensor& x, int64_t k, int64_t stride, int64_t padding) {
    Window2d g;
    Tensor cols = pool_windows(x, k, stride, padding, -INFINITY, "max_pool2d", g);
    return amax(cols, {0}).view({x.size(0), x.size(1), g.out_h(), g.out_w()});
}

// Each pixel repeated scale×scale times: a broadcast view, packed.
Tensor upsample_nearest2d(const Tensor& x, int64_t scale) {
    ZG_CHECK(x.dim() == 4, "upsample_nearest2d: input must be [N, C, H, W], got ",
             shape_str(x.shape()));
    ZG_CHECK(scale >= 1, "upsample_nearest2d: scale must be ≥ 1, got ", scale);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    return x.reshape({n, c, h, 1, w, 1})
        .expand({n, c, h, scale, w, scale})
        .reshape({n, c, h * scale, w * scale});
}

// The [out, in] matrix of 1-D linear interpolation with align_corners=false: output pixel i
// samples the input at (i + ½)·in/out − ½ (clamped at 0), mixing its two neighbours.
static Tensor interpolation_matrix(int64_t in, int64_t out, DType dtype) {
    std::vector<double> a(out * in, 0.0);
    const double scale = (double)in / (double)out;
    for (int64_t i = 0; i < out; ++i) {
        const double src = std::max(0.0, scale * (i + 0.5) - 0.5);
        const int64_t i0 = std::min<int64_t>((int64_t)src, in - 1);
        const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
        const double t = src - (double)i0;
        a[i * in + i0] += 1.0 - t;
        a[i * in + i1] += t;
    }
    return from_vector(a, {out, in}).to(dtype);
}

// Y = A_h · X · A_wᵀ per channel: linear in X, so its gradient is A_hᵀ · dY · A_w.
Tensor upsample_bilinear2d(const Tensor& x, int64_t oh, int64_t ow) {
    ZG_CHECK(x.dim() == 4, "upsample_bilinear2d: input must be [N, C, H, W], got ",
             shape_str(x.shape()));
    ZG_CHECK(oh > 0 && ow > 0, "upsample_bilinear2d: output size must be positive, got ", oh, "×",
             ow);
    Tensor ah = interpolation_matrix(x.size(2), oh, x.dtype());
    Tensor aw = interpolation_matrix(x.size(3), ow, x.dtype());
    return matmul(matmul(ah, x), aw.t());
}

// [N, C·r², H, W] → [N, C, H·r, W·r]: channel (c, i, j) becomes pixel offset (i, j) of c.
Tensor pixel_shuffle(const Tensor& x, int64_t r) {
    ZG_CHECK(x.dim() == 4 && r >= 1 && x.size(1) % (r * r) == 0, "pixel_shuffle: input ",
             shape_str(x.shape()), " must be [N, C·r², H, W] with r = ", r);
    const int64_t n = x.size(0), c = x.size(1) / (r * r), h = x.size(2), w = x.size(3);
    return x.reshape({n, c, r, r, h, w}).permute({0, 1, 4, 2, 5, 3}).reshape({n, c, h * r, w * r});
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
    ZG_CHECK(x.dim() == 4 && r >= 1 && x.size(2) % r == 0 && x.size(3) % r == 0,
             "pixel_unshuffle: input ", shape_str(x.shape()),
             " must be [N, C, H, W] with H and W divisible by r = ", r);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2) / r, w = x.size(3) / r;
    return x.reshape({n, c, h, r, w, r}).permute({0, 1, 3, 5, 2, 4}).reshape({n, c * r * r, h, w});
}

// y = x · m / (1 − p) with m ~ Bernoulli(1 − p): the expected value of y is x.
Tensor dropout(const Tensor& x, double p, bool training, Rng* gen) {
    ZG_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got ", p);
    if (!training || p == 0.0) return x;
    if (p == 1.0) return x * 0.0;
    return x * (bernoulli(x.shape(), 1.0 - p, gen, x.dtype()) * (1.0 / (1.0 - p)));
}

}  // namespace zg
