#pragma once
#include "nn/layers/weighted.h"

namespace zg::nn {

// y = x·Wᵀ + b. Weights as PyTorch initializes them: kaiming_uniform(a=√5), i.e. U(±1/√in),
// bias U(±1/√in).
class Linear : public WeightedModule {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true, Rng* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Linear"; }
    std::string extra_repr() const override;
    const int64_t in_features, out_features;
};

}  // namespace zg::nn
