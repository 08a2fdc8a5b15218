#pragma once
// DCGAN (Radford, Metz, Chintala 2016) exactly as pytorch/examples builds it, so its weights
// load by name: G is a stack of transposed convolutions with BatchNorm and ReLU and a tanh
// output; D is the mirror image with strided convolutions and LeakyReLU(0.2), BatchNorm on its
// middle layers only. At 64×64 the stacks are those of pytorch/examples; at 32×32 each is one
// block shorter (G: nz → 4·ngf at 4×4 → 2·ngf → ngf → channels).
//
// The architecture switches (ganhacks 4, 5, 13, 15, 17; docs/MODELS.md) change the layers of
// those stacks; at their defaults the nets, and their state-dict names, are pytorch/examples'.
// Any other setting renames the layers after the first changed one (Sequential indices).
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "nn/layers/sequential.h"
#include "nn/optim/optimizers.h"
#include "zoo/losses/losses.h"

namespace zg::zoo {

struct DcganConfig {
    int64_t image_size = 32;  // 32 or 64
    int64_t nz = 100;         // latent size (G's input channels)
    int64_t ngf = 64;         // generator width
    int64_t ndf = 64;         // discriminator width
    int64_t channels = 1;     // image channels (D's input channels)
    // The switches (values as the flags spell them).
    std::string norm_g = "batch";            // batch | instance | layer | pixel | none
    std::string norm_d = "batch";            // same choices
    std::string downsample = "strided";      // strided | avgpool
    std::string upsample = "convtranspose";  // convtranspose | pixelshuffle | nearest
    std::string g_act = "relu";              // relu | leaky (LeakyReLU 0.2)
    double g_noise = 0;                      // σ of a GaussianNoise after each hidden G block
    double g_dropout = 0;                    // p of a Dropout after each hidden G block
    bool minibatch_disc = false;             // MinibatchDiscrimination before D's last layer
    std::string spectral_norm = "none";      // none | d | g | both
    // Outputs of D's last layer: 1 logit, or e.g. 2·nz (μ, log σ²) for vaegan's encoder.
    int64_t d_outputs = 1;
};

// Checks every switch's value and rejects meaningless combinations, naming the flag.
void validate(const DcganConfig& c);

class DcganGenerator : public nn::Module {
public:
    // `gen` draws the initial weights; the noise and dropout layers draw from noise_rng, which
    // is seeded from `gen` (a model that uses --g-noise or --g-dropout saves it in its
    // checkpoints so resume stays exact).
    explicit DcganGenerator(const DcganConfig& c, Rng* gen = nullptr);
    // z [N, nz] or [N, nz, 1, 1] → images [N, channels, S, S] in [-1, 1]
    Tensor forward(const Tensor& z) override;
    std::string type_name() const override { return "DcganGenerator"; }
    const DcganConfig config;
    Rng noise_rng;
    std::shared_ptr<nn::Sequential> main;
};

class DcganDiscriminator : public nn::Module {
public:
    explicit DcganDiscriminator(const DcganConfig& c, Rng* gen = nullptr);
    // images → logits [N], or [N, d_outputs] when d_outputs > 1 (pytorch/examples ends in a
    // Sigmoid; zoograd keeps the logit and applies the sigmoid inside the loss, which is the
    // numerically stable form; the Sigmoid has no parameters, so state dicts match)
    Tensor forward(const Tensor& x) override;
    // The input of D's last layer, [N, feature_size] flattened: what an auxiliary classifier
    // head (acgan) or a feature-wise reconstruction loss (vaegan) reads.
    Tensor features(const Tensor& x);
    // The logits from features(x).
    Tensor head(const Tensor& features);
    std::string type_name() const override { return "DcganDiscriminator"; }
    const DcganConfig config;
    int64_t feature_size = 0;
    std::shared_ptr<nn::Sequential> main;
};

// The architecture flags every DCGAN-based model takes (image_size, nz, ngf, ndf and the
// architecture switches) with their defaults, their --help texts, and the config they build.
nlohmann::json dcgan_arch_defaults();
std::map<std::string, std::string> dcgan_arch_help();
// Reads the dcgan_arch_defaults() keys of a run's config (validated); `channels` comes from
// the data.
DcganConfig dcgan_config_from(const nlohmann::json& config, int64_t channels);

// ---- shared by the DCGAN-based models with their own training step (acgan, vaegan) ----
// --loss for such a model: any but the wgan critics, which need the weight clipping or the
// gradient penalty only the adversarial step (zoo/train/adversarial.h) applies.
Loss own_step_loss(const nlohmann::json& config, const std::string& model);
// The run's --beta1 and --beta2, for nn::make_optimizer.
std::array<double, 2> adam_betas(const nlohmann::json& config);
// Sets each parameter's .grad to d loss / d parameter (other parameters untouched); `retain`
// keeps the graph for a further call.
void set_grads(const Tensor& loss, const std::vector<Tensor>& params, bool retain = false);

// pytorch/examples' weights_init: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02), shift 0.
void dcgan_init(nn::Module& m, Rng* gen = nullptr);

// Spectral normalization (Miyato et al. 2018) on every convolution and linear layer of m.
void spectral_norm_all(nn::Module& m, Rng* gen = nullptr);

}  // namespace zg::zoo
