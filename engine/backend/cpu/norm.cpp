// Batch normalization in fused passes: per channel, the statistics in two read passes and the
// normalized output in one write pass (the same for the gradients), where the same math in
// engine ops makes about a dozen passes over the activation and allocates as many
// temporaries. Each channel is handled start to finish by one thread: results do not depend on
// the thread count.
#include <cmath>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/strided.h"

namespace zg::cpu {
namespace {

// x [N, C, S] seen as channel c's N rows of S values, rows C·S apart.
struct ChannelRows {
    int64_t n, c, s;
    int64_t offset(int64_t row, int64_t channel) const { return (row * c + channel) * s; }
};

ChannelRows rows_of(const Tensor& x) {
    const int64_t c = x.size(1), n = x.size(0);
    return {n, c, c && n ? x.numel() / (n * c) : 0};
}

// Σ f(x) over channel ch, accumulated in double.
template <class T, class F>
double channel_sum(const T* px, const ChannelRows& g, int64_t ch, F f) {
    double acc = 0;
    for (int64_t r = 0; r < g.n; ++r) {
        const T* p = px + g.offset(r, ch);
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < g.s; ++i) acc += f(p[i]);
    }
    return acc;
}

template <class T>
const T* data_or_null(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

template <class T>
void bn_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                const Tensor& y, const Tensor& mean, const Tensor& var) {
    const ChannelRows g = rows_of(x);
    const double m = (double)(g.n * g.s);
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(weight);
    const T* pb = data_or_null<T>(bias);
    T* py = y.data<T>();
    T* pmean = mean.data<T>();
    T* pvar = var.data<T>();
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelGrain)
    for (int64_t ch = 0; ch < g.c; ++ch) {
        const double mu = channel_sum(px, g, ch, [](T v) { return (double)v; }) / m;
        const double sigma2 = channel_sum(px, g, ch,
                                          [mu](T v) {
                                              const double d = (double)v - mu;
                                              return d * d;
                                          }) /
                              m;
        pmean[ch] = (T)mu;
        pvar[ch] = (T)sigma2;
        // y = (x − μ)·scale + bias with scale = weight/√(σ² + eps)
        const T mu_t = (T)mu, sc = (T)((pw ? (double)pw[ch] : 1.0) / std::sqrt(sigma2 + eps));
        const T shift = pb ? pb[ch] : T(0);
        for (int64_t r = 0; r < g.n; ++r) {
            const T* in = px + g.offset(r, ch);
            T* out = py + g.offset(r, ch);
#pragma omp simd
            for (int64_t i = 0; i < g.s; ++i) out[i] = (in[i] - mu_t) * sc + shift;
        }
    }
}

template <class T>
void bn_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& var,
                 const Tensor& weight, double eps, const Tensor& dx, const Tensor& dweight,
                 const Tensor& dbias) {
    const ChannelRows g = rows_of(x);
    const double m = (double)(g.n * g.s);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    const T* pmean = mean.data<T>();
    const T* pvar = var.data<T>();
    const T* pw = data_or_null<T>(weight);
    T* pdx = dx.defined() ? dx.data<T>() : nullptr;
    T* pdw = dweight.defined() ? dweight.data<T>() : nullptr;
    T* pdb = dbias.defined() ? dbias.data<T>() : nullptr;
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelGrain)
    for (int64_t ch = 0; ch < g.c; ++ch) {
        const double mu = pmean[ch], inv = 1.0 / std::sqrt((double)pvar[ch] + eps);
        // Σ dy and Σ dy·(x − μ) in one pass over both
        double sum_dy = 0, sum_dy_d = 0;
        for (int64_t r = 0; r < g.n; ++r) {
            const T* xr = px + g.offset(r, ch);
            const T* dr = pdy + g.offset(r, ch);
#pragma omp simd reduction(+ : sum_dy, sum_dy_d)
            for (int64_t i = 0; i < g.s; ++i) {
                sum_dy += (double)dr[i];
                sum_dy_d += (double)dr[i] * ((double)xr[i] - mu);
            }
        }
        const double dw = sum_dy_d * inv;  // Σ dy·x̂
        if (pdb) pdb[ch] = (T)sum_dy;
        if (pdw) pdw[ch] = (T)dw;
        if (!pdx) continue;
        // dx = k·(dy − (Σdy + x̂·Σdy·x̂)/M) = dy·k + (x − μ)·b + c with k = weight/√(σ² + eps),
        // b = −k·inv·dw/M, c = −k·Σdy/M
        const double k = (pw ? (double)pw[ch] : 1.0) * inv;
        const T mu_t = (T)mu, a = (T)k, b = (T)(-k * inv * dw / m), c = (T)(-k * sum_dy / m);
        for (int64_t r = 0; r < g.n; ++r) {
            const T* xr = px + g.offset(r, ch);
            const T* dr = pdy + g.offset(r, ch);
            T* out = pdx + g.offset(r, ch);
#pragma omp simd
            for (int64_t i = 0; i < g.s; ++i) out[i] = dr[i] * a + (xr[i] - mu_t) * b + c;
        }
    }
}

}  // namespace

void CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                    double eps, const Tensor& y, const Tensor& mean,
                                    const Tensor& var) {
    dispatch_float(x.dtype(), "batch_norm",
                   [&]<class T>() { bn_forward<T>(x, weight, bias, eps, y, mean, var); });
}

void CpuBackend::batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& mean,
                                     const Tensor& var, const Tensor& weight, double eps,
                                     const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
    dispatch_float(x.dtype(), "batch_norm backward", [&]<class T>() {
        bn_backward<T>(x, dy, mean, var, weight, eps, dx, dweight, dbias);
    });
}

}  // namespace zg::cpu
