// acgan (zoo/models/acgan/acgan.cpp): the conditional nets' layers, a few training steps on tiny
// labelled data, the class-arranged sample latents and the --class latent path, --class-channels,
// and exact resume through the trainer.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "test_util.h"
#include "zoo/registry.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;

namespace {

// 32 random 1×32×32 images in [-1, 1] with labels 0..3.
std::shared_ptr<nn::TensorDataset> tiny_labelled() {
    Rng gen(11);
    Tensor x = uniform({32, 1, 32, 32}, -1, 1, &gen);
    Tensor y = randint(0, 4, {32}, &gen);
    return std::make_shared<nn::TensorDataset>(x, y, 4, "tiny");
}

Json acgan_config() {
    Json c = default_config("acgan");
    c["nz"] = 6;
    c["ngf"] = 4;
    c["ndf"] = 4;
    c["embed_dim"] = 3;
    c["seed"] = 2;
    return c;
}

nn::Batch batch_of(const nn::TensorDataset& d, int64_t n) {
    std::vector<int32_t> idx(n);
    for (int64_t i = 0; i < n; ++i) idx[i] = (int32_t)i;
    Tensor index = from_vector(idx, {n});
    return {index_select(d.examples(), 0, index), index_select(d.labels(), 0, index)};
}

}  // namespace

TEST_CASE("acgan: conditional G and D with an auxiliary classifier, a few training steps") {
    auto data = tiny_labelled();
    auto model = find_model("acgan").build(acgan_config(), *data);
    CHECK(model->num_classes() == 4);
    auto g = model->generator().state_dict();
    CHECK(g.at("embed.weight").shape() == Shape{3, 4});  // K=4 one-hot → 3-d embedding
    CHECK(g.at("net.main.0.weight").shape() == Shape{9, 16, 4, 4});  // nz 6 + embedding 3
    auto d = model->discriminator().state_dict();
    CHECK(d.at("aux.weight").shape() == Shape{4, 16 * 16});  // K classes from D's features
    CHECK(d.at("net.main.0.weight").shape() == Shape{4, 1, 4, 4});
    CHECK(d.count("class_embed.weight") == 0);

    Rng rng(5);
    const nn::Batch b = batch_of(*data, 16);
    Scalars s;
    for (int i = 0; i < 3; ++i) s = model->train_step(b, rng);
    for (const char* k : {"loss_d", "loss_g", "loss_class_d", "loss_class_g", "class_acc_real",
                          "d_real", "d_fake", "grad_norm_d", "grad_norm_g"}) {
        CAPTURE(k);
        REQUIRE(s.count(k));
        CHECK(std::isfinite(s.at(k)));
    }
    CHECK(s.at("grad_norm_d") > 0);
    CHECK(s.at("class_acc_real") >= 0);
    CHECK(s.at("class_acc_real") <= 1);
}

TEST_CASE("acgan: sample grids by class, and --class's latent path") {
    auto data = tiny_labelled();
    auto model = find_model("acgan").build(acgan_config(), *data);
    Rng gen(1);
    Tensor z = model->sample_z(20, gen);  // rows of 8: classes 0, 1, 2 (and wrap at K=4)
    REQUIRE(z.shape() == Shape{20, 6 + 4});
    Tensor classes = z.slice(1, 6, 10).contiguous();
    for (int64_t i = 0; i < 20; ++i) {
        CAPTURE(i);
        const std::vector<float> row = classes.slice(0, i, i + 1).contiguous().to_vector<float>();
        CHECK(row[(i / 8) % 4] == 1.0f);
        CHECK(std::accumulate(row.begin(), row.end(), 0.0f) == 1.0f);
    }
    // --class 3: every latent's class part is class 3; the noise is the seed's N(0, I).
    Rng a(7), b(7);
    Tensor z3 = model->sample_z_for(full({5}, 3, DType::i32), a);
    Tensor noise = randn({5, 6}, &b);
    CHECK(amax(abs(z3.slice(1, 0, 6).contiguous() - noise)).item<float>() == 0);
    for (int64_t i = 0; i < 5; ++i)
        CHECK(z3.slice(0, i, i + 1).slice(1, 6, 10).contiguous().to_vector<float>() ==
              std::vector<float>{0, 0, 0, 1});
    // The class changes the image G draws from the same noise.
    Tensor z0 = concat(
        {noise, z3.slice(1, 6, 10).contiguous() * 0.0 + from_vector<float>({1, 0, 0, 0}, {1, 4})},
        1);
    NoGradGuard ng;
    CHECK(amax(abs(model->generator().forward(z3) - model->generator().forward(z0))).item<float>() >
          0);
    CHECK(zg::testing::contains(
        zg::testing::error_of([&] { model->sample_z_for(full({1}, 4, DType::i32), a); }),
        "out of range"));
    // An unconditional model has no classes and refuses labelled latents.
    auto dcgan = find_model("dcgan").build(default_config("dcgan"), *data);
    CHECK(dcgan->num_classes() == 0);
    CHECK(zg::testing::contains(
        zg::testing::error_of([&] { dcgan->sample_z_for(full({1}, 0, DType::i32), a); }),
        "unconditional"));
}

TEST_CASE("acgan: --class-channels shows D the class as extra input channels") {
    auto data = tiny_labelled();
    Json c = acgan_config();
    c["class_channels"] = 2;
    auto model = find_model("acgan").build(c, *data);
    auto d = model->discriminator().state_dict();
    CHECK(d.at("net.main.0.weight").shape() == Shape{4, 1 + 2, 4, 4});
    CHECK(d.at("class_embed.weight").shape() == Shape{4, 2});
    Rng rng(5);
    Scalars s = model->train_step(batch_of(*data, 8), rng);
    CHECK(std::isfinite(s.at("loss_d")));
    // Unlabelled data and the wgan critics are refused with the reason.
    auto unlabelled = std::make_shared<nn::TensorDataset>(zeros({4, 1, 32, 32}), Tensor(), 0, "u");
    CHECK(zg::testing::contains(
        zg::testing::error_of([&] { find_model("acgan").build(acgan_config(), *unlabelled); }),
        "labelled"));
    c = acgan_config();
    c["loss"] = "wgan-gp";
    CHECK(zg::testing::contains(zg::testing::error_of([&] { find_model("acgan").build(c, *data); }),
                                "gradient penalty"));
}

TEST_CASE("acgan: resume is exact (2 + 2 steps == 4 steps)") {
    zg::testing::TempDir dir("zg_acgan");
    zg::testing::write_tiny_mnist(dir.path / "data");
    Json c = acgan_config();
    c["data_root"] = (dir.path / "data").string();
    c["batch_size"] = 16;
    c["sample_every"] = 0;
    c["checkpoint_every"] = 0;
    c["log_every"] = 1;
    c["n"] = 8;
    c["g_dropout"] = 0.2;  // G's own random stream must resume too
    c["steps"] = 4;
    REQUIRE(train(c, dir / "whole", false) == 0);
    c["steps"] = 2;
    REQUIRE(train(c, dir / "split", false) == 0);
    Json again = Json::parse(std::ifstream(dir / "split/config.json"));
    again["steps"] = 4;
    REQUIRE(train(again, dir / "split", true) == 0);
    nn::Checkpoint a = nn::Checkpoint::load(dir / "whole/checkpoints/latest.safetensors");
    nn::Checkpoint b = nn::Checkpoint::load(dir / "split/checkpoints/latest.safetensors");
    int compared = 0;
    for (const char* part : {"G", "D", "opt_G", "opt_D"})
        for (auto& [k, t] : a.state(part)) {
            CAPTURE(k);
            CHECK(t.to(DType::f64).to_vector<double>() ==
                  b.state(part).at(k).to(DType::f64).to_vector<double>());
            ++compared;
        }
    CHECK(compared > 20);
    // The trained model rebuilds from its checkpoint with its classes (what sample --class uses).
    TrainedGan t = load_trained(dir / "whole/checkpoints/latest.safetensors", false);
    CHECK(t.model->num_classes() == 10);
    Rng gen(0);
    CHECK(t.generate(t.model->sample_z_for(full({3}, 9, DType::i32), gen)).shape() ==
          Shape{3, 1, 32, 32});
}
