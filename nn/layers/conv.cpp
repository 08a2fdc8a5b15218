// Conv2d and ConvTranspose2d: thin layers over engine/ops/conv.cpp's ops.
#include "nn/layers/conv.h"

namespace zg::nn {

static std::string conv_repr(int64_t in, int64_t out, int64_t k, const Conv2dOptions& o,
                             bool transposed) {
    std::string s = std::to_string(in) + ", " + std::to_string(out) +
                    ", kernel_size=" + std::to_string(k) +
                    ", stride=" + std::to_string(o.stride[0]);
    if (o.padding[0]) s += ", padding=" + std::to_string(o.padding[0]);
    if (transposed && o.output_padding[0])
        s += ", output_padding=" + std::to_string(o.output_padding[0]);
    if (o.dilation[0] != 1) s += ", dilation=" + std::to_string(o.dilation[0]);
    if (o.groups != 1) s += ", groups=" + std::to_string(o.groups);
    return s;
}

static void check_conv_args(const char* layer, int64_t in, int64_t out, int64_t k, int64_t stride,
                            int64_t padding, int64_t dilation, int64_t groups) {
    ZG_CHECK(in > 0 && out > 0 && k > 0 && stride > 0 && padding >= 0 && dilation > 0 &&
                 groups > 0 && in % groups == 0 && out % groups == 0,
             layer, ": invalid arguments (in ", in, ", out ", out, ", kernel ", k, ", stride ",
             stride, ", padding ", padding, ", dilation ", dilation, ", groups ", groups,
             "); channels must be divisible by groups");
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, bool bias,
               int64_t dilation, int64_t groups, Rng* gen)
    : in_channels(in),
      out_channels(out),
      kernel_size(k),
      options{{stride, stride}, {padding, padding}, {dilation, dilation}, groups, {0, 0}} {
    check_conv_args("Conv2d", in, out, k, stride, padding, dilation, groups);
    register_parameter("weight", empty({out, in / groups, k, k}));
    if (bias) register_parameter("bias", empty({out}));
    default_init(*this, in / groups * k * k, gen);
}

Tensor Conv2d::forward(const Tensor& x) {
    return conv2d(x, weight(), bias(), options);
}

std::string Conv2d::extra_repr() const {
    return conv_repr(in_channels, out_channels, kernel_size, options, false);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t k, int64_t stride,
                                 int64_t padding, int64_t output_padding, bool bias,
                                 int64_t dilation, int64_t groups, Rng* gen)
    : in_channels(in),
      out_channels(out),
      kernel_size(k),
      options{{stride, stride},
              {padding, padding},
              {dilation, dilation},
              groups,
              {output_padding, output_padding}} {
    check_conv_args("ConvTranspose2d", in, out, k, stride, padding, dilation, groups);
    register_parameter("weight", empty({in, out / groups, k, k}));
    if (bias) register_parameter("bias", empty({out}));
    // PyTorch computes fan_in from weight.size(1)·k·k for transposed convs too.
    default_init(*this, out / groups * k * k, gen);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
    return conv_transpose2d(x, weight(), bias(), options);
}

std::string ConvTranspose2d::extra_repr() const {
    return conv_repr(in_channels, out_channels, kernel_size, options, true);
}

}  // namespace zg::nn
