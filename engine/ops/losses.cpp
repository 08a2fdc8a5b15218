// Losses, built from differentiable ops, so their gradients (and second derivatives) follow.
#include "engine/ops/plumbing.h"

namespace zg {

static Tensor reduce(const Tensor& l, Reduction r) {
    switch (r) {
        case Reduction::mean:
            return mean(l);
        case Reduction::sum:
            return sum(l);
        case Reduction::none:
            return l;
    }
    return l;
}

static void check_same_shape(const Tensor& x, const Tensor& t, const char* op) {
    ZG_CHECK(x.shape() == t.shape(), op, ": input ", shape_str(x.shape()), " and target ",
             shape_str(t.shape()), " must have the same shape");
}

// BCE(σ(x), t) = −[t·log σ(x) + (1 − t)·log(1 − σ(x))] = softplus(x) − t·x,
// computed from logits so it never takes log(0).
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction r) {
    check_same_shape(logits, target, "bce_with_logits");
    return reduce(softplus(logits) - target * logits, r);
}

// CE = −(1 − ε)·log pᵧ − ε·mean_c log p_c with p = softmax(logits), as PyTorch's
// cross_entropy(label_smoothing=ε).
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing,
                     Reduction r) {
    ZG_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, C], got ",
             shape_str(logits.shape()));
    ZG_CHECK(labels.dtype() == DType::i32 && labels.dim() == 1 && labels.size(0) == logits.size(0),
             "cross_entropy: labels must be int32 [", logits.size(0), "], got ",
             dtype_name(labels.dtype()), " ", shape_str(labels.shape()));
    ZG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
             "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
    // A label out of range is named as such, not as a gather index.
    for (int32_t label : labels.to_vector<int32_t>())
        ZG_CHECK(label >= 0 && label < logits.size(1), "cross_entropy: labels must be class ",
                 "indices in [0, ", logits.size(1), "), got ", label);
    Tensor logp = log_softmax(logits, 1);
    Tensor loss = -gather(logp, 1, labels.unsqueeze(1)).squeeze(1);
    if (label_smoothing > 0.0)
        loss = loss * (1.0 - label_smoothing) - mean(logp, {1}) * label_smoothing;
    return reduce(loss, r);
}

// MSE = (x − t)²
Tensor mse_loss(const Tensor& x, const Tensor& target, Reduction r) {
    check_same_shape(x, target, "mse_loss");
    Tensor d = x - target;
    return reduce(d * d, r);
}

// L1 = |x − t|
Tensor l1_loss(const Tensor& x, const Tensor& target, Reduction r) {
    check_same_shape(x, target, "l1_loss");
    return reduce(abs(x - target), r);
}

}  // namespace zg
