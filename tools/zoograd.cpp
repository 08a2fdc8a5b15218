// The zoograd command line. Subcommands grow with the zoo; today `demo` and `info`.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "engine/error.h"
#include "tools/demo.h"

int main(int argc, char** argv) {
    CLI::App app{"zoograd: a from-scratch autodiff engine and a zoo of GANs"};
    app.require_subcommand(1);

    zg::tools::DemoOptions demo;
    auto* demo_cmd = app.add_subcommand(
        "demo", "Train a small MLP on the two-spirals problem with the engine (a quick check "
                "that autograd, the kernels and training work end to end)");
    demo_cmd->add_option("--steps", demo.steps, "Training steps")->capture_default_str()
        ->check(CLI::PositiveNumber);
    demo_cmd->add_option("--seed", demo.seed, "Seed of the project RNG (data and weights)")
        ->capture_default_str();
    demo_cmd->add_option("--threads", demo.threads, "OpenMP threads (0: all cores)")
        ->capture_default_str()->check(CLI::NonNegativeNumber);

    auto* info_cmd = app.add_subcommand("info", "Print the build and runtime configuration");

    CLI11_PARSE(app, argc, argv);
    try {
        if (*demo_cmd) return zg::tools::run_spiral_demo(demo);
        if (*info_cmd) {
            std::printf("zoograd 0.1.0\nOpenMP threads: %d\n", omp_get_max_threads());
            return 0;
        }
    } catch (const zg::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
