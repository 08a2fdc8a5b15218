#include "nn/module.h"

#include <algorithm>
#include <sstream>

namespace zg::nn {

Tensor Module::forward(const Tensor&) {
    throw Error(type_name() + ": this module has no single-input forward(); call its own method");
}

static void check_name(const std::string& name, const std::string& owner) {
    ZG_CHECK(!name.empty() && name.find('.') == std::string::npos, owner, ": invalid name '", name,
             "' (must be non-empty and contain no '.')");
}

Tensor& Module::register_parameter(const std::string& name, Tensor value) {
    check_name(name, type_name());
    ZG_CHECK(!has_parameter(name), type_name(), ": parameter '", name, "' registered twice");
    if (value.defined()) {
        value = value.detach();
        value.requires_grad_(true);
    }
    params_.push_back({name, value, true});
    return params_.back().value;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value, bool persistent) {
    check_name(name, type_name());
    for (auto& b : buffers_)
        ZG_CHECK(b.name != name, type_name(), ": buffer '", name, "' registered twice");
    buffers_.push_back({name, value.defined() ? value.detach() : value, persistent});
    return buffers_.back().value;
}

void Module::add_child(const std::string& name, ModulePtr child) {
    check_name(name, type_name());
    ZG_CHECK(child, type_name(), ": child module '", name, "' is null");
    for (auto& [n, c] : children_)
        ZG_CHECK(n != name, type_name(), ": child module '", name, "' registered twice");
    children_.emplace_back(name, std::move(child));
}

void Module::rename_parameter(const std::string& from, const std::string& to) {
    check_name(to, type_name());
    ZG_CHECK(!has_parameter(to), type_name(), ": parameter '", to, "' already exists");
    parameter(from);  // throws when missing
    for (auto& p : params_)
        if (p.name == from) p.name = to;
}

Tensor& Module::parameter(const std::string& name) {
    for (auto& p : params_)
        if (p.name == name) return p.value;
    throw Error(type_name() + ": no parameter named '" + name + "'");
}

Tensor& Module::buffer(const std::string& name) {
    for (auto& b : buffers_)
        if (b.name == name) return b.value;
    throw Error(type_name() + ": no buffer named '" + name + "'");
}

bool Module::has_parameter(const std::string& name) const {
    return std::any_of(params_.begin(), params_.end(),
                       [&](const Entry& p) { return p.name == name; });
}

ModulePtr Module::child(const std::string& name) const {
    for (auto& [n, c] : children_)
        if (n == name) return c;
    throw Error(type_name() + ": no child module named '" + name + "'");
}

void Module::collect(const std::string& prefix, bool params, bool recurse,
                     NamedTensors& out) const {
    for (const Entry& e : params ? params_ : buffers_)
        if (e.value.defined() && (params || e.persistent))
            out.emplace_back(prefix + e.name, e.value);
    if (!recurse) return;
    for (auto& [n, c] : children_) c->collect(prefix + n + ".", params, true, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
    NamedTensors out;
    collect("", true, recurse, out);
    return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
    NamedTensors out;
    collect("", false, recurse, out);
    return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
    return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
    std::vector<std::pair<std::string, Module*>> out{{"", this}};
    for (auto& [n, c] : children_)
        for (auto& [sub, m] : c->named_modules())
            out.emplace_back(sub.empty() ? n : n + "." + sub, m);
    return out;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
    for (Tensor& p : parameters()) p.set_grad(Tensor());
}

StateDict Module::state_dict() const {
    StateDict out;
    for (auto& [n, t] : named_parameters()) out[n] = t;
    for (auto& [n, t] : named_buffers()) out[n] = t;
    return out;
}

StateDict Module::snapshot() const {
    NoGradGuard ng;
    StateDict out;
    for (auto& [n, t] : state_dict()) out[n] = t.detach().clone();
    return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
    StateDict own = state_dict();
    std::vector<std::string> missing, unexpected, mismatched;
    for (auto& [name, t] : own) {
        auto it = state.find(name);
        if (it == state.end()) {
            missing.push_back(name);
        } else if (it->second.shape() != t.shape()) {
            mismatched.push_back(name + " (checkpoint " + shape_str(it->second.shape()) +
                                 ", model " + shape_str(t.shape()) + ")");
        }
    }
    for (auto& [name, t] : state)
        if (!own.count(name)) unexpected.push_back(name);
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s;
    };
    std::string problems;
    if (!mismatched.empty()) problems += "\n  shape mismatch: " + join(mismatched);
    if (strict && !missing.empty()) problems += "\n  missing keys: " + join(missing);
    if (strict && !unexpected.empty()) problems += "\n  unexpected keys: " + join(unexpected);
    ZG_CHECK(problems.empty(), "load_state_dict: the state does not fit this ", type_name(), ":",
             problems);
    NoGradGuard ng;
    for (auto& [name, t] : own) {
        auto it = state.find(name);
        if (it != state.end()) t.copy_(it->second);
    }
}

int64_t Module::num_parameters() const {
    int64_t n = 0;
    for (const Tensor& p : parameters()) n += p.numel();
    return n;
}

void Module::print(std::string& out, int indent) const {
    out += type_name() + "(" + extra_repr();
    if (children_.empty()) {
        out += ")";
        return;
    }
    out += "\n";
    for (auto& [n, c] : children_) {
        out += std::string(indent + 2, ' ') + "(" + n + "): ";
        c->print(out, indent + 2);
        out += "\n";
    }
    out += std::string(indent, ' ') + ")";
}

std::string Module::to_string() const {
    std::string s;
    print(s, 0);
    return s;
}

}  // namespace zg::nn
