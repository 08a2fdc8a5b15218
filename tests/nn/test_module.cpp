#include <doctest/doctest.h>

#include <cmath>

#include "nn/init.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/sequential.h"
#include "test_util.h"

using namespace zg;
using namespace zg::nn;
using namespace zg::testing;

namespace {

// pytorch/examples' DCGAN discriminator head, in miniature: a Sequential under "main".
struct TinyNet : Module {
    std::shared_ptr<Sequential> main;
    TinyNet() {
        main =
            register_module("main", make<Sequential>(std::initializer_list<ModulePtr>{
                                        make<Conv2d>(1, 2, 3, 1, 1, false), make<Linear>(4, 3)}));
    }
    std::string type_name() const override { return "TinyNet"; }
};

}  // namespace

TEST_CASE("Module: dotted state-dict names follow PyTorch's") {
    TinyNet net;
    auto sd = net.state_dict();
    std::vector<std::string> keys;
    for (auto& [k, v] : sd) keys.push_back(k);
    CHECK(keys == std::vector<std::string>{"main.0.weight", "main.1.bias", "main.1.weight"});
    CHECK(net.num_parameters() == 2 * 1 * 3 * 3 + 4 * 3 + 3);
    auto names = net.named_modules();
    REQUIRE(names.size() == 4);
    CHECK(names[1].first == "main");
    CHECK(names[2].first == "main.0");
}

TEST_CASE("Module: parameters require grad, train/eval reaches every child") {
    TinyNet net;
    for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
    net.eval();
    for (auto& [n, m] : net.named_modules()) CHECK_FALSE(m->is_training());
    net.train();
    CHECK((*net.main)[1]->is_training());
}

TEST_CASE("Module: load_state_dict copies into the live tensors") {
    TinyNet a, b;
    Tensor live = b.state_dict().at("main.1.weight");
    b.load_state_dict(a.state_dict());
    CHECK(live.to_vector<float>() == a.state_dict().at("main.1.weight").to_vector<float>());
    CHECK(live.requires_grad());  // still the same parameter an optimizer may hold
}

TEST_CASE("Module: snapshot is a detached copy that later updates do not change") {
    TinyNet net;
    const StateDict snap = net.snapshot();
    Tensor live = net.state_dict().at("main.1.weight");
    const std::vector<float> before = live.to_vector<float>();
    {
        NoGradGuard ng;
        live.add_(ones(live.shape()));
    }
    CHECK(snap.at("main.1.weight").to_vector<float>() == before);
    CHECK_FALSE(snap.at("main.1.weight").requires_grad());
    net.load_state_dict(snap);
    CHECK(live.to_vector<float>() == before);
}

TEST_CASE("Module: load_state_dict lists every missing, unexpected and mis-shaped key") {
    TinyNet net;
    auto sd = net.state_dict();
    sd.erase("main.1.bias");
    sd["main.9.weight"] = zeros({1});
    sd["main.0.weight"] = zeros({5});
    try {
        net.load_state_dict(sd);
        FAIL("expected an error");
    } catch (const Error& e) {
        std::string m = e.what();
        CHECK(contains(m, "missing keys: main.1.bias"));
        CHECK(contains(m, "unexpected keys: main.9.weight"));
        CHECK(contains(m, "main.0.weight (checkpoint [5], model [2, 1, 3, 3])"));
    }
    // Non-strict loading tolerates missing and unexpected keys but never a wrong shape.
    sd["main.0.weight"] = zeros({2, 1, 3, 3});
    net.load_state_dict(sd, false);
    CHECK(net.state_dict().at("main.0.weight").to_vector<float>() == std::vector<float>(18, 0.f));
}

TEST_CASE("Module: registering a name twice or a dotted name is an error") {
    Linear l(2, 2);
    CHECK_THROWS_AS(l.register_parameter("weight", zeros({1})), Error);
    CHECK_THROWS_AS(l.register_buffer("a.b", zeros({1})), Error);
    CHECK_THROWS_AS(l.parameter("nope"), Error);
    CHECK_THROWS_AS(l.forward(zeros({3, 5})), Error);  // wrong in_features
}

TEST_CASE("Module: printout mirrors PyTorch's repr") {
    TinyNet net;
    std::string s = net.to_string();
    CHECK(contains(s, "(main): Sequential("));
    CHECK(contains(s, "(0): Conv2d(1, 2, kernel_size=3, stride=1, padding=1)"));
    CHECK(contains(s, "(1): Linear(in_features=4, out_features=3)"));
}

TEST_CASE("Linear/Conv2d/ConvTranspose2d: shapes and PyTorch's default init bound") {
    Rng g(7);
    Conv2d conv(3, 8, 4, 2, 1, true, 1, 1, &g);
    Tensor y = conv(randn({2, 3, 16, 16}, &g));
    CHECK(y.shape() == Shape{2, 8, 8, 8});
    const double bound = 1.0 / std::sqrt(3.0 * 16);
    for (float w : conv.parameter("weight").to_vector<float>()) CHECK(std::abs(w) <= bound);
    ConvTranspose2d up(8, 3, 4, 2, 1);
    CHECK(up(y).shape() == Shape{2, 3, 16, 16});
    CHECK(up.parameter("weight").shape() == Shape{8, 3, 4, 4});
    Linear lin(5, 2, false);
    CHECK_FALSE(lin.has_parameter("bias"));
    CHECK(lin(ones({7, 5})).shape() == Shape{7, 2});
}

TEST_CASE("init: DCGAN normal, Xavier, Kaiming and orthogonal have the right statistics") {
    Rng g(3);
    Tensor w = empty({256, 128});
    init::dcgan_normal_(w, &g);
    CHECK(std::sqrt(var(w).item<double>()) == doctest::Approx(0.02).epsilon(0.02));
    init::kaiming_normal_(w, 0.0, "relu", &g);
    CHECK(std::sqrt(var(w).item<double>()) == doctest::Approx(std::sqrt(2.0 / 128)).epsilon(0.02));
    init::xavier_uniform_(w, 1.0, &g);
    CHECK(amax(abs(w)).item<double>() <= std::sqrt(6.0 / (256 + 128)) + 1e-7);
    Tensor q = empty({4, 6});
    init::orthogonal_(q, 1.0, &g);
    Tensor qqt = matmul(q, q.t());  // rows orthonormal
    auto v = qqt.to_vector<float>();
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
            CHECK(v[i * 4 + j] == doctest::Approx(i == j ? 1.0 : 0.0).epsilon(1e-5));
    CHECK_THROWS_AS(init::gain("swish"), Error);
}
