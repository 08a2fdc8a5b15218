// im2col / col2im: unrolling sliding windows into the columns of a matrix, so a convolution of
// the whole batch is one GEMM, and the adjoint that folds columns back into an image.
#include <algorithm>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/strided.h"

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

// col2im's units of work: channel c's planes of a block of images [n0, n1). Each plane belongs
// to one unit (no races, sums in a fixed order); images are blocked only when there are too
// few channels to occupy the threads (DCGAN's last generator layer has one).
struct PlaneBlock {
    int64_t c, n0, n1;
};
struct PlaneBlocks {
    int64_t n, blocks, per_block;
    PlaneBlocks(int64_t n_, int64_t channels) : n(n_) {
        const int64_t wanted = 16 / std::max<int64_t>(channels, 1);
        blocks = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(n, 1));
        per_block = (n + blocks - 1) / blocks;
    }
    PlaneBlock operator[](int64_t u) const {
        const int64_t b = u % blocks, n0 = std::min(n, b * per_block);
        return {u / blocks, n0, std::min(n, n0 + per_block)};
    }
};

// The stride along a row as a compile-time constant for stride 1 (0: the runtime s).
template <int S>
int64_t row_stride(int64_t s) {
    if constexpr (S > 0) return S;
    return s;
}

template <class T, int S>
void im2col_typed(const Tensor& x_in, const Window2d& g, T pad, const Tensor& cols) {
    Tensor x = x_in.detach().contiguous();
    const int64_t oh = g.out_h(), ow = g.out_w(), L = oh * ow, rows = g.c * g.kh * g.kw;
    const int64_t sw = row_stride<S>(g.sw);
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
            std::fill(dst, dst + vy.lo * ow, pad);
            for (int64_t oy = vy.lo; oy < vy.hi; ++oy) {
                T* row = dst + oy * ow;
                const T* in = src + (oy * g.sh - g.ph + yoff) * g.w - g.pw + xoff;
                std::fill(row, row + vx.lo, pad);
#pragma omp simd
                for (int64_t ox = vx.lo; ox < vx.hi; ++ox) row[ox] = in[ox * sw];
                std::fill(row + vx.hi, row + ow, pad);
            }
            std::fill(dst + vy.hi * ow, dst + L, pad);
        }
    }
}

// The schedule of both col2im kernels. Each unit of planes (channel c, images n0..n1) is written
// by one thread only, which zero-fills its planes of `target`, calls add(c, n0, n1, r, i, j) for
// the kernel offsets (i, j) of cols row r in a fixed order, then done(c, n0, n1): no races, the
// same sums on any thread count, and cols is read front to back (row (c, i, j) holds all N
// images), rather than in short pieces 4·N·OH·OW bytes apart.
template <class T, class Add, class Done>
void col2im_units(const Window2d& g, T* target, Add add, Done done) {
    const int64_t plane = g.h * g.w, L = g.out_h() * g.out_w();
    const PlaneBlocks units(g.n, g.c);
#pragma omp parallel for schedule(static) if (g.n * g.c * g.kh * g.kw * L >= kParallelGrain)
    for (int64_t u = 0; u < g.c * units.blocks; ++u) {
        const auto [c, n0, n1] = units[u];
        for (int64_t n = n0; n < n1; ++n) {
            T* p = target + (n * g.c + c) * plane;
            std::fill(p, p + plane, T(0));
        }
        for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) add(c, n0, n1, (c * g.kh + i) * g.kw + j, i, j);
        done(c, n0, n1);
    }
}

template <class T, int S>
void col2im_typed(const Tensor& cols_in, const Window2d& g, const Tensor& x) {
    Tensor cols = cols_in.detach().contiguous();
    const int64_t oh = g.out_h(), ow = g.out_w(), L = oh * ow, plane = g.h * g.w;
    const int64_t sw = row_stride<S>(g.sw);
    const T* pc = cols.data<T>();
    T* px = x.data<T>();
    auto add = [&](int64_t c, int64_t n0, int64_t n1, int64_t r, int64_t i, int64_t j) {
        const int64_t yoff = i * g.dh, xoff = j * g.dw;
        const ValidRange vy = valid_outputs(g.h, oh, g.sh, g.ph, yoff);
        const ValidRange vx = valid_outputs(g.w, ow, g.sw, g.pw, xoff);
        for (int64_t n = n0; n < n1; ++n) {
            T* p = px + (n * g.c + c) * plane;
            const T* src = pc + r * (g.n * L) + n * L;
            for (int64_t oy = vy.lo; oy < vy.hi; ++oy) {
                T* out = p + (oy * g.sh - g.ph + yoff) * g.w - g.pw + xoff;
                const T* row = src + oy * ow;
#pragma omp simd
                for (int64_t ox = vx.lo; ox < vx.hi; ++ox) out[ox * sw] += row[ox];
            }
        }
    };
    col2im_units(g, px, add, [](int64_t, int64_t, int64_t) {});
}

// Stride 2 (every 4×4 layer of DCGAN): each image plane is split into its four phases
// x[2u + a, 2v + b], a, b ∈ {0, 1}, stored one after the other. In its phase a kernel offset's
// window rows are contiguous runs: for cols row (c, i, j) the input row 2·oy − ph + i is row
// oy + du of phase a = (i − ph) mod 2, with du = (i − ph − a)/2 (columns alike). im2col and
// col2im then copy and add unit-stride runs instead of stride-2 gathers and scatters, at the
// price of one pass over x (a sixteenth of cols for a 4×4 kernel) to split or merge phases.
struct Phases {
    int64_t h, w;
    int64_t rows[2], cols[2];  // size of the phases of row (column) parity a
    int64_t offset[2][2];      // where phase (a, b) starts in a split plane
    Phases(int64_t h_, int64_t w_) : h(h_), w(w_) {
        for (int a = 0; a < 2; ++a) {
            rows[a] = (h - a + 1) / 2;
            cols[a] = (w - a + 1) / 2;
        }
        offset[0][0] = 0;
        offset[0][1] = rows[0] * cols[0];
        offset[1][0] = offset[0][1] + rows[0] * cols[1];
        offset[1][1] = offset[1][0] + rows[1] * cols[0];
    }
};

// Where kernel offset k with padding p reads, in phase coordinates: parity a, shift d (output
// position o reads phase position o + d), and the outputs [lo, hi) whose read falls inside the
// `size[a]` positions of the phase.
struct PhaseRead {
    int a;
    int64_t d, lo, hi;
};
PhaseRead phase_read(int64_t k, int64_t p, int64_t out, const int64_t size[2]) {
    const int a = (int)((k - p) & 1);
    const int64_t d = (k - p - a) / 2;
    const int64_t lo = std::min(std::max<int64_t>(0, -d), out);
    return {a, d, lo, std::max(lo, std::min(out, size[a] - d))};
}

template <class T>
void split_phases(const T* plane, const Phases& ph, T* out) {
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
            for (int64_t u = 0; u < ph.rows[a]; ++u) {
                const T* src = plane + (2 * u + a) * ph.w + b;
                T* dst = out + ph.offset[a][b] + u * ph.cols[b];
#pragma omp simd
                for (int64_t v = 0; v < ph.cols[b]; ++v) dst[v] = src[2 * v];
            }
}

template <class T>
void merge_phases(const T* split, const Phases& ph, T* plane) {
    for (int64_t y = 0; y < ph.h; ++y) {
        const int a = (int)(y & 1);
        const T* even = split + ph.offset[a][0] + (y / 2) * ph.cols[0];
        const T* odd = split + ph.offset[a][1] + (y / 2) * ph.cols[1];
        T* row = plane + y * ph.w;
#pragma omp simd
        for (int64_t v = 0; v < ph.cols[1]; ++v) {
            row[2 * v] = even[v];
            row[2 * v + 1] = odd[v];
        }
        if (ph.cols[0] > ph.cols[1]) row[ph.w - 1] = even[ph.cols[0] - 1];  // odd width
    }
}

template <class T>
void im2col_stride2(const Tensor& x_in, const Window2d& g, T pad, const Tensor& cols) {
    Tensor x = x_in.detach().contiguous();
    const int64_t oh = g.out_h(), ow = g.out_w(), L = oh * ow, rows = g.c * g.kh * g.kw;
    const int64_t plane = g.h * g.w;
    const Phases ph(g.h, g.w);
    Tensor split = empty(x.shape(), x.dtype(), x.device());
    const T* px = x.data<T>();
    T* ps = split.data<T>();
    T* pc = cols.data<T>();
#pragma omp parallel if (rows * g.n * L >= kParallelGrain)
    {
#pragma omp for schedule(static)
        for (int64_t nc = 0; nc < g.n * g.c; ++nc)
            split_phases(px + nc * plane, ph, ps + nc * plane);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t c = r / (g.kh * g.kw), i = (r / g.kw) % g.kh, j = r % g.kw;
            const PhaseRead ry = phase_read(i, g.ph, oh, ph.rows);
            const PhaseRead rx = phase_read(j, g.pw, ow, ph.cols);
            const int64_t pitch = ph.cols[rx.a];
            for (int64_t n = 0; n < g.n; ++n) {
                T* dst = pc + r * (g.n * L) + n * L;
                const T* src = ps + (n * g.c + c) * plane + ph.offset[ry.a][rx.a];
                std::fill(dst, dst + ry.lo * ow, pad);
                for (int64_t oy = ry.lo; oy < ry.hi; ++oy) {
                    T* row = dst + oy * ow;
                    const T* in = src + (oy + ry.d) * pitch + rx.d;
                    std::fill(row, row + rx.lo, pad);
#pragma omp simd  // runs of 4 to 16: a loop, not a call to memmove
                    for (int64_t ox = rx.lo; ox < rx.hi; ++ox) row[ox] = in[ox];
                    std::fill(row + rx.hi, row + ow, pad);
                }
                std::fill(dst + ry.hi * ow, dst + L, pad);
            }
        }
    }
}

// As col2im_typed, adding into phase-split planes, each merged back into x once its unit is done.
template <class T>
void col2im_stride2(const Tensor& cols_in, const Window2d& g, const Tensor& x) {
    Tensor cols = cols_in.detach().contiguous();
    const int64_t oh = g.out_h(), ow = g.out_w(), L = oh * ow, plane = g.h * g.w;
    const Phases ph(g.h, g.w);
    Tensor split = empty(x.shape(), x.dtype(), x.device());
    const T* pc = cols.data<T>();
    T* ps = split.data<T>();
    T* px = x.data<T>();
    auto add = [&](int64_t c, int64_t n0, int64_t n1, int64_t r, int64_t i, int64_t j) {
        const PhaseRead ry = phase_read(i, g.ph, oh, ph.rows);
        const PhaseRead rx = phase_read(j, g.pw, ow, ph.cols);
        const int64_t pitch = ph.cols[rx.a];
        for (int64_t n = n0; n < n1; ++n) {
            T* dst = ps + (n * g.c + c) * plane + ph.offset[ry.a][rx.a];
            const T* src = pc + r * (g.n * L) + n * L;
            for (int64_t oy = ry.lo; oy < ry.hi; ++oy) {
                T* out = dst + (oy + ry.d) * pitch + rx.d;
                const T* row = src + oy * ow;
#pragma omp simd
                for (int64_t ox = rx.lo; ox < rx.hi; ++ox) out[ox] += row[ox];
            }
        }
    };
    auto merge = [&](int64_t c, int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n)
            merge_phases(ps + (n * g.c + c) * plane, ph, px + (n * g.c + c) * plane);
    };
    col2im_units(g, ps, add, merge);
}

bool is_plain_stride2(const Window2d& g) {
    return g.sh == 2 && g.sw == 2 && g.dh == 1 && g.dw == 1;
}

}  // namespace

void CpuBackend::im2col(const Tensor& x, const Window2d& g, double pad_value, const Tensor& cols) {
    dispatch_float(x.dtype(), "im2col", [&]<class T>() {
        const T pad = static_cast<T>(pad_value);
        if (is_plain_stride2(g)) return im2col_stride2<T>(x, g, pad, cols);
        if (g.sw == 1) return im2col_typed<T, 1>(x, g, pad, cols);
        im2col_typed<T, 0>(x, g, pad, cols);
    });
}

void CpuBackend::col2im(const Tensor& cols, const Window2d& g, const Tensor& x) {
    dispatch_float(x.dtype(), "col2im", [&]<class T>() {
        if (is_plain_stride2(g)) return col2im_stride2<T>(cols, g, x);
        if (g.sw == 1) return col2im_typed<T, 1>(cols, g, x);
        col2im_typed<T, 0>(cols, g, x);
    });
}

}  // namespace zg::cpu
