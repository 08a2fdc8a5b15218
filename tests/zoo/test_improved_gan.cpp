// improved_gan: the networks of OpenAI's MNIST model, a few steps of each option on synthetic
// digits, and exact resume (the labelled subset is rebuilt from --labels and --label-seed, the
// rest comes from the checkpoint).
#include <doctest/doctest.h>

#include <cmath>

#include "test_sgan_util.h"
#include "test_util.h"
#include "zoo/train/semi_supervised.h"

using namespace zg;
using namespace zg::zoo;

TEST_CASE("improved_gan: OpenAI's MNIST networks, weight-normalized D initialized from data") {
    auto data = testing::synthetic_digits(40, 1);
    auto model = make_improved_gan(testing::semisup_config("improved_gan", {}), *data, nullptr);
    const nn::StateDict d = model->discriminator().state_dict();
    CHECK(d.at("fc0.weight_v").shape() == Shape{1000, 784});
    CHECK(d.at("fc4.weight_v").shape() == Shape{250, 250});
    CHECK(d.at("out.weight_v").shape() == Shape{10, 250});
    CHECK(d.at("out.weight_g").shape() == Shape{10, 1});
    // The data-dependent init moved g away from its initial 1.
    CHECK(std::abs(mean(d.at("fc0.weight_g")).item<double>() - 1.0) > 1e-3);
    const nn::StateDict g = model->generator().state_dict();
    CHECK(g.at("net.fc0.weight").shape() == Shape{500, 100});
    CHECK(g.at("net.out.weight_v").shape() == Shape{784, 500});
    Rng gen(2);
    const Tensor z = model->sample_z(4, gen);
    CHECK(amin(z).item<float>() >= 0.0f);  // uniform latents
    CHECK(amax(z).item<float>() < 1.0f);
    const Tensor img = model->generator().forward(z);
    CHECK(img.shape() == Shape{4, 1, 28, 28});
    CHECK(amax(abs(img)).item<float>() <= 1.0f);
    CHECK(model->discriminator().forward(img).shape() == Shape{4, 10});

    // `zoograd sample` rebuilds the model on a stand-in with a class count but no labels: it
    // can generate, and refuses to train.
    nn::TensorDataset stand_in(zeros({1, 1, 28, 28}), Tensor(), 10, "mnist");
    auto sampler =
        make_improved_gan(testing::semisup_config("improved_gan", {}), stand_in, nullptr);
    CHECK(sampler->generator().forward(z).shape() == Shape{4, 1, 28, 28});
    CHECK(testing::contains(testing::error_of([&] {
                                sampler->train_step(data->get({0, 1}), gen);
                            }),
                            "needs a labelled data set"));
}

TEST_CASE("improved_gan: a few steps of each option on synthetic digits") {
    auto train_set = testing::synthetic_digits(40, 3);
    auto test_set = testing::synthetic_digits(20, 4);
    for (const Json& extra :
         {Json{}, Json{{"minibatch_disc", true}}, Json{{"hist_avg", 0.1}},
          Json{{"real_target", 0.9}}, Json{{"vbn", true}}, Json{{"supervised_only", true}}}) {
        CAPTURE(extra.dump());
        auto model =
            make_improved_gan(testing::semisup_config("improved_gan", extra), *train_set, test_set);
        const bool baseline = extra.contains("supervised_only");
        const Tensor g_before =
            model->generator().state_dict().at("net.fc0.weight").detach().clone();
        Rng rng(1);
        Scalars s;
        for (int step = 0; step < 2; ++step)
            s = model->train_step(train_set->get(testing::range(step * 10, 10)), rng);
        for (const char* k : {"loss_d", "loss_g", "loss_lab", "loss_unl", "d_real", "d_fake"}) {
            const bool expected =
                !baseline || k == std::string("loss_d") || k == std::string("loss_lab");
            REQUIRE_MESSAGE(s.count(k) == (expected ? 1u : 0u), k);
            if (expected) CHECK_MESSAGE(std::isfinite(s.at(k)), k);
        }
        // The baseline never touches G (and the trainer then skips sample quality and health).
        CHECK(model->trains_generator() == !baseline);
        const double g_change =
            testing::max_abs_diff(model->generator().state_dict().at("net.fc0.weight"), g_before);
        CHECK((g_change == 0.0) == baseline);
        const Scalars e = model->evaluate();
        CHECK(e.at("test_acc") >= 0.0);
        CHECK(e.at("test_acc_live") <= 1.0);
    }
    using testing::contains, testing::error_of;
    auto bad = [&](const Json& extra) {
        return error_of([&] {
            make_improved_gan(testing::semisup_config("improved_gan", extra), *train_set, nullptr);
        });
    };
    CHECK(contains(bad({{"real_target", 1.5}}), "--real-target"));
    CHECK(contains(bad({{"hist_avg", -1.0}}), "--hist-avg"));
    CHECK(contains(bad({{"ema_d", 1.0}}), "--ema-d"));
    CHECK(contains(bad({{"adam_eps", -1.0}}), "--adam-eps"));
    CHECK(contains(bad({{"supervised_only", true}, {"vbn", true}}), "--vbn"));
    CHECK(contains(bad({{"supervised_only", true}, {"real_target", 0.9}}), "--real-target"));
    // It keeps OpenAI's constant learning rate: the trainer's --lr-decay is refused.
    auto model =
        make_improved_gan(testing::semisup_config("improved_gan", {}), *train_set, nullptr);
    CHECK(contains(error_of([&] { model->set_lr_scale(0.5); }), "--lr-decay"));
}

// Adam's step is lr·m̂/(√v̂ + ε): --adam-eps reaches both optimizers. With ε far above every
// √v̂ the first step moves each weight by about lr·|g|/ε (nearly nothing); with 1e-8, by lr.
TEST_CASE("improved_gan: --adam-eps is the epsilon of D's and G's Adam") {
    auto data = testing::synthetic_digits(40, 3);
    auto largest_change = [&](double eps, bool of_g) {
        auto model = make_improved_gan(testing::semisup_config("improved_gan", {{"adam_eps", eps}}),
                                       *data, nullptr);
        nn::Module& m = of_g ? model->generator() : model->discriminator();
        std::vector<Tensor> before;
        for (const Tensor& p : m.parameters()) before.push_back(p.detach().clone());
        Rng rng(1);
        model->train_step(data->get(testing::range(0, 10)), rng);
        double change = 0;
        for (size_t i = 0; i < before.size(); ++i)
            change = std::max(change, amax(abs(m.parameters()[i] - before[i])).item<double>());
        return change;
    };
    for (bool of_g : {false, true}) {
        CAPTURE(of_g);
        CHECK(largest_change(1e-8, of_g) == doctest::Approx(0.003).epsilon(0.05));
        CHECK(largest_change(1e4, of_g) < 1e-5);
    }
}

TEST_CASE("improved_gan: resuming from a checkpoint continues bit for bit") {
    auto data = testing::synthetic_digits(40, 5);
    auto test_set = testing::synthetic_digits(20, 6);
    const Json c = testing::semisup_config("improved_gan", {{"hist_avg", 0.01}});
    auto batch = [&](int i) { return data->get(testing::range((i * 10) % 40, 10)); };

    auto straight = make_improved_gan(c, *data, test_set);
    Rng rng_straight(3);
    for (int i = 0; i < 4; ++i) straight->train_step(batch(i), rng_straight);

    nn::Checkpoint ck;
    {
        auto first = make_improved_gan(c, *data, test_set);
        Rng rng(3);
        for (int i = 0; i < 2; ++i) first->train_step(batch(i), rng);
        first->save(ck);
        ck.set_rng("train", rng);
    }
    // A fresh model (another construction, its own init) restored from the checkpoint.
    auto resumed = make_improved_gan(c, *data, test_set);
    resumed->restore(ck);
    Rng rng(99);
    ck.restore_rng("train", rng);
    for (int i = 2; i < 4; ++i) resumed->train_step(batch(i), rng);

    for (auto* which : {"G", "D"}) {
        const nn::StateDict a = std::string(which) == "G" ? straight->generator().state_dict()
                                                          : straight->discriminator().state_dict();
        const nn::StateDict b = std::string(which) == "G" ? resumed->generator().state_dict()
                                                          : resumed->discriminator().state_dict();
        for (const auto& [k, v] : a)
            CHECK_MESSAGE(testing::max_abs_diff(v.to(DType::f64), b.at(k).to(DType::f64)) == 0.0,
                          which, ".", k);
    }
    CHECK(straight->evaluate() == resumed->evaluate());
}

// The test-accuracy average is bias-corrected: after step 1 it is D's weights, after step 2
// β/(1+β)·p₁ + 1/(1+β)·p₂. (An average started at D's initial weights, as before the fix,
// kept ~94% of the random init after a whole epoch and scored 13% on MNIST.)
TEST_CASE("improved_gan: the weight average of D is bias-corrected from the first step") {
    auto data = testing::synthetic_digits(40, 7);
    const double beta = 0.9;
    auto model = make_improved_gan(testing::semisup_config("improved_gan", {{"ema_d", beta}}),
                                   *data, nullptr);
    Rng rng(5);
    // The average and D's weights after step i (copies: both are live tensors).
    auto after_step = [&](int i) {
        model->train_step(data->get(testing::range(i * 10, 10)), rng);
        nn::Checkpoint ck;
        model->save(ck);
        nn::StateDict ema, d;
        for (const auto& [k, v] : ck.state("ema_D")) ema[k] = v.clone();
        for (const auto& [k, v] : model->discriminator().state_dict()) d[k] = v.clone();
        return std::make_pair(ema, d);
    };
    const auto [ema1, p1] = after_step(0);
    for (const auto& [k, v] : p1) CHECK_MESSAGE(testing::max_abs_diff(ema1.at(k), v) == 0.0, k);
    const auto [ema2, p2] = after_step(1);
    for (const auto& [k, v] : p2) {
        const Tensor expected = p1.at(k) * (beta / (1 + beta)) + v * (1 / (1 + beta));
        CHECK_MESSAGE(testing::max_abs_diff(ema2.at(k), expected) < 1e-6, k);
    }
}
