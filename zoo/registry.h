#pragma once
// The zoo's models by name: what `zoograd train MODEL` and `zoograd models` read. Adding a model
// is one folder zoo/models/<name>/ (its networks, its step and a <name>_model_info() that
// describes it) plus its line in zoo/registry.cpp.
#include "zoo/gan.h"

namespace zg::zoo {

struct ModelInfo {
    std::string name;
    std::string description;
    Json defaults;  // the model's own flags and their default values (number, string or bool)
    // Builds the model for a run's config (defaults merged with the user's flags) and data.
    std::function<std::unique_ptr<Gan>(const Json& config, const nn::Dataset& data)> build;
    // --help text of the model's own flags (the trainer's common flags have theirs already).
    std::map<std::string, std::string> help = {};
};

const std::vector<ModelInfo>& models();
// The model called `name`, or a zg::Error listing the known ones.
const ModelInfo& find_model(const std::string& name);

}  // namespace zg::zoo
