// Elementwise kernels: unary maps, binary maps and where, over strided (broadcast) views.
#include <cmath>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/strided.h"

namespace zg::cpu {
namespace {

// out[i] = f(x[i]); the contiguous case is a plain loop the compiler vectorizes.
template <class T, class F>
void map1(const Tensor& x, const Tensor& out, F f) {
    const T* px = x.data<T>();
    T* po = out.data<T>();
    StridedLoop<2> loop(out.shape(), {&out.strides(), &x.strides()});
    const int64_t sx = loop.inner_strides()[1];
    loop.for_each_row([&](auto off, int64_t n) {
        T* o = po + off[0];
        const T* a = px + off[1];
        if (sx == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) o[i] = f(a[i * sx]);
        }
    });
}

template <class T, class F>
void map2(const Tensor& x, const Tensor& y, const Tensor& out, F f) {
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    T* po = out.data<T>();
    StridedLoop<3> loop(out.shape(), {&out.strides(), &x.strides(), &y.strides()});
    auto st = loop.inner_strides();
    const int64_t sx = st[1], sy = st[2];
    loop.for_each_row([&](auto off, int64_t n) {
        T* o = po + off[0];
        const T* a = px + off[1];
        const T* b = py + off[2];
        if (sx == 1 && sy == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
        } else if (sx == 1 && sy == 0) {
            const T bv = b[0];
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
        } else if (sx == 0 && sy == 1) {
            const T av = a[0];
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) o[i] = f(a[i * sx], b[i * sy]);
        }
    });
}

// softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|): never overflows.
template <class T>
T softplus(T v) {
    return std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v)));
}
// σ(x) = 1/(1 + e^−x) for x ≥ 0, eˣ/(1 + eˣ) otherwise: never overflows.
template <class T>
T sigmoid(T v) {
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    T e = std::exp(v);
    return e / (T(1) + e);
}

template <class T>
void unary_typed(UnaryOp op, const Tensor& x, const Tensor& out, T a, T b) {
    using U = UnaryOp;
    switch (op) {
        case U::neg:
            return map1<T>(x, out, [](T v) { return -v; });
        case U::exp:
            return map1<T>(x, out, [](T v) { return std::exp(v); });
        case U::log:
            return map1<T>(x, out, [](T v) { return std::log(v); });
        case U::sqrt:
            return map1<T>(x, out, [](T v) { return std::sqrt(v); });
        case U::abs:
            return map1<T>(x, out, [](T v) { return std::abs(v); });
        case U::sign:
            return map1<T>(x, out, [](T v) { return T((v > 0) - (v < 0)); });
        case U::tanh:
            return map1<T>(x, out, [](T v) { return std::tanh(v); });
        case U::sigmoid:
            return map1<T>(x, out, [](T v) { return sigmoid(v); });
        case U::softplus:
            return map1<T>(x, out, [](T v) { return softplus(v); });
        case U::relu:
            // NaN stays NaN, as in PyTorch: v > 0 ? v : 0 would turn it into 0 and hide a
            // diverged network's NaN weights behind finite outputs.
            return map1<T>(x, out, [](T v) { return v < 0 ? T(0) : v; });
        case U::leaky_relu:
            // a·v is computed on both sides of the select: a conditional multiply stays a
            // branch (the compiler may not speculate a float op), mispredicted half the time
            // on activations and never vectorized.
            return map1<T>(x, out, [a](T v) {
                const T scaled = a * v;
                return v > 0 ? v : scaled;
            });
        case U::elu:
            return map1<T>(x, out, [a](T v) { return v > 0 ? v : a * (std::exp(v) - T(1)); });
        case U::affine:
            return map1<T>(x, out, [a, b](T v) { return a * v + b; });
        case U::pow:
            return map1<T>(x, out, [a](T v) { return std::pow(v, a); });
        case U::clamp:
            return map1<T>(x, out, [a, b](T v) { return std::min(std::max(v, a), b); });
        case U::in_range:
            return map1<T>(x, out, [a, b](T v) { return T(v >= a && v <= b); });
        case U::gt:
            return map1<T>(x, out, [a](T v) { return T(v > a); });
        case U::ge:
            return map1<T>(x, out, [a](T v) { return T(v >= a); });
        case U::lt:
            return map1<T>(x, out, [a](T v) { return T(v < a); });
        case U::le:
            return map1<T>(x, out, [a](T v) { return T(v <= a); });
        case U::eq:
            return map1<T>(x, out, [a](T v) { return T(v == a); });
    }
}

template <class T>
void binary_typed(BinaryOp op, const Tensor& x, const Tensor& y, const Tensor& out) {
    using B = BinaryOp;
    switch (op) {
        case B::add:
            return map2<T>(x, y, out, [](T a, T b) { return a + b; });
        case B::sub:
            return map2<T>(x, y, out, [](T a, T b) { return a - b; });
        case B::mul:
            return map2<T>(x, y, out, [](T a, T b) { return a * b; });
        case B::div:
            return map2<T>(x, y, out, [](T a, T b) { return a / b; });
        case B::pow:
            return map2<T>(x, y, out, [](T a, T b) { return T(std::pow(a, b)); });
        case B::maximum:
            return map2<T>(x, y, out, [](T a, T b) { return std::max(a, b); });
        case B::minimum:
            return map2<T>(x, y, out, [](T a, T b) { return std::min(a, b); });
        case B::gt:
            return map2<T>(x, y, out, [](T a, T b) { return T(a > b); });
        case B::ge:
            return map2<T>(x, y, out, [](T a, T b) { return T(a >= b); });
        case B::lt:
            return map2<T>(x, y, out, [](T a, T b) { return T(a < b); });
        case B::le:
            return map2<T>(x, y, out, [](T a, T b) { return T(a <= b); });
        case B::eq:
            return map2<T>(x, y, out, [](T a, T b) { return T(a == b); });
    }
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) {
    dispatch_float(x.dtype(), "unary op",
                   [&]<class T>() { unary_typed<T>(op, x, out, T(a), T(b)); });
}

void CpuBackend::binary(BinaryOp op, const Tensor& x, const Tensor& y, const Tensor& out) {
    dispatch(x.dtype(), [&]<class T>() { binary_typed<T>(op, x, y, out); });
}

void CpuBackend::select_pos_mul(const Tensor& x, const Tensor& y, const Tensor& out, double a,
                                double b) {
    dispatch_float(y.dtype(), "select_pos_mul", [&]<class T>() {
        const T pos = static_cast<T>(a), neg = static_cast<T>(b);
        map2<T>(x, y, out, [pos, neg](T v, T g) { return g * (v > 0 ? pos : neg); });
    });
}

void CpuBackend::where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) {
    dispatch(x.dtype(), [&]<class T>() {
        dispatch(cond.dtype(), [&]<class C>() {
            const C* pc = cond.data<C>();
            const T* px = x.data<T>();
            const T* py = y.data<T>();
            T* po = out.data<T>();
            StridedLoop<4> loop(out.shape(),
                                {&out.strides(), &cond.strides(), &x.strides(), &y.strides()});
            auto st = loop.inner_strides();
            loop.for_each_row([&](auto off, int64_t n) {
                for (int64_t i = 0; i < n; ++i)
                    po[off[0] + i] = pc[off[1] + i * st[1]] != C(0) ? px[off[2] + i * st[2]]
                                                                    : py[off[3] + i * st[3]];
            });
        });
    });
}

}  // namespace zg::cpu
