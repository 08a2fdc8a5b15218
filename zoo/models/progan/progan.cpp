// ProGAN (Karras et al. 2018) as a zoo model: the growing networks of networks.h trained on the
// shared adversarial step with the paper's loss (WGAN-GP, λ 10, plus the drift term ε 0.001:
// --reg gp+drift) and optimizer (Adam, lr 1e-3, β 0/0.99), following the schedule of
// schedule.h by images shown. Before each step the phase sets both networks' resolution and α,
// the reals are pooled and blended to match (progan_reals), and at each change of segment the
// optimizers start afresh, as the official code resets them. G's moving average starts afresh
// when a fade begins (averaging_start_step in zoo/gan.h).
#include <cmath>

#include "zoo/models/progan/networks.h"
#include "zoo/models/progan/schedule.h"
#include "zoo/registry.h"
#include "zoo/train/adversarial.h"

namespace zg::zoo {
namespace {

ProganConfig progan_config_from(const Json& c, const nn::Dataset& data) {
    const Shape s = data.example_shape();
    ZG_CHECK(s.size() == 3 && s[1] == s[2], "progan: needs square images, but '", data.name(),
             "' has examples of shape ", shape_str(s));
    ProganConfig p;
    p.resolution = c.at("image_size").get<int64_t>();
    ZG_CHECK(s[1] == p.resolution, "progan: the data is ", s[1], "×", s[2], " but --image-size is ",
             p.resolution);
    p.channels = s[0];
    p.nz = c.at("nz").get<int64_t>();
    p.fmap_base = c.at("fmap_base").get<int64_t>();
    p.fmap_max = c.at("fmap_max").get<int64_t>();
    p.pixel_norm = c.at("pixel_norm").get<bool>();
    p.minibatch_std = c.at("mbstd").get<bool>();
    p.mbstd_group = c.at("mbstd_group").get<int64_t>();
    p.equalized_lr = c.at("equalized_lr").get<bool>();
    validate(p);
    return p;
}

class Progan : public Gan {
public:
    Progan(const Json& c, const nn::Dataset& data)
        : config_(progan_config_from(c, data)),
          schedule_(c.at("progressive").get<bool>() ? 4 : config_.resolution, config_.resolution,
                    c.at("stable_kimg").get<double>(), c.at("fade_kimg").get<double>()),
          batch_sizes_(parse_batch_sizes(c.at("batch_sizes").get<std::string>())),
          keep_optimizers_(c.at("keep_optimizers").get<bool>()) {
        ZG_CHECK(c.at("steps").get<int64_t>() == 0 && c.at("epochs").get<int64_t>() == 0,
                 "progan trains for --total-kimg thousand images shown; --steps and --epochs "
                 "do not apply to it");
        const double total_kimg = c.at("total_kimg").get<double>();
        ZG_CHECK(std::isfinite(total_kimg) && total_kimg > 0, "--total-kimg must be positive, got ",
                 total_kimg);
        total_images_ = std::llround(total_kimg * 1000);
        for (int64_t r = 4; r <= config_.resolution; r *= 2) {
            const int64_t b = batch_size_at(batch_sizes_, r);
            ZG_CHECK(!config_.minibatch_std || b % std::min(b, config_.mbstd_group) == 0,
                     "--batch-sizes: ", b, " at ", r, "×", r,
                     " is not a multiple of --mbstd-group ", config_.mbstd_group,
                     " (the minibatch stddev layer splits it into groups)");
        }
        // G's weights are drawn before D's, from the run's seed.
        Rng init(c.at("seed").get<uint64_t>());
        g_ = std::make_shared<ProganGenerator>(config_, &init);
        d_ = std::make_shared<ProganDiscriminator>(config_, &init);
        step_ = std::make_unique<AdversarialGan>(c, g_, d_, config_.nz);
        enter_phase(schedule_.at(0));
    }

    nn::Module& generator() override { return *g_; }
    nn::Module& discriminator() override { return *d_; }
    Tensor sample_z(int64_t n, Rng& gen) const override { return step_->sample_z(n, gen); }

    Scalars train_step(const nn::Batch& batch, Rng& rng) override {
        const ProganPhase p = schedule_.at(images_shown_);
        if (p.segment != segment_) {
            if (!keep_optimizers_) step_->reset_optimizers();
            if (p.fading()) averaging_start_ = steps_;  // the new layers begin to train
        }
        segment_ = p.segment;
        enter_phase(p);
        nn::Batch real = batch;
        real.x = progan_reals(batch.x, p.resolution, p.alpha);
        Scalars s = step_->train_step(real, rng);
        images_shown_ += batch.x.size(0);
        ++steps_;
        // Samples drawn between steps show what the next step trains.
        enter_phase(schedule_.at(images_shown_));
        return s;
    }

    // The phase the next step trains, and the images shown so far.
    Scalars position() const override {
        const ProganPhase p = schedule_.at(images_shown_);
        return {{"resolution", (double)p.resolution},
                {"alpha", p.alpha},
                {"kimg", images_shown_ / 1000.0}};
    }

    int64_t next_batch_size() const override {
        return batch_size_at(batch_sizes_, schedule_.at(images_shown_).resolution);
    }

    // Steps until --total-kimg thousand images are shown, each with its phase's batch size.
    int64_t planned_steps() const override {
        int64_t steps = 0;
        for (int64_t shown = 0; shown < total_images_; ++steps)
            shown += batch_size_at(batch_sizes_, schedule_.at(shown).resolution);
        return steps;
    }

    int64_t averaging_start_step() const override { return averaging_start_; }

    void set_lr_scale(double scale) override { step_->set_lr_scale(scale); }

    void save(nn::Checkpoint& ck) const override {
        step_->save(ck);
        ck.set_counter("progan_images_shown", images_shown_)
            .set_counter("progan_segment", segment_)
            .set_counter("progan_steps", steps_)
            .set_counter("progan_averaging_start", averaging_start_);
    }

    void restore(const nn::Checkpoint& ck) override {
        step_->restore(ck);
        images_shown_ = ck.counter("progan_images_shown");
        segment_ = ck.counter("progan_segment");
        steps_ = ck.counter("progan_steps");
        averaging_start_ = ck.counter("progan_averaging_start");
        ZG_CHECK(images_shown_ >= 0 && segment_ >= 0 && segment_ < schedule_.segments() &&
                     averaging_start_ >= 0 && averaging_start_ <= steps_,
                 ck.source(), ": progan counters out of range (", images_shown_,
                 " images shown, segment ", segment_, ", EMA restarted after step ",
                 averaging_start_, " of ", steps_, ")");
        enter_phase(schedule_.at(images_shown_));
    }

private:
    void enter_phase(const ProganPhase& p) {
        g_->set_phase(p.resolution, p.alpha);
        d_->set_phase(p.resolution, p.alpha);
    }

    ProganConfig config_;
    ProganSchedule schedule_;
    std::map<int64_t, int64_t> batch_sizes_;
    bool keep_optimizers_;
    int64_t total_images_ = 0;
    std::shared_ptr<ProganGenerator> g_;
    std::shared_ptr<ProganDiscriminator> d_;
    std::unique_ptr<AdversarialGan> step_;
    int64_t images_shown_ = 0;
    int64_t segment_ = 0;
    int64_t steps_ = 0;            // training steps taken
    int64_t averaging_start_ = 0;  // steps before the one the EMA of G restarted at
};

}  // namespace

ModelInfo progan_model_info() {
    Json defaults = adversarial_defaults();
    // The paper's loss and optimizer (the official code's loss.py and config.py).
    defaults.update(Json{{"loss", "wgan-gp"},
                         {"reg", "gp+drift"},
                         {"lr_g", 1e-3},
                         {"lr_d", 1e-3},
                         {"beta1", 0.0},
                         {"beta2", 0.99}});
    // Sized for MNIST-like data on a 2-core CPU, so that the whole schedule takes about half an
    // hour with 2 threads: 128 maps at 4×4, 64 at 8×8, 32 at 16×16, 16 at 32×32 (the official
    // 8192/512 is meant for 1024×1024 on GPUs). docs/PROGAN.md has the timings behind it.
    defaults.update(Json{{"image_size", 32},
                         {"nz", 128},
                         {"fmap_base", 256},
                         {"fmap_max", 128},
                         {"pixel_norm", true},
                         {"mbstd", true},
                         {"mbstd_group", 4},
                         {"equalized_lr", true},
                         {"progressive", true},
                         {"stable_kimg", 20.0},
                         {"fade_kimg", 20.0},
                         {"total_kimg", 240.0},
                         {"batch_sizes", "4:64,8:64,16:32,32:32"},
                         {"keep_optimizers", false},
                         {"batch_size", 64},
                         {"epochs", 0},
                         {"ema", 0.999}});
    std::map<std::string, std::string> help = adversarial_help();
    help.merge(std::map<std::string, std::string>{
        {"fmap_base", "progan: feature maps of stage s are min(fmap_base / 2^s, fmap_max)"},
        {"fmap_max", "progan: the most feature maps of any block"},
        {"pixel_norm", "progan: PixelNorm after each of G's convolutions (false for the ablation)"},
        {"mbstd", "progan: D's minibatch standard-deviation layer (false for the ablation)"},
        {"mbstd_group", "progan: samples per minibatch-stddev group"},
        {"equalized_lr", "progan: equalized learning rate (false: He-scaled initial weights)"},
        {"progressive",
         "progan: grow from 4x4 (false: train at --image-size from the start, the ablation)"},
        {"stable_kimg",
         "progan: thousands of images each resolution trains before the next fades in"},
        {"fade_kimg", "progan: thousands of images over which a new resolution fades in"},
        {"total_kimg", "progan: length of the run in thousands of images shown"},
        {"batch_sizes", "progan: batch size per resolution, e.g. 4:64,8:64,16:32,32:32"},
        {"keep_optimizers",
         "progan: keep Adam's state across phase changes (the official code resets it)"}});
    return {"progan",
            "Progressive growing of GANs (Karras et al. 2018): fade-in, minibatch stddev, pixel "
            "norm, equalized learning rate, WGAN-GP + drift",
            defaults,
            [](const Json& c, const nn::Dataset& d) -> std::unique_ptr<Gan> {
                return std::make_unique<Progan>(c, d);
            },
            help};
}

}  // namespace zg::zoo
