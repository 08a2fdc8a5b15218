// libFuzzer target for the door every run config passes (zoo/train/config_check.h): a run's
// config.json, a --config file and the config of a checkpoint. Any byte string that parses as
// JSON must either be refused with a zg::Error or come out with every flag of its model of the
// kind the trainer and the models read it as, so reading it never throws the JSON library's
// type error. The input's first byte picks how it arrives: as a file's JSON, or as the
// json/config metadata of a checkpoint (which must also name its channels).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/error.h"
#include "nn/checkpoint.h"
#include "zoo/train/config_check.h"
#include "zoo/train/trainer.h"

namespace {

// Reads every flag the way the code past the door does, by its default's kind.
void read_like_the_trainer(const nlohmann::json& config) {
    const nlohmann::json defaults = zg::zoo::default_config(config.at("model"));
    for (auto& [key, def] : defaults.items()) {
        const nlohmann::json& v = config.at(key);
        if (def.is_boolean())
            (void)v.get<bool>();
        else if (key.ends_with("seed"))
            (void)v.get<uint64_t>();
        else if (def.is_number_integer() || def.is_number_unsigned())
            (void)v.get<int64_t>();
        else if (def.is_number())
            (void)v.get<double>();
        else if (key == "sample_every")
            (void)(v.is_number() ? v.get<int64_t>() : (v.get<std::string>(), 0));
        else
            (void)v.get<std::string>();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const bool from_checkpoint = data[0] % 2;
    const nlohmann::json j = nlohmann::json::parse(data + 1, data + size, nullptr, false);
    if (j.is_discarded()) return 0;  // the callers refuse text that is no JSON before the door
    nlohmann::json config;
    try {
        if (from_checkpoint) {
            zg::nn::Checkpoint ck;
            ck.set_json("config", j);
            config = zg::zoo::checkpoint_config(ck, "<fuzz>");
        } else {
            config = zg::zoo::checked_run_config(j, "<fuzz>");
        }
    } catch (const zg::Error&) {
        return 0;
    }
    try {
        read_like_the_trainer(config);
    } catch (const nlohmann::json::exception&) {
        std::abort();  // past the door, a value of the wrong kind
    }
    return 0;
}
