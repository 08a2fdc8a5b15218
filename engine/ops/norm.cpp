// Batch normalization as one op over fused backend passes. Its gradient has two forms: the
// fused backend kernel when nothing will differentiate it again (grad mode is off inside a
// backward without create_graph), and the same formula in engine ops otherwise, so second
// derivatives (gradient penalties through a normalized critic) work.
#include "engine/ops/plumbing.h"

namespace zg {

Shape channel_shape(int64_t rank, int64_t channels) {
    Shape s(rank, 1);
    s[1] = channels;
    return s;
}

namespace {

// Every axis of a rank-`rank` tensor but 1 (the channels).
Axes non_channel_axes(int64_t rank) {
    Axes a{0};
    for (int64_t d = 2; d < rank; ++d) a.push_back(d);
    return a;
}

// The gradients of batch_norm_train written in engine ops, for a backward that will itself be
// differentiated; the statistics are recomputed from x so they depend on it:
//   x̂ = (x − μ)/√(σ² + eps), g = dy·weight,
//   dx = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + eps), dweight = Σ dy·x̂, dbias = Σ dy.
Grads batch_norm_grads_in_ops(const Tensor& x, const Tensor& weight, const Tensor& dy, double eps,
                              const std::vector<bool>& needs) {
    const Axes axes = non_channel_axes(x.dim());
    const Shape cs = channel_shape(x.dim(), x.size(1));
    Tensor d = x - mean(x, axes, true);
    Tensor inv = 1.0 / sqrt(mean(d * d, axes, true) + eps);
    Tensor xhat = d * inv;
    Tensor dx, dweight, dbias;
    if (needs[0]) {
        Tensor gy = weight.defined() ? dy * weight.reshape(cs) : dy;
        dx = inv * (gy - mean(gy, axes, true) - xhat * mean(gy * xhat, axes, true));
    }
    if (needs[1]) dweight = sum(dy * xhat, axes);
    if (needs[2]) dbias = sum(dy, axes);
    return {dx, dweight, dbias};
}

void check_channel_vector(const Tensor& t, const char* what, const Tensor& x) {
    if (!t.defined()) return;
    ZG_CHECK(t.dim() == 1 && t.size(0) == x.size(1), "batch_norm_train: ", what, " ",
             shape_str(t.shape()), " must be [", x.size(1), "] for an input ",
             shape_str(x.shape()));
    plumbing::check_same_dtype(t, x, "batch_norm_train");
}

}  // namespace

// y = (x − μ)/√(σ² + eps)·weight + bias with μ, σ² the per-channel batch mean and biased
// variance;  gradients as batch_norm_grads_in_ops (or the fused kernel computing the same).
BatchNormOutput batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 double eps) {
    plumbing::check_float(x, "batch_norm_train");
    ZG_CHECK(x.dim() >= 2, "batch_norm_train: expected an input [N, C, *], got ",
             shape_str(x.shape()));
    ZG_CHECK(x.numel() > x.size(1),
             "batch_norm_train: expected more than 1 value per channel, "
             "got input ",
             shape_str(x.shape()));
    check_channel_vector(weight, "weight", x);
    check_channel_vector(bias, "bias", x);
    const int64_t c = x.size(1);
    Tensor xc = x.detach().contiguous();
    Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
    Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
    BatchNormOutput out{empty(x.shape(), x.dtype(), x.device()), empty({c}, x.dtype(), x.device()),
                        empty({c}, x.dtype(), x.device())};
    backend(x).batch_norm_forward(xc, wc, bc, eps, out.y, out.mean, out.var);
    std::vector<Tensor> saved{x};
    if (weight.defined()) saved.push_back(weight);
    out.y = record(
        "batch_norm", out.y, {x, weight, bias},
        [x, xc, weight, wc, mean = out.mean, var = out.var, eps](const BackwardArgs& g) -> Grads {
            if (grad_enabled()) return batch_norm_grads_in_ops(x, weight, g.dy, eps, g.needs);
            const int64_t channels = x.size(1);
            auto wanted = [&](size_t i, const Shape& shape) {
                return g.needs_grad(i) ? empty(shape, x.dtype(), x.device()) : Tensor();
            };
            Tensor dx = wanted(0, x.shape()), dweight = wanted(1, {channels}),
                   dbias = wanted(2, {channels});
            backend(x).batch_norm_backward(xc, g.dy.detach().contiguous(), mean, var, wc, eps, dx,
                                           dweight, dbias);
            return {dx, dweight, dbias};
        },
        saved);
    return out;
}

}  // namespace zg
