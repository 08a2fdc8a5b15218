// zoograd's DCGAN against PyTorch 1.13 running pytorch/examples' netG/netD (64×64×3) and the
// one-block-shorter 32×32×1 variant: PyTorch's initial weights loaded by name give the same
// outputs, and one training step (zoo/models/dcgan/dcgan.cpp's, with the stored z) the same weights
// and BatchNorm buffers. Fixtures: tools/fixtures/gen_dcgan_fixtures.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "nn/optim/optimizers.h"
#include "test_util.h"
#include "zoo/models/dcgan/networks.h"

using namespace zg;
using namespace zg::zoo;

namespace {

using testing::with_prefix;

std::string fixture(const std::string& name) {
    return testing::fixture_path(name);
}

double rel_err(const Tensor& a, const Tensor& b, const std::string& what) {
    return testing::torch_error(a, b, what);
}

void check_close(const Tensor& a, const Tensor& b, const std::string& what, double& worst) {
    const double e = rel_err(a, b, what);
    worst = std::max(worst, e);
    CHECK_MESSAGE(e <= 1.0, what, ": error ", e, " × tolerance");
}

void check_state(const nn::Module& m, const SafetensorsFile& f, const std::string& prefix,
                 double& worst) {
    const nn::StateDict want = with_prefix(f, prefix);
    const nn::StateDict got = m.state_dict();
    CHECK(got.size() == want.size());
    for (const auto& [k, v] : want) {
        REQUIRE_MESSAGE(got.count(k), prefix, k);
        if (v.dtype() == DType::i32) {
            CHECK_MESSAGE(got.at(k).to_vector<int32_t>() == v.to_vector<int32_t>(), prefix, k);
        } else {
            check_close(got.at(k), v, prefix + k, worst);
        }
    }
}

void run(const DcganConfig& c, const std::string& file) {
    const SafetensorsFile f = load_safetensors(fixture(file));
    DcganGenerator g(c);
    DcganDiscriminator d(c);
    g.load_state_dict(with_prefix(f, "G/"));
    d.load_state_dict(with_prefix(f, "D/"));
    const Tensor z = f.tensors.at("z");
    const Tensor x = f.tensors.at("x");
    const int64_t n = x.size(0);

    double worst_out = 0, worst_after = 0;
    nn::AdamOptions o;
    o.lr = 2e-4;
    o.betas = {0.5, 0.999};
    nn::Adam opt_g(g.parameters(), o);
    nn::Adam opt_d(d.parameters(), o);

    // zoo/models/dcgan/dcgan.cpp's train_step, with the stored z.
    Tensor fake = g.forward(z);
    Tensor d_real = d.forward(x);
    check_close(fake, f.tensors.at("out/G"), "out/G", worst_out);
    check_close(d_real, f.tensors.at("out/D_real"), "out/D_real", worst_out);
    Tensor d_fake = d.forward(fake.detach());
    Tensor loss_d = bce_with_logits(d_real, ones({n})) + bce_with_logits(d_fake, zeros({n}));
    opt_d.zero_grad();
    loss_d.backward();
    opt_d.step();

    Tensor d_gen = d.forward(fake);
    Tensor loss_g = bce_with_logits(d_gen, ones({n}));
    std::vector<Tensor> params = g.parameters();
    std::vector<Tensor> grads = grad({loss_g}, params);
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
    opt_g.step();

    check_close(loss_d.reshape({1}), f.tensors.at("loss_d"), "loss_d", worst_out);
    check_close(loss_g.reshape({1}), f.tensors.at("loss_g"), "loss_g", worst_out);
    check_state(g, f, "after/G/", worst_after);
    check_state(d, f, "after/D/", worst_after);
    MESSAGE(file, ": worst error (in units of the 1e-6 + 1e-4·|b| tolerance): outputs and losses ",
            worst_out, ", weights and buffers after one step ", worst_after);
}

}  // namespace

TEST_CASE("dcgan torch 64x64x3: pytorch/examples' weights, outputs and one Adam step") {
    run(DcganConfig{.image_size = 64, .nz = 16, .ngf = 8, .ndf = 8, .channels = 3},
        "dcgan_torch_64.safetensors");
}

TEST_CASE("dcgan torch 32x32x1: the one-block-shorter variant, outputs and one Adam step") {
    run(DcganConfig{.image_size = 32, .nz = 16, .ngf = 8, .ndf = 8, .channels = 1},
        "dcgan_torch_32.safetensors");
}
