#pragma once
// What a zoo model supplies to the shared trainer: its networks, how to draw latents, one
// training step, and its own checkpoint state. zoo/registry.h maps model names to builders.
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/data/dataset.h"

namespace zg::zoo {

using Json = nlohmann::json;
using Scalars = std::map<std::string, double>;

class Gan {
public:
    virtual ~Gan() = default;
    virtual nn::Module& generator() = 0;
    virtual nn::Module& discriminator() = 0;
    // Latent vectors for n samples (ganhacks 3: a spherical Gaussian by default).
    virtual Tensor sample_z(int64_t n, Rng& gen) const = 0;
    // One training step on a batch of real data; returns the scalars to log (loss_d, loss_g,
    // d_real, d_fake, ...). `rng` is the trainer's stream for everything random in the step.
    virtual Scalars train_step(const nn::Batch& real, Rng& rng) = 0;
    // Scalars measured on held-out data (e.g. a semi-supervised D's test accuracy); the trainer
    // logs them every --eval-every steps and at the end of training. Most models have none.
    virtual Scalars evaluate() { return {}; }
    // False when this run never trains G (sgan --supervised-only): the trainer then skips the
    // sample-quality scores of --eval-every, which would only measure G's random init.
    virtual bool trains_generator() const { return true; }
    // Class-conditional models (acgan): the number of classes, and latents that make G draw
    // the given classes (labels int32 [N], each in [0, num_classes())), which is what
    // `zoograd sample --class` uses. Unconditional models have 0 classes and no such latents.
    virtual int64_t num_classes() const { return 0; }
    virtual Tensor sample_z_for(const Tensor& labels, Rng& gen) const {
        (void)labels, (void)gen;
        throw Error("this model is unconditional: it cannot draw samples of a given class");
    }
    // --lr-decay: the trainer sets G's and D's learning rates to scale × their configured
    // values before every step. Models with their own optimizer recipe (the semi-supervised
    // ones) refuse.
    virtual void set_lr_scale(double scale) {
        (void)scale;
        throw Error(
            "--lr-decay linear: this model keeps its paper's learning-rate recipe; the decay is "
            "for the adversarial models (dcgan, mlpgan); use --lr-decay constant");
    }
    // Where a model with its own schedule is (ProGAN: resolution, α, kimg shown): logged with
    // every log line as they are now, not averaged over the log window like train_step's
    // scalars, and shown on the progress line.
    virtual Scalars position() const { return {}; }
    // Models whose batch size changes during training (ProGAN's per-resolution sizes): the
    // size of the next step's batch, which the trainer gives the loader; 0 keeps it as it is.
    virtual int64_t next_batch_size() const { return 0; }
    // Models that plan their own length (ProGAN's --total-kimg): the number of steps the run
    // takes; 0 leaves it to --steps and --epochs.
    virtual int64_t planned_steps() const { return 0; }
    // The number of steps before the one from which G's moving average (--ema) counts: 0, it
    // averages from the first step. A generator that grows (ProGAN) restarts the average when
    // its new layers begin to train; an average that began earlier is mostly their initial
    // weights for as many steps as they sat unused.
    virtual int64_t averaging_start_step() const { return 0; }
    // Everything the model needs to resume exactly (networks, optimizers, own schedules).
    virtual void save(nn::Checkpoint& ck) const = 0;
    virtual void restore(const nn::Checkpoint& ck) = 0;

    // The trainer's source of further real batches, for models that take several D steps per G
    // step (--n-critic): each call advances the same loader that feeds train_step, so resume
    // stays exact.
    void set_batch_source(std::function<nn::Batch()> next) { next_batch_ = std::move(next); }

protected:
    nn::Batch next_real_batch() {
        ZG_CHECK(next_batch_, "this model needs more real batches but has no batch source");
        return next_batch_();
    }

private:
    std::function<nn::Batch()> next_batch_;
};

}  // namespace zg::zoo
