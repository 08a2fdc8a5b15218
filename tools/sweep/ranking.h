#pragma once
// The ranked table of a sweep, from DIR/results.jsonl (tools/sweep/runner.h): per candidate the
// median over seeds of its quality (FID on image data, lower is better; the high-quality
// fraction × modes covered on the 2-D mixtures, higher is better) with a bootstrap interval,
// its diversity (recall, or modes covered), its stability (the share of runs that diverged, the
// spread of FID over seeds, health warnings per thousand steps) and its cost (CPU seconds per
// step, peak memory), ranked by quality, with the Pareto front over the four marked. Candidates
// with no scored run rank last; those the train command refused are listed with the reason.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zg::tools {

// One candidate's runs, summed up. Quality is FID on image data (lower is better) or the
// high-quality fraction × modes covered on the mixtures (higher is better).
struct RankedCandidate {
    std::string candidate, flags, reason;  // reason: why its last unscored run ended
    nlohmann::json axes;                   // its value on each axis of the grid
    int runs = 0, ok = 0, diverged = 0, skipped = 0;
    std::vector<double> quality, diversity, cost, memory, warnings, kid;  // per scored run
    double q = NAN, q_lo = NAN, q_hi = NAN;  // the median quality and its bootstrap interval
    double div = NAN, spread = NAN, unstable = NAN, cpu = NAN;
    bool front = false;  // on the Pareto front of quality, diversity, stability and cost
};

struct Ranking {
    bool images = true;                    // FID (image data) or the mixtures' score
    std::vector<RankedCandidate> ranked;   // best first; those never scored last
    std::vector<RankedCandidate> refused;  // every run refused by `zoograd train`
};

Ranking rank_results(const std::string& dir);
// Writes DIR/results.md and DIR/results.csv (both replaced atomically).
void write_ranking(const std::string& dir, const Ranking& ranking);

}  // namespace zg::tools
