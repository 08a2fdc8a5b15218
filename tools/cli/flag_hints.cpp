// Hints for unknown flags (flag_hints.h).
#include "tools/cli/flag_hints.h"

#include <algorithm>
#include <cstdint>
#include <map>

namespace zg::tools {
namespace {

// pytorch/examples' dcgan flags (main.py) that zoograd names differently or does not have.
const std::map<std::string, std::string>& pytorch_examples_flags() {
    static const std::map<std::string, std::string> m = {
        {"niter", "zoograd's is --epochs (or --steps for a number of batches)"},
        {"manualSeed", "zoograd's is --seed"},
        {"dataroot",
         "zoograd's are --data (a data set's name, or an image folder's path) and --data-root "
         "(the folder that holds mnist/ and fashion/)"},
        {"dataset", "zoograd's is --data (mnist, fashion, ring8, grid25 or an image folder)"},
        {"outf", "zoograd's is --out (the run directory)"},
        {"workers",
         "zoograd loads data in its own process, with no loader workers; --threads sets the "
         "threads that compute"},
        {"cuda", "zoograd computes on the CPU; --threads sets how many threads"},
        {"mps", "zoograd computes on the CPU; --threads sets how many threads"},
        {"ngpu", "zoograd computes on the CPU; --threads sets how many threads"},
        {"batchSize", "zoograd's is --batch-size"},
        {"imageSize", "zoograd's is --image-size"},
        {"netG",
         "zoograd continues a run with --resume RUN_DIR; `zoograd sample --weights FILE` draws "
         "from a netG's weights"},
        {"netD", "zoograd continues a run, D included, with --resume RUN_DIR"},
        {"dry-run", "zoograd's closest is --steps 1"},
    };
    return m;
}

// The command `args` runs (following subcommand names from the start) and the chain of its
// parents, innermost last.
std::vector<const CLI::App*> command_chain(const CLI::App& app,
                                           const std::vector<std::string>& args) {
    std::vector<const CLI::App*> chain{&app};
    for (const std::string& a : args) {
        if (a.starts_with("-")) break;
        auto subs =
            chain.back()->get_subcommands([&](const CLI::App* s) { return s->get_name() == a; });
        if (subs.empty()) break;
        chain.push_back(subs.front());
    }
    return chain;
}

std::string command_name(const std::vector<const CLI::App*>& chain) {
    std::string name = "zoograd";
    for (size_t i = 1; i < chain.size(); ++i) name += " " + chain[i]->get_name();
    return name;
}

}  // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t change = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + change});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

std::optional<std::string> unknown_flag_error(const CLI::App& app,
                                              const std::vector<std::string>& args) {
    const std::vector<const CLI::App*> chain = command_chain(app, args);
    std::vector<std::string> known;  // long names without the dashes
    for (const CLI::App* c : chain)
        for (const CLI::Option* o : c->get_options())
            for (const std::string& n : o->get_lnames()) known.push_back(n);
    for (const std::string& arg : args) {
        if (!arg.starts_with("--") || arg.size() == 2) continue;  // "--" ends the flags
        const std::string name = arg.substr(2, arg.find('=') - 2);
        if (std::find(known.begin(), known.end(), name) != known.end()) continue;
        const std::string cmd = command_name(chain);
        if (auto p = pytorch_examples_flags().find(name); p != pytorch_examples_flags().end())
            return "--" + name + " is a flag of pytorch/examples' dcgan, not of '" + cmd +
                   "': " + p->second + ". '" + cmd + " --help' lists the flags.";
        std::string best;
        size_t best_distance = SIZE_MAX;
        for (const std::string& k : known)
            if (const size_t dist = edit_distance(name, k); dist < best_distance)
                best = k, best_distance = dist;
        // Close enough to be the same word mistyped: one edit in a short name, two in a long.
        const bool close = best_distance <= (name.size() >= 6 ? 2u : 1u);
        return "unknown flag --" + name + " for '" + cmd + "'" +
               (close ? "; did you mean --" + best + "?" : "") + " ('" + cmd +
               " --help' lists the flags)";
    }
    return std::nullopt;
}

}  // namespace zg::tools
