#pragma once
// The adversarial loss zoo: D's and G's objectives computed from D's raw outputs (logits for
// the probabilistic losses, critic values for the others). Every model that trains a G against
// a D picks one with --loss; docs/LOSSES.md gives the formulas and their sources.
#include <nlohmann/json.hpp>
#include <string>

#include "engine/tensor.h"

namespace zg::zoo {

enum class Loss { minimax, ns, wgan, wgan_gp, lsgan, hinge, rsgan, ragan, ralsgan };

// The loss called `name` (the --loss spelling: minimax, ns, wgan, wgan-gp, lsgan, hinge, rsgan,
// ragan, ralsgan), or a zg::Error listing the names.
Loss parse_loss(const std::string& name);
std::string loss_name(Loss);
// True for the BCE / least-squares losses whose D targets are labels, where soft labels,
// one-sided smoothing and label flips make sense; false for the critic and margin losses.
bool loss_uses_labels(Loss);
// True for the losses whose D output is a logit (minimax, ns, rsgan, ragan).
bool is_logit_loss(Loss);
// D's mean output as the log shows it (d_real, d_fake): σ(logit) for the logit losses, the raw
// output otherwise. Records no graph.
double mean_d_output(Loss loss, const Tensor& d_out);

// The optimizer recipe a loss was published with, as config keys (lr_g, lr_d, beta1, beta2,
// optim_d, optim_g, n_critic): wgan-gp (Gulrajani et al. 2017) Adam lr 1e-4, β (0, 0.9), 5
// critic steps; wgan (Arjovsky et al. 2017) RMSprop lr 5e-5, 5 critic steps. Empty for the
// losses that train well with the model's own settings. `zoograd train --loss` applies it to
// every key the user did not set.
nlohmann::json loss_recipe(Loss loss);

// Per-example targets for label-based losses (soft labels, one-sided smoothing, flips);
// empty tensors mean the hard targets 1 and 0.
struct LabelTargets {
    Tensor real, fake;
};

// D's and G's objectives (scalars to minimise) from D's raw outputs on a real and a fake batch,
// each [B]. The relativistic losses compare the two batches, so both are always passed.
Tensor d_loss(Loss, const Tensor& d_real, const Tensor& d_fake, const LabelTargets& t = {});
Tensor g_loss(Loss, const Tensor& d_real, const Tensor& d_fake);

}  // namespace zg::zoo
