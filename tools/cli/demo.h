#pragma once

namespace zg::tools {

struct DemoOptions {
    int steps = 2000;
    int threads = 0;  // 0: OpenMP's default
    unsigned long long seed = 0;
};

// Trains a small MLP classifier on the two-spirals problem with the engine alone and prints its
// progress; returns the process exit code.
int run_spiral_demo(const DemoOptions& o);

}  // namespace zg::tools
