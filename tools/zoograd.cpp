// The zoograd command line. Subcommands grow with the zoo; today: `info` and `demo`.
#include <CLI/CLI.hpp>
#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"zoograd: a from-scratch autodiff engine and a zoo of GANs"};
    app.require_subcommand(1);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
