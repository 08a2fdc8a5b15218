// Single nn layers against PyTorch 1.13: with PyTorch's parameters loaded by name, the output
// and the gradients of sum(out · v) with respect to the input and every parameter match, and
// BatchNorm in train mode updates its running stats (spectral norm its power-iteration vectors)
// the same way. Fixtures: tools/fixtures/gen_layer_fixtures.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/reparam.h"
#include "nn/layers/small.h"
#include "test_util.h"

using namespace zg;

namespace {

const SafetensorsFile& fixtures() {
    static const SafetensorsFile f =
        load_safetensors(testing::fixture_path("layers_torch.safetensors"));
    return f;
}

nn::StateDict with_prefix(const std::string& prefix) {
    return testing::with_prefix(fixtures(), prefix);
}

void check_close(const Tensor& a, const Tensor& b, const std::string& what) {
    const double worst = testing::torch_error(a, b, what);
    CHECK_MESSAGE(worst <= 1.0, what, ": error ", worst, " × tolerance");
}

// Loads "<name>/param/*" (strict), runs forward on "<name>/x" in the given mode, backward
// sum(out · v), and compares the output, the input gradient (for a floating-point input) and
// every parameter gradient.
void run(nn::Module& m, const std::string& name, bool train) {
    const auto& t = fixtures().tensors;
    m.load_state_dict(with_prefix(name + "/param/"));
    m.train(train);
    Tensor x = t.at(name + "/x").clone();
    const bool float_input = x.dtype() != DType::i32;
    if (float_input) x.requires_grad_();
    Tensor out = m.forward(x);
    check_close(out, t.at(name + "/out"), name + "/out");
    sum(out * t.at(name + "/v")).backward();
    if (float_input) check_close(x.grad(), t.at(name + "/grad_x"), name + "/grad_x");
    const nn::StateDict want = with_prefix(name + "/grad/");
    const nn::NamedTensors params = m.named_parameters();
    CHECK(params.size() == want.size());
    for (const auto& [k, p] : params) {
        REQUIRE_MESSAGE(want.count(k), name, ": no PyTorch gradient for ", k);
        check_close(p.grad(), want.at(k), name + "/grad/" + k);
    }
}

// Compares every buffer of m after the forward with PyTorch's "<name>/after/*".
void check_buffers_after(nn::Module& m, const std::string& name) {
    const nn::StateDict after = with_prefix(name + "/after/");
    const nn::NamedTensors buffers = m.named_buffers();
    CHECK(buffers.size() == after.size());
    for (const auto& [k, b] : buffers) {
        REQUIRE_MESSAGE(after.count(k), name, ": no PyTorch buffer ", k);
        if (b.dtype() == DType::i32)
            CHECK_MESSAGE(b.to_vector<int32_t>() == after.at(k).to_vector<int32_t>(), k);
        else
            check_close(b, after.at(k), name + "/after/" + k);
    }
}

}  // namespace

TEST_CASE("torch layer: Linear(5, 3)") {
    nn::Linear m(5, 3);
    run(m, "linear", true);
}

TEST_CASE("torch layer: Conv2d(3, 4, 3, stride 2, padding 1)") {
    nn::Conv2d m(3, 4, 3, 2, 1);
    run(m, "conv2d", true);
}

TEST_CASE("torch layer: ConvTranspose2d(4, 3, 4, stride 2, padding 1)") {
    nn::ConvTranspose2d m(4, 3, 4, 2, 1);
    run(m, "conv_transpose2d", true);
}

TEST_CASE("torch layer: BatchNorm2d(3) train mode, with the running stats after the forward") {
    nn::BatchNorm2d m(3);
    run(m, "bn_train", true);
    check_buffers_after(m, "bn_train");
}

TEST_CASE("torch layer: BatchNorm2d(3) eval mode, PyTorch's running stats") {
    nn::BatchNorm2d m(3);
    run(m, "bn_eval", false);
}

TEST_CASE("torch layer: InstanceNorm2d(3, affine=True)") {
    nn::InstanceNorm2d m(3, 1e-5, 0.1, true);
    run(m, "instance_norm2d", true);
}

TEST_CASE("torch layer: LayerNorm([4]) on [2, 3, 4]") {
    nn::LayerNorm m(Shape{4});
    run(m, "layer_norm", true);
}

TEST_CASE("torch layer: BatchNorm1d(3) train mode on [N, C], with the running stats after") {
    nn::BatchNorm1d m(3);
    run(m, "bn1d_train", true);
    check_buffers_after(m, "bn1d_train");
}

TEST_CASE("torch layer: BatchNorm1d(3) train mode on [N, C, L], with the running stats after") {
    nn::BatchNorm1d m(3);
    run(m, "bn1d_train_ncl", true);
    check_buffers_after(m, "bn1d_train_ncl");
}

TEST_CASE("torch layer: BatchNorm1d(3) eval mode, PyTorch's running stats") {
    nn::BatchNorm1d m(3);
    run(m, "bn1d_eval", false);
}

// PyTorch's initial u and v are loaded with the state dict; the train-mode forward runs one
// power iteration, so u and v after it are compared too.
TEST_CASE("torch layer: spectral_norm(Linear(5, 3)), with u and v after the forward") {
    nn::Linear m(5, 3);
    nn::spectral_norm(m);
    run(m, "sn_linear", true);
    check_buffers_after(m, "sn_linear");
}

TEST_CASE("torch layer: spectral_norm(Conv2d(3, 4, 3, stride 2, padding 1)), u and v after") {
    nn::Conv2d m(3, 4, 3, 2, 1);
    nn::spectral_norm(m);
    run(m, "sn_conv2d", true);
    check_buffers_after(m, "sn_conv2d");
}

TEST_CASE("torch layer: spectral_norm(ConvTranspose2d(4, 3, 4, 2, 1)) normalizes along dim 1") {
    nn::ConvTranspose2d m(4, 3, 4, 2, 1);
    nn::spectral_norm(m);
    run(m, "sn_conv_transpose2d", true);
    check_buffers_after(m, "sn_conv_transpose2d");
}

TEST_CASE("torch layer: spectral_norm(Conv2d) in eval mode leaves u and v alone") {
    nn::Conv2d m(3, 4, 3, 1, 1);
    nn::spectral_norm(m);
    run(m, "sn_conv2d_eval", false);
    check_buffers_after(m, "sn_conv2d_eval");
}

TEST_CASE("torch layer: weight_norm(Linear(5, 3)), g and v gradients") {
    nn::Linear m(5, 3);
    nn::weight_norm(m);
    run(m, "wn_linear", true);
}

TEST_CASE("torch layer: weight_norm(Conv2d(3, 4, 3, stride 2, padding 1)), g and v gradients") {
    nn::Conv2d m(3, 4, 3, 2, 1);
    nn::weight_norm(m);
    run(m, "wn_conv2d", true);
}

TEST_CASE("torch layer: Embedding(10, 4) on int indices [2, 3]") {
    nn::Embedding m(10, 4);
    run(m, "embedding", true);
}

TEST_CASE("torch layer: Upsample(scale 2, nearest)") {
    nn::Upsample m(2, "nearest");
    run(m, "upsample_nearest", true);
}

TEST_CASE("torch layer: Upsample(scale 2, bilinear, align_corners=False)") {
    nn::Upsample m(2, "bilinear");
    run(m, "upsample_bilinear", true);
}

TEST_CASE("torch layer: Upsample(scale 3, bilinear, align_corners=False)") {
    nn::Upsample m(3, "bilinear");
    run(m, "upsample_bilinear3", true);
}

TEST_CASE("torch layer: PixelShuffle(2)") {
    nn::PixelShuffle m(2);
    run(m, "pixel_shuffle", true);
}

TEST_CASE("torch layer: AvgPool2d(2) on an odd width") {
    nn::AvgPool2d m(2);
    run(m, "avg_pool2d", true);
}

TEST_CASE("torch layer: AvgPool2d(3, stride 2, padding 1), padding counted in the mean") {
    nn::AvgPool2d m(3, 2, 1);
    run(m, "avg_pool2d_pad", true);
}
