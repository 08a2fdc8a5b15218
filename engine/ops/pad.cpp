// Padding as torch.nn.functional.pad. No new kernel: constant padding is a concat with constant
// blocks (a negative pad a slice), and reflect, replicate and circular padding are one
// index_select per padded dim with a fixed table of source positions. So the gradients (slices
// of dy; index_add of dy, which sums the copies of a mirrored or repeated pixel back onto it),
// their second derivatives, and any backend's kernels come from those ops.
#include <algorithm>

#include "engine/ops/plumbing.h"

namespace zg {

static const char* mode_name(PadMode m) {
    switch (m) {
        case PadMode::constant:
            return "constant";
        case PadMode::reflect:
            return "reflect";
        case PadMode::replicate:
            return "replicate";
        case PadMode::circular:
            return "circular";
    }
    return "?";
}

// Where output position i of a dim of size n padded by lo before and hi after reads from:
//   reflect:   j = i − lo mirrored at 0 and n − 1, the edge not repeated (j ↦ −j, j ↦ 2(n−1) − j)
//   replicate: clamp(i − lo, 0, n − 1)
//   circular:  (i − lo) mod n
static Tensor source_positions(int64_t n, int64_t lo, int64_t hi, PadMode mode) {
    std::vector<int32_t> at(n + lo + hi);
    for (int64_t i = 0; i < n + lo + hi; ++i) {
        int64_t j = i - lo;
        if (mode == PadMode::reflect) {
            if (j < 0) j = -j;
            if (j > n - 1) j = 2 * (n - 1) - j;
        } else if (mode == PadMode::replicate) {
            j = std::clamp<int64_t>(j, 0, n - 1);
        } else {
            j = ((j % n) + n) % n;
        }
        at[i] = (int32_t)j;
    }
    return from_vector(at, {n + lo + hi});
}

// y = x padded by pads = {lo, hi} per dim from the last one back (F.pad's order):
//   constant:  y = concat(full(lo, value), x, full(hi, value)) per dim (a negative lo or hi
//              first slices that many off);  dx = the slice of dy where x sits
//   reflect, replicate, circular:  y = index_select(x, d, src_d) per dim with the positions
//              above;  dx = index_add(zeros, d, src_d, dy): every copy's gradient added back
// The maps are linear in x, so the second derivative is zero.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
    const int64_t dims = (int64_t)pads.size() / 2;
    ZG_CHECK(pads.size() % 2 == 0 && dims <= x.dim(), "pad: ", pads.size(),
             " padding sizes for a tensor ", shape_str(x.shape()),
             " (expected an even number, two per padded dim, at most ", 2 * x.dim(), ")");
    if (mode != PadMode::constant)
        ZG_CHECK(dims < x.dim(), "pad: ", mode_name(mode), " padding of ", dims,
                 " dims needs an input with at least ", dims + 1, " dims (a batch or channel ",
                 "dim first), got ", shape_str(x.shape()));
    Tensor y = x;
    for (int64_t k = 0; k < dims; ++k) {
        const int64_t d = x.dim() - 1 - k, lo = pads[2 * k], hi = pads[2 * k + 1];
        const int64_t n = y.size(d);
        if (lo == 0 && hi == 0) continue;
        if (mode == PadMode::constant) {
            ZG_CHECK(n + lo + hi >= 0, "pad: padding ", lo, ", ", hi, " of dim ", d,
                     " leaves a negative size for ", shape_str(x.shape()));
            if (lo < 0 || hi < 0)
                y = y.slice(d, std::max<int64_t>(0, -lo), n - std::max<int64_t>(0, -hi));
            std::vector<Tensor> parts;
            Shape s = y.shape();
            if (lo > 0) {
                s[d] = lo;
                parts.push_back(full(s, value, y.dtype()));
            }
            parts.push_back(y);
            if (hi > 0) {
                s[d] = hi;
                parts.push_back(full(s, value, y.dtype()));
            }
            if (parts.size() > 1) y = concat(parts, d);
            continue;
        }
        ZG_CHECK(lo >= 0 && hi >= 0, "pad: ", mode_name(mode),
                 " padding must be non-negative, got ", lo, ", ", hi, " for dim ", d);
        ZG_CHECK(n > 0, "pad: ", mode_name(mode), " padding of an empty dim ", d, " of ",
                 shape_str(x.shape()));
        if (mode == PadMode::reflect)
            ZG_CHECK(lo < n && hi < n, "pad: reflect padding ", lo, ", ", hi,
                     " must be smaller than the size ", n, " of dim ", d, " of ",
                     shape_str(x.shape()));
        if (mode == PadMode::circular)
            ZG_CHECK(lo <= n && hi <= n, "pad: circular padding ", lo, ", ", hi,
                     " must be at most the size ", n, " of dim ", d, " of ", shape_str(x.shape()),
                     " (it would wrap around more than once)");
        y = index_select(y, d, source_positions(n, lo, hi, mode));
    }
    return y;
}

}  // namespace zg
