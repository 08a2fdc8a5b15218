// Reductions over any set of axes of a strided view. Each output element is computed by one
// thread, start to finish, so results do not depend on the thread count. Float sums accumulate
// in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/strided.h"

namespace zg::cpu {
namespace {

template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <class T>
void reduce_typed(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes,
                  const Tensor& out) {
    // Split x's dims into kept (indexed by the output element) and reduced (summed over).
    std::vector<bool> is_reduced(x.dim(), false);
    for (int64_t a : axes) is_reduced[a] = true;
    Shape kept_shape, kept_strides, red_shape, red_strides;
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (is_reduced[d]) {
            red_shape.push_back(x.shape()[d]);
            red_strides.push_back(x.strides()[d]);
        } else {
            kept_shape.push_back(x.shape()[d]);
            kept_strides.push_back(x.strides()[d]);
        }
    }
    // The reduced sub-space is walked as rows of its innermost (merged) dimension.
    StridedLoop<1> red(red_shape, {&red_strides});
    const int64_t red_n = shape_numel(red_shape);
    const int64_t inner = red.inner(), inner_stride = red.inner_strides()[0];
    const auto row_offsets = red.row_offsets();

    const T* px = x.data<T>();
    T* po = out.data<T>();
    const int64_t n_out = out.numel();
    const int nk = (int)kept_shape.size();
#pragma omp parallel for schedule(static) if (n_out > 1 && n_out * red_n >= kParallelGrain)
    for (int64_t o = 0; o < n_out; ++o) {
        int64_t base = 0, rem = o;
        for (int d = nk - 1; d >= 0; --d) {
            base += (rem % kept_shape[d]) * kept_strides[d];
            rem /= kept_shape[d];
        }
        if (op == ReduceOp::sum) {
            Acc<T> acc = 0;
            for (auto [r] : row_offsets) {
                const T* p = px + base + r;
                if (inner_stride == 1) {
#pragma omp simd reduction(+ : acc)
                    for (int64_t i = 0; i < inner; ++i) acc += p[i];
                } else {
                    for (int64_t i = 0; i < inner; ++i) acc += p[i * inner_stride];
                }
            }
            po[o] = static_cast<T>(acc);
        } else {
            const bool is_max = op == ReduceOp::max;
            // Start from ∓∞ (not the lowest finite value), so a row of all −∞ gives −∞; a NaN
            // wins, as in PyTorch.
            using L = std::numeric_limits<T>;
            T acc = is_max ? (L::has_infinity ? -L::infinity() : L::lowest())
                           : (L::has_infinity ? L::infinity() : L::max());
            for (auto [r] : row_offsets) {
                const T* p = px + base + r;
                for (int64_t i = 0; i < inner; ++i) {
                    T v = p[i * inner_stride];
                    if (is_max ? v > acc : v < acc) acc = v;
                    if constexpr (std::is_floating_point_v<T>)
                        if (std::isnan(v)) acc = v;
                }
            }
            po[o] = acc;
        }
    }
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes,
                        const Tensor& out) {
    dispatch(x.dtype(), [&]<class T>() { reduce_typed<T>(op, x, axes, out); });
}

}  // namespace zg::cpu
