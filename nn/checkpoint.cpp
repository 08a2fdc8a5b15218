#include "nn/checkpoint.h"

#include <charconv>

#include "engine/io/safetensors.h"

namespace zg::nn {

using Json = nlohmann::json;

namespace {

constexpr const char* kFormatKey = "zoograd/format";
constexpr const char* kFormat = "checkpoint-1";
constexpr const char* kStatesKey = "zoograd/states";

bool valid_kind(const std::string& k) {
    return k == "module" || k == "optimizer" || k == "ema" || k == "state";
}

void check_name(const std::string& name, const char* op) {
    ZG_CHECK(!name.empty() && name.find('/') == std::string::npos, "Checkpoint::", op,
             ": invalid name '", name, "' (must be non-empty and contain no '/')");
}

template <class Map>
std::string names_of(const Map& m) {
    std::string s;
    for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
    return s.empty() ? "none" : s;
}

bool parse_int64(const std::string& s, int64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

// ---- filling ----

Checkpoint& Checkpoint::add(const std::string& name, const std::string& kind,
                            const StateDict& tensors, std::string optimizer_json) {
    check_name(name, ("add_" + kind).c_str());
    Component c{kind, {}, std::move(optimizer_json)};
    NoGradGuard ng;
    for (const auto& [key, t] : tensors) {
        ZG_CHECK(!key.empty(), "Checkpoint::add_", kind, "('", name,
                 "'): a tensor has an empty name");
        ZG_CHECK(t.defined(), "Checkpoint::add_", kind, "('", name, "'): tensor '", key,
                 "' is undefined");
        c.tensors[key] = t.detach().clone();  // a snapshot: later updates do not leak in
    }
    states_[name] = std::move(c);
    return *this;
}

Checkpoint& Checkpoint::add_module(const std::string& name, const Module& m) {
    return add(name, "module", m.state_dict());
}

Checkpoint& Checkpoint::add_optimizer(const std::string& name, const Optimizer& opt) {
    OptimizerState s = opt.state_dict();
    return add(name, "optimizer", s.tensors, std::move(s.json));
}

Checkpoint& Checkpoint::add_ema(const std::string& name, const EMA& ema) {
    return add(name, "ema", ema.state_dict());
}

Checkpoint& Checkpoint::add_state(const std::string& name, const StateDict& tensors) {
    return add(name, "state", tensors);
}

Checkpoint& Checkpoint::set_json(const std::string& name, const Json& value) {
    check_name(name, "set_json");
    json_[name] = value;
    return *this;
}

Checkpoint& Checkpoint::set_counter(const std::string& name, int64_t value) {
    check_name(name, "set_counter");
    counters_[name] = value;
    return *this;
}

Checkpoint& Checkpoint::set_rng(const std::string& name, const Rng& gen) {
    return set_rng(name, gen.state());
}

Checkpoint& Checkpoint::set_rng(const std::string& name, RngState state) {
    check_name(name, "set_rng");
    rngs_[name] = state;
    return *this;
}

// ---- the file ----

void Checkpoint::save(const std::string& path) const {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> meta;
    Json kinds = Json::object();
    for (const auto& [name, c] : states_) {
        kinds[name] = c.kind;
        for (const auto& [key, t] : c.tensors) tensors[name + "/" + key] = t;
        if (c.kind == "optimizer") meta["optimizer/" + name] = c.optimizer_json;
    }
    meta[kFormatKey] = kFormat;
    meta[kStatesKey] = kinds.dump();
    for (const auto& [name, c] : counters_) meta["counter/" + name] = std::to_string(c);
    for (const auto& [name, s] : rngs_)
        meta["rng/" + name] = Json{{"seed", s.seed}, {"offset", s.offset}}.dump();
    for (const auto& [name, j] : json_) {
        try {
            meta["json/" + name] = j.dump();
        } catch (const Json::exception& e) {
            throw Error("Checkpoint::save '" + path + "': JSON '" + name + "' cannot be written (" +
                        e.what() + ")");
        }
    }
    save_safetensors(path, tensors, meta);  // its errors name the path; a WriteError stays one
}

Checkpoint Checkpoint::load(const std::string& path) {
    SafetensorsFile file;
    try {
        file = load_safetensors(path);
    } catch (const Error& e) {
        throw Error(std::string("Checkpoint::load: cannot read checkpoint: ") + e.what());
    }
    Checkpoint ck;
    ck.source_ = path;
    const std::string where = ck.where();
    auto& meta = file.metadata;

    auto fmt = meta.find(kFormatKey);
    ZG_CHECK(fmt != meta.end(), where, ": not a zoograd checkpoint (its metadata has no \"",
             kFormatKey,
             "\"); a plain safetensors file of weights loads with "
             "zg::load_safetensors");
    ZG_CHECK(fmt->second == kFormat, where, ": unsupported checkpoint format '", fmt->second,
             "' (this zoograd reads ", kFormat, ")");
    auto parse = [&](const std::string& key, const std::string& text) {
        try {
            return Json::parse(text);
        } catch (const Json::exception& e) {
            throw Error(where + ": metadata '" + key + "' is not valid JSON (" + e.what() + ")");
        }
    };

    // The table of state dicts.
    auto st = meta.find(kStatesKey);
    ZG_CHECK(st != meta.end(), where, ": metadata \"", kStatesKey, "\" is missing (corrupt?)");
    const Json kinds = parse(kStatesKey, st->second);
    ZG_CHECK(kinds.is_object(), where, ": metadata \"", kStatesKey, "\" must be a JSON object");
    for (const auto& [name, kind] : kinds.items()) {
        ZG_CHECK(kind.is_string() && valid_kind(kind.get<std::string>()), where, ": component '",
                 name, "' has unknown kind ", kind.dump(),
                 " (expected module, optimizer, ema or state)");
        ck.states_[name].kind = kind.get<std::string>();
    }

    // Everything else in the metadata, by prefix; keys from other tools are left alone.
    for (const auto& [key, value] : meta) {
        const size_t slash = key.find('/');
        if (slash == std::string::npos) continue;
        const std::string prefix = key.substr(0, slash), name = key.substr(slash + 1);
        if (prefix == "json") {
            ck.json_[name] = parse(key, value);
        } else if (prefix == "counter") {
            int64_t v = 0;
            ZG_CHECK(parse_int64(value, v), where, ": metadata '", key, "' is not an integer: '",
                     value, "'");
            ck.counters_[name] = v;
        } else if (prefix == "rng") {
            const Json j = parse(key, value);
            ZG_CHECK(j.is_object() && j.contains("seed") && j["seed"].is_number_unsigned() &&
                         j.contains("offset") && j["offset"].is_number_unsigned(),
                     where, ": metadata '", key, "' must be {\"seed\": n, \"offset\": n}, found ",
                     value);
            ck.rngs_[name] = RngState{j["seed"].get<uint64_t>(), j["offset"].get<uint64_t>()};
        } else if (prefix == "optimizer") {
            auto it = ck.states_.find(name);
            ZG_CHECK(it != ck.states_.end() && it->second.kind == "optimizer", where,
                     ": metadata '", key, "' belongs to no optimizer listed in \"", kStatesKey,
                     "\"");
            it->second.optimizer_json = value;
        }
    }
    for (const auto& [name, c] : ck.states_)
        ZG_CHECK(c.kind != "optimizer" || !c.optimizer_json.empty(), where, ": optimizer '", name,
                 "' has no metadata 'optimizer/", name, "' (corrupt?)");

    for (auto& [key, t] : file.tensors) {
        const size_t slash = key.find('/');
        auto it =
            slash == std::string::npos ? ck.states_.end() : ck.states_.find(key.substr(0, slash));
        ZG_CHECK(it != ck.states_.end() && slash + 1 < key.size(), where, ": tensor '", key,
                 "' belongs to no component listed in \"", kStatesKey, "\" (", names_of(ck.states_),
                 ")");
        it->second.tensors[key.substr(slash + 1)] = std::move(t);
    }
    return ck;
}

// ---- restoring and reading ----

std::string Checkpoint::where() const {
    return "checkpoint '" + source_ + "'";
}

const Checkpoint::Component& Checkpoint::component(const std::string& name, const char* op) const {
    auto it = states_.find(name);
    ZG_CHECK(it != states_.end(), where(), " has no component '", name, "' (", op,
             "); it holds: ", names_of(states_));
    return it->second;
}

void Checkpoint::restore_module(const std::string& name, Module& m, bool strict) const {
    const Component& c = component(name, "restore_module");
    ZG_CHECK(c.kind != "optimizer", where(), ": component '", name,
             "' is an optimizer's state, not a module's");
    try {
        m.load_state_dict(c.tensors, strict);
    } catch (const Error& e) {
        throw Error(where() + ", component '" + name + "': " + e.what());
    }
}

void Checkpoint::restore_optimizer(const std::string& name, Optimizer& opt) const {
    const Component& c = component(name, "restore_optimizer");
    ZG_CHECK(c.kind == "optimizer", where(), ": component '", name, "' is a ", c.kind,
             "'s state, not an optimizer's");
    try {
        opt.load_state_dict(OptimizerState{c.tensors, c.optimizer_json});
    } catch (const Error& e) {
        throw Error(where() + ", component '" + name + "': " + e.what());
    }
}

void Checkpoint::restore_ema(const std::string& name, EMA& ema) const {
    const Component& c = component(name, "restore_ema");
    ZG_CHECK(c.kind != "optimizer", where(), ": component '", name,
             "' is an optimizer's state, not an EMA's");
    try {
        ema.load_state_dict(c.tensors);
    } catch (const Error& e) {
        throw Error(where() + ", component '" + name + "': " + e.what());
    }
}

void Checkpoint::restore_rng(const std::string& name, Rng& gen) const {
    gen.set_state(rng(name));
}

const StateDict& Checkpoint::state(const std::string& name) const {
    return component(name, "state").tensors;
}

const std::string& Checkpoint::kind(const std::string& name) const {
    return component(name, "kind").kind;
}

const Json& Checkpoint::json(const std::string& name) const {
    auto it = json_.find(name);
    ZG_CHECK(it != json_.end(), where(), " has no JSON '", name, "'; it holds: ", names_of(json_));
    return it->second;
}

int64_t Checkpoint::counter(const std::string& name) const {
    auto it = counters_.find(name);
    ZG_CHECK(it != counters_.end(), where(), " has no counter '", name,
             "'; it holds: ", names_of(counters_));
    return it->second;
}

RngState Checkpoint::rng(const std::string& name) const {
    auto it = rngs_.find(name);
    ZG_CHECK(it != rngs_.end(), where(), " has no RNG state '", name,
             "'; it holds: ", names_of(rngs_));
    return it->second;
}

std::vector<std::string> Checkpoint::state_names() const {
    std::vector<std::string> out;
    for (const auto& [name, c] : states_) out.push_back(name);
    return out;
}

}  // namespace zg::nn
