#pragma once
// The help of `zoograd train MODEL --help` and the listing of `zoograd models`: only the flags
// a model takes, with its own defaults and their types, in groups (run and data, the loss and
// optimizer, the ganhacks switches, evaluation and logging, the model's own). The descriptions
// are the train command's own option descriptions, so the two cannot disagree.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace zg::tools {

// The help for MODEL, from the `train` subcommand's options.
std::string model_help(const CLI::App& train, const std::string& model);

// What `zoograd models` prints: every trainable model (the feature classifier included) with
// its description and its own flags.
std::string models_listing(const CLI::App& train);

// The model whose help `args` (argv without the program name) asks for: `train MODEL ...
// --help` (or -h); nothing for any other command line.
std::optional<std::string> model_help_request(const std::vector<std::string>& args);

}  // namespace zg::tools
