// Reductions. sum and amax/amin are kernels with their own backward; mean, var and logsumexp
// are built from them.
#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/plumbing.h"

namespace zg {

int64_t wrap_dim(int64_t d, int64_t ndim, const char* op) {
    // A 0-d tensor has no dimension to name (callers index shape()[d] with the result).
    ZG_CHECK(ndim > 0, op, ": dimension ", d, " given for a 0-d tensor, which has none");
    const int64_t n = ndim;
    ZG_CHECK(d >= -n && d < n, op, ": dimension ", d, " is out of range for a tensor with ", ndim,
             " dimensions (expected ", -n, " to ", n - 1, ")");
    return d < 0 ? d + n : d;
}

namespace {

// Sorted, unique, non-negative axes; empty means every axis.
Axes normalize_axes(const Tensor& x, const Axes& axes, const char* op) {
    Axes out;
    if (axes.empty()) {
        for (int64_t d = 0; d < x.dim(); ++d) out.push_back(d);
        return out;
    }
    for (int64_t a : axes) out.push_back(wrap_dim(a, x.dim(), op));
    std::sort(out.begin(), out.end());
    ZG_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op,
             ": an axis is listed twice");
    return out;
}

Shape keepdim_shape(const Shape& s, const Axes& axes) {
    Shape k = s;
    for (int64_t a : axes) k[a] = 1;
    return k;
}

Shape reduced_shape(const Shape& s, const Axes& axes, bool keepdim) {
    if (keepdim) return keepdim_shape(s, axes);
    Shape r;
    for (int64_t d = 0; d < (int64_t)s.size(); ++d)
        if (!std::binary_search(axes.begin(), axes.end(), d)) r.push_back(s[d]);
    return r;
}

// Runs the reduction kernel; the result is contiguous, so dropping the kept 1s is free.
Tensor reduce_kernel(ReduceOp op, const Tensor& x, const Axes& axes, bool keepdim) {
    Tensor out = empty(keepdim_shape(x.shape(), axes), x.dtype(), x.device());
    backend(x).reduce(op, x, axes, out);
    Shape s = reduced_shape(x.shape(), axes, keepdim);
    return plumbing::view_of(out, s, contiguous_strides(s), 0);
}

Tensor extreme(const Tensor& x, const Axes& axes_in, bool keepdim, bool is_max) {
    const char* name = is_max ? "amax" : "amin";
    Axes axes = normalize_axes(x, axes_in, name);
    for (int64_t a : axes)
        ZG_CHECK(x.shape()[a] > 0, name, ": cannot reduce over an empty dimension of shape ",
                 shape_str(x.shape()));
    Tensor y = reduce_kernel(is_max ? ReduceOp::max : ReduceOp::min, x, axes, keepdim);
    // The gradient goes to the elements equal to the extreme, split evenly between ties:
    //   ∂y/∂xᵢ = [xᵢ = y] / #{j : xⱼ = y}
    return record(name, y, {x},
                  [x, axes](const BackwardArgs& g) -> Grads {
                      Shape k = keepdim_shape(x.shape(), axes);
                      Tensor mask = eq(x, g.y.reshape(k));
                      return {g.dy.reshape(k) * mask / sum(mask, axes, true)};
                  },
                  {x, y});
}

}  // namespace

// y = Σ x over axes;  ∂y/∂xᵢ = 1: the gradient is broadcast back over the summed axes.
Tensor sum(const Tensor& x, const Axes& axes_in, bool keepdim) {
    Axes axes = normalize_axes(x, axes_in, "sum");
    Tensor y = reduce_kernel(ReduceOp::sum, x, axes, keepdim);
    return record("sum", y, {x}, [shape = x.shape(), axes](const BackwardArgs& g) -> Grads {
        return {g.dy.reshape(keepdim_shape(shape, axes)).expand(shape)};
    });
}

Tensor mean(const Tensor& x, const Axes& axes_in, bool keepdim) {
    plumbing::check_float(x, "mean");
    Axes axes = normalize_axes(x, axes_in, "mean");
    int64_t n = 1;
    for (int64_t a : axes) n *= x.shape()[a];
    return sum(x, axes, keepdim) * (1.0 / (double)n);
}

// var = Σ (x − mean)² / (n − 1) (unbiased) or / n
Tensor var(const Tensor& x, const Axes& axes_in, bool unbiased, bool keepdim) {
    plumbing::check_float(x, "var");
    Axes axes = normalize_axes(x, axes_in, "var");
    int64_t n = 1;
    for (int64_t a : axes) n *= x.shape()[a];
    Tensor d = x - mean(x, axes, true);
    return sum(d * d, axes, keepdim) * (1.0 / (double)(n - (unbiased ? 1 : 0)));
}

Tensor amax(const Tensor& x, const Axes& axes, bool keepdim) {
    return extreme(x, axes, keepdim, true);
}
Tensor amin(const Tensor& x, const Axes& axes, bool keepdim) {
    return extreme(x, axes, keepdim, false);
}

// x·0 is 0 for a finite x and NaN for NaN or ±inf, so the sum of x·0 is 0 exactly when every
// element is finite. Records no graph.
bool all_finite(const Tensor& x) {
    plumbing::check_float(x, "all_finite");
    NoGradGuard ng;
    return x.numel() == 0 || sum(x * 0.0).item<double>() == 0.0;
}

// logsumexp(x) = m + log Σ exp(x − m) with m = max x (held constant: it cancels in the
// gradient, softmax(x), and keeps exp from overflowing).
Tensor logsumexp(const Tensor& x, const Axes& axes_in, bool keepdim) {
    plumbing::check_float(x, "logsumexp");
    Axes axes = normalize_axes(x, axes_in, "logsumexp");
    Tensor m = amax(x.detach(), axes, true);
    // Rows that are all −∞ would give (−∞) − (−∞) = NaN: shift them by 0 instead.
    m = where(eq(abs(m), INFINITY), zeros_like(m), m);
    Tensor y = log(sum(exp(x - m), axes, true)) + m;
    return keepdim ? y : y.reshape(reduced_shape(x.shape(), axes, false));
}

// The adjoint of broadcasting: sums the leading dims that broadcasting added and the dims
// where `shape` has 1.
Tensor sum_to(const Tensor& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    const int64_t lead = x.dim() - (int64_t)shape.size();
    ZG_CHECK(lead >= 0, "sum_to: cannot sum shape ", shape_str(x.shape()), " to ",
             shape_str(shape));
    for (int64_t d = lead; d < x.dim(); ++d)
        ZG_CHECK(shape[d - lead] == 1 || shape[d - lead] == x.shape()[d],
                 "sum_to: cannot sum "
                 "shape ",
                 shape_str(x.shape()), " to ", shape_str(shape),
                 " (it does not "
                 "broadcast to it)");
    Axes axes;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) axes.push_back(d);
    Tensor s = axes.empty() ? x : sum(x, axes, true);
    return s.reshape(shape);
}

}  // namespace zg
