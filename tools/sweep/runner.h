#pragma once
// Running a sweep: every candidate × seed as a child `zoograd train` process (so nothing
// process-global is shared), `jobs` at a time with `threads` threads each, then scored by a
// child `zoograd eval`; one line per finished run in DIR/results.jsonl. A run already there is
// kept, so --resume trains only what is missing, and a run cut short continues with `train
// --resume`. Ctrl-C reaches the children (each saves a checkpoint); the sweep waits for them
// and says how to resume.
#include <cstdint>
#include <string>
#include <vector>

#include "tools/sweep/grid.h"

namespace zg::tools {

struct SweepOptions {
    std::string data, data_root, out;
    int64_t budget_steps = 500;  // training steps per run
    double budget_minutes = 0;   // > 0: training minutes per run instead (train --minutes)
    int64_t seeds = 1;           // runs per candidate, seeds 1..seeds
    int64_t jobs = 1;            // children at once
    int64_t threads = 1;         // OpenMP threads of each child
    int64_t eval_n = 2000;       // samples each run is scored on
};

// The runs' directories: DIR/runs/LABEL-sSEED (logs beside them as .log, scores as .eval.json).
std::string run_dir(const SweepOptions& o, const Candidate& c, int64_t seed);

// Trains and scores what results.jsonl does not hold yet. Returns 0, or 130 when interrupted.
int run_sweep(const std::vector<Candidate>& candidates, const SweepOptions& o);

}  // namespace zg::tools
