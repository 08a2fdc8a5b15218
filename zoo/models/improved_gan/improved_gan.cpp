// improved_gan: the semi-supervised MNIST model of Salimans et al. 2016 ("Improved Techniques
// for Training GANs"), as OpenAI's improved-gan code builds it
// (mnist_svhn_cifar10/train_mnist_feature_matching.py and nn.py):
//   G: z ~ U[0, 1)^100 → dense 500 (no bias) → batch norm (no scale) → softplus → dense 500 → BN
//      → softplus → weight-normalized dense 784 → sigmoid
//   D: x in [0, 1] → Gaussian noise σ 0.3 → [weight-normalized dense → ReLU → Gaussian noise
//      σ 0.5] for 1000, 500, 250, 250, 250 units → weight-normalized dense 10 (logits; the fake
//      class's logit is fixed at 0, see semi_supervised.h). The hidden layers' weight norms g are
//      set by the data-dependent initialization and then frozen (their train_scale=False); the
//      output layer's g trains.
//   D loss: supervised cross-entropy on a labelled batch + ½(−log D(x) on an unlabelled batch
//      − log(1 − D(G(z))) on a fake batch); G loss: feature matching on D's last hidden layer.
//   Adam lr 0.003, β₁ 0.5, ε 1e-4 (below), batch 100, data-dependent init on 500 training
//   images, test accuracy from an exponential moving average of D's weights (decay 0.9999,
//   OpenAI's a ← a + 0.0001(p − a), bias-corrected: see ema_step). The MNIST script keeps lr
//   constant for its 300 epochs (the linear decay is in the CIFAR and SVHN scripts), so there is
//   none here.
// Differences from OpenAI's script, all deliberate: Adam's ε is PyTorch's, added outside the
// square root, at 1e-4: OpenAI's adam_updates divides by √(v̂ + 1e-8), which is √v̂ for large
// gradients and 1e-4 for tiny ones, as √v̂ + 1e-4 is (within a factor √2 where √v̂ ≈ 1e-4). With
// PyTorch's usual 1e-8 outside, G's tiny-gradient parameters take full-size steps and the game
// broke down at epoch ~11 (docs/IMPROVED_GAN.md). The EMA is bias-corrected instead of
// starting from zeros (below); the G step's real features come from the step's unlabelled batch
// (OpenAI draws a second permutation of the unlabelled set); the G batch norms' running statistics
// are not used (G always runs on batch statistics, as there). Options from the paper: minibatch
// discrimination before D's output layer, historical averaging, one-sided label smoothing, virtual
// batch normalization in G. --supervised-only trains the same D (same init, noise and weight
// average) on the labelled batches alone: the baseline the GAN must beat.
#include <cmath>

#include "nn/init.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/reparam.h"
#include "nn/layers/small.h"
#include "zoo/registry.h"
#include "zoo/train/semi_supervised.h"

namespace zg::zoo {
namespace {

constexpr int64_t kPixels = 28 * 28;
const int64_t kHidden[] = {1000, 500, 250, 250, 250};

// G's trunk: z [N, nz] → pixels [N, 784] in (0, 1).
class IgGeneratorNet : public nn::Module {
public:
    IgGeneratorNet(int64_t nz, bool vbn, Rng* init) {
        int64_t in = nz;
        for (int i = 0; i < 2; ++i) {
            auto fc =
                register_module("fc" + std::to_string(i), nn::make<nn::Linear>(in, 500, false));
            nn::init::xavier_uniform_(fc->parameter("weight"), 1.0, init);  // Lasagne's default
            fc_.push_back(fc);
            nn::ModulePtr norm;
            if (vbn)
                norm = std::make_shared<nn::VirtualBatchNorm>(500, 1e-6);
            else
                norm = std::make_shared<nn::BatchNorm1d>(500, 1e-6);
            norm_.push_back(register_module("norm" + std::to_string(i), norm));
            in = 500;
        }
        out_ = register_module("out", nn::make<nn::Linear>(500, kPixels));
        nn::init::xavier_uniform_(out_->parameter("weight"), 1.0, init);
        nn::init::zeros_(out_->parameter("bias"));
        nn::weight_norm(*out_);
        nn::init::ones_(out_->parameter("weight_g"));  // OpenAI's l2normalize starts at scale 1
    }
    Tensor forward(const Tensor& z) override {
        Tensor h = z;
        for (size_t i = 0; i < fc_.size(); ++i) h = softplus(norm_[i]->forward(fc_[i]->forward(h)));
        return sigmoid(out_->forward(h));
    }
    std::string type_name() const override { return "ImprovedGanGeneratorNet"; }
    // The normalization scales OpenAI's G does not have (batch norm with g=None): kept at 1.
    std::vector<Tensor> frozen() const {
        std::vector<Tensor> f;
        for (auto& n : norm_) f.push_back(n->parameter("weight"));
        return f;
    }

private:
    std::vector<std::shared_ptr<nn::Linear>> fc_;
    std::vector<nn::ModulePtr> norm_;
    std::shared_ptr<nn::Linear> out_;
};

// G: z → images [N, 1, 28, 28] in [-1, 1] (the data's range; the trunk's sigmoid output p maps
// to 2p − 1). With virtual batch norm, every forward first runs the trunk on a fixed reference
// batch of latents (buffer "z_ref", 100 draws), whose statistics normalize the real forward.
class IgGenerator : public nn::Module {
public:
    IgGenerator(int64_t nz, bool vbn, Rng* init) : vbn_(vbn) {
        net = register_module("net", std::make_shared<IgGeneratorNet>(nz, vbn, init));
        if (vbn) register_buffer("z_ref", rand({100, nz}, init));
    }
    Tensor forward(const Tensor& z) override {
        if (vbn_) nn::vbn_reference_pass(*net, buffer("z_ref"));
        return affine(net->forward(z), 2.0, -1.0).view({-1, 1, 28, 28});
    }
    std::string type_name() const override { return "ImprovedGanGenerator"; }
    std::shared_ptr<IgGeneratorNet> net;

private:
    bool vbn_;
};

// D: images [N, 1, 28, 28] in [-1, 1] → logits [N, 10]; features() is the last hidden layer.
class IgDiscriminator : public nn::Module {
public:
    IgDiscriminator(bool minibatch_disc, Rng* init, Rng* noise) {
        noise_in_ = register_module("noise_in", nn::make<nn::GaussianNoise>(0.3, false, noise));
        noise_ = register_module("noise", nn::make<nn::GaussianNoise>(0.5, false, noise));
        int64_t in = kPixels;
        for (size_t i = 0; i < std::size(kHidden); ++i) {
            fc_.push_back(register_module("fc" + std::to_string(i), dense(in, kHidden[i], init)));
            in = kHidden[i];
        }
        if (minibatch_disc) {
            mbd_ = register_module("mbd", nn::make<nn::MinibatchDiscrimination>(in, 100, 5, init));
            in += 100;
        }
        out_ = register_module("out", dense(in, 10, init));
    }
    Tensor features(const Tensor& x) {
        Tensor h = noise_in_->forward(pixels(x));
        for (size_t i = 0; i < fc_.size(); ++i) {
            if (i > 0) h = noise_->forward(h);
            h = relu(fc_[i]->forward(h));
        }
        return h;
    }
    Tensor logits_from_features(const Tensor& f) {
        Tensor h = noise_->forward(f);
        if (mbd_) h = mbd_->forward(h);
        return out_->forward(h);
    }
    Tensor forward(const Tensor& x) override { return logits_from_features(features(x)); }
    std::string type_name() const override { return "ImprovedGanDiscriminator"; }

    // OpenAI's init pass: layer by layer on a batch (noise on), each weight-normalized layer's
    // g and b set so that its pre-activations have mean 0 and standard deviation 1.
    void data_init(const Tensor& x) {
        Tensor h = noise_in_->forward(pixels(x));
        for (size_t i = 0; i < fc_.size(); ++i) {
            if (i > 0) h = noise_->forward(h);
            h = relu(nn::weight_norm_data_init_(*fc_[i], h));
        }
        h = noise_->forward(h);
        if (mbd_) h = mbd_->forward(h);
        nn::weight_norm_data_init_(*out_, h);
    }
    // The hidden layers' g, frozen after the init (OpenAI's train_scale=False).
    std::vector<Tensor> frozen() const {
        std::vector<Tensor> f;
        for (auto& l : fc_) f.push_back(l->parameter("weight_g"));
        return f;
    }

private:
    // [N, 1, 28, 28] in [-1, 1] → [N, 784] in [0, 1], the range OpenAI's D was built for.
    static Tensor pixels(const Tensor& x) {
        ZG_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
                 "improved_gan D: expected images [N, 1, 28, 28], got ", shape_str(x.shape()));
        return affine(x.reshape({x.size(0), kPixels}), 0.5, 0.5);
    }
    // A weight-normalized dense layer as OpenAI's nn.DenseLayer: direction N(0, 0.1²), g 1,
    // b 0 (the data-dependent init then sets g and b).
    static std::shared_ptr<nn::Linear> dense(int64_t in, int64_t out, Rng* init) {
        auto l = nn::make<nn::Linear>(in, out);
        nn::init::normal_(l->parameter("weight"), 0.0, 0.1, init);
        nn::init::zeros_(l->parameter("bias"));
        nn::weight_norm(*l);
        nn::init::ones_(l->parameter("weight_g"));
        return l;
    }
    std::shared_ptr<nn::GaussianNoise> noise_in_, noise_;
    std::vector<std::shared_ptr<nn::Linear>> fc_;
    std::shared_ptr<nn::MinibatchDiscrimination> mbd_;
    std::shared_ptr<nn::Linear> out_;
};

// The parameters of m that train: all but `frozen`.
std::vector<Tensor> trainable(const nn::Module& m, const std::vector<Tensor>& frozen) {
    std::vector<Tensor> out;
    for (const Tensor& p : m.parameters()) {
        bool skip = false;
        for (const Tensor& f : frozen) skip = skip || p.same(f);
        if (!skip) out.push_back(p);
    }
    return out;
}

// Historical averaging (Salimans et al. §3.3): the penalty λ·Σ‖θ − θ̄‖² with θ̄ the mean of
// every past value of θ (a cumulative average, updated after each step).
class HistoricalAverage {
public:
    explicit HistoricalAverage(std::vector<Tensor> params) : params_(std::move(params)) {
        NoGradGuard ng;
        for (const Tensor& p : params_) mean_.push_back(p.detach().clone());
    }
    Tensor penalty(double lambda) const {
        Tensor s = zeros({});
        for (size_t i = 0; i < params_.size(); ++i) {
            Tensor d = params_[i] - mean_[i];
            s = s + sum(d * d);
        }
        return s * lambda;
    }
    // θ̄ ← θ̄ + (θ − θ̄)/(n + 1)
    void update() {
        NoGradGuard ng;
        ++count_;
        for (size_t i = 0; i < params_.size(); ++i)
            mean_[i].add_(params_[i].detach() - mean_[i], 1.0 / (double)(count_ + 1));
    }
    nn::StateDict state() const {
        nn::StateDict s;
        for (size_t i = 0; i < mean_.size(); ++i) s[std::to_string(i)] = mean_[i];
        s["count"] = scalar((double)count_, DType::f64);
        return s;
    }
    void load(const nn::StateDict& s) {
        for (size_t i = 0; i < mean_.size(); ++i) mean_[i].copy_(s.at(std::to_string(i)));
        count_ = (int64_t)s.at("count").item<double>();
    }

private:
    std::vector<Tensor> params_, mean_;
    int64_t count_ = 0;
};

class ImprovedGan : public Gan {
public:
    ImprovedGan(const Json& c, const nn::Dataset& data, std::shared_ptr<nn::Dataset> test)
        : config_(c), test_(std::move(test)) {
        const Shape s = data.example_shape();
        ZG_CHECK((s == Shape{1, 28, 28}),
                 "improved_gan: needs 28×28 single-channel images "
                 "(mnist, fashion) at --image-size 28, but '",
                 data.name(),
                 "' has examples of "
                 "shape ",
                 shape_str(s));
        nz_ = c.at("nz").get<int64_t>();
        ZG_CHECK(nz_ > 0, "--nz must be positive, got ", nz_);
        lambda_hist_ = c.at("hist_avg").get<double>();
        ZG_CHECK(lambda_hist_ >= 0, "--hist-avg must be ≥ 0 (0 turns it off), got ", lambda_hist_);
        real_target_ = c.at("real_target").get<double>();
        ZG_CHECK(real_target_ > 0 && real_target_ <= 1,
                 "--real-target must be in (0, 1] (1: no "
                 "smoothing; the paper's one-sided smoothing uses 0.9), got ",
                 real_target_);
        unlabelled_weight_ = c.at("unlabelled_weight").get<double>();
        ZG_CHECK(unlabelled_weight_ >= 0, "--unlabelled-weight must be ≥ 0, got ",
                 unlabelled_weight_);
        const double ema_decay = c.at("ema_d").get<double>();
        ZG_CHECK(ema_decay >= 0 && ema_decay < 1, "--ema-d must be in [0, 1), got ", ema_decay);
        const int64_t init_batch = c.at("init_batch").get<int64_t>();
        ZG_CHECK(init_batch > 1, "--init-batch must be at least 2, got ", init_batch);
        supervised_only_ = c.at("supervised_only").get<bool>();
        ZG_CHECK(!supervised_only_ || (real_target_ == 1 && !c.at("vbn").get<bool>()),
                 "--supervised-only trains D on the labelled examples alone, so --real-target "
                 "and --vbn (which change the real-vs-fake loss and G) have nothing to act on: "
                 "leave them out");
        const uint64_t seed = c.at("seed").get<uint64_t>();

        Rng init(seed);
        noise_.manual_seed(seed + 4);
        g_ = std::make_shared<IgGenerator>(nz_, c.at("vbn").get<bool>(), &init);
        d_ = std::make_shared<IgDiscriminator>(c.at("minibatch_disc").get<bool>(), &init, &noise_);
        d_eval_ =
            std::make_shared<IgDiscriminator>(c.at("minibatch_disc").get<bool>(), &init, &noise_);
        // The labelled subset and the init batch need a labelled data set; built on a stand-in
        // without labels (`zoograd sample` rebuilding G from a checkpoint) the model can only
        // generate.
        if (has_labels(data)) {
            const LabelledSubset labelled = balanced_label_split(
                data, c.at("labels").get<int64_t>(), c.at("label_seed").get<uint64_t>());
            lab_batches_ = std::make_unique<LabelledBatches>(
                labelled.data, c.at("batch_size").get<int64_t>(), seed + 3);
            std::vector<int64_t> idx;
            const std::vector<int32_t> perm = randperm(data.size(), &init).to_vector<int32_t>();
            for (int64_t i = 0; i < std::min<int64_t>(init_batch, data.size()); ++i)
                idx.push_back(perm[i]);
            d_->data_init(data.get(idx).x);
        }
        ema_decay_ = ema_decay;
        ema_ = std::make_unique<nn::EMA>(*d_, ema_decay);

        nn::AdamOptions o;
        o.betas = {c.at("beta1").get<double>(), c.at("beta2").get<double>()};
        o.eps = c.at("adam_eps").get<double>();
        ZG_CHECK(o.eps >= 0, "--adam-eps must be ≥ 0, got ", o.eps);
        params_d_ = trainable(*d_, d_->frozen());
        params_g_ = trainable(*g_, g_->net->frozen());
        o.lr = c.at("lr_d").get<double>();
        opt_d_ = std::make_unique<nn::Adam>(params_d_, o);
        o.lr = c.at("lr_g").get<double>();
        opt_g_ = std::make_unique<nn::Adam>(params_g_, o);
        if (lambda_hist_ > 0) {
            hist_d_ = std::make_unique<HistoricalAverage>(params_d_);
            hist_g_ = std::make_unique<HistoricalAverage>(params_g_);
        }
    }

    nn::Module& generator() override { return *g_; }
    nn::Module& discriminator() override { return *d_; }
    // z ~ U[0, 1)^nz, as OpenAI's code.
    Tensor sample_z(int64_t n, Rng& gen) const override { return rand({n, nz_}, &gen); }
    bool trains_generator() const override { return !supervised_only_; }

    Scalars train_step(const nn::Batch& real, Rng& rng) override {
        ZG_CHECK(lab_batches_,
                 "improved_gan: training needs a labelled data set (mnist, "
                 "fashion); this model was built without labels");
        const nn::Batch lab = lab_batches_->next();
        if (supervised_only_) return supervised_step(lab);
        const int64_t n = real.x.size(0);

        // D: supervised CE + w·½(−log D(x_unl) − log(1 − D(G(z))))
        Tensor fake = g_->forward(sample_z(n, rng));
        Tensor logits_lab = d_->forward(lab.x);
        Tensor logits_unl = d_->forward(real.x);
        Tensor logits_fake = d_->forward(fake.detach());
        Tensor loss_lab = supervised_loss(logits_lab, lab.labels);
        Tensor loss_unl = unsupervised_d_loss(logits_unl, logits_fake, real_target_);
        Tensor loss_d = step_d(loss_lab + loss_unl * unlabelled_weight_);

        // G: feature matching on D's last hidden layer, a fresh z as OpenAI's gen_dat.
        Tensor f_real;
        {
            NoGradGuard ng;
            f_real = d_->features(real.x);
        }
        Tensor f_fake = d_->features(g_->forward(sample_z(n, rng)));
        Tensor loss_g = feature_matching_loss(f_real, f_fake);
        if (hist_g_) loss_g = loss_g + hist_g_->penalty(lambda_hist_);
        std::vector<Tensor> grads = grad({loss_g}, params_g_);
        for (size_t i = 0; i < params_g_.size(); ++i) params_g_[i].set_grad(grads[i]);
        opt_g_->step();
        if (hist_g_) hist_g_->update();

        NoGradGuard ng;
        return {{"loss_d", loss_d.item<double>()},
                {"loss_g", loss_g.item<double>()},
                {"loss_lab", loss_lab.item<double>()},
                {"loss_unl", loss_unl.item<double>()},
                {"train_acc", batch_accuracy(logits_lab, lab.labels)},
                {"d_real", mean(exp(log_d(logits_unl))).item<double>()},
                {"d_fake", mean(exp(log_d(logits_fake))).item<double>()}};
    }

    // Test accuracy of the EMA of D's weights (the paper's figure) and of the live D.
    Scalars evaluate() override {
        if (!test_)
            test_ = nn::load_dataset(config_.at("data"), false, 28, 0, config_.at("data_root"));
        ema_->copy_to(*d_eval_);
        return {{"test_acc", classification_accuracy(*d_eval_, *test_)},
                {"test_acc_live", classification_accuracy(*d_, *test_)}};
    }

    void save(nn::Checkpoint& ck) const override {
        ck.add_module("G", *g_).add_module("D", *d_).add_ema("ema_D", *ema_);
        ck.add_optimizer("opt_G", *opt_g_).add_optimizer("opt_D", *opt_d_);
        ck.set_rng("d_noise", noise_).set_counter("ema_updates", ema_updates_);
        if (lab_batches_) lab_batches_->save(ck, "labelled");
        if (hist_d_) ck.add_state("hist_D", hist_d_->state()).add_state("hist_G", hist_g_->state());
    }
    void restore(const nn::Checkpoint& ck) override {
        ck.restore_module("G", *g_);
        ck.restore_module("D", *d_);
        ck.restore_ema("ema_D", *ema_);
        ck.restore_optimizer("opt_G", *opt_g_);
        ck.restore_optimizer("opt_D", *opt_d_);
        ck.restore_rng("d_noise", noise_);
        ema_updates_ = ck.counter("ema_updates");
        if (lab_batches_) lab_batches_->restore(ck, "labelled");
        if (hist_d_) {
            hist_d_->load(ck.state("hist_D"));
            hist_g_->load(ck.state("hist_G"));
        }
    }

private:
    // One update of D on `loss` (plus the historical-averaging penalty, if on), then of its
    // weight average; returns the loss minimized.
    Tensor step_d(Tensor loss) {
        if (hist_d_) loss = loss + hist_d_->penalty(lambda_hist_);
        opt_d_->zero_grad();
        loss.backward();
        opt_d_->step();
        ema_step();
        if (hist_d_) hist_d_->update();
        return loss;
    }

    // The baseline's step: D's cross-entropy on the labelled batch (its noise on), nothing else.
    Scalars supervised_step(const nn::Batch& lab) {
        Tensor logits_lab = d_->forward(lab.x);
        Tensor loss_lab = supervised_loss(logits_lab, lab.labels);
        Tensor loss_d = step_d(loss_lab);
        NoGradGuard ng;
        return {{"loss_d", loss_d.item<double>()},
                {"loss_lab", loss_lab.item<double>()},
                {"train_acc", batch_accuracy(logits_lab, lab.labels)}};
    }

    // OpenAI's average starts at zeros, a_t = (1 − β)Σ β^(t−i) p_i, which is only usable
    // because scaling a weight-normalized layer's direction changes nothing. The bias-corrected
    // average a_t / (1 − β^t) (nn::bias_corrected_decay) is the same weighting without the
    // shrinkage, and keeps frozen and bias parameters right. Starting at D's initial weights
    // with a constant β instead would keep e^(−0.06) ≈ 94% of the random init in the average
    // after the first epoch (600 steps).
    void ema_step() {
        ++ema_updates_;
        ema_->set_decay(nn::bias_corrected_decay(ema_decay_, ema_updates_));
        ema_->update(*d_);
    }

    Json config_;
    std::shared_ptr<nn::Dataset> test_;
    int64_t nz_ = 100;
    double lambda_hist_ = 0, real_target_ = 1, unlabelled_weight_ = 1;
    bool supervised_only_ = false;
    Rng noise_;  // D's Gaussian noise (saved, so resume is exact)
    std::shared_ptr<IgGenerator> g_;
    std::shared_ptr<IgDiscriminator> d_, d_eval_;
    std::unique_ptr<LabelledBatches> lab_batches_;
    std::unique_ptr<nn::EMA> ema_;
    double ema_decay_ = 0.9999;
    int64_t ema_updates_ = 0;  // t of the bias correction
    std::vector<Tensor> params_d_, params_g_;
    std::unique_ptr<nn::Adam> opt_d_, opt_g_;
    std::unique_ptr<HistoricalAverage> hist_d_, hist_g_;
};

}  // namespace

std::unique_ptr<Gan> make_improved_gan(const Json& config, const nn::Dataset& train,
                                       std::shared_ptr<nn::Dataset> test) {
    return std::make_unique<ImprovedGan>(config, train, std::move(test));
}

ModelInfo improved_gan_model_info() {
    return {
        "improved_gan",
        "Semi-supervised GAN of Salimans et al. 2016 (MNIST model of OpenAI's improved-gan "
        "code): feature matching, weight-normalized D with Gaussian noise, 10 logits + "
        "implicit fake class",
        Json{{"image_size", 28},
             {"labels", 100},
             {"label_seed", 1},
             {"nz", 100},
             {"lr_g", 0.003},
             {"lr_d", 0.003},
             {"beta1", 0.5},
             {"beta2", 0.999},
             {"adam_eps", 1e-4},
             {"batch_size", 100},
             {"ema_d", 0.9999},
             {"init_batch", 500},
             {"unlabelled_weight", 1.0},
             {"real_target", 1.0},
             {"hist_avg", 0.0},
             {"minibatch_disc", false},
             {"vbn", false},
             {"supervised_only", false}},
        [](const Json& c, const nn::Dataset& d) { return make_improved_gan(c, d, nullptr); },
        {{"image_size", "Image size (sgan and improved_gan need 28: MNIST's own size, no padding)"},
         {"labels", "number of labelled training examples, the same number per class"},
         {"label_seed", "seed of the choice of the labelled examples"},
         {"nz", "latent size (z ~ U[0, 1))"},
         {"adam_eps",
          "Adam's epsilon, added outside the square root as PyTorch does; 1e-4 is close to "
          "OpenAI's 1e-8 inside it (with 1e-8 outside the game breaks down)"},
         {"ema_d", "decay of the moving average of D's weights used for test accuracy"},
         {"init_batch", "training images used for the data-dependent init of D"},
         {"unlabelled_weight", "weight of D's unsupervised (real vs fake) loss"},
         {"real_target",
          "one-sided label smoothing: D's target for real data (1 = off, "
          "the paper uses 0.9)"},
         {"hist_avg", "historical averaging weight lambda (0 = off)"},
         {"minibatch_disc", "minibatch discrimination before D's output layer"},
         {"vbn", "virtual batch normalization in G instead of batch norm"},
         {"supervised_only", "train D alone on the labelled examples (the baseline)"}}};
}

}  // namespace zg::zoo
