// vaegan (zoo/models/vaegan/vaegan.cpp): the encoder's layers, a few training steps with
// feature-wise and pixel reconstruction, and the refused combinations (test_vaegan_slow.cpp: that E
// and G actually learn to reconstruct).
#include <doctest/doctest.h>

#include "test_util.h"
#include "zoo/registry.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;

namespace {

std::shared_ptr<nn::TensorDataset> tiny_images() {
    Rng gen(4);
    return std::make_shared<nn::TensorDataset>(uniform({16, 1, 32, 32}, -1, 1, &gen), Tensor(), 0,
                                               "tiny");
}

Json vaegan_config() {
    Json c = default_config("vaegan");
    c["nz"] = 6;
    c["ngf"] = 4;
    c["ndf"] = 4;
    c["seed"] = 1;
    return c;
}

nn::Batch first(const nn::TensorDataset& d, int64_t n) {
    return {d.examples().slice(0, 0, n).contiguous(), Tensor()};
}

}  // namespace

TEST_CASE("vaegan: encoder, decoder and D, a few steps of each reconstruction") {
    auto data = tiny_images();
    for (const char* recon : {"feature", "pixel"}) {
        CAPTURE(recon);
        Json c = vaegan_config();
        c["recon"] = recon;
        auto model = find_model("vaegan").build(c, *data);
        nn::Checkpoint ck;
        model->save(ck);
        // The encoder is D's conv stack ending in 2·nz outputs (μ, log σ²).
        CHECK(ck.state("E").at("main.8.weight").shape() == Shape{12, 16, 4, 4});
        CHECK(ck.state("D").at("main.8.weight").shape() == Shape{1, 16, 4, 4});
        Rng rng(3);
        Scalars s;
        for (int i = 0; i < 3; ++i) s = model->train_step(first(*data, 8), rng);
        for (const char* k : {"loss_d", "loss_g", "loss_kl", "loss_recon", "d_real", "d_fake",
                              "grad_norm_d", "grad_norm_g", "grad_norm_e"}) {
            CAPTURE(k);
            REQUIRE(s.count(k));
            CHECK(std::isfinite(s.at(k)));
        }
        CHECK(s.at("loss_kl") >= 0);
        CHECK(s.at("grad_norm_e") > 0);
    }
}

TEST_CASE("vaegan: refused options say why") {
    auto data = tiny_images();
    Json c = vaegan_config();
    c["recon"] = "l2";
    CHECK(zg::testing::contains(
        zg::testing::error_of([&] { find_model("vaegan").build(c, *data); }), "--recon"));
    c = vaegan_config();
    c["minibatch_disc"] = true;
    CHECK(zg::testing::contains(
        zg::testing::error_of([&] { find_model("vaegan").build(c, *data); }), "--minibatch-disc"));
    c = vaegan_config();
    c["loss"] = "wgan";
    CHECK(zg::testing::contains(
        zg::testing::error_of([&] { find_model("vaegan").build(c, *data); }), "wgan"));
}
