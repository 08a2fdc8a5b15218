#pragma once
#include <initializer_list>

#include "nn/module.h"

namespace zg::nn {

// Children named "0", "1", ... in order, as torch.nn.Sequential, so state dicts match.
class Sequential : public Module {
public:
    Sequential() = default;
    Sequential(std::initializer_list<ModulePtr> layers);
    Sequential& add(ModulePtr layer);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sequential"; }
    size_t size() const { return named_children().size(); }
    ModulePtr operator[](size_t i) const { return named_children().at(i).second; }
};

}  // namespace zg::nn
