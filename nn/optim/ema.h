#pragma once
// An exponential moving average of a module's weights (as in ProGAN/StyleGAN's G_ema, or
// timm's ModelEmaV2): generated samples from the averaged generator are usually smoother than
// from the live one.
//
//   nn::EMA ema(*g, 0.999);
//   ... opt_g.step(); ema.update(*g);
//   ema.copy_to(*g_eval);          // sample from the averaged weights
//
// Parameters are averaged: shadow ← decay·shadow + (1 − decay)·param. Buffers (BatchNorm
// running statistics, spectral-norm vectors) are not trained, so they are copied as they are.
#include <string>

#include "nn/module.h"

namespace zg::nn {

// The decay that makes the t-th update (t = 1, 2, ...) produce the bias-corrected average
//   a_t = Σ_{i≤t} β^(t−i) p_i / Σ_{i≤t} β^(t−i)
// of the weights p_1..p_t the updates saw, as Adam corrects its moments: set it before update t
// (`ema.set_decay(bias_corrected_decay(β, t)); ema.update(m)`). It is 0 at t = 1 (the average
// is p_1) and rises to β. With a constant β from the start instead, the average of a short run
// is mostly the random init: 0.999^937 = 39% of it after one DCGAN epoch on MNIST.
//   d_t = β(1 − β^(t−1)) / (1 − β^t) = (β − β^t) / (1 − β^t)
double bias_corrected_decay(double decay, int64_t t);

class EMA {
public:
    // Starts the shadow as a copy of m's parameters and persistent buffers; 0 ≤ decay ≤ 1.
    EMA(const Module& m, double decay);

    // shadow ← decay·shadow + (1 − decay)·param for every parameter; buffers copied. m must
    // have the structure the EMA was made from (same names and shapes).
    void update(const Module& m);
    // Loads the shadow weights and buffers into m (Module::load_state_dict, strict).
    void copy_to(Module& m) const;

    double decay() const { return decay_; }
    void set_decay(double decay);

    // The shadow tensors by the module's state-dict names (live tensors, as
    // Module::state_dict), so `m.load_state_dict(ema.state_dict())` works too.
    const StateDict& state_dict() const { return shadow_; }
    // Copies values into the shadow; the names and shapes must be exactly the shadow's.
    void load_state_dict(const StateDict& state);

private:
    double decay_;
    StateDict shadow_;
    std::vector<std::string> param_names_, buffer_names_;
};

}  // namespace zg::nn
