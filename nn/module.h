#pragma once
// Module: the unit networks are built from, shaped like PyTorch's nn.Module (and LibTorch's):
// parameters, buffers and child modules registered by name, train/eval mode, and a state dict
// whose dotted names ("main.0.weight") match PyTorch's for a model of the same structure.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops.h"

namespace zg::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using StateDict = std::map<std::string, Tensor>;

class Module {
public:
    virtual ~Module() = default;
    Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // The layer's computation on one input. Layers with other signatures add their own
    // methods; calling this on them is an error naming the layer.
    virtual Tensor forward(const Tensor& x);
    Tensor operator()(const Tensor& x) { return forward(x); }
    // The class name shown in errors and printouts (e.g. "Conv2d").
    virtual std::string type_name() const = 0;

    // ---- registration (call from the constructor, in PyTorch's order) ----
    // A parameter is a leaf that requires grad; a buffer is state that is saved but not trained
    // (running statistics, power-iteration vectors). A buffer can be non-persistent: kept out of
    // the state dict.
    Tensor& register_parameter(const std::string& name, Tensor value);
    Tensor& register_buffer(const std::string& name, Tensor value, bool persistent = true);
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
        add_child(name, child);
        return child;
    }
    // Renames a parameter in place (wrappers such as SpectralNorm turn "weight" into
    // "weight_orig", as PyTorch does).
    void rename_parameter(const std::string& from, const std::string& to);
    Tensor& parameter(const std::string& name);
    Tensor& buffer(const std::string& name);
    bool has_parameter(const std::string& name) const;

    // ---- traversal ----
    std::vector<Tensor> parameters(bool recurse = true) const;
    NamedTensors named_parameters(bool recurse = true) const;
    NamedTensors named_buffers(bool recurse = true) const;
    const std::vector<std::pair<std::string, ModulePtr>>& named_children() const {
        return children_;
    }
    // This module ("") and every descendant, with dotted paths.
    std::vector<std::pair<std::string, Module*>> named_modules();
    ModulePtr child(const std::string& name) const;

    // ---- mode ----
    virtual void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

    // ---- gradients and state ----
    void zero_grad();  // drops every parameter's .grad
    // Parameters and persistent buffers by dotted name; the tensors are the live ones (not
    // copies), so they change with every update.
    StateDict state_dict() const;
    // state_dict() copied and detached: what the module holds now, unchanged by later updates
    // (load it back with load_state_dict to undo them).
    StateDict snapshot() const;
    // Copies values into the live tensors (so optimizers keep working). strict: every key of
    // the module must be present and no unknown keys; shapes must match in any case. Errors
    // list all missing, unexpected and mis-shaped keys at once.
    void load_state_dict(const StateDict& state, bool strict = true);
    int64_t num_parameters() const;
    // A printout of the module tree, like PyTorch's repr.
    std::string to_string() const;
    // One line describing this module's own settings, e.g. "3, 64, kernel_size=4, stride=2".
    virtual std::string extra_repr() const { return ""; }

private:
    void add_child(const std::string& name, ModulePtr child);
    void collect(const std::string& prefix, bool params, bool recurse, NamedTensors& out) const;
    void print(std::string& out, int indent) const;

    struct Entry {
        std::string name;
        Tensor value;
        bool persistent = true;
    };
    std::vector<Entry> params_, buffers_;
    std::vector<std::pair<std::string, ModulePtr>> children_;
    bool training_ = true;
};

// Convenience: make_shared with the module's constructor arguments.
template <class M, class... Args>
std::shared_ptr<M> make(Args&&... args) {
    return std::make_shared<M>(std::forward<Args>(args)...);
}

}  // namespace zg::nn
