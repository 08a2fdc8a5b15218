// The shared adversarial step (zoo/train/adversarial.cpp): each option does what its flag says, the
// schedules consume what they should, resume is exact with every piece of state in play, DCGAN
// trains under every loss, and incompatible combinations are refused with the reason.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nn/checkpoint.h"
#include "test_util.h"
#include "zoo/registry.h"
#include "zoo/train/adversarial.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;

namespace {

Json mlp_config(const Json& overrides = Json::object()) {
    Json c = default_config("mlpgan");
    c["data"] = "ring8";
    // A constant rate (mlpgan's default decays over the run, which a resume that extends the
    // run changes).
    c["lr_decay"] = "constant";
    c["hidden"] = 16;
    c["layers"] = 2;
    c["batch_size"] = 32;
    c["seed"] = 3;
    c.update(overrides);
    return c;
}

// An mlpgan on 256 ring8 points, fed in order, counting the extra batches the step asks for.
struct Toy {
    std::shared_ptr<nn::TensorDataset> data = nn::make_mixture("ring8", 256, 1);
    std::unique_ptr<Gan> model;
    int64_t cursor = 0, extra_batches = 0;
    explicit Toy(const Json& overrides = Json::object()) {
        model = find_model("mlpgan").build(mlp_config(overrides), *data);
        model->set_batch_source([this] {
            ++extra_batches;
            return next();
        });
    }
    nn::Batch next() {
        std::vector<int64_t> idx;
        for (int i = 0; i < 32; ++i) idx.push_back(cursor++ % 256);
        return data->get(idx);
    }
    Scalars step(Rng& rng) { return model->train_step(next(), rng); }
    AdversarialGan& adv() { return dynamic_cast<AdversarialGan&>(*model); }
};

std::vector<float> flat(const nn::Module& m) {
    std::vector<float> out;
    for (auto& [k, v] : m.state_dict()) {
        auto x = v.to_vector<float>();
        out.insert(out.end(), x.begin(), x.end());
    }
    return out;
}

double distance(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (a[i] - b[i]);
    return std::sqrt(s);
}

std::string refusal(const Json& overrides) {
    return testing::error_of([&] { adversarial_config_from(mlp_config(overrides)); }, "<accepted>");
}

}  // namespace

TEST_CASE("adversarial: --n-critic k takes k D updates on k fresh real batches per step") {
    Toy t(Json{{"n_critic", 3}});
    Rng rng(1);
    Scalars s = t.step(rng);
    CHECK(t.extra_batches == 2);
    CHECK(s.at("d_steps") == 3);
    CHECK(s.at("g_steps") == 1);
    t.step(rng);
    CHECK(t.extra_batches == 4);
    Toy plain;
    plain.step(rng);
    CHECK(plain.extra_batches == 0);
}

TEST_CASE("adversarial: --d-until-loss trains D until its loss reaches the threshold, capped") {
    Rng rng(1);
    Toy never(Json{{"d_until_loss", "-1e9"}, {"until_max", 4}});
    CHECK(never.step(rng).at("d_steps") == 4);
    CHECK(never.extra_batches == 3);
    Toy at_once(Json{{"d_until_loss", "1e9"}});
    CHECK(at_once.step(rng).at("d_steps") == 1);
    // A threshold below the initial loss (ln 4 ≈ 1.386 for an undecided D) that a fast D
    // reaches within the cap: the loop stops at the first update whose loss is at most A.
    Toy mid(Json{{"d_until_loss", "1.2"}, {"until_max", 50}, {"lr_d", 1e-2}});
    Scalars s = mid.step(rng);
    CHECK(s.at("d_steps") > 1);
    CHECK(s.at("d_steps") < 50);
    CHECK(s.at("loss_d") <= 1.2);
    Toy g(Json{{"g_until_loss", "-1e9"}, {"until_max", 3}});
    s = g.step(rng);
    CHECK(s.at("g_steps") == 3);
    CHECK(g.extra_batches == 0);  // G updates need no real data
}

TEST_CASE("adversarial: label targets — hard, soft ranges, one-sided smoothing, flips") {
    Rng rng(2);
    CHECK_FALSE(label_targets(adversarial_config_from(mlp_config()), 8, rng).real.defined());
    AdversarialConfig soft =
        adversarial_config_from(mlp_config({{"real_label", "0.7,1.2"}, {"fake_label", "0,0.3"}}));
    LabelTargets t = label_targets(soft, 4000, rng);
    auto r = t.real.to_vector<float>(), f = t.fake.to_vector<float>();
    CHECK(*std::min_element(r.begin(), r.end()) >= 0.7f);
    CHECK(*std::max_element(r.begin(), r.end()) <= 1.2f);
    CHECK(*std::max_element(f.begin(), f.end()) <= 0.3f);
    CHECK(mean(t.real).item<double>() == doctest::Approx(0.95).epsilon(0.01));
    AdversarialConfig one_sided =
        adversarial_config_from(mlp_config({{"one_sided_smoothing", true}}));
    t = label_targets(one_sided, 5, rng);
    testing::check_values(t.real, std::vector<double>(5, 0.9f), "one-sided real");
    testing::check_values(t.fake, std::vector<double>(5, 0.0), "one-sided fake");
    // p = 1 swaps every target; p = 0.25 swaps about a quarter of them.
    t = label_targets(adversarial_config_from(mlp_config({{"label_flip", 1.0}})), 6, rng);
    testing::check_values(t.real, std::vector<double>(6, 0.0), "flipped real");
    testing::check_values(t.fake, std::vector<double>(6, 1.0), "flipped fake");
    t = label_targets(adversarial_config_from(mlp_config({{"label_flip", 0.25}})), 8000, rng);
    CHECK(1 - mean(t.real).item<double>() == doctest::Approx(0.25).epsilon(0.1));
    CHECK(mean(t.fake).item<double>() == doctest::Approx(0.25).epsilon(0.1));
}

TEST_CASE("adversarial: instance noise decays linearly to 0 at the given global step") {
    AdversarialConfig c =
        adversarial_config_from(mlp_config({{"instance_noise", 0.4}, {"noise_decay", 4}}));
    CHECK(instance_noise_at(c, 0) == 0.4);
    CHECK(instance_noise_at(c, 2) == doctest::Approx(0.2));
    CHECK(instance_noise_at(c, 4) == 0);
    CHECK(instance_noise_at(c, 100) == 0);
    c.noise_decay = 0;
    CHECK(instance_noise_at(c, 100) == 0.4);
    Toy t(Json{{"instance_noise", 0.4}, {"noise_decay", 4}});
    Rng rng(1);
    std::vector<double> seen;
    for (int i = 0; i < 6; ++i) seen.push_back(t.step(rng).at("instance_noise"));
    testing::check_values(testing::f64(seen), {0.4, 0.3, 0.2, 0.1, 0, 0}, "sigma", 1e-12);
}

TEST_CASE("adversarial: experience replay returns old fakes with probability p") {
    Rng rng(4);
    ReplayBuffer buf(8, 1.0);
    Tensor first = arange(16).reshape({8, 2});
    // While filling, fakes pass through and are stored.
    CHECK(buf.exchange(first, rng).to_vector<float>() == first.to_vector<float>());
    CHECK(buf.size() == 8);
    // Full, p = 1: every fake comes back as a stored one, and is stored in its place.
    Tensor second = arange(16).reshape({8, 2}) + 100.0;
    // (An index drawn twice hands back a fake stored earlier in this same batch.)
    auto out = buf.exchange(second, rng).to_vector<float>();
    auto in = second.to_vector<float>();
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] != in[i]);
    auto back = buf.exchange(full({8, 2}, 500.0), rng).to_vector<float>();
    int from_second = 0;
    for (float v : back) from_second += v >= 100 && v < 500;
    CHECK(from_second > 0);
    // p = 0.3 on a large batch: about 30% old.
    ReplayBuffer big(1000, 0.3);
    big.exchange(zeros({1000, 1}), rng);
    auto mixed = big.exchange(ones({4000, 1}), rng).to_vector<float>();
    double old = 0;
    for (float v : mixed) old += v == 0;
    CHECK(old / 4000 == doctest::Approx(0.3).epsilon(0.1));
    // p = 0: nothing is exchanged.
    ReplayBuffer never(4, 0.0);
    never.exchange(zeros({4, 1}), rng);
    CHECK(never.exchange(ones({4, 1}), rng).to_vector<float>() == std::vector<float>(4, 1.f));
}

TEST_CASE("adversarial: --swap-every trains against the snapshot and keeps the nets' own weights") {
    Rng r1(1), r2(1);
    Toy plain, swapped(Json{{"swap_every", 3}, {"swap_nets", "d"}});
    for (int i = 0; i < 2; ++i) {
        plain.step(r1);
        swapped.step(r2);
    }
    // Steps 0 and 1 are ordinary.
    CHECK(flat(plain.model->generator()) == flat(swapped.model->generator()));
    plain.step(r1);
    swapped.step(r2);
    // Step 2 (the last of the period): G was scored by D's step-0 snapshot, so G differs; D
    // trained as usual and got its own weights back afterwards.
    CHECK(flat(plain.model->discriminator()) == flat(swapped.model->discriminator()));
    CHECK(flat(plain.model->generator()) != flat(swapped.model->generator()));
    // swap_nets g: D trains on the old G's fakes.
    Rng r3(1);
    Toy g_swap(Json{{"swap_every", 3}, {"swap_nets", "g"}});
    for (int i = 0; i < 3; ++i) g_swap.step(r3);
    CHECK(flat(plain.model->discriminator()) != flat(g_swap.model->discriminator()));
}

TEST_CASE("adversarial: grad_norm_d/g are the L2 norms of the gradients the optimizers used") {
    // With SGD at lr 1 the update is −gradient, so its size is the reported norm.
    Toy t(Json{{"optim_d", "sgd"}, {"optim_g", "sgd"}, {"lr_d", 1.0}, {"lr_g", 1.0}});
    const auto d0 = flat(t.model->discriminator()), g0 = flat(t.model->generator());
    Rng rng(1);
    Scalars s = t.step(rng);
    CHECK(s.at("grad_norm_d") > 0);
    CHECK(distance(d0, flat(t.model->discriminator())) ==
          doctest::Approx(s.at("grad_norm_d")).epsilon(1e-4));
    CHECK(distance(g0, flat(t.model->generator())) ==
          doctest::Approx(s.at("grad_norm_g")).epsilon(1e-4));
}

TEST_CASE("adversarial: --lr-decay's scale sets both learning rates (0 freezes G and D)") {
    Toy toy;
    Rng rng(4);
    toy.step(rng);
    toy.model->set_lr_scale(0.0);
    const auto g = flat(toy.model->generator()), d = flat(toy.model->discriminator());
    toy.step(rng);
    CHECK(flat(toy.model->generator()) == g);
    CHECK(flat(toy.model->discriminator()) == d);
    toy.model->set_lr_scale(0.5);
    toy.step(rng);
    CHECK(flat(toy.model->generator()) != g);
    CHECK(flat(toy.model->discriminator()) != d);
    CHECK(testing::contains(testing::error_of([&] { toy.model->set_lr_scale(1.5); }),
                            "must be in [0, 1]"));
}

TEST_CASE("adversarial: z distributions, mixed batches, weight clipping") {
    Toy u(Json{{"z_dist", "uniform"}}), n;
    Rng rng(5);
    auto zu = u.model->sample_z(500, rng).to_vector<float>();
    auto zn = n.model->sample_z(500, rng).to_vector<float>();
    CHECK(*std::max_element(zu.begin(), zu.end()) <= 1.f);
    CHECK(*std::min_element(zu.begin(), zu.end()) >= -1.f);
    CHECK(*std::max_element(zn.begin(), zn.end()) > 2.f);
    // An MLP D treats each example on its own, so one mixed batch equals two separate ones.
    Toy sep, mix(Json{{"d_batches", "mixed"}});
    Rng a(6), b(6);
    Scalars s1 = sep.step(a), s2 = mix.step(b);
    CHECK(s1.at("loss_d") == doctest::Approx(s2.at("loss_d")).epsilon(1e-5));
    CHECK(distance(flat(sep.model->discriminator()), flat(mix.model->discriminator())) < 1e-5);
    Toy w(Json{{"loss", "wgan"}, {"lr_d", 0.1}});
    w.step(rng);
    for (float v : flat(w.model->discriminator())) CHECK(std::abs(v) <= 0.01f);
}

TEST_CASE("adversarial: incompatible or bad options are refused with the reason") {
    using testing::contains;
    CHECK(contains(refusal({{"loss", "wgan"}, {"real_label", "0.7,1.2"}}), "no meaning"));
    CHECK(contains(refusal({{"loss", "hinge"}, {"label_flip", 0.1}}), "--label-flip"));
    CHECK(contains(refusal({{"loss", "wgan-gp"}, {"one_sided_smoothing", true}}),
                   "minimax, ns or lsgan"));
    CHECK(contains(refusal({{"clip", 0.05}}), "--loss wgan only"));
    CHECK(contains(refusal({{"loss", "wgan-gp"}, {"clip", 0.05}}), "--clip"));
    CHECK(contains(refusal({{"reg_weight", 5.0}}), "add --reg"));
    CHECK(contains(refusal({{"reg_weight", 5.0}, {"reg", "gp+drift"}}), "gp:10+drift:0.001"));
    CHECK(contains(refusal({{"reg_weight", 5.0}, {"reg", "gp:4"}}), "in --reg itself"));
    CHECK(contains(refusal({{"loss", "wgan-gp"}, {"reg", "none"}}), "unconstrained"));
    CHECK(contains(refusal({{"gp_center", 0}, {"reg", "r1"}}), "--gp-center"));
    CHECK(contains(refusal({{"gp_center", 2}, {"reg", "gp"}}), "0 or 1"));
    CHECK(contains(refusal({{"one_sided_smoothing", true}, {"real_label", "0.8"}}), "give one"));
    CHECK(contains(refusal({{"d_until_loss", "0.5"}, {"n_critic", 5}}), "give one"));
    CHECK(contains(refusal({{"d_until_loss", "low"}}), "--d-until-loss: expected a number"));
    CHECK(contains(refusal({{"real_label", "1.2,0.7"}}), "a <= b"));
    CHECK(contains(refusal({{"noise_decay", 100}}), "--instance-noise"));
    CHECK(contains(refusal({{"swap_every", 4}, {"swap_for", 4}}), "--swap-for"));
    CHECK(contains(refusal({{"swap_for", 2}}), "--swap-every"));
    CHECK(contains(refusal({{"optim_d", "adagrad"}}), "--optim-d: unknown value 'adagrad'"));
    CHECK(contains(refusal({{"loss", "bce"}}), "known losses"));
    CHECK(contains(refusal({{"label_flip", 1.5}}), "[0, 1]"));
    CHECK(contains(refusal({{"n_critic", 0}}), "--n-critic"));
    CHECK(refusal({{"loss", "lsgan"}, {"real_label", "0.7,1.2"}, {"label_flip", 0.05}}) ==
          "<accepted>");
    CHECK(refusal({{"loss", "wgan-gp"}, {"reg", "r1"}}) == "<accepted>");
    // The defaults: ns, no regularizer, wgan-gp brings its gradient penalty, wgan its clipping.
    AdversarialConfig d = adversarial_config_from(mlp_config());
    CHECK(d.loss == Loss::ns);
    CHECK(d.reg.empty());
    AdversarialConfig gp = adversarial_config_from(mlp_config({{"loss", "wgan-gp"}}));
    REQUIRE(gp.reg.terms.size() == 1);
    CHECK(gp.reg.terms[0].kind == Reg::gp);
    CHECK(gp.reg.terms[0].weight == 10);
    CHECK(adversarial_config_from(mlp_config({{"loss", "wgan"}})).clip == 0.01);
}

TEST_CASE("adversarial: DCGAN trains a few steps under every loss and regularizer") {
    Rng gen(9);
    auto data = std::make_shared<nn::TensorDataset>(uniform({8, 1, 32, 32}, -1, 1, &gen), Tensor(),
                                                    0, "noise");
    Json base = default_config("dcgan");
    base.update(Json{{"nz", 4}, {"ngf", 4}, {"ndf", 4}, {"batch_size", 8}});
    std::vector<Json> runs;
    for (const char* loss :
         {"minimax", "ns", "wgan", "wgan-gp", "lsgan", "hinge", "rsgan", "ragan", "ralsgan"})
        runs.push_back({{"loss", loss}});
    for (const char* reg : {"r1", "r2", "drift"}) runs.push_back({{"reg", reg}});
    runs.push_back({{"reg", "gp"}, {"gp_center", 0}, {"d_batches", "mixed"}});
    runs.push_back({{"loss", "wgan-gp"}, {"reg", "gp+drift"}});  // ProGAN's loss
    for (const Json& o : runs) {
        CAPTURE(o.dump());
        Json c = base;
        c.update(o);
        auto model = find_model("dcgan").build(c, *data);
        model->set_batch_source([&] { return data->get({0, 1, 2, 3, 4, 5, 6, 7}); });
        Rng rng(1);
        for (int i = 0; i < 2; ++i)
            for (auto& [k, v] : model->train_step(data->get({0, 1, 2, 3, 4, 5, 6, 7}), rng))
                CHECK_MESSAGE(std::isfinite(v), k);
    }
}

TEST_CASE("adversarial: resume is exact with replay, swaps, noise and soft labels on") {
    testing::TempDir dir("zg_adversarial");
    Json c = mlp_config({{"replay_size", 40},
                         {"replay_prob", 0.5},
                         {"swap_every", 3},
                         {"instance_noise", 0.1},
                         {"noise_decay", 5},
                         {"real_label", "0.8,1"},
                         {"label_flip", 0.1},
                         {"steps", 6},
                         {"sample_every", 0},
                         {"checkpoint_every", 0},
                         {"log_every", 1},
                         {"n", 4}});
    REQUIRE(train(c, dir / "whole", false) == 0);
    Json half = c;
    half["steps"] = 4;
    REQUIRE(train(half, dir / "split", false) == 0);
    Json resumed = Json::parse(std::ifstream(dir / "split/config.json"));
    resumed["steps"] = 6;
    REQUIRE(train(resumed, dir / "split", true) == 0);
    auto a = nn::Checkpoint::load(dir / "whole/checkpoints/latest.safetensors");
    auto b = nn::Checkpoint::load(dir / "split/checkpoints/latest.safetensors");
    CHECK(a.counter("adversarial_step") == 6);
    CHECK(b.counter("adversarial_step") == 6);
    CHECK(a.counter("replay_count") == 40);
    for (const char* part : {"G", "D", "opt_G", "opt_D", "replay", "swap_G", "swap_D"})
        for (auto& [k, t] : a.state(part))
            if (is_floating(t.dtype()))
                CHECK_MESSAGE(t.to_vector<float>() == b.state(part).at(k).to_vector<float>(), part,
                              "/", k);
    // Sampling rebuilds mlpgan from its checkpoint and gives 2-D points.
    TrainedGan g = load_trained(dir / "whole/checkpoints/latest.safetensors", false);
    Rng rng(1);
    CHECK(g.generate(g.model->sample_z(5, rng)).shape() == Shape{5, 2});
}
