#pragma once
// Weight reparametrizations for the weighted layers (Linear, Conv2d, ConvTranspose2d): each one
// changes the layer's parameters and installs, through WeightedModule::set_reparametrization,
// the function that computes the weight the layer's forward uses. A layer takes one of them;
// a second is an error naming the layer. Each returns the module, for chaining:
//   auto conv = spectral_norm(make<Conv2d>(3, 64, 4, 2, 1));
#include <cmath>
#include <memory>
#include <type_traits>

#include "nn/layers/weighted.h"

namespace zg::nn {

// Spectral normalization (Miyato et al. 2018), exactly as torch.nn.utils.spectral_norm (the
// hook-based version, not torch.nn.utils.parametrizations):
// - parameter "weight" becomes "weight_orig"; buffers "weight_u" [h] and "weight_v" [w] are
//   registered, initialized as normalize(randn) from `gen` (null: the global generator), u
//   drawn first. W is weight_orig as a matrix [h, w] = [size(dim), numel/size(dim)] with dim = 1
//   for ConvTranspose2d and 0 otherwise (PyTorch's choice); normalize(a) = a / max(‖a‖, eps).
// - in training mode every weight computation first runs n_power_iterations steps, without
//   gradient, updating u and v in place: v ← normalize(Wᵀu), u ← normalize(Wv). In eval mode
//   u and v are left alone.
// - σ = uᵀWv is computed with gradient through W (u, v constants, copied so a later in-place
//   update never invalidates a graph still waiting for backward), and weight = weight_orig / σ.
// State dict keys: weight_orig, weight_u, weight_v (and bias), so a spectral-normed PyTorch
// layer's state dict loads. (named_parameters() keeps weight_orig where weight was, before bias;
// PyTorch lists it after bias.)
WeightedModule& spectral_norm(WeightedModule& m, int64_t n_power_iterations = 1, double eps = 1e-12,
                              Rng* gen = nullptr);

// Weight normalization (Salimans & Kingma 2016), as torch.nn.utils.weight_norm: parameter
// "weight" is replaced by "weight_g" (the norms; shape [out, 1, 1, 1] for a conv with dim 0,
// [out, 1] for Linear) and "weight_v" (the direction), weight = g · v / ‖v‖ with the norm over
// every dim except `dim`; dim = -1 means over the whole tensor (PyTorch's dim=None; g is then a
// scalar). Initialized from the current weight (g = ‖w‖, v = w), so the layer computes exactly
// what it did before. Used by the Improved-GAN MNIST discriminator.
WeightedModule& weight_norm(WeightedModule& m, int64_t dim = 0);

// Data-dependent initialization of a weight-normalized layer (Salimans & Kingma 2016, §3.1;
// the init pass of OpenAI's improved-gan code): for a batch x, with t = the layer's output
// without its bias, μ and σ the mean and (biased) standard deviation of t per output unit over
// the batch (and spatial) dims, it sets
//   g ← g · scale/σ,   b ← −μ · scale/σ
// so that on x every output unit has mean 0 and standard deviation `scale`. Returns the
// layer's new output on x (what the next layer's init pass should see). The layer must be a
// Linear or Conv2d with weight_norm over dim 0 (one g per output unit); without a bias only g
// is set. No gradients are recorded.
Tensor weight_norm_data_init_(WeightedModule& m, const Tensor& x, double scale = 1.0);

// Equalized learning rate (Karras et al. 2018, ProGAN §4.1): the weight parameter (still named
// "weight") is re-initialized N(0, 1) from `gen` and the bias to 0, and forward uses
// weight · gain/√fan_in, fan_in = in·k·k (the inputs one output sees: in_features for Linear,
// in_channels/groups·k·k for Conv2d and ConvTranspose2d). The scale is the He-init std, moved
// from the initialization into the forward so that Adam's per-parameter step sizes treat every
// layer alike.
WeightedModule& equalized_lr(WeightedModule& m, double gain = std::sqrt(2.0), Rng* gen = nullptr);
// The scale equalized_lr applies for this layer: gain/√fan_in.
double equalized_lr_scale(const WeightedModule& m, double gain = std::sqrt(2.0));

// The shared-pointer forms return the same pointer with its own type, for chaining.
template <class M>
std::shared_ptr<M> spectral_norm(std::shared_ptr<M> m, int64_t n_power_iterations = 1,
                                 double eps = 1e-12, Rng* gen = nullptr) {
    static_assert(std::is_base_of_v<WeightedModule, M>, "spectral_norm needs a WeightedModule");
    spectral_norm(static_cast<WeightedModule&>(*m), n_power_iterations, eps, gen);
    return m;
}
template <class M>
std::shared_ptr<M> weight_norm(std::shared_ptr<M> m, int64_t dim = 0) {
    static_assert(std::is_base_of_v<WeightedModule, M>, "weight_norm needs a WeightedModule");
    weight_norm(static_cast<WeightedModule&>(*m), dim);
    return m;
}
template <class M>
std::shared_ptr<M> equalized_lr(std::shared_ptr<M> m, double gain = std::sqrt(2.0),
                                Rng* gen = nullptr) {
    static_assert(std::is_base_of_v<WeightedModule, M>, "equalized_lr needs a WeightedModule");
    equalized_lr(static_cast<WeightedModule&>(*m), gain, gen);
    return m;
}

}  // namespace zg::nn
