// ProGAN's networks against a PyTorch implementation of the same recipe
// (tools/reference/progan_torch.py; fixtures from tools/fixtures/gen_progan_fixtures.py): on the
// same weights, G's and D's outputs, G's gradients through D, and the gradient-penalty gradients
// of D (second derivatives) agree at 4×4, mid-fade into 8×8 (α 0.3) and at 16×16.
#include <doctest/doctest.h>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "progan_tiny.h"
#include "test_util.h"
#include "zoo/losses/regularizers.h"
#include "zoo/models/progan/networks.h"

using namespace zg;
using namespace zg::zoo;

namespace {

const SafetensorsFile& fixtures() {
    static const SafetensorsFile f =
        load_safetensors(testing::fixture_path("progan_torch.safetensors"));
    return f;
}

nn::StateDict as_f32(const std::map<std::string, Tensor>& m) {
    nn::StateDict out;
    for (const auto& [k, v] : m) out[k] = v.to(DType::f32);
    return out;
}

// Each gradient that PyTorch stored under `prefix` matches ours; parameters PyTorch found
// unused (None) have no gradient here either.
void expect_grads(const std::vector<std::pair<std::string, Tensor>>& params,
                  const std::vector<Tensor>& grads, const std::string& prefix) {
    const auto want = testing::with_prefix(fixtures(), prefix);
    for (size_t i = 0; i < params.size(); ++i) {
        const std::string& name = params[i].first;
        auto it = want.find(name);
        CAPTURE(prefix + name);
        if (it == want.end()) {
            CHECK_FALSE(grads[i].defined());
            continue;
        }
        // No path in our graph means a gradient of exactly 0 (a bias whose only influence on
        // ∇ₓD is through LeakyReLU's piecewise-constant slope); PyTorch stores the zeros.
        const Tensor ours = grads[i].defined() ? grads[i] : zeros(it->second.shape());
        CHECK(testing::torch_error(ours, it->second, prefix + name) <= 1);
    }
}

}  // namespace

TEST_CASE("progan vs PyTorch: outputs, G's gradients and D's gradient-penalty gradients") {
    const ProganConfig c = testing::tiny_progan_config();
    ProganGenerator g(c, nullptr);
    ProganDiscriminator d(c, nullptr);
    g.load_state_dict(as_f32(testing::with_prefix(fixtures(), "G/")));
    d.load_state_dict(as_f32(testing::with_prefix(fixtures(), "D/")));
    const Tensor z = fixtures().tensors.at("z").to(DType::f32);
    const auto g_params = g.named_parameters();
    const auto d_params = d.named_parameters();
    std::vector<Tensor> gp_list, dp_list;
    for (auto& [k, p] : g_params) gp_list.push_back(p);
    for (auto& [k, p] : d_params) dp_list.push_back(p);
    for (auto [res, alpha, phase] :
         {std::tuple{4, 1.0, "4_1"}, {8, 0.3, "8_0.3"}, {16, 1.0, "16_1"}}) {
        CAPTURE(phase);
        const std::string p = phase;
        g.set_phase(res, alpha);
        d.set_phase(res, alpha);
        const Tensor x = fixtures().tensors.at("x/" + p).to(DType::f32);
        const Tensor fake = g.forward(z);
        CHECK(testing::torch_error(fake, fixtures().tensors.at("out/" + p + "/G"), "G") <= 1);
        CHECK(testing::torch_error(d.forward(x), fixtures().tensors.at("out/" + p + "/D"), "D") <=
              1);
        expect_grads(g_params, grad({sum(d.forward(fake))}, gp_list, {}, false, false, true),
                     "grad_g/" + p + "/");
        const Critic critic = [&](const Tensor& in) { return d.forward(in); };
        const Tensor penalty = gradient_penalty(critic, x, x, full({x.size(0)}, 0.5), 1);
        expect_grads(d_params, grad({penalty}, dp_list, {}, false, false, true),
                     "grad_gp/" + p + "/");
    }
}
