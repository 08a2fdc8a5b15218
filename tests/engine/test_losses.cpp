// Losses (engine/ops/losses.cpp): bce_with_logits, cross_entropy (int32 labels, label
// smoothing), mse_loss and l1_loss. Values are computed by hand from their textbook formulas;
// gradients, second derivatives and float32 agreement go through check_op.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

void expect_finite(const Tensor& t) {
    auto v = t.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) CHECK_MESSAGE(std::isfinite(v[i]), "element ", i);
}

double total(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s;
}

// −[t·log σ(x) + (1 − t)·log(1 − σ(x))], straight from the definition (fine for small |x|).
double bce_ref(double x, double t) {
    const double p = 1.0 / (1.0 + std::exp(-x));
    return -(t * std::log(p) + (1 - t) * std::log(1 - p));
}

// Per-row cross-entropy against q = (1 − ε)·onehot(y) + ε/C, from the definition −Σ q log p.
std::vector<double> ce_ref(const std::vector<double>& logits, int64_t n, int64_t c,
                           const std::vector<int32_t>& labels, double eps) {
    std::vector<double> out;
    for (int64_t i = 0; i < n; ++i) {
        double z = 0;
        for (int64_t j = 0; j < c; ++j) z += std::exp(logits[i * c + j]);
        double l = 0;
        for (int64_t j = 0; j < c; ++j) {
            const double q = (j == labels[i] ? 1 - eps : 0.0) + eps / (double)c;
            l -= q * std::log(std::exp(logits[i * c + j]) / z);
        }
        out.push_back(l);
    }
    return out;
}

const char* reduction_name(Reduction r) {
    return r == Reduction::mean ? "mean" : r == Reduction::sum ? "sum" : "none";
}

}  // namespace

// ---- bce_with_logits ----

TEST_CASE("losses: bce_with_logits values with mean, sum and none") {
    const std::vector<double> x = {0, 2, -1, 3, -0.5, 1.5}, t = {1, 0, 0.5, 1, 0, 0.25};
    std::vector<double> want;
    for (size_t i = 0; i < x.size(); ++i) want.push_back(bce_ref(x[i], t[i]));
    Tensor lx = f64(x, {2, 3}), lt = f64(t, {2, 3});
    expect_tensor(bce_with_logits(lx, lt, Reduction::none), {2, 3}, want);
    expect_tensor(bce_with_logits(lx, lt, Reduction::sum), {}, {total(want)});
    expect_tensor(bce_with_logits(lx, lt), {}, {total(want) / 6});
    // A familiar number: logit 0 against either target is log 2.
    expect_tensor(bce_with_logits(f64({0, 0}, {2}), f64({0, 1}, {2}), Reduction::none), {2},
                  {std::log(2.0), std::log(2.0)});
    // float32.
    expect_tensor(bce_with_logits(lx.to(DType::f32), lt.to(DType::f32), Reduction::none), {2, 3},
                  want, 1e-6);
}

TEST_CASE("losses: bce_with_logits is stable for logits of +-100 and +-1000") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        for (double big : {100.0, 1000.0}) {
            CAPTURE(big);
            Tensor x = f64({big, -big, big, -big}, {4}).to(dt).requires_grad_();
            Tensor t = f64({1, 0, 0, 1}, {4}).to(dt);
            // Confident and right: ~0; confident and wrong: ~|x|.
            Tensor l = bce_with_logits(x, t, Reduction::none);
            expect_tensor(l, {4}, {0, 0, big, big}, 1e-7);
            // ∂/∂x = σ(x) − t, divided by n for the mean.
            auto g = grad({bce_with_logits(x, t)}, {x}, {}, true);
            expect_tensor(g[0], {4}, {0, 0, 0.25, -0.25}, 1e-7);
            // The second derivative σ(x)(1 − σ(x)) / n underflows to 0, never NaN.
            auto gg = grad({sum(g[0])}, {x});
            expect_finite(gg[0]);
            expect_tensor(gg[0], {4}, {0, 0, 0, 0}, 1e-7);
        }
    }
}

TEST_CASE("losses: bce_with_logits gradients and second derivatives") {
    Tensor x = test_input({3, 4}, 1, -3, 3), t = test_input({3, 4}, 2, 0, 1);
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
        CAPTURE(reduction_name(r));
        check_op("bce_with_logits",
                 [r](const std::vector<Tensor>& a) { return bce_with_logits(a[0], a[1], r); },
                 {x, t});
    }
}

TEST_CASE("losses: bce_with_logits gradient is (sigmoid(x) - t) / n") {
    Tensor x = f64({0.5, -1, 2}, {3}).requires_grad_();
    Tensor t = f64({1, 0, 0.3}, {3});
    bce_with_logits(x, t).backward();
    std::vector<double> want;
    const std::vector<double> xv = {0.5, -1, 2}, tv = {1, 0, 0.3};
    for (int i = 0; i < 3; ++i) want.push_back((1 / (1 + std::exp(-xv[i])) - tv[i]) / 3);
    expect_tensor(x.grad(), {3}, want);
}

// ---- cross_entropy ----

TEST_CASE("losses: cross_entropy names a label outside 0..C-1, not a gather index") {
    const Tensor logits = zeros({2, 3});
    for (int32_t bad : {3, -1}) {
        const Tensor labels = from_vector(std::vector<int32_t>{0, bad}, {2});
        const std::string e = error_of([&] { cross_entropy(logits, labels); });
        CHECK(e.find("labels must be class indices in [0, 3), got " + std::to_string(bad)) !=
              std::string::npos);
    }
}

TEST_CASE("losses: cross_entropy of uniform logits is log C") {
    const Tensor labels = i32({0, 4, 2}, {3});
    for (double eps : {0.0, 0.1, 1.0}) {
        CAPTURE(eps);
        expect_tensor(cross_entropy(zeros({3, 5}, DType::f64), labels, eps), {}, {std::log(5.0)});
        // Any constant logit gives the same: softmax is shift invariant.
        expect_tensor(cross_entropy(full({3, 5}, 7.5, DType::f64), labels, eps, Reduction::none),
                      {3}, {std::log(5.0), std::log(5.0), std::log(5.0)});
        expect_tensor(cross_entropy(full({3, 5}, -2.0, DType::f32), labels, eps), {},
                      {std::log(5.0)}, 1e-6);
    }
}

TEST_CASE("losses: cross_entropy values by hand, with and without label smoothing") {
    const std::vector<double> lv = {1, 2, 3, 1, 0, -1, 0.5, 0.5, -2};
    const std::vector<int32_t> y = {0, 1, 2};
    Tensor logits = f64(lv, {3, 3}), labels = i32(y, {3});
    // Row 0 by hand: −log(e¹ / (e¹ + e² + e³)).
    const double r0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 1.0;
    auto plain = ce_ref(lv, 3, 3, y, 0.0);
    CHECK(std::abs(plain[0] - r0) < 1e-12);
    expect_tensor(cross_entropy(logits, labels, 0.0, Reduction::none), {3}, plain);
    expect_tensor(cross_entropy(logits, labels), {}, {total(plain) / 3});
    expect_tensor(cross_entropy(logits, labels, 0.0, Reduction::sum), {}, {total(plain)});
    for (double eps : {0.1, 0.25, 1.0}) {
        CAPTURE(eps);
        auto smooth = ce_ref(lv, 3, 3, y, eps);
        expect_tensor(cross_entropy(logits, labels, eps, Reduction::none), {3}, smooth);
        expect_tensor(cross_entropy(logits, labels, eps), {}, {total(smooth) / 3});
        expect_tensor(cross_entropy(logits, labels, eps, Reduction::sum), {}, {total(smooth)});
        expect_tensor(cross_entropy(logits.to(DType::f32), labels, eps, Reduction::none), {3},
                      smooth, 1e-6);
    }
    // Labels given as a strided view are read in logical order.
    Tensor strided = i32({0, 9, 1, 9, 2, 9}, {6}).slice(0, 0, 6, 2);
    expect_tensor(cross_entropy(logits, strided, 0.0, Reduction::none), {3}, plain);
    // Row 0 with ε = 0.1 by hand: 0.9·(lse − x₀) + 0.1·(lse − mean x).
    const double lse = r0 + 1.0;
    CHECK(std::abs(ce_ref(lv, 3, 3, y, 0.1)[0] - (0.9 * (lse - 1) + 0.1 * (lse - 2))) < 1e-12);
}

TEST_CASE("losses: cross_entropy gradient is (softmax - smoothed one-hot) / N") {
    const std::vector<double> lv = {1, 2, 3, 1, 0, -1};
    for (double eps : {0.0, 0.2}) {
        CAPTURE(eps);
        Tensor logits = f64(lv, {2, 3}).requires_grad_();
        cross_entropy(logits, i32({2, 0}, {2}), eps).backward();
        std::vector<double> want;
        const int y[2] = {2, 0};
        for (int i = 0; i < 2; ++i) {
            double z = 0;
            for (int j = 0; j < 3; ++j) z += std::exp(lv[i * 3 + j]);
            for (int j = 0; j < 3; ++j) {
                const double q = (j == y[i] ? 1 - eps : 0.0) + eps / 3;
                want.push_back((std::exp(lv[i * 3 + j]) / z - q) / 2);
            }
        }
        expect_tensor(logits.grad(), {2, 3}, want);
    }
}

TEST_CASE("losses: cross_entropy gradients and second derivatives") {
    Tensor logits = test_input({4, 5}, 11, -3, 3);
    Tensor labels = i32({3, 0, 4, 3}, {4});
    for (double eps : {0.0, 0.1}) {
        for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
            CAPTURE(eps);
            CAPTURE(reduction_name(r));
            check_op("cross_entropy",
                     [eps, r](const std::vector<Tensor>& a) {
                         return cross_entropy(a[0], a[1], eps, r);
                     },
                     {logits, labels});
        }
    }
}

TEST_CASE("losses: cross_entropy is stable for logits of +-1000") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(std::string(dtype_name(dt)));
        Tensor logits = f64({1000, 0, -1000, -1000, 1000, 1000}, {2, 3}).to(dt).requires_grad_();
        Tensor l = cross_entropy(logits, i32({0, 0}, {2}), 0.0, Reduction::none);
        // Right and confident: 0. Wrong by 2000 against a tie: 2000 + log 2.
        expect_tensor(l, {2}, {0, 2000 + std::log(2.0)}, 1e-7);
        auto g = grad({cross_entropy(logits, i32({0, 0}, {2}), 0.1)}, {logits}, {}, true);
        expect_finite(g[0]);
        auto gg = grad({sum(g[0] * g[0])}, {logits});
        expect_finite(gg[0]);
    }
}

TEST_CASE("losses: cross_entropy rejects bad labels and shapes") {
    Tensor logits = test_input({3, 4}, 21);
    // Out of range, both ends.
    CHECK_THROWS_AS(cross_entropy(logits, i32({0, 4, 1}, {3})), Error);
    CHECK_THROWS_AS(cross_entropy(logits, i32({0, -1, 1}, {3})), Error);
    CHECK_THROWS_AS(cross_entropy(logits, i32({0, 1, 100}, {3}), 0.1), Error);
    // Wrong dtype.
    CHECK_THROWS_WITH_AS(cross_entropy(logits, f64({0, 1, 2}, {3})), doctest::Contains("int32"),
                         Error);
    CHECK_THROWS_AS(cross_entropy(logits, f64({0, 1, 2}, {3}).to(DType::f32)), Error);
    // Wrong shape or length.
    CHECK_THROWS_AS(cross_entropy(logits, i32({0, 1, 2}, {3, 1})), Error);
    CHECK_THROWS_AS(cross_entropy(logits, i32({0, 1}, {2})), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(test_input({3}, 22), i32({0}, {1})),
                         doctest::Contains("[N, C]"), Error);
    CHECK_THROWS_AS(cross_entropy(test_input({2, 3, 4}, 23), i32({0, 1}, {2})), Error);
    // Label smoothing outside [0, 1].
    CHECK_THROWS_AS(cross_entropy(logits, i32({0, 1, 2}, {3}), -0.1), Error);
    CHECK_THROWS_AS(cross_entropy(logits, i32({0, 1, 2}, {3}), 1.5), Error);
}

// ---- mse_loss / l1_loss ----

TEST_CASE("losses: mse_loss values and gradient") {
    Tensor x = f64({1, 2, 3, 4}, {2, 2}), t = f64({0, 2, 5, 1}, {2, 2});
    expect_tensor(mse_loss(x, t, Reduction::none), {2, 2}, {1, 0, 4, 9});
    expect_tensor(mse_loss(x, t, Reduction::sum), {}, {14});
    expect_tensor(mse_loss(x, t), {}, {3.5});
    expect_tensor(mse_loss(x.to(DType::f32), t.to(DType::f32)), {}, {3.5});
    Tensor xl = x.clone().requires_grad_();
    mse_loss(xl, t).backward();  // 2(x − t)/n
    expect_tensor(xl.grad(), {2, 2}, {0.5, 0, -1, 1.5});
}

TEST_CASE("losses: mse_loss gradients and second derivatives") {
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
        CAPTURE(reduction_name(r));
        check_op("mse_loss", [r](const std::vector<Tensor>& a) { return mse_loss(a[0], a[1], r); },
                 {test_input({3, 4}, 31), test_input({3, 4}, 32)});
    }
}

TEST_CASE("losses: l1_loss values and gradient") {
    Tensor x = f64({1, 2, 3, 4}, {2, 2}), t = f64({0, 2.5, 5, 1}, {2, 2});
    expect_tensor(l1_loss(x, t, Reduction::none), {2, 2}, {1, 0.5, 2, 3});
    expect_tensor(l1_loss(x, t, Reduction::sum), {}, {6.5});
    expect_tensor(l1_loss(x, t), {}, {6.5 / 4});
    expect_tensor(l1_loss(x.to(DType::f32), t.to(DType::f32)), {}, {6.5 / 4});
    Tensor xl = x.clone().requires_grad_();
    l1_loss(xl, t).backward();  // sign(x − t)/n
    expect_tensor(xl.grad(), {2, 2}, {0.25, -0.25, -0.25, 0.25});
    // At x = t the gradient is 0 (the subgradient PyTorch picks).
    Tensor xe = f64({1, 2}, {2}).requires_grad_();
    l1_loss(xe, f64({1, 3}, {2}), Reduction::sum).backward();
    expect_tensor(xe.grad(), {2}, {0, -1});
}

TEST_CASE("losses: l1_loss gradients and second derivatives") {
    // Keep x − t away from 0, where |·| has its kink.
    Tensor x = test_input({3, 4}, 41);
    Tensor t = x + away_from_zero(test_input({3, 4}, 42), 0.1);
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
        CAPTURE(reduction_name(r));
        check_op("l1_loss", [r](const std::vector<Tensor>& a) { return l1_loss(a[0], a[1], r); },
                 {x, t});
    }
}

TEST_CASE("losses: shape mismatches throw, naming both shapes") {
    Tensor a = test_input({2, 3}, 51), b = test_input({3, 2}, 52);
    CHECK_THROWS_WITH_AS(bce_with_logits(a, b), doctest::Contains("[3, 2]"), Error);
    CHECK_THROWS_WITH_AS(bce_with_logits(a, b), doctest::Contains("bce_with_logits"), Error);
    CHECK_THROWS_WITH_AS(mse_loss(a, b), doctest::Contains("[2, 3]"), Error);
    CHECK_THROWS_WITH_AS(l1_loss(a, b), doctest::Contains("l1_loss"), Error);
    // Broadcastable is still not the same shape: losses do not broadcast silently.
    Tensor row = test_input({3}, 53);
    CHECK_THROWS_AS(bce_with_logits(a, row), Error);
    CHECK_THROWS_AS(mse_loss(a, row), Error);
    CHECK_THROWS_AS(l1_loss(row, a), Error);
}
