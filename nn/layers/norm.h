#pragma once
// Normalization layers with PyTorch 1.13's semantics and state-dict names (BatchNorm1d/2d,
// InstanceNorm2d, LayerNorm) and the GAN-specific ones: ProGAN's pixelwise feature-vector
// normalization and the virtual batch normalization of Improved GAN.
//
// Each layer's math lives in a free function (batch_norm, instance_norm, layer_norm,
// pixel_norm, virtual_batch_norm) that the module calls: it is built from engine ops only, so
// it has first and second derivatives (WGAN-GP and R1 differentiate through a critic's
// normalizations), and the tests gradcheck it in float64. Parameters and buffers are float32;
// the free functions take any floating dtype as long as x, weight and bias agree (running
// statistics are cast to x's dtype when read and back to their own when updated).
#include <initializer_list>
#include <optional>
#include <string>

#include "nn/module.h"

namespace zg::nn {

// ---- functional forms ----

// As torch.nn.functional.batch_norm. x [N, C, *] (channels on dim 1); running_mean,
// running_var, weight, bias are [C] or undefined.
//   training: y = (x − μ_B) / √(σ²_B + eps) · weight + bias, μ_B and σ²_B (biased) over every
//             dim but 1; when running stats are given they are updated in place, without
//             history:  running ← (1 − momentum)·running + momentum·batch statistic, with the
//             UNBIASED batch variance σ²_B·n/(n−1) for running_var (n = N·∏*), as PyTorch.
//             More than one value per channel is required (an error otherwise).
//   otherwise: y = (x − running_mean) / √(running_var + eps) · weight + bias (running stats
//             required).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);

// As torch.nn.functional.instance_norm: x [N, C, *] normalized per sample and channel over
// the dims after 1 (biased variance). With use_input_stats and running stats given, they are
// updated like batch_norm's with the statistics averaged over the N samples; without
// use_input_stats the running stats normalize instead.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                     const Tensor& weight, const Tensor& bias, bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);

// As torch.nn.functional.layer_norm: statistics over the last normalized_shape.size() dims of
// x, which must equal normalized_shape; weight and bias (normalized_shape, or undefined) are
// applied elementwise.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps = 1e-5);

// ProGAN's pixelwise feature vector normalization (Karras et al. 2018, §4.2):
//   b = a / √(mean over channels of a² + eps), x [N, C, *], channels on dim 1.
Tensor pixel_norm(const Tensor& x, double eps = 1e-8);

// Statistics of a virtual batch norm's reference batch, per channel: mean and mean of squares
// over the batch and spatial dims, kept as [1, C] or [1, C, 1, 1] (broadcastable to x), and the
// number of reference examples. They carry x_ref's history, if it has any.
struct VbnStats {
    Tensor mean, meansq;
    int64_t count = 0;
    bool defined() const { return mean.defined(); }
};
VbnStats vbn_reference_stats(const Tensor& x_ref);

// Virtual batch normalization (Salimans et al. 2016, "Improved Techniques for Training GANs",
// §3.4), as the VBN class of OpenAI's improved-gan code (imagenet/build_model.py). Each
// example x_i is normalized with the statistics of the reference batch combined with its own:
//   new_coeff = 1/(N_ref + 1),  old_coeff = 1 − new_coeff
//   μ_i  = new_coeff · mean_s(x_i)  + old_coeff · μ_ref       (mean_s: mean over the spatial
//   s²_i = new_coeff · mean_s(x_i²) + old_coeff · meansq_ref   dims, the identity for [N, C])
//   y_i  = (x_i − μ_i) / √(s²_i − μ_i² + eps) · weight + bias
// per channel, where μ_ref / meansq_ref are the mean / mean of squares of the reference batch
// over its batch and spatial dims. x is [N, C] or [N, C, H, W]; weight and bias [C] or
// undefined. (OpenAI's code keeps γ as exp(γ_driver); here weight is γ itself, like BatchNorm.)
Tensor virtual_batch_norm(const Tensor& x, const VbnStats& ref, const Tensor& weight,
                          const Tensor& bias, double eps = 1e-5);
// The reference batch normalized by its own statistics (OpenAI's `reference_output`):
//   y = (x_ref − μ_ref) / √(meansq_ref − μ_ref² + eps) · weight + bias.
Tensor virtual_batch_norm_reference(const Tensor& x_ref, const VbnStats& ref, const Tensor& weight,
                                    const Tensor& bias, double eps = 1e-5);

// ---- modules ----

// The state shared by BatchNorm and InstanceNorm, as PyTorch's _NormBase: parameters
// "weight" (ones) and "bias" (zeros) of [C] when affine; buffers "running_mean" (zeros),
// "running_var" (ones) and "num_batches_tracked" when track_running_stats.
// num_batches_tracked is a 0-d int32 here (PyTorch's is int64; a PyTorch state dict's int64
// value is converted by the loader, and load_state_dict casts on copy).
// momentum nullopt means a cumulative moving average (factor 1/num_batches_tracked), as
// PyTorch's momentum=None.
class NormBase : public Module {
public:
    // `type` is the layer's name (type_name()): the constructor registers the parameters and
    // buffers, which needs it before the derived class exists.
    NormBase(const char* type, int64_t num_features, double eps, std::optional<double> momentum,
             bool affine, bool track_running_stats);
    std::string type_name() const override { return type_; }
    std::string extra_repr() const override;
    void reset_running_stats();  // running_mean 0, running_var 1, num_batches_tracked 0
    void reset_parameters();     // also weight 1, bias 0
    Tensor weight() { return affine ? parameter("weight") : Tensor(); }
    Tensor bias() { return affine ? parameter("bias") : Tensor(); }
    Tensor running_mean() { return track_running_stats ? buffer("running_mean") : Tensor(); }
    Tensor running_var() { return track_running_stats ? buffer("running_var") : Tensor(); }
    int64_t num_batches_tracked();  // 0 without running stats

    const int64_t num_features;
    const double eps;
    const std::optional<double> momentum;
    const bool affine, track_running_stats;

protected:
    // Expects x's rank to be one of `ranks` and dim 1 to be num_features; the error names the
    // layer, the expected shapes (`expected`, e.g. "[N, 64, H, W]") and x's.
    void check_input(const Tensor& x, std::initializer_list<int64_t> ranks,
                     const std::string& expected) const;

private:
    const char* type_;
};

// Batch normalization (Ioffe & Szegedy 2015), as torch.nn.BatchNorm1d/2d. Training mode (or no
// running stats): batch statistics, and running stats updated (num_batches_tracked += 1);
// eval mode: running stats.
class BatchNorm : public NormBase {
public:
    using NormBase::NormBase;
    Tensor forward(const Tensor& x) override;

protected:
    virtual void check(const Tensor& x) const = 0;
};

// x [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
public:
    explicit BatchNorm1d(int64_t num_features, double eps = 1e-5,
                         std::optional<double> momentum = 0.1, bool affine = true,
                         bool track_running_stats = true)
        : BatchNorm("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

protected:
    void check(const Tensor& x) const override;
};

// x [N, C, H, W].
class BatchNorm2d : public BatchNorm {
public:
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5,
                         std::optional<double> momentum = 0.1, bool affine = true,
                         bool track_running_stats = true)
        : BatchNorm("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

protected:
    void check(const Tensor& x) const override;
};

// Instance normalization (Ulyanov et al. 2016), as torch.nn.InstanceNorm2d: x [N, C, H, W] (or
// an unbatched [C, H, W]) normalized per sample and channel; affine and track_running_stats
// off by default. With running stats, eval mode uses them (num_batches_tracked exists but is
// never incremented, as in PyTorch). Unlike PyTorch, which only warns, a channel count other
// than num_features is an error.
class InstanceNorm2d : public NormBase {
public:
    explicit InstanceNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1,
                            bool affine = false, bool track_running_stats = false)
        : NormBase("InstanceNorm2d", num_features, eps, momentum, affine, track_running_stats) {}
    Tensor forward(const Tensor& x) override;
};

// Layer normalization (Ba et al. 2016), as torch.nn.LayerNorm: statistics over the trailing
// normalized_shape dims; "weight" (ones) and "bias" (zeros) of normalized_shape when
// elementwise_affine. Same in train and eval mode.
class LayerNorm : public Module {
public:
    explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
    explicit LayerNorm(int64_t normalized_size, double eps = 1e-5, bool elementwise_affine = true)
        : LayerNorm(Shape{normalized_size}, eps, elementwise_affine) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LayerNorm"; }
    std::string extra_repr() const override;  // "(64,), eps=1e-05, elementwise_affine=True"
    const Shape normalized_shape;
    const double eps;
    const bool elementwise_affine;
};

// ProGAN's PixelNorm: x / √(mean(x², dim 1) + eps) for x [N, C, *]. No parameters.
class PixelNorm : public Module {
public:
    explicit PixelNorm(double eps = 1e-8);
    Tensor forward(const Tensor& x) override { return pixel_norm(x, eps); }
    std::string type_name() const override { return "PixelNorm"; }
    std::string extra_repr() const override;  // "eps=1e-08"
    const double eps;
};

// Virtual batch normalization (see virtual_batch_norm above for the formula and citation).
// Parameters "weight" (γ, ones) and "bias" (β, zeros) of [C]; the reference statistics are
// not in the state dict. Same in train and eval mode. Two ways to give the reference batch:
//  - set_reference(x_ref): a fixed batch (e.g. real images at D's input), detached; its
//    statistics are computed once, kept as state (not in the state dict: re-set the reference
//    after loading a checkpoint) and used by every forward until the next reference.
//  - a reference pass, when the reference batch is produced by the network itself (G's
//    activations on a fixed reference noise, which change with G's weights): each step, run
//    the network on the reference input through vbn_reference_pass(net, z_ref) (or call
//    forward_reference on this layer directly). Every VBN layer then takes its statistics from
//    the reference activations reaching it, WITH their history, so gradients of later forwards
//    flow through the reference batch into the weights that produced it, and passes the
//    reference batch on normalized by its own statistics. Repeat the pass every step (the
//    statistics hold the step's graph).
// A forward with no reference given is an error naming the layer.
class VirtualBatchNorm : public Module {
public:
    explicit VirtualBatchNorm(int64_t num_features, double eps = 1e-5);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "VirtualBatchNorm"; }
    std::string extra_repr() const override;  // "64, eps=1e-05"

    void set_reference(const Tensor& x_ref);
    // Takes the statistics from x_ref (keeping its history) and returns x_ref normalized by them.
    Tensor forward_reference(const Tensor& x_ref);
    bool has_reference() const { return stats_.defined(); }
    const VbnStats& reference_stats() const { return stats_; }
    void clear_reference();
    // While on, forward(x) is forward_reference(x) (what vbn_reference_pass switches).
    void set_reference_pass(bool on) { reference_pass_ = on; }

    const int64_t num_features;
    const double eps;

private:
    void check(const Tensor& x, const char* what) const;
    VbnStats stats_;
    bool reference_pass_ = false;
};

// Runs net.forward(x_ref) with every VirtualBatchNorm inside `net` (itself included) in
// reference-pass mode, switched back afterwards even on error; returns the network's output
// for the reference batch.
Tensor vbn_reference_pass(Module& net, const Tensor& x_ref);

}  // namespace zg::nn
