#include "nn/optim/ema.h"

#include <cmath>

namespace zg::nn {

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

void check_decay(double decay, const char* who) {
    ZG_CHECK(decay >= 0 && decay <= 1, who, ": decay must be in [0, 1], got ", decay);
}

}  // namespace

EMA::EMA(const Module& m, double decay) : decay_(decay) {
    check_decay(decay, "EMA");
    NoGradGuard ng;
    for (const auto& [name, p] : m.named_parameters()) {
        shadow_[name] = p.detach().clone();
        param_names_.push_back(name);
    }
    for (const auto& [name, b] : m.named_buffers()) {
        shadow_[name] = b.detach().clone();
        buffer_names_.push_back(name);
    }
}

double bias_corrected_decay(double decay, int64_t t) {
    check_decay(decay, "bias_corrected_decay");
    ZG_CHECK(t >= 1, "bias_corrected_decay: the update count starts at 1, got ", t);
    if (decay == 1) return 1;  // the average never moves
    const double decay_t = std::pow(decay, (double)t);
    return (decay - decay_t) / (1 - decay_t);
}

void EMA::set_decay(double decay) {
    check_decay(decay, "EMA.set_decay");
    decay_ = decay;
}

// shadow ← decay·shadow + (1 − decay)·param for parameters; buffers copied as they are.
void EMA::update(const Module& m) {
    const NamedTensors params = m.named_parameters(), buffers = m.named_buffers();
    // Check the whole structure first, so a mismatch leaves the shadow untouched.
    std::vector<std::string> problems;
    auto check_same = [&](const NamedTensors& live, const std::vector<std::string>& names,
                          const char* what) {
        if (live.size() != names.size())
            problems.push_back(detail::concat("the module has ", live.size(), " ", what,
                                              ", the EMA ", names.size()));
        for (size_t i = 0; i < live.size() && i < names.size(); ++i) {
            const auto& [name, t] = live[i];
            if (name != names[i])
                problems.push_back(detail::concat(what, " ", i, " is '", name, "' in the module, '",
                                                  names[i], "' in the EMA"));
            else if (t.shape() != shadow_.at(name).shape())
                problems.push_back(detail::concat("'", name, "': module ", shape_str(t.shape()),
                                                  ", EMA ", shape_str(shadow_.at(name).shape())));
        }
    };
    check_same(params, param_names_, "parameters");
    check_same(buffers, buffer_names_, "buffers");
    ZG_CHECK(problems.empty(), "EMA.update: the module is not the one this EMA was made from (",
             m.type_name(), "):\n  ", join(problems));

    NoGradGuard ng;
    for (const auto& [name, p] : params) shadow_.at(name).mul_(decay_).add_(p, 1.0 - decay_);
    for (const auto& [name, b] : buffers) shadow_.at(name).copy_(b);
}

void EMA::copy_to(Module& m) const {
    m.load_state_dict(shadow_, /*strict=*/true);
}

void EMA::load_state_dict(const StateDict& state) {
    std::vector<std::string> missing, unexpected, mismatched;
    for (const auto& [name, t] : shadow_) {
        auto it = state.find(name);
        if (it == state.end())
            missing.push_back(name);
        else if (!it->second.defined() || it->second.shape() != t.shape())
            mismatched.push_back(
                name + " (given " +
                (it->second.defined() ? shape_str(it->second.shape()) : std::string("undefined")) +
                ", EMA " + shape_str(t.shape()) + ")");
    }
    for (const auto& [name, t] : state)
        if (!shadow_.count(name)) unexpected.push_back(name);
    std::string problems;
    if (!mismatched.empty()) problems += "\n  shape mismatch: " + join(mismatched);
    if (!missing.empty()) problems += "\n  missing keys: " + join(missing);
    if (!unexpected.empty()) problems += "\n  unexpected keys: " + join(unexpected);
    ZG_CHECK(problems.empty(), "EMA.load_state_dict: the state does not fit this EMA:", problems);
    NoGradGuard ng;
    for (auto& [name, t] : shadow_) t.copy_(state.at(name));
}

}  // namespace zg::nn
