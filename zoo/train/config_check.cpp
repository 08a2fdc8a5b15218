#include "zoo/train/config_check.h"

#include <algorithm>

#include "zoo/registry.h"
#include "zoo/train/flag.h"
#include "zoo/train/trainer.h"

namespace zg::zoo {

Json checked_value(const JsonReader& value, const Json& def, const std::string& key) {
    const std::string flag = " (" + flag_of(key) + ")";
    if (def.is_boolean()) {
        if (!value.value().is_boolean()) value.refuse("true or false" + flag);
        return value.value();
    }
    if (key.ends_with("seed")) {
        const bool count =
            value.value().is_number_unsigned() || (value.is_integer() && value.as_integer() >= 0);
        if (!count) value.refuse("a non-negative integer" + flag);
        return value.as_count();
    }
    if (def.is_number_integer()) {  // unsigned defaults too
        if (!value.is_integer()) value.refuse("an integer" + flag);
        return value.as_integer();
    }
    if (def.is_number()) {
        if (!value.value().is_number()) value.refuse("a number" + flag);
        return value.as_number();
    }
    if (key == "sample_every") {  // a number of steps, or auto
        if (value.is_integer()) return value.as_integer();
        if (value.value() != "auto") value.refuse("an integer or \"auto\"" + flag);
        return value.value();
    }
    if (!value.value().is_string()) value.refuse("text" + flag);
    return value.value();
}

Json checked_run_config(const Json& config, const std::string& source) {
    const JsonReader top(config, source);
    top.object();
    const JsonReader model = top.at("model");
    const std::string name = model.as_text();
    const auto& all = models();
    if (std::none_of(all.begin(), all.end(), [&](const ModelInfo& m) { return m.name == name; }))
        model.refuse("the name of a zoo model ('zoograd models' lists them)");
    Json checked = config;
    // A run saved before a model gained an option has it at the option's current default.
    const Json defaults = default_config(name);
    for (auto& [key, def] : defaults.items())
        checked[key] = config.contains(key) ? checked_value(top.at(key), def, key) : def;
    for (const char* key : {"channels", "image_size"})  // G is rebuilt from them
        if (top.has(key) && top.integer(key) <= 0) top.at(key).refuse("a positive integer");
    if (top.has("num_classes") && top.integer("num_classes") < 0)
        top.at("num_classes").refuse("a number of classes (0 for unlabelled data)");
    return checked;
}

Json checkpoint_config(const nn::Checkpoint& ck, const std::string& path) {
    ZG_CHECK(ck.has_json("config"), path,
             ": not a zoograd training checkpoint (its metadata has no 'json/config')");
    const std::string source = path + ": metadata 'json/config'";
    const Json& config = ck.json("config");
    JsonReader(config, source).integer("channels");  // required: G is rebuilt from it
    return checked_run_config(config, source);
}

}  // namespace zg::zoo
