#pragma once
#include "nn/layers/weighted.h"

namespace zg::nn {

// 2-D convolution, as torch.nn.Conv2d (weight [out, in/groups, k, k], PyTorch's default init).
class Conv2d : public WeightedModule {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
           int64_t padding = 0, bool bias = true, int64_t dilation = 1, int64_t groups = 1,
           Rng* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Conv2d"; }
    std::string extra_repr() const override;
    const int64_t in_channels, out_channels, kernel_size;
    const Conv2dOptions options;
};

// Transposed 2-D convolution, as torch.nn.ConvTranspose2d (weight [in, out/groups, k, k]).
class ConvTranspose2d : public WeightedModule {
public:
    ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                    int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0,
                    bool bias = true, int64_t dilation = 1, int64_t groups = 1, Rng* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ConvTranspose2d"; }
    std::string extra_repr() const override;
    const int64_t in_channels, out_channels, kernel_size;
    const Conv2dOptions options;
};

}  // namespace zg::nn
