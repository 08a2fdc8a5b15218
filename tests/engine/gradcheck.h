#pragma once
// Gradient checks by finite differences, in float64 (as PyTorch's gradcheck), plus a float32
// consistency check. An op f(x₁..xₙ) with any output shape is projected to a scalar with a fixed
// random weight v, L = Σ v ⊙ f(x), whose gradient must match the central differences
// (L(x + εeⱼ) − L(x − εeⱼ)) / 2ε. The second-derivative check does the same to the first
// gradient: M = Σᵢ Σ wᵢ ⊙ ∂L/∂xᵢ, differentiated through grad(create_graph=true).
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/rng.h"

namespace zg::testing {

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct CheckOptions {
    double eps = 1e-6;
    double atol = 1e-7;
    double rtol = 1e-5;
    bool second_order = true;  // also check grad-of-grad
    bool float32 = true;       // also run in float32 and compare with float64
};

// Leaves of float64 with requires_grad, copied from `values`.
inline std::vector<Tensor> leaves(const std::vector<Tensor>& values, DType dtype = DType::f64) {
    std::vector<Tensor> out;
    for (const Tensor& v : values) {
        Tensor t = v.detach().to(dtype).clone().detach();
        if (is_floating(dtype) && is_floating(v.dtype())) t.requires_grad_();
        out.push_back(t);
    }
    return out;
}

inline void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                         double atol, double rtol, const std::string& what) {
    REQUIRE_MESSAGE(got.size() == want.size(), what, ": size ", got.size(), " vs ", want.size());
    for (size_t j = 0; j < got.size(); ++j) {
        const double tol = atol + rtol * std::abs(want[j]);
        if (!(std::abs(got[j] - want[j]) <= tol)) {
            FAIL_CHECK(what, ": element ", j, " is ", got[j], ", expected ", want[j],
                       " (tolerance ", tol, ")");
            return;
        }
    }
}

// Σ v ⊙ f(x) for a fixed v drawn once per check.
inline Tensor projected(const OpFn& f, const std::vector<Tensor>& xs, Tensor& v) {
    Tensor y = f(xs);
    if (!v.defined()) {
        Rng g(1234);
        v = randn(y.shape(), &g, y.dtype());
    }
    return sum(y * v.to(y.dtype()));
}

// Gradients of `scalar` with respect to the differentiable inputs; zeros where unused.
inline std::vector<Tensor> grads_of(const Tensor& scalar, const std::vector<Tensor>& xs,
                                    bool create_graph) {
    std::vector<Tensor> diff;
    for (const Tensor& x : xs)
        if (x.requires_grad()) diff.push_back(x);
    std::vector<Tensor> g(diff.size());
    if (scalar.requires_grad()) g = grad({scalar}, diff, {}, create_graph, false, true);
    for (size_t i = 0; i < g.size(); ++i)
        if (!g[i].defined()) g[i] = zeros_like(diff[i]);
    return g;
}

// Central differences of scalar_fn with respect to every element of every float input.
inline std::vector<std::vector<double>> numeric_grads(const std::function<double()>& scalar_fn,
                                                      const std::vector<Tensor>& xs, double eps) {
    std::vector<std::vector<double>> out;
    for (const Tensor& x : xs) {
        if (!x.requires_grad()) continue;
        REQUIRE(x.is_contiguous());
        double* p = x.data<double>();
        std::vector<double> g(x.numel());
        for (int64_t j = 0; j < x.numel(); ++j) {
            const double keep = p[j];
            p[j] = keep + eps;
            const double hi = scalar_fn();
            p[j] = keep - eps;
            const double lo = scalar_fn();
            p[j] = keep;
            g[j] = (hi - lo) / (2 * eps);
        }
        out.push_back(g);
    }
    return out;
}

inline void check_first_order(const std::string& name, const OpFn& f, const std::vector<Tensor>& xs,
                              const CheckOptions& o) {
    Tensor v;
    auto analytic = grads_of(projected(f, xs, v), xs, false);
    auto numeric = numeric_grads([&] { return projected(f, xs, v).item<double>(); }, xs, o.eps);
    for (size_t i = 0; i < analytic.size(); ++i)
        expect_close(analytic[i].to_vector<double>(), numeric[i], o.atol, o.rtol,
                     name + " gradient of input " + std::to_string(i));
}

inline void check_second_order(const std::string& name, const OpFn& f,
                               const std::vector<Tensor>& xs, const CheckOptions& o) {
    Tensor v;
    std::vector<Tensor> w;
    auto m_of = [&](bool create_graph) {
        auto g = grads_of(projected(f, xs, v), xs, create_graph);
        if (w.empty()) {
            Rng gen(99);
            for (const Tensor& gi : g) w.push_back(randn(gi.shape(), &gen, DType::f64));
        }
        Tensor m = zeros({}, DType::f64);
        for (size_t i = 0; i < g.size(); ++i) m = m + sum(g[i] * w[i]);
        return m;
    };
    auto analytic = grads_of(m_of(true), xs, false);
    auto numeric = numeric_grads([&] { return m_of(false).item<double>(); }, xs, o.eps);
    for (size_t i = 0; i < analytic.size(); ++i)
        expect_close(analytic[i].to_vector<double>(), numeric[i], o.atol * 100, o.rtol * 100,
                     name + " second derivative of input " + std::to_string(i));
}

// float32 outputs and gradients agree with float64 ones to float32 precision.
inline void check_float32(const std::string& name, const OpFn& f, const std::vector<Tensor>& xs) {
    auto x32 = leaves(xs, DType::f32);
    for (size_t i = 0; i < xs.size(); ++i)
        if (!is_floating(xs[i].dtype())) x32[i] = xs[i];
    Tensor v64, v32;
    Tensor l64 = projected(f, xs, v64);
    v32 = v64.to(DType::f32);
    Tensor l32 = projected(f, x32, v32);
    expect_close({l32.item<double>()}, {l64.item<double>()}, 1e-4, 1e-4, name + " float32 value");
    auto g64 = grads_of(l64, xs, false);
    auto g32 = grads_of(l32, x32, false);
    for (size_t i = 0; i < g64.size(); ++i)
        expect_close(g32[i].to_vector<double>(), g64[i].to_vector<double>(), 1e-4, 1e-3,
                     name + " float32 gradient of input " + std::to_string(i));
}

// The full check of one op: first derivatives, second derivatives, float32 agreement.
// `values` may hold int32 tensors (indices, labels): they are passed through untouched.
inline void check_op(const std::string& name, const OpFn& f, const std::vector<Tensor>& values,
                     CheckOptions o = {}) {
    auto xs = leaves(values);
    for (size_t i = 0; i < values.size(); ++i)
        if (!is_floating(values[i].dtype())) xs[i] = values[i];
    check_first_order(name, f, xs, o);
    if (o.second_order) check_second_order(name, f, xs, o);
    if (o.float32) check_float32(name, f, xs);
}

// check_op on f, and on f squared, so that a linear op's second derivative is not trivially
// zero (for the views and copies of shape ops and the linear ops of the PyTorch-shaped API).
inline void check_op_and_square(const std::string& name, const OpFn& f,
                                const std::vector<Tensor>& inputs) {
    check_op(name, f, inputs);
    check_op(
        name + " squared",
        [f](const std::vector<Tensor>& x) {
            Tensor y = f(x);
            return y * y;
        },
        inputs);
}

// Random float64 test input; `away_from` keeps values at least `margin` from a kink (e.g. 0
// for relu/abs), where finite differences are meaningless.
inline Tensor test_input(const Shape& shape, uint64_t seed, double lo = -2.0, double hi = 2.0) {
    Rng g(seed);
    return uniform(shape, lo, hi, &g, DType::f64);
}
inline Tensor away_from_zero(const Tensor& x, double margin = 0.1) {
    NoGradGuard ng;
    return where(lt(abs(x), margin), x + sign(x) * margin + margin * 0.5, x);
}

}  // namespace zg::testing
