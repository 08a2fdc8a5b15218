#pragma once
// Weight initializers, as torch.nn.init. Each fills the tensor in place (no history) from the
// project RNG (`gen` null means the global generator) and returns it.
#include <string>

#include "engine/ops.h"

namespace zg::nn::init {

// fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (PyTorch's convention).
std::pair<int64_t, int64_t> fans(const Tensor& w);
// The gain PyTorch recommends for a nonlinearity: "linear", "relu", "leaky_relu" (with slope),
// "tanh", "sigmoid".
double gain(const std::string& nonlinearity, double slope = 0.01);

Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& constant_(Tensor& t, double value);
Tensor& uniform_(Tensor& t, double lo, double hi, Rng* gen = nullptr);
Tensor& normal_(Tensor& t, double mean, double std, Rng* gen = nullptr);
// DCGAN (Radford et al.): N(0, 0.02) for conv weights, N(1, 0.02) for BatchNorm scales.
Tensor& dcgan_normal_(Tensor& t, Rng* gen = nullptr);
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Rng* gen = nullptr);
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Rng* gen = nullptr);
// Kaiming/He: std = gain/√fan_in (fan_in mode), gain from the nonlinearity.
Tensor& kaiming_uniform_(Tensor& t, double slope = 0.0,
                         const std::string& nonlinearity = "leaky_relu", Rng* gen = nullptr);
Tensor& kaiming_normal_(Tensor& t, double slope = 0.0,
                        const std::string& nonlinearity = "leaky_relu", Rng* gen = nullptr);
// A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, scaled by gain.
Tensor& orthogonal_(Tensor& t, double gain = 1.0, Rng* gen = nullptr);

}  // namespace zg::nn::init
