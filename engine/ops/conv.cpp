// Convolutions as GEMMs over unrolled windows. Only im2col and col2im are new primitives (each
// the other's adjoint); conv2d and conv_transpose2d are built from them and matmul, so their
// gradients, and the gradients of those gradients (WGAN-GP, R1), follow from ops already checked.
//
// conv2d, one group: cols = im2col(x) is [C·kh·kw, N·OH·OW] and W is viewed as [O, C·kh·kw], so
//   Y = W · cols (+ b)                       [O, N·OH·OW], reshaped to [N, O, OH, OW]
//   dW = dY · colsᵀ                          (a GEMM with the saved columns)
//   dX = col2im(Wᵀ · dY)                     (the adjoint of im2col sums overlapping windows)
//   db = Σ dY over n, oy, ox
// conv_transpose2d is conv2d's adjoint with respect to x: Y = col2im(Wᵀ · X), so its dX is a
// conv2d of dY and its dW is X · im2col(dY)ᵀ.
#include "engine/ops/plumbing.h"

namespace zg {

static void check_window(const Window2d& g, const char* op) {
    ZG_CHECK(g.kh > 0 && g.kw > 0 && g.sh > 0 && g.sw > 0 && g.dh > 0 && g.dw > 0 && g.ph >= 0 &&
                 g.pw >= 0,
             op, ": kernel, stride and dilation must be positive and padding non-negative");
    ZG_CHECK(g.out_h() > 0 && g.out_w() > 0, op, ": a ", g.kh, "×", g.kw, " window (dilation ",
             g.dh, ", padding ", g.ph, ") does not fit in a ", g.h, "×", g.w, " input");
}

// cols = im2col(x);  its adjoint sends dcols back: dx = col2im(dcols)
Tensor im2col(const Tensor& x, const Window2d& g, double pad_value) {
    check_window(g, "im2col");
    ZG_CHECK(x.shape() == Shape({g.n, g.c, g.h, g.w}), "im2col: input ", shape_str(x.shape()),
             " does not match the window geometry [", g.n, ", ", g.c, ", ", g.h, ", ", g.w, "]");
    Tensor cols = empty({g.c * g.kh * g.kw, g.n * g.out_h() * g.out_w()}, x.dtype(), x.device());
    backend(x).im2col(x, g, pad_value, cols);
    return record("im2col", cols, {x},
                  [g](const BackwardArgs& a) -> Grads { return {col2im(a.dy, g)}; });
}

// x = col2im(cols);  the adjoint of a sum over windows is reading the windows: dcols = im2col(dx)
Tensor col2im(const Tensor& cols, const Window2d& g) {
    check_window(g, "col2im");
    ZG_CHECK(cols.shape() == Shape({g.c * g.kh * g.kw, g.n * g.out_h() * g.out_w()}),
             "col2im: columns ", shape_str(cols.shape()), " do not match the window geometry");
    Tensor x = empty({g.n, g.c, g.h, g.w}, cols.dtype(), cols.device());
    backend(cols).col2im(cols, g, x);
    return record("col2im", x, {cols},
                  [g](const BackwardArgs& a) -> Grads { return {im2col(a.dy, g)}; });
}

// y + bias per channel, for y [N, C, H, W] and bias [C]; y itself when there is no bias.
static Tensor add_channel_bias(const Tensor& y, const Tensor& bias, const char* op) {
    if (!bias.defined()) return y;
    const int64_t channels = y.size(1);
    ZG_CHECK(bias.dim() == 1 && bias.size(0) == channels, op, ": bias ", shape_str(bias.shape()),
             " must be [", channels, "]");
    return y + bias.view({1, channels, 1, 1});
}

// The rows [first, first + count) of a matrix-shaped tensor, one slice per group.
static Tensor rows(const Tensor& m, int64_t group, int64_t per_group) {
    return m.slice(0, group * per_group, (group + 1) * per_group);
}

// op(A) · B, with op(A) = Aᵀ if transpose_a. With groups > 1 the product is block-diagonal:
// group g multiplies its share of A's rows (transposed if asked) by its share of B's rows, and
// the products are stacked by rows.
static Tensor grouped_matmul(const Tensor& a, const Tensor& b, int64_t groups, bool transpose_a) {
    if (groups == 1) return matmul(transpose_a ? a.t() : a, b);
    const int64_t a_rows = a.size(0) / groups, b_rows = b.size(0) / groups;
    std::vector<Tensor> parts;
    for (int64_t gi = 0; gi < groups; ++gi) {
        const Tensor ag = rows(a, gi, a_rows);
        parts.push_back(matmul(transpose_a ? ag.t() : ag, rows(b, gi, b_rows)));
    }
    return concat(parts, 0);
}

// Both operands of a convolution are 4-d; `weight_layout` names the weight's dimensions.
static void check_conv_operands(const Tensor& x, const Tensor& weight, const char* op,
                                const char* weight_layout) {
    ZG_CHECK(x.dim() == 4, op, ": input must be [N, C, H, W], got ", shape_str(x.shape()));
    ZG_CHECK(weight.dim() == 4, op, ": weight must be ", weight_layout, ", got ",
             shape_str(weight.shape()));
}

// Whether a window of this geometry covers its whole unpadded input exactly once (one output
// pixel, as DCGAN's 4×4 → 1×1 logit layer and its 1×1 → 4×4 first generator layer): then the
// columns are the input itself, [N, C·kh·kw] read transposed, and im2col/col2im are not needed.
static bool window_is_whole_image(const Window2d& g) {
    return g.out_h() == 1 && g.out_w() == 1 && g.kh == g.h && g.kw == g.w && g.ph == 0 &&
           g.pw == 0 && g.dh == 1 && g.dw == 1;
}

// y[n, o] = b[o] + Σ_{c,i,j} w[o, c, i, j] · x[n, c, oy·s − p + i·d, ox·s − p + j·d]
//         = W [O, C·kh·kw] · im2col(x) [C·kh·kw, N·OH·OW], per group
// When the window covers the whole image, y [N, O] = x [N, C·kh·kw] · Wᵀ: no im2col and no
// permute of the product.
// padding_mode reflect, replicate or circular (torch.nn.Conv2d's): y = conv2d(pad(x, p, mode), w)
// with no padding, as PyTorch computes it; the gradient goes through pad's (index_add).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
    check_conv_operands(x, weight, "conv2d", "[out, in/groups, kh, kw]");
    if (o.padding_mode != PadMode::zeros) {
        Conv2dOptions unpadded = o;
        unpadded.padding = {0, 0};
        unpadded.padding_mode = PadMode::zeros;
        const int64_t ph = o.padding[0], pw = o.padding[1];
        ZG_CHECK(ph >= 0 && pw >= 0, "conv2d: padding must be non-negative, got ", ph, "×", pw);
        return conv2d(pad(x, {pw, pw, ph, ph}, o.padding_mode), weight, bias, unpadded);
    }
    const int64_t groups = o.groups, out_ch = weight.size(0), in_ch = x.size(1);
    ZG_CHECK(groups > 0 && in_ch % groups == 0 && out_ch % groups == 0 &&
                 weight.size(1) * groups == in_ch,
             "conv2d: input ", shape_str(x.shape()), " with ", groups,
             " groups does not match weight ", shape_str(weight.shape()),
             " (expected weight.size(1) · groups = input channels)");
    Window2d g{x.size(0),   in_ch,       x.size(2),    x.size(3),    weight.size(2), weight.size(3),
               o.stride[0], o.stride[1], o.padding[0], o.padding[1], o.dilation[0],  o.dilation[1]};
    // Named here rather than failing inside im2col: a kernel (dilated) larger than the padded
    // input has no output position.
    ZG_CHECK(g.out_h() > 0 && g.out_w() > 0, "conv2d: the ", g.kh, "×", g.kw, " kernel (dilation ",
             g.dh, "×", g.dw, ") is larger than the input ", x.size(2), "×", x.size(3),
             " with padding ", g.ph, "×", g.pw, ": there is no output position");
    const int64_t k = weight.size(1) * g.kh * g.kw;
    Tensor w2 = weight.reshape({out_ch, k});
    if (groups == 1 && window_is_whole_image(g))
        return add_channel_bias(matmul(x.reshape({g.n, k}), w2.t()).view({g.n, out_ch, 1, 1}), bias,
                                "conv2d");
    Tensor y = grouped_matmul(w2, im2col(x, g), groups, false);
    // [O, N·OH·OW] → [N, O, OH, OW]
    y = y.view({out_ch, g.n, g.out_h(), g.out_w()}).permute({1, 0, 2, 3}).contiguous();
    return add_channel_bias(y, bias, "conv2d");
}

// The adjoint of conv2d with respect to its input (the "deconvolution" of DCGAN's generator):
// every input pixel scatters w-weighted copies into the output,
//   y = col2im(Wᵀ [O·kh·kw, C] · x [C, N·H·W]) + b, per group.
// From a 1×1 input to a kh×kw output the columns are the output itself, transposed:
//   y [N, O·kh·kw] = x [N, C] · W [C, O·kh·kw], with no col2im.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Conv2dOptions& o) {
    check_conv_operands(x, weight, "conv_transpose2d", "[in, out/groups, kh, kw]");
    const int64_t groups = o.groups, in_ch = x.size(1);
    ZG_CHECK(groups > 0 && weight.size(0) == in_ch && in_ch % groups == 0,
             "conv_transpose2d: input ", shape_str(x.shape()), " does not match weight ",
             shape_str(weight.shape()),
             " (expected weight.size(0) = input channels, divisible by groups ", groups, ")");
    ZG_CHECK(o.padding_mode == PadMode::zeros,
             "conv_transpose2d: only zeros padding_mode is supported (as in PyTorch)");
    // PyTorch's rule: output_padding < stride or output_padding < dilation, per dim.
    for (int d = 0; d < 2; ++d)
        ZG_CHECK(o.output_padding[d] >= 0 &&
                     (o.output_padding[d] < o.stride[d] || o.output_padding[d] < o.dilation[d]),
                 "conv_transpose2d: output_padding must be smaller than either stride or ",
                 "dilation, got output_padding ", o.output_padding[0], "×", o.output_padding[1],
                 ", stride ", o.stride[0], "×", o.stride[1], ", dilation ", o.dilation[0], "×",
                 o.dilation[1]);
    const int64_t out_ch = weight.size(1) * groups, kh = weight.size(2), kw = weight.size(3);
    const int64_t oh = (x.size(2) - 1) * o.stride[0] - 2 * o.padding[0] + o.dilation[0] * (kh - 1) +
                       o.output_padding[0] + 1;
    const int64_t ow = (x.size(3) - 1) * o.stride[1] - 2 * o.padding[1] + o.dilation[1] * (kw - 1) +
                       o.output_padding[1] + 1;
    ZG_CHECK(oh > 0 && ow > 0, "conv_transpose2d: output size ", oh, "×", ow,
             " is not positive for input ", shape_str(x.shape()));
    // The window runs over the output image, whose out_h/out_w are the input's H and W.
    Window2d g{x.size(0),
               out_ch,
               oh,
               ow,
               kh,
               kw,
               o.stride[0],
               o.stride[1],
               o.padding[0],
               o.padding[1],
               o.dilation[0],
               o.dilation[1]};
    Tensor w2 = weight.reshape({in_ch, weight.size(1) * kh * kw});
    auto columns = [&] { return x.permute({1, 0, 2, 3}).reshape({in_ch, -1}); };  // [C, N·H·W]
    if (o.output_padding[0] >= o.stride[0] || o.output_padding[1] >= o.stride[1]) {
        // output_padding ≥ stride (allowed when < dilation): no window geometry of the output
        // has exactly H×W positions, so sum the windows into the whole unpadded image,
        //   full = (H − 1)·s + d·(k − 1) + 1 rows (padding 0: every window fits once),
        // and take rows [p, p + oh) of it, the rows past its end being zeros:
        //   y = pad(full, {−p, oh − full + p, ...}) (a slice, then zeros when oh + p > full).
        Window2d f{x.size(0),
                   out_ch,
                   (x.size(2) - 1) * o.stride[0] + o.dilation[0] * (kh - 1) + 1,
                   (x.size(3) - 1) * o.stride[1] + o.dilation[1] * (kw - 1) + 1,
                   kh,
                   kw,
                   o.stride[0],
                   o.stride[1],
                   0,
                   0,
                   o.dilation[0],
                   o.dilation[1]};
        Tensor full_image = col2im(grouped_matmul(w2, columns(), groups, true), f);
        Tensor y = pad(full_image, {-o.padding[1], ow + o.padding[1] - f.w, -o.padding[0],
                                    oh + o.padding[0] - f.h});
        return add_channel_bias(y, bias, "conv_transpose2d");
    }
    ZG_CHECK(g.out_h() == x.size(2) && g.out_w() == x.size(3),
             "conv_transpose2d: internal error: the window geometry does not match the input");
    if (groups == 1 && window_is_whole_image(g))
        return add_channel_bias(matmul(x.reshape({g.n, in_ch}), w2).view({g.n, out_ch, oh, ow}),
                                bias, "conv_transpose2d");
    return add_channel_bias(col2im(grouped_matmul(w2, columns(), groups, true), g), bias,
                            "conv_transpose2d");
}

}  // namespace zg
