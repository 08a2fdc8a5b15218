// DCGAN as a zoo model: pytorch/examples' networks trained by the shared adversarial step. The
// step's defaults are pytorch/examples' recipe: non-saturating G loss (ganhacks 2),
// Adam(2e-4, β₁ 0.5) for both nets, z ~ N(0, I) (ganhacks 3), real and fake batches through D
// separately (ganhacks 4); --loss, --reg and the ganhacks switches change it
// (zoo/train/adversarial.h).
#include "zoo/models/dcgan/networks.h"
#include "zoo/registry.h"
#include "zoo/train/adversarial.h"

namespace zg::zoo {
namespace {

DcganConfig checked_config(const Json& c, const nn::Dataset& data) {
    const Shape s = data.example_shape();
    ZG_CHECK(s.size() == 3, "dcgan: needs image data [C, H, W], but '", data.name(),
             "' has examples of shape ", shape_str(s), " (use the mlpgan model for 2-D points)");
    DcganConfig config = dcgan_config_from(c, s[0]);
    ZG_CHECK(s[1] == config.image_size && s[2] == config.image_size, "dcgan: data '", data.name(),
             "' has ", s[1], "×", s[2], " images but --image-size is ", config.image_size);
    return config;
}

}  // namespace

ModelInfo dcgan_model_info() {
    Json defaults = dcgan_arch_defaults();
    defaults.update(adversarial_defaults());
    defaults["batch_size"] = 64;
    std::map<std::string, std::string> help = dcgan_arch_help();
    help.merge(adversarial_help());
    return {"dcgan", "Deep convolutional GAN (Radford et al. 2016), as pytorch/examples builds it",
            defaults,
            [](const Json& c, const nn::Dataset& d) -> std::unique_ptr<Gan> {
                const DcganConfig config = checked_config(c, d);
                // G's weights are drawn before D's, from the run's seed.
                Rng init(c.at("seed").get<uint64_t>());
                auto g = std::make_shared<DcganGenerator>(config, &init);
                auto dis = std::make_shared<DcganDiscriminator>(config, &init);
                auto model = std::make_unique<AdversarialGan>(c, g, dis, config.nz);
                model->keep_rng("G_noise", &g->noise_rng);  // --g-noise, --g-dropout
                return model;
            },
            help};
}

}  // namespace zg::zoo
