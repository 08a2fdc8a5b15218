#pragma once
// A worked example of extending zoograd from outside: a new op with a hand-written backward,
// and a layer with a learnable parameter that uses it. See docs/WRITING_A_LAYER.md.
#include <engine/ops.h>
#include <nn/module.h>

namespace example {

using zg::BackwardArgs;
using zg::Grads;
using zg::Tensor;

// swish(x; β) = x·σ(βx)
//   ∂y/∂x = σ(βx) + βx·σ(βx)(1 − σ(βx))
//   ∂y/∂β = x²·σ(βx)(1 − σ(βx))          (summed over x, since β is a scalar)
// The backward is written with engine ops, so it can be differentiated again.
inline Tensor swish(const Tensor& x, const Tensor& beta) {
    Tensor y;
    {
        zg::NoGradGuard forward_only;  // the forward's own ops must not be recorded
        y = x * zg::sigmoid(x * beta);
    }
    return zg::record("swish", y, {x, beta}, [x, beta](const BackwardArgs& g) -> Grads {
        Tensor s = zg::sigmoid(x * beta);
        Tensor ds = s * (1.0 - s);
        return {g.needs_grad(0) ? g.dy * (s + x * beta * ds) : Tensor(),
                g.needs_grad(1) ? zg::sum_to(g.dy * x * x * ds, beta.shape()) : Tensor()};
    });
}

// A layer: registers its parameter by name, so it appears in state_dict() as "beta".
class Swish : public zg::nn::Module {
public:
    explicit Swish(double beta = 1.0) { register_parameter("beta", zg::full({1}, beta)); }
    Tensor forward(const Tensor& x) override { return swish(x, parameter("beta")); }
    std::string type_name() const override { return "Swish"; }
    std::string extra_repr() const override { return "learnable beta"; }
};

}  // namespace example
