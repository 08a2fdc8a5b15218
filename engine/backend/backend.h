#pragma once
// The backend table: the small set of primitive kernels a device implements (copies, fills,
// elementwise maps, reductions, GEMM, indexing, batch norm, im2col/col2im, random fills). Every
// op in engine/ops/ is written once against this table, so a new device is one new
// implementation of it (engine/backend/cpu/ is the first); nothing above it touches device
// memory.
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace zg {

class Rng;

// Elementwise maps of one tensor; `a` and `b` are the op's scalar parameters.
enum class UnaryOp {
    neg,
    exp,
    log,
    sqrt,
    abs,
    sign,
    tanh,
    sigmoid,
    softplus,
    relu,
    leaky_relu,  // x > 0 ? x : a·x
    elu,         // x > 0 ? x : a·(eˣ − 1)
    affine,      // a·x + b
    pow,         // xᵃ
    clamp,       // min(max(x, a), b)
    in_range,    // a ≤ x ≤ b ? 1 : 0
    gt,
    ge,
    lt,
    le,
    eq,  // x ∘ a ? 1 : 0
};
// Elementwise maps of two tensors of the same (broadcast) shape.
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum, gt, ge, lt, le, eq };
enum class ReduceOp { sum, max, min };
enum class RandomKind { uniform, normal, bernoulli, randint };

// The geometry of a 2-D sliding window (convolution, pooling) over an [N, C, H, W] input.
struct Window2d {
    int64_t n = 0, c = 0, h = 0, w = 0;  // input
    int64_t kh = 1, kw = 1;              // kernel
    int64_t sh = 1, sw = 1;              // stride
    int64_t ph = 0, pw = 0;              // zero padding on each side
    int64_t dh = 1, dw = 1;              // dilation
    int64_t out_h() const { return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1; }
    int64_t out_w() const { return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1; }
};

// The primitive kernels a device implements. Ops (engine/ops/) are written once against this
// table; a backend knows nothing of autograd. Conventions: `out` is always a contiguous tensor
// of the right shape and dtype, allocated by the caller; inputs may be any strided view (a
// broadcast input arrives as an expanded view with stride 0).
class Backend {
public:
    virtual ~Backend() = default;
    virtual Device device() const = 0;
    virtual std::shared_ptr<Storage> allocate(size_t bytes) = 0;
    virtual void release(Storage& s) = 0;

    // dst[i] = src[i] over two views of one shape; casts when the dtypes differ.
    virtual void copy(const Tensor& src, const Tensor& dst) = 0;
    virtual void fill(const Tensor& out, double value) = 0;
    virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) = 0;
    virtual void binary(BinaryOp op, const Tensor& x, const Tensor& y, const Tensor& out) = 0;
    // out = y · (x > 0 ? a : b), x and y of one shape: the backward of relu and leaky_relu in
    // one pass (dy times their derivative mask) instead of a mask pass and a product pass.
    virtual void select_pos_mul(const Tensor& x, const Tensor& y, const Tensor& out, double a,
                                double b) = 0;
    // out = cond != 0 ? x : y
    virtual void where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) = 0;
    // Reduces x over `axes`; out has x's shape with those axes set to 1.
    virtual void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes,
                        const Tensor& out) = 0;
    // Batched matrix product: x [B, M, K] · y [B, K, N] → out [B, M, N]. x and y may be
    // transposed views in their last two dims (handed to GEMM as transpose flags, no copy).
    virtual void matmul(const Tensor& x, const Tensor& y, const Tensor& out) = 0;
    // out = x.index_select(dim, index); out.index_add_(dim, index, src)
    virtual void index_select(const Tensor& x, int64_t dim, const Tensor& index,
                              const Tensor& out) = 0;
    virtual void index_add(const Tensor& out, int64_t dim, const Tensor& index,
                           const Tensor& src) = 0;
    // out[..i..] = x[..index[..i..]..] along dim; out[..index[..i..]..] += src[..i..]
    virtual void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) = 0;
    virtual void scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                             const Tensor& src) = 0;
    // Training batch norm of a contiguous x [N, C, S] per channel c, over n and s (M = N·S
    // values): mean[c], biased var[c] (accumulated in double, two passes), and
    // y = (x − mean)/√(var + eps)·weight + bias (weight, bias [C] or undefined: 1 and 0).
    virtual void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                    double eps, const Tensor& y, const Tensor& mean,
                                    const Tensor& var) = 0;
    // Its gradients, with x̂ = (x − mean)/√(var + eps) and dy contiguous like x:
    // dbias = Σ dy, dweight = Σ dy·x̂, dx = weight/√(var + eps)·(dy − (dbias + x̂·dweight)/M).
    // dx, dweight and dbias may each be undefined (not wanted).
    virtual void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& mean,
                                     const Tensor& var, const Tensor& weight, double eps,
                                     const Tensor& dx, const Tensor& dweight,
                                     const Tensor& dbias) = 0;
    // im2col: cols[(c, i, j), (n, oy, ox)] = x[n, c, oy·sh − ph + i·dh, ox·sw − pw + j·dw], or
    // pad_value outside the image. x is [N, C, H, W]; cols is [C·kh·kw, N·OH·OW], so one GEMM
    // convolves the whole batch.
    virtual void im2col(const Tensor& x, const Window2d& g, double pad_value,
                        const Tensor& cols) = 0;
    // col2im, the adjoint: x is overwritten with, at each pixel, the sum of the cols entries
    // read from it (0 where no window reads it).
    virtual void col2im(const Tensor& cols, const Window2d& g, const Tensor& x) = 0;
    virtual void random(RandomKind kind, const Tensor& out, Rng& gen, double a, double b) = 0;
};

Backend& backend(Device d);
inline Backend& backend(const Tensor& t) {
    return backend(t.device());
}
Backend& cpu_backend();
// The BLAS behind the CPU matmul and how it is threaded, e.g. "OpenBLAS 0.3.21 ... (OpenMP
// threads, core Haswell)": OpenMP-threaded OpenBLAS shares zoograd's thread pool.
std::string cpu_blas_info();

}  // namespace zg
