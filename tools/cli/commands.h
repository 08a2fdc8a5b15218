#pragma once
// The zoograd subcommands (each in its own file) register themselves on the CLI11 app and
// return a function that runs them after parsing.
#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>

namespace zg::tools {

using Command = std::function<int()>;
Command add_train_command(CLI::App& app);
Command add_sample_command(CLI::App& app);
Command add_interp_command(CLI::App& app);
Command add_models_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_trace_command(CLI::App& app);
// `train classifier`: the train command's given flags (keys with '_', plus "out").
int train_classifier_command(const std::map<std::string, std::string>& flags);

}  // namespace zg::tools
