// The weighted layers (Linear, Conv2d, ConvTranspose2d) and Sequential.
#include <cmath>

#include "nn/init.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/sequential.h"

namespace zg::nn {

void WeightedModule::set_reparametrization(const std::string& what, Reparametrization f) {
    ZG_CHECK(!reparam_, type_name(), ": cannot apply ", what, " on top of ", reparam_name_,
             "; a layer takes one weight reparametrization");
    reparam_ = std::move(f);
    reparam_name_ = what;
}

// PyTorch's default: kaiming_uniform_(w, a=√5) gives U(±1/√fan_in); the bias uses the same bound.
static void default_init(WeightedModule& m, int64_t fan_in, Rng* gen) {
    const double bound = 1.0 / std::sqrt((double)fan_in);
    init::uniform_(m.parameter("weight"), -bound, bound, gen);
    if (m.has_parameter("bias")) init::uniform_(m.parameter("bias"), -bound, bound, gen);
}

Linear::Linear(int64_t in, int64_t out, bool bias, Rng* gen) : in_features(in), out_features(out) {
    ZG_CHECK(in > 0 && out > 0, "Linear: features must be positive, got ", in, " → ", out);
    register_parameter("weight", empty({out, in}));
    if (bias) register_parameter("bias", empty({out}));
    default_init(*this, in, gen);
}

Tensor Linear::forward(const Tensor& x) {
    return linear(x, weight(), bias());
}

std::string Linear::extra_repr() const {
    return "in_features=" + std::to_string(in_features) +
           ", out_features=" + std::to_string(out_features) +
           (has_parameter("bias") ? "" : ", bias=False");
}

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

Sequential::Sequential(std::initializer_list<ModulePtr> layers) {
    for (const ModulePtr& l : layers) add(l);
}

Sequential& Sequential::add(ModulePtr layer) {
    register_module(std::to_string(size()), std::move(layer));
    return *this;
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (auto& [name, layer] : named_children()) h = layer->forward(h);
    return h;
}

}  // namespace zg::nn
