// Normalization layers: BatchNorm1d/2d, InstanceNorm2d, LayerNorm, PixelNorm, VirtualBatchNorm.
// The math of each is a free function written with engine ops (so second derivatives work);
// the modules hold parameters and running statistics and call it.
#include "nn/layers/norm.h"

#include <charconv>
#include <cmath>

namespace zg::nn {

namespace {

// A double as Python's repr prints it (what PyTorch's extra_repr shows): the shortest digits
// that round-trip, fixed notation for exponents in [-4, 16) with at least one decimal,
// scientific otherwise ("1e-05", "0.1", "1e-08", "0.0001", "100000.0").
std::string py_float(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string sci(buf, res.ptr);  // "-1.2345e-05"
    const size_t e = sci.find('e');
    const int exp = std::stoi(sci.substr(e + 1));
    if (exp < -4 || exp >= 16) return sci;
    std::string sign, digits;
    for (size_t i = 0; i < e; ++i) {
        if (sci[i] == '-')
            sign = "-";
        else if (sci[i] != '.')
            digits += sci[i];
    }
    std::string out;
    if (exp < 0) {
        out = "0." + std::string(-exp - 1, '0') + digits;
    } else {
        if ((int)digits.size() <= exp + 1) digits += std::string(exp + 1 - digits.size(), '0');
        out = digits.substr(0, exp + 1) + "." +
              (digits.size() > (size_t)exp + 1 ? digits.substr(exp + 1) : "0");
    }
    return sign + out;
}

const char* py_bool(bool b) {
    return b ? "True" : "False";
}

// All dims of a rank-`rank` tensor from `first` on, except `skip` (−1: none).
Axes axes_from(int64_t rank, int64_t first, int64_t skip = -1) {
    Axes a;
    for (int64_t d = first; d < rank; ++d)
        if (d != skip) a.push_back(d);
    return a;
}

void check_float_input(const char* op, const Tensor& x) {
    ZG_CHECK(x.defined(), op, ": the input is undefined");
    ZG_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ",
             dtype_name(x.dtype()));
}

// weight/bias (same dtype as x: they take part in the graph) or running statistics (any float
// dtype: read through a cast) of shape `want`, when defined.
void check_vec(const char* op, const char* what, const Tensor& t, const Shape& want,
               const Tensor& x, bool same_dtype) {
    if (!t.defined()) return;
    ZG_CHECK(t.shape() == want, op, ": ", what, " must have shape ", shape_str(want),
             " for an input of shape ", shape_str(x.shape()), ", got ", shape_str(t.shape()));
    if (same_dtype)
        ZG_CHECK(t.dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(t.dtype()),
                 " but the input is ", dtype_name(x.dtype()), "; convert one with .to()");
    else
        ZG_CHECK(is_floating(t.dtype()), op, ": ", what, " must be float32 or float64, got ",
                 dtype_name(t.dtype()));
}

// d·inv·weight + bias, the shared tail of every normalization: d = x − mean, inv = 1/√(var +
// eps) (broadcastable to d), weight and bias per channel (reshaped to `cs`) or undefined.
Tensor scale_shift(const Tensor& d, const Tensor& inv, const Tensor& weight, const Tensor& bias,
                   const Shape& cs) {
    Tensor scale = weight.defined() ? inv * weight.reshape(cs) : inv;
    Tensor y = d * scale;
    return bias.defined() ? y + bias.reshape(cs) : y;
}

// Eval-mode normalization with running statistics, folded into one scale and shift per
// channel: y = x·s + t with s = weight/√(running_var + eps), t = bias − running_mean·s.
Tensor normalize_with_running(const Tensor& x, const Tensor& running_mean,
                              const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                              double eps, const Shape& cs) {
    Tensor m = running_mean.detach().to(x.dtype()).reshape(cs);
    Tensor v = running_var.detach().to(x.dtype()).reshape(cs);
    Tensor scale = 1.0 / sqrt(v + eps);
    if (weight.defined()) scale = scale * weight.reshape(cs);
    Tensor shift = neg(m) * scale;
    if (bias.defined()) shift = shift + bias.reshape(cs);
    return x * scale + shift;
}

// running ← (1 − momentum)·running + momentum·batch, in place and without history; the
// variance enters unbiased, σ²·n/(n − 1), as in PyTorch. batch_mean and batch_var hold C
// values in any shape.
void update_running(Tensor& running_mean, Tensor& running_var, const Tensor& batch_mean,
                    const Tensor& batch_var, int64_t n, double momentum) {
    NoGradGuard ng;
    const int64_t c = running_mean.numel();
    Tensor bm = batch_mean.detach().reshape({c}).to(running_mean.dtype());
    Tensor bv = batch_var.detach().reshape({c}) * ((double)n / (double)(n - 1));
    running_mean.mul_(1.0 - momentum);
    running_mean.add_(bm, momentum);
    running_var.mul_(1.0 - momentum);
    running_var.add_(bv.to(running_var.dtype()), momentum);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Functional forms
// ---------------------------------------------------------------------------------------------

// Training:  μ = mean(x), d = x − μ, σ² = mean(d²) over every dim but 1,
//            y = d / √(σ² + eps) · γ + β.
// The engine's batch_norm_train computes it in fused passes; its backward is a fused kernel, or
// the same math in engine ops when a graph of the gradient is wanted (double backward).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
    check_float_input("batch_norm", x);
    ZG_CHECK(x.dim() >= 2, "batch_norm: expected an input [N, C, *] of at least 2 dims, got ",
             shape_str(x.shape()));
    const int64_t c = x.size(1);
    check_vec("batch_norm", "weight", weight, {c}, x, true);
    check_vec("batch_norm", "bias", bias, {c}, x, true);
    check_vec("batch_norm", "running_mean", running_mean, {c}, x, false);
    check_vec("batch_norm", "running_var", running_var, {c}, x, false);
    ZG_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: give both running_mean and running_var, or neither");
    const Shape cs = channel_shape(x.dim(), c);
    if (!training) {
        ZG_CHECK(running_mean.defined(),
                 "batch_norm: normalizing with running statistics (training=false) needs "
                 "running_mean and running_var");
        return normalize_with_running(x, running_mean, running_var, weight, bias, eps, cs);
    }
    const int64_t n = c ? x.numel() / c : 0;
    ZG_CHECK(n > 1, "batch_norm: expected more than 1 value per channel when training, got input ",
             shape_str(x.shape()));
    // One engine op over fused passes (statistics, then normalize and affine in one pass).
    BatchNormOutput bn = batch_norm_train(x, weight, bias, eps);
    if (running_mean.defined()) {
        Tensor rm = running_mean, rv = running_var;
        update_running(rm, rv, bn.mean, bn.var, n, momentum);
    }
    return bn.y;
}

// Per sample n and channel c: μ_nc = mean(x_nc), σ²_nc = mean((x_nc − μ_nc)²) over the dims
// after 1; y = (x − μ_nc)/√(σ²_nc + eps)·γ_c + β_c. Running statistics (as PyTorch, which runs
// batch_norm on x viewed as [1, N·C, *] and averages the N updated copies) move toward the
// mean over n of μ_nc and of the unbiased σ²_nc.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                     const Tensor& weight, const Tensor& bias, bool use_input_stats,
                     double momentum, double eps) {
    check_float_input("instance_norm", x);
    ZG_CHECK(x.dim() >= 3,
             "instance_norm: expected an input [N, C, *] with at least one spatial dim, got ",
             shape_str(x.shape()));
    const int64_t c = x.size(1);
    check_vec("instance_norm", "weight", weight, {c}, x, true);
    check_vec("instance_norm", "bias", bias, {c}, x, true);
    check_vec("instance_norm", "running_mean", running_mean, {c}, x, false);
    check_vec("instance_norm", "running_var", running_var, {c}, x, false);
    ZG_CHECK(running_mean.defined() == running_var.defined(),
             "instance_norm: give both running_mean and running_var, or neither");
    const Shape cs = channel_shape(x.dim(), c);
    if (!use_input_stats) {
        ZG_CHECK(running_mean.defined(),
                 "instance_norm: normalizing with running statistics (use_input_stats=false) "
                 "needs running_mean and running_var");
        return normalize_with_running(x, running_mean, running_var, weight, bias, eps, cs);
    }
    const int64_t instances = x.size(0) * c;
    const int64_t per_instance = instances > 0 ? x.numel() / instances : 0;
    ZG_CHECK(per_instance > 1,
             "instance_norm: expected more than 1 spatial element when training, got input ",
             shape_str(x.shape()));
    const Axes axes = axes_from(x.dim(), 2);
    Tensor mu = mean(x, axes, true);  // [N, C, 1, …]
    Tensor d = x - mu;
    Tensor var = mean(d * d, axes, true);
    if (running_mean.defined()) {
        Tensor rm = running_mean, rv = running_var;
        update_running(rm, rv, mean(mu.detach(), {0}), mean(var.detach(), {0}), per_instance,
                       momentum);
    }
    return scale_shift(d, 1.0 / sqrt(var + eps), weight, bias, cs);
}

// μ, σ² over the trailing k = |normalized_shape| dims; y = (x − μ)/√(σ² + eps) ⊙ γ + β.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
    check_float_input("layer_norm", x);
    const int64_t k = (int64_t)normalized_shape.size();
    ZG_CHECK(k >= 1, "layer_norm: normalized_shape is empty");
    bool fits = x.dim() >= k;
    for (int64_t i = 0; fits && i < k; ++i) fits = x.size(x.dim() - k + i) == normalized_shape[i];
    ZG_CHECK(fits, "layer_norm: expected an input whose last dims are ",
             shape_str(normalized_shape), " ([*, ", shape_str(normalized_shape).substr(1),
             "), got ", shape_str(x.shape()));
    check_vec("layer_norm", "weight", weight, normalized_shape, x, true);
    check_vec("layer_norm", "bias", bias, normalized_shape, x, true);
    const Axes axes = axes_from(x.dim(), x.dim() - k);
    Tensor mu = mean(x, axes, true);
    Tensor d = x - mu;
    Tensor var = mean(d * d, axes, true);
    Tensor y = d * (1.0 / sqrt(var + eps));
    if (weight.defined()) y = y * weight;
    return bias.defined() ? y + bias : y;
}

// b = a · 1/√(mean_c(a²) + eps): each pixel's feature vector scaled to unit RMS.
Tensor pixel_norm(const Tensor& x, double eps) {
    check_float_input("pixel_norm", x);
    ZG_CHECK(x.dim() >= 2, "pixel_norm: expected an input [N, C, *] of at least 2 dims, got ",
             shape_str(x.shape()));
    return x * (1.0 / sqrt(mean(x * x, {1}, true) + eps));
}

VbnStats vbn_reference_stats(const Tensor& x_ref) {
    check_float_input("vbn_reference_stats", x_ref);
    ZG_CHECK((x_ref.dim() == 2 || x_ref.dim() == 4) && x_ref.size(0) >= 1,
             "vbn_reference_stats: expected a reference batch [N, C] or [N, C, H, W] with "
             "N ≥ 1, got ",
             shape_str(x_ref.shape()));
    const Axes axes = axes_from(x_ref.dim(), 0, 1);
    return {mean(x_ref, axes, true), mean(x_ref * x_ref, axes, true), x_ref.size(0)};
}

static void check_vbn(const char* op, const Tensor& x, const VbnStats& ref, const Tensor& weight,
                      const Tensor& bias) {
    check_float_input(op, x);
    ZG_CHECK(ref.defined(), op, ": no reference statistics");
    ZG_CHECK(x.dim() == ref.mean.dim() && x.size(1) == ref.mean.size(1), op, ": the input ",
             shape_str(x.shape()), " does not match the reference statistics ",
             shape_str(ref.mean.shape()), " (same rank and channels expected)");
    ZG_CHECK(x.dtype() == ref.mean.dtype(), op, ": the input is ", dtype_name(x.dtype()),
             " but the reference statistics are ", dtype_name(ref.mean.dtype()));
    check_vec(op, "weight", weight, {x.size(1)}, x, true);
    check_vec(op, "bias", bias, {x.size(1)}, x, true);
}

Tensor virtual_batch_norm(const Tensor& x, const VbnStats& ref, const Tensor& weight,
                          const Tensor& bias, double eps) {
    check_vbn("virtual_batch_norm", x, ref, weight, bias);
    const double new_coeff = 1.0 / ((double)ref.count + 1.0);
    const double old_coeff = 1.0 - new_coeff;
    Tensor x2 = x * x;
    Tensor own_mean = x.dim() == 4 ? mean(x, {2, 3}, true) : x;
    Tensor own_meansq = x.dim() == 4 ? mean(x2, {2, 3}, true) : x2;
    Tensor mu = own_mean * new_coeff + ref.mean * old_coeff;
    Tensor meansq = own_meansq * new_coeff + ref.meansq * old_coeff;
    Tensor inv = 1.0 / sqrt(meansq - mu * mu + eps);
    return scale_shift(x - mu, inv, weight, bias, channel_shape(x.dim(), x.size(1)));
}

Tensor virtual_batch_norm_reference(const Tensor& x_ref, const VbnStats& ref, const Tensor& weight,
                                    const Tensor& bias, double eps) {
    check_vbn("virtual_batch_norm_reference", x_ref, ref, weight, bias);
    Tensor inv = 1.0 / sqrt(ref.meansq - ref.mean * ref.mean + eps);
    return scale_shift(x_ref - ref.mean, inv, weight, bias,
                       channel_shape(x_ref.dim(), x_ref.size(1)));
}

// ---------------------------------------------------------------------------------------------
// Modules
// ---------------------------------------------------------------------------------------------

// "[N, 64, H, W]"-style descriptions of what a layer accepts, for errors.
static std::string expected_shape(int64_t c, const char* rest) {
    return std::string("[N, ") + std::to_string(c) + rest + "]";
}

NormBase::NormBase(const char* type, int64_t num_features, double eps,
                   std::optional<double> momentum, bool affine, bool track_running_stats)
    : num_features(num_features),
      eps(eps),
      momentum(momentum),
      affine(affine),
      track_running_stats(track_running_stats),
      type_(type) {
    ZG_CHECK(num_features > 0, type_, ": num_features must be positive, got ", num_features);
    ZG_CHECK(eps >= 0, type_, ": eps must be non-negative, got ", eps);
    ZG_CHECK(!momentum || (*momentum >= 0 && *momentum <= 1), type_,
             ": momentum must be in [0, 1] (or none for a cumulative average), got ",
             momentum.value_or(0));
    if (affine) {
        register_parameter("weight", ones({num_features}));
        register_parameter("bias", zeros({num_features}));
    }
    if (track_running_stats) {
        register_buffer("running_mean", zeros({num_features}));
        register_buffer("running_var", ones({num_features}));
        register_buffer("num_batches_tracked", scalar(0, DType::i32));
    }
}

std::string NormBase::extra_repr() const {
    return std::to_string(num_features) + ", eps=" + py_float(eps) +
           ", momentum=" + (momentum ? py_float(*momentum) : std::string("None")) +
           ", affine=" + py_bool(affine) + ", track_running_stats=" + py_bool(track_running_stats);
}

void NormBase::reset_running_stats() {
    if (!track_running_stats) return;
    NoGradGuard ng;
    buffer("running_mean").zero_();
    buffer("running_var").fill_(1.0);
    buffer("num_batches_tracked").zero_();
}

void NormBase::reset_parameters() {
    reset_running_stats();
    if (!affine) return;
    NoGradGuard ng;
    parameter("weight").fill_(1.0);
    parameter("bias").zero_();
}

int64_t NormBase::num_batches_tracked() {
    return track_running_stats ? buffer("num_batches_tracked").item<int32_t>() : 0;
}

void NormBase::check_input(const Tensor& x, std::initializer_list<int64_t> ranks,
                           const std::string& expected) const {
    ZG_CHECK(x.defined(), type_, ": the input is undefined");
    bool ok = false;
    for (int64_t r : ranks) ok = ok || x.dim() == r;
    ok = ok && x.size(1) == num_features;
    ZG_CHECK(ok, type_, ": expected input of shape ", expected, ", got ", shape_str(x.shape()));
}

void BatchNorm1d::check(const Tensor& x) const {
    check_input(x, {2, 3},
                expected_shape(num_features, "") + " or " + expected_shape(num_features, ", L"));
}

void BatchNorm2d::check(const Tensor& x) const {
    check_input(x, {4}, expected_shape(num_features, ", H, W"));
}

// As PyTorch's _BatchNorm.forward: in training mode with running stats, num_batches_tracked
// counts the batch and the update factor is momentum (or 1/num_batches_tracked without one);
// batch statistics normalize in training mode and whenever there are no running stats.
Tensor BatchNorm::forward(const Tensor& x) {
    check(x);
    double factor = 0.0;
    if (is_training() && track_running_stats) {
        NoGradGuard ng;
        Tensor& count = buffer("num_batches_tracked");
        count.fill_((double)count.item<int32_t>() + 1);
        factor = momentum ? *momentum : 1.0 / (double)count.item<int32_t>();
    }
    const bool use_batch_stats = is_training() || !track_running_stats;
    return batch_norm(x, running_mean(), running_var(), weight(), bias(), use_batch_stats, factor,
                      eps);
}

// As PyTorch's _InstanceNorm.forward, including the unbatched [C, H, W] input.
Tensor InstanceNorm2d::forward(const Tensor& x) {
    ZG_CHECK(x.defined(), type_name(), ": the input is undefined");
    const bool unbatched = x.dim() == 3;
    const bool ok =
        (x.dim() == 4 && x.size(1) == num_features) || (unbatched && x.size(0) == num_features);
    ZG_CHECK(ok, type_name(), ": expected input of shape ", expected_shape(num_features, ", H, W"),
             " or [", num_features, ", H, W], got ", shape_str(x.shape()));
    Tensor xb = unbatched ? x.unsqueeze(0) : x;
    Tensor y = instance_norm(xb, running_mean(), running_var(), weight(), bias(),
                             is_training() || !track_running_stats, momentum.value_or(0.1), eps);
    return unbatched ? y.squeeze(0) : y;
}

LayerNorm::LayerNorm(Shape shape, double eps, bool elementwise_affine)
    : normalized_shape(std::move(shape)), eps(eps), elementwise_affine(elementwise_affine) {
    ZG_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must not be empty");
    for (int64_t d : normalized_shape)
        ZG_CHECK(d > 0, "LayerNorm: normalized_shape must be positive, got ",
                 shape_str(normalized_shape));
    ZG_CHECK(eps >= 0, "LayerNorm: eps must be non-negative, got ", eps);
    if (elementwise_affine) {
        register_parameter("weight", ones(normalized_shape));
        register_parameter("bias", zeros(normalized_shape));
    }
}

Tensor LayerNorm::forward(const Tensor& x) {
    ZG_CHECK(x.defined(), "LayerNorm: the input is undefined");
    const int64_t k = (int64_t)normalized_shape.size();
    bool fits = x.dim() >= k;
    for (int64_t i = 0; fits && i < k; ++i) fits = x.size(x.dim() - k + i) == normalized_shape[i];
    ZG_CHECK(fits, "LayerNorm: expected input of shape [*, ", shape_str(normalized_shape).substr(1),
             ", got ", shape_str(x.shape()));
    return elementwise_affine
               ? layer_norm(x, normalized_shape, parameter("weight"), parameter("bias"), eps)
               : layer_norm(x, normalized_shape, Tensor(), Tensor(), eps);
}

std::string LayerNorm::extra_repr() const {
    std::string s = "(";
    for (size_t i = 0; i < normalized_shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(normalized_shape[i]);
    if (normalized_shape.size() == 1) s += ",";
    return s + "), eps=" + py_float(eps) + ", elementwise_affine=" + py_bool(elementwise_affine);
}

PixelNorm::PixelNorm(double eps) : eps(eps) {
    ZG_CHECK(eps >= 0, "PixelNorm: eps must be non-negative, got ", eps);
}

std::string PixelNorm::extra_repr() const {
    return "eps=" + py_float(eps);
}

VirtualBatchNorm::VirtualBatchNorm(int64_t num_features, double eps)
    : num_features(num_features), eps(eps) {
    ZG_CHECK(num_features > 0, "VirtualBatchNorm: num_features must be positive, got ",
             num_features);
    ZG_CHECK(eps >= 0, "VirtualBatchNorm: eps must be non-negative, got ", eps);
    register_parameter("weight", ones({num_features}));
    register_parameter("bias", zeros({num_features}));
}

std::string VirtualBatchNorm::extra_repr() const {
    return std::to_string(num_features) + ", eps=" + py_float(eps);
}

void VirtualBatchNorm::check(const Tensor& x, const char* what) const {
    ZG_CHECK(x.defined(), "VirtualBatchNorm: the ", what, " is undefined");
    ZG_CHECK((x.dim() == 2 || x.dim() == 4) && x.size(1) == num_features && x.size(0) >= 1,
             "VirtualBatchNorm: expected ", what, " of shape ", expected_shape(num_features, ""),
             " or ", expected_shape(num_features, ", H, W"), ", got ", shape_str(x.shape()));
}

void VirtualBatchNorm::set_reference(const Tensor& x_ref) {
    check(x_ref, "reference batch");
    NoGradGuard ng;
    stats_ = vbn_reference_stats(x_ref.detach());
}

Tensor VirtualBatchNorm::forward_reference(const Tensor& x_ref) {
    check(x_ref, "reference batch");
    stats_ = vbn_reference_stats(x_ref);
    return virtual_batch_norm_reference(x_ref, stats_, parameter("weight"), parameter("bias"), eps);
}

void VirtualBatchNorm::clear_reference() {
    stats_ = VbnStats{};
}

Tensor VirtualBatchNorm::forward(const Tensor& x) {
    if (reference_pass_) return forward_reference(x);
    check(x, "input");
    ZG_CHECK(has_reference(),
             "VirtualBatchNorm: no reference batch yet; call set_reference(x_ref) before the "
             "first forward (or run vbn_reference_pass(net, x_ref) each step when the network "
             "produces the reference batch itself)");
    ZG_CHECK(x.dim() == stats_.mean.dim(), "VirtualBatchNorm: the input ", shape_str(x.shape()),
             " and the reference batch (statistics ", shape_str(stats_.mean.shape()),
             ") must have the same rank");
    return virtual_batch_norm(x, stats_, parameter("weight"), parameter("bias"), eps);
}

Tensor vbn_reference_pass(Module& net, const Tensor& x_ref) {
    std::vector<VirtualBatchNorm*> layers;
    for (auto& [name, m] : net.named_modules())
        if (auto* v = dynamic_cast<VirtualBatchNorm*>(m)) layers.push_back(v);
    struct Restore {
        std::vector<VirtualBatchNorm*>& layers;
        ~Restore() {
            for (auto* v : layers) v->set_reference_pass(false);
        }
    } restore{layers};
    for (auto* v : layers) v->set_reference_pass(true);
    return net.forward(x_ref);
}

}  // namespace zg::nn
