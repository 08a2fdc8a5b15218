#pragma once
// The zoograd subcommands (each in its own file) register themselves on the CLI11 app and
// return a function that runs them after parsing.
#include <CLI/CLI.hpp>
#include <functional>

namespace zg::tools {

using Command = std::function<int()>;
Command add_train_command(CLI::App& app);
Command add_sample_command(CLI::App& app);
Command add_interp_command(CLI::App& app);
Command add_models_command(CLI::App& app);

}  // namespace zg::tools
