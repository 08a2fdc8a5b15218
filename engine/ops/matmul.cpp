// Matrix products: one batched GEMM per call, with transposed views passed as flags.
#include "engine/ops/plumbing.h"

namespace zg {

// C = A·B;  ∂L/∂A = ∂L/∂C·Bᵀ, ∂L/∂B = Aᵀ·∂L/∂C (summed over broadcast batch dims)
static Tensor matmul_matrices(const Tensor& a, const Tensor& b) {
    const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
    ZG_CHECK(b.size(-2) == k, "matmul: inner dimensions differ, ", shape_str(a.shape()), " · ",
             shape_str(b.shape()), " (", k, " vs ", b.size(-2), ")");
    Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                   Shape(b.shape().begin(), b.shape().end() - 2), "matmul");
    const int64_t nb = shape_numel(batch);
    // Bring both operands to [B, rows, cols] views for the kernel.
    auto as_batch = [&](const Tensor& t, int64_t rows, int64_t cols) {
        Shape full = batch;
        full.push_back(rows);
        full.push_back(cols);
        Tensor v = plumbing::broadcast_to(t, full, "matmul");
        if (batch.size() == 1) return v;
        if (batch.empty())
            return plumbing::view_of(v, {1, rows, cols}, {0, v.strides()[0], v.strides()[1]},
                                     v.offset());
        return plumbing::view_of(v.detach().contiguous(), {nb, rows, cols}, {rows * cols, cols, 1},
                                 0);
    };
    Shape out_shape = batch;
    out_shape.push_back(m);
    out_shape.push_back(n);
    Tensor out = empty(out_shape, a.dtype(), a.device());
    backend(a).matmul(as_batch(a, m, k), as_batch(b, k, n),
                      plumbing::view_of(out, {nb, m, n}, {m * n, n, 1}, 0));
    return record(
        "matmul", out, {a, b},
        [a, b](const BackwardArgs& g) -> Grads {
            return {
                g.needs_grad(0) ? sum_to(matmul(g.dy, b.transpose(-1, -2)), a.shape()) : Tensor(),
                g.needs_grad(1) ? sum_to(matmul(a.transpose(-1, -2), g.dy), b.shape()) : Tensor()};
        },
        {a, b});
}

// torch.matmul's 1-D rules, as views around the matrix product (so the gradients are those of
// unsqueeze, matmul and squeeze):
//   a [K] · b [K]            = (a [1, K] · b [K, 1]) [1, 1] → [] (the dot product)
//   a [K] · b [..., K, N]    = (a [1, K] · b) [..., 1, N] → [..., N]
//   a [..., M, K] · b [K]    = (a · b [K, 1]) [..., M, 1] → [..., M]
Tensor matmul(const Tensor& a, const Tensor& b) {
    plumbing::check_same_dtype(a, b, "matmul");
    ZG_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dimension, got ",
             shape_str(a.shape()), " and ", shape_str(b.shape()));
    if (a.dim() >= 2 && b.dim() >= 2) return matmul_matrices(a, b);
    ZG_CHECK(a.size(-1) == b.size(b.dim() == 1 ? 0 : -2), "matmul: inner dimensions differ, ",
             shape_str(a.shape()), " · ", shape_str(b.shape()), " (", a.size(-1), " vs ",
             b.size(b.dim() == 1 ? 0 : -2), ")");
    if (a.dim() == 1 && b.dim() == 1)
        return matmul_matrices(a.unsqueeze(0), b.unsqueeze(1)).view({});
    if (a.dim() == 1) return matmul_matrices(a.unsqueeze(0), b).squeeze(-2);
    return matmul_matrices(a, b.unsqueeze(1)).squeeze(-1);
}

// y = x·Wᵀ + b, for x of any rank ≥ 1 (the leading dims are a batch)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    ZG_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got ",
             shape_str(weight.shape()));
    ZG_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", shape_str(x.shape()),
             " does not end in the weight's in_features ", weight.size(1), " (weight ",
             shape_str(weight.shape()), ")");
    Tensor x2 = x.dim() == 2 ? x : x.reshape({-1, x.size(-1)});
    Tensor y = matmul(x2, weight.t());
    if (bias.defined()) {
        ZG_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias ",
                 shape_str(bias.shape()), " does not match out_features ", weight.size(0));
        y = y + bias;
    }
    if (x.dim() == 2) return y;
    Shape s = x.shape();
    s.back() = weight.size(0);
    return y.reshape(s);
}

}  // namespace zg
