// AC-GAN (Odena, Olah & Shlens 2017; ganhacks 12: use the labels): a class-conditional DCGAN.
// G draws an image of class c from [z, embed(c)] (the class's learned embedding concatenated
// to the noise); D, besides its real/fake output, has an auxiliary classifier head on its last
// hidden features and learns to name the class of real and generated images alike, while G
// learns to make images D classifies as the class asked for. With --class-channels k, D also
// sees the class as k extra input channels (ganhacks 16: a low-dimensional embedding, spread
// over the image size). docs/MODELS.md describes the flags.
//
// G's latent is [noise (nz), one-hot class (K)], so the trainer's sample grids, the EMA, and
// `zoograd sample` / `interp` work on it unchanged; sample_z arranges the classes by grid row
// (row r of the trainer's 8-wide grids is class r mod K: --n 80 shows all ten digits).
#include "nn/layers/linear.h"
#include "nn/layers/reparam.h"
#include "nn/layers/small.h"
#include "zoo/models/dcgan/networks.h"
#include "zoo/registry.h"

namespace zg::zoo {
namespace {

using nn::make;

// Images per row of the trainer's sample grids (save_image_grid's default).
constexpr int64_t kGridRow = 8;

// labels int32 [N] → float32 [N, k] with a 1 at each label.
Tensor one_hot(const Tensor& labels, int64_t k) {
    const std::vector<int32_t> idx = labels.to_vector<int32_t>();
    std::vector<float> v(idx.size() * k, 0.f);
    for (size_t i = 0; i < idx.size(); ++i) {
        ZG_CHECK(idx[i] >= 0 && idx[i] < k, "class ", idx[i], " is out of range [0, ", k, ")");
        v[i * k + idx[i]] = 1.f;
    }
    return from_vector(v, {(int64_t)idx.size(), k});
}

class AcganGenerator : public nn::Module {
public:
    AcganGenerator(const DcganConfig& c, int64_t classes, int64_t embed_dim, Rng* gen)
        : nz(c.nz), classes(classes) {
        DcganConfig inner = c;
        inner.nz = c.nz + embed_dim;
        net = register_module("net", make<DcganGenerator>(inner, gen));
        // A bias-free linear map of the one-hot class is the class's embedding vector.
        embed = register_module("embed", make<nn::Linear>(classes, embed_dim, false, gen));
    }
    // z [N, nz + K]: noise, then the one-hot class.
    Tensor forward(const Tensor& z) override {
        ZG_CHECK(z.dim() == 2 && z.size(1) == nz + classes, "acgan generator: z must be [N, ",
                 nz + classes, "] (noise, then the one-hot class), got ", shape_str(z.shape()));
        Tensor noise = z.slice(1, 0, nz).contiguous();
        Tensor label = z.slice(1, nz, nz + classes).contiguous();
        return net->forward(concat({noise, embed->forward(label)}, 1));
    }
    std::string type_name() const override { return "AcganGenerator"; }
    const int64_t nz, classes;
    std::shared_ptr<DcganGenerator> net;
    std::shared_ptr<nn::Linear> embed;
};

class AcganDiscriminator : public nn::Module {
public:
    AcganDiscriminator(const DcganConfig& c, int64_t classes, int64_t class_channels, Rng* gen)
        : class_channels(class_channels) {
        DcganConfig inner = c;
        inner.channels = c.channels + class_channels;
        net = register_module("net", make<DcganDiscriminator>(inner, gen));
        aux = register_module("aux", make<nn::Linear>(net->feature_size, classes, true, gen));
        if (c.spectral_norm == "d" || c.spectral_norm == "both")
            nn::spectral_norm(aux, 1, 1e-12, gen);
        if (class_channels > 0)
            class_embed =
                register_module("class_embed", make<nn::Embedding>(classes, class_channels, gen));
    }
    // D's real/fake outputs [N] and class logits [N, K] for images x; `labels` (int32 [N]) are
    // the classes shown as extra channels (--class-channels; ignored without them).
    std::pair<Tensor, Tensor> discriminate(const Tensor& x, const Tensor& labels) {
        Tensor in = x;
        if (class_embed) {
            const int64_t n = x.size(0), s = x.size(2);
            Tensor e = class_embed->forward(labels).reshape({n, class_channels, 1, 1});
            in = concat({x, e * ones({1, 1, s, s})}, 1);  // the embedding at every pixel
        }
        Tensor f = net->features(in);
        return {net->head(f), aux->forward(f)};
    }
    Tensor forward(const Tensor& x) override {
        ZG_CHECK(!class_embed,
                 "acgan discriminator: with --class-channels it needs the class "
                 "of each image (discriminate(x, labels))");
        return discriminate(x, Tensor()).first;
    }
    std::string type_name() const override { return "AcganDiscriminator"; }
    const int64_t class_channels;
    std::shared_ptr<DcganDiscriminator> net;
    std::shared_ptr<nn::Linear> aux;
    std::shared_ptr<nn::Embedding> class_embed;
};

class Acgan : public Gan {
public:
    Acgan(const Json& c, const nn::Dataset& data)
        : loss_(own_step_loss(c, "acgan")), class_weight_(c.at("class_weight").get<double>()) {
        const Shape s = data.example_shape();
        ZG_CHECK(s.size() == 3, "acgan: needs image data [C, H, W], but '", data.name(),
                 "' has examples of shape ", shape_str(s));
        classes_ = data.num_classes();
        ZG_CHECK(classes_ >= 2, "acgan: needs labelled data with at least 2 classes, but '",
                 data.name(), "' has ", classes_,
                 " (mnist, fashion, or an image folder with one "
                 "sub-folder per class)");
        config_ = dcgan_config_from(c, s[0]);
        ZG_CHECK(s[1] == config_.image_size && s[2] == config_.image_size, "acgan: data '",
                 data.name(), "' has ", s[1], "×", s[2], " images but --image-size is ",
                 config_.image_size);
        const int64_t embed_dim = c.at("embed_dim").get<int64_t>();
        const int64_t class_channels = c.at("class_channels").get<int64_t>();
        ZG_CHECK(embed_dim > 0, "--embed-dim must be positive, got ", embed_dim);
        ZG_CHECK(class_channels >= 0, "--class-channels must be ≥ 0, got ", class_channels);
        ZG_CHECK(class_weight_ >= 0, "--class-weight must be ≥ 0, got ", class_weight_);
        Rng init(c.at("seed").get<uint64_t>());
        g_ = make<AcganGenerator>(config_, classes_, embed_dim, &init);
        d_ = make<AcganDiscriminator>(config_, classes_, class_channels, &init);
        opt_g_ =
            nn::make_optimizer("adam", g_->parameters(), c.at("lr_g").get<double>(), adam_betas(c));
        opt_d_ =
            nn::make_optimizer("adam", d_->parameters(), c.at("lr_d").get<double>(), adam_betas(c));
    }

    nn::Module& generator() override { return *g_; }
    nn::Module& discriminator() override { return *d_; }
    int64_t num_classes() const override { return classes_; }

    // Row r of a sample grid (kGridRow images per row) shows class r mod K.
    Tensor sample_z(int64_t n, Rng& gen) const override {
        std::vector<int32_t> labels(n);
        for (int64_t i = 0; i < n; ++i) labels[i] = (int32_t)((i / kGridRow) % classes_);
        return sample_z_for(from_vector(labels, {n}), gen);
    }
    Tensor sample_z_for(const Tensor& labels, Rng& gen) const override {
        return concat({randn({labels.size(0), config_.nz}, &gen), one_hot(labels, classes_)}, 1);
    }

    // D: minimise the adversarial loss plus class_weight · (CE on real + CE on fake classes);
    // G: minimise the adversarial G loss plus class_weight · CE of its fakes' intended classes
    // (the AC-GAN objectives L_S + L_C for D, L_C − L_S for G, with --loss's L_S).
    Scalars train_step(const nn::Batch& real, Rng& rng) override {
        ZG_CHECK(real.labels.defined(), "acgan: the batch has no labels");
        const int64_t n = real.x.size(0);
        Tensor fake_labels = randint(0, (int32_t)classes_, {n}, &rng);
        Tensor fake = g_->forward(sample_z_for(fake_labels, rng));

        auto [d_real, c_real] = d_->discriminate(real.x, real.labels);
        auto [d_fake, c_fake] = d_->discriminate(fake.detach(), fake_labels);
        Tensor class_d = cross_entropy(c_real, real.labels) + cross_entropy(c_fake, fake_labels);
        Tensor loss_d = d_loss(loss_, d_real, d_fake) + class_d * class_weight_;
        opt_d_->zero_grad();
        loss_d.backward();
        const double norm_d = nn::grad_norm(d_->parameters());
        opt_d_->step();

        auto [d_gen, c_gen] = d_->discriminate(fake, fake_labels);
        Tensor class_g = cross_entropy(c_gen, fake_labels);
        Tensor loss_g = g_loss(loss_, d_real.detach(), d_gen) + class_g * class_weight_;
        const std::vector<Tensor> params = g_->parameters();
        set_grads(loss_g, params);
        const double norm_g = nn::grad_norm(params);
        opt_g_->step();

        NoGradGuard ng;
        const double acc =
            mean(eq(amax(c_real, {1}, true), c_real) * one_hot(real.labels, classes_))
                .item<double>() *
            classes_;
        return {{"loss_d", loss_d.item<double>()},
                {"loss_g", loss_g.item<double>()},
                {"loss_class_d", class_d.item<double>()},
                {"loss_class_g", class_g.item<double>()},
                {"class_acc_real", acc},
                {"d_real", mean_d_output(loss_, d_real)},
                {"d_fake", mean_d_output(loss_, d_fake)},
                {"grad_norm_d", norm_d},
                {"grad_norm_g", norm_g}};
    }

    void save(nn::Checkpoint& ck) const override {
        ck.add_module("G", *g_).add_module("D", *d_);
        ck.add_optimizer("opt_G", *opt_g_).add_optimizer("opt_D", *opt_d_);
        ck.set_rng("G_noise", g_->net->noise_rng);
    }
    void restore(const nn::Checkpoint& ck) override {
        ck.restore_module("G", *g_);
        ck.restore_module("D", *d_);
        ck.restore_optimizer("opt_G", *opt_g_);
        ck.restore_optimizer("opt_D", *opt_d_);
        ck.restore_rng("G_noise", g_->net->noise_rng);
    }

private:
    Loss loss_;
    double class_weight_;
    int64_t classes_ = 0;
    DcganConfig config_;
    std::shared_ptr<AcganGenerator> g_;
    std::shared_ptr<AcganDiscriminator> d_;
    std::unique_ptr<nn::Optimizer> opt_g_, opt_d_;
};

}  // namespace

ModelInfo acgan_model_info() {
    Json defaults = dcgan_arch_defaults();
    defaults.update(Json{{"loss", "ns"},
                         {"lr_g", 2e-4},
                         {"lr_d", 2e-4},
                         {"beta1", 0.5},
                         {"beta2", 0.999},
                         {"batch_size", 64},
                         {"embed_dim", 10},
                         {"class_channels", 0},
                         {"class_weight", 1.0}});
    std::map<std::string, std::string> help = dcgan_arch_help();
    help.merge(std::map<std::string, std::string>{
        {"embed_dim", "acgan: size of the class embedding concatenated to z in G"},
        {"class_channels",
         "acgan: also show D the class as this many extra input channels (a "
         "learned embedding at every pixel; ganhacks 16); 0: off"},
        {"class_weight",
         "acgan: weight of the auxiliary classifier's cross-entropy in D's and "
         "G's losses"}});
    return {"acgan",
            "Auxiliary-classifier GAN (Odena et al. 2017): class-conditional DCGAN, sample "
            "--class k",
            defaults,
            [](const Json& c, const nn::Dataset& d) -> std::unique_ptr<Gan> {
                return std::make_unique<Acgan>(c, d);
            },
            help};
}

}  // namespace zg::zoo
