#include "zoo/losses/regularizers.h"

#include "engine/autograd.h"
#include "engine/ops.h"

namespace zg::zoo {

namespace {

struct Named {
    Reg reg;
    const char* name;
};
constexpr Named kRegs[] = {
    {Reg::none, "none"}, {Reg::gp, "gp"}, {Reg::r1, "r1"}, {Reg::r2, "r2"}, {Reg::drift, "drift"}};

// ∇ₓ Σᵢ D(x)ᵢ, per example (D's outputs are independent of other examples' inputs except
// through batch statistics, as in PyTorch), recorded so that it can be differentiated again.
Tensor input_gradient(const Critic& d, const Tensor& x) {
    Tensor leaf = x.detach();
    leaf.requires_grad_();
    Tensor out = d(leaf);
    return grad({sum(out)}, {leaf}, {}, /*create_graph=*/true)[0];
}

// Σ over all but the batch axis of g², [B].
Tensor squared_norms(const Tensor& g) {
    const Tensor flat = g.flatten(1);
    return sum(flat * flat, {1});
}

}  // namespace

Reg parse_reg(const std::string& name) {
    std::string known;
    for (const Named& n : kRegs) {
        if (name == n.name) return n.reg;
        known += std::string(known.empty() ? "" : ", ") + n.name;
    }
    throw Error("--reg: unknown regularizer '" + name + "'; known: " + known);
}

std::string reg_name(Reg r) {
    for (const Named& n : kRegs)
        if (n.reg == r) return n.name;
    throw Error("reg_name: not a Reg value");
}

double default_reg_weight(Reg r) {
    switch (r) {
        case Reg::gp:
        case Reg::r1:
        case Reg::r2:
            return 10.0;
        case Reg::drift:
            return 0.001;
        case Reg::none:
            return 0.0;
    }
    return 0.0;
}

Tensor gradient_penalty(const Critic& d, const Tensor& real, const Tensor& fake,
                        const Tensor& alpha, double center) {
    ZG_CHECK(real.shape() == fake.shape(), "gradient_penalty: real ", shape_str(real.shape()),
             " and fake ", shape_str(fake.shape()), " batches differ in shape");
    ZG_CHECK(alpha.dim() == 1 && alpha.size(0) == real.size(0), "gradient_penalty: α must be [",
             real.size(0), "], one weight per example, got ", shape_str(alpha.shape()));
    Shape bshape(real.dim(), 1);
    bshape[0] = real.size(0);
    const Tensor a = alpha.reshape(bshape);
    Tensor mixed = a * real.detach() + (1.0 - a) * fake.detach();
    Tensor sq = squared_norms(input_gradient(d, mixed));
    // Zero-centred: ‖g‖² itself, which keeps the gradient defined where g = 0 (√ is not).
    if (center == 0) return mean(sq);
    Tensor dev = sqrt(sq) - center;
    return mean(dev * dev);
}

Tensor input_gradient_penalty(const Critic& d, const Tensor& x) {
    return 0.5 * mean(squared_norms(input_gradient(d, x)));
}

Tensor drift_penalty(const Tensor& d_real) {
    return mean(d_real * d_real);
}

Tensor Regularizer::penalty(const Critic& d, const Tensor& real, const Tensor& fake,
                            const Tensor& d_real, Rng& rng) const {
    switch (kind) {
        case Reg::none:
            return Tensor();
        case Reg::gp:
            return weight * gradient_penalty(d, real, fake,
                                             rand({real.size(0)}, &rng, real.dtype()), gp_center);
        case Reg::r1:
            return weight * input_gradient_penalty(d, real);
        case Reg::r2:
            return weight * input_gradient_penalty(d, fake);
        case Reg::drift:
            return weight * drift_penalty(d_real);
    }
    return Tensor();
}

}  // namespace zg::zoo
