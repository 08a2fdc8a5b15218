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
    CrossEntropyOptions o;
    o.label_smoothing = label_smoothing;
    o.reduction = r;
    return cross_entropy(logits, labels, o);
}

// PyTorch's cross_entropy with class-index targets, for logits [N, C, d1, ...] (class dim 1) or
// [C] (class dim 0, one 0-d label). With p = softmax over the class dim, w the class weights (1
// without), m = [y ≠ ignore_index] and ε the label smoothing, per element (n, d1, ...):
//   nll    = −m·w_y·log p_y
//   smooth = −m·Σ_c w_c·log p_c
//   loss   = (1 − ε)·nll + (ε/C)·smooth
// reduced as none (per element), sum, or mean = Σ loss / Σ m·w_y (PyTorch 1.13 divides both
// terms by the summed weights of the labels not ignored; NaN when every label is ignored).
// Built from log_softmax, gather and sums, so every derivative follows; w and m carry none.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& o) {
    plumbing::check_float(logits, "cross_entropy");
    ZG_CHECK(logits.dim() >= 1, "cross_entropy: logits must be [N, C, d1, ...] or [C], got ",
             shape_str(logits.shape()));
    const int64_t cdim = logits.dim() == 1 ? 0 : 1, classes = logits.size(cdim);
    Shape want = logits.shape();
    want.erase(want.begin() + cdim);
    ZG_CHECK(labels.dtype() == DType::i32 && labels.shape() == want, "cross_entropy: for logits ",
             shape_str(logits.shape()), " ([N, C, d1, ...] or [C]) labels must be int32 ",
             shape_str(want), ", got ", dtype_name(labels.dtype()), " ", shape_str(labels.shape()));
    ZG_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0,
             "cross_entropy: label_smoothing must be in [0, 1], got ", o.label_smoothing);
    if (o.weight.defined()) {
        ZG_CHECK(o.weight.dim() == 1 && o.weight.size(0) == classes, "cross_entropy: weight ",
                 shape_str(o.weight.shape()), " must be [", classes, "] (one per class)");
    }
    // A label out of range is named as such, not as a gather index; ignored labels may be
    // anything and are read as class 0 (their terms are masked out).
    std::vector<int32_t> safe = labels.contiguous().to_vector<int32_t>();
    std::vector<double> keep(safe.size(), 1.0);
    bool any_ignored = false;
    for (size_t i = 0; i < safe.size(); ++i) {
        if (safe[i] == o.ignore_index) {
            keep[i] = 0.0;
            safe[i] = 0;
            any_ignored = true;
            continue;
        }
        ZG_CHECK(safe[i] >= 0 && safe[i] < classes, "cross_entropy: labels must be class ",
                 "indices in [0, ", classes, "), got ", safe[i]);
    }
    const Tensor y = from_vector(safe, labels.shape());
    Tensor logp = log_softmax(logits, cdim);
    Tensor loss = -gather(logp, cdim, y.unsqueeze(cdim)).squeeze(cdim);
    // Per-element weight m·w_y (no history), and per-class weights broadcast along cdim.
    Tensor wy, wc;
    if (o.weight.defined()) {
        const Tensor w = o.weight.detach().to(logits.dtype());
        wy = index_select(w, 0, y.reshape({-1})).reshape(labels.shape());
        Shape s(logits.dim(), 1);
        s[cdim] = classes;
        wc = w.reshape(s);
    }
    if (any_ignored) {
        const Tensor m = from_vector(keep, labels.shape()).to(logits.dtype());
        wy = wy.defined() ? wy * m : m;
    }
    if (wy.defined()) loss = loss * wy;
    if (o.label_smoothing > 0.0) {
        // −(ε/C)·Σ_c log p_c is written −ε·mean_c log p_c without weights (as before they existed)
        Tensor smooth =
            wc.defined() ? sum(logp * wc, {cdim}) * (1.0 / (double)classes) : mean(logp, {cdim});
        if (any_ignored) smooth = smooth * from_vector(keep, labels.shape()).to(logits.dtype());
        loss = loss * (1.0 - o.label_smoothing) - smooth * o.label_smoothing;
    }
    if (o.reduction == Reduction::mean && wy.defined()) return sum(loss) / sum(wy);
    return reduce(loss, o.reduction);
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
