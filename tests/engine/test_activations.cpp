// Activation ops (engine/ops/activations.cpp): gradients, second derivatives and float32
// agreement by finite differences, exact forward values, numerical stability at large |x|,
// softmax/log_softmax normalization and stability, errors, strided views and large tensors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

using Inputs = std::vector<Tensor>;

// d/dx sum(y) for a leaf x.
Tensor grad_of_sum(const Tensor& y, const Tensor& x) {
    return grad({sum(y)}, {x})[0];
}

double sigmoid_ref(double v) {
    return 1.0 / (1.0 + std::exp(-v));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Gradient, second-derivative and float32 checks
// ---------------------------------------------------------------------------------------------

TEST_CASE("activations: NaN goes through relu, leaky_relu and tanh as NaN, as in PyTorch") {
    // relu(NaN) = 0 would hide a diverged network's NaN weights behind finite samples.
    const Tensor x = f64({std::nan(""), -1, 2}, {3});
    for (const Tensor& y : {relu(x), leaky_relu(x, 0.2), tanh(x), relu(x.to(DType::f32))})
        CHECK(std::isnan(y.to_vector<double>()[0]));
    CHECK(relu(x).to_vector<double>()[1] == 0.0);
    CHECK(relu(x).to_vector<double>()[2] == 2.0);
}

TEST_CASE("relu: gradients away from the kink (second derivative is zero)") {
    check_op("relu", [](const Inputs& x) { return relu(x[0]); },
             {away_from_zero(test_input({4, 5}, 1))});
    // Composite, so the second-derivative check sees a non-zero Hessian through relu's mask.
    check_op("relu(x) * x", [](const Inputs& x) { return relu(x[0]) * x[0]; },
             {away_from_zero(test_input({3, 4}, 2))});
}

TEST_CASE("leaky_relu: gradients with slope 0.2 and the default slope") {
    check_op("leaky_relu(0.2)", [](const Inputs& x) { return leaky_relu(x[0], 0.2); },
             {away_from_zero(test_input({4, 5}, 3))});
    check_op("leaky_relu default", [](const Inputs& x) { return leaky_relu(x[0]); },
             {away_from_zero(test_input({2, 3, 2}, 4))});
    check_op("leaky_relu(0.2)(x) * x", [](const Inputs& x) { return leaky_relu(x[0], 0.2) * x[0]; },
             {away_from_zero(test_input({3, 4}, 5))});
}

TEST_CASE("tanh: gradients") {
    check_op("tanh", [](const Inputs& x) { return tanh(x[0]); }, {test_input({4, 5}, 6, -3, 3)});
}

TEST_CASE("sigmoid: gradients") {
    check_op("sigmoid", [](const Inputs& x) { return sigmoid(x[0]); },
             {test_input({4, 5}, 7, -4, 4)});
    // Well into both tails, where the stable formula switches branches.
    check_op("sigmoid tails", [](const Inputs& x) { return sigmoid(x[0]); },
             {f64({-12, -6.5, -0.3, 0.4, 7.25, 11})});
}

TEST_CASE("softplus: gradients") {
    check_op("softplus", [](const Inputs& x) { return softplus(x[0]); },
             {test_input({4, 5}, 8, -4, 4)});
    check_op("softplus tails", [](const Inputs& x) { return softplus(x[0]); },
             {f64({-15, -7.5, -0.2, 0.1, 8, 14})});
}

TEST_CASE("elu: gradients for alpha 1 and 0.5, away from 0") {
    check_op("elu", [](const Inputs& x) { return elu(x[0]); },
             {away_from_zero(test_input({4, 5}, 9, -3, 3))});
    check_op("elu(0.5)", [](const Inputs& x) { return elu(x[0], 0.5); },
             {away_from_zero(test_input({3, 4}, 10, -3, 3))});
}

TEST_CASE("log_softmax: gradients along each dimension") {
    check_op("log_softmax dim 1", [](const Inputs& x) { return log_softmax(x[0], 1); },
             {test_input({3, 5}, 11, -3, 3)});
    check_op("log_softmax dim 0", [](const Inputs& x) { return log_softmax(x[0], 0); },
             {test_input({3, 5}, 12, -3, 3)});
    check_op("log_softmax dim -1 of 3-d", [](const Inputs& x) { return log_softmax(x[0], -1); },
             {test_input({2, 3, 4}, 13, -3, 3)});
    check_op("log_softmax dim 1 of 3-d", [](const Inputs& x) { return log_softmax(x[0], 1); },
             {test_input({2, 3, 4}, 14, -3, 3)});
    check_op("log_softmax 1-d", [](const Inputs& x) { return log_softmax(x[0], 0); },
             {test_input({6}, 15, -3, 3)});
}

TEST_CASE("softmax: gradients along each dimension") {
    check_op("softmax dim 1", [](const Inputs& x) { return softmax(x[0], 1); },
             {test_input({3, 5}, 16, -3, 3)});
    check_op("softmax dim 0", [](const Inputs& x) { return softmax(x[0], 0); },
             {test_input({3, 5}, 17, -3, 3)});
    check_op("softmax dim -1 of 3-d", [](const Inputs& x) { return softmax(x[0], -1); },
             {test_input({2, 3, 4}, 18, -3, 3)});
}

TEST_CASE("activations compose: gradients through a small network-like chain") {
    check_op("log_softmax(leaky_relu(tanh(x) * w) + softplus(x))",
             [](const Inputs& x) {
                 return log_softmax(leaky_relu(tanh(x[0]) * x[1], 0.2) + softplus(x[0]), 1);
             },
             {test_input({3, 4}, 19), test_input({4}, 20)});
}

// ---------------------------------------------------------------------------------------------
// Forward values
// ---------------------------------------------------------------------------------------------

TEST_CASE("relu, leaky_relu: forward values and gradients including x = 0") {
    Tensor x = f64({-2, -0.5, 0, 0.5, 3}).requires_grad_();
    check_values(relu(x), {0, 0, 0, 0.5, 3}, "relu");
    check_values(leaky_relu(x, 0.2), {-0.4, -0.1, 0, 0.5, 3}, "leaky_relu(0.2)");
    check_values(leaky_relu(x), {-0.02, -0.005, 0, 0.5, 3}, "leaky_relu(0.01)", 1e-18);
    // At 0 PyTorch gives relu' = 0 and leaky_relu' = slope.
    check_values(grad_of_sum(relu(x), x), {0, 0, 0, 1, 1}, "relu'");
    check_values(grad_of_sum(leaky_relu(x, 0.2), x), {0.2, 0.2, 0.2, 1, 1}, "leaky_relu'");
    check_values(relu(f32({-1, 2})), {0, 2}, "relu float32");
}

TEST_CASE("relu, leaky_relu: second derivative is exactly zero") {
    Tensor x = f64({-2, -0.5, 0.5, 3}).requires_grad_();
    for (int which = 0; which < 2; ++which) {
        CAPTURE(which);
        Tensor y = which == 0 ? relu(x) : leaky_relu(x, 0.2);
        Tensor g = grad({sum(y * y)}, {x}, {}, true)[0];
        Tensor h = grad({sum(g)}, {x})[0];
        // d/dx Σ 2·y·y' = 2·y'² (y'' = 0): 2 on the positive side, 2·slope² on the negative.
        const double n = which == 0 ? 0.0 : 2 * 0.2 * 0.2;
        check_values(h, {n, n, 2, 2}, "second derivative of sum(y²)", 1e-15);
    }
}

TEST_CASE("tanh, sigmoid, softplus, elu: forward values") {
    const std::vector<double> xs = {-3, -1, 0, 0.5, 2};
    const Tensor x = f64(xs);
    std::vector<double> th, sg, sp, el, el5;
    for (double v : xs) {
        th.push_back(std::tanh(v));
        sg.push_back(sigmoid_ref(v));
        sp.push_back(std::log1p(std::exp(v)));
        el.push_back(v > 0 ? v : std::exp(v) - 1);
        el5.push_back(v > 0 ? v : 0.5 * (std::exp(v) - 1));
    }
    check_values(tanh(x), th, "tanh", 1e-15);
    check_values(sigmoid(x), sg, "sigmoid", 1e-15);
    check_values(softplus(x), sp, "softplus", 1e-15);
    check_values(elu(x), el, "elu", 1e-15);
    check_values(elu(x, 0.5), el5, "elu(0.5)", 1e-15);
    // Landmarks.
    check_values(sigmoid(f64({0})), {0.5}, "sigmoid(0)");
    check_values(softplus(f64({0})), {std::log(2.0)}, "softplus(0)", 1e-16);
    check_values(tanh(f64({0})), {0}, "tanh(0)");
}

TEST_CASE("elu: gradient at and around 0 (alpha at 0, as PyTorch)") {
    Tensor x = f64({-1, 0, 2}).requires_grad_();
    check_values(grad_of_sum(elu(x, 0.5), x), {0.5 * std::exp(-1.0), 0.5, 1}, "elu'(0.5)", 1e-15);
}

// ---------------------------------------------------------------------------------------------
// Stability at large |x|
// ---------------------------------------------------------------------------------------------

TEST_CASE("softplus, sigmoid, tanh: finite and exact at x = ±50 (float64 and float32)") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        Tensor x = f64({-50, 50}).to(dt).detach().requires_grad_();
        auto sp = softplus(x).to_vector<double>();
        CHECK(sp[1] == 50.0);  // log(1 + e⁵⁰) = 50 to well below double precision
        CHECK(sp[0] > 0.0);
        CHECK(std::isfinite(sp[0]));
        CHECK(sp[0] == doctest::Approx(std::exp(-50.0)).epsilon(1e-6));
        auto sg = sigmoid(x).to_vector<double>();
        CHECK(sg[0] > 0.0);
        CHECK(std::isfinite(sg[0]));
        CHECK(sg[0] == doctest::Approx(std::exp(-50.0)).epsilon(1e-6));
        CHECK(sg[1] == 1.0);
        auto th = tanh(x).to_vector<double>();
        CHECK(th[0] == -1.0);
        CHECK(th[1] == 1.0);
        // Gradients stay finite: softplus' = σ, σ' = σ(1 − σ), tanh' = 1 − tanh².
        Tensor gsp = grad_of_sum(softplus(x), x), gsg = grad_of_sum(sigmoid(x), x);
        Tensor gth = grad_of_sum(tanh(x), x);
        CHECK(all_finite(gsp));
        CHECK(all_finite(gsg));
        CHECK(all_finite(gth));
        CHECK(gsp.to_vector<double>()[1] == 1.0);
        CHECK(gsp.to_vector<double>()[0] == doctest::Approx(std::exp(-50.0)).epsilon(1e-6));
        CHECK(gsg.to_vector<double>()[0] == doctest::Approx(std::exp(-50.0)).epsilon(1e-6));
        CHECK(gsg.to_vector<double>()[1] == 0.0);
    }
}

TEST_CASE("softplus, sigmoid, elu: no overflow at extreme inputs") {
    // e^1000 overflows double; the stable formulas never form it.
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        const Tensor x = f64({-1000, -100, 100, 1000}).to(dt);
        check_values(softplus(x), {0, std::exp(-100.0), 100, 1000}, "softplus", 1e-6);
        check_values(sigmoid(x), {0, std::exp(-100.0), 1, 1}, "sigmoid", 1e-6);
        check_values(elu(x), {-1, -1, 100, 1000}, "elu");
        CHECK(all_finite(tanh(x)));
    }
}

// ---------------------------------------------------------------------------------------------
// softmax and log_softmax
// ---------------------------------------------------------------------------------------------

TEST_CASE("softmax: rows sum to 1 along the chosen dimension") {
    const Tensor x = test_input({4, 6}, 31, -5, 5);
    for (int64_t dim : {0, 1, -1}) {
        CAPTURE(dim);
        Tensor p = softmax(x, dim);
        CHECK(shape_str(p.shape()) == "[4, 6]");
        const int64_t n = x.size(dim == 0 ? 1 : 0);
        check_values(sum(p, {dim}), std::vector<double>(n, 1.0), "sums", 1e-14);
        for (double v : p.to_vector<double>()) CHECK((v > 0 && v < 1));
    }
    // A 3-d tensor along its middle dimension.
    Tensor p3 = softmax(test_input({2, 3, 4}, 32, -5, 5), 1);
    check_values(sum(p3, {1}), std::vector<double>(8, 1.0), "3-d sums", 1e-14);
}

TEST_CASE("softmax, log_softmax: hand-computed values") {
    // softmax([0, ln 2, ln 5]) = [1, 2, 5] / 8
    const Tensor x = f64({0, std::log(2.0), std::log(5.0)}, {1, 3});
    check_values(softmax(x, 1), {0.125, 0.25, 0.625}, "softmax", 1e-15);
    check_values(log_softmax(x, 1), {std::log(0.125), std::log(0.25), std::log(0.625)},
                 "log_softmax", 1e-15);
    // A constant row is uniform.
    check_values(softmax(full({2, 4}, 3.0, DType::f64), 1), std::vector<double>(8, 0.25), "uniform",
                 1e-15);
    // Along dim 0: columns [0, ln 3] → [1/4, 3/4].
    const Tensor c = f64({0, 0, std::log(3.0), std::log(3.0)}, {2, 2});
    check_values(softmax(c, 0), {0.25, 0.25, 0.75, 0.75}, "softmax dim 0", 1e-15);
}

TEST_CASE("softmax, log_softmax: stable for logits around 1000 and shift invariant") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
        const Tensor base = test_input({3, 5}, 41, -2, 2).to(dt);
        const Tensor big = base + 1000.0;
        const Tensor neg = base - 1000.0;
        Tensor p = softmax(big, 1);
        CHECK(all_finite(p));
        CHECK(all_finite(softmax(neg, 1)));
        CHECK(all_finite(log_softmax(big, 1)));
        check_values(sum(p, {1}), {1, 1, 1}, "rows sum to 1", tol);
        // softmax(x + c) = softmax(x); in float32 x + 1000 itself rounds by up to 3e-5.
        const double shift_tol = dt == DType::f64 ? 1e-10 : 1e-4;
        check_values(p, softmax(base, 1).to_vector<double>(), "shift invariance", shift_tol);
        check_values(log_softmax(big, 1), log_softmax(base, 1).to_vector<double>(),
                     "log_softmax shift invariance", shift_tol);
        // log_softmax([1000, 1000]) = [−ln 2, −ln 2]
        check_values(log_softmax(full({1, 2}, 1000.0, dt), 1), {-std::log(2.0), -std::log(2.0)},
                     "log_softmax of equal huge logits", tol);
        // Gradients at huge logits are finite and equal those at the shifted-down logits.
        Tensor xb = big.detach().requires_grad_();
        Tensor xs = base.detach().requires_grad_();
        const Tensor w = test_input({3, 5}, 42).to(dt);
        Tensor gb = grad({sum(log_softmax(xb, 1) * w)}, {xb})[0];
        Tensor gs = grad({sum(log_softmax(xs, 1) * w)}, {xs})[0];
        CHECK(all_finite(gb));
        check_values(gb, gs.to_vector<double>(), "gradient shift invariance", shift_tol * 10);
    }
}

TEST_CASE("softmax, log_softmax: a -inf logit gets probability 0") {
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor x = f64({0, -inf, 0}, {1, 3});
    check_values(softmax(x, 1), {0.5, 0, 0.5}, "softmax with -inf", 1e-15);
    auto ls = log_softmax(x, 1).to_vector<double>();
    CHECK(ls[0] == doctest::Approx(-std::log(2.0)));
    CHECK(ls[1] == -inf);
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

TEST_CASE("errors: activations on int32 tensors throw zg::Error") {
    const Tensor i = from_vector(std::vector<int32_t>{-1, 0, 2}, {3});
    CHECK_THROWS_WITH_AS(tanh(i), doctest::Contains("tanh"), Error);
    CHECK_THROWS_WITH_AS(sigmoid(i), doctest::Contains("sigmoid"), Error);
    CHECK_THROWS_WITH_AS(softplus(i), doctest::Contains("softplus"), Error);
    CHECK_THROWS_WITH_AS(relu(i), doctest::Contains("int32"), Error);
    CHECK_THROWS_AS(leaky_relu(i, 0.2), Error);
    CHECK_THROWS_AS(elu(i), Error);
    CHECK_THROWS_WITH_AS(log_softmax(i.reshape({1, 3}), 1), doctest::Contains("log_softmax"),
                         Error);
    CHECK_THROWS_AS(softmax(i.reshape({1, 3}), 1), Error);
}

TEST_CASE("errors: softmax dimension out of range names the op and the dimension") {
    const Tensor x = zeros({2, 3});
    CHECK_THROWS_WITH_AS(log_softmax(x, 2), doctest::Contains("log_softmax"), Error);
    CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("-3"), Error);
    CHECK_THROWS_WITH_AS(softmax(x, 5), doctest::Contains("softmax"), Error);
}

// ---------------------------------------------------------------------------------------------
// Strided and large inputs
// ---------------------------------------------------------------------------------------------

TEST_CASE("strided: activations on transposed and expanded views") {
    const Tensor x = test_input({4, 3}, 51, -3, 3);
    const Tensor xt = x.t();
    REQUIRE_FALSE(xt.is_contiguous());
    const Tensor xc = xt.contiguous();
    check_values(relu(xt), relu(xc).to_vector<double>(), "relu(x.t())");
    check_values(leaky_relu(xt, 0.2), leaky_relu(xc, 0.2).to_vector<double>(), "leaky_relu");
    check_values(tanh(xt), tanh(xc).to_vector<double>(), "tanh(x.t())");
    check_values(sigmoid(xt), sigmoid(xc).to_vector<double>(), "sigmoid(x.t())");
    check_values(softplus(xt), softplus(xc).to_vector<double>(), "softplus(x.t())");
    check_values(elu(xt), elu(xc).to_vector<double>(), "elu(x.t())");
    // softmax over dim 1 of the transpose = softmax over dim 0 of the original, transposed.
    check_values(softmax(xt, 1), softmax(x, 0).t().contiguous().to_vector<double>(),
                 "softmax(x.t(), 1)", 1e-15);
    const Tensor col = f64({-1, 0.5, 2}, {3, 1});
    check_values(sigmoid(col.expand({3, 4})),
                 sigmoid(col.expand({3, 4}).contiguous()).to_vector<double>(), "sigmoid(expand)");
    // Gradients through the views.
    check_op("tanh(x.t())", [](const Inputs& v) { return tanh(v[0].t()); },
             {test_input({4, 3}, 52)});
    check_op("log_softmax(x.t(), 1)", [](const Inputs& v) { return log_softmax(v[0].t(), 1); },
             {test_input({4, 3}, 53)});
    check_op("softplus(expand) * y",
             [](const Inputs& v) {
                 return softplus(v[0].expand({3, 4})) * v[1];
             },
             {test_input({3, 1}, 54), test_input({3, 4}, 55)});
    check_op("leaky_relu(x[:, ::2])",
             [](const Inputs& v) { return leaky_relu(v[0].slice(1, 0, 6, 2), 0.2); },
             {away_from_zero(test_input({3, 6}, 56))});
}

TEST_CASE("large tensors: activations past the OpenMP threshold match element-by-element math") {
    const int64_t n = 1 << 17;
    Rng gen(3);
    const Tensor x = uniform({n}, -8, 8, &gen, DType::f32);
    const auto vx = x.to_vector<float>();
    const auto r = relu(x).to_vector<float>(), lr = leaky_relu(x, 0.2).to_vector<float>();
    const auto th = tanh(x).to_vector<float>(), sg = sigmoid(x).to_vector<float>();
    const auto sp = softplus(x).to_vector<float>();
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float v = vx[i];
        bad += r[i] != (v > 0 ? v : 0.0f);
        bad += lr[i] != (v > 0 ? v : 0.2f * v);
        bad += std::abs(th[i] - std::tanh(v)) > 1e-6f;
        bad += std::abs(sg[i] - (float)sigmoid_ref(v)) > 1e-6f;
        bad += std::abs(sp[i] - (float)std::log1p(std::exp((double)v))) > 2e-6f * (1 + std::abs(v));
    }
    CHECK(bad == 0);
    // A large softmax: 256 rows of 512, each summing to 1, and the gradient of relu is its mask.
    Tensor p = softmax(x.reshape({256, 512}), 1);
    check_values(sum(p, {1}), std::vector<double>(256, 1.0), "large softmax rows", 1e-5);
    Tensor xg = x.detach().requires_grad_();
    const auto gr = grad_of_sum(relu(xg), xg).to_vector<float>();
    for (int64_t i = 0; i < n; ++i) bad += gr[i] != (vx[i] > 0 ? 1.0f : 0.0f);
    CHECK(bad == 0);
}
