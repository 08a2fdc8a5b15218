// Reductions (engine/ops/reduce.cpp): sum, mean, var, amax, amin, logsumexp and sum_to. Values
// are compared with hand-computed numbers and with a plain loop reference; gradients, second
// derivatives and float32 agreement go through check_op.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The elements of x (row-major, `shape`) grouped by output element of a reduction over the
// non-negative `axes`, in row-major order of the output.
std::vector<std::vector<double>> groups(const std::vector<double>& x, const Shape& shape,
                                        const Axes& axes) {
    Shape kshape = shape;
    for (int64_t a : axes) kshape[a] = 1;
    const Shape kstrides = contiguous_strides(kshape);
    std::vector<std::vector<double>> g(shape_numel(kshape));
    for (int64_t i = 0; i < (int64_t)x.size(); ++i) {
        int64_t rem = i, o = 0;
        for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
            const int64_t c = rem % shape[d];
            rem /= shape[d];
            if (kshape[d] != 1) o += c * kstrides[d];
        }
        g[o].push_back(x[i]);
    }
    return g;
}

enum class Ref { sum, mean, var_unbiased, var_biased, max, min, lse };

std::vector<double> reference(Ref op, const std::vector<double>& x, const Shape& shape,
                              const Axes& axes) {
    std::vector<double> out;
    for (const auto& g : groups(x, shape, axes)) {
        const double n = (double)g.size();
        double s = 0, mx = -kInf, mn = kInf;
        for (double v : g) {
            s += v;
            mx = std::max(mx, v);
            mn = std::min(mn, v);
        }
        double ss = 0, se = 0;
        for (double v : g) {
            ss += (v - s / n) * (v - s / n);
            se += std::exp(v - mx);
        }
        switch (op) {
            case Ref::sum:
                out.push_back(s);
                break;
            case Ref::mean:
                out.push_back(s / n);
                break;
            case Ref::var_unbiased:
                out.push_back(ss / (n - 1));
                break;
            case Ref::var_biased:
                out.push_back(ss / n);
                break;
            case Ref::max:
                out.push_back(mx);
                break;
            case Ref::min:
                out.push_back(mn);
                break;
            case Ref::lse:
                out.push_back(mx + std::log(se));
                break;
        }
    }
    return out;
}

Tensor apply(Ref op, const Tensor& x, const Axes& axes, bool keepdim) {
    switch (op) {
        case Ref::sum:
            return sum(x, axes, keepdim);
        case Ref::mean:
            return mean(x, axes, keepdim);
        case Ref::var_unbiased:
            return var(x, axes, true, keepdim);
        case Ref::var_biased:
            return var(x, axes, false, keepdim);
        case Ref::max:
            return amax(x, axes, keepdim);
        case Ref::min:
            return amin(x, axes, keepdim);
        case Ref::lse:
            return logsumexp(x, axes, keepdim);
    }
    return Tensor();
}

// An axis list as passed to the op (possibly negative) and the same axes normalized.
struct AxisCase {
    Axes given, normalized;
};
const std::vector<AxisCase> kAxisCases3d = {
    {{0}, {0}},       {{1}, {1}},        {{2}, {2}},
    {{-1}, {2}},      {{-3}, {0}},       {{0, 2}, {0, 2}},
    {{2, 0}, {0, 2}}, {{-1, 1}, {1, 2}}, {{0, 1, 2}, {0, 1, 2}},
    {{}, {0, 1, 2}},
};

Shape reduced(const Shape& s, const Axes& normalized, bool keepdim) {
    Shape out;
    for (int64_t d = 0; d < (int64_t)s.size(); ++d) {
        const bool r = std::find(normalized.begin(), normalized.end(), d) != normalized.end();
        if (!r)
            out.push_back(s[d]);
        else if (keepdim)
            out.push_back(1);
    }
    return out;
}

// Every op over every axis case, keepdim on and off, against the loop reference.
void check_against_reference(Ref op, double tol = 1e-12) {
    const Shape shape = {2, 3, 4};
    Tensor x = test_input(shape, 11);
    const auto xv = x.to_vector<double>();
    for (const auto& c : kAxisCases3d)
        for (bool keepdim : {false, true}) {
            CAPTURE(shape_str(c.given));
            CAPTURE(keepdim);
            expect_tensor(apply(op, x, c.given, keepdim), reduced(shape, c.normalized, keepdim),
                          reference(op, xv, shape, c.normalized), tol);
        }
}

OpFn reducer(Ref op, Axes axes, bool keepdim) {
    return [op, axes, keepdim](const std::vector<Tensor>& x) {
        return apply(op, x[0], axes, keepdim);
    };
}

// Gradients, second derivatives and float32 for the op over a representative set of axes.
void gradcheck_reduction(Ref op, const char* name) {
    const std::vector<std::pair<Axes, bool>> cases = {
        {{}, false}, {{0}, false}, {{-1}, true}, {{0, 2}, false}, {{2, -3}, true}, {{1}, true}};
    for (const auto& [axes, keepdim] : cases) {
        CAPTURE(shape_str(axes));
        CAPTURE(keepdim);
        check_op(name, reducer(op, axes, keepdim), {test_input({2, 3, 4}, 21)});
    }
}

}  // namespace

// ---- values ----

TEST_CASE("reduce: sum values by hand") {
    Tensor x = f64({3, -1, 2, 0, 5, -4}, {2, 3});
    expect_tensor(sum(x), {}, {5});
    expect_tensor(sum(x, {0}), {3}, {3, 4, -2});
    expect_tensor(sum(x, {1}), {2}, {4, 1});
    expect_tensor(sum(x, {-1}), {2}, {4, 1});
    expect_tensor(sum(x, {-2}, true), {1, 3}, {3, 4, -2});
    expect_tensor(sum(x, {0, 1}), {}, {5});
    expect_tensor(sum(x, {-1, -2}, true), {1, 1}, {5});
    expect_tensor(sum(x, {}, true), {1, 1}, {5});
}

TEST_CASE(
    "reduce: all_finite finds one NaN or inf among finite values, and huge finite ones pass") {
    CHECK(all_finite(f64({3, -1, 1e300, -1e300, 0}, {5})));
    CHECK(all_finite(zeros({0, 3})));
    const double inf = std::numeric_limits<double>::infinity();
    for (double bad : {std::nan(""), inf, -inf}) {
        CHECK_FALSE(all_finite(f64({1, 2, bad, 4}, {2, 2})));
        CHECK_FALSE(all_finite(f64({1, 2, bad, 4}, {2, 2}).to(DType::f32)));
    }
}

TEST_CASE("reduce: mean values by hand") {
    Tensor x = f64({3, -1, 2, 0, 5, -4}, {2, 3});
    expect_tensor(mean(x), {}, {5.0 / 6});
    expect_tensor(mean(x, {0}), {3}, {1.5, 2, -1});
    expect_tensor(mean(x, {-1}, true), {2, 1}, {4.0 / 3, 1.0 / 3});
    expect_tensor(mean(x, {1, 0}, true), {1, 1}, {5.0 / 6});
}

TEST_CASE("reduce: var unbiased and biased values by hand") {
    Tensor x = f64({3, -1, 2, 0, 5, -4}, {2, 3});
    // Row 0: mean 4/3, Σ(x − m)² = 26/3; row 1: mean 1/3, Σ(x − m)² = 122/3.
    expect_tensor(var(x, {1}), {2}, {13.0 / 3, 61.0 / 3});
    expect_tensor(var(x, {1}, false), {2}, {26.0 / 9, 122.0 / 9});
    expect_tensor(var(x, {-1}, true, true), {2, 1}, {13.0 / 3, 61.0 / 3});
    // Columns are pairs: Σ(x − m)² = d²/2 for a pair with difference d.
    expect_tensor(var(x, {0}), {3}, {4.5, 18, 18});
    expect_tensor(var(x, {0}, false), {3}, {2.25, 9, 9});
    // All six values: mean 5/6, Σx² = 55, Σ(x − m)² = 55 − 6·(5/6)² = 305/6.
    expect_tensor(var(x), {}, {305.0 / 30});
    expect_tensor(var(x, {}, false), {}, {305.0 / 36});
    expect_tensor(var(x, {0, 1}, false, true), {1, 1}, {305.0 / 36});
}

TEST_CASE("reduce: amax and amin values by hand") {
    Tensor x = f64({3, -1, 2, 0, 5, -4}, {2, 3});
    expect_tensor(amax(x), {}, {5});
    expect_tensor(amin(x), {}, {-4});
    expect_tensor(amax(x, {1}), {2}, {3, 5});
    expect_tensor(amin(x, {1}), {2}, {-1, -4});
    expect_tensor(amax(x, {0}, true), {1, 3}, {3, 5, 2});
    expect_tensor(amin(x, {-2}), {3}, {0, -1, -4});
    expect_tensor(amax(x, {-1, 0}, true), {1, 1}, {5});
}

TEST_CASE("reduce: logsumexp values by hand") {
    Tensor x = f64({1, 2, 3, 0, 0, 0}, {2, 3});
    const double r0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
    expect_tensor(logsumexp(x, {1}), {2}, {r0, std::log(3.0)});
    expect_tensor(logsumexp(x, {-1}, true), {2, 1}, {r0, std::log(3.0)});
    expect_tensor(
        logsumexp(x, {0}), {3},
        {std::log(std::exp(1.0) + 1), std::log(std::exp(2.0) + 1), std::log(std::exp(3.0) + 1)});
    const double all = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + 3);
    expect_tensor(logsumexp(x), {}, {all});
    expect_tensor(logsumexp(x, {0, 1}, true), {1, 1}, {all});
}

TEST_CASE("reduce: sum and mean over single, several, negative and all axes match a loop") {
    check_against_reference(Ref::sum);
    check_against_reference(Ref::mean);
}

TEST_CASE("reduce: var over single, several, negative and all axes matches a loop") {
    check_against_reference(Ref::var_unbiased);
    check_against_reference(Ref::var_biased);
}

TEST_CASE("reduce: amax, amin and logsumexp over axis sets match a loop") {
    check_against_reference(Ref::max);
    check_against_reference(Ref::min);
    check_against_reference(Ref::lse);
}

TEST_CASE("reduce: reductions of strided (transposed, sliced) views") {
    // The kernel walks arbitrary strides: reducing a view must equal reducing its packed copy.
    Tensor base = test_input({4, 6, 5}, 31);
    std::vector<Tensor> views = {base.transpose(0, 2), base.permute({1, 2, 0}),
                                 base.slice(1, 1, 6, 2), base.select(2, 3).t(),
                                 test_input({1, 6, 5}, 32).expand({4, 6, 5})};  // stride 0
    for (const Tensor& v : views) {
        CHECK_FALSE(v.is_contiguous());
        Tensor packed = v.contiguous();
        const Shape shape = packed.shape();
        for (int64_t a = 0; a < v.dim(); ++a) {
            CAPTURE(a);
            for (Ref op : {Ref::sum, Ref::max, Ref::min, Ref::var_unbiased, Ref::lse})
                expect_tensor(apply(op, v, {a}, false), reduced(shape, {a}, false),
                              reference(op, packed.to_vector<double>(), shape, {a}));
        }
        expect_tensor(sum(v), {}, {sum(packed).item<double>()});
    }
}

TEST_CASE("reduce: large tensors (the parallel kernel path) match a loop") {
    const Shape shape = {300, 7, 40};
    Tensor x = test_input(shape, 33);
    const auto xv = x.to_vector<double>();
    for (const Axes& axes : std::vector<Axes>{{0}, {1}, {2}, {0, 2}, {}}) {
        Axes norm = axes.empty() ? Axes{0, 1, 2} : axes;
        CAPTURE(shape_str(axes));
        for (Ref op : {Ref::sum, Ref::max, Ref::min})
            expect_tensor(apply(op, x, axes, true), reduced(shape, norm, true),
                          reference(op, xv, shape, norm), 1e-12);
        // float32 as well (sums accumulate in double, so the tolerance stays tight).
        expect_tensor(sum(x.to(DType::f32), axes, true), reduced(shape, norm, true),
                      reference(Ref::sum, x.to(DType::f32).to_vector<double>(), shape, norm), 1e-6);
    }
}

TEST_CASE("reduce: size-1 and empty dims") {
    Tensor x = test_input({2, 1, 3}, 34);
    expect_tensor(sum(x, {1}), {2, 3}, x.to_vector<double>());
    expect_tensor(amax(x, {1}, true), {2, 1, 3}, x.to_vector<double>());
    expect_tensor(var(x, {1}, false), {2, 3}, std::vector<double>(6, 0.0));
    // Summing over an empty dim gives zeros; over the others, an empty result.
    expect_tensor(sum(zeros({2, 0}, DType::f64), {1}), {2}, {0, 0});
    expect_tensor(sum(zeros({2, 0}, DType::f64), {0}), {0}, {});
    expect_tensor(sum(zeros({2, 0}, DType::f64)), {}, {0});
}

TEST_CASE("reduce: a 0-d tensor reduces to itself") {
    Tensor s = scalar(2.5, DType::f64);
    expect_tensor(sum(s), {}, {2.5});
    expect_tensor(mean(s), {}, {2.5});
    expect_tensor(amax(s), {}, {2.5});
    expect_tensor(logsumexp(s), {}, {2.5});
}

// ---- gradients and second derivatives ----

TEST_CASE("reduce: sum gradients and second derivatives") {
    gradcheck_reduction(Ref::sum, "sum");
}

TEST_CASE("reduce: mean gradients and second derivatives") {
    gradcheck_reduction(Ref::mean, "mean");
}

TEST_CASE("reduce: var (unbiased) gradients and second derivatives") {
    gradcheck_reduction(Ref::var_unbiased, "var unbiased");
}

TEST_CASE("reduce: var (biased) gradients and second derivatives") {
    gradcheck_reduction(Ref::var_biased, "var biased");
}

TEST_CASE("reduce: amax and amin gradients and second derivatives") {
    // test_input has distinct values, so there are no ties within eps of each other.
    gradcheck_reduction(Ref::max, "amax");
    gradcheck_reduction(Ref::min, "amin");
}

TEST_CASE("reduce: logsumexp gradients and second derivatives") {
    gradcheck_reduction(Ref::lse, "logsumexp");
}

TEST_CASE("reduce: gradients of reductions of strided views") {
    for (Ref op : {Ref::sum, Ref::var_unbiased, Ref::max, Ref::lse}) {
        check_op("reduce transposed",
                 [op](const std::vector<Tensor>& x) {
                     return apply(op, x[0].transpose(0, 2), {1, 2}, false);
                 },
                 {test_input({3, 4, 2}, 35)});
        check_op("reduce step slice",
                 [op](const std::vector<Tensor>& x) {
                     return apply(op, x[0].slice(1, 0, 5, 2), {-1}, true);
                 },
                 {test_input({3, 5}, 36)});
    }
}

TEST_CASE("reduce: sum gradient is ones broadcast, mean's is 1/n") {
    Tensor x = test_input({2, 3, 4}, 41).requires_grad_();
    auto g = grad({sum(x, {1})}, {x}, {ones({2, 4}, DType::f64)});
    expect_tensor(g[0], {2, 3, 4}, std::vector<double>(24, 1.0));
    g = grad({mean(x, {0, 2})}, {x}, {ones({3}, DType::f64)});
    expect_tensor(g[0], {2, 3, 4}, std::vector<double>(24, 1.0 / 8));
}

TEST_CASE("reduce: var gradient is 2(x - mean)/(n - 1)") {
    Tensor x = f64({1, 2, 4, 7}, {4}).requires_grad_();
    // mean 3.5
    auto g = grad({var(x)}, {x});
    expect_tensor(g[0], {4}, {2 * -2.5 / 3, 2 * -1.5 / 3, 2 * 0.5 / 3, 2 * 3.5 / 3});
    g = grad({var(x, {}, false)}, {x});
    expect_tensor(g[0], {4}, {2 * -2.5 / 4, 2 * -1.5 / 4, 2 * 0.5 / 4, 2 * 3.5 / 4});
}

TEST_CASE("reduce: logsumexp gradient is the softmax") {
    Tensor x = f64({1, 2, 3, -1, 0, 4}, {2, 3}).requires_grad_();
    auto g = grad({logsumexp(x, {1})}, {x}, {ones({2}, DType::f64)});
    auto xv = x.to_vector<double>();
    std::vector<double> want;
    for (int r = 0; r < 2; ++r) {
        double z = 0;
        for (int c = 0; c < 3; ++c) z += std::exp(xv[r * 3 + c]);
        for (int c = 0; c < 3; ++c) want.push_back(std::exp(xv[r * 3 + c]) / z);
    }
    expect_tensor(g[0], {2, 3}, want);
}

TEST_CASE("reduce: amax and amin ties split the gradient evenly") {
    Tensor x = f64({2, 2, 2, 1, 4, 4, 5, 0, 5}, {3, 3}).requires_grad_();
    auto g = grad({amax(x, {1})}, {x}, {ones({3}, DType::f64)});
    expect_tensor(g[0], {3, 3}, {1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0.5, 0.5, 0.5, 0, 0.5});
    // Over all axes: the two 5s share it.
    g = grad({amax(x)}, {x});
    expect_tensor(g[0], {3, 3}, {0, 0, 0, 0, 0, 0, 0.5, 0, 0.5});
    // amin along dim 0, with a tie in column 0 and none in column 1.
    Tensor y = f64({-1, 3, -1, -1, 0, 0}, {3, 2}).requires_grad_();
    g = grad({amin(y, {0}, true)}, {y}, {ones({1, 2}, DType::f64)});
    expect_tensor(g[0], {3, 2}, {0.5, 0, 0.5, 1, 0, 0});
    // The split scales the incoming gradient: dy = 6 over a three-way tie gives 2 each.
    g = grad({amax(x, {1})}, {x}, {f64({6, 0, 0}, {3})});
    expect_tensor(g[0], {3, 3}, {2, 2, 2, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("reduce: amax tie split differentiates again under create_graph") {
    Tensor x = f64({1, 3, 3}, {3}).requires_grad_();
    Tensor w = f64({1, 1, 1}, {3}).requires_grad_();
    // x·w = [1, 3, 3] ties, so ∂/∂xᵢ = wᵢ·[tie]/2 = [0, ½, ½]; the sum of that, ∂/∂w, is the
    // same mask/count.
    auto g = grad({amax(x * w)}, {x}, {}, true);
    expect_tensor(g[0], {3}, {0, 0.5, 0.5});
    auto gw = grad({sum(g[0])}, {w}, {}, false, false, true);
    expect_tensor(gw[0], {3}, {0, 0.5, 0.5});
}

TEST_CASE("reduce: float32 sums accumulate in double and agree with float64") {
    // 2²⁰ copies of 0.1f: a float accumulator drifts by ~1%, a double one does not.
    const int64_t n = int64_t(1) << 20;
    Tensor x = full({n}, 0.1, DType::f32);
    const double want = (double)n * (double)0.1f;
    CHECK(sum(x).dtype() == DType::f32);
    CHECK(std::abs(sum(x).item<double>() - want) <= 1e-6 * want);
    CHECK(std::abs(mean(x).item<double>() - (double)0.1f) <= 1e-7);
    CHECK(std::abs(var(x).item<double>()) <= 1e-10);
    // float32 results of every op match float64 ones.
    Tensor x64 = test_input({3, 5, 4}, 51);
    Tensor x32 = x64.to(DType::f32);
    for (Ref op :
         {Ref::sum, Ref::mean, Ref::var_unbiased, Ref::var_biased, Ref::max, Ref::min, Ref::lse})
        for (const auto& c : kAxisCases3d) {
            Tensor r32 = apply(op, x32, c.given, false);
            CHECK(r32.dtype() == DType::f32);
            expect_tensor(r32, reduced({3, 5, 4}, c.normalized, false),
                          apply(op, x64, c.given, false).to_vector<double>(), 1e-5);
        }
}

// ---- stability and infinities ----

TEST_CASE("reduce: logsumexp is stable for large inputs") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        Tensor x = f64({1000, 1000, 999, -1000, -1000, -1001}, {2, 3}).to(dt);
        const double r = std::log(2 + std::exp(-1.0));
        Tensor y = logsumexp(x, {1});
        expect_tensor(y, {2}, {1000 + r, -1000 + r}, dt == DType::f32 ? 1e-6 : 1e-14);
        // Gradient (softmax) is finite and sums to 1 per row.
        Tensor xl = x.detach().clone().requires_grad_();
        auto g = grad({logsumexp(xl, {1})}, {xl}, {ones({2}, dt)});
        const double e = std::exp(-1.0), z = 2 + e;
        expect_tensor(g[0], {2, 3}, {1 / z, 1 / z, e / z, 1 / z, 1 / z, e / z},
                      dt == DType::f32 ? 1e-6 : 1e-14);
    }
}

TEST_CASE("reduce: logsumexp of a row of all -inf is -inf, without NaN") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        Tensor x = f64({-kInf, -kInf, -kInf, 0, 0, 0, -kInf, 2, -kInf}, {3, 3}).to(dt);
        Tensor y = logsumexp(x, {1});
        expect_tensor(y, {3}, {-kInf, std::log(3.0), 2}, 1e-6);
        expect_tensor(logsumexp(x, {1}, true), {3, 1}, {-kInf, std::log(3.0), 2}, 1e-6);
        // The -inf entries of a row with a finite max get zero gradient, not NaN, and the
        // all -inf row does not spill NaN into the others.
        Tensor xl = x.detach().clone().requires_grad_();
        auto g = grad({logsumexp(xl, {1})}, {xl}, {f64({0, 1, 1}, {3}).to(dt)});
        auto gv = g[0].to_vector<double>();
        for (int i = 3; i < 9; ++i) CHECK_FALSE(std::isnan(gv[i]));
        expect_tensor(g[0].slice(0, 1, 3), {2, 3}, {1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 1, 0}, 1e-6);
    }
    // +inf dominates.
    expect_tensor(logsumexp(f64({kInf, 0, -kInf}, {3})), {}, {kInf});
}

TEST_CASE("reduce: amax of all -inf is -inf and amin of all +inf is +inf") {
    // The identity of max is -inf, not the lowest finite value.
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        Tensor x = f64({-kInf, -kInf, 1, -kInf}, {2, 2}).to(dt);
        expect_tensor(amax(x, {1}), {2}, {-kInf, 1});
        Tensor y = f64({kInf, kInf, kInf, -3}, {2, 2}).to(dt);
        expect_tensor(amin(y, {1}), {2}, {kInf, -3});
        expect_tensor(amax(-y, {1}), {2}, {-kInf, 3});
    }
}

TEST_CASE("reduce: amax and amin propagate NaN") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        // NaN first, in the middle and last in a row: the order must not matter.
        Tensor x = f64({nan, 1, 2, 1, nan, 2, 1, 2, nan, 1, 2, 3}, {4, 3}).to(dt);
        for (const Tensor& r : {amax(x, {1}), amin(x, {1})}) {
            auto v = r.to_vector<double>();
            for (int i = 0; i < 3; ++i) CHECK_MESSAGE(std::isnan(v[i]), "row ", i);
            CHECK_FALSE(std::isnan(v[3]));
        }
        CHECK(std::isnan(amax(x).item<double>()));
    }
}

TEST_CASE("reduce: sums over int32 stay int32") {
    Tensor x = from_vector<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor s = sum(x, {1});
    CHECK(s.dtype() == DType::i32);
    CHECK(s.to_vector<int32_t>() == std::vector<int32_t>{6, 15});
    CHECK(amax(x).item<int32_t>() == 6);
    CHECK(amin(x, {0}).to_vector<int32_t>() == std::vector<int32_t>{1, 2, 3});
}

// ---- sum_to ----

TEST_CASE("reduce: sum_to values") {
    Tensor x = test_input({2, 3, 4}, 61);
    const auto xv = x.to_vector<double>();
    CHECK(sum_to(x, {2, 3, 4}).same(x));  // same shape: the tensor itself
    expect_tensor(sum_to(x, {3, 4}), {3, 4}, reference(Ref::sum, xv, {2, 3, 4}, {0}));
    expect_tensor(sum_to(x, {4}), {4}, reference(Ref::sum, xv, {2, 3, 4}, {0, 1}));
    expect_tensor(sum_to(x, {1, 4}), {1, 4}, reference(Ref::sum, xv, {2, 3, 4}, {0, 1}));
    expect_tensor(sum_to(x, {3, 1}), {3, 1}, reference(Ref::sum, xv, {2, 3, 4}, {0, 2}));
    expect_tensor(sum_to(x, {2, 1, 4}), {2, 1, 4}, reference(Ref::sum, xv, {2, 3, 4}, {1}));
    expect_tensor(sum_to(x, {1, 1, 1}), {1, 1, 1}, {sum(x).item<double>()});
    expect_tensor(sum_to(x, {}), {}, {sum(x).item<double>()});
    // Size-1 dims in x stay when the target has them too.
    Tensor y = test_input({2, 1, 3}, 62);
    expect_tensor(sum_to(y, {1, 3}), {1, 3},
                  reference(Ref::sum, y.to_vector<double>(), {2, 1, 3}, {0, 1}));
}

TEST_CASE("reduce: sum_to gradients and second derivatives") {
    for (const Shape& to : std::vector<Shape>{{3, 4}, {1, 4}, {3, 1}, {2, 1, 4}, {}}) {
        CAPTURE(shape_str(to));
        check_op("sum_to", [to](const std::vector<Tensor>& x) { return sum_to(x[0], to); },
                 {test_input({2, 3, 4}, 63)});
    }
}

TEST_CASE("reduce: sum_to rejects shapes that do not broadcast to the input") {
    Tensor x = test_input({2, 3}, 64);
    CHECK_THROWS_AS(sum_to(x, {2, 2, 3}), Error);  // more dims than x
    CHECK_THROWS_AS(sum_to(x, {4}), Error);
    // Same element count, but [3, 2] does not broadcast to [2, 3]: must not silently reshape.
    CHECK_THROWS_AS(sum_to(x, {3, 2}), Error);
    CHECK_THROWS_AS(sum_to(test_input({6, 1}, 65), {2, 3}), Error);
}

// ---- errors ----

TEST_CASE("reduce: axis out of range throws, naming the op") {
    Tensor x = test_input({2, 3, 4}, 71);
    CHECK_THROWS_WITH_AS(sum(x, {3}), doctest::Contains("sum"), Error);
    CHECK_THROWS_WITH_AS(sum(x, {-4}), doctest::Contains("out of range"), Error);
    CHECK_THROWS_WITH_AS(mean(x, {0, 5}), doctest::Contains("mean"), Error);
    CHECK_THROWS_WITH_AS(var(x, {7}), doctest::Contains("var"), Error);
    CHECK_THROWS_WITH_AS(amax(x, {3}), doctest::Contains("amax"), Error);
    CHECK_THROWS_WITH_AS(amin(x, {-5}), doctest::Contains("amin"), Error);
    CHECK_THROWS_WITH_AS(logsumexp(x, {3}), doctest::Contains("logsumexp"), Error);
}

TEST_CASE("reduce: a repeated axis throws, also when spelled negative") {
    Tensor x = test_input({2, 3, 4}, 72);
    CHECK_THROWS_WITH_AS(sum(x, {1, 1}), doctest::Contains("twice"), Error);
    CHECK_THROWS_WITH_AS(sum(x, {1, -2}), doctest::Contains("sum"), Error);  // -2 is 1
    CHECK_THROWS_AS(mean(x, {0, -3}), Error);
    CHECK_THROWS_AS(var(x, {2, 2}), Error);
    CHECK_THROWS_AS(amax(x, {-1, 2}), Error);
    CHECK_THROWS_AS(amin(x, {0, 0}), Error);
    CHECK_THROWS_AS(logsumexp(x, {1, -2}), Error);
}

TEST_CASE("reduce: amax over an empty dimension throws, float-only reductions reject int32") {
    CHECK_THROWS_AS(amax(zeros({2, 0}), {1}), Error);
    CHECK_THROWS_AS(amin(zeros({0}), {}), Error);
    Tensor i = from_vector<int32_t>({1, 2, 3}, {3});
    CHECK_THROWS_AS(mean(i), Error);
    CHECK_THROWS_AS(var(i), Error);
    CHECK_THROWS_AS(logsumexp(i), Error);
}
