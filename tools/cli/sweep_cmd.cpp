// `zoograd sweep`: GAN selection over a grid of train flags (tools/sweep/: the grid, the runner,
// the ranked table; docs/SELECTION.md). The sweep's own settings are kept in DIR/sweep.json, so
// `--resume DIR` continues exactly that sweep.
#include <filesystem>
#include <fstream>

#include "engine/io/atomic_file.h"
#include "tools/cli/commands.h"
#include "tools/sweep/grid.h"
#include "tools/sweep/ranking.h"
#include "tools/sweep/runner.h"

namespace zg::tools {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

namespace {

struct SweepFlags {
    SweepOptions o;
    std::string grid, resume;
    int64_t random = 0;
};

OrderedJson settings_of(const SweepOptions& o, const OrderedJson& grid, int64_t random) {
    return {{"grid", grid},
            {"random", random},
            {"data", o.data},
            {"data_root", o.data_root},
            {"budget_steps", o.budget_steps},
            {"budget_minutes", o.budget_minutes},
            {"seeds", o.seeds},
            {"jobs", o.jobs},
            {"threads", o.threads},
            {"n", o.eval_n}};
}

// A sweep continued: its sweep.json, with only --seeds (more runs per candidate), --jobs and
// --threads taken from the command line.
OrderedJson resumed_settings(const SweepFlags& f, const CLI::App& cmd) {
    const std::string path = f.resume + "/sweep.json";
    std::ifstream in(path);
    ZG_CHECK(in.good(), f.resume, ": no sweep.json, so no sweep to resume there");
    OrderedJson s = OrderedJson::parse(in, nullptr, false);
    ZG_CHECK(!s.is_discarded() && s.is_object() && s.contains("grid"), path,
             ": not a sweep's settings (edited by hand?); start a new sweep with --grid");
    for (const char* flag : {"--grid", "--data", "--data-root", "--budget-steps",
                             "--budget-minutes", "--n", "--random"})
        ZG_CHECK(cmd.count(flag) == 0, flag, " cannot change when a sweep resumes (its ",
                 "settings are in ", path, "); start a new sweep for other ones");
    if (cmd.count("--seeds")) s["seeds"] = f.o.seeds;
    if (cmd.count("--jobs")) s["jobs"] = f.o.jobs;
    if (cmd.count("--threads")) s["threads"] = f.o.threads;
    return s;
}

SweepOptions options_of(const OrderedJson& s, const std::string& dir) {
    SweepOptions o;
    try {
        o.data = s.at("data");
        o.data_root = s.at("data_root");
        o.budget_steps = s.at("budget_steps");
        o.budget_minutes = s.value("budget_minutes", 0.0);
        o.seeds = s.at("seeds");
        o.jobs = s.at("jobs");
        o.threads = s.at("threads");
        o.eval_n = s.at("n");
    } catch (const nlohmann::json::exception& e) {
        throw Error(dir + "/sweep.json: " + e.what() + " (edited by hand?)");
    }
    o.out = dir;
    return o;
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "sweep",
        "Select a GAN for a data set: train every combination of a grid of train flags (each a "
        "child 'zoograd train'), score each with 'zoograd eval', and rank them "
        "(docs/SELECTION.md)");
    auto f = std::make_shared<SweepFlags>();
    cmd->add_option("--grid", f->grid,
                    "JSON file of axes, each a list of train flag sets; \"arch\" names the model, "
                    "a bare value in another axis is that axis's flag: {\"arch\": [\"dcgan\", "
                    "\"dcgan --norm-d layer\"], \"loss\": [\"ns\", \"wgan-gp\"], \"reg\": "
                    "[\"none\", \"gp\"]}");
    cmd->add_option("--data", f->o.data, "Data set of every run (as 'zoograd train --data')");
    cmd->add_option("--data-root", f->o.data_root, data_root_help);
    auto* steps = cmd->add_option("--budget-steps", f->o.budget_steps,
                                  "Training steps of each run (a candidate with its own "
                                  "--total-kimg, as ProGAN needs, keeps that length)")
                      ->capture_default_str()
                      ->check(positive());
    cmd->add_option("--budget-minutes", f->o.budget_minutes,
                    "Instead of --budget-steps: training minutes of each run (train --minutes; "
                    "the steps reached are in each run's config.json)")
        ->check(positive())
        ->excludes(steps);
    cmd->add_option("--random", f->random,
                    "Random search: this many hyper-parameter settings per candidate, after "
                    "Lucic et al. 2018 (--lr log-uniform in [1e-5, 1e-2], --beta1 in [0, 0.9], "
                    "--n-critic 1 or 5, --reg-weight log-uniform in [0.1, 100] where there is a "
                    "penalty); 0: the grid alone")
        ->capture_default_str()
        ->check(CLI::Range(0, 1000));
    cmd->add_option("--seeds", f->o.seeds, "Runs per candidate, with seeds 1 to this")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    cmd->add_option("--jobs", f->o.jobs, "Runs trained at once, each a child process")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    cmd->add_option("--threads", f->o.threads, "OpenMP threads of each run")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--n", f->o.eval_n, "Samples each run is scored on by 'zoograd eval'")
        ->capture_default_str()
        ->check(positive());
    cmd->add_option("--out", f->o.out,
                    "Sweep directory (default runs/sweep-DATA-YYYYmmdd-HHMMSS): runs/, "
                    "results.jsonl, results.md, results.csv, report.html, sweep.json");
    cmd->add_option("--resume", f->resume,
                    "Continue the sweep in this directory: trains and scores only the runs "
                    "results.jsonl does not hold (--seeds, --jobs and --threads may change)");
    add_device_flag(cmd);
    return [f, cmd]() -> int {
        OrderedJson settings;
        std::string dir;
        if (!f->resume.empty()) {
            ZG_CHECK(f->o.out.empty(), "--out cannot be combined with --resume");
            settings = resumed_settings(*f, *cmd);
            dir = f->resume;
        } else {
            ZG_CHECK(!f->grid.empty(), "a new sweep needs --grid FILE.json (or --resume DIR)");
            ZG_CHECK(!f->o.data.empty(), "a new sweep needs --data (the data set of every run)");
            dir = f->o.out.empty() ? default_run_dir("sweep", f->o.data) : f->o.out;
            ZG_CHECK(!fs::exists(dir + "/sweep.json"), dir,
                     " already holds a sweep; continue it with --resume ", dir,
                     " or choose another --out");
            settings = settings_of(f->o, read_grid_file(f->grid), f->random);
        }
        std::vector<Candidate> candidates = expand_grid(settings.at("grid"), dir + "/sweep.json");
        const int64_t random = settings.value("random", 0);
        if (random > 0) candidates = with_random_search(candidates, random, 0);
        const SweepOptions o = options_of(settings, dir);
        fs::create_directories(dir);
        write_file_atomically(dir + "/sweep.json", {settings.dump(2) + "\n"});
        return run_sweep(candidates, o);
    };
}

}  // namespace zg::tools
