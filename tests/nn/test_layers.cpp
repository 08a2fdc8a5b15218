#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "engine/rng.h"
#include "nn/layers/sequential.h"
#include "nn/layers/small.h"
#include "test_util.h"
#include "tests/engine/gradcheck.h"

using namespace zg;
using namespace zg::nn;
using namespace zg::testing;
using zg::testing::check_op;

namespace {

std::vector<double> values(const Tensor& t) {
    return t.to(DType::f64).to_vector<double>();
}

void check_values(const Tensor& got, const std::vector<double>& want, double tol = 1e-6) {
    auto g = values(got);
    REQUIRE(g.size() == want.size());
    for (size_t i = 0; i < g.size(); ++i)
        CHECK_MESSAGE(g[i] == doctest::Approx(want[i]).epsilon(tol), "element ", i);
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / (double)v.size();
}

double std_of(const std::vector<double>& v) {
    const double m = mean_of(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / (double)v.size());
}

}  // namespace

TEST_CASE("Activations: ReLU, LeakyReLU, Tanh, Sigmoid values and repr") {
    Tensor x = f32({-2.f, -0.5f, 0.f, 1.5f}, {4});
    check_values(ReLU()(x), {0, 0, 0, 1.5});
    check_values(LeakyReLU()(x), {-0.02, -0.005, 0, 1.5});
    check_values(LeakyReLU(0.2)(x), {-0.4, -0.1, 0, 1.5});
    check_values(Tanh()(x), {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(1.5)});
    check_values(Sigmoid()(x),
                 {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5, 1 / (1 + std::exp(-1.5))});
    CHECK(LeakyReLU(0.2).to_string() == "LeakyReLU(negative_slope=0.2)");
    CHECK(ReLU().to_string() == "ReLU()");
    // Gradients flow (the ops are checked in the engine suite).
    Tensor xl = x.detach().clone().requires_grad_();
    sum(LeakyReLU(0.2)(xl)).backward();
    check_values(xl.grad(), {0.2, 0.2, 0.2, 1});
}

TEST_CASE("Flatten: merges start..end, keeps the batch dim by default") {
    Tensor x = randn({2, 3, 4, 5});
    CHECK(Flatten()(x).shape() == Shape{2, 60});
    CHECK(Flatten(1, 2)(x).shape() == Shape{2, 12, 5});
    CHECK(Flatten(0)(x).shape() == Shape{120});
    CHECK(values(Flatten()(x)) == values(x));
    std::string m = error_of([&] { Flatten(3, 1)(x); });
    CHECK(contains(m, "Flatten"));
    CHECK(contains(m, "[2, 3, 4, 5]"));
}

TEST_CASE("Reshape: keeps the batch dim, infers -1, is a view of contiguous input") {
    Tensor x = arange(2 * 48).view({2, 48});
    Tensor y = Reshape({3, 4, 4})(x);
    CHECK(y.shape() == Shape{2, 3, 4, 4});
    CHECK(y.storage_ptr() == x.storage_ptr());  // a view
    CHECK(values(y) == values(x));
    CHECK(Reshape({-1, 2, 2})(x).shape() == Shape{2, 12, 2, 2});
    CHECK(Reshape({3, 4, 4}).to_string() == "Reshape([3, 4, 4])");
    // Wrong element count: names the layer, the input and the target.
    std::string m = error_of([&] { Reshape({5, 4, 4})(x); });
    CHECK(contains(m, "Reshape([5, 4, 4])"));
    CHECK(contains(m, "[2, 48]"));
    CHECK(contains(m, "48 elements per sample"));
    CHECK(contains(error_of([&] { Reshape({-1, 5})(x); }), "Reshape"));
    CHECK(contains(error_of([] { Reshape({-1, -1}); }), "only one size can be -1"));
    CHECK(contains(error_of([] { Reshape({0, 3}); }), "invalid target shape"));
    // Non-contiguous input still works (a copy).
    Tensor xt = arange(48 * 2).view({48, 2}).t();
    CHECK(values(Reshape({6, 8})(xt)) == values(xt.contiguous()));
}

TEST_CASE("Upsample: nearest and bilinear values by hand") {
    Tensor x = f32({1, 2, 3, 4}, {1, 1, 2, 2});
    Tensor y = Upsample(2)(x);
    CHECK(y.shape() == Shape{1, 1, 4, 4});
    check_values(y, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    // align_corners=false: source x = (i + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped.
    Tensor r = f32({0, 1}, {1, 1, 1, 2});
    Tensor yb = Upsample(2, "bilinear")(r);
    CHECK(yb.shape() == Shape{1, 1, 2, 4});
    check_values(yb, {0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1});
    CHECK(Upsample(2, "bilinear").to_string() == "Upsample(scale_factor=2, mode='bilinear')");
    std::string m = error_of([] { Upsample(2)(zeros({3, 4})); });
    CHECK(contains(m, "Upsample"));
    CHECK(contains(m, "[N, C, H, W]"));
    CHECK(contains(m, "[3, 4]"));
    CHECK(contains(error_of([] { Upsample(2, "bicubic"); }), "unknown mode 'bicubic'"));
}

TEST_CASE("PixelShuffle: [N, C·r², H, W] → [N, C, H·r, W·r]") {
    Tensor x = arange(4).view({1, 4, 1, 1});
    Tensor y = PixelShuffle(2)(x);
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    check_values(y, {0, 1, 2, 3});
    CHECK(PixelShuffle(2)(randn({2, 8, 3, 5})).shape() == Shape{2, 2, 6, 10});
    std::string m = error_of([] { PixelShuffle(2)(zeros({1, 3, 2, 2})); });
    CHECK(contains(m, "PixelShuffle(2)"));
    CHECK(contains(m, "[1, 3, 2, 2]"));
    CHECK(contains(m, "multiple of upscale_factor² = 4"));
}

TEST_CASE("AvgPool2d: window means, stride defaults to the kernel, padding counted") {
    Tensor x = arange(16).view({1, 1, 4, 4});
    AvgPool2d pool(2);
    CHECK(pool.stride == 2);
    check_values(pool(x), {2.5, 4.5, 10.5, 12.5});
    check_values(AvgPool2d(3, 1)(x), {5, 6, 9, 10});
    // Padding 1 with k=2, stride 2 on a 2×2 input: each window holds one pixel and three zeros.
    check_values(AvgPool2d(2, 2, 1)(f32({4, 8, 12, 16}, {1, 1, 2, 2})), {1, 2, 3, 4});
    CHECK(pool.to_string() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
    std::string m = error_of([] { AvgPool2d(2)(zeros({4, 4})); });
    CHECK(contains(m, "AvgPool2d"));
    CHECK(contains(m, "[4, 4]"));
    CHECK(contains(error_of([] { AvgPool2d(4)(zeros({1, 1, 2, 2})); }), "smaller than the kernel"));
}

TEST_CASE("Dropout: active in training, identity in eval unless also_at_eval") {
    Rng gen(11);
    Dropout d(0.3, false, &gen);
    Tensor x = ones({20000});
    auto y = values(d(x));
    int zeros_n = 0;
    for (double v : y) {
        if (v == 0.0)
            ++zeros_n;
        else
            CHECK(v == doctest::Approx(1.0 / 0.7));
    }
    CHECK(zeros_n == doctest::Approx(6000).epsilon(0.05));
    d.eval();
    CHECK_FALSE(d.active());
    CHECK(d(x).same(x));
    // ganhacks 17 / pix2pix: dropout stays on at sampling time.
    Dropout g(0.5, true, &gen);
    g.eval();
    CHECK(g.active());
    int z = 0;
    for (double v : values(g(x))) z += v == 0.0;
    CHECK(z == doctest::Approx(10000).epsilon(0.05));
    CHECK(g.to_string() == "Dropout(p=0.5, also_at_eval=True)");
    CHECK(contains(error_of([] { Dropout(1.5); }), "Dropout"));
    CHECK(contains(error_of([] { Dropout(0.5)(zeros({3}, DType::i32)); }), "Dropout"));
}

TEST_CASE("Dropout: the same seed gives the same mask, gradient is the mask") {
    Rng a(42), b(42);
    Dropout da(0.5, false, &a), db(0.5, false, &b);
    Tensor x = randn({64});
    CHECK(values(da(x)) == values(db(x)));
    CHECK(values(da(x)) == values(db(x)));  // and stays in step
    Tensor xg = ones({64}).requires_grad_();
    Tensor y = da(xg);
    sum(y).backward();
    CHECK(values(xg.grad()) == values(y));  // x = 1: dy/dx equals y
}

TEST_CASE("GaussianNoise: N(0, σ²) in training, off in eval, σ settable, seeded") {
    Rng gen(3);
    GaussianNoise n(0.5, false, &gen);
    Tensor x = full({40000}, 2.0);
    std::vector<double> e = values(n(x) - 2.0);
    CHECK(std::abs(mean_of(e)) < 0.01);
    CHECK(std_of(e) == doctest::Approx(0.5).epsilon(0.02));
    // Decay at run time.
    n.set_std(0.1);
    CHECK(n.std() == 0.1);
    CHECK(std_of(values(n(x) - 2.0)) == doctest::Approx(0.1).epsilon(0.02));
    n.set_std(0.0);
    CHECK(n(x).same(x));
    n.set_std(0.5);
    n.eval();
    CHECK(n(x).same(x));
    // also_at_eval keeps it on.
    GaussianNoise always(0.5, true, &gen);
    always.eval();
    CHECK(std_of(values(always(x) - 2.0)) == doctest::Approx(0.5).epsilon(0.02));
    CHECK(contains(error_of([&] { n.set_std(-1); }), "GaussianNoise"));
    // Determinism and the gradient (identity: the noise is a constant).
    Rng a(9), b(9);
    GaussianNoise na(1.0, false, &a), nb(1.0, false, &b);
    Tensor xs = randn({5, 7});
    CHECK(values(na(xs)) == values(nb(xs)));
    Tensor xg = zeros({5, 7}).requires_grad_();
    sum(na(xg) * 3.0).backward();
    CHECK(values(xg.grad()) == std::vector<double>(35, 3.0));
    // float64 input gives float64 noise.
    CHECK(na(zeros({3}, DType::f64)).dtype() == DType::f64);
}

TEST_CASE("Embedding: N(0, 1) table, any index shape, out-of-range error") {
    Rng gen(1);
    Embedding emb(500, 20, &gen);
    CHECK(emb.weight().shape() == Shape{500, 20});
    auto w = values(emb.weight());
    CHECK(std::abs(mean_of(w)) < 0.05);
    CHECK(std_of(w) == doctest::Approx(1.0).epsilon(0.05));
    CHECK(emb.to_string() == "Embedding(500, 20)");

    Embedding small(4, 2);
    {
        NoGradGuard ng;
        small.parameter("weight").copy_(arange(8).view({4, 2}));
    }
    Tensor idx = from_vector<int32_t>({3, 0, 3, 1, 2, 2}, {2, 3});
    Tensor y = small(idx);
    CHECK(y.shape() == Shape{2, 3, 2});
    check_values(y, {6, 7, 0, 1, 6, 7, 2, 3, 4, 5, 4, 5});
    CHECK(small(from_vector<int32_t>({2}, {})).shape() == Shape{2});  // 0-d index → [dim]
    // Gradient: each row receives dy once per use.
    sum(y).backward();
    check_values(small.parameter("weight").grad(), {1, 1, 1, 1, 2, 2, 2, 2});

    std::string m = error_of([&] { small(from_vector<int32_t>({1, 4}, {2})); });
    CHECK(contains(m, "Embedding(4, 2)"));
    CHECK(contains(m, "index 4"));
    CHECK(contains(m, "out of range [0, 4)"));
    CHECK(contains(error_of([&] { small(from_vector<int32_t>({-1}, {1})); }), "index -1"));
    CHECK(contains(error_of([&] { small(zeros({2})); }), "indices must be int32"));
}

TEST_CASE("Embedding: float64 gradient and second derivative of the lookup") {
    Embedding emb(5, 3);
    Tensor idx = from_vector<int32_t>({4, 1, 1, 0}, {2, 2});
    check_op("Embedding",
             [&](const std::vector<Tensor>& xs) {
                 emb.parameter("weight") = xs[0];  // the live parameter, swapped for a float64 leaf
                 return emb.forward(xs[1]);
             },
             {zg::testing::test_input({5, 3}, 1), idx});
}

TEST_CASE("MinibatchStdDev: group statistics by hand (official ProGAN grouping)") {
    // N = 4, group 2: x viewed [G=2, M=2], so group 0 = samples {0, 2}, group 1 = {1, 3}.
    Tensor x = f32({1, 2, 3, 5}, {4, 1, 1, 1});
    Tensor y = minibatch_stddev(x, 2);
    CHECK(y.shape() == Shape{4, 2, 1, 1});
    const double s0 = std::sqrt(1.0 + 1e-8), s1 = std::sqrt(2.25 + 1e-8);
    check_values(y, {1, s0, 2, s1, 3, s0, 5, s1});

    // Averaged over features and pixels, tiled over H×W; a constant feature adds √1e-8.
    Tensor x2 = zeros({2, 2, 2, 2});
    {
        NoGradGuard ng;
        x2.select(0, 0).select(0, 0).fill_(1.0);  // channel 0: sample 0 all 1, sample 1 all 3
        x2.select(0, 1).select(0, 0).fill_(3.0);
    }
    MinibatchStdDev layer(4);  // group min(4, 2) = 2
    Tensor y2 = layer(x2);
    CHECK(y2.shape() == Shape{2, 3, 2, 2});
    const double want = (1.0 + std::sqrt(1e-8)) / 2;  // channel 0 std 1, channel 1 std ~0
    for (int n = 0; n < 2; ++n)
        check_values(y2.select(0, n).select(0, 2).contiguous(), std::vector<double>(4, want));
    CHECK(values(y2.slice(1, 0, 2).contiguous()) == values(x2));
    CHECK(layer.to_string() == "MinibatchStdDev(group_size=4)");

    // Errors: batch not divisible by the group, wrong rank.
    std::string m = error_of([] { minibatch_stddev(zeros({6, 1, 2, 2}), 4); });
    CHECK(contains(m, "MinibatchStdDev"));
    CHECK(contains(m, "batch size 6"));
    CHECK(contains(m, "group size 4"));
    CHECK(error_of([] { minibatch_stddev(zeros({3, 1, 2, 2}), 4); }).empty());  // G = 3
    std::string r = error_of([] { MinibatchStdDev()(zeros({4, 8})); });
    CHECK(contains(r, "MinibatchStdDev"));
    CHECK(contains(r, "[4, 8]"));
}

TEST_CASE("MinibatchStdDev: gradient and second derivative") {
    check_op("minibatch_stddev",
             [](const std::vector<Tensor>& xs) { return minibatch_stddev(xs[0], 2); },
             {zg::testing::test_input({4, 2, 3, 3}, 5)});
    check_op("minibatch_stddev (one group)",
             [](const std::vector<Tensor>& xs) { return minibatch_stddev(xs[0], 4); },
             {zg::testing::test_input({3, 2, 2, 2}, 6)});
}

TEST_CASE("MinibatchDiscrimination: o(x_i)_b = Σ_j exp(−‖M_i,b − M_j,b‖₁) by hand") {
    // A = 1, B = 2, C = 1, T = [1, 2]: M = [0, 0], [1, 2], [3, 6]. The j = i term counts 1.
    Tensor x = f32({0, 1, 3}, {3, 1});
    Tensor T = f32({1, 2}, {1, 2});
    Tensor y = minibatch_discrimination(x, T, 2, 1);
    CHECK(y.shape() == Shape{3, 3});
    auto e = [](double d) { return std::exp(-d); };
    check_values(y, {0, 1 + e(1) + e(3), 1 + e(2) + e(6),  //
                     1, e(1) + 1 + e(2), e(2) + 1 + e(4),  //
                     3, e(3) + e(2) + 1, e(6) + e(4) + 1});
    // C = 2: the L1 distance sums over the kernel dims. M = [0, 0], [1, −2]: ‖·‖₁ = 3.
    Tensor y2 = minibatch_discrimination(f32({0, 1}, {2, 1}), f32({1, -2}, {1, 2}), 1, 2);
    check_values(y2, {0, 1 + e(3), 1, 1 + e(3)});
}

TEST_CASE("MinibatchDiscrimination: layer shapes, init, errors") {
    Rng gen(2);
    MinibatchDiscrimination md(30, 10, 5, &gen);
    CHECK(md.parameter("T").shape() == Shape{30, 50});
    CHECK(std_of(values(md.parameter("T"))) == doctest::Approx(0.05).epsilon(0.1));
    Tensor y = md(randn({8, 30}));
    CHECK(y.shape() == Shape{8, 40});
    auto sd = md.state_dict();
    CHECK(sd.size() == 1);
    CHECK(sd.count("T") == 1);
    CHECK(md.to_string() ==
          "MinibatchDiscrimination(in_features=30, out_features=10, kernel_dims=5)");
    std::string m = error_of([&] { md(zeros({8, 29})); });
    CHECK(contains(m, "MinibatchDiscrimination"));
    CHECK(contains(m, "[N, 30]"));
    CHECK(contains(m, "[8, 29]"));
    CHECK(contains(error_of([&] { md(zeros({8, 30, 1})); }), "[8, 30, 1]"));
    // Gradients reach both x and T.
    Tensor x = randn({4, 30}).requires_grad_();
    sum(md(x)).backward();
    CHECK(x.grad().defined());
    CHECK(md.parameter("T").grad().defined());
}

TEST_CASE("MinibatchDiscrimination: gradient and second derivative (x and T)") {
    check_op(
        "minibatch_discrimination",
        [](const std::vector<Tensor>& xs) { return minibatch_discrimination(xs[0], xs[1], 2, 3); },
        {zg::testing::test_input({4, 3}, 7, -1, 1), zg::testing::test_input({3, 6}, 8, -1, 1)});
    // Through the layer itself, its parameter swapped for a float64 leaf.
    MinibatchDiscrimination md(3, 2, 2);
    check_op(
        "MinibatchDiscrimination",
        [&](const std::vector<Tensor>& xs) {
            md.parameter("T") = xs[1];
            return md.forward(xs[0]);
        },
        {zg::testing::test_input({3, 3}, 9, -1, 1), zg::testing::test_input({3, 4}, 10, -1, 1)});
}

TEST_CASE("Layers compose in a Sequential, reprs and no parameters where none") {
    Sequential g{make<Reshape>(Shape{4, 2, 2}), make<Upsample>(2),        make<GaussianNoise>(0.1),
                 make<LeakyReLU>(0.2),          make<Dropout>(0.5, true), make<AvgPool2d>(2),
                 make<MinibatchStdDev>(2),      make<Flatten>(),          make<Tanh>()};
    Tensor y = g(randn({4, 16}));
    CHECK(y.shape() == Shape{4, 5 * 2 * 2});
    CHECK(g.num_parameters() == 0);
    CHECK(contains(g.to_string(), "(4): Dropout(p=0.5, also_at_eval=True)"));
    CHECK(contains(g.to_string(), "(2): GaussianNoise(std=0.1)"));
}
