// The loss zoo (zoo/losses/losses.cpp) and D's regularizers (zoo/losses/regularizers.cpp) against
// PyTorch: every loss's value and gradients with respect to D's outputs, and every penalty's value
// and gradient with respect to D's weights (through the engine's second derivatives), on an MLP and
// a convolutional critic. Fixtures: tools/fixtures/gen_loss_fixtures.py.
#include <doctest/doctest.h>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/sequential.h"
#include "nn/layers/small.h"
#include "test_util.h"
#include "zoo/losses/losses.h"
#include "zoo/losses/regularizers.h"

using namespace zg;
using namespace zg::zoo;
using testing::torch_error;

namespace {

const char* kNames[] = {"minimax", "ns",    "wgan",  "wgan-gp", "lsgan",
                        "hinge",   "rsgan", "ragan", "ralsgan"};

const SafetensorsFile& fixtures() {
    static const SafetensorsFile f =
        load_safetensors(testing::fixture_path("losses_torch.safetensors"));
    return f;
}
const Tensor& fx(const std::string& name) {
    return fixtures().tensors.at(name);
}

Tensor leaf(const Tensor& t) {
    Tensor l = t.detach().clone();
    l.requires_grad_();
    return l;
}

// A gradient that grad() left undefined (the input does not influence the output) is zero.
Tensor or_zeros(const Tensor& g, const Tensor& like) {
    return g.defined() ? g : zeros_like(like);
}

void check(const Tensor& got, const std::string& want) {
    const double e = torch_error(got, fx(want), want);
    CHECK_MESSAGE(e <= 1.0, want, ": error ", e, " × tolerance");
}
}  // namespace

TEST_CASE("losses: each loss's D and G objectives and their gradients match PyTorch") {
    for (const char* name : kNames) {
        CAPTURE(name);
        const Loss l = parse_loss(name);
        CHECK(loss_name(l) == name);
        Tensor r = leaf(fx("r")), f = leaf(fx("f"));
        const std::string p = std::string("loss/") + name + "/";
        Tensor d = d_loss(l, r, f);
        check(d, p + "d");
        std::vector<Tensor> gd = grad({d}, {r, f});
        check(gd[0], p + "d_dr");
        check(gd[1], p + "d_df");
        Tensor g = g_loss(l, r, f);
        check(g, p + "g");
        std::vector<Tensor> gg = grad({g}, {r, f}, {}, false, false, /*allow_unused=*/true);
        check(or_zeros(gg[0], r), p + "g_dr");
        check(gg[1], p + "g_df");
    }
}

TEST_CASE("losses: soft targets for the label losses match PyTorch, the others refuse them") {
    const LabelTargets t{fx("t_real"), fx("t_fake")};
    for (const char* name : kNames) {
        CAPTURE(name);
        const Loss l = parse_loss(name);
        Tensor r = leaf(fx("r")), f = leaf(fx("f"));
        if (!loss_uses_labels(l)) {
            CHECK(testing::contains(testing::error_of([&] { d_loss(l, r, f, t); }), "targets"));
            continue;
        }
        const std::string p = std::string("soft/") + name + "/";
        Tensor d = d_loss(l, r, f, t);
        check(d, p + "d");
        std::vector<Tensor> gd = grad({d}, {r, f});
        check(gd[0], p + "d_dr");
        check(gd[1], p + "d_df");
    }
    CHECK(loss_uses_labels(Loss::ns));
    CHECK_FALSE(loss_uses_labels(Loss::wgan));
    CHECK_FALSE(loss_uses_labels(Loss::ragan));
}

TEST_CASE("losses: an unknown --loss name is an error listing the known ones") {
    const std::string e = testing::error_of([] { parse_loss("wasserstein"); });
    CHECK(testing::contains(e, "--loss"));
    CHECK(testing::contains(e, "'wasserstein'"));
    CHECK(testing::contains(e, "wgan-gp"));
    CHECK(testing::contains(e, "ralsgan"));
}

TEST_CASE("losses: G's minimax loss saturates where the non-saturating one does not") {
    // D confidently rejects the fakes (logit −8): log(1 − σ(f)) is flat there, −log σ(f) is not.
    Tensor f = leaf(full({4}, -8.0));
    Tensor r = zeros({4});
    const double mm = std::abs(grad({g_loss(Loss::minimax, r, f)}, {f})[0].to_vector<float>()[0]);
    const double ns = std::abs(grad({g_loss(Loss::ns, r, f)}, {f})[0].to_vector<float>()[0]);
    CHECK(mm < 1e-3 / 4);
    CHECK(ns > 0.99 / 4);
}

namespace {

std::shared_ptr<nn::Sequential> critic_net(const std::string& net) {
    if (net == "mlp")
        return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
            nn::make<nn::Linear>(3, 8), nn::make<nn::LeakyReLU>(0.2), nn::make<nn::Linear>(8, 8),
            nn::make<nn::LeakyReLU>(0.2), nn::make<nn::Linear>(8, 1)});
    return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
        nn::make<nn::Conv2d>(1, 4, 3, 2, 1), nn::make<nn::LeakyReLU>(0.2), nn::make<nn::Flatten>(),
        nn::make<nn::Linear>(36, 1)});
}

}  // namespace

TEST_CASE("regularizers: each penalty and its gradient w.r.t. D's weights match PyTorch") {
    for (const char* net : {"mlp", "conv"}) {
        CAPTURE(net);
        auto d = critic_net(net);
        d->load_state_dict(testing::with_prefix(fixtures(), std::string(net) + "/D/"));
        const Critic critic = [&](const Tensor& x) { return d->forward(x).reshape({x.size(0)}); };
        const Tensor real = fx(std::string(net) + "/real"), fake = fx(std::string(net) + "/fake");
        const Tensor alpha = fx(std::string(net) + "/alpha");
        const std::map<std::string, Tensor> penalties = {
            {"gp1", gradient_penalty(critic, real, fake, alpha, 1.0)},
            {"gp0", gradient_penalty(critic, real, fake, alpha, 0.0)},
            {"r1", input_gradient_penalty(critic, real)},
            {"r2", input_gradient_penalty(critic, fake)},
            {"drift", drift_penalty(critic(real))}};
        const nn::NamedTensors params = d->named_parameters();
        std::vector<Tensor> ps;
        for (auto& [k, p] : params) ps.push_back(p);
        for (auto& [reg, value] : penalties) {
            CAPTURE(reg);
            const std::string p = std::string(net) + "/" + reg + "/";
            check(value, p + "value");
            std::vector<Tensor> g = grad({value}, ps, {}, false, /*retain_graph=*/true, true);
            for (size_t i = 0; i < ps.size(); ++i)
                check(or_zeros(g[i], ps[i]), p + "grad/" + params[i].first);
        }
    }
}

TEST_CASE("regularizers: --reg applies its weight to the right inputs") {
    auto d = critic_net("mlp");
    d->load_state_dict(testing::with_prefix(fixtures(), "mlp/D/"));
    const Critic critic = [&](const Tensor& x) { return d->forward(x).reshape({x.size(0)}); };
    const Tensor real = fx("mlp/real"), fake = fx("mlp/fake");
    const Tensor d_real = critic(real);
    auto value = [&](Reg kind, double center = 1) {
        Rng rng(3);
        return Regularizer{{{kind, 2.5}}, center}
            .penalty(critic, real, fake, d_real, rng)
            .item<double>();
    };
    Rng rng(3);
    const Tensor alpha = rand({real.size(0)}, &rng);
    auto near = [](double a, double b) { return doctest::Approx(a).epsilon(1e-6) == b; };
    CHECK(
        near(value(Reg::gp), 2.5 * gradient_penalty(critic, real, fake, alpha, 1).item<double>()));
    CHECK(near(value(Reg::gp, 0),
               2.5 * gradient_penalty(critic, real, fake, alpha, 0).item<double>()));
    CHECK(near(value(Reg::r1), 2.5 * input_gradient_penalty(critic, real).item<double>()));
    CHECK(near(value(Reg::r2), 2.5 * input_gradient_penalty(critic, fake).item<double>()));
    CHECK(near(value(Reg::drift), 2.5 * drift_penalty(d_real).item<double>()));
    CHECK(value(Reg::r1) != value(Reg::r2));
    Rng unused(0);
    CHECK_FALSE(Regularizer{}.penalty(critic, real, fake, d_real, unused).defined());
}

TEST_CASE("regularizers: --reg gp+drift sums its terms, each with its weight") {
    auto d = critic_net("mlp");
    d->load_state_dict(testing::with_prefix(fixtures(), "mlp/D/"));
    const Critic critic = [&](const Tensor& x) { return d->forward(x).reshape({x.size(0)}); };
    const Tensor real = fx("mlp/real"), fake = fx("mlp/fake");
    const Tensor d_real = critic(real);
    auto value = [&](const Regularizer& r) {
        Rng rng(3);
        return r.penalty(critic, real, fake, d_real, rng).item<double>();
    };
    const Regularizer both = parse_regularizer("gp:5+drift:0.5");
    REQUIRE(both.terms.size() == 2);
    CHECK(both.has(Reg::gp));
    CHECK(both.has(Reg::drift));
    CHECK_FALSE(both.has(Reg::r1));
    const double gp = value(Regularizer{{{Reg::gp, 5}}, 1});
    const double drift = value(Regularizer{{{Reg::drift, 0.5}}, 1});
    CHECK(doctest::Approx(gp + drift).epsilon(1e-6) == value(both));
    // Without weights, each term takes its usual one.
    const Regularizer usual = parse_regularizer("gp+drift");
    CHECK(usual.terms[0].weight == 10);
    CHECK(usual.terms[1].weight == 0.001);
    CHECK(parse_regularizer("none").empty());
    using testing::contains;
    using testing::error_of;
    CHECK(contains(error_of([] { parse_regularizer("gp+gp"); }), "gp is given twice"));
    CHECK(contains(error_of([] { parse_regularizer("gp+none"); }), "give --reg none alone"));
    CHECK(contains(error_of([] { parse_regularizer("gp:x"); }), "must be a positive number"));
    CHECK(contains(error_of([] { parse_regularizer("gp:-1"); }), "must be a positive number"));
    CHECK(contains(error_of([] { parse_regularizer("gp+l2"); }), "unknown regularizer 'l2'"));
    CHECK(contains(error_of([] { parse_regularizer("gp+"); }), "unknown regularizer ''"));
}

TEST_CASE("regularizers: names, usual weights and errors") {
    for (const char* n : {"none", "gp", "r1", "r2", "drift"}) CHECK(reg_name(parse_reg(n)) == n);
    CHECK(default_reg_weight(Reg::gp) == 10);
    CHECK(default_reg_weight(Reg::r1) == 10);
    CHECK(default_reg_weight(Reg::drift) == 0.001);
    const std::string e = testing::error_of([] { parse_reg("l2"); });
    CHECK(testing::contains(e, "--reg"));
    CHECK(testing::contains(e, "drift"));
}
