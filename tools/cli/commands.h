#pragma once
// The zoograd subcommands (each in its own file) register themselves on the CLI11 app and
// return a function that runs them after parsing.
#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>

namespace zg::tools {

using Command = std::function<int()>;
// The help of --data-root on every command that loads data (nn/data/data_root.h's search).
inline constexpr const char* data_root_help =
    "Folder that holds mnist/ and fashion/; not given: the first of $ZOOGRAD_DATA, ./data, the "
    "source tree's data/ (where 'make data' puts them) and ~/.local/share/zoograd that has the "
    "set";
// The flags of every command that computes: --threads N (OpenMP threads, set while parsing;
// 0: all cores) and --device (cpu, the one backend so far).
void add_threads_flag(CLI::App* cmd);
void add_device_flag(CLI::App* cmd);

// Checks of a number flag's value, named in --help as POSITIVE and NONNEGATIVE like CLI11's own,
// whose messages spell their range with some 300 digits ("Value 0 not in range 2.2250...").
const CLI::Validator& positive();
const CLI::Validator& non_negative();

// runs/KIND-DATA-YYYYmmdd-HHMMSS: where a run (KIND its model) or a sweep goes without --out.
std::string default_run_dir(const std::string& kind, const std::string& data);

Command add_train_command(CLI::App& app);
Command add_sample_command(CLI::App& app);
Command add_interp_command(CLI::App& app);
Command add_models_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_trace_command(CLI::App& app);
Command add_sweep_command(CLI::App& app);
// `train classifier`: the train command's given flags (keys with '_', plus "out").
int train_classifier_command(const std::map<std::string, std::string>& flags);

}  // namespace zg::tools
