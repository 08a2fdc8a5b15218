// Linear: y = x·Wᵀ + b.
#include "nn/layers/linear.h"

namespace zg::nn {

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

}  // namespace zg::nn
