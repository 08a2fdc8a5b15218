// sgan: the semi-supervised GAN (Odena 2016; Salimans et al. 2016 §5): D is a DCGAN-style
// conv net that classifies 28×28 images into N real classes + fake, and its product is the
// classifier. D has N logits with the fake logit fixed at 0 (see semi_supervised.h for D(x) and the
// losses), trained each step on three batches:
//   labelled real   supervised cross-entropy over the N classes
//   unlabelled real −log D(x)          } ½(...) each, the unsupervised loss
//   fake G(z)       −log(1 − D(G(z)))  }
// and G on −log D(G(z)) (non-saturating), or with --feature-matching on the distance between
// the batch means of D's last hidden features of real and fake data.
// --supervised-only trains the same D on the same K labelled examples with the cross-entropy
// alone (no G, no unlabelled data): the baseline the SGAN must beat.
//
// Networks at 28×28 (MNIST's own size, no padding):
//   D: conv 4×4/2 → ndf·14² → LeakyReLU(0.2) → conv 4×4/2 → 2ndf·7² → LeakyReLU → conv 3×3/2
//      → 4ndf·4² → LeakyReLU → flatten (the features) → dropout → dense → N logits.
//      No batch norm: D sees labelled, unlabelled and fake batches separately, and the test
//      accuracy is measured in eval mode, where BatchNorm would normalize with running
//      statistics mixed from real and fake batches; dropout regularizes it instead.
//   G: z ~ N(0, I) → transposed conv 7×7 → 2ngf·7² → BN → ReLU → transposed conv 4×4/2 →
//      ngf·14² → BN → ReLU → transposed conv 4×4/2 → 1·28² → tanh (DCGAN's G, resized).
//   Conv weights N(0, 0.02), BatchNorm scale N(1, 0.02) (DCGAN's init); Adam(1e-3, β₁ 0.5):
//   with DCGAN's 2e-4 the classifier learns more slowly (100 labels: 89.2% after 2.4 epochs,
//   against 95.7% after 2.5 with 1e-3, which levels off at ~97%; docs/SGAN.md).
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/sequential.h"
#include "nn/layers/small.h"
#include "zoo/models/dcgan/networks.h"
#include "zoo/registry.h"
#include "zoo/train/semi_supervised.h"

namespace zg::zoo {
namespace {

class SganGenerator : public nn::Module {
public:
    SganGenerator(int64_t nz, int64_t ngf, Rng* init) : nz(nz) {
        main = register_module("main", nn::make<nn::Sequential>());
        main->add(nn::make<nn::ConvTranspose2d>(nz, 2 * ngf, 7, 1, 0, 0, false))
            .add(nn::make<nn::BatchNorm2d>(2 * ngf))
            .add(nn::make<nn::ReLU>())
            .add(nn::make<nn::ConvTranspose2d>(2 * ngf, ngf, 4, 2, 1, 0, false))
            .add(nn::make<nn::BatchNorm2d>(ngf))
            .add(nn::make<nn::ReLU>())
            .add(nn::make<nn::ConvTranspose2d>(ngf, 1, 4, 2, 1, 0, false))
            .add(nn::make<nn::Tanh>());
        dcgan_init(*this, init);
    }
    Tensor forward(const Tensor& z) override {
        ZG_CHECK(z.dim() == 2 && z.size(1) == nz, "sgan G: z must be [N, ", nz, "], got ",
                 shape_str(z.shape()));
        return main->forward(z.reshape({z.size(0), nz, 1, 1}));
    }
    std::string type_name() const override { return "SganGenerator"; }
    const int64_t nz;
    std::shared_ptr<nn::Sequential> main;
};

class SganDiscriminator : public nn::Module {
public:
    SganDiscriminator(int64_t ndf, int64_t classes, double dropout, Rng* init, Rng* noise) {
        features_net = register_module("features", nn::make<nn::Sequential>());
        features_net->add(nn::make<nn::Conv2d>(1, ndf, 4, 2, 1))
            .add(nn::make<nn::LeakyReLU>(0.2))
            .add(nn::make<nn::Conv2d>(ndf, 2 * ndf, 4, 2, 1))
            .add(nn::make<nn::LeakyReLU>(0.2))
            .add(nn::make<nn::Conv2d>(2 * ndf, 4 * ndf, 3, 2, 1))
            .add(nn::make<nn::LeakyReLU>(0.2))
            .add(nn::make<nn::Flatten>());
        dropout_ = register_module("dropout", nn::make<nn::Dropout>(dropout, false, noise));
        out_ = register_module("out", nn::make<nn::Linear>(4 * ndf * 16, classes, true, init));
        dcgan_init(*this, init);
    }
    // images [N, 1, 28, 28] → the last hidden layer [N, 4ndf·16]
    Tensor features(const Tensor& x) {
        ZG_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
                 "sgan D: expected images [N, 1, 28, 28], got ", shape_str(x.shape()));
        return features_net->forward(x);
    }
    // images → logits [N, classes]
    Tensor forward(const Tensor& x) override {
        return out_->forward(dropout_->forward(features(x)));
    }
    std::string type_name() const override { return "SganDiscriminator"; }
    std::shared_ptr<nn::Sequential> features_net;

private:
    std::shared_ptr<nn::Dropout> dropout_;
    std::shared_ptr<nn::Linear> out_;
};

class Sgan : public Gan {
public:
    Sgan(const Json& c, const nn::Dataset& data, std::shared_ptr<nn::Dataset> test)
        : config_(c), test_(std::move(test)) {
        const Shape s = data.example_shape();
        ZG_CHECK((s == Shape{1, 28, 28}),
                 "sgan: needs 28×28 single-channel images (mnist, "
                 "fashion) at --image-size 28, but '",
                 data.name(), "' has examples of shape ", shape_str(s));
        nz_ = c.at("nz").get<int64_t>();
        const int64_t ngf = c.at("ngf").get<int64_t>(), ndf = c.at("ndf").get<int64_t>();
        ZG_CHECK(nz_ > 0 && ngf > 0 && ndf > 0,
                 "sgan: --nz, --ngf and --ndf must be positive, "
                 "got ",
                 nz_, ", ", ngf, ", ", ndf);
        const double dropout = c.at("dropout").get<double>();
        ZG_CHECK(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got ", dropout);
        unlabelled_weight_ = c.at("unlabelled_weight").get<double>();
        ZG_CHECK(unlabelled_weight_ >= 0, "--unlabelled-weight must be ≥ 0, got ",
                 unlabelled_weight_);
        supervised_only_ = c.at("supervised_only").get<bool>();
        feature_matching_ = c.at("feature_matching").get<bool>();
        const uint64_t seed = c.at("seed").get<uint64_t>();

        Rng init(seed);
        noise_.manual_seed(seed + 4);
        g_ = std::make_shared<SganGenerator>(nz_, ngf, &init);
        // 10 logits for MNIST-like data; a stand-in without labels (`zoograd sample`) too.
        const int64_t classes = data.num_classes() > 0 ? data.num_classes() : 10;
        d_ = std::make_shared<SganDiscriminator>(ndf, classes, dropout, &init, &noise_);
        // Built on a stand-in without labels, the model can only generate (see improved_gan).
        if (has_labels(data)) {
            LabelledSubset lab = balanced_label_split(data, c.at("labels").get<int64_t>(),
                                                      c.at("label_seed").get<uint64_t>());
            lab_batches_ = std::make_unique<LabelledBatches>(
                lab.data, c.at("batch_size").get<int64_t>(), seed + 3);
        }
        opt_g_ =
            nn::make_optimizer("adam", g_->parameters(), c.at("lr_g").get<double>(), adam_betas(c));
        opt_d_ =
            nn::make_optimizer("adam", d_->parameters(), c.at("lr_d").get<double>(), adam_betas(c));
    }

    nn::Module& generator() override { return *g_; }
    nn::Module& discriminator() override { return *d_; }
    Tensor sample_z(int64_t n, Rng& gen) const override { return randn({n, nz_}, &gen); }
    bool trains_generator() const override { return !supervised_only_; }

    Scalars train_step(const nn::Batch& real, Rng& rng) override {
        ZG_CHECK(lab_batches_,
                 "sgan: training needs a labelled data set (mnist, fashion); this "
                 "model was built without labels");
        const nn::Batch lab = lab_batches_->next();
        Tensor logits_lab = d_->forward(lab.x);
        Tensor loss_lab = supervised_loss(logits_lab, lab.labels);
        Scalars out{{"loss_lab", loss_lab.item<double>()},
                    {"train_acc", batch_accuracy(logits_lab, lab.labels)}};
        if (supervised_only_) {
            opt_d_->zero_grad();
            loss_lab.backward();
            opt_d_->step();
            out["loss_d"] = out["loss_lab"];
            return out;
        }

        // D: CE on the labelled batch + w·½(−log D(x_unl) − log(1 − D(G(z))))
        const int64_t n = real.x.size(0);
        Tensor fake = g_->forward(sample_z(n, rng));
        Tensor logits_unl = d_->forward(real.x);
        Tensor logits_fake = d_->forward(fake.detach());
        Tensor loss_unl = unsupervised_d_loss(logits_unl, logits_fake);
        Tensor loss_d = loss_lab + loss_unl * unlabelled_weight_;
        opt_d_->zero_grad();
        loss_d.backward();
        opt_d_->step();

        // G: −log D(G(z)) on the same fakes, or feature matching against the unlabelled batch.
        Tensor loss_g;
        if (feature_matching_) {
            Tensor f_real;
            {
                NoGradGuard ng;
                f_real = d_->features(real.x);
            }
            loss_g = feature_matching_loss(f_real, d_->features(fake));
        } else {
            loss_g = generator_ns_loss(d_->forward(fake));
        }
        std::vector<Tensor> params = g_->parameters();
        std::vector<Tensor> grads = grad({loss_g}, params);
        for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
        opt_g_->step();

        NoGradGuard ng;
        out["loss_d"] = loss_d.item<double>();
        out["loss_unl"] = loss_unl.item<double>();
        out["loss_g"] = loss_g.item<double>();
        out["d_real"] = mean(exp(log_d(logits_unl))).item<double>();
        out["d_fake"] = mean(exp(log_d(logits_fake))).item<double>();
        return out;
    }

    Scalars evaluate() override {
        if (!test_)
            test_ = nn::load_dataset(config_.at("data"), false, 28, 0, config_.at("data_root"));
        return {{"test_acc", classification_accuracy(*d_, *test_)}};
    }

    void save(nn::Checkpoint& ck) const override {
        ck.add_module("G", *g_).add_module("D", *d_);
        ck.add_optimizer("opt_G", *opt_g_).add_optimizer("opt_D", *opt_d_);
        ck.set_rng("d_noise", noise_);
        if (lab_batches_) lab_batches_->save(ck, "labelled");
    }
    void restore(const nn::Checkpoint& ck) override {
        ck.restore_module("G", *g_);
        ck.restore_module("D", *d_);
        ck.restore_optimizer("opt_G", *opt_g_);
        ck.restore_optimizer("opt_D", *opt_d_);
        ck.restore_rng("d_noise", noise_);
        if (lab_batches_) lab_batches_->restore(ck, "labelled");
    }

private:
    Json config_;
    std::shared_ptr<nn::Dataset> test_;
    int64_t nz_ = 100;
    double unlabelled_weight_ = 1;
    bool supervised_only_ = false, feature_matching_ = false;
    Rng noise_;  // D's dropout (saved, so resume is exact)
    std::shared_ptr<SganGenerator> g_;
    std::shared_ptr<SganDiscriminator> d_;
    std::unique_ptr<LabelledBatches> lab_batches_;
    std::unique_ptr<nn::Optimizer> opt_g_, opt_d_;
};

}  // namespace

std::unique_ptr<Gan> make_sgan(const Json& config, const nn::Dataset& train,
                               std::shared_ptr<nn::Dataset> test) {
    return std::make_unique<Sgan>(config, train, std::move(test));
}

ModelInfo sgan_model_info() {
    return {
        "sgan",
        "Semi-supervised GAN (Odena 2016): a DCGAN-style D classifying N real classes + fake, "
        "trained on labelled, unlabelled and fake batches; --supervised-only is the baseline",
        Json{{"image_size", 28},
             {"labels", 100},
             {"label_seed", 1},
             {"nz", 100},
             {"ngf", 32},
             {"ndf", 32},
             {"dropout", 0.5},
             {"lr_g", 1e-3},
             {"lr_d", 1e-3},
             {"beta1", 0.5},
             {"beta2", 0.999},
             {"batch_size", 64},
             {"unlabelled_weight", 1.0},
             {"feature_matching", false},
             {"supervised_only", false}},
        [](const Json& c, const nn::Dataset& d) { return make_sgan(c, d, nullptr); },
        {{"image_size", "Image size (sgan and improved_gan need 28: MNIST's own size, no padding)"},
         {"labels", "number of labelled training examples, the same number per class"},
         {"label_seed", "seed of the choice of the labelled examples"},
         {"nz", "latent size"},
         {"ngf", "generator width"},
         {"ndf", "discriminator width"},
         {"dropout", "dropout probability before D's output layer"},
         {"unlabelled_weight", "weight of D's unsupervised (real vs fake) loss"},
         {"feature_matching", "train G by feature matching instead of -log D(G(z))"},
         {"supervised_only", "train D alone on the labelled examples (the baseline)"}}};
}

}  // namespace zg::zoo
