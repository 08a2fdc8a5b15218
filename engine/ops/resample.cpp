// Pooling, upsampling, pixel shuffle and dropout, all built from ops with known gradients:
// pooling reduces im2col's windows, resizing is a reshape/expand or a product with a fixed
// interpolation matrix, pixel shuffle is a permutation.
#include <algorithm>
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

// PyTorch's avg_pool2d, one dim at a time: the output size
//   out = ⌊(in + 2p − k + (ceil_mode ? s − 1 : 0)) / s⌋ + 1, less one when ceil_mode would
//   start the last window at or past in + p (it must start inside the input or the left
//   padding),
// window o spans [o·s − p, min(o·s − p + k, in + p)) (cut at the right padding's end), and
//   count_include_pad: its divisor is that span's length, padding included
//   otherwise:         the length of the part inside [0, in)
// The divisor of a 2-D window is the product of its two dims'.
struct PoolDim {
    int64_t out = 0;
    std::vector<double> divisor;
};
static PoolDim pool_dim(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode,
                        bool count_include_pad) {
    PoolDim r;
    const int64_t span = in + 2 * p - k + (ceil_mode ? s - 1 : 0);
    r.out = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;
    if (ceil_mode && r.out > 0 && (r.out - 1) * s >= in + p) --r.out;
    for (int64_t o = 0; o < r.out; ++o) {
        const int64_t start = o * s - p, end = std::min(start + k, in + p);
        const int64_t inside = std::min(end, in) - std::max<int64_t>(start, 0);
        r.divisor.push_back((double)(count_include_pad ? end - start : inside));
    }
    return r;
}

// y[n, c, oy, ox] = Σ over its window of x (zero outside the input) / divisor(oy, ox)
// The input is padded with zeros on the left by p and on the right to exactly the extent the
// last window reads ((out − 1)·s + k, a crop when it reads less), then pooled unpadded by
// im2col; dx follows from pad, im2col and the sum (dividing by a constant).
Tensor avg_pool2d(const Tensor& x, Pair kernel, const AvgPool2dOptions& o) {
    ZG_CHECK(x.dim() == 4, "avg_pool2d: input must be [N, C, H, W], got ", shape_str(x.shape()));
    const int64_t kh = kernel[0], kw = kernel[1];
    const int64_t sh = o.stride[0] == 0 ? kh : o.stride[0],
                  sw = o.stride[1] == 0 ? kw : o.stride[1];
    const int64_t ph = o.padding[0], pw = o.padding[1];
    ZG_CHECK(kh > 0 && kw > 0 && sh > 0 && sw > 0 && o.stride[0] >= 0 && o.stride[1] >= 0 &&
                 ph >= 0 && pw >= 0 && 2 * ph <= kh && 2 * pw <= kw,
             "avg_pool2d: need kernel > 0, stride ≥ 0 and padding ≤ kernel/2, got kernel ", kh, "×",
             kw, ", stride ", o.stride[0], "×", o.stride[1], ", padding ", ph, "×", pw);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const PoolDim ry = pool_dim(h, kh, sh, ph, o.ceil_mode, o.count_include_pad);
    const PoolDim rx = pool_dim(w, kw, sw, pw, o.ceil_mode, o.count_include_pad);
    ZG_CHECK(ry.out > 0 && rx.out > 0, "avg_pool2d: a ", kh, "×", kw, " window (padding ", ph, "×",
             pw, ") does not fit in a ", h, "×", w, " input");
    const int64_t hp = (ry.out - 1) * sh + kh, wp = (rx.out - 1) * sw + kw;
    Tensor xp = pad(x.reshape({n * c, 1, h, w}), {pw, wp - w - pw, ph, hp - h - ph});
    const Window2d g{n * c, 1, hp, wp, kh, kw, sh, sw, 0, 0};
    std::vector<double> div;
    for (double dy : ry.divisor)
        for (double dx : rx.divisor) div.push_back(dy * dx);
    const Tensor divisor = from_vector(div, {ry.out, rx.out}).to(x.dtype());
    return sum(im2col(xp, g), {0}).view({n, c, ry.out, rx.out}) / divisor;
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

// Output pixel i of a nearest resize from `in` to `out` reads input pixel
//   min(⌊i·(in/out)⌋, in − 1), computed as PyTorch does, in float32 (scale = (float)in/out).
static Tensor nearest_positions(int64_t in, int64_t out) {
    const float scale = (float)in / (float)out;
    std::vector<int32_t> at(out);
    for (int64_t i = 0; i < out; ++i) {
        const float src = (float)i * scale;
        at[i] = (int32_t)std::min<int64_t>((int64_t)std::floor(src), in - 1);
    }
    return from_vector(at, {out});
}

// y = x.index_select(2, rows).index_select(3, cols) with the positions above;
// dx = index_add of dy onto the pixels read (each input pixel gets the sum over its copies).
Tensor upsample_nearest2d(const Tensor& x, int64_t oh, int64_t ow) {
    ZG_CHECK(x.dim() == 4, "upsample_nearest2d: input must be [N, C, H, W], got ",
             shape_str(x.shape()));
    ZG_CHECK(oh > 0 && ow > 0, "upsample_nearest2d: output size must be positive, got ", oh, "×",
             ow);
    ZG_CHECK(x.size(2) > 0 && x.size(3) > 0, "upsample_nearest2d: input ", shape_str(x.shape()),
             " is empty");
    return index_select(index_select(x, 2, nearest_positions(x.size(2), oh)), 3,
                        nearest_positions(x.size(3), ow));
}

// The [out, in] matrix of 1-D linear interpolation: output pixel i samples the input at
//   align_corners=false: (i + ½)·in/out − ½ (clamped at 0)
//   align_corners=true:  i·(in − 1)/(out − 1) (0 when out = 1): the corner pixels line up
// mixing its two neighbours.
static Tensor interpolation_matrix(int64_t in, int64_t out, bool align_corners, DType dtype) {
    std::vector<double> a(out * in, 0.0);
    const double scale = align_corners ? (out > 1 ? (double)(in - 1) / (double)(out - 1) : 0.0)
                                       : (double)in / (double)out;
    for (int64_t i = 0; i < out; ++i) {
        const double src =
            align_corners ? scale * (double)i : std::max(0.0, scale * (i + 0.5) - 0.5);
        const int64_t i0 = std::min<int64_t>((int64_t)src, in - 1);
        const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
        const double t = std::clamp(src - (double)i0, 0.0, 1.0);
        a[i * in + i0] += 1.0 - t;
        a[i * in + i1] += t;
    }
    return from_vector(a, {out, in}).to(dtype);
}

// Y = A_h · X · A_wᵀ per channel: linear in X, so its gradient is A_hᵀ · dY · A_w.
Tensor upsample_bilinear2d(const Tensor& x, int64_t oh, int64_t ow, bool align_corners) {
    ZG_CHECK(x.dim() == 4, "upsample_bilinear2d: input must be [N, C, H, W], got ",
             shape_str(x.shape()));
    ZG_CHECK(oh > 0 && ow > 0, "upsample_bilinear2d: output size must be positive, got ", oh, "×",
             ow);
    Tensor ah = interpolation_matrix(x.size(2), oh, align_corners, x.dtype());
    Tensor aw = interpolation_matrix(x.size(3), ow, align_corners, x.dtype());
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
