// Optimizers. Each update is one fused loop over the elements of a parameter, with the math of
// PyTorch 1.13's single-tensor implementation written above it and the same order of
// operations: on the scenarios of tests/nn/test_optim.cpp the results are bit-identical to
// PyTorch's in float32 (and within an ulp in float64). Engine ops would read a little clearer,
// but Adam written with them makes about a dozen passes over memory and allocates as many
// temporaries per parameter; measured on a DCGAN-sized parameter set (6.2M floats) it took ~2x
// the fused loop's time on one thread and ~6x on two. Every element is updated on its own, so
// results are identical for any thread count.
#include "nn/optim/optimizers.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace zg::nn {

using json = nlohmann::ordered_json;

namespace {

// f(i) for every element index i in [0, n), spread over cores for big tensors.
template <class F>
void for_each_element(int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n >= (1 << 15))
    for (int64_t i = 0; i < n; ++i) f(i);
}

// with_flags(f, a, b) calls f(std::bool_constant<a>{}, std::bool_constant<b>{}): the options
// become compile-time constants, so each combination is a loop without branches, which the
// compiler vectorizes (with run-time ifs inside it does not).
template <class F>
void with_flags(F&& f) {
    f();
}
template <class F, class... Bools>
void with_flags(F&& f, bool flag, Bools... rest) {
    if (flag)
        with_flags([&](auto... c) { f(std::true_type{}, c...); }, rest...);
    else
        with_flags([&](auto... c) { f(std::false_type{}, c...); }, rest...);
}
#define flag decltype(flag)::value

// ---- hyper-parameter checks (PyTorch's constructor checks) ----

void check_lr(double lr, const std::string& who) {
    ZG_CHECK(lr >= 0, who, ": invalid learning rate ", lr, " (must be >= 0)");
}
void check_nonneg(double v, const char* name, const std::string& who) {
    ZG_CHECK(v >= 0, who, ": invalid ", name, " ", v, " (must be >= 0)");
}

void check(const SGDOptions& o, const std::string& who) {
    ZG_CHECK(o.lr != -1, who,
             ": no learning rate given; SGD has no default (as in PyTorch): "
             "SGD(params, {.lr = 0.01})");
    check_lr(o.lr, who);
    check_nonneg(o.momentum, "momentum", who);
    check_nonneg(o.weight_decay, "weight_decay", who);
    ZG_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), who,
             ": Nesterov momentum needs momentum > 0 and dampening = 0 (got momentum ", o.momentum,
             ", dampening ", o.dampening, ")");
}

template <class O>
void check_adam(const O& o, const std::string& who) {
    check_lr(o.lr, who);
    check_nonneg(o.eps, "eps", who);
    for (int k = 0; k < 2; ++k)
        ZG_CHECK(o.betas[k] >= 0 && o.betas[k] < 1, who, ": invalid beta parameter at index ", k,
                 ": ", o.betas[k], " (must be in [0, 1))");
    check_nonneg(o.weight_decay, "weight_decay", who);
}
void check(const AdamOptions& o, const std::string& who) {
    check_adam(o, who);
}
void check(const AdamWOptions& o, const std::string& who) {
    check_adam(o, who);
}

void check(const RMSpropOptions& o, const std::string& who) {
    check_lr(o.lr, who);
    check_nonneg(o.eps, "eps", who);
    check_nonneg(o.momentum, "momentum", who);
    check_nonneg(o.weight_decay, "weight_decay", who);
    check_nonneg(o.alpha, "alpha", who);
}

// ---- hyper-parameters to and from JSON, through each Options' visit() ----

struct ToJson {
    json& j;
    void operator()(const char* k, double v) { j[k] = v; }
    void operator()(const char* k, bool v) { j[k] = v; }
    void operator()(const char* k, const std::array<double, 2>& v) { j[k] = v; }
};

struct FromJson {
    const json& j;
    const std::string& who;
    std::vector<std::string> seen;
    const json& at(const char* k) {
        seen.push_back(k);
        auto it = j.find(k);
        ZG_CHECK(it != j.end(), who, ": hyper-parameter \"", k, "\" is missing from the state");
        return *it;
    }
    void operator()(const char* k, double& v) {
        const json& x = at(k);
        ZG_CHECK(x.is_number(), who, ": hyper-parameter \"", k, "\" must be a number, found ",
                 x.dump());
        v = x.get<double>();
    }
    void operator()(const char* k, bool& v) {
        const json& x = at(k);
        ZG_CHECK(x.is_boolean(), who, ": hyper-parameter \"", k, "\" must be true or false, found ",
                 x.dump());
        v = x.get<bool>();
    }
    void operator()(const char* k, std::array<double, 2>& v) {
        const json& x = at(k);
        ZG_CHECK(x.is_array() && x.size() == 2 && x[0].is_number() && x[1].is_number(), who,
                 ": hyper-parameter \"", k, "\" must be two numbers, found ", x.dump());
        v = {x[0].get<double>(), x[1].get<double>()};
    }
};

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

// Parses "state.<group>.<index>.<buffer>"; false if `name` has another form.
bool parse_state_name(const std::string& name, size_t& group, size_t& index, std::string& buf) {
    const std::string prefix = "state.";
    if (name.rfind(prefix, 0) != 0) return false;
    const char* p = name.data() + prefix.size();
    const char* end = name.data() + name.size();
    for (size_t* out : {&group, &index}) {
        auto [q, ec] = std::from_chars(p, end, *out);
        if (ec != std::errc() || q == end || *q != '.') return false;
        p = q + 1;
    }
    buf.assign(p, end);
    return !buf.empty();
}

// The buffer `name` among a parameter's `buffers`, created as zeros shaped like `p` when
// missing (PyTorch makes optimizer state lazily, at a parameter's first update).
Tensor& buffer(std::map<std::string, Tensor>& buffers, const std::string& name, const Tensor& p) {
    Tensor& b = buffers[name];
    if (!b.defined()) b = zeros(p.shape(), p.dtype());
    return b;
}

}  // namespace

// ================================ Optimizer ================================

void Optimizer::add_params(std::vector<Tensor> params) {
    const std::string who = type_name();
    for (size_t i = 0; i < params.size(); ++i) {
        const Tensor& p = params[i];
        ZG_CHECK(p.defined(), who, ": parameter ", i, " of the new group is undefined");
        ZG_CHECK(is_floating(p.dtype()), who, ": parameter ", i, " is ", dtype_name(p.dtype()),
                 "; only float32/float64 tensors can be optimized");
        ZG_CHECK(p.device() == Device::cpu, who, ": parameter ", i, " is on ",
                 device_name(p.device()), "; the optimizers run on the CPU");
        ZG_CHECK(p.is_leaf(), who, ": parameter ", i, " (shape ", shape_str(p.shape()),
                 ") is not a leaf tensor; optimize the leaves it was computed from");
        for (size_t k = 0; k < i; ++k)
            ZG_CHECK(!params[k].same(p), who, ": parameter ", i,
                     " appears twice in the new group (as ", k, " too)");
        for (size_t g = 0; g < groups_.size(); ++g)
            for (const Tensor& q : groups_[g].params)
                ZG_CHECK(!q.same(p), who, ": parameter ", i,
                         " of the new group is already in "
                         "group ",
                         g, "; a parameter can be in only one group");
    }
    Group g;
    g.state.resize(params.size());
    g.params = std::move(params);
    groups_.push_back(std::move(g));
}

void Optimizer::step() {
    NoGradGuard ng;
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        check_options(gi);
        Group& group = groups_[gi];
        for (size_t i = 0; i < group.params.size(); ++i) {
            Tensor& p = group.params[i];
            Tensor g = p.grad();
            if (!g.defined()) continue;
            ZG_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype(), type_name(),
                     ".step: parameter ", i, " of group ", gi, " is ", dtype_name(p.dtype()), " ",
                     shape_str(p.shape()), " but its gradient is ", dtype_name(g.dtype()), " ",
                     shape_str(g.shape()));
            g = g.contiguous();
            Tensor work = p.is_contiguous() ? p : p.contiguous();
            ParamState& s = group.state[i];
            ++s.step;
            update(gi, work, g, s);
            if (work.same(p))
                ++p.storage().version;  // written through raw pointers: autograd must know
            else
                p.copy_(work);
        }
    }
}

void Optimizer::zero_grad() {
    for (Group& g : groups_)
        for (Tensor& p : g.params) p.set_grad(Tensor());
}

void Optimizer::set_lr(double lr) {
    check_lr(lr, type_name() + ".set_lr");
    for (size_t g = 0; g < groups_.size(); ++g) set_group_lr(g, lr);
}

double Optimizer::lr(size_t group) const {
    ZG_CHECK(group < groups_.size(), type_name(), ": no parameter group ", group, " (it has ",
             groups_.size(), ")");
    return group_lr(group);
}

const std::vector<Tensor>& Optimizer::params(size_t group) const {
    ZG_CHECK(group < groups_.size(), type_name(), ": no parameter group ", group, " (it has ",
             groups_.size(), ")");
    return groups_[group].params;
}

int64_t Optimizer::step_count(size_t group, size_t index) const {
    ZG_CHECK(index < params(group).size(), type_name(), ": group ", group, " has no parameter ",
             index);
    return groups_[group].state[index].step;
}

Tensor Optimizer::state(size_t group, size_t index, const std::string& buffer) const {
    ZG_CHECK(index < params(group).size(), type_name(), ": group ", group, " has no parameter ",
             index);
    const auto& b = groups_[group].state[index].buffers;
    auto it = b.find(buffer);
    return it == b.end() ? Tensor() : it->second;
}

OptimizerState Optimizer::state_dict() const {
    OptimizerState out;
    json j = json::object();
    j["type"] = type_name();
    j["groups"] = json::array();
    for (size_t g = 0; g < groups_.size(); ++g) {
        json group = json::parse(options_to_json(g));
        json params = json::array();
        for (size_t i = 0; i < groups_[g].params.size(); ++i) {
            const ParamState& s = groups_[g].state[i];
            params.push_back({{"shape", groups_[g].params[i].shape()}, {"step", s.step}});
            for (const auto& [name, t] : s.buffers)
                out.tensors[detail::concat("state.", g, ".", i, ".", name)] = t;
        }
        group["params"] = std::move(params);
        j["groups"].push_back(std::move(group));
    }
    out.json = j.dump();
    return out;
}

void Optimizer::load_state_dict(const OptimizerState& st) {
    const std::string who = type_name() + ".load_state_dict";
    json j;
    try {
        j = json::parse(st.json);
    } catch (const json::exception& e) {
        throw Error(who + ": the state's JSON is malformed (" + e.what() + ")");
    }
    ZG_CHECK(j.is_object() && j.contains("type") && j["type"].is_string() && j.contains("groups") &&
                 j["groups"].is_array(),
             who,
             ": the state's JSON is not an optimizer state (expected {\"type\": ..., "
             "\"groups\": [...]})");
    const std::string type = j["type"].get<std::string>();
    ZG_CHECK(type == type_name(), who, ": the state was saved by ", type,
             "; it cannot be "
             "loaded into ",
             type_name());
    const json& groups = j["groups"];
    ZG_CHECK(groups.size() == groups_.size(), who, ": the state has ", groups.size(),
             " parameter group(s) but this optimizer has ", groups_.size());

    // Step counts and shapes, group by group.
    std::vector<std::string> problems;
    std::vector<std::vector<ParamState>> fresh(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) {
        const json& group = groups[g];
        const auto& params = groups_[g].params;
        ZG_CHECK(group.is_object() && group.contains("params") && group["params"].is_array(), who,
                 ": group ", g, " of the state has no \"params\" list");
        const json& ps = group["params"];
        ZG_CHECK(ps.size() == params.size(), who, ": group ", g, " of the state has ", ps.size(),
                 " parameter(s) but this optimizer's group ", g, " has ", params.size(),
                 " (is it the same model?)");
        fresh[g].resize(params.size());
        for (size_t i = 0; i < params.size(); ++i) {
            const json& e = ps[i];
            ZG_CHECK(e.is_object() && e.contains("shape") && e["shape"].is_array() &&
                         e.contains("step") && e["step"].is_number_integer() &&
                         e["step"].get<int64_t>() >= 0,
                     who, ": group ", g, " parameter ", i,
                     " of the state is malformed: ", e.dump());
            Shape shape;
            for (const json& d : e["shape"]) {
                ZG_CHECK(d.is_number_integer(), who, ": group ", g, " parameter ", i,
                         ": malformed shape ", e["shape"].dump());
                shape.push_back(d.get<int64_t>());
            }
            if (shape != params[i].shape())
                problems.push_back(detail::concat("group ", g, " parameter ", i, ": state ",
                                                  shape_str(shape), ", optimizer ",
                                                  shape_str(params[i].shape())));
            fresh[g][i].step = e["step"].get<int64_t>();
        }
    }
    ZG_CHECK(problems.empty(), who, ": parameter shapes differ (is it the same model?):\n  ",
             join(problems, "\n  "));

    // Buffers: each must name a parameter and a buffer this optimizer keeps, with its shape.
    const std::vector<std::string> known = buffer_names();
    for (const auto& [name, t] : st.tensors) {
        size_t g = 0, i = 0;
        std::string buf;
        if (!parse_state_name(name, g, i, buf) || g >= groups_.size() ||
            i >= groups_[g].params.size() ||
            std::find(known.begin(), known.end(), buf) == known.end()) {
            problems.push_back("unexpected tensor '" + name + "' (" + type_name() +
                               " keeps state.<group>.<index>.{" + join(known, ",") + "})");
            continue;
        }
        const Tensor& p = groups_[g].params[i];
        if (!t.defined() || t.shape() != p.shape() || !is_floating(t.dtype())) {
            problems.push_back(
                "tensor '" + name + "': " +
                (t.defined() ? dtype_name(t.dtype()) + std::string(" ") + shape_str(t.shape())
                             : std::string("undefined")) +
                ", parameter " + dtype_name(p.dtype()) + " " + shape_str(p.shape()));
            continue;
        }
        Tensor copy = empty(p.shape(), p.dtype());
        copy.copy_(t);
        fresh[g][i].buffers[buf] = copy;
    }
    ZG_CHECK(problems.empty(), who, ": the state's tensors do not fit this ", type_name(), ":\n  ",
             join(problems, "\n  "));

    // Hyper-parameters last, rolled back if any group's are missing or invalid.
    std::vector<std::string> old;
    for (size_t g = 0; g < groups_.size(); ++g) old.push_back(options_to_json(g));
    try {
        for (size_t g = 0; g < groups_.size(); ++g) {
            json opts = groups[g];
            opts.erase("params");
            options_from_json(g, opts.dump());
            check_options(g);
        }
    } catch (...) {
        for (size_t g = 0; g < groups_.size(); ++g) options_from_json(g, old[g]);
        throw;
    }
    for (size_t g = 0; g < groups_.size(); ++g) groups_[g].state = std::move(fresh[g]);
}

// ================================ OptimizerWith ================================

template <class Options>
void OptimizerWith<Options>::add_param_group(std::vector<Tensor> params, const Options& o) {
    check(o, type_name());
    add_params(std::move(params));
    options_.push_back(o);
}

template <class Options>
Options& OptimizerWith<Options>::options(size_t group) {
    ZG_CHECK(group < options_.size(), type_name(), ": no parameter group ", group, " (it has ",
             options_.size(), ")");
    return options_[group];
}

template <class Options>
const Options& OptimizerWith<Options>::options(size_t group) const {
    ZG_CHECK(group < options_.size(), type_name(), ": no parameter group ", group, " (it has ",
             options_.size(), ")");
    return options_[group];
}

template <class Options>
void OptimizerWith<Options>::check_options(size_t group) const {
    check(options(group), detail::concat(type_name(), " (parameter group ", group, ")"));
}

template <class Options>
std::string OptimizerWith<Options>::options_to_json(size_t group) const {
    json j = json::object();
    Options o = options(group);
    o.visit(ToJson{j});
    return j.dump();
}

template <class Options>
void OptimizerWith<Options>::options_from_json(size_t group, const std::string& text) {
    const std::string who = detail::concat(type_name(), ".load_state_dict (group ", group, ")");
    json j = json::parse(text);
    Options o;
    FromJson from{j, who, {}};
    o.visit(from);
    for (const auto& [k, v] : j.items())
        ZG_CHECK(std::find(from.seen.begin(), from.seen.end(), k) != from.seen.end(), who,
                 ": unknown hyper-parameter \"", k, "\" for ", type_name());
    options(group) = o;
}

template class OptimizerWith<SGDOptions>;
template class OptimizerWith<AdamOptions>;
template class OptimizerWith<AdamWOptions>;
template class OptimizerWith<RMSpropOptions>;

// ================================ SGD ================================

SGD::SGD(std::vector<Tensor> params, const SGDOptions& o) : OptimizerWith(o) {
    ZG_CHECK(!params.empty(), "SGD: got an empty parameter list");
    add_param_group(std::move(params), o);
}

// SGD (torch.optim.SGD), for a parameter p with gradient g:
//   g ← g + weight_decay·p                        (if weight_decay ≠ 0)
//   if momentum ≠ 0:
//       b ← g                                     (first step: the buffer starts as g)
//       b ← momentum·b + (1 − dampening)·g        (later steps)
//       g ← g + momentum·b  if nesterov, else  g ← b
//   p ← p − lr·g
void SGD::update(size_t group, Tensor& p, const Tensor& g, ParamState& s) {
    const SGDOptions& o = options(group);
    const bool first = !s.buffers.count("momentum_buffer");
    Tensor buf = o.momentum != 0 ? buffer(s.buffers, "momentum_buffer", p) : Tensor();
    dispatch_float(p.dtype(), "SGD.step", [&]<class T>() {
        T* P = p.data<T>();
        const T* G = g.data<T>();
        T* B = buf.defined() ? buf.data<T>() : nullptr;
        const T neg_lr = -o.lr, wd = o.weight_decay, mom = o.momentum,
                one_minus_damp = 1 - o.dampening;
        auto kernel = [&](auto decay, auto momentum, auto first, auto nesterov) {
            for_each_element(p.numel(), [=](int64_t i) {
                T d = G[i];
                if constexpr (decay) d = d + wd * P[i];
                if constexpr (momentum) {
                    if constexpr (first)
                        B[i] = d;
                    else
                        B[i] = B[i] * mom + one_minus_damp * d;
                    if constexpr (nesterov)
                        d = d + mom * B[i];
                    else
                        d = B[i];
                }
                P[i] = P[i] + neg_lr * d;
            });
        };
        with_flags(kernel, o.weight_decay != 0, B != nullptr, first, o.nesterov);
    });
}

// ================================ Adam, AdamW ================================

namespace {

// Adam (torch.optim.Adam) at step t = 1, 2, ... for a parameter p with gradient g:
//   p ← p·(1 − lr·decoupled_wd)                   (AdamW only: decoupled weight decay)
//   g ← g + l2·p                                  (Adam only: L2 penalty, if weight_decay ≠ 0)
//   m ← β₁·m + (1 − β₁)·g                         (exp_avg)
//   v ← β₂·v + (1 − β₂)·g²                        (exp_avg_sq)
//   v ← v̂ ← max(v̂, v)                             (amsgrad: max_exp_avg_sq, used from here on)
//   p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
// The bias corrections are computed in double, as Python does, then used at the tensor's type.
template <class O>
void adam_update(const O& o, bool decoupled, Tensor& p, const Tensor& g,
                 std::map<std::string, Tensor>& buffers, int64_t step, const char* who) {
    Tensor m = buffer(buffers, "exp_avg", p), v = buffer(buffers, "exp_avg_sq", p);
    Tensor vmax = o.amsgrad ? buffer(buffers, "max_exp_avg_sq", p) : Tensor();
    const double b1 = o.betas[0], b2 = o.betas[1];
    const double bias1 = 1 - std::pow(b1, (double)step), bias2 = 1 - std::pow(b2, (double)step);
    const double step_size = o.lr / bias1, bias2_sqrt = std::sqrt(bias2);
    dispatch_float(p.dtype(), who, [&]<class T>() {
        T* P = p.data<T>();
        const T* G = g.data<T>();
        T* M = m.data<T>();
        T* V = v.data<T>();
        T* VM = vmax.defined() ? vmax.data<T>() : nullptr;
        const T shrink = 1 - o.lr * o.weight_decay, l2 = o.weight_decay;
        const T beta1 = b1, beta2 = b2, one_minus_b1 = 1 - b1, one_minus_b2 = 1 - b2;
        const T neg_step = -step_size, bc2 = bias2_sqrt, eps = o.eps;
        auto kernel = [&](auto decoupled_wd, auto l2_on, auto amsgrad) {
            for_each_element(p.numel(), [=](int64_t i) {
                T grad = G[i];
                if constexpr (decoupled_wd) P[i] = P[i] * shrink;
                if constexpr (l2_on) grad = grad + l2 * P[i];
                M[i] = M[i] * beta1 + one_minus_b1 * grad;
                V[i] = V[i] * beta2 + one_minus_b2 * grad * grad;
                T second = V[i];
                if constexpr (amsgrad) second = VM[i] = std::max(VM[i], V[i]);
                const T denom = std::sqrt(second) / bc2 + eps;
                P[i] = P[i] + neg_step * M[i] / denom;
            });
        };
        with_flags(kernel, decoupled, !decoupled && o.weight_decay != 0, VM != nullptr);
    });
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o) : OptimizerWith(o) {
    ZG_CHECK(!params.empty(), "Adam: got an empty parameter list");
    add_param_group(std::move(params), o);
}

void Adam::update(size_t group, Tensor& p, const Tensor& g, ParamState& s) {
    adam_update(options(group), false, p, g, s.buffers, s.step, "Adam.step");
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& o) : OptimizerWith(o) {
    ZG_CHECK(!params.empty(), "AdamW: got an empty parameter list");
    add_param_group(std::move(params), o);
}

void AdamW::update(size_t group, Tensor& p, const Tensor& g, ParamState& s) {
    adam_update(options(group), true, p, g, s.buffers, s.step, "AdamW.step");
}

// ================================ RMSprop ================================

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& o) : OptimizerWith(o) {
    ZG_CHECK(!params.empty(), "RMSprop: got an empty parameter list");
    add_param_group(std::move(params), o);
}

// RMSprop (torch.optim.RMSprop), for a parameter p with gradient g:
//   g ← g + weight_decay·p                        (if weight_decay ≠ 0)
//   s ← α·s + (1 − α)·g²                          (square_avg)
//   centered:   a ← α·a + (1 − α)·g  (grad_avg);  d ← √(s − a²) + ε
//   otherwise:  d ← √s + ε
//   momentum > 0:  b ← momentum·b + g/d  (momentum_buffer);  p ← p − lr·b
//   otherwise:     p ← p − lr·g/d
void RMSprop::update(size_t group, Tensor& p, const Tensor& g, ParamState& s) {
    const RMSpropOptions& o = options(group);
    Tensor sq = buffer(s.buffers, "square_avg", p);
    Tensor buf = o.momentum > 0 ? buffer(s.buffers, "momentum_buffer", p) : Tensor();
    Tensor ga = o.centered ? buffer(s.buffers, "grad_avg", p) : Tensor();
    dispatch_float(p.dtype(), "RMSprop.step", [&]<class T>() {
        T* P = p.data<T>();
        const T* G = g.data<T>();
        T* S = sq.data<T>();
        T* B = buf.defined() ? buf.data<T>() : nullptr;
        T* A = ga.defined() ? ga.data<T>() : nullptr;
        const T neg_lr = -o.lr, wd = o.weight_decay, alpha = o.alpha, one_minus_alpha = 1 - o.alpha,
                eps = o.eps, mom = o.momentum;
        auto kernel = [&](auto decay, auto centered, auto momentum) {
            for_each_element(p.numel(), [=](int64_t i) {
                T grad = G[i];
                if constexpr (decay) grad = grad + wd * P[i];
                S[i] = S[i] * alpha + one_minus_alpha * grad * grad;
                T avg;
                if constexpr (centered) {
                    A[i] = A[i] * alpha + one_minus_alpha * grad;
                    avg = std::sqrt(S[i] - A[i] * A[i]);
                } else {
                    avg = std::sqrt(S[i]);
                }
                avg = avg + eps;
                if constexpr (momentum) {
                    B[i] = B[i] * mom + grad / avg;
                    P[i] = P[i] + neg_lr * B[i];
                } else {
                    P[i] = P[i] + neg_lr * grad / avg;
                }
            });
        };
        with_flags(kernel, o.weight_decay != 0, A != nullptr, B != nullptr);
    });
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params,
                                          double lr, std::array<double, 2> betas) {
    if (name == "sgd") return std::make_unique<SGD>(std::move(params), SGDOptions{.lr = lr});
    if (name == "rmsprop")
        return std::make_unique<RMSprop>(std::move(params), RMSpropOptions{.lr = lr});
    ZG_CHECK(name == "adam", "unknown optimizer '", name, "'; choose adam, sgd or rmsprop");
    return std::make_unique<Adam>(std::move(params), AdamOptions{.lr = lr, .betas = betas});
}

double grad_norm(const std::vector<Tensor>& params) {
    NoGradGuard ng;
    double sq = 0;
    for (const Tensor& p : params)
        if (p.grad().defined()) sq += sum(p.grad() * p.grad()).item<double>();
    return std::sqrt(sq);
}

}  // namespace zg::nn
