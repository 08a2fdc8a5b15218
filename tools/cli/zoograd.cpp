// The zoograd command line: train, sample, interp, models, bench, eval, trace, demo, info.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "engine/error.h"
#include "tools/cli/commands.h"
#include "tools/cli/demo.h"

int main(int argc, char** argv) {
    CLI::App app{"zoograd: a from-scratch autodiff engine and a zoo of GANs"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Show the help of every subcommand");

    std::vector<std::pair<CLI::App*, zg::tools::Command>> commands;
    auto add = [&](zg::tools::Command (*f)(CLI::App&)) {
        size_t before = app.get_subcommands({}).size();
        zg::tools::Command run = f(app);
        commands.emplace_back(app.get_subcommands({})[before], run);
    };
    add(zg::tools::add_train_command);
    add(zg::tools::add_sample_command);
    add(zg::tools::add_interp_command);
    add(zg::tools::add_models_command);
    add(zg::tools::add_bench_command);
    add(zg::tools::add_eval_command);
    add(zg::tools::add_trace_command);

    zg::tools::DemoOptions demo;
    auto* demo_cmd = app.add_subcommand(
        "demo",
        "Train a small MLP on the two-spirals problem with the engine (a quick check "
        "that autograd, the kernels and training work end to end)");
    demo_cmd->add_option("--steps", demo.steps, "Training steps")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    demo_cmd->add_option("--seed", demo.seed, "Seed of the project RNG (data and weights)")
        ->capture_default_str();
    demo_cmd->add_option("--threads", demo.threads, "OpenMP threads (0: all cores)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    commands.emplace_back(demo_cmd, [&demo] { return zg::tools::run_spiral_demo(demo); });

    auto* info_cmd = app.add_subcommand("info", "Print the build and runtime configuration");
    commands.emplace_back(info_cmd, [] {
        std::printf("zoograd 0.1.0\nOpenMP threads: %d\n", omp_get_max_threads());
        return 0;
    });

    if (argc > 1 && argv[1][0] != '-') {  // name an unknown command instead of "required"
        bool known = false;
        std::string names;
        for (auto& [cmd, run] : commands) {
            known = known || cmd->get_name() == argv[1];
            names += (names.empty() ? "" : ", ") + cmd->get_name();
        }
        if (!known) {
            std::fprintf(stderr, "error: unknown command '%s'; commands: %s\n", argv[1],
                         names.c_str());
            return 1;
        }
    }
    CLI11_PARSE(app, argc, argv);
    try {
        for (auto& [cmd, run] : commands)
            if (*cmd) return run();
    } catch (const zg::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
