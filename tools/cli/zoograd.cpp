// The zoograd command line: train, sample, interp, models, bench, eval, trace, demo, info.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "tools/cli/commands.h"
#include "tools/cli/demo.h"
#include "tools/cli/flag_hints.h"
#include "tools/cli/train_help.h"

// The one `error:` line for whatever a command threw: zoograd's own errors and file-system
// errors as they are; a JSON value of the wrong type, or missing, from a config.json or a
// checkpoint edited by hand; memory exhausted; anything else as an unexpected failure. Never
// an abort.
static int report_failure(std::exception_ptr failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const zg::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    } catch (const std::filesystem::filesystem_error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr,
                     "error: a JSON value is missing or has the wrong type (%s); the usual cause "
                     "is a run's config.json or a checkpoint edited by hand: restore it\n",
                     e.what());
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr,
                     "error: out of memory; lower --batch-size, --n or --rows, or free memory\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr,
                     "error: %s (an unexpected failure: please report it with the command line)\n",
                     e.what());
    } catch (...) {
        std::fprintf(stderr,
                     "error: an unexpected failure (please report it with the command "
                     "line)\n");
    }
    return 1;
}

int main(int argc, char** argv) {
    CLI::App app{"zoograd: a from-scratch autodiff engine and a zoo of GANs"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Show the help of every subcommand");
    app.set_version_flag("--version", "zoograd " ZG_VERSION);

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
    add(zg::tools::add_sweep_command);

    zg::tools::DemoOptions demo;
    auto* demo_cmd = app.add_subcommand(
        "demo",
        "Train a small MLP on the two-spirals problem with the engine (a quick check "
        "that autograd, the kernels and training work end to end)");
    demo_cmd->add_option("--steps", demo.steps, "Training steps")
        ->capture_default_str()
        ->check(zg::tools::positive());
    demo_cmd->add_option("--seed", demo.seed, "Seed of the project RNG (data and weights)")
        ->capture_default_str();
    demo_cmd->add_option("--threads", demo.threads, "OpenMP threads (0: all cores)")
        ->capture_default_str()
        ->check(zg::tools::non_negative());
    commands.emplace_back(demo_cmd, [&demo] { return zg::tools::run_spiral_demo(demo); });

    auto* info_cmd = app.add_subcommand("info", "Print the build and runtime configuration");
    commands.emplace_back(info_cmd, [] {
        std::printf("zoograd " ZG_VERSION "\nOpenMP threads: %d\n", omp_get_max_threads());
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
    const std::vector<std::string> args(argv + 1, argv + argc);
    // A mistyped or pytorch/examples flag gets a hint instead of CLI11's "not expected".
    if (auto error = zg::tools::unknown_flag_error(app, args)) {
        std::fprintf(stderr, "error: %s\n", error->c_str());
        return 1;
    }
    try {
        // `train MODEL --help`: only the flags MODEL takes, with its own defaults.
        if (auto model = zg::tools::model_help_request(args)) {
            std::printf("%s", zg::tools::model_help(*app.get_subcommand("train"), *model).c_str());
            return 0;
        }
    } catch (...) {
        return report_failure(std::current_exception());
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {  // --help, --help-all and --version exit 0
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // A bad value is a user error like any other: one `error:` line and exit code 1, not
        // CLI11's own codes (105 for a value outside a set).
        std::fprintf(
            stderr, "error: %s (see 'zoograd %s --help')\n", e.what(),
            app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name().c_str());
        return 1;
    }
    try {
        for (auto& [cmd, run] : commands)
            if (*cmd) return run();
    } catch (...) {
        return report_failure(std::current_exception());
    }
    return 0;
}
