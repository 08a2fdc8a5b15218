// Activation functions. The piecewise-linear ones (relu, leaky_relu) multiply the incoming
// gradient by a constant mask, so their second derivative is zero by construction; the smooth
// ones express the derivative through their output or another op, so it differentiates again.
#include <cmath>

#include "engine/ops/plumbing.h"

namespace zg {

using plumbing::unary;

// z = dy·s(x) with s(x) = x > 0 ? a : b, in one pass: the backward of relu and leaky_relu.
// s is piecewise constant, so ∂z/∂dy = s(x) and x gets no gradient: dz ↦ dz·s(x). Recorded,
// so a gradient taken with create_graph differentiates again (gradient penalties).
static Tensor select_pos_mul(const Tensor& x, const Tensor& dy, double a, double b) {
    ZG_CHECK(x.shape() == dy.shape(), "select_pos_mul: mask input ", shape_str(x.shape()),
             " and gradient ", shape_str(dy.shape()), " must have the same shape");
    plumbing::check_same_dtype(x, dy, "select_pos_mul");
    plumbing::check_float(dy, "select_pos_mul");
    Tensor out = empty(dy.shape(), dy.dtype(), dy.device());
    backend(dy).select_pos_mul(x, dy, out, a, b);
    return record(
        "select_pos_mul", out, {dy},
        [x, a, b](const BackwardArgs& g) -> Grads { return {select_pos_mul(x, g.dy, a, b)}; }, {x});
}

// relu(x) = max(x, 0);  dy/dx = 1 if x > 0 else 0
Tensor relu(const Tensor& x) {
    return record(
        "relu", unary(UnaryOp::relu, x), {x},
        [x](const BackwardArgs& g) -> Grads { return {select_pos_mul(x, g.dy, 1.0, 0.0)}; }, {x});
}

// leaky_relu(x) = x if x > 0 else slope·x;  dy/dx = 1 or slope
Tensor leaky_relu(const Tensor& x, double slope) {
    return record("leaky_relu", unary(UnaryOp::leaky_relu, x, slope), {x},
                  [x, slope](const BackwardArgs& g) -> Grads {
                      return {select_pos_mul(x, g.dy, 1.0, slope)};
                  },
                  {x});
}

// y = tanh x;  dy/dx = 1 − y²
Tensor tanh(const Tensor& x) {
    Tensor y = unary(UnaryOp::tanh, x);
    return record("tanh", y, {x},
                  [](const BackwardArgs& g) -> Grads { return {g.dy * (1.0 - g.y * g.y)}; }, {y});
}

// y = σ(x) = 1/(1 + e⁻ˣ);  dy/dx = y(1 − y)
Tensor sigmoid(const Tensor& x) {
    Tensor y = unary(UnaryOp::sigmoid, x);
    return record("sigmoid", y, {x},
                  [](const BackwardArgs& g) -> Grads { return {g.dy * g.y * (1.0 - g.y)}; }, {y});
}

// softplus(x) = ln(1 + eˣ);  dy/dx = σ(x)
Tensor softplus(const Tensor& x) {
    return record("softplus", unary(UnaryOp::softplus, x), {x},
                  [x](const BackwardArgs& g) -> Grads { return {g.dy * sigmoid(x)}; }, {x});
}

// elu(x) = x if x > 0 else α(eˣ − 1);  dy/dx = 1 if x > 0 else y + α
Tensor elu(const Tensor& x, double alpha) {
    Tensor y = unary(UnaryOp::elu, x, alpha);
    return record("elu", y, {x},
                  [x, alpha](const BackwardArgs& g) -> Grads {
                      Tensor positive = gt(x, 0.0);
                      return {g.dy * (positive + (1.0 - positive) * (g.y + alpha))};
                  },
                  {x, y});
}

// log softmax(x)ᵢ = zᵢ − log Σⱼ exp zⱼ with z = x − max x (the max held constant: it cancels).
// Subtracting the max first, rather than x − logsumexp(x), keeps float32 exact for large
// logits: logsumexp ≈ 1000.69 would be rounded to float32's step of 6e-5 at 1000.
// A 0-d x is one class along dim 0 or -1 (as PyTorch): computed as [1] and viewed back, so
// log softmax(x) = x − x = 0 and its gradient dy − Σdy = 0, for any x.
Tensor log_softmax(const Tensor& x, int64_t dim) {
    plumbing::check_float(x, "log_softmax");
    if (x.dim() == 0) {
        wrap_dim(dim, 1, "log_softmax");
        return log_softmax(x.unsqueeze(0), 0).squeeze(0);
    }
    dim = wrap_dim(dim, x.dim(), "log_softmax");
    Tensor m = amax(x.detach(), {dim}, true);
    // A row whose max is ±∞ would give ∞ − ∞ = NaN in z: shift it by 0 (as logsumexp does).
    m = where(eq(abs(m), INFINITY), zeros_like(m), m);
    Tensor z = x - m;
    return z - log(sum(exp(z), {dim}, true));
}

Tensor softmax(const Tensor& x, int64_t dim) {
    return exp(log_softmax(x, dim));
}

}  // namespace zg
