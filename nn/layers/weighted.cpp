// What the weighted layers share: the reparametrization hook and PyTorch's default init.
#include "nn/layers/weighted.h"

#include <cmath>

#include "nn/init.h"

namespace zg::nn {

void WeightedModule::set_reparametrization(const std::string& what, Reparametrization f) {
    ZG_CHECK(!reparam_, type_name(), ": cannot apply ", what, " on top of ", reparam_name_,
             "; a layer takes one weight reparametrization");
    reparam_ = std::move(f);
    reparam_name_ = what;
}

// PyTorch's default: kaiming_uniform_(w, a=√5) gives U(±1/√fan_in); the bias uses the same bound.
void default_init(WeightedModule& m, int64_t fan_in, Rng* gen) {
    const double bound = 1.0 / std::sqrt((double)fan_in);
    init::uniform_(m.parameter("weight"), -bound, bound, gen);
    if (m.has_parameter("bias")) init::uniform_(m.parameter("bias"), -bound, bound, gen);
}

}  // namespace zg::nn
