#include "zoo/models/dcgan/networks.h"

#include <cmath>

#include "nn/init.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/reparam.h"
#include "nn/layers/small.h"

namespace zg::zoo {

using nn::make;

namespace {

bool one_of(const std::string& v, std::initializer_list<const char*> choices) {
    for (const char* c : choices)
        if (v == c) return true;
    return false;
}

int64_t blocks_for(const DcganConfig& c) {
    validate(c);
    return c.image_size == 64 ? 3 : 2;  // upsampling blocks between 4×4 and the output layer
}

// The normalization layer `kind` for `width` channels at size×size, or null for "none".
nn::ModulePtr norm_layer(const std::string& kind, int64_t width, int64_t size) {
    if (kind == "batch") return make<nn::BatchNorm2d>(width);
    if (kind == "instance") return make<nn::InstanceNorm2d>(width, 1e-5, 0.1, true);
    if (kind == "layer") return make<nn::LayerNorm>(Shape{width, size, size});
    if (kind == "pixel") return make<nn::PixelNorm>();
    return nullptr;
}

// G's ×2 upsampling from `in` to `out` channels (ganhacks 5).
void add_upsample(nn::Sequential& s, const std::string& kind, int64_t in, int64_t out) {
    if (kind == "convtranspose") {
        s.add(make<nn::ConvTranspose2d>(in, out, 4, 2, 1, 0, false));
    } else if (kind == "nearest") {
        s.add(make<nn::Upsample>(2, "nearest")).add(make<nn::Conv2d>(in, out, 3, 1, 1, false));
    } else {  // pixelshuffle: a conv to 4× the channels, rearranged into 2×2 pixels
        s.add(make<nn::Conv2d>(in, out * 4, 3, 1, 1, false)).add(make<nn::PixelShuffle>(2));
    }
}

// D's ×2 downsampling from `in` to `out` channels (ganhacks 5: strided conv or avg pooling).
void add_downsample(nn::Sequential& s, const std::string& kind, int64_t in, int64_t out) {
    if (kind == "strided")
        s.add(make<nn::Conv2d>(in, out, 4, 2, 1, false));
    else
        s.add(make<nn::Conv2d>(in, out, 3, 1, 1, false)).add(make<nn::AvgPool2d>(2));
}

// The minibatch-discrimination kernels: B = 100 kernels of dimension C = 5, as Salimans et
// al.'s MNIST and CIFAR-10 models.
constexpr int64_t kMbdKernels = 100, kMbdKernelDims = 5;

}  // namespace

void validate(const DcganConfig& c) {
    ZG_CHECK(c.image_size == 32 || c.image_size == 64, "dcgan: --image-size must be 32 or 64, got ",
             c.image_size);
    ZG_CHECK(c.nz > 0 && c.ngf > 0 && c.ndf > 0 && c.channels > 0 && c.d_outputs > 0,
             "dcgan: --nz, --ngf, --ndf and the channel count must be positive");
    for (auto [flag, v] : {std::pair{"--norm-g", &c.norm_g}, std::pair{"--norm-d", &c.norm_d}})
        ZG_CHECK(one_of(*v, {"batch", "instance", "layer", "pixel", "none"}), flag,
                 " must be batch, instance, layer, pixel or none, got '", *v, "'");
    ZG_CHECK(one_of(c.downsample, {"strided", "avgpool"}),
             "--downsample must be strided or avgpool, got '", c.downsample, "'");
    ZG_CHECK(one_of(c.upsample, {"convtranspose", "pixelshuffle", "nearest"}),
             "--upsample must be convtranspose, pixelshuffle or nearest, got '", c.upsample, "'");
    ZG_CHECK(one_of(c.g_act, {"relu", "leaky"}), "--g-act must be relu or leaky, got '", c.g_act,
             "'");
    ZG_CHECK(one_of(c.spectral_norm, {"none", "d", "g", "both"}),
             "--spectral-norm must be none, d, g or both, got '", c.spectral_norm, "'");
    ZG_CHECK(std::isfinite(c.g_noise) && c.g_noise >= 0, "--g-noise must be a σ ≥ 0, got ",
             c.g_noise);
    ZG_CHECK(c.g_dropout >= 0 && c.g_dropout < 1,
             "--g-dropout must be a probability in [0, 1), "
             "got ",
             c.g_dropout);
    // D's first layer has no normalization in DCGAN; PixelNorm is ProGAN's G-side feature
    // normalization, and in D it would erase the per-pixel feature magnitude D classifies by.
    ZG_CHECK(c.norm_d != "pixel",
             "--norm-d pixel is not offered: pixelwise normalization is a "
             "generator trick (ProGAN); use batch, instance, layer or none for D");
    // Minibatch discrimination compares the samples of one batch; instance and layer norm
    // make D per-sample on purpose (e.g. for gradient penalties), which it would undo.
    ZG_CHECK(!c.minibatch_disc || c.norm_d == "batch" || c.norm_d == "none",
             "--minibatch-disc makes D look across the batch, which --norm-d ", c.norm_d,
             " is meant to avoid; use --norm-d batch or none with it");
}

DcganGenerator::DcganGenerator(const DcganConfig& c, Rng* gen) : config(c) {
    const int64_t blocks = blocks_for(c);
    main = register_module("main", make<nn::Sequential>());
    // After each hidden block's normalization: the activation, then G's noise sources.
    auto add_activation = [&] {
        if (c.g_act == "relu")
            main->add(make<nn::ReLU>());
        else
            main->add(make<nn::LeakyReLU>(0.2));
        if (c.g_noise > 0) main->add(make<nn::GaussianNoise>(c.g_noise, false, &noise_rng));
        if (c.g_dropout > 0) main->add(make<nn::Dropout>(c.g_dropout, true, &noise_rng));
    };
    auto add_norm = [&](int64_t width, int64_t size) {
        if (auto n = norm_layer(c.norm_g, width, size)) main->add(n);
    };
    int64_t width = c.ngf << blocks;  // 8·ngf at 64×64, 4·ngf at 32×32
    int64_t size = 4;
    // nz → width at 4×4 (a projection of the 1×1 latent, the same for every --upsample)
    main->add(make<nn::ConvTranspose2d>(c.nz, width, 4, 1, 0, 0, false));
    add_norm(width, size);
    add_activation();
    for (int64_t b = 0; b < blocks; ++b, width /= 2) {  // doubles the size, halves the width
        add_upsample(*main, c.upsample, width, width / 2);
        size *= 2;
        add_norm(width / 2, size);
        add_activation();
    }
    add_upsample(*main, c.upsample, width, c.channels);
    main->add(make<nn::Tanh>());
    dcgan_init(*this, gen);
    if (c.spectral_norm == "g" || c.spectral_norm == "both") spectral_norm_all(*this, gen);
    // Only when used, so the default nets draw their weights exactly as before.
    if (gen && (c.g_noise > 0 || c.g_dropout > 0))
        noise_rng.manual_seed(randint(0, 1 << 30, {1}, gen).item<int32_t>());
}

Tensor DcganGenerator::forward(const Tensor& z) {
    ZG_CHECK((z.dim() == 2 || (z.dim() == 4 && z.size(2) == 1 && z.size(3) == 1)) &&
                 z.size(1) == config.nz,
             "DcganGenerator: z must be [N, ", config.nz, "] or [N, ", config.nz, ", 1, 1], got ",
             shape_str(z.shape()));
    return main->forward(z.reshape({z.size(0), config.nz, 1, 1}));
}

DcganDiscriminator::DcganDiscriminator(const DcganConfig& c, Rng* gen) : config(c) {
    const int64_t blocks = blocks_for(c);
    main = register_module("main", make<nn::Sequential>());
    int64_t width = c.ndf;
    int64_t size = c.image_size / 2;
    add_downsample(*main, c.downsample, c.channels, width);
    main->add(make<nn::LeakyReLU>(0.2));
    for (int64_t b = 0; b < blocks; ++b, width *= 2) {
        add_downsample(*main, c.downsample, width, width * 2);
        size /= 2;
        if (auto n = norm_layer(c.norm_d, width * 2, size)) main->add(n);
        main->add(make<nn::LeakyReLU>(0.2));
    }
    if (c.minibatch_disc) {  // ganhacks 15: [N, width·16] plus the B closeness features
        feature_size = width * 16 + kMbdKernels;
        main->add(make<nn::Flatten>())
            .add(make<nn::MinibatchDiscrimination>(width * 16, kMbdKernels, kMbdKernelDims, gen))
            .add(make<nn::Linear>(feature_size, c.d_outputs, true, gen));
    } else {
        feature_size = width * 16;
        main->add(make<nn::Conv2d>(width, c.d_outputs, 4, 1, 0, false));  // 4×4 → one logit
    }
    dcgan_init(*this, gen);
    if (c.spectral_norm == "d" || c.spectral_norm == "both") spectral_norm_all(*this, gen);
}

Tensor DcganDiscriminator::features(const Tensor& x) {
    const DcganConfig& c = config;
    ZG_CHECK(x.dim() == 4 && x.size(1) == c.channels && x.size(2) == c.image_size &&
                 x.size(3) == c.image_size,
             "DcganDiscriminator: images must be [N, ", c.channels, ", ", c.image_size, ", ",
             c.image_size, "], got ", shape_str(x.shape()));
    Tensor h = x;
    for (size_t i = 0; i + 1 < main->size(); ++i) h = (*main)[i]->forward(h);
    return h.reshape({x.size(0), feature_size});
}

Tensor DcganDiscriminator::head(const Tensor& f) {
    Tensor in = config.minibatch_disc ? f : f.reshape({f.size(0), feature_size / 16, 4, 4});
    Tensor out = (*main)[main->size() - 1]->forward(in);
    return config.d_outputs == 1 ? out.reshape({f.size(0)})
                                 : out.reshape({f.size(0), config.d_outputs});
}

Tensor DcganDiscriminator::forward(const Tensor& x) {
    return head(features(x));
}

nlohmann::json dcgan_arch_defaults() {
    const DcganConfig d;
    return nlohmann::json{{"image_size", d.image_size},
                          {"nz", d.nz},
                          {"ngf", d.ngf},
                          {"ndf", d.ndf},
                          {"norm_g", d.norm_g},
                          {"norm_d", d.norm_d},
                          {"downsample", d.downsample},
                          {"upsample", d.upsample},
                          {"g_act", d.g_act},
                          {"g_noise", d.g_noise},
                          {"g_dropout", d.g_dropout},
                          {"minibatch_disc", d.minibatch_disc},
                          {"spectral_norm", d.spectral_norm}};
}

std::map<std::string, std::string> dcgan_arch_help() {
    return {
        {"image_size", "Image size: 32 or 64 (28x28 digits are padded to 32)"},
        {"nz", "Size of the latent vector z"},
        {"ngf", "Generator width (filters of its last hidden layer)"},
        {"ndf", "Discriminator width (filters of its first layer)"},
        {"norm_g",
         "Normalization in G's hidden blocks: batch, instance, layer, pixel or none "
         "(ganhacks 4)"},
        {"norm_d",
         "Normalization in D's hidden blocks: batch, instance, layer or none "
         "(ganhacks 4)"},
        {"downsample",
         "D's downsampling: strided (4x4 stride-2 conv) or avgpool (3x3 conv + "
         "2x2 average pooling) (ganhacks 5)"},
        {"upsample",
         "G's upsampling: convtranspose, pixelshuffle (conv + PixelShuffle) or "
         "nearest (nearest-neighbour + 3x3 conv) (ganhacks 5)"},
        {"g_act", "G's hidden activation: relu or leaky (LeakyReLU 0.2) (ganhacks 5)"},
        {"g_noise",
         "Std of Gaussian noise added after every hidden G block while training; 0: "
         "off (ganhacks 13)"},
        {"g_dropout",
         "Dropout probability after every hidden G block, active when training AND "
         "sampling; 0: off (ganhacks 17)"},
        {"minibatch_disc",
         "Minibatch discrimination layer (100 kernels of dim 5) before D's last "
         "layer (ganhacks 15)"},
        {"spectral_norm",
         "Spectral normalization of the conv/linear layers of: none, d, g or "
         "both"},
    };
}

DcganConfig dcgan_config_from(const nlohmann::json& c, int64_t channels) {
    DcganConfig d;
    d.image_size = c.at("image_size").get<int64_t>();
    d.nz = c.at("nz").get<int64_t>();
    d.ngf = c.at("ngf").get<int64_t>();
    d.ndf = c.at("ndf").get<int64_t>();
    d.channels = channels;
    // Configs written before a switch existed lack its key: they keep the default.
    auto read = [&](const char* key, auto& field) {
        if (c.contains(key)) field = c.at(key).get<std::decay_t<decltype(field)>>();
    };
    read("norm_g", d.norm_g);
    read("norm_d", d.norm_d);
    read("downsample", d.downsample);
    read("upsample", d.upsample);
    read("g_act", d.g_act);
    read("g_noise", d.g_noise);
    read("g_dropout", d.g_dropout);
    read("minibatch_disc", d.minibatch_disc);
    read("spectral_norm", d.spectral_norm);
    validate(d);
    return d;
}

Loss own_step_loss(const nlohmann::json& c, const std::string& model) {
    const Loss loss = parse_loss(c.at("loss").get<std::string>());
    ZG_CHECK(loss != Loss::wgan && loss != Loss::wgan_gp, model, ": --loss ", loss_name(loss),
             " needs weight clipping or a gradient penalty, which only the adversarial step of "
             "dcgan and mlpgan applies; use ns, minimax, lsgan, hinge, rsgan, ragan or ralsgan");
    return loss;
}

std::array<double, 2> adam_betas(const nlohmann::json& c) {
    return {c.at("beta1").get<double>(), c.at("beta2").get<double>()};
}

void set_grads(const Tensor& loss, const std::vector<Tensor>& params, bool retain) {
    // zg::grad computes only what `params` need, never the other nets' weight gradients.
    const std::vector<Tensor> grads = grad({loss}, params, {}, false, retain);
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
}

void dcgan_init(nn::Module& m, Rng* gen) {
    for (auto& [name, mod] : m.named_modules()) {
        const std::string t = mod->type_name();
        if (t == "Conv2d" || t == "ConvTranspose2d") {
            nn::init::normal_(mod->parameter("weight"), 0.0, 0.02, gen);
        } else if (t == "BatchNorm2d") {
            nn::init::normal_(mod->parameter("weight"), 1.0, 0.02, gen);
            nn::init::zeros_(mod->parameter("bias"));
        }
    }
}

void spectral_norm_all(nn::Module& m, Rng* gen) {
    for (auto& [name, mod] : m.named_modules())
        if (auto* w = dynamic_cast<nn::WeightedModule*>(mod)) nn::spectral_norm(*w, 1, 1e-12, gen);
}

}  // namespace zg::zoo
