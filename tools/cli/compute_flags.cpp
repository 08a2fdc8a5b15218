// --threads and --device, the flags of every command that computes (commands.h).
#include <omp.h>

#include "tools/cli/commands.h"

namespace zg::tools {

void add_threads_flag(CLI::App* cmd) {
    // Applied while parsing, before the command runs.
    cmd->add_option_function<int>(
           "--threads",
           [](int n) {
               if (n > 0) omp_set_num_threads(n);
           },
           "OpenMP threads (0: all cores)")
        ->check(non_negative());
}

void add_device_flag(CLI::App* cmd) {
    // cpu is the one device so far; the check refuses others with the list of choices.
    cmd->add_option_function<std::string>(
           "--device", [](const std::string&) {},
           "Where to compute: cpu (the one backend so far; an OpenCL backend is planned)")
        ->check(CLI::IsMember({"cpu"}));
}

}  // namespace zg::tools
