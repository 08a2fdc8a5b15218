// Elementwise arithmetic and math ops (engine/ops/elementwise.cpp): gradients, second
// derivatives and float32 agreement by finite differences, NumPy broadcasting (so the sum_to
// reduction of broadcast gradients is exercised), exact forward values, comparison masks,
// tie and zero conventions that match PyTorch, errors, strided views and large tensors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "engine/rng.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

using Inputs = std::vector<Tensor>;

// Pairs of shapes that broadcast: equal, trailing vector, both sides expanding, 0-d scalars.
const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{4}, {3, 4}}, {{2, 1, 3}, {4, 1}},
    {{3, 1}, {1, 4}}, {{}, {3}},     {{3}, {}},     {{}, {}},
};

// check_op of a binary op over every shape pair, inputs drawn from [lo_a, hi_a] × [lo_b, hi_b].
void check_binary(const std::string& name, const OpFn& f, double lo_a = -2, double hi_a = 2,
                  double lo_b = -2, double hi_b = 2) {
    uint64_t seed = 100;
    for (const auto& [sa, sb] : kBroadcastPairs) {
        CAPTURE(shape_str(sa));
        CAPTURE(shape_str(sb));
        check_op(name + " " + shape_str(sa) + " with " + shape_str(sb), f,
                 {test_input(sa, seed, lo_a, hi_a), test_input(sb, seed + 1, lo_b, hi_b)});
        seed += 2;
    }
}

// Gradients of sum(y) with respect to `inputs` (leaves that require grad).
std::vector<Tensor> grads_of_sum(const Tensor& y, const std::vector<Tensor>& inputs) {
    return grad({sum(y)}, inputs);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Gradient, second-derivative and float32 checks, with broadcasting
// ---------------------------------------------------------------------------------------------

TEST_CASE("add: gradients with broadcasting") {
    check_binary("add", [](const Inputs& x) { return add(x[0], x[1]); });
    check_binary("operator+", [](const Inputs& x) { return x[0] + x[1]; });
}

TEST_CASE("sub: gradients with broadcasting") {
    check_binary("sub", [](const Inputs& x) { return sub(x[0], x[1]); });
    check_binary("operator-", [](const Inputs& x) { return x[0] - x[1]; });
}

TEST_CASE("mul: gradients with broadcasting") {
    check_binary("mul", [](const Inputs& x) { return mul(x[0], x[1]); });
    check_binary("operator*", [](const Inputs& x) { return x[0] * x[1]; });
}

TEST_CASE("mul: the same tensor on both sides accumulates both gradients (d x²/dx = 2x)") {
    check_op("x*x", [](const Inputs& x) { return x[0] * x[0]; }, {test_input({3, 4}, 7)});
    Tensor x = f64({1.5, -2.0, 3.0}).requires_grad_();
    check_values(grads_of_sum(x * x, {x})[0], {3.0, -4.0, 6.0}, "d(x*x)/dx");
}

TEST_CASE("div: gradients with broadcasting (denominator kept away from 0)") {
    check_binary(
        "div", [](const Inputs& x) { return div(x[0], x[1]); }, -2, 2, 0.5, 2);
    check_binary(
        "operator/", [](const Inputs& x) { return x[0] / x[1]; }, -2, 2, -2, -0.5);
}

TEST_CASE("pow(tensor, tensor): gradients with broadcasting (positive base)") {
    check_binary(
        "pow", [](const Inputs& x) { return pow(x[0], x[1]); }, 0.5, 2, -2, 2);
}

TEST_CASE("pow(tensor, scalar): gradients for several exponents") {
    for (double p : {2.0, 3.0, 0.5, -1.5, 1.0, 0.0, -1.0}) {
        CAPTURE(p);
        check_op("pow(x, " + std::to_string(p) + ")", [p](const Inputs& x) { return pow(x[0], p); },
                 {test_input({3, 4}, 11, 0.5, 2)});
    }
    // Integer exponents are smooth on negative bases too.
    for (double p : {2.0, 3.0}) {
        CAPTURE(p);
        check_op("pow(x, " + std::to_string(p) + ") negative base",
                 [p](const Inputs& x) { return pow(x[0], p); }, {test_input({2, 3}, 12, -2, -0.5)});
    }
}

TEST_CASE("maximum: gradients with broadcasting (no ties)") {
    check_binary("maximum", [](const Inputs& x) { return maximum(x[0], x[1]); });
}

TEST_CASE("minimum: gradients with broadcasting (no ties)") {
    check_binary("minimum", [](const Inputs& x) { return minimum(x[0], x[1]); });
}

TEST_CASE("affine: gradients") {
    check_op("affine(2.5, -1)", [](const Inputs& x) { return affine(x[0], 2.5, -1.0); },
             {test_input({3, 4}, 21)});
    check_op("affine(-0.5, 3)", [](const Inputs& x) { return affine(x[0], -0.5, 3.0); },
             {test_input({2, 1, 3}, 22)});
    check_op("affine 0-d", [](const Inputs& x) { return affine(x[0], 4.0, 0.25); },
             {test_input({}, 23)});
}

TEST_CASE("scalar operators: x+s, s+x, x-s, s-x, x*s, s*x, x/s, s/x gradients") {
    const Tensor x = test_input({3, 4}, 31);
    const Tensor pos = test_input({3, 4}, 32, 0.5, 2);
    check_op("x+s", [](const Inputs& v) { return v[0] + 1.5; }, {x});
    check_op("s+x", [](const Inputs& v) { return 1.5 + v[0]; }, {x});
    check_op("x-s", [](const Inputs& v) { return v[0] - 0.75; }, {x});
    check_op("s-x", [](const Inputs& v) { return 0.75 - v[0]; }, {x});
    check_op("x*s", [](const Inputs& v) { return v[0] * -3.0; }, {x});
    check_op("s*x", [](const Inputs& v) { return -3.0 * v[0]; }, {x});
    check_op("x/s", [](const Inputs& v) { return v[0] / 4.0; }, {x});
    check_op("s/x", [](const Inputs& v) { return 2.0 / v[0]; }, {pos});
    check_op("s/x negative", [](const Inputs& v) { return -2.0 / (v[0] * -1.0); }, {pos});
}

TEST_CASE("neg: gradients") {
    check_op("neg", [](const Inputs& x) { return neg(x[0]); }, {test_input({3, 4}, 41)});
    check_op("unary -", [](const Inputs& x) { return -x[0]; }, {test_input({2, 1, 3}, 42)});
}

TEST_CASE("exp: gradients") {
    check_op("exp", [](const Inputs& x) { return exp(x[0]); }, {test_input({3, 4}, 51)});
    check_op("exp 0-d", [](const Inputs& x) { return exp(x[0]); }, {test_input({}, 52)});
}

TEST_CASE("log: gradients on positive inputs") {
    check_op("log", [](const Inputs& x) { return log(x[0]); }, {test_input({3, 4}, 61, 0.5, 3)});
}

TEST_CASE("sqrt: gradients on positive inputs") {
    check_op("sqrt", [](const Inputs& x) { return sqrt(x[0]); }, {test_input({3, 4}, 71, 0.5, 3)});
}

TEST_CASE("abs: gradients away from the kink at 0") {
    check_op("abs", [](const Inputs& x) { return abs(x[0]); },
             {away_from_zero(test_input({4, 5}, 81), 0.1)});
}

TEST_CASE("clamp: gradients inside, below and above the range (away from the bounds)") {
    // Values on both sides of both bounds, none within 0.1 of them.
    const Tensor x = f64({-1.7, -1.2, -0.6, 0.0, 0.3, 0.8, 1.4, 2.5}, {2, 4});
    check_op("clamp(-1, 1)", [](const Inputs& v) { return clamp(v[0], -1.0, 1.0); }, {x});
    // A composite so the second derivative is not trivially zero.
    check_op("clamp(x)^3", [](const Inputs& v) { return pow(clamp(v[0], -1.0, 1.0), 3.0); }, {x});
}

TEST_CASE("where: gradients to both branches, with broadcasting") {
    const Tensor cond = f64({1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1}, {3, 4});
    check_op("where same shape", [cond](const Inputs& x) { return where(cond, x[0], x[1]); },
             {test_input({3, 4}, 91), test_input({3, 4}, 92)});
    check_op("where [3,4] ? [4] : []", [cond](const Inputs& x) { return where(cond, x[0], x[1]); },
             {test_input({4}, 93), test_input({}, 94)});
    // The condition broadcasts too: a [3,1] mask picks whole rows.
    const Tensor rows = f64({1, 0, 1}, {3, 1});
    check_op("where [3,1] ? [1,4] : [3,4]",
             [rows](const Inputs& x) { return where(rows, x[0], x[1]); },
             {test_input({1, 4}, 95), test_input({3, 4}, 96)});
    // Smooth functions of the inputs inside both branches (non-trivial second derivative).
    check_op("where(c, exp(a), a*b)",
             [cond](const Inputs& x) { return where(cond, exp(x[0]), x[0] * x[1]); },
             {test_input({3, 4}, 97), test_input({4}, 98)});
}

TEST_CASE("composite expression: gradients through several ops and broadcasts") {
    check_op("(a*b + exp(c)) / sqrt(b*b + 1)",
             [](const Inputs& x) { return (x[0] * x[1] + exp(x[2])) / sqrt(x[1] * x[1] + 1.0); },
             {test_input({2, 3}, 101), test_input({3}, 102), test_input({2, 1}, 103)});
}

// ---------------------------------------------------------------------------------------------
// Broadcast gradients reduce back to the input shape (sum_to), checked by hand
// ---------------------------------------------------------------------------------------------

TEST_CASE("broadcast gradients: sum_to sums over the broadcast dimensions") {
    Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
    Tensor b = f64({10, 20, 30}, {3}).requires_grad_();
    Tensor s = scalar(2.0, DType::f64).requires_grad_();
    Tensor c = f64({1, -1}, {2, 1}).requires_grad_();
    auto g = grads_of_sum(a * b + s * c, {a, b, s, c});
    CHECK(shape_str(g[0].shape()) == "[2, 3]");
    CHECK(shape_str(g[1].shape()) == "[3]");
    CHECK(shape_str(g[2].shape()) == "[]");
    CHECK(shape_str(g[3].shape()) == "[2, 1]");
    check_values(g[0], {10, 20, 30, 10, 20, 30}, "d/da = b broadcast");
    check_values(g[1], {5, 7, 9}, "d/db = column sums of a");
    check_values(g[2], {3 * (1 + -1)}, "d/ds = sum of c broadcast to [2,3]");
    check_values(g[3], {6, 6}, "d/dc = s summed over 3 columns");
}

TEST_CASE("broadcast gradients: [2,1,3] with [4,1] sums over the right axes") {
    Tensor a = ones({2, 1, 3}, DType::f64).requires_grad_();
    Tensor b = ones({4, 1}, DType::f64).requires_grad_();
    Tensor y = a + b;
    CHECK(shape_str(y.shape()) == "[2, 4, 3]");
    auto g = grads_of_sum(y, {a, b});
    check_values(g[0], std::vector<double>(6, 4.0), "each a element is used 4 times");
    check_values(g[1], std::vector<double>(4, 6.0), "each b element is used 2*3 times");
}

// ---------------------------------------------------------------------------------------------
// Forward values against hand-computed numbers
// ---------------------------------------------------------------------------------------------

TEST_CASE("forward values: add, sub, mul, div with broadcasting") {
    const Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    const Tensor b = f64({2, 4, 8});
    check_values(a + b, {3, 6, 11, 6, 9, 14}, "a+b");
    check_values(a - b, {-1, -2, -5, 2, 1, -2}, "a-b");
    check_values(b - a, {1, 2, 5, -2, -1, 2}, "b-a");
    check_values(a * b, {2, 8, 24, 8, 20, 48}, "a*b");
    check_values(a / b, {0.5, 0.5, 0.375, 2, 1.25, 0.75}, "a/b");
    check_values(scalar(10.0, DType::f64) - b, {8, 6, 2}, "0-d minus [3]");
    // The same in float32.
    const Tensor a32 = f32({1, 2, 3, 4, 5, 6}, {2, 3});
    const Tensor b32 = f32({2, 4, 8}, {3});
    Tensor q = a32 / b32;
    CHECK(q.dtype() == DType::f32);
    check_values(q, {0.5, 0.5, 0.375, 2, 1.25, 0.75}, "float32 a/b");
}

TEST_CASE("forward values: integer add, sub, mul are exact in int32") {
    const Tensor a = from_vector(std::vector<int32_t>{1, -2, 300000}, {3});
    const Tensor b = from_vector(std::vector<int32_t>{7, 5, 2}, {3});
    CHECK((a + b).to_vector<int32_t>() == std::vector<int32_t>{8, 3, 300002});
    CHECK((a - b).to_vector<int32_t>() == std::vector<int32_t>{-6, -7, 299998});
    CHECK((a * b).to_vector<int32_t>() == std::vector<int32_t>{7, -10, 600000});
    CHECK((a + b).dtype() == DType::i32);
}

TEST_CASE("forward values: pow, maximum, minimum") {
    check_values(pow(f64({2, 3, 4, 9}), f64({2, 3, -1, 0.5})), {4, 27, 0.25, 3}, "pow(a, b)");
    check_values(pow(f64({2, 3, 4}, {3, 1}), f64({1, 2})), {2, 4, 3, 9, 4, 16},
                 "pow broadcast [3,1] ** [2]");
    check_values(pow(f64({-2, 0.5, 3}), 2.0), {4, 0.25, 9}, "pow(x, 2)");
    check_values(pow(f64({4, 0.25, 9}), 0.5), {2, 0.5, 3}, "pow(x, 0.5)");
    check_values(pow(f64({0, 5, -3}), 0.0), {1, 1, 1}, "pow(x, 0)");
    check_values(maximum(f64({1, 5, 3, -2}), f64({4, 2, 3, -1})), {4, 5, 3, -1}, "maximum");
    check_values(minimum(f64({1, 5, 3, -2}), f64({4, 2, 3, -1})), {1, 2, 3, -2}, "minimum");
    check_values(maximum(f64({-1, 0, 1, 2}), scalar(0.5, DType::f64)), {0.5, 0.5, 1, 2},
                 "maximum with 0-d");
}

TEST_CASE("forward values: affine, scalar operators, neg") {
    const Tensor x = f64({-2, 0.5, 4});
    check_values(affine(x, 3.0, 1.0), {-5, 2.5, 13}, "3x+1");
    check_values(x + 1.0, {-1, 1.5, 5}, "x+1");
    check_values(1.0 + x, {-1, 1.5, 5}, "1+x");
    check_values(x - 1.0, {-3, -0.5, 3}, "x-1");
    check_values(1.0 - x, {3, 0.5, -3}, "1-x");
    check_values(x * 2.0, {-4, 1, 8}, "x*2");
    check_values(2.0 * x, {-4, 1, 8}, "2*x");
    check_values(x / 4.0, {-0.5, 0.125, 1}, "x/4");
    check_values(2.0 / x, {-1, 4, 0.5}, "2/x");
    check_values(neg(x), {2, -0.5, -4}, "neg");
    check_values(-x, {2, -0.5, -4}, "-x");
}

TEST_CASE("forward values: exp, log, sqrt, abs, clamp") {
    check_values(exp(f64({0, 1, -1})), {1, std::exp(1.0), std::exp(-1.0)}, "exp");
    check_values(log(f64({1, std::exp(2.0), 0.5})), {0, 2, std::log(0.5)}, "log", 1e-15);
    check_values(sqrt(f64({0, 4, 2.25})), {0, 2, 1.5}, "sqrt");
    check_values(abs(f64({-3, 0, 2.5})), {3, 0, 2.5}, "abs");
    check_values(clamp(f64({-5, -1, 0.5, 1, 7}), -1.0, 1.0), {-1, -1, 0.5, 1, 1}, "clamp");
    check_values(clamp(f32({-5, -1, 0.5, 1, 7}, {5}), -1.0, 1.0), {-1, -1, 0.5, 1, 1},
                 "clamp float32");
    // Edge values: log 0 = -inf, sqrt of a negative is NaN (as PyTorch, not an error).
    auto l = log(f64({0})).to_vector<double>();
    CHECK(l[0] == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(sqrt(f64({-1})).item<double>()));
}

TEST_CASE("forward values: where picks per element, with broadcasting") {
    const Tensor cond = f64({1, 0, 1, 0}, {4});
    check_values(where(cond, f64({1, 2, 3, 4}), f64({-1, -2, -3, -4})), {1, -2, 3, -4}, "where");
    // [2,1] condition, [4] and 0-d branches.
    const Tensor rows = f64({0, 1}, {2, 1});
    Tensor y = where(rows, f64({1, 2, 3, 4}), scalar(9.0, DType::f64));
    CHECK(shape_str(y.shape()) == "[2, 4]");
    check_values(y, {9, 9, 9, 9, 1, 2, 3, 4}, "where broadcast");
    // An int32 condition works with float branches; any nonzero counts as true.
    const Tensor icond = from_vector(std::vector<int32_t>{0, 5, -1}, {3});
    check_values(where(icond, f64({1, 2, 3}), f64({7, 8, 9})), {7, 2, 3}, "int32 condition");
}

// ---------------------------------------------------------------------------------------------
// Comparisons: 0/1 masks without gradient
// ---------------------------------------------------------------------------------------------

TEST_CASE("comparisons: tensor-tensor forms give 0/1 masks") {
    const Tensor a = f64({1, 2, 3});
    const Tensor b = f64({3, 2, 1});
    check_values(gt(a, b), {0, 0, 1}, "gt");
    check_values(lt(a, b), {1, 0, 0}, "lt");
    check_values(ge(a, b), {0, 1, 1}, "ge");
    check_values(le(a, b), {1, 1, 0}, "le");
    check_values(eq(a, b), {0, 1, 0}, "eq");
    // Broadcast [2,1] against [3].
    Tensor m = gt(f64({1.5, 2.5}, {2, 1}), a);
    CHECK(shape_str(m.shape()) == "[2, 3]");
    check_values(m, {1, 0, 0, 1, 1, 0}, "gt broadcast");
    CHECK(gt(f32({1, 2}, {2}), f32({2, 1}, {2})).dtype() == DType::f32);
    // int32 labels compare too, giving an int32 mask.
    const Tensor l = from_vector(std::vector<int32_t>{3, 1, 4}, {3});
    const Tensor k = from_vector(std::vector<int32_t>{3, 5, 4}, {3});
    CHECK(eq(l, k).dtype() == DType::i32);
    CHECK(eq(l, k).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 1});
    CHECK(lt(l, k).to_vector<int32_t>() == std::vector<int32_t>{0, 1, 0});
}

TEST_CASE("comparisons: tensor-scalar forms and operators > <") {
    const Tensor x = f64({1, 2, 3});
    check_values(gt(x, 2.0), {0, 0, 1}, "gt s");
    check_values(lt(x, 2.0), {1, 0, 0}, "lt s");
    check_values(ge(x, 2.0), {0, 1, 1}, "ge s");
    check_values(le(x, 2.0), {1, 1, 0}, "le s");
    check_values(eq(x, 2.0), {0, 1, 0}, "eq s");
    check_values(x > 1.5, {0, 1, 1}, "x > 1.5");
    check_values(x < 1.5, {1, 0, 0}, "x < 1.5");
    CHECK((x > 1.5).dtype() == DType::f64);
}

TEST_CASE("comparisons: carry no gradient even when inputs require grad") {
    Tensor a = test_input({3, 4}, 111).requires_grad_();
    Tensor b = test_input({4}, 112).requires_grad_();
    for (const Tensor& m : {gt(a, b), lt(a, b), ge(a, b), le(a, b), eq(a, b), gt(a, 0.0),
                            lt(a, 0.0), ge(a, 0.0), le(a, 0.0), eq(a, 0.0), a > 0.0, a < 0.0}) {
        CHECK_FALSE(m.requires_grad());
        CHECK(m.is_leaf());
    }
    // A mask used as a weight contributes nothing to the gradient: d/da sum(a * (a > 0)) is the
    // mask itself, not mask + a·δ.
    Tensor mask = gt(a, 0.0);
    auto g = grads_of_sum(a * mask, {a});
    check_values(g[0], mask.to_vector<double>(), "gradient through a mask");
}

// ---------------------------------------------------------------------------------------------
// Conventions shared with PyTorch at special points
// ---------------------------------------------------------------------------------------------

TEST_CASE("maximum/minimum: ties split the gradient 0.5/0.5 (as PyTorch)") {
    Tensor a = f64({1, 2, 3}).requires_grad_();
    Tensor b = f64({1, 0, 3}).requires_grad_();
    auto gmax = grads_of_sum(maximum(a, b), {a, b});
    check_values(gmax[0], {0.5, 1, 0.5}, "maximum d/da");
    check_values(gmax[1], {0.5, 0, 0.5}, "maximum d/db");
    auto gmin = grads_of_sum(minimum(a, b), {a, b});
    check_values(gmin[0], {0.5, 0, 0.5}, "minimum d/da");
    check_values(gmin[1], {0.5, 1, 0.5}, "minimum d/db");
    // maximum(x, x) passes the whole gradient through: 0.5 + 0.5.
    Tensor x = f64({-1, 4}).requires_grad_();
    check_values(grads_of_sum(maximum(x, x), {x})[0], {1, 1}, "maximum(x, x)");
    // A broadcast 0-d operand collects the halves of every tie: a = [2, 2, 5], s = 2.
    Tensor v = f64({2, 2, 5}).requires_grad_();
    Tensor s = scalar(2.0, DType::f64).requires_grad_();
    auto gb = grads_of_sum(maximum(v, s), {v, s});
    check_values(gb[0], {0.5, 0.5, 1}, "maximum broadcast d/dv");
    check_values(gb[1], {1.0}, "maximum broadcast d/ds");
}

TEST_CASE("pow(tensor, tensor): gradient w.r.t. the exponent at base 0 is 0, not NaN") {
    Tensor a = f64({0, 0, 0, 2}).requires_grad_();
    Tensor b = f64({2, 0.5, 0, 3}).requires_grad_();
    Tensor y = pow(a, b);
    check_values(y, {0, 0, 1, 8}, "0^2, 0^0.5, 0^0, 2^3");
    auto g = grads_of_sum(y, {a, b});
    // d/db aᵇ = aᵇ ln a: 0 at a = 0 (b ≥ 0), 8 ln 2 at (2, 3).
    check_values(g[1], {0, 0, 0, 8 * std::log(2.0)}, "d/d exponent", 1e-15);
    // d/da aᵇ = b aᵇ⁻¹: 0 for 0², +inf for 0^0.5, and 0 for b = 0 (as PyTorch; b·a⁻¹ would
    // be 0·inf = NaN), 12 for (2, 3).
    auto ga = g[0].to_vector<double>();
    CHECK(ga[0] == 0.0);
    CHECK(ga[1] == std::numeric_limits<double>::infinity());
    CHECK(ga[2] == 0.0);
    CHECK(ga[3] == doctest::Approx(12.0));
    // Broadcast exponent: a [3] with b 0-d.
    Tensor a2 = f64({0, 1, 2}).requires_grad_();
    Tensor b2 = scalar(2.0, DType::f64).requires_grad_();
    auto g2 = grads_of_sum(pow(a2, b2), {a2, b2});
    check_values(g2[0], {0, 2, 4}, "d/da broadcast");
    check_values(g2[1], {4 * std::log(2.0)}, "d/db broadcast, base 0 contributes 0", 1e-15);
}

TEST_CASE("pow(tensor, scalar): exponent 0 has zero gradient even at x = 0") {
    Tensor x = f64({0, 2, -3}).requires_grad_();
    Tensor y = pow(x, 0.0);
    check_values(y, {1, 1, 1}, "x^0");
    check_values(grads_of_sum(y, {x})[0], {0, 0, 0}, "d/dx x^0");
    Tensor x1 = f64({0, 2}).requires_grad_();
    check_values(grads_of_sum(pow(x1, 1.0), {x1})[0], {1, 1}, "d/dx x^1 at 0");
    check_values(grads_of_sum(pow(x1, 2.0), {x1})[0], {0, 4}, "d/dx x^2 at 0");
}

TEST_CASE("abs, clamp: gradient at the kinks follows PyTorch") {
    // abs'(0) = 0; clamp passes the gradient at the bounds themselves (lo ≤ x ≤ hi).
    Tensor x = f64({-2, 0, 3}).requires_grad_();
    check_values(grads_of_sum(abs(x), {x})[0], {-1, 0, 1}, "abs'");
    Tensor c = f64({-2, -1, 0, 1, 2}).requires_grad_();
    check_values(grads_of_sum(clamp(c, -1.0, 1.0), {c})[0], {0, 1, 1, 1, 0}, "clamp'");
}

TEST_CASE("where: the condition gets no gradient, unpicked branch gets zero") {
    Tensor cond = f64({1, 0, 1}).requires_grad_();
    Tensor a = f64({1, 2, 3}).requires_grad_();
    Tensor b = f64({4, 5, 6}).requires_grad_();
    Tensor y = where(cond, a * 2.0, b * 3.0);
    auto g = grad({sum(y)}, {cond, a, b}, {}, false, false, /*allow_unused=*/true);
    CHECK_FALSE(g[0].defined());
    check_values(g[1], {2, 0, 2}, "d/da");
    check_values(g[2], {0, 3, 0}, "d/db");
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

TEST_CASE("errors: shapes that do not broadcast name the op and both shapes") {
    const Tensor a = zeros({3, 4});
    const Tensor b = zeros({3});
    using Binary = Tensor (*)(const Tensor&, const Tensor&);
    const std::vector<std::pair<std::string, Binary>> ops = {
        {"add", add}, {"sub", sub},         {"mul", mul},         {"div", div},
        {"pow", pow}, {"maximum", maximum}, {"minimum", minimum}, {"gt", gt},
        {"lt", lt},   {"ge", ge},           {"le", le},           {"eq", eq},
    };
    for (const auto& [name, op] : ops) {
        CAPTURE(name);
        try {
            op(a, b);
            FAIL_CHECK(name, " did not throw");
        } catch (const Error& e) {
            const std::string msg = e.what();
            CHECK_MESSAGE(msg.find(name + ":") != std::string::npos, msg);
            CHECK_MESSAGE(msg.find("[3, 4]") != std::string::npos, msg);
            CHECK_MESSAGE(msg.find("[3]") != std::string::npos, msg);
        }
    }
    CHECK_THROWS_WITH_AS(zeros({2, 3}) + zeros({4, 1, 2}), doctest::Contains("[2, 3]"), Error);
    CHECK_THROWS_WITH_AS(where(ones({2}), zeros({3}), zeros({3})), doctest::Contains("where"),
                         Error);
    CHECK_THROWS_WITH_AS(where(ones({3}), zeros({3}), zeros({2, 2})), doctest::Contains("[2, 2]"),
                         Error);
    // The error is raised before anything is recorded, for inputs that require grad too.
    Tensor x = zeros({3, 4}).requires_grad_();
    CHECK_THROWS_AS(x * zeros({5}), Error);
}

TEST_CASE("errors: mixing float32 and float64 throws") {
    const Tensor a = zeros({3}, DType::f32);
    const Tensor b = zeros({3}, DType::f64);
    CHECK_THROWS_WITH_AS(a + b, doctest::Contains("dtype mismatch"), Error);
    CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("float32"), Error);
    CHECK_THROWS_WITH_AS(mul(b, a), doctest::Contains("float64"), Error);
    CHECK_THROWS_AS(sub(a, b), Error);
    CHECK_THROWS_AS(div(a, b), Error);
    CHECK_THROWS_AS(pow(a, b), Error);
    CHECK_THROWS_AS(maximum(a, b), Error);
    CHECK_THROWS_AS(minimum(a, b), Error);
    CHECK_THROWS_AS(gt(a, b), Error);
    CHECK_THROWS_WITH_AS(where(ones({3}), a, b), doctest::Contains("where"), Error);
    // int32 with float is a mismatch too.
    CHECK_THROWS_AS(a + zeros({3}, DType::i32), Error);
}

TEST_CASE("errors: float-only ops on int32 tensors throw zg::Error naming the op") {
    const Tensor i = from_vector(std::vector<int32_t>{1, 2, 4}, {3});
    CHECK_THROWS_WITH_AS(div(i, i), doctest::Contains("div"), Error);
    CHECK_THROWS_WITH_AS(pow(i, i), doctest::Contains("pow"), Error);
    CHECK_THROWS_WITH_AS(pow(i, 2.0), doctest::Contains("pow"), Error);
    CHECK_THROWS_WITH_AS(affine(i, 2.0, 1.0), doctest::Contains("affine"), Error);
    CHECK_THROWS_WITH_AS(exp(i), doctest::Contains("exp"), Error);
    CHECK_THROWS_WITH_AS(log(i), doctest::Contains("log"), Error);
    CHECK_THROWS_WITH_AS(sqrt(i), doctest::Contains("sqrt"), Error);
    CHECK_THROWS_WITH_AS(exp(i), doctest::Contains("int32"), Error);
    CHECK_THROWS_AS(abs(i), Error);
    CHECK_THROWS_AS(clamp(i, 0.0, 1.0), Error);
    CHECK_THROWS_AS(neg(i), Error);
    CHECK_THROWS_AS(i * 2.0, Error);
    CHECK_THROWS_AS(2.0 / i, Error);
}

TEST_CASE("errors: clamp with lo > hi throws") {
    CHECK_THROWS_WITH_AS(clamp(zeros({3}), 1.0, -1.0), doctest::Contains("clamp"), Error);
}

// ---------------------------------------------------------------------------------------------
// Strided inputs: transposed, expanded and sliced views
// ---------------------------------------------------------------------------------------------

TEST_CASE("strided: ops on a transposed view match the contiguous copy") {
    const Tensor x = test_input({4, 3}, 121);
    const Tensor xt = x.t();
    REQUIRE_FALSE(xt.is_contiguous());
    const Tensor xc = xt.contiguous();
    const Tensor y = test_input({3, 4}, 122);
    const Tensor r = test_input({4}, 123);
    check_values(exp(xt), exp(xc).to_vector<double>(), "exp(x.t())");
    check_values(abs(xt), abs(xc).to_vector<double>(), "abs(x.t())");
    check_values(xt * y, (xc * y).to_vector<double>(), "x.t() * y");
    check_values(y - xt, (y - xc).to_vector<double>(), "y - x.t()");
    check_values(xt + r, (xc + r).to_vector<double>(), "x.t() + [4]");
    check_values(maximum(xt, y), maximum(xc, y).to_vector<double>(), "maximum(x.t(), y)");
    check_values(where(gt(xt, 0.0), xt, y), where(gt(xc, 0.0), xc, y).to_vector<double>(),
                 "where on transposed");
    // Both operands transposed: still element by element.
    check_values(xt / (y.t().t() + 3.0), (xc / (y + 3.0)).to_vector<double>(), "x.t() / y");
}

TEST_CASE("strided: gradients through transposed and sliced views") {
    check_op("exp(x.t())", [](const Inputs& x) { return exp(x[0].t()); },
             {test_input({4, 3}, 131)});
    check_op("x.t() * y", [](const Inputs& x) { return x[0].t() * x[1]; },
             {test_input({4, 3}, 132), test_input({3, 4}, 133)});
    check_op("x.t() / [4]", [](const Inputs& x) { return x[0].t() / x[1]; },
             {test_input({4, 3}, 134), test_input({4}, 135, 0.5, 2)});
    check_op("pow(x.t(), y.t())", [](const Inputs& x) { return pow(x[0].t(), x[1].t()); },
             {test_input({4, 3}, 136, 0.5, 2), test_input({4, 3}, 137)});
    // Every other column, from column 1: stride 2 in the last dimension and an offset.
    check_op("x[:, 1::2] - y", [](const Inputs& x) { return x[0].slice(1, 1, 6, 2) - x[1]; },
             {test_input({3, 6}, 140), test_input({3}, 141)});
    // Every other column: a view with stride 2 in the last dimension.
    check_op("sqrt(x[:, ::2]) * y",
             [](const Inputs& x) { return sqrt(x[0].slice(1, 0, 6, 2)) * x[1]; },
             {test_input({3, 6}, 138, 0.5, 3), test_input({3, 3}, 139)});
}

TEST_CASE("strided: ops on an expanded (stride 0) view") {
    const Tensor col = f64({1, 2, 3}, {3, 1});
    const Tensor e = col.expand({3, 4});
    CHECK(e.strides()[1] == 0);
    check_values(exp(e), exp(col.expand({3, 4}).contiguous()).to_vector<double>(), "exp(expand)");
    check_values(e * f64({1, 10, 100, 1000}),
                 {1, 10, 100, 1000, 2, 20, 200, 2000, 3, 30, 300, 3000}, "expand * row");
    check_values(e - e.t().t(), std::vector<double>(12, 0.0), "expand - itself");
    // Gradients through the expanded view sum back to [3, 1].
    check_op("tanh(expand) * y",
             [](const Inputs& x) {
                 return tanh(x[0].expand({3, 4})) * x[1];
             },
             {test_input({3, 1}, 141), test_input({3, 4}, 142)});
    check_op("expand([4]) + y.t()",
             [](const Inputs& x) {
                 return x[0].expand({3, 4}) + x[1].t();
             },
             {test_input({4}, 143), test_input({4, 3}, 144)});
    Tensor c = f64({1, 2, 3}, {3, 1}).requires_grad_();
    auto g = grads_of_sum(c.expand({3, 4}) * 2.0, {c});
    check_values(g[0], {8, 8, 8}, "d/dc of sum(2 · expand(c))");
}

// ---------------------------------------------------------------------------------------------
// Empty and large tensors
// ---------------------------------------------------------------------------------------------

TEST_CASE("empty tensors: ops and gradients on zero-size shapes") {
    Tensor a = zeros({0, 3}, DType::f64).requires_grad_();
    Tensor b = ones({3}, DType::f64).requires_grad_();
    Tensor y = exp(a) * b + 1.0;
    CHECK(shape_str(y.shape()) == "[0, 3]");
    CHECK(y.numel() == 0);
    auto g = grads_of_sum(y, {a, b});
    CHECK(shape_str(g[0].shape()) == "[0, 3]");
    check_values(g[1], {0, 0, 0}, "gradient of b over zero rows");
}

TEST_CASE("large tensors: results past the OpenMP threshold match element-by-element math") {
    const int64_t rows = 512, cols = 256;  // 1<<17 elements, four times the parallel grain
    Rng gen(7);
    const Tensor x = uniform({rows, cols}, -3, 3, &gen, DType::f32);
    const Tensor y = uniform({rows, cols}, 0.5, 2, &gen, DType::f32);
    const Tensor r = uniform({cols}, -1, 1, &gen, DType::f32);
    const auto vx = x.to_vector<float>(), vy = y.to_vector<float>(), vr = r.to_vector<float>();

    // Elementwise binaries and a broadcast row: exact.
    const auto s = (x + y).to_vector<float>(), p = (x * y).to_vector<float>();
    const auto q = (x / y).to_vector<float>(), b = (x - r).to_vector<float>();
    const auto m = maximum(x, r).to_vector<float>();
    int64_t bad = 0;
    for (int64_t i = 0; i < rows * cols; ++i) {
        const int64_t j = i % cols;
        bad += s[i] != vx[i] + vy[i];
        bad += p[i] != vx[i] * vy[i];
        bad += q[i] != vx[i] / vy[i];
        bad += b[i] != vx[i] - vr[j];
        bad += m[i] != std::max(vx[i], vr[j]);
    }
    CHECK(bad == 0);

    // Transcendental unaries: within an ulp or two (vectorized math may round differently).
    const auto e = exp(x).to_vector<float>(), l = log(y).to_vector<float>();
    const auto sq = sqrt(y).to_vector<float>();
    for (int64_t i = 0; i < rows * cols; ++i) {
        bad += std::abs(e[i] - std::exp(vx[i])) > 1e-6f * std::exp(vx[i]);
        bad += std::abs(l[i] - std::log(vy[i])) > 1e-6f;
        bad += std::abs(sq[i] - std::sqrt(vy[i])) > 1e-6f * std::sqrt(vy[i]);
    }
    CHECK(bad == 0);

    // A transposed large view (many strided rows, split across threads).
    const auto t = (x.t() * 2.0).contiguous().to_vector<float>();
    for (int64_t i = 0; i < cols; ++i)
        for (int64_t j = 0; j < rows; ++j) bad += t[i * rows + j] != 2.0f * vx[j * cols + i];
    CHECK(bad == 0);

    // A 0-d operand broadcast over the whole tensor (one long row cut into chunks).
    const Tensor c = scalar(0.25, DType::f32);
    const auto sc = (x * c).to_vector<float>(), mc = maximum(c, x).to_vector<float>();
    const auto wc = where(gt(x, 0.0), x, c).to_vector<float>();
    for (int64_t i = 0; i < rows * cols; ++i) {
        bad += sc[i] != vx[i] * 0.25f;
        bad += mc[i] != std::max(0.25f, vx[i]);
        bad += wc[i] != (vx[i] > 0 ? vx[i] : 0.25f);
    }
    CHECK(bad == 0);

    // Two long rows with stride 2 (each row is cut into chunks that start mid-row).
    const Tensor wide = x.reshape({2, rows * cols / 2});
    const auto h = (wide.slice(1, 1, rows * cols / 2, 2) * 3.0).to_vector<float>();
    const int64_t half = rows * cols / 4;
    REQUIRE((int64_t)h.size() == 2 * half);
    for (int64_t rr = 0; rr < 2; ++rr)
        for (int64_t k = 0; k < half; ++k)
            bad += h[rr * half + k] != 3.0f * vx[rr * 2 * half + 1 + 2 * k];
    CHECK(bad == 0);

    // Gradients: d/dx sum(x ⊙ y) = y, and the broadcast row's gradient is a column sum.
    Tensor xg = x.detach().requires_grad_();
    Tensor rg = r.detach().requires_grad_();
    auto g = grads_of_sum(xg * y + rg, {xg, rg});
    const auto gx = g[0].to_vector<float>(), gr = g[1].to_vector<float>();
    for (int64_t i = 0; i < rows * cols; ++i) bad += gx[i] != vy[i];
    for (int64_t j = 0; j < cols; ++j) bad += gr[j] != float(rows);
    CHECK(bad == 0);
}
