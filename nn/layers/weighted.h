#pragma once
// Layers whose forward uses a weight (Linear, Conv2d, ConvTranspose2d). Wrappers such as
// spectral norm, weight norm and equalized learning rate change how that weight is computed
// from the parameters, without the layer knowing: the layer asks weight() every forward.
#include <functional>

#include "nn/module.h"

namespace zg::nn {

class WeightedModule : public Module {
public:
    // The weight used by forward: the "weight" parameter, or what a reparametrization computes.
    Tensor weight() { return reparam_ ? reparam_(*this) : parameter("weight"); }
    Tensor bias() { return has_parameter("bias") ? parameter("bias") : Tensor(); }
    using Reparametrization = std::function<Tensor(WeightedModule&)>;
    // Installs a reparametrization; one at a time (applying two is an error naming the layer).
    void set_reparametrization(const std::string& what, Reparametrization f);
    const std::string& reparametrization() const { return reparam_name_; }

private:
    Reparametrization reparam_;
    std::string reparam_name_;
};

// PyTorch's default init of a weighted layer: kaiming_uniform_(w, a=√5), i.e. U(±1/√fan_in),
// and the bias from the same bound. `gen` null means the global Rng.
void default_init(WeightedModule& m, int64_t fan_in, Rng* gen);

}  // namespace zg::nn
