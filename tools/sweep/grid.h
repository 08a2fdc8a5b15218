#pragma once
// A sweep's grid (docs/SELECTION.md): per axis, a list of values, each a set of `zoograd train`
// flags; the candidates are every combination, so each is exactly a train command a user can
// run alone. The axis "arch" names the model first ("dcgan --norm-d layer"); in any other axis a
// value that does not start with "--" is that axis's own flag ("loss": ["ns", "wgan-gp"] is
// --loss ns, --loss wgan-gp), and "" adds nothing.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zg::tools {

struct Candidate {
    std::string label;              // "c02-loss_wgan-gp": an index and the values that vary
    std::string model;              // from the arch axis
    std::vector<std::string> args;  // the train flags of every axis, in the grid's order
    nlohmann::json axes;            // per axis, this candidate's value as the grid spells it
};

// The candidates of a grid object; `what` names it in errors (the file).
std::vector<Candidate> expand_grid(const nlohmann::ordered_json& grid, const std::string& what);
// A grid file read and expanded; a missing or malformed file is a zg::Error naming it.
nlohmann::ordered_json read_grid_file(const std::string& path);

// Random search after Lucic et al. 2018: `draws` settings per candidate, each the candidate
// with --lr (log-uniform in [1e-5, 1e-2]), --beta1 (uniform in [0, 0.9]), --n-critic (1 or 5)
// and, where it has a penalty (--reg other than none, or --loss wgan-gp), --reg-weight
// (log-uniform in [0.1, 100]) appended, so they win over the grid's own values. Labelled
// LABEL-rK; drawn from the project RNG with `seed`, so a sweep draws the same settings again.
std::vector<Candidate> with_random_search(const std::vector<Candidate>& candidates, int64_t draws,
                                          uint64_t seed);

// Whitespace-separated words ("--lr 1e-3" → {"--lr", "1e-3"}).
std::vector<std::string> split_words(const std::string& text);

}  // namespace zg::tools
