#pragma once
// Every differentiable op of the engine, one family per file under engine/ops/. Each op checks
// its arguments and throws zg::Error naming itself, the shapes, and what it expected.
#include <array>
#include <vector>

#include "engine/autograd.h"
#include "engine/backend/backend.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace zg {

using Axes = std::vector<int64_t>;

// ---- elementwise arithmetic with NumPy broadcasting (ops/elementwise.cpp) ----
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor affine(const Tensor& x, double scale, double shift);  // scale·x + shift
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);  // no gradient (zero almost everywhere)
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// Comparisons give 0/1 masks of x's dtype, with no gradient.
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& x, double s);
Tensor lt(const Tensor& x, double s);
Tensor ge(const Tensor& x, double s);
Tensor le(const Tensor& x, double s);
Tensor eq(const Tensor& x, double s);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& x, double s);
Tensor operator+(double s, const Tensor& x);
Tensor operator-(const Tensor& x, double s);
Tensor operator-(double s, const Tensor& x);
Tensor operator*(const Tensor& x, double s);
Tensor operator*(double s, const Tensor& x);
Tensor operator/(const Tensor& x, double s);
Tensor operator/(double s, const Tensor& x);
Tensor operator>(const Tensor& x, double s);
Tensor operator<(const Tensor& x, double s);

// ---- activations (ops/activations.cpp) ----
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor softplus(const Tensor& x);
Tensor elu(const Tensor& x, double alpha = 1.0);
// Along dim; a 0-d x (dim 0 or -1, as PyTorch) gives log_softmax 0 and softmax 1.
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax(const Tensor& x, int64_t dim);

// ---- reductions over axes (ops/reduce.cpp); empty axes means all ----
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor var(const Tensor& x, const Axes& axes = {}, bool unbiased = true, bool keepdim = false);
Tensor amax(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Whether every element of a floating tensor is finite (no NaN, no ±inf); true when empty.
bool all_finite(const Tensor& x);
// Sums a broadcast gradient back down to `shape` (the inverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- matrix products (ops/matmul.cpp) ----
// As torch.matmul: 2-D · 2-D, or batched [..., M, K] · [..., K, N] with broadcasting of the
// batch dims; a 1-D operand gets a dim prepended (left) or appended (right), removed from the
// result, so 1-D · 1-D is a 0-d dot product.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [..., in] · weightᵀ [in, out] + bias [out], as torch.nn.functional.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- joining and indexing (ops/shape.cpp; the views are Tensor members) ----
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of x with src added at the given indices along dim.
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// As torch.gather / scatter_add: index has x's rank, and index.size(d) ≤ x.size(d) for every
// d ≠ dim; scatter_add's src may be larger than index (only index's extent of it is read).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

// ---- padding (ops/pad.cpp) ----
// torch.nn.functional.pad's modes; `zeros` is Conv2d's name for constant padding with 0.
enum class PadMode { constant, zeros = constant, reflect, replicate, circular };
// pads = {left, right} of the last dim, then of the one before it, ... (F.pad's order). constant
// fills with `value` (negative pads crop); reflect mirrors without repeating the edge (pad <
// size); replicate repeats the edge; circular wraps around (pad ≤ size).
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant,
           double value = 0.0);
// zeros(shape) with x written into the slice [start:end:step] of dim (slice's adjoint).
Tensor slice_scatter(const Tensor& x, const Shape& shape, int64_t dim, int64_t start, int64_t end,
                     int64_t step);

// ---- convolution, pooling, resampling (ops/conv.cpp, ops/resample.cpp) ----
using Pair = std::array<int64_t, 2>;
struct Conv2dOptions {
    Pair stride{1, 1};
    Pair padding{0, 0};
    Pair dilation{1, 1};
    int64_t groups = 1;
    Pair output_padding{0, 0};  // conv_transpose2d only
    // conv2d only, as torch.nn.Conv2d(padding_mode=...): reflect, replicate and circular pad
    // the input with pad() first and convolve it unpadded.
    PadMode padding_mode = PadMode::zeros;
};
// im2col: the sliding windows of x [N, C, H, W] as columns, [C·kh·kw, N·OH·OW]; col2im is its
// adjoint (it sums overlapping windows back into [N, C, H, W]).
Tensor im2col(const Tensor& x, const Window2d& g, double pad_value = 0.0);
Tensor col2im(const Tensor& cols, const Window2d& g);
// x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or undefined; as torch.nn.functional.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dOptions& o = {});
// x [N, C, H, W], weight [C, O/groups, kh, kw] (PyTorch's layout), bias [O] or undefined.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        const Conv2dOptions& o = {});
// Pooling over k×k windows; stride 0 means stride = k. avg counts padding (PyTorch's default).
Tensor avg_pool2d(const Tensor& x, int64_t k, int64_t stride = 0, int64_t padding = 0);
// avg_pool2d with every option of torch.nn.functional.avg_pool2d but divisor_override.
struct AvgPool2dOptions {
    Pair stride{0, 0};  // 0: the kernel size
    Pair padding{0, 0};
    bool ceil_mode = false;  // round the output size up (the last window starts inside)
    bool count_include_pad = true;
};
Tensor avg_pool2d(const Tensor& x, Pair kernel, const AvgPool2dOptions& o = {});
Tensor max_pool2d(const Tensor& x, int64_t k, int64_t stride = 0, int64_t padding = 0);
Tensor upsample_nearest2d(const Tensor& x, int64_t scale);
// Nearest resize to [oh, ow], as interpolate(mode='nearest', size=(oh, ow)): output pixel i reads
// input pixel floor(i·in/out) (with PyTorch's float32 scale, so the same pixel in every case).
Tensor upsample_nearest2d(const Tensor& x, int64_t oh, int64_t ow);
// Bilinear resize to [oh, ow], as torch.nn.functional.interpolate(mode='bilinear').
Tensor upsample_bilinear2d(const Tensor& x, int64_t oh, int64_t ow, bool align_corners = false);
Tensor pixel_shuffle(const Tensor& x, int64_t r);    // [N, C·r², H, W] → [N, C, H·r, W·r]
Tensor pixel_unshuffle(const Tensor& x, int64_t r);  // the inverse
// Zeroes each element with probability p and scales the rest by 1/(1−p) (when training).
Tensor dropout(const Tensor& x, double p, bool training = true, Rng* gen = nullptr);

// ---- normalization (ops/norm.cpp) ----
// [1, C, 1, …, 1] of the given rank: per-channel values broadcast against [N, C, *].
Shape channel_shape(int64_t rank, int64_t channels);
// Training-mode batch normalization of x [N, C, *] over every dim but 1, in fused passes:
// y = (x − μ)/√(σ² + eps)·weight + bias, with the batch mean μ and biased variance σ² per
// channel returned too (as [C], without history: for the running statistics). weight and bias
// are [C] or undefined.
struct BatchNormOutput {
    Tensor y, mean, var;
};
BatchNormOutput batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 double eps);

// ---- losses (ops/losses.cpp) ----
enum class Reduction { mean, sum, none };
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction r = Reduction::mean);
// logits [N, C], labels int32 [N]; label smoothing as torch.nn.functional.cross_entropy.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing = 0.0,
                     Reduction r = Reduction::mean);
// As torch.nn.functional.cross_entropy with class-index targets: logits [N, C, d1, ...] with
// labels int32 [N, d1, ...] (or [C] with a 0-d label), per-class weights [C] (no gradient),
// labels equal to ignore_index contributing nothing; the mean divides by the summed weights of
// the labels not ignored. Label smoothing ε mixes in ε/C of −Σ_c weight_c·log p_c.
struct CrossEntropyOptions {
    Tensor weight;  // [C], or undefined for 1 everywhere
    int64_t ignore_index = -100;
    double label_smoothing = 0.0;
    Reduction reduction = Reduction::mean;
};
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& o);
Tensor mse_loss(const Tensor& x, const Tensor& target, Reduction r = Reduction::mean);
Tensor l1_loss(const Tensor& x, const Tensor& target, Reduction r = Reduction::mean);

// Normalizes a possibly negative axis against `ndim`, naming `op` in the error.
int64_t wrap_dim(int64_t d, int64_t ndim, const char* op);

}  // namespace zg
