#pragma once
// The ranked table of a sweep, from DIR/results.jsonl (tools/sweep/runner.h): per candidate the
// median over seeds of its quality (FID on image data, lower is better; the high-quality
// fraction × modes covered on the 2-D mixtures, higher is better) with a bootstrap interval,
// its diversity (recall, or modes covered), its stability (the share of runs that diverged, the
// spread of FID over seeds, health warnings per thousand steps) and its cost (CPU seconds per
// step, peak memory), ranked by quality, with the Pareto front over the four marked. Candidates
// with no scored run rank last; those the train command refused are listed with the reason.
#include <string>

namespace zg::tools {

// Writes DIR/results.md and DIR/results.csv (both replaced atomically).
void write_ranking(const std::string& dir);

}  // namespace zg::tools
