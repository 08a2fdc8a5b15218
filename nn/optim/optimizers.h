#pragma once
// Optimizers with PyTorch 1.13's update rules and default hyper-parameters: SGD (momentum,
// dampening, Nesterov), Adam (L2 weight decay, AMSGrad), AdamW (decoupled weight decay) and
// RMSprop (centered, momentum). The math of each update sits above its kernel in optimizers.cpp.
//
//   auto opt = nn::Adam(g.parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
//   loss.backward();
//   opt.step();        // parameters whose .grad is undefined are skipped
//   opt.zero_grad();   // grads become undefined
//
// Parameters come in groups, each with its own hyper-parameters (PyTorch's param_groups);
// `add_param_group` adds one. Per-parameter state (moment estimates, momentum buffers, step
// counts) is created lazily at a parameter's first update, as in PyTorch. Updates run in place
// under NoGradGuard, element by element, so they are identical for every thread count.
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace zg::nn {

// What `Optimizer::state_dict` gives and `load_state_dict` takes.
//   tensors: per-parameter buffers named "state.<group>.<index>.<buffer>", e.g.
//            "state.0.3.exp_avg" (the live tensors, as Module::state_dict; clone to snapshot).
//   json:    {"type": "Adam", "groups": [{"lr": 0.001, "betas": [0.9, 0.999], ...,
//             "params": [{"shape": [64, 100], "step": 12}, ...]}, ...]}
//            i.e. the optimizer type, every group's hyper-parameters and, per parameter, its
//            shape (to catch a mismatched model) and step count.
struct OptimizerState {
    StateDict tensors;
    std::string json;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // "SGD", "Adam", "AdamW", "RMSprop": shown in errors and stored in the state.
    virtual std::string type_name() const = 0;

    // One update of every parameter that has a gradient.
    void step();
    // Sets every parameter's .grad undefined (PyTorch's zero_grad(set_to_none=True)).
    void zero_grad();

    // The learning rate of every group / of one group.
    void set_lr(double lr);
    double lr(size_t group = 0) const;

    size_t num_groups() const { return groups_.size(); }
    const std::vector<Tensor>& params(size_t group) const;
    // Updates taken so far by parameter `index` of `group` (0 before its first gradient).
    int64_t step_count(size_t group, size_t index) const;
    // A per-parameter state buffer ("exp_avg", "momentum_buffer", ...), undefined until made.
    Tensor state(size_t group, size_t index, const std::string& buffer) const;

    OptimizerState state_dict() const;
    // Restores hyper-parameters, step counts and buffers saved by an optimizer of the same type
    // over parameters of the same shapes in the same groups. Everything is checked before
    // anything changes; a mismatch is a zg::Error listing what differs.
    void load_state_dict(const OptimizerState& state);

protected:
    Optimizer() = default;

    struct ParamState {
        int64_t step = 0;
        std::map<std::string, Tensor> buffers;
    };
    struct Group {
        std::vector<Tensor> params;
        std::vector<ParamState> state;
    };

    // Checks and appends a group's parameters (options are kept by the derived class).
    void add_params(std::vector<Tensor> params);

    // ---- what each optimizer supplies ----
    virtual double group_lr(size_t group) const = 0;
    virtual void set_group_lr(size_t group, double lr) = 0;
    virtual void check_options(size_t group) const = 0;
    // The group's hyper-parameters as a JSON object (without "params"), and back.
    virtual std::string options_to_json(size_t group) const = 0;
    virtual void options_from_json(size_t group, const std::string& json) = 0;
    // Every buffer name this optimizer may keep per parameter.
    virtual std::vector<std::string> buffer_names() const = 0;
    // One update of `p` (contiguous) with gradient `g` (contiguous, same shape and dtype);
    // s.step has already been incremented. Runs under NoGradGuard.
    virtual void update(size_t group, Tensor& p, const Tensor& g, ParamState& s) = 0;

    std::vector<Group> groups_;
};

// An optimizer whose groups each carry an `Options` struct.
template <class Options>
class OptimizerWith : public Optimizer {
public:
    // A new group with the optimizer's defaults (the options given at construction)...
    void add_param_group(std::vector<Tensor> params) {
        add_param_group(std::move(params), defaults_);
    }
    // ... or with its own options: `auto o = opt.defaults(); o.lr = 1e-3;`.
    void add_param_group(std::vector<Tensor> params, const Options& options);
    const Options& defaults() const { return defaults_; }
    // A group's options; changes take effect at the next step (and are checked there).
    Options& options(size_t group = 0);
    const Options& options(size_t group = 0) const;

protected:
    // Derived constructors call add_param_group (it needs type_name(), so not from here).
    explicit OptimizerWith(const Options& defaults) : defaults_(defaults) {}
    double group_lr(size_t group) const override { return options(group).lr; }
    void set_group_lr(size_t group, double lr) override { options(group).lr = lr; }
    void check_options(size_t group) const override;
    std::string options_to_json(size_t group) const override;
    void options_from_json(size_t group, const std::string& json) override;

    Options defaults_;
    std::vector<Options> options_;
};

// ---- SGD ----
struct SGDOptions {
    double lr = -1;  // required, as in PyTorch (an error if not given)
    double momentum = 0;
    double dampening = 0;
    double weight_decay = 0;
    bool nesterov = false;
    template <class V>
    void visit(V&& v) {
        v("lr", lr);
        v("momentum", momentum);
        v("dampening", dampening);
        v("weight_decay", weight_decay);
        v("nesterov", nesterov);
    }
};

class SGD : public OptimizerWith<SGDOptions> {
public:
    SGD(std::vector<Tensor> params, const SGDOptions& options);
    std::string type_name() const override { return "SGD"; }

protected:
    std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }
    void update(size_t group, Tensor& p, const Tensor& g, ParamState& s) override;
};

// ---- Adam and AdamW ----
struct AdamOptions {
    double lr = 1e-3;
    std::array<double, 2> betas{0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0;  // L2: added to the gradient
    bool amsgrad = false;
    template <class V>
    void visit(V&& v) {
        v("lr", lr);
        v("betas", betas);
        v("eps", eps);
        v("weight_decay", weight_decay);
        v("amsgrad", amsgrad);
    }
};

class Adam : public OptimizerWith<AdamOptions> {
public:
    explicit Adam(std::vector<Tensor> params, const AdamOptions& options = {});
    std::string type_name() const override { return "Adam"; }

protected:
    std::vector<std::string> buffer_names() const override {
        return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }
    void update(size_t group, Tensor& p, const Tensor& g, ParamState& s) override;
};

struct AdamWOptions {
    double lr = 1e-3;
    std::array<double, 2> betas{0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 1e-2;  // decoupled: p ← p·(1 − lr·weight_decay) before the step
    bool amsgrad = false;
    template <class V>
    void visit(V&& v) {
        v("lr", lr);
        v("betas", betas);
        v("eps", eps);
        v("weight_decay", weight_decay);
        v("amsgrad", amsgrad);
    }
};

class AdamW : public OptimizerWith<AdamWOptions> {
public:
    explicit AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
    std::string type_name() const override { return "AdamW"; }

protected:
    std::vector<std::string> buffer_names() const override {
        return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }
    void update(size_t group, Tensor& p, const Tensor& g, ParamState& s) override;
};

// ---- RMSprop ----
struct RMSpropOptions {
    double lr = 1e-2;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0;
    double momentum = 0;
    bool centered = false;
    template <class V>
    void visit(V&& v) {
        v("lr", lr);
        v("alpha", alpha);
        v("eps", eps);
        v("weight_decay", weight_decay);
        v("momentum", momentum);
        v("centered", centered);
    }
};

class RMSprop : public OptimizerWith<RMSpropOptions> {
public:
    explicit RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
    std::string type_name() const override { return "RMSprop"; }

protected:
    std::vector<std::string> buffer_names() const override {
        return {"square_avg", "momentum_buffer", "grad_avg"};
    }
    void update(size_t group, Tensor& p, const Tensor& g, ParamState& s) override;
};

// The optimizer called `name` ("adam", "sgd" or "rmsprop", as the CLI spells them) over
// `params` with learning rate `lr`; `betas` are Adam's, the rest PyTorch's defaults.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params,
                                          double lr, std::array<double, 2> betas);

// √(Σ over parameters of Σ g²): the L2 norm of all gradients together, as the health monitor
// and clipping see it. Parameters without a gradient count as zero.
double grad_norm(const std::vector<Tensor>& params);

}  // namespace zg::nn
