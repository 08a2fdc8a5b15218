#pragma once
// A training checkpoint: several named state dicts (models, optimizers, EMA weights, anything a
// component wants to keep) plus counters, RNG states and JSON blobs, in one safetensors file.
//
//   nn::Checkpoint ck;
//   ck.add_module("G", *g).add_module("D", *d);
//   ck.add_optimizer("opt_G", opt_g).add_ema("ema", ema);
//   ck.set_json("config", config).set_counter("step", step);
//   ck.set_rng("global", zg::default_rng());
//   ck.save(dir + "/last.safetensors");        // atomic: the old file or the new, never torn
//
//   auto ck = nn::Checkpoint::load(path);
//   ck.restore_module("G", *g);
//   ck.restore_optimizer("opt_G", opt_g);
//   ck.restore_rng("global", zg::default_rng());
//   int64_t step = ck.counter("step");
//
// The file is plain safetensors, so it opens in Python (safetensors.safe_open):
//   tensors:  "<component>/<state-dict name>", e.g. "G/main.0.weight", "opt_G/state.0.3.exp_avg"
//   metadata (strings):
//     "zoograd/format"   "checkpoint-1"
//     "zoograd/states"   JSON {"G": "module", "opt_G": "optimizer", "ema": "ema", ...}: every
//                        state dict, even one without tensors (an SGD before its first step)
//     "optimizer/<name>" the optimizer's hyper-parameter JSON (OptimizerState::json)
//     "json/<name>"      a JSON blob ("json/config", a replay buffer's bookkeeping, ...)
//     "counter/<name>"   a decimal integer ("counter/step": "12000")
//     "rng/<name>"       JSON {"seed": ..., "offset": ...} of an Rng (engine/rng.h)
//
// A Checkpoint is a snapshot: add_* copies the values at the time of the call, so training on
// afterwards does not change what save() writes (and a loaded one can be kept in memory, e.g.
// to swap an old discriminator back in). Names are non-empty and contain no '/'.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "nn/module.h"
#include "nn/optim/ema.h"
#include "nn/optim/optimizers.h"

namespace zg::nn {

class Checkpoint {
public:
    Checkpoint() = default;

    // ---- filling (each returns *this; adding a name again replaces it) ----
    Checkpoint& add_module(const std::string& name, const Module& m);
    Checkpoint& add_optimizer(const std::string& name, const Optimizer& opt);
    Checkpoint& add_ema(const std::string& name, const EMA& ema);
    // Any state dict a component wants saved (a replay buffer's images, ...).
    Checkpoint& add_state(const std::string& name, const StateDict& tensors);
    Checkpoint& set_json(const std::string& name, const nlohmann::json& value);
    Checkpoint& set_counter(const std::string& name, int64_t value);
    Checkpoint& set_rng(const std::string& name, const Rng& gen);
    Checkpoint& set_rng(const std::string& name, RngState state);

    // Writes the file atomically (save_safetensors: a .tmp file, fsync, rename).
    void save(const std::string& path) const;
    // Reads and checks a checkpoint file; a missing, corrupt or foreign file is a zg::Error
    // naming it.
    static Checkpoint load(const std::string& path);

    // ---- restoring; a missing name is a zg::Error naming the file and the component ----
    // Loads a module (or EMA, or plain) state dict into m with Module::load_state_dict.
    void restore_module(const std::string& name, Module& m, bool strict = true) const;
    void restore_optimizer(const std::string& name, Optimizer& opt) const;
    // Loads an EMA (or module) state dict into ema.
    void restore_ema(const std::string& name, EMA& ema) const;
    void restore_rng(const std::string& name, Rng& gen) const;

    // ---- reading ----
    const StateDict& state(const std::string& name) const;
    // "module", "optimizer", "ema" or "state".
    const std::string& kind(const std::string& name) const;
    const nlohmann::json& json(const std::string& name) const;
    int64_t counter(const std::string& name) const;
    RngState rng(const std::string& name) const;

    bool has_state(const std::string& name) const { return states_.count(name) > 0; }
    bool has_json(const std::string& name) const { return json_.count(name) > 0; }
    bool has_counter(const std::string& name) const { return counters_.count(name) > 0; }
    bool has_rng(const std::string& name) const { return rngs_.count(name) > 0; }
    std::vector<std::string> state_names() const;

    // The file this was loaded from, or "<unsaved checkpoint>"; named in errors.
    const std::string& source() const { return source_; }

private:
    struct Component {
        std::string kind;
        StateDict tensors;
        std::string optimizer_json;  // kind "optimizer" only
    };
    Checkpoint& add(const std::string& name, const std::string& kind, const StateDict& tensors,
                    std::string optimizer_json = "");
    const Component& component(const std::string& name, const char* op) const;
    std::string where() const;

    std::map<std::string, Component> states_;
    std::map<std::string, nlohmann::json> json_;
    std::map<std::string, int64_t> counters_;
    std::map<std::string, RngState> rngs_;
    std::string source_ = "<unsaved checkpoint>";
};

}  // namespace zg::nn
