// Activation functions. The piecewise-linear ones (relu, leaky_relu) multiply the incoming
// gradient by a constant mask, so their second derivative is zero by construction; the smooth
// ones express the derivative through their output or another op, so it differentiates again.
#include "engine/ops/kernels.h"

namespace zg {

using kernels::unary;

// relu(x) = max(x, 0);  dy/dx = 1 if x > 0 else 0
Tensor relu(const Tensor& x) {
    return record(
        "relu", unary(UnaryOp::relu, x), {x},
        [x](const BackwardArgs& g) -> Grads {
            return {g.dy * unary(UnaryOp::select_pos, x, 1.0, 0.0)};
        },
        {x});
}

// leaky_relu(x) = x if x > 0 else slope·x;  dy/dx = 1 or slope
Tensor leaky_relu(const Tensor& x, double slope) {
    return record(
        "leaky_relu", unary(UnaryOp::leaky_relu, x, slope), {x},
        [x, slope](const BackwardArgs& g) -> Grads {
            return {g.dy * unary(UnaryOp::select_pos, x, 1.0, slope)};
        },
        {x});
}

// y = tanh x;  dy/dx = 1 − y²
Tensor tanh(const Tensor& x) {
    Tensor y = unary(UnaryOp::tanh, x);
    return record(
        "tanh", y, {x},
        [](const BackwardArgs& g) -> Grads { return {g.dy * (1.0 - g.y * g.y)}; }, {y});
}

// y = σ(x) = 1/(1 + e⁻ˣ);  dy/dx = y(1 − y)
Tensor sigmoid(const Tensor& x) {
    Tensor y = unary(UnaryOp::sigmoid, x);
    return record(
        "sigmoid", y, {x},
        [](const BackwardArgs& g) -> Grads { return {g.dy * g.y * (1.0 - g.y)}; }, {y});
}

// softplus(x) = ln(1 + eˣ);  dy/dx = σ(x)
Tensor softplus(const Tensor& x) {
    return record(
        "softplus", unary(UnaryOp::softplus, x), {x},
        [x](const BackwardArgs& g) -> Grads { return {g.dy * sigmoid(x)}; }, {x});
}

// elu(x) = x if x > 0 else α(eˣ − 1);  dy/dx = 1 if x > 0 else y + α
Tensor elu(const Tensor& x, double alpha) {
    Tensor y = unary(UnaryOp::elu, x, alpha);
    return record(
        "elu", y, {x},
        [x, alpha](const BackwardArgs& g) -> Grads {
            Tensor positive = gt(x, 0.0);
            return {g.dy * (positive + (1.0 - positive) * (g.y + alpha))};
        },
        {x, y});
}

// log softmax(x)ᵢ = xᵢ − log Σⱼ exp xⱼ, built from logsumexp so its gradients come for free.
Tensor log_softmax(const Tensor& x, int64_t dim) {
    return x - logsumexp(x, {dim}, true);
}

Tensor softmax(const Tensor& x, int64_t dim) { return exp(log_softmax(x, dim)); }

}  // namespace zg
