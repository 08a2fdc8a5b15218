// Sequential: children run in order, named 0, 1, 2, ...
#include "nn/layers/sequential.h"

namespace zg::nn {

Sequential::Sequential(std::initializer_list<ModulePtr> layers) {
    for (const ModulePtr& l : layers) add(l);
}

Sequential& Sequential::add(ModulePtr layer) {
    register_module(std::to_string(size()), std::move(layer));
    return *this;
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (auto& [name, layer] : named_children()) h = layer->forward(h);
    return h;
}

}  // namespace zg::nn
