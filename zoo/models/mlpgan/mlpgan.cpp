// An MLP GAN for low-dimensional data (the 2-D mixtures ring8 and grid25): G maps z through
// --layers hidden layers of --hidden ReLU units to a point, D maps a point through as many
// LeakyReLU(0.2) layers to one raw output. It trains in seconds on a CPU, which makes it the
// zoo's bench for comparing losses and tricks (docs/LOSSES.md, tools/toy_table.sh); every
// option of the adversarial step applies.
#include "nn/layers/linear.h"
#include "nn/layers/sequential.h"
#include "nn/layers/small.h"
#include "zoo/registry.h"
#include "zoo/train/adversarial.h"

namespace zg::zoo {
namespace {

// Linear(in → hidden), activation, … (`layers` times), Linear(hidden → out).
std::shared_ptr<nn::Sequential> mlp(int64_t in, int64_t hidden, int64_t layers, int64_t out,
                                    bool leaky, Rng* init) {
    auto net = std::make_shared<nn::Sequential>();
    for (int64_t i = 0; i < layers; ++i) {
        net->add(std::make_shared<nn::Linear>(i == 0 ? in : hidden, hidden, true, init));
        if (leaky)
            net->add(std::make_shared<nn::LeakyReLU>(0.2));
        else
            net->add(std::make_shared<nn::ReLU>());
    }
    net->add(std::make_shared<nn::Linear>(layers > 0 ? hidden : in, out, true, init));
    return net;
}

// D's [N, 1] output as the [N] raw outputs the losses take.
class MlpDiscriminator : public nn::Module {
public:
    MlpDiscriminator(int64_t dim, int64_t hidden, int64_t layers, Rng* init)
        : main(register_module("main", mlp(dim, hidden, layers, 1, true, init))) {}
    Tensor forward(const Tensor& x) override { return main->forward(x).reshape({x.size(0)}); }
    std::string type_name() const override { return "MlpDiscriminator"; }
    std::shared_ptr<nn::Sequential> main;
};

}  // namespace

ModelInfo mlpgan_model_info() {
    Json defaults = adversarial_defaults();
    // The recipe of docs/LOSSES.md's table: 8000 steps at lr 1e-3, decayed linearly to 0, which
    // gives sharp samples and most or all of the 8 ring8 modes depending on the seed (R1, not a
    // default, trades sharpness for all of them).
    defaults.update(Json{{"data", "ring8"},
                         {"nz", 8},
                         {"hidden", 128},
                         {"layers", 4},
                         {"lr_g", 1e-3},
                         {"lr_d", 1e-3},
                         {"lr_decay", "linear"},
                         {"steps", 8000},
                         {"batch_size", 256}});
    std::map<std::string, std::string> help = adversarial_help();
    help["hidden"] = "mlpgan: units per hidden layer of G and D";
    help["layers"] = "mlpgan: hidden layers of G (ReLU) and of D (LeakyReLU 0.2)";
    return {"mlpgan", "MLP GAN for 2-D point data (ring8, grid25): the loss and trick bench",
            defaults,
            [](const Json& c, const nn::Dataset& data) -> std::unique_ptr<Gan> {
                const Shape s = data.example_shape();
                ZG_CHECK(s.size() == 1,
                         "mlpgan: needs point data [D] such as ring8 or grid25, "
                         "but '",
                         data.name(), "' has examples of shape ", shape_str(s),
                         " (use dcgan for images)");
                const int64_t nz = c.at("nz"), hidden = c.at("hidden"), layers = c.at("layers");
                ZG_CHECK(nz >= 1 && hidden >= 1 && layers >= 0,
                         "mlpgan: --nz and --hidden must "
                         "be positive and --layers non-negative, got ",
                         nz, ", ", hidden, ", ", layers);
                Rng init(c.at("seed").get<uint64_t>());
                auto g = mlp(nz, hidden, layers, s[0], false, &init);
                auto d = std::make_shared<MlpDiscriminator>(s[0], hidden, layers, &init);
                return std::make_unique<AdversarialGan>(c, g, d, nz);
            },
            help};
}

}  // namespace zg::zoo
