#pragma once
// Regularizers of the discriminator, added to its loss (--reg, --reg-weight, --gp-center). The
// gradient penalties differentiate D's input gradient with respect to D's weights, so they run
// on the engine's second derivatives (zg::grad with create_graph). docs/LOSSES.md gives the
// formulas, defaults and sources.
#include <functional>
#include <string>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace zg::zoo {

enum class Reg { none, gp, r1, r2, drift };

// The regularizer called `name` (gp, r1, r2, drift, none), or a zg::Error listing the names.
Reg parse_reg(const std::string& name);
std::string reg_name(Reg);
// The weight each regularizer is usually trained with: gp λ = 10 (Gulrajani et al.), r1/r2
// γ = 10 (Mescheder et al.), drift ε = 0.001 (Karras et al.); none 0.
double default_reg_weight(Reg);

// D as a function of its input batch, returning raw outputs [B].
using Critic = std::function<Tensor(const Tensor&)>;

// E[(‖∇ D(x̂)‖₂ − c)²] on the interpolates x̂ = α·x + (1 − α)·x̃, α [B] one weight per example
// (WGAN-GP with c = 1; the zero-centred form of Thanh-Tung et al. 2019 with c = 0).
Tensor gradient_penalty(const Critic& d, const Tensor& real, const Tensor& fake,
                        const Tensor& alpha, double center);
// ½·E ‖∇ D(x)‖₂² at the given points: R1 on real data, R2 on fakes (Mescheder et al. 2018).
Tensor input_gradient_penalty(const Critic& d, const Tensor& x);
// E[D(x)²] on real outputs: ProGAN's drift term, keeping critic values near 0.
Tensor drift_penalty(const Tensor& d_real);

// The chosen regularizer with its weight, as the adversarial step applies it.
struct Regularizer {
    Reg kind = Reg::none;
    double weight = 0;
    double gp_center = 1;
    // weight × the penalty for D's real and fake inputs and its outputs on the real ones; the
    // gradient penalty draws its α from `rng`. An undefined tensor for Reg::none.
    Tensor penalty(const Critic& d, const Tensor& real, const Tensor& fake, const Tensor& d_real,
                   Rng& rng) const;
};

}  // namespace zg::zoo
