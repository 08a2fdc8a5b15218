// vaegan learns: over 20 steps on a fixed batch the pixel reconstruction error falls (about
// 10 s on a busy 2-core machine, so labelled `slow`).
#include <doctest/doctest.h>

#include "test_util.h"
#include "zoo/registry.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;

TEST_CASE("vaegan: the pixel reconstruction error falls as E and G train") {
    // Two kinds of image, all +0.8 or all −0.8: reconstructing them needs E to tell them apart
    // and G to use z (outputting their mean, 0, keeps the error at 0.8).
    std::vector<float> v;
    for (int i = 0; i < 8; ++i) v.insert(v.end(), 32 * 32, i % 2 ? 0.8f : -0.8f);
    nn::TensorDataset data(from_vector(v, {8, 1, 32, 32}), Tensor(), 0, "two");
    Json c = default_config("vaegan");
    c["nz"] = 6;
    c["ngf"] = 4;
    c["ndf"] = 4;
    c["seed"] = 1;
    c["recon"] = "pixel";
    c["recon_weight"] = 10.0;
    c["lr_g"] = 1e-3;
    auto model = find_model("vaegan").build(c, data);
    Rng rng(3);
    const nn::Batch b{data.examples(), Tensor()};
    const double start = model->train_step(b, rng).at("loss_recon");
    double end = 0;
    for (int i = 0; i < 20; ++i) end = model->train_step(b, rng).at("loss_recon");
    CHECK(end < start * 0.93);  // measured 0.80 → 0.71 over these 20 steps
}
