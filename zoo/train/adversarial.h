#pragma once
// The one adversarial training step of the zoo's unconditional GANs (dcgan, mlpgan): the loss
// zoo, D's regularizers, the D/G schedule and the ganhacks training tricks as orthogonal
// options. A model supplies G, D and the latent size; AdversarialGan does the rest, including
// saving every piece of its state (replay buffer, snapshots, counters) so resume stays exact.
// docs/LOSSES.md and docs/GANHACKS.md describe each option.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/optim/optimizers.h"
#include "zoo/gan.h"
#include "zoo/losses/losses.h"
#include "zoo/losses/regularizers.h"

namespace zg::zoo {

// The options of the adversarial step, with their defaults (pytorch/examples' DCGAN recipe:
// non-saturating loss, Adam(2e-4, β 0.5/0.999) for both nets, one D step per G step, z ~ N(0, I),
// separate real and fake batches, hard labels) and their --help texts.
Json adversarial_defaults();
std::map<std::string, std::string> adversarial_help();

struct AdversarialConfig {
    Loss loss = Loss::ns;
    Regularizer reg;
    double clip = 0;  // WGAN weight clipping of D's parameters to [−clip, clip]; 0 off
    int64_t n_critic = 1;
    std::string optim_d = "adam", optim_g = "adam";
    double lr_d = 2e-4, lr_g = 2e-4, beta1 = 0.5, beta2 = 0.999;
    bool z_uniform = false;      // z ~ U[−1, 1] instead of N(0, I)
    bool mixed_batches = false;  // real and fake through D as one batch
    // Label targets of D (label losses only): uniform in [a, b] unless a == b.
    std::array<double, 2> real_label{1, 1}, fake_label{0, 0};
    double label_flip = 0;
    double instance_noise = 0;
    int64_t noise_decay = 0;
    int64_t replay_size = 0;
    double replay_prob = 0.5;
    int64_t swap_every = 0, swap_for = 1;
    bool swap_g = true, swap_d = true;
    std::optional<double> d_until_loss, g_until_loss;
    int64_t until_max = 10;

    bool hard_labels() const {
        return real_label == std::array<double, 2>{1, 1} &&
               fake_label == std::array<double, 2>{0, 0} && label_flip == 0;
    }
};

// The step's options from a run config (adversarial_defaults() merged with the user's flags),
// checked: a bad value or an incompatible combination is a zg::Error saying why.
AdversarialConfig adversarial_config_from(const Json& config);

// The instance-noise σ at global step `step` (0-based): σ·(1 − step/decay) until `decay`, then 0;
// constant σ when decay is 0.
double instance_noise_at(const AdversarialConfig& c, int64_t step);

// D's targets for a batch of n real and n fake examples (label losses): empty tensors for the
// hard targets 1 and 0; else each drawn from --real-label / --fake-label (uniform when a range),
// then each example given the other class's target with probability --label-flip.
LabelTargets label_targets(const AdversarialConfig& c, int64_t n, Rng& rng);

// Experience replay (ganhacks 8; Shrivastava et al. 2017's image history, pix2pix's ImagePool):
// a buffer of K old fakes. While it is filling, each fake is stored and passed through; once
// full, each fake is, with probability p, exchanged for a random stored one (which D sees
// instead), else passed through.
class ReplayBuffer {
public:
    ReplayBuffer(int64_t capacity, double prob) : capacity_(capacity), prob_(prob) {}
    // The batch D trains on instead of `fakes` (detached, float32 [B, ...]).
    Tensor exchange(const Tensor& fakes, Rng& rng);
    int64_t size() const { return count_; }
    void save(nn::Checkpoint& ck, const std::string& name) const;
    void restore(const nn::Checkpoint& ck, const std::string& name);

private:
    int64_t capacity_;
    double prob_;
    int64_t count_ = 0;
    Tensor items_;  // [capacity, ...], the first count_ rows in use
};

class AdversarialGan : public Gan {
public:
    AdversarialGan(const Json& config, std::shared_ptr<nn::Module> g, std::shared_ptr<nn::Module> d,
                   int64_t nz);

    nn::Module& generator() override { return *g_; }
    nn::Module& discriminator() override { return *d_; }
    Tensor sample_z(int64_t n, Rng& gen) const override;
    // D updates (n_critic, or while loss_D > A), then G updates (once, or while loss_G > B).
    // Logs loss_d, loss_g, d_real, d_fake (means over the last D update: σ(logit) for the
    // logit losses minimax, ns, rsgan, ragan, raw critic values otherwise), grad_norm_d and
    // grad_norm_g (L2 norm over all parameter gradients of the last update of each net, before
    // its optimizer step), d_steps and g_steps, and instance_noise when it is on.
    Scalars train_step(const nn::Batch& real, Rng& rng) override;
    void set_lr_scale(double scale) override;
    // Fresh optimizers with the configured settings and the current learning-rate scale: what
    // ProGAN does at each change of resolution (its new layers start without stale moments).
    void reset_optimizers();
    void save(nn::Checkpoint& ck) const override;
    void restore(const nn::Checkpoint& ck) override;

    // An Rng the nets draw from while training (e.g. G's noise layers), saved and restored
    // with the model under `name` so that resume stays exact.
    void keep_rng(const std::string& name, Rng* gen) { rngs_.emplace_back(name, gen); }

private:
    struct DResult {
        double loss, penalty, d_real, d_fake, grad_norm;
        Tensor fake;  // the current G's fakes, still attached to G's graph (undefined when D
                      // trained against the old G)
    };
    DResult update_d(const Tensor& real, Rng& rng);
    std::pair<double, double> update_g(const Tensor& real, Tensor fake, Rng& rng);
    // D's outputs on a real and a fake batch, separately or as one batch (--d-batches).
    std::pair<Tensor, Tensor> discriminate(const Tensor& real, const Tensor& fake);
    Tensor add_noise(const Tensor& x, Rng& rng) const;
    bool swapping() const;

    AdversarialConfig c_;
    int64_t nz_;
    std::shared_ptr<nn::Module> g_, d_;
    std::unique_ptr<nn::Optimizer> opt_g_, opt_d_;
    double lr_scale_ = 1;
    int64_t step_ = 0;  // steps taken so far (the global step, saved)
    std::optional<ReplayBuffer> replay_;
    nn::StateDict old_g_, old_d_;  // --swap-every snapshots
    std::vector<std::pair<std::string, Rng*>> rngs_;
};

}  // namespace zg::zoo
