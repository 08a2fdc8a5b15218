// im2col / col2im: unrolling sliding windows into the columns of a matrix, so a convolution of
// the whole batch is one GEMM, and the adjoint that folds columns back into an image.
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/strided.h"

namespace zg::cpu {
namespace {

// For kernel offset i: the output rows oy whose input row oy·s − p + i·d lies inside [0, size).
// Outside that range the column entries are padding.
struct ValidRange {
    int64_t lo, hi;  // [lo, hi)
};
ValidRange valid_outputs(int64_t size, int64_t out, int64_t s, int64_t p, int64_t off) {
    // smallest oy with oy·s ≥ p − off, largest with oy·s < size + p − off
    const int64_t a = p - off, b = size + p - off;
    int64_t lo = a <= 0 ? 0 : (a + s - 1) / s;
    int64_t hi = b <= 0 ? 0 : (b + s - 1) / s;
    return {std::min(lo, out), std::min(std::max(hi, lo), out)};
}

template <class T>
void im2col_typed(const Tensor& x_in, const Window2d& g, T pad, const Tensor& cols) {
    Tensor x = x_in.detach().contiguous();
    const int64_t oh = g.out_h(), ow = g.out_w(), L = oh * ow, rows = g.c * g.kh * g.kw;
    const T* px = x.data<T>();
    T* pc = cols.data<T>();
#pragma omp parallel for schedule(static) if (rows * g.n * L >= kParallelGrain)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t c = r / (g.kh * g.kw), i = (r / g.kw) % g.kh, j = r % g.kw;
        const int64_t yoff = i * g.dh, xoff = j * g.dw;
        const ValidRange vy = valid_outputs(g.h, oh, g.sh, g.ph, yoff);
        const ValidRange vx = valid_outputs(g.w, ow, g.sw, g.pw, xoff);
        for (int64_t n = 0; n < g.n; ++n) {
            T* dst = pc + r * (g.n * L) + n * L;
            const T* src = px + (n * g.c + c) * g.h * g.w;
            for (int64_t oy = 0; oy < oh; ++oy) {
                T* row = dst + oy * ow;
                if (oy < vy.lo || oy >= vy.hi) {
                    for (int64_t ox = 0; ox < ow; ++ox) row[ox] = pad;
                    continue;
                }
                const T* in = src + (oy * g.sh - g.ph + yoff) * g.w - g.pw + xoff;
                for (int64_t ox = 0; ox < vx.lo; ++ox) row[ox] = pad;
                if (g.sw == 1) {
#pragma omp simd
                    for (int64_t ox = vx.lo; ox < vx.hi; ++ox) row[ox] = in[ox];
                } else {
                    for (int64_t ox = vx.lo; ox < vx.hi; ++ox) row[ox] = in[ox * g.sw];
                }
                for (int64_t ox = vx.hi; ox < ow; ++ox) row[ox] = pad;
            }
        }
    }
}

template <class T>
void col2im_typed(const Tensor& cols_in, const Window2d& g, const Tensor& x) {
    Tensor cols = cols_in.detach().contiguous();
    const int64_t oh = g.out_h(), ow = g.out_w(), L = oh * ow;
    const T* pc = cols.data<T>();
    T* px = x.data<T>();
    // Each (n, c) image plane is written by one thread, visiting kernel offsets in a fixed
    // order: no races and the same sums on any thread count.
#pragma omp parallel for schedule(static) if (g.n * g.c * g.kh * g.kw * L >= kParallelGrain)
    for (int64_t nc = 0; nc < g.n * g.c; ++nc) {
        const int64_t n = nc / g.c, c = nc % g.c;
        T* plane = px + nc * g.h * g.w;
        for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t r = (c * g.kh + i) * g.kw + j;
                const int64_t yoff = i * g.dh, xoff = j * g.dw;
                const ValidRange vy = valid_outputs(g.h, oh, g.sh, g.ph, yoff);
                const ValidRange vx = valid_outputs(g.w, ow, g.sw, g.pw, xoff);
                const T* src = pc + r * (g.n * L) + n * L;
                for (int64_t oy = vy.lo; oy < vy.hi; ++oy) {
                    T* out = plane + (oy * g.sh - g.ph + yoff) * g.w - g.pw + xoff;
                    const T* row = src + oy * ow;
                    if (g.sw == 1) {
#pragma omp simd
                        for (int64_t ox = vx.lo; ox < vx.hi; ++ox) out[ox] += row[ox];
                    } else {
                        for (int64_t ox = vx.lo; ox < vx.hi; ++ox) out[ox * g.sw] += row[ox];
                    }
                }
            }
    }
}

}  // namespace

void CpuBackend::im2col(const Tensor& x, const Window2d& g, double pad_value, const Tensor& cols) {
    dispatch_float(x.dtype(), "im2col",
                   [&]<class T>() { im2col_typed<T>(x, g, static_cast<T>(pad_value), cols); });
}

void CpuBackend::col2im(const Tensor& cols, const Window2d& g, const Tensor& x) {
    dispatch_float(x.dtype(), "col2im", [&]<class T>() { col2im_typed<T>(cols, g, x); });
}

}  // namespace zg::cpu
