#pragma once
// Regularizers of the discriminator, added to its loss (--reg, --reg-weight, --gp-center); --reg
// may sum several (gp+drift). The
// gradient penalties differentiate D's input gradient with respect to D's weights, so they run
// on the engine's second derivatives (zg::grad with create_graph). docs/LOSSES.md gives the
// formulas, defaults and sources.
#include <functional>
#include <string>
#include <vector>

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

// One term of D's regularizer: a penalty and its weight.
struct RegTerm {
    Reg kind = Reg::none;
    double weight = 0;
};

// D's regularizer as the adversarial step applies it: a sum of weighted penalties, e.g.
// ProGAN's gradient penalty plus drift term (--reg gp+drift).
struct Regularizer {
    std::vector<RegTerm> terms;  // none: empty
    double gp_center = 1;
    bool empty() const { return terms.empty(); }
    bool has(Reg kind) const;
    // Σ weight × penalty for D's real and fake inputs and its outputs on the real ones, in the
    // order of the terms; the gradient penalty draws its α from `rng`. Undefined when empty.
    Tensor penalty(const Critic& d, const Tensor& real, const Tensor& fake, const Tensor& d_real,
                   Rng& rng) const;
};

// --reg's value: none, one regularizer, or several joined by '+', each with an optional
// weight after a colon ("gp+drift", "gp:5+drift:0.001"); a term without a weight takes
// default_reg_weight. Refuses unknown names, repeats, none inside a sum and bad weights.
Regularizer parse_regularizer(const std::string& spec);
// Whether the spec gives any weight explicitly (a colon), which --reg-weight must not repeat.
bool spec_has_weights(const std::string& spec);

}  // namespace zg::zoo
