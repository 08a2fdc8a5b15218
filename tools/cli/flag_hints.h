#pragma once
// Hints for flags the command line does not know, checked before CLI11 parses: a typo gets the
// nearest flag of its command ("unknown flag --stpes; did you mean --steps?"), and the names
// pytorch/examples' dcgan uses (--niter, --manualSeed, --dataroot, --outf, --workers, --cuda,
// ...) get a pointer to ours. CLI11 alone would say "The following arguments were not
// expected: 300 --stpes".
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace zg::tools {

// The error for the first --flag in `args` (argv without the program name) that the command
// it belongs to does not take, or nothing when every --flag is known. The command is found by
// following the leading subcommand names (`bench dcgan --steps`); a command's flags include its
// parents'.
std::optional<std::string> unknown_flag_error(const CLI::App& app,
                                              const std::vector<std::string>& args);

// The edit distance of a and b counting a swap of neighbours as one edit (optimal string
// alignment), so "stpes" is 1 from "steps".
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace zg::tools
