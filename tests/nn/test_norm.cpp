// Normalization layers (nn/layers/norm.h): values by hand, running statistics, state dicts,
// train/eval, virtual batch norm's reference handling, errors; the math of each normalization is
// gradient- and second-derivative-checked in float64 through its free function.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/sequential.h"
#include "test_util.h"
#include "tests/engine/gradcheck.h"

using namespace zg;
using namespace zg::nn;
using zg::testing::check_op;
using zg::testing::contains;
using zg::testing::test_input;

namespace {

constexpr double kEps = 1e-5;

void expect_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-5) {
    auto got = t.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol).scale(1.0));
    }
}

std::vector<std::string> keys(const StateDict& sd) {
    std::vector<std::string> out;
    for (auto& [k, v] : sd) out.push_back(k);
    return out;
}

// Says "(no error)" rather than "" when f throws nothing, so failure messages show it.
std::string error_of(const std::function<void()>& f) {
    return zg::testing::error_of(f, "(no error)");
}

void set_values(Tensor& t, const std::vector<float>& v) {
    NoGradGuard ng;
    t.copy_(from_vector<float>(v, t.shape()));
}

// Plain-loop reference: normalizes x [N, C, S] (S = flattened spatial) over the given grouping.
// per_instance: statistics per (n, c) over S; otherwise per c over (N, S).
std::vector<double> loop_norm(const std::vector<double>& x, int64_t n, int64_t c, int64_t s,
                              bool per_instance, const std::vector<double>& w,
                              const std::vector<double>& b) {
    std::vector<double> y(x.size());
    auto at = [&](int64_t i, int64_t j, int64_t k) { return (i * c + j) * s + k; };
    for (int64_t j = 0; j < c; ++j) {
        for (int64_t i0 = 0; i0 < (per_instance ? n : 1); ++i0) {
            const int64_t i1 = per_instance ? i0 + 1 : n;
            double m = 0, v = 0, cnt = 0;
            for (int64_t i = i0; i < i1; ++i)
                for (int64_t k = 0; k < s; ++k) m += x[at(i, j, k)], ++cnt;
            m /= cnt;
            for (int64_t i = i0; i < i1; ++i)
                for (int64_t k = 0; k < s; ++k) v += (x[at(i, j, k)] - m) * (x[at(i, j, k)] - m);
            v /= cnt;
            for (int64_t i = i0; i < i1; ++i)
                for (int64_t k = 0; k < s; ++k)
                    y[at(i, j, k)] = (x[at(i, j, k)] - m) / std::sqrt(v + kEps) * w[j] + b[j];
        }
    }
    return y;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Values by hand
// ---------------------------------------------------------------------------------------------

TEST_CASE("norm: BatchNorm1d training output by hand, [N, C] and [N, C, L]") {
    BatchNorm1d bn(2);
    set_values(bn.parameter("weight"), {2.f, -1.f});
    set_values(bn.parameter("bias"), {0.5f, 1.f});
    // channel 0: 1, 3, 5, 7 (mean 4, biased var 5); channel 1: 2, 4, 6, 8 (mean 5, var 5).
    Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
    const double s = 1.0 / std::sqrt(5.0 + kEps);
    expect_values(bn(x), {-3 * s * 2 + 0.5, -3 * s * -1 + 1, -1 * s * 2 + 0.5, -1 * s * -1 + 1,
                          1 * s * 2 + 0.5, 1 * s * -1 + 1, 3 * s * 2 + 0.5, 3 * s * -1 + 1});

    // [N, C, L]: statistics over N and L per channel.
    BatchNorm1d bn3(2);
    Rng g(3);
    Tensor x3 = randn({3, 2, 4}, &g);
    expect_values(bn3(x3), loop_norm(x3.to_vector<double>(), 3, 2, 4, false, {1, 1}, {0, 0}), 1e-4);
}

TEST_CASE("norm: BatchNorm2d training output matches a loop reference") {
    BatchNorm2d bn(3);
    set_values(bn.parameter("weight"), {1.5f, 0.5f, -2.f});
    set_values(bn.parameter("bias"), {0.f, 1.f, -0.25f});
    Rng g(7);
    Tensor x = randn({2, 3, 2, 3}, &g);
    Tensor y = bn(x);
    CHECK(y.shape() == Shape{2, 3, 2, 3});
    expect_values(
        y, loop_norm(x.to_vector<double>(), 2, 3, 6, false, {1.5, 0.5, -2}, {0, 1, -0.25}), 1e-4);
}

TEST_CASE("norm: InstanceNorm2d per-sample per-channel statistics, unbatched input") {
    InstanceNorm2d in(2);
    CHECK(in.state_dict().empty());  // affine=False, track_running_stats=False by default
    Rng g(11);
    Tensor x = randn({3, 2, 2, 2}, &g);
    Tensor y = in(x);
    expect_values(y, loop_norm(x.to_vector<double>(), 3, 2, 4, true, {1, 1}, {0, 0}), 1e-4);
    // An unbatched [C, H, W] gives the same as a batch of one.
    Tensor x0 = x.select(0, 1);
    Tensor y0 = in(x0);
    CHECK(y0.shape() == Shape{2, 2, 2});
    expect_values(y0, y.select(0, 1).to_vector<double>(), 1e-6);

    // By hand: one channel with values 1, 3 → mean 2, var 1 → (−1, 1)/√(1 + eps).
    InstanceNorm2d one(1, kEps, 0.1, true);
    set_values(one.parameter("weight"), {3.f});
    set_values(one.parameter("bias"), {1.f});
    const double s = 1.0 / std::sqrt(1.0 + kEps);
    expect_values(one(from_vector<float>({1, 3}, {1, 1, 1, 2})), {1 - 3 * s, 1 + 3 * s});
}

TEST_CASE("norm: LayerNorm values by hand, one and two normalized dims") {
    LayerNorm ln(3);
    set_values(ln.parameter("weight"), {1.f, 2.f, 3.f});
    set_values(ln.parameter("bias"), {0.f, 0.f, 1.f});
    // Row 1, 2, 3: mean 2, biased var 2/3. Row 0, 0, 6: mean 2, var 8.
    Tensor x = from_vector<float>({1, 2, 3, 0, 0, 6}, {2, 3});
    const double a = 1.0 / std::sqrt(2.0 / 3 + kEps), b = 1.0 / std::sqrt(8.0 + kEps);
    expect_values(ln(x), {-a * 1, 0, a * 3 + 1, -2 * b * 1, -2 * b * 2, 4 * b * 3 + 1});

    // normalized_shape {2, 2}: statistics over the last two dims of [2, 3, 2, 2].
    LayerNorm ln2(Shape{2, 2}, kEps, false);
    CHECK(ln2.state_dict().empty());
    Rng g(5);
    Tensor x4 = randn({2, 3, 2, 2}, &g);
    // Viewed as [N=6, C=1, S=4] with per-instance statistics this is the same normalization.
    expect_values(ln2(x4), loop_norm(x4.to_vector<double>(), 6, 1, 4, true, {1}, {0}), 1e-4);
}

TEST_CASE("norm: PixelNorm values by hand") {
    PixelNorm pn;
    CHECK(pn.state_dict().empty());
    // Pixel (0,0): features 3, 4 → mean square 12.5; pixel (0,1): 1, 1 → 1.
    Tensor x = from_vector<float>({3, 1, 4, 1}, {1, 2, 1, 2});
    const double a = 1.0 / std::sqrt(12.5 + 1e-8), b = 1.0 / std::sqrt(1.0 + 1e-8);
    expect_values(pn(x), {3 * a, 1 * b, 4 * a, 1 * b});
    // [N, C] works too: each row scaled to unit RMS.
    expect_values(pn(from_vector<float>({0, 2}, {1, 2})), {0, std::sqrt(2.0)});
}

// ---------------------------------------------------------------------------------------------
// Gradients and second derivatives of the math, in float64
// ---------------------------------------------------------------------------------------------

TEST_CASE("norm: batch_norm gradients and second derivatives (training, batch statistics)") {
    auto f = [](const std::vector<Tensor>& a) {
        return batch_norm(a[0], Tensor(), Tensor(), a[1], a[2], true, 0.1, kEps);
    };
    check_op("batch_norm [N, C]", f,
             {test_input({5, 3}, 1), test_input({3}, 2), test_input({3}, 3)});
    check_op("batch_norm [N, C, H, W]", f,
             {test_input({2, 2, 2, 3}, 4), test_input({2}, 5), test_input({2}, 6)});
    // No affine parameters.
    check_op("batch_norm no affine",
             [](const std::vector<Tensor>& a) {
                 return batch_norm(a[0], Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, kEps);
             },
             {test_input({4, 2, 3}, 7)});
}

TEST_CASE("norm: batch_norm gradients in eval mode (running statistics)") {
    Tensor rm = test_input({3}, 8), rv = test_input({3}, 9, 0.5, 2.0);
    check_op("batch_norm eval",
             [rm, rv](const std::vector<Tensor>& a) {
                 return batch_norm(a[0], rm, rv, a[1], a[2], false, 0.1, kEps);
             },
             {test_input({2, 3, 2, 2}, 10), test_input({3}, 11), test_input({3}, 12)});
}

TEST_CASE("norm: instance_norm, layer_norm and pixel_norm gradients and second derivatives") {
    check_op("instance_norm",
             [](const std::vector<Tensor>& a) {
                 return instance_norm(a[0], Tensor(), Tensor(), a[1], a[2], true, 0.1, kEps);
             },
             {test_input({2, 2, 2, 3}, 13), test_input({2}, 14), test_input({2}, 15)});
    check_op("layer_norm [N, D]",
             [](const std::vector<Tensor>& a) { return layer_norm(a[0], {4}, a[1], a[2], kEps); },
             {test_input({3, 4}, 16), test_input({4}, 17), test_input({4}, 18)});
    check_op("layer_norm [N, C, H, W] over (H, W)",
             [](const std::vector<Tensor>& a) {
                 return layer_norm(a[0], {2, 3}, a[1], a[2], kEps);
             },
             {test_input({2, 2, 2, 3}, 19), test_input({2, 3}, 20), test_input({2, 3}, 21)});
    check_op("pixel_norm", [](const std::vector<Tensor>& a) { return pixel_norm(a[0], 1e-8); },
             {test_input({2, 3, 2, 2}, 22)});
}

TEST_CASE("norm: virtual_batch_norm gradients flow into x, the reference batch and γ, β") {
    auto f = [](const std::vector<Tensor>& a) {
        return virtual_batch_norm(a[0], vbn_reference_stats(a[1]), a[2], a[3], kEps);
    };
    check_op(
        "virtual_batch_norm [N, C]", f,
        {test_input({3, 2}, 23), test_input({4, 2}, 24), test_input({2}, 25), test_input({2}, 26)});
    check_op("virtual_batch_norm [N, C, H, W]", f,
             {test_input({2, 2, 2, 2}, 27), test_input({3, 2, 2, 2}, 28), test_input({2}, 29),
              test_input({2}, 30)});
    check_op("virtual_batch_norm_reference",
             [](const std::vector<Tensor>& a) {
                 return virtual_batch_norm_reference(a[0], vbn_reference_stats(a[0]), a[1], a[2],
                                                     kEps);
             },
             {test_input({3, 2, 2, 2}, 31), test_input({2}, 32), test_input({2}, 33)});
}

TEST_CASE("norm: a gradient penalty differentiates through BatchNorm2d and LayerNorm modules") {
    // WGAN-GP's pattern: ‖∂D/∂x‖² backpropagated into D's parameters (create_graph).
    Rng g(41);
    BatchNorm2d bn(2);
    LayerNorm ln(Shape{2, 2, 2});
    set_values(bn.parameter("weight"), {1.3f, 0.7f});
    Tensor x = randn({3, 2, 2, 2}, &g).requires_grad_();
    Tensor v = randn({3, 2, 2, 2}, &g);
    Tensor d = sum(tanh(ln(bn(x))) * v);
    Tensor gx = grad({d}, {x}, {}, true)[0];
    Tensor penalty = sum(gx * gx);
    penalty.backward();
    for (Tensor p : {bn.parameter("weight"), ln.parameter("weight"), ln.parameter("bias")}) {
        REQUIRE(p.grad().defined());
        double norm = 0;
        for (double e : p.grad().to_vector<double>()) {
            CHECK(std::isfinite(e));
            norm += e * e;
        }
        CHECK(norm > 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Running statistics, train/eval
// ---------------------------------------------------------------------------------------------

TEST_CASE("norm: BatchNorm1d running statistics after two steps and eval output") {
    BatchNorm1d bn(2);
    // Step 1: means 4, 5; unbiased variances 20/3, 20/3.
    bn(from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2}));
    expect_values(bn.running_mean(), {0.4, 0.5});
    expect_values(bn.running_var(), {0.9 + 0.1 * 20.0 / 3, 0.9 + 0.1 * 20.0 / 3});
    // Step 2: values (0, 2) and (−1, 1): means 1, 0; unbiased variances 2, 2.
    bn(from_vector<float>({0, -1, 2, 1}, {2, 2}));
    expect_values(bn.running_mean(), {0.46, 0.45});
    expect_values(bn.running_var(), {1.61, 1.61});
    CHECK(bn.num_batches_tracked() == 2);

    bn.eval();
    Tensor y = bn(from_vector<float>({1, 1}, {1, 2}));  // one sample is fine in eval mode
    expect_values(y, {(1 - 0.46) / std::sqrt(1.61 + kEps), (1 - 0.45) / std::sqrt(1.61 + kEps)});
    CHECK(bn.num_batches_tracked() == 2);  // eval mode leaves the statistics alone
    expect_values(bn.running_mean(), {0.46, 0.45});
}

TEST_CASE("norm: momentum=None is a cumulative average, other momenta weigh the new batch") {
    BatchNorm1d cum(2, kEps, std::nullopt);
    CHECK(cum.extra_repr() == "2, eps=1e-05, momentum=None, affine=True, track_running_stats=True");
    cum(from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2}));
    expect_values(cum.running_mean(), {4, 5});
    cum(from_vector<float>({0, -1, 2, 1}, {2, 2}));
    expect_values(cum.running_mean(), {2.5, 2.5});
    expect_values(cum.running_var(), {(20.0 / 3 + 2) / 2, (20.0 / 3 + 2) / 2});

    BatchNorm1d fast(2, kEps, 0.5);
    fast(from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2}));
    expect_values(fast.running_mean(), {2, 2.5});
}

TEST_CASE("norm: BatchNorm2d running statistics use the unbiased variance over N·H·W") {
    BatchNorm2d bn(1, kEps, 0.1, false);
    // 2 samples × 2 pixels: 1, 3, 5, 7 → mean 4, unbiased var 20/3.
    Tensor y = bn(from_vector<float>({1, 3, 5, 7}, {2, 1, 1, 2}));
    const double s = 1.0 / std::sqrt(5.0 + kEps);  // the output uses the biased one
    expect_values(y, {-3 * s, -1 * s, 1 * s, 3 * s});
    expect_values(bn.running_mean(), {0.4});
    expect_values(bn.running_var(), {0.9 + 0.1 * 20.0 / 3});
}

TEST_CASE("norm: InstanceNorm2d with running statistics averages them over the samples") {
    InstanceNorm2d in(1, kEps, 0.1, false, true);
    // Sample 0: 1, 3 (mean 2, unbiased var 2); sample 1: 2, 6 (mean 4, unbiased var 8).
    Tensor x = from_vector<float>({1, 3, 2, 6}, {2, 1, 1, 2});
    in(x);
    expect_values(in.running_mean(), {0.3});
    expect_values(in.running_var(), {0.9 + 0.1 * 5});
    CHECK(in.num_batches_tracked() == 0);  // PyTorch's InstanceNorm never counts
    in.eval();
    expect_values(in(x), {(1 - 0.3) / std::sqrt(1.4 + kEps), (3 - 0.3) / std::sqrt(1.4 + kEps),
                          (2 - 0.3) / std::sqrt(1.4 + kEps), (6 - 0.3) / std::sqrt(1.4 + kEps)});
}

TEST_CASE("norm: train/eval switch changes BatchNorm's behaviour, eval is deterministic") {
    Rng g(17);
    BatchNorm2d bn(3);
    Tensor x = randn({4, 3, 2, 2}, &g, DType::f32) * 3.0 + 2.0;
    Tensor train_out = bn(x);
    const auto rm = bn.running_mean().to_vector<float>();
    bn.eval();
    CHECK_FALSE(bn.is_training());
    Tensor eval1 = bn(x), eval2 = bn(x);
    CHECK(eval1.to_vector<float>() == eval2.to_vector<float>());
    CHECK(eval1.to_vector<float>() != train_out.to_vector<float>());
    CHECK(bn.running_mean().to_vector<float>() == rm);
    bn.train();
    expect_values(bn(x), train_out.to_vector<double>(), 1e-6);  // batch stats again
    CHECK(bn.num_batches_tracked() == 2);

    // Without running stats, eval mode still normalizes with the batch's statistics.
    BatchNorm2d nostats(3, kEps, 0.1, true, false);
    Tensor a = nostats(x);
    nostats.eval();
    expect_values(nostats(x), a.to_vector<double>(), 1e-6);
}

TEST_CASE("norm: running-stat updates are not recorded, backward through training BatchNorm") {
    Rng g(19);
    BatchNorm1d bn(3);
    Tensor x = randn({5, 3}, &g).requires_grad_();
    Tensor y = bn(x);
    CHECK_FALSE(bn.running_mean().requires_grad());
    CHECK(bn.running_mean().is_leaf());
    sum(y * y).backward();
    REQUIRE(x.grad().defined());
    REQUIRE(bn.parameter("weight").grad().defined());
    // d/dγ Σ y² = Σ 2·y·x̂ = 2·γ·Σ x̂² = 2·N per channel (γ = 1, β = 0, biased var).
    expect_values(bn.parameter("weight").grad(), {10, 10, 10}, 1e-3);
}

// ---------------------------------------------------------------------------------------------
// State dicts
// ---------------------------------------------------------------------------------------------

TEST_CASE("norm: state_dict keys are PyTorch's") {
    using Keys = std::vector<std::string>;
    const Keys full{"bias", "num_batches_tracked", "running_mean", "running_var", "weight"};
    CHECK(keys(BatchNorm1d(4).state_dict()) == full);
    CHECK(keys(BatchNorm2d(4).state_dict()) == full);
    CHECK(keys(BatchNorm2d(4, kEps, 0.1, false).state_dict()) ==
          Keys{"num_batches_tracked", "running_mean", "running_var"});
    CHECK(keys(BatchNorm2d(4, kEps, 0.1, true, false).state_dict()) == Keys{"bias", "weight"});
    CHECK(keys(InstanceNorm2d(4).state_dict()).empty());
    CHECK(keys(InstanceNorm2d(4, kEps, 0.1, true, true).state_dict()) == full);
    CHECK(keys(LayerNorm(8).state_dict()) == Keys{"bias", "weight"});
    CHECK(keys(PixelNorm().state_dict()).empty());
    CHECK(keys(VirtualBatchNorm(4).state_dict()) == Keys{"bias", "weight"});

    // Defaults, shapes, dtypes; parameters train, buffers do not.
    BatchNorm2d bn(4);
    auto sd = bn.state_dict();
    CHECK(sd.at("weight").to_vector<float>() == std::vector<float>(4, 1.f));
    CHECK(sd.at("bias").to_vector<float>() == std::vector<float>(4, 0.f));
    CHECK(sd.at("running_mean").to_vector<float>() == std::vector<float>(4, 0.f));
    CHECK(sd.at("running_var").to_vector<float>() == std::vector<float>(4, 1.f));
    CHECK(sd.at("num_batches_tracked").dtype() == DType::i32);
    CHECK(sd.at("num_batches_tracked").dim() == 0);
    CHECK(sd.at("weight").requires_grad());
    CHECK_FALSE(sd.at("running_var").requires_grad());
    CHECK(bn.parameters().size() == 2);
    CHECK(LayerNorm(Shape{2, 3}).state_dict().at("weight").shape() == Shape{2, 3});
}

TEST_CASE("norm: load_state_dict round trip restores running statistics and outputs") {
    Rng g(23);
    BatchNorm2d a(3), b(3);
    set_values(a.parameter("weight"), {0.5f, 2.f, -1.f});
    set_values(a.parameter("bias"), {0.1f, 0.2f, 0.3f});
    a(randn({4, 3, 2, 2}, &g));
    a(randn({4, 3, 2, 2}, &g) + 1.0);
    b.load_state_dict(a.state_dict());
    for (auto& [k, t] : a.state_dict())
        CHECK_MESSAGE(b.state_dict().at(k).to_vector<double>() == t.to_vector<double>(), k);
    CHECK(b.num_batches_tracked() == 2);
    a.eval();
    b.eval();
    Tensor x = randn({2, 3, 2, 2}, &g);
    CHECK(a(x).to_vector<float>() == b(x).to_vector<float>());

    // A PyTorch-named dict built by hand loads into the live tensors.
    LayerNorm ln(2);
    Tensor live = ln.parameter("weight");
    ln.load_state_dict({{"weight", tensor({3.f, 4.f})}, {"bias", tensor({1.f, 2.f})}});
    CHECK(live.to_vector<float>() == std::vector<float>{3.f, 4.f});
    CHECK(live.requires_grad());
    expect_values(ln(from_vector<float>({0, 2}, {1, 2})),
                  {-3 / std::sqrt(1 + kEps) + 1, 4 / std::sqrt(1 + kEps) + 2});

    // Missing buffers are reported by name.
    StateDict partial = BatchNorm1d(3).state_dict();
    partial.erase("running_var");
    CHECK(contains(error_of([&] { BatchNorm1d(3).load_state_dict(partial); }),
                   "missing keys: running_var"));
}

// ---------------------------------------------------------------------------------------------
// Virtual batch norm
// ---------------------------------------------------------------------------------------------

TEST_CASE("norm: VirtualBatchNorm needs a reference batch") {
    VirtualBatchNorm vbn(2);
    CHECK_FALSE(vbn.has_reference());
    const std::string m = error_of([&] { vbn(zeros({3, 2})); });
    CHECK(contains(m, "VirtualBatchNorm"));
    CHECK(contains(m, "set_reference"));
    vbn.set_reference(from_vector<float>({1, 0, 3, 1}, {2, 2}));
    CHECK(vbn.has_reference());
    CHECK(vbn(zeros({3, 2})).shape() == Shape{3, 2});
    vbn.clear_reference();
    CHECK(contains(error_of([&] { vbn(zeros({3, 2})); }), "no reference batch"));
}

TEST_CASE("norm: VirtualBatchNorm values by hand, [N, C]") {
    VirtualBatchNorm vbn(1);
    // Reference 1, 3: mean 2, mean of squares 5, N_ref = 2 → new_coeff 1/3.
    Tensor ref = from_vector<float>({1, 3}, {2, 1});
    vbn.set_reference(ref);
    // x = 3: μ = 3/3 + (2/3)·2 = 7/3, s² = 9/3 + (2/3)·5 = 19/3, var = 19/3 − 49/9 = 8/9,
    // y = (3 − 7/3)/√(8/9) = 1/√2.
    expect_values(vbn(from_vector<float>({3}, {1, 1})), {(2.0 / 3) / std::sqrt(8.0 / 9 + kEps)});
    // The reference batch itself, through forward: each example mixes into the statistics.
    // x = 1: μ = 1/3 + 4/3 = 5/3, s² = 1/3 + 10/3 = 11/3, var = 33/9 − 25/9 = 8/9.
    expect_values(vbn(ref), {(1 - 5.0 / 3) / std::sqrt(8.0 / 9 + kEps),
                             (3 - 7.0 / 3) / std::sqrt(8.0 / 9 + kEps)});
    // Through forward_reference: normalized by the reference statistics alone (var 1), i.e.
    // what batch norm in training mode gives.
    set_values(vbn.parameter("weight"), {2.f});
    set_values(vbn.parameter("bias"), {0.5f});
    const double s = 1.0 / std::sqrt(1.0 + kEps);
    expect_values(vbn.forward_reference(ref), {-2 * s + 0.5, 2 * s + 0.5});
    CHECK(vbn.reference_stats().count == 2);
}

TEST_CASE("norm: VirtualBatchNorm [N, C, H, W] against a loop, examples are independent") {
    Rng g(29);
    VirtualBatchNorm vbn(2);
    set_values(vbn.parameter("weight"), {1.5f, -0.5f});
    set_values(vbn.parameter("bias"), {0.25f, 1.f});
    Tensor ref = randn({3, 2, 2, 2}, &g), x = randn({2, 2, 2, 2}, &g) * 2.0 + 0.5;
    vbn.set_reference(ref);
    Tensor y = vbn(x);
    // Loop reference: OpenAI's VBN with reference statistics over (N_ref, H, W).
    auto r = ref.to_vector<double>(), xv = x.to_vector<double>();
    std::vector<double> want(xv.size());
    const double w[2] = {1.5, -0.5}, b[2] = {0.25, 1.0};
    for (int c = 0; c < 2; ++c) {
        double rm = 0, rsq = 0;
        for (int n = 0; n < 3; ++n)
            for (int k = 0; k < 4; ++k) {
                const double v = r[(n * 2 + c) * 4 + k];
                rm += v / 12, rsq += v * v / 12;
            }
        for (int n = 0; n < 2; ++n) {
            double m = 0, sq = 0;
            for (int k = 0; k < 4; ++k) {
                const double v = xv[(n * 2 + c) * 4 + k];
                m += v / 4, sq += v * v / 4;
            }
            const double mu = m / 4 + rm * 3 / 4, msq = sq / 4 + rsq * 3 / 4;
            for (int k = 0; k < 4; ++k) {
                const int i = (n * 2 + c) * 4 + k;
                want[i] = (xv[i] - mu) / std::sqrt(msq - mu * mu + kEps) * w[c] + b[c];
            }
        }
    }
    expect_values(y, want, 1e-4);
    // Unlike batch norm, an example's output does not depend on the rest of its batch.
    expect_values(vbn(x.slice(0, 1, 2)), y.slice(0, 1, 2).to_vector<double>(), 1e-6);
    // And the layer behaves the same in eval mode.
    vbn.eval();
    expect_values(vbn(x), y.to_vector<double>(), 1e-6);
}

TEST_CASE("norm: VirtualBatchNorm gradients reach a reference batch given with history") {
    Rng g(31);
    VirtualBatchNorm vbn(2);
    Tensor ref = randn({4, 2}, &g).requires_grad_();
    Tensor x = randn({3, 2}, &g);
    Tensor v = randn({3, 2}, &g);

    // set_reference detaches: nothing flows back to the reference batch.
    vbn.set_reference(ref);
    Tensor y = vbn(x);
    CHECK_FALSE(grad({sum(y * v)}, {ref}, {}, false, false, true)[0].defined());

    // forward_reference keeps the history.
    vbn.forward_reference(ref * 2.0);
    y = vbn(x);
    REQUIRE(y.requires_grad());
    Tensor gref = grad({sum(y * v)}, {ref})[0];
    double norm = 0;
    for (double e : gref.to_vector<double>()) norm += e * e;
    CHECK(norm > 0);
}

TEST_CASE("norm: vbn_reference_pass runs a network's reference batch through every VBN") {
    Rng g(37);
    auto lin = make<Linear>(3, 2, true, &g);
    auto vbn = make<VirtualBatchNorm>(2);
    Sequential net{lin, vbn};
    Tensor z_ref = randn({5, 3}, &g), z = randn({2, 3}, &g);

    Tensor ref_out = vbn_reference_pass(net, z_ref);
    // The reference pass normalizes the reference activations by their own statistics.
    Tensor h_ref = lin->forward(z_ref);
    expect_values(ref_out,
                  batch_norm(h_ref, Tensor(), Tensor(), vbn->parameter("weight"),
                             vbn->parameter("bias"), true, 0.1, kEps)
                      .to_vector<double>(),
                  1e-5);
    // Afterwards forward is the virtual batch norm with those statistics again.
    Tensor y = net(z);
    Tensor want = virtual_batch_norm(lin->forward(z), vbn_reference_stats(h_ref),
                                     vbn->parameter("weight"), vbn->parameter("bias"), kEps);
    expect_values(y, want.to_vector<double>(), 1e-6);

    // The gradient of the weights includes the path through the reference statistics: it
    // differs from the gradient with those statistics held constant.
    Tensor v = randn({2, 2}, &g);
    Tensor g_full = grad({sum(y * v)}, {lin->parameter("weight")})[0];
    VbnStats frozen = vbn_reference_stats(h_ref.detach());
    Tensor y_frozen = virtual_batch_norm(lin->forward(z), frozen, vbn->parameter("weight"),
                                         vbn->parameter("bias"), kEps);
    Tensor g_frozen = grad({sum(y_frozen * v)}, {lin->parameter("weight")})[0];
    double diff = 0;
    auto a = g_full.to_vector<double>(), b = g_frozen.to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) diff += std::abs(a[i] - b[i]);
    CHECK(diff > 1e-4);

    // The mode is switched back even when the pass fails.
    Sequential broken{make<VirtualBatchNorm>(3), make<Linear>(4, 1)};
    CHECK_THROWS_AS(vbn_reference_pass(broken, randn({2, 3}, &g)), Error);
    auto* inner = dynamic_cast<VirtualBatchNorm*>(broken[0].get());
    REQUIRE(inner);
    Tensor out = inner->forward(randn({1, 3}, &g));  // uses the stored statistics, does not
    CHECK(out.shape() == Shape{1, 3});               // replace them
    CHECK(inner->reference_stats().count == 2);
}

// ---------------------------------------------------------------------------------------------
// Printouts and errors
// ---------------------------------------------------------------------------------------------

TEST_CASE("norm: extra_repr as PyTorch prints it") {
    CHECK(BatchNorm2d(64).extra_repr() ==
          "64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True");
    CHECK(BatchNorm1d(10, 1e-3, 0.01, false).extra_repr() ==
          "10, eps=0.001, momentum=0.01, affine=False, track_running_stats=True");
    CHECK(BatchNorm2d(3, 0.8).extra_repr() ==
          "3, eps=0.8, momentum=0.1, affine=True, track_running_stats=True");
    CHECK(InstanceNorm2d(64).extra_repr() ==
          "64, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False");
    CHECK(LayerNorm(64).extra_repr() == "(64,), eps=1e-05, elementwise_affine=True");
    CHECK(LayerNorm(Shape{4, 8}, 1e-4, false).extra_repr() ==
          "(4, 8), eps=0.0001, elementwise_affine=False");
    CHECK(PixelNorm().extra_repr() == "eps=1e-08");
    CHECK(VirtualBatchNorm(16).extra_repr() == "16, eps=1e-05");
    CHECK(BatchNorm2d(8).to_string() ==
          "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
}

TEST_CASE("norm: wrong input shapes are errors naming the layer and both shapes") {
    auto check_msg = [](const std::function<void()>& f, std::vector<std::string> parts) {
        const std::string m = error_of(f);
        for (const std::string& p : parts) CHECK_MESSAGE(contains(m, p), m);
    };
    check_msg(
        [] {
            BatchNorm2d(3)(zeros({2, 4, 5, 5}));
        },
        {"BatchNorm2d", "[N, 3, H, W]", "[2, 4, 5, 5]"});
    check_msg([] { BatchNorm2d(3)(zeros({2, 3, 5})); }, {"BatchNorm2d", "[2, 3, 5]"});
    check_msg(
        [] {
            BatchNorm1d(3)(zeros({2, 3, 4, 4}));
        },
        {"BatchNorm1d", "[N, 3] or [N, 3, L]", "[2, 3, 4, 4]"});
    check_msg([] { BatchNorm1d(3)(zeros({3})); }, {"BatchNorm1d", "[3]"});
    check_msg(
        [] {
            InstanceNorm2d(2)(zeros({1, 3, 4, 4}));
        },
        {"InstanceNorm2d", "[N, 2, H, W]", "[1, 3, 4, 4]"});
    check_msg(
        [] {
            LayerNorm(Shape{2, 3})(zeros({4, 3, 2}));
        },
        {"LayerNorm", "[*, 2, 3]", "[4, 3, 2]"});
    check_msg([] { PixelNorm()(zeros({5})); }, {"pixel_norm", "[5]"});
    check_msg(
        [] {
            VirtualBatchNorm(2).set_reference(zeros({4, 3}));
        },
        {"VirtualBatchNorm", "[N, 2] or [N, 2, H, W]", "[4, 3]"});
    check_msg(
        [] {
            VirtualBatchNorm v(2);
            v.set_reference(zeros({4, 2}));
            v(zeros({4, 2, 3, 3}));
        },
        {"VirtualBatchNorm", "same rank"});

    // Training needs more than one value per channel, as in PyTorch.
    check_msg([] { BatchNorm1d(3)(zeros({1, 3})); }, {"more than 1 value per channel", "[1, 3]"});
    check_msg([] { InstanceNorm2d(3)(zeros({2, 3, 1, 1})); }, {"more than 1 spatial element"});
    // Parameters and input must share a dtype.
    check_msg(
        [] {
            BatchNorm1d(3)(zeros({4, 3}, DType::f64));
        },
        {"weight is float32", "input is float64"});
    // Bad constructor arguments.
    check_msg([] { BatchNorm2d(0); }, {"BatchNorm2d", "num_features"});
    check_msg([] { LayerNorm(Shape{}); }, {"LayerNorm", "normalized_shape"});
    check_msg(
        [] {
            batch_norm(zeros({2, 3}), zeros({2}), ones({2}), Tensor(), Tensor(), false);
        },
        {"batch_norm", "running_mean", "[3]", "[2]"});
    check_msg(
        [] {
            batch_norm(zeros({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false);
        },
        {"batch_norm", "running"});
}
