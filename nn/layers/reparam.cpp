// Spectral norm, weight norm and equalized learning rate as weight reparametrizations.
#include "nn/layers/reparam.h"

#include <cmath>
#include <limits>

#include "nn/init.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"

namespace zg::nn {

namespace {

// a / max(‖a‖₂, eps), as torch.nn.functional.normalize.
Tensor normalize(const Tensor& a, double eps) {
    return a / clamp(sqrt(sum(a * a)), eps, std::numeric_limits<double>::infinity());
}

// The weight as a matrix [size(dim), -1], dim moved to the front first (PyTorch's
// reshape_weight_to_matrix).
Tensor weight_matrix(const Tensor& w, int64_t dim) {
    Tensor t = dim == 0 ? w : w.transpose(0, dim);
    return t.reshape({t.size(0), -1});
}

// y = W·a for a matrix W [h, w] and a vector a [w].
Tensor mv(const Tensor& W, const Tensor& a) {
    return matmul(W, a.unsqueeze(1)).view({-1});
}

// Refuses a second reparametrization before anything is changed (set_reparametrization would
// refuse too, but only after the parameters were renamed).
void check_free(const WeightedModule& m, const char* what) {
    ZG_CHECK(m.reparametrization().empty(), m.type_name(), ": cannot apply ", what, " on top of ",
             m.reparametrization(), "; a layer takes one weight reparametrization");
}

}  // namespace

// ---- spectral norm ----

WeightedModule& spectral_norm(WeightedModule& m, int64_t n_power_iterations, double eps, Rng* gen) {
    check_free(m, "spectral_norm");
    ZG_CHECK(n_power_iterations > 0, "spectral_norm: n_power_iterations must be positive, got ",
             n_power_iterations, " (", m.type_name(), ")");
    ZG_CHECK(eps > 0, "spectral_norm: eps must be positive, got ", eps);
    ZG_CHECK(m.has_parameter("weight"), "spectral_norm: ", m.type_name(),
             " has no parameter 'weight'");
    const int64_t dim = dynamic_cast<const ConvTranspose2d*>(&m) ? 1 : 0;
    const Tensor w = m.parameter("weight").detach();
    ZG_CHECK(w.dim() > dim, "spectral_norm: ", m.type_name(), " weight ", shape_str(w.shape()),
             " has no dim ", dim);

    // σ = uᵀ W v, weight = weight_orig / σ; u, v refreshed by power iteration when training.
    m.set_reparametrization("spectral_norm",
                            [n_power_iterations, eps, dim](WeightedModule& mod) -> Tensor {
                                const Tensor& orig = mod.parameter("weight_orig");
                                Tensor& u = mod.buffer("weight_u");
                                Tensor& v = mod.buffer("weight_v");
                                if (mod.is_training()) {
                                    NoGradGuard ng;
                                    const Tensor W = weight_matrix(orig.detach(), dim);
                                    const Tensor Wt = W.t();
                                    for (int64_t i = 0; i < n_power_iterations; ++i) {
                                        v.copy_(normalize(mv(Wt, u), eps));
                                        u.copy_(normalize(mv(W, v), eps));
                                    }
                                }
                                // Copies: the graph keeps these, while u and v change in place at
                                // the next call.
                                const Tensor uc = u.clone(), vc = v.clone();
                                const Tensor sigma = sum(uc * mv(weight_matrix(orig, dim), vc));
                                return orig / sigma;
                            });

    const int64_t h = w.size(dim), width = w.numel() / h;
    Tensor u, v;
    {
        NoGradGuard ng;
        u = normalize(randn({h}, gen, w.dtype()), eps);
        v = normalize(randn({width}, gen, w.dtype()), eps);
    }
    m.rename_parameter("weight", "weight_orig");
    m.register_buffer("weight_u", u);
    m.register_buffer("weight_v", v);
    return m;
}

// ---- weight norm ----

namespace {

// ‖v‖ over every dim except `dim` (kept, size-1 dims elsewhere); dim = -1: the whole tensor.
Tensor norm_except_dim(const Tensor& v, int64_t dim) {
    if (dim == -1) return sqrt(sum(v * v));
    Axes axes;
    for (int64_t d = 0; d < v.dim(); ++d)
        if (d != dim) axes.push_back(d);
    return sqrt(sum(v * v, axes, true));
}

}  // namespace

WeightedModule& weight_norm(WeightedModule& m, int64_t dim) {
    check_free(m, "weight_norm");
    ZG_CHECK(m.has_parameter("weight"), "weight_norm: ", m.type_name(),
             " has no parameter 'weight'");
    const Tensor w = m.parameter("weight").detach();
    ZG_CHECK(w.dim() >= 2, "weight_norm: ", m.type_name(), " weight ", shape_str(w.shape()),
             " must have at least 2 dims");
    ZG_CHECK(dim == -1 || (dim >= 0 && dim < w.dim()), "weight_norm: dim ", dim,
             " is out of range for the ", m.type_name(), " weight ", shape_str(w.shape()),
             " (expected -1 for the whole tensor, or 0..", w.dim() - 1, ")");

    // weight = v · g / ‖v‖
    m.set_reparametrization("weight_norm", [dim](WeightedModule& mod) -> Tensor {
        const Tensor& v = mod.parameter("weight_v");
        return v * (mod.parameter("weight_g") / norm_except_dim(v, dim));
    });
    Tensor g;
    {
        NoGradGuard ng;
        g = norm_except_dim(w, dim).contiguous().clone();
    }
    m.rename_parameter("weight", "weight_v");
    m.register_parameter("weight_g", g);
    return m;
}

Tensor weight_norm_data_init_(WeightedModule& m, const Tensor& x, double scale) {
    ZG_CHECK(m.reparametrization() == "weight_norm", "weight_norm_data_init_: ", m.type_name(),
             " is not weight-normalized (apply weight_norm first)");
    ZG_CHECK(dynamic_cast<const Linear*>(&m) || dynamic_cast<const Conv2d*>(&m),
             "weight_norm_data_init_: unsupported layer ", m.type_name(),
             " (expected Linear or Conv2d)");
    ZG_CHECK(scale > 0 && std::isfinite(scale), "weight_norm_data_init_: scale must be positive, ",
             "got ", scale);
    NoGradGuard ng;
    Tensor& g = m.parameter("weight_g");
    const bool has_bias = m.has_parameter("bias");
    Tensor t = m.forward(x);
    ZG_CHECK(t.dim() >= 2 && g.numel() == t.size(1), "weight_norm_data_init_: ", m.type_name(),
             " has ", g.numel(), " weight norms for ", shape_str(t.shape()),
             " outputs; it needs weight_norm over dim 0 (one norm per output unit)");
    Shape per_unit(t.dim(), 1);  // [1, C, 1, 1] or [1, C]: broadcasts over everything else
    per_unit[1] = -1;
    if (has_bias) t = t - m.parameter("bias").reshape(per_unit);
    Axes axes{0};
    for (int64_t d = 2; d < t.dim(); ++d) axes.push_back(d);
    const Tensor mu = mean(t, axes);
    const Tensor inv = scale / sqrt(var(t, axes, /*unbiased=*/false) + 1e-8);
    g.copy_(g * inv.reshape(g.shape()));
    if (has_bias) m.parameter("bias").copy_(-mu * inv);
    return m.forward(x);
}

// ---- equalized learning rate ----

double equalized_lr_scale(const WeightedModule& m, double gain) {
    int64_t fan_in = 0;
    if (auto* lin = dynamic_cast<const Linear*>(&m)) {
        fan_in = lin->in_features;
    } else if (auto* conv = dynamic_cast<const Conv2d*>(&m)) {
        fan_in = conv->in_channels / conv->options.groups * conv->kernel_size * conv->kernel_size;
    } else if (auto* convt = dynamic_cast<const ConvTranspose2d*>(&m)) {
        fan_in =
            convt->in_channels / convt->options.groups * convt->kernel_size * convt->kernel_size;
    } else {
        throw Error("equalized_lr: unsupported layer " + m.type_name() +
                    " (expected Linear, Conv2d or ConvTranspose2d)");
    }
    return gain / std::sqrt((double)fan_in);
}

WeightedModule& equalized_lr(WeightedModule& m, double gain, Rng* gen) {
    check_free(m, "equalized_lr");
    ZG_CHECK(gain > 0 && std::isfinite(gain), "equalized_lr: gain must be positive, got ", gain,
             " (", m.type_name(), ")");
    const double scale = equalized_lr_scale(m, gain);
    // weight = parameter · gain/√fan_in
    m.set_reparametrization("equalized_lr", [scale](WeightedModule& mod) -> Tensor {
        return mod.parameter("weight") * scale;
    });
    init::normal_(m.parameter("weight"), 0.0, 1.0, gen);
    if (m.has_parameter("bias")) init::zeros_(m.parameter("bias"));
    return m;
}

}  // namespace zg::nn
