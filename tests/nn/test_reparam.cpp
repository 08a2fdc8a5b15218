#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <set>

#include "engine/rng.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/reparam.h"
#include "nn/layers/sequential.h"
#include "test_util.h"
#include "tests/engine/gradcheck.h"

using namespace zg;
using namespace zg::nn;
using namespace zg::testing;
using zg::testing::check_op;
using zg::testing::test_input;

namespace {

std::vector<double> values(const Tensor& t) {
    return t.to(DType::f64).to_vector<double>();
}

void check_close(const Tensor& got, const Tensor& want, double tol = 1e-6) {
    auto g = values(got), w = values(want);
    REQUIRE(g.size() == w.size());
    for (size_t i = 0; i < g.size(); ++i)
        CHECK_MESSAGE(std::abs(g[i] - w[i]) <= tol * (1 + std::abs(w[i])), "element ", i, ": ",
                      g[i], " vs ", w[i]);
}

std::set<std::string> keys(const Module& m) {
    std::set<std::string> k;
    for (auto& [n, t] : m.state_dict()) k.insert(n);
    return k;
}

void set(Tensor& t, const Tensor& value) {
    NoGradGuard ng;
    t.copy_(value);
}

// The largest singular value of a row-major [h, w] matrix: power iteration on WᵀW in double,
// run to convergence.
double top_singular_value(const std::vector<double>& W, int64_t h, int64_t w) {
    std::vector<double> v(w, 1.0), u(h);
    double sigma = 0;
    for (int it = 0; it < 5000; ++it) {
        for (int64_t i = 0; i < h; ++i) {
            u[i] = 0;
            for (int64_t j = 0; j < w; ++j) u[i] += W[i * w + j] * v[j];
        }
        double nu = 0;
        for (double x : u) nu += x * x;
        sigma = std::sqrt(nu);
        for (int64_t j = 0; j < w; ++j) {
            v[j] = 0;
            for (int64_t i = 0; i < h; ++i) v[j] += W[i * w + j] * u[i];
        }
        double nv = 0;
        for (double x : v) nv += x * x;
        for (double& x : v) x /= std::sqrt(nv);
    }
    return sigma;
}

}  // namespace

TEST_CASE("spectral_norm: σ converges to the largest singular value of diag(3, 2, 1)") {
    Linear lin(3, 3, false);
    set(lin.parameter("weight"), from_vector<float>({3, 0, 0, 0, 2, 0, 0, 0, 1}, {3, 3}));
    spectral_norm(lin);
    CHECK(lin.reparametrization() == "spectral_norm");
    Tensor w;
    for (int i = 0; i < 60; ++i) w = lin.weight();
    check_close(w, from_vector<float>({1, 0, 0, 0, 2.f / 3, 0, 0, 0, 1.f / 3}, {3, 3}), 1e-5);
    // u and v are the top singular vectors (±e₁), unit length.
    CHECK(std::abs(values(lin.buffer("weight_u"))[0]) == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(std::abs(values(lin.buffer("weight_v"))[0]) == doctest::Approx(1.0).epsilon(1e-5));
    // Forward uses the normalized weight.
    Tensor x = from_vector<float>({3, 3, 3}, {1, 3});
    check_close(lin(x), from_vector<float>({3, 2, 1}, {1, 3}), 1e-5);
}

TEST_CASE("spectral_norm: matches a double power iteration run to convergence (Conv2d)") {
    Rng gen(21);
    Conv2d conv(3, 4, 3, 1, 1, true, 1, 1, &gen);
    const std::vector<double> W = values(conv.parameter("weight"));  // [4, 27]
    const double sigma = top_singular_value(W, 4, 27);
    spectral_norm(conv, 200, 1e-12, &gen);
    CHECK(conv.buffer("weight_u").shape() == Shape{4});
    CHECK(conv.buffer("weight_v").shape() == Shape{27});
    Tensor w = conv.weight();
    check_close(w * sigma, conv.parameter("weight_orig"), 1e-4);
}

TEST_CASE("spectral_norm: ConvTranspose2d uses dim 1 (PyTorch's choice)") {
    Rng gen(22);
    ConvTranspose2d convt(3, 5, 2, 1, 0, 0, true, 1, 1, &gen);  // weight [3, 5, 2, 2]
    const Tensor orig = convt.parameter("weight").detach().clone();
    spectral_norm(convt, 300, 1e-12, &gen);
    CHECK(convt.buffer("weight_u").shape() == Shape{5});
    CHECK(convt.buffer("weight_v").shape() == Shape{12});
    // The matrix is weight permuted to [5, 3, 2, 2] and flattened to [5, 12].
    const std::vector<double> W = values(orig.transpose(0, 1).contiguous());
    const double sigma = top_singular_value(W, 5, 12);
    check_close(convt.weight() * sigma, orig, 1e-4);
    CHECK(convt(randn({2, 3, 4, 4})).shape() == Shape{2, 5, 5, 5});
}

TEST_CASE("spectral_norm: state dict keys and buffers as PyTorch, a PyTorch state loads") {
    Linear lin(4, 3);
    spectral_norm(lin);
    CHECK(keys(lin) == std::set<std::string>{"bias", "weight_orig", "weight_u", "weight_v"});
    CHECK_FALSE(lin.has_parameter("weight"));
    CHECK(lin.parameters().size() == 2);  // weight_orig and bias; u and v are buffers
    for (auto& [n, t] : lin.named_buffers()) CHECK_FALSE(t.requires_grad());
    CHECK(lin.buffer("weight_u").shape() == Shape{3});
    CHECK(lin.buffer("weight_v").shape() == Shape{4});
    // u and v start as unit vectors.
    CHECK(sum(lin.buffer("weight_u") * lin.buffer("weight_u")).item<double>() ==
          doctest::Approx(1.0));
    CHECK(sum(lin.buffer("weight_v") * lin.buffer("weight_v")).item<double>() ==
          doctest::Approx(1.0));
    // A state dict shaped like torch.nn.utils.spectral_norm(nn.Linear(4, 3)).state_dict().
    StateDict sd{{"weight_orig", randn({3, 4})},
                 {"weight_u", tensor({1, 0, 0})},
                 {"weight_v", tensor({0, 1, 0, 0})},
                 {"bias", zeros({3})}};
    lin.load_state_dict(sd);
    lin.eval();  // no power iteration: σ = uᵀWv = W[0][1]
    const double s = values(sd.at("weight_orig"))[1];
    check_close(lin.weight(), sd.at("weight_orig") / s, 1e-5);
}

TEST_CASE("spectral_norm: power iteration updates u, v in training only, seeded init") {
    Rng g1(5), g2(5);
    Linear a(6, 5, true, &g1), b(6, 5, true, &g2);
    spectral_norm(a, 1, 1e-12, &g1);
    spectral_norm(b, 1, 1e-12, &g2);
    CHECK(values(a.buffer("weight_u")) == values(b.buffer("weight_u")));
    CHECK(values(a.buffer("weight_v")) == values(b.buffer("weight_v")));

    const auto u0 = values(a.buffer("weight_u"));
    a.eval();
    a(randn({2, 6}));
    CHECK(values(a.buffer("weight_u")) == u0);
    a.train();
    a(randn({2, 6}));
    CHECK(values(a.buffer("weight_u")) != u0);
    // The buffer objects are the same (updated in place, as PyTorch's normalize(out=)).
    const Tensor live = a.state_dict().at("weight_u");
    a(randn({2, 6}));
    CHECK(values(live) == values(a.buffer("weight_u")));
    CHECK(live.same(a.buffer("weight_u")));
}

TEST_CASE("spectral_norm: two forwards, then one backward (u, v copied into the graph)") {
    Linear lin(4, 4);
    spectral_norm(lin);
    Tensor x = randn({3, 4});
    Tensor l1 = sum(lin(x));
    Tensor l2 = sum(lin(x * 2.0));  // updates u, v in place after l1's graph saved them
    CHECK_NOTHROW((l1 + l2).backward());
    CHECK(lin.parameter("weight_orig").grad().defined());
}

TEST_CASE("spectral_norm: gradient and second derivative through σ (u, v constant)") {
    Linear lin(3, 2);
    spectral_norm(lin);
    lin(randn({1, 3}));  // one power iteration, then freeze u, v
    lin.eval();
    lin.buffer("weight_u") = lin.buffer("weight_u").to(DType::f64);
    lin.buffer("weight_v") = lin.buffer("weight_v").to(DType::f64);
    check_op("spectral_norm Linear",
             [&](const std::vector<Tensor>& xs) {
                 lin.parameter("weight_orig") = xs[1];
                 lin.parameter("bias") = xs[2];
                 return lin.forward(xs[0]);
             },
             {test_input({4, 3}, 1), test_input({2, 3}, 2), test_input({2}, 3)},
             {.float32 = false});  // the buffers are float64 now

    // d(W/σ)/dW with σ = uᵀWv: for L = Σ R ⊙ W/σ, dL/dW = R/σ − (Σ R ⊙ W)/σ² · u vᵀ.
    Linear l2(3, 2, false);
    spectral_norm(l2);
    l2.eval();
    Tensor W = l2.parameter("weight_orig");
    Tensor u = l2.buffer("weight_u"), v = l2.buffer("weight_v");
    Tensor R = randn({2, 3});
    sum(l2.weight() * R).backward();
    const double s = sum(u * matmul(W, v.unsqueeze(1)).view({-1})).item<double>();
    Tensor want = R / s - sum(R * W).detach() / (s * s) * matmul(u.unsqueeze(1), v.unsqueeze(0));
    check_close(W.grad(), want.detach(), 1e-5);
}

TEST_CASE("spectral_norm: argument errors and one reparametrization per layer") {
    Linear lin(3, 3);
    CHECK(contains(error_of([&] { spectral_norm(lin, 0); }), "n_power_iterations"));
    spectral_norm(lin);
    std::string m = error_of([&] { weight_norm(lin); });
    CHECK(contains(m, "Linear"));
    CHECK(contains(m, "spectral_norm"));
    // The failed attempt left the layer as it was.
    CHECK(keys(lin) == std::set<std::string>{"bias", "weight_orig", "weight_u", "weight_v"});
    CHECK(contains(error_of([&] { spectral_norm(lin); }), "spectral_norm"));
    CHECK(contains(error_of([&] { equalized_lr(lin); }), "spectral_norm"));
}

TEST_CASE("weight_norm: reproduces the weight it starts from, g and v as PyTorch") {
    Conv2d conv(2, 3, 3);
    const Tensor w0 = conv.parameter("weight").detach().clone();
    Tensor x = randn({2, 2, 5, 5});
    const Tensor y0 = conv(x).detach();
    weight_norm(conv);
    CHECK(conv.reparametrization() == "weight_norm");
    CHECK(keys(conv) == std::set<std::string>{"bias", "weight_g", "weight_v"});
    CHECK(conv.parameter("weight_g").shape() == Shape{3, 1, 1, 1});
    CHECK(conv.parameter("weight_g").requires_grad());
    CHECK(values(conv.parameter("weight_v")) == values(w0));
    check_close(conv.parameter("weight_g").view({-1}), sqrt(sum(w0 * w0, {1, 2, 3})), 1e-6);
    check_close(conv.weight(), w0, 1e-6);
    check_close(conv(x), y0, 1e-5);
    // g sets the norm, v only the direction.
    set(conv.parameter("weight_g"), conv.parameter("weight_g") * 2.0);
    set(conv.parameter("weight_v"), conv.parameter("weight_v") * 5.0);
    check_close(conv.weight(), w0 * 2.0, 1e-6);

    Linear lin(4, 3);
    weight_norm(lin);
    CHECK(lin.parameter("weight_g").shape() == Shape{3, 1});
    Linear whole(4, 3);
    const Tensor ww = whole.parameter("weight").detach().clone();
    weight_norm(whole, -1);  // PyTorch's dim=None: one norm for the whole tensor
    CHECK(whole.parameter("weight_g").shape() == Shape{});
    CHECK(whole.parameter("weight_g").item<double>() ==
          doctest::Approx(std::sqrt(sum(ww * ww).item<double>())));
    check_close(whole.weight(), ww, 1e-6);
    Linear d1(4, 3);
    weight_norm(d1, 1);
    CHECK(d1.parameter("weight_g").shape() == Shape{1, 4});
    CHECK(contains(error_of([] {
                       Linear l(2, 2);
                       weight_norm(l, 2);
                   }),
                   "weight_norm: dim 2 is out of range for the Linear weight [2, 2]"));
}

TEST_CASE("weight_norm: gradient and second derivative with respect to x, g and v") {
    Linear lin(3, 2);
    weight_norm(lin);
    check_op("weight_norm Linear",
             [&](const std::vector<Tensor>& xs) {
                 lin.parameter("weight_g") = xs[1];
                 lin.parameter("weight_v") = xs[2];
                 lin.parameter("bias") = xs[3];
                 return lin.forward(xs[0]);
             },
             {test_input({4, 3}, 11), test_input({2, 1}, 12, 0.5, 2), test_input({2, 3}, 13),
              test_input({2}, 14)});
}

TEST_CASE("equalized_lr: N(0, 1) weight, zero bias, weight · gain/√fan_in at run time") {
    Rng gen(8);
    Conv2d conv(16, 32, 3, 1, 1, true, 1, 1, &gen);
    equalized_lr(conv, std::sqrt(2.0), &gen);
    CHECK(conv.reparametrization() == "equalized_lr");
    CHECK(keys(conv) == std::set<std::string>{"bias", "weight"});
    auto w = values(conv.parameter("weight"));
    double m = 0, s = 0;
    for (double v : w) m += v / (double)w.size();
    for (double v : w) s += (v - m) * (v - m) / (double)w.size();
    CHECK(std::abs(m) < 0.05);
    CHECK(std::sqrt(s) == doctest::Approx(1.0).epsilon(0.05));
    CHECK(values(conv.parameter("bias")) == std::vector<double>(32, 0.0));
    const double scale = std::sqrt(2.0) / std::sqrt(16.0 * 9.0);
    CHECK(equalized_lr_scale(conv) == doctest::Approx(scale));
    check_close(conv.weight(), conv.parameter("weight") * scale, 1e-7);

    // Linear with gain 1: scale 1/√in; the gradient of the parameter carries the scale too.
    Linear lin(16, 4);
    equalized_lr(lin, 1.0);
    Tensor x = randn({5, 16});
    Tensor y = lin(x);
    check_close(y, matmul(x, lin.parameter("weight").t()) * 0.25, 1e-6);
    sum(y).backward();
    check_close(lin.parameter("weight").grad(), sum(x, {0}, true).expand({4, 16}) * 0.25, 1e-5);

    // ConvTranspose2d: fan_in = in_channels·k·k (the inputs one output pixel sees).
    ConvTranspose2d convt(4, 2, 3);
    equalized_lr(convt);
    CHECK(equalized_lr_scale(convt) == doctest::Approx(std::sqrt(2.0) / 6.0));
    CHECK(equalized_lr_scale(Conv2d(8, 8, 3, 1, 0, true, 1, 4)) ==
          doctest::Approx(std::sqrt(2.0) / std::sqrt(2.0 * 9.0)));  // groups: in/groups
}

TEST_CASE("Reparametrizations chain on shared pointers and work inside Sequential") {
    auto sn = spectral_norm(make<Conv2d>(1, 4, 3, 1, 1));
    auto wn = weight_norm(make<Linear>(4, 2));
    auto eq = equalized_lr(make<ConvTranspose2d>(4, 1, 2, 2));
    static_assert(std::is_same_v<decltype(sn), std::shared_ptr<Conv2d>>);
    static_assert(std::is_same_v<decltype(wn), std::shared_ptr<Linear>>);
    Sequential net{sn, eq};
    CHECK(net(randn({2, 1, 3, 3})).shape() == Shape{2, 1, 6, 6});
    CHECK(keys(net) == std::set<std::string>{"0.bias", "0.weight_orig", "0.weight_u", "0.weight_v",
                                             "1.bias", "1.weight"});
    CHECK(wn->parameters().size() == 3);
}

TEST_CASE("weight_norm_data_init_: pre-activations with mean 0 and std `scale` on the batch") {
    Rng gen(11);
    auto lin = weight_norm(make<Linear>(5, 4, true, &gen));
    const Tensor x = normal({64, 5}, 0.5, 2.0, &gen);
    const Tensor y = weight_norm_data_init_(*lin, x, 1.5);
    check_close(y, lin->forward(x));  // the returned output is the layer's new output
    check_close(mean(y, {0}), zeros({4}), 1e-5);
    check_close(sqrt(var(y, {0}, false)), full({4}, 1.5), 1e-4);
    // g and b are what change: the direction v is untouched
    auto conv = weight_norm(make<Conv2d>(3, 6, 3, 1, 1, true, 1, 1, &gen));
    const Tensor v = conv->parameter("weight_v").clone();
    const Tensor yc = weight_norm_data_init_(*conv, normal({4, 3, 5, 5}, 0.0, 3.0, &gen));
    check_close(conv->parameter("weight_v"), v, 0.0);
    check_close(mean(yc, {0, 2, 3}), zeros({6}), 1e-5);
    check_close(sqrt(var(yc, {0, 2, 3}, false)), ones({6}), 1e-4);
    CHECK(contains(error_of([&] {
                       weight_norm_data_init_(*make<Linear>(2, 2), zeros({3, 2}));
                   }),
                   "not weight-normalized"));
    auto whole = weight_norm(make<Linear>(2, 3), -1);
    CHECK(contains(error_of([&] {
                       weight_norm_data_init_(*whole, ones({3, 2}));
                   }),
                   "one norm per output unit"));
}
