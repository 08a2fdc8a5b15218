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

bool Regularizer::has(Reg kind) const {
    for (const RegTerm& t : terms)
        if (t.kind == kind) return true;
    return false;
}

Tensor Regularizer::penalty(const Critic& d, const Tensor& real, const Tensor& fake,
                            const Tensor& d_real, Rng& rng) const {
    Tensor total;
    for (const RegTerm& t : terms) {
        Tensor p;
        switch (t.kind) {
            case Reg::none:
                continue;
            case Reg::gp:
                p = gradient_penalty(d, real, fake, rand({real.size(0)}, &rng, real.dtype()),
                                     gp_center);
                break;
            case Reg::r1:
                p = input_gradient_penalty(d, real);
                break;
            case Reg::r2:
                p = input_gradient_penalty(d, fake);
                break;
            case Reg::drift:
                p = drift_penalty(d_real);
                break;
        }
        total = total.defined() ? total + t.weight * p : t.weight * p;
    }
    return total;
}

bool spec_has_weights(const std::string& spec) {
    return spec.find(':') != std::string::npos;
}

Regularizer parse_regularizer(const std::string& spec) {
    Regularizer r;
    if (spec == "none") return r;
    size_t start = 0;
    for (;;) {
        const size_t plus = spec.find('+', start);
        const std::string term =
            spec.substr(start, plus == std::string::npos ? plus : plus - start);
        const size_t colon = term.find(':');
        RegTerm t;
        t.kind = parse_reg(term.substr(0, colon));
        ZG_CHECK(t.kind != Reg::none, "--reg ", spec,
                 ": none cannot be part of a sum; give --reg none alone");
        ZG_CHECK(!r.has(t.kind), "--reg ", spec, ": ", reg_name(t.kind), " is given twice");
        t.weight = default_reg_weight(t.kind);
        if (colon != std::string::npos) {
            const std::string w = term.substr(colon + 1);
            size_t used = 0;
            try {
                t.weight = std::stod(w, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            ZG_CHECK(used > 0 && used == w.size() && t.weight > 0, "--reg ", spec,
                     ": the weight of ", reg_name(t.kind), " must be a positive number, got '", w,
                     "'");
        }
        r.terms.push_back(t);
        if (plus == std::string::npos) break;
        start = plus + 1;
    }
    return r;
}

}  // namespace zg::zoo
