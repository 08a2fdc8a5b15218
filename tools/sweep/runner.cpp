#include "tools/sweep/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/error.h"
#include "tools/sweep/ranking.h"
#include "tools/sweep/sweep_report.h"

extern char** environ;

namespace zg::tools {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

volatile std::sig_atomic_t g_sweep_interrupted = 0;
void on_sweep_interrupt(int) {
    g_sweep_interrupted = 1;
}

// The binary running now, so the children are the same zoograd.
std::string self_path() {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    ZG_CHECK(n > 0, "sweep: cannot find its own binary (/proc/self/exe)");
    return std::string(buf, (size_t)n);
}

// Starts `args` with stdout to `out` (appended, or truncated) and stderr to `err` (appended).
pid_t spawn(const std::vector<std::string>& args, const std::string& out, bool truncate_out,
            const std::string& err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(
        &fa, 1, out.c_str(), O_WRONLY | O_CREAT | (truncate_out ? O_TRUNC : O_APPEND), 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ZG_CHECK(rc == 0, "sweep: cannot start ", args[0], " (", std::strerror(rc), ")");
    return pid;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

// The last "error: ..." line of a child's log (its text, and its path): why a run was refused
// or failed.
std::string last_error(const std::string& log, const std::string& path) {
    std::istringstream in(log);
    std::string line, found;
    while (std::getline(in, line))
        if (line.find("error: ") != std::string::npos)
            found = line.substr(line.find("error: ") + 7);
    return found.empty() ? "no error line (see " + path + ")" : found;
}

// How a run whose training exited with `code` (not 0) ended: refused before it trained (no
// config.json yet: an incompatible candidate), diverged, stopped by the health monitor, or
// failed otherwise.
const char* failed_status(const std::string& dir, const std::string& log, int code) {
    if (!fs::exists(dir + "/config.json")) return "skipped";
    if (log.find("training stopped") != std::string::npos ||
        log.find("the run diverged") != std::string::npos)
        return "diverged";
    return code == 3 ? "unhealthy" : "failed";
}

// The last logged step of a run directory, and its health warnings.
struct Logged {
    int64_t step = 0, warnings = 0;
};
Logged logged(const std::string& dir) {
    Logged l;
    std::ifstream in(dir + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        const Json j = Json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("step") || !j.at("step").is_number_integer()) continue;
        if (j.contains("warning"))
            ++l.warnings;
        else if (!j.contains("resumed"))
            l.step = std::max(l.step, j.at("step").get<int64_t>());
    }
    return l;
}

// One run of the sweep as it moves through training and scoring.
struct Job {
    const Candidate* candidate = nullptr;
    int64_t seed = 0;
    std::string dir;
    enum { training, scoring } phase = training;
    int64_t first_step = 0;  // where this session's training began (a resumed run's step)
    double cpu_s = 0;
    double peak_mb = 0;
};

bool has_flag(const std::vector<std::string>& args, const std::string& flag) {
    return std::find(args.begin(), args.end(), flag) != args.end();
}

// How long a run trains. A step budget is --steps, unless the candidate gives its own length in
// images (ProGAN's --total-kimg). A time budget is --minutes with a length the clock ends first
// (and that a resumed run keeps, its clock with it).
std::vector<std::string> length_args(const SweepOptions& o, const Candidate& c, bool resuming) {
    const bool own_length = has_flag(c.args, "--total-kimg");
    if (o.budget_minutes <= 0) {
        if (own_length) return {};
        return {"--steps", std::to_string(o.budget_steps)};
    }
    if (resuming) return {};
    std::vector<std::string> a = {"--minutes", std::to_string(o.budget_minutes)};
    if (own_length) return a;
    if (c.model == "progan")
        a.insert(a.end(), {"--total-kimg", "1000000"});
    else
        a.insert(a.end(), {"--steps", "1000000000"});
    return a;
}

std::vector<std::string> train_args(const SweepOptions& o, const std::string& zoograd,
                                    const Job& j) {
    const std::string threads = std::to_string(o.threads);
    const bool resuming = fs::exists(j.dir + "/config.json");
    std::vector<std::string> a = {zoograd, "train"};
    if (resuming) {
        a.insert(a.end(), {"--resume", j.dir});
    } else {
        a.push_back(j.candidate->model);
        a.insert(a.end(), j.candidate->args.begin(), j.candidate->args.end());
        a.insert(a.end(), {"--data", o.data, "--seed", std::to_string(j.seed), "--out", j.dir});
        if (!o.data_root.empty()) a.insert(a.end(), {"--data-root", o.data_root});
    }
    const std::vector<std::string> length = length_args(o, *j.candidate, resuming);
    a.insert(a.end(), length.begin(), length.end());
    a.insert(a.end(), {"--threads", threads});
    return a;
}

// The line results.jsonl gets for a run: what ran, how it ended, what it cost, its scores.
Json result_line(const Job& j, const std::string& status, const std::string& reason) {
    Json flags = Json::array();
    flags.push_back(j.candidate->model);
    for (const std::string& a : j.candidate->args) flags.push_back(a);
    const Logged l = logged(j.dir);
    Json r = {{"candidate", j.candidate->label},
              {"seed", j.seed},
              {"flags", flags},
              {"axes", j.candidate->axes},
              {"status", status},
              {"steps", l.step},
              {"dir", j.dir}};
    if (!reason.empty()) r["reason"] = reason;
    const int64_t trained = l.step - j.first_step;
    if (trained > 0) {
        r["cpu_s_per_step"] = j.cpu_s / (double)trained;
        r["peak_memory_mb"] = j.peak_mb;
        r["warnings_per_kstep"] = 1000.0 * (double)l.warnings / (double)l.step;
    }
    return r;
}

void append_line(const std::string& path, const Json& line) {
    std::ofstream out(path, std::ios::app);
    out << line.dump() << "\n" << std::flush;
    ZG_CHECK(out.good(), path,
             ": appending a result failed (is the disk full?); the runs "
             "themselves are kept: free some space, then --resume");
}

std::set<std::pair<std::string, int64_t>> finished_runs(const std::string& path) {
    std::set<std::pair<std::string, int64_t>> done;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        const Json j = Json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("candidate") && j.contains("seed"))
            done.insert({j.at("candidate").get<std::string>(), j.at("seed").get<int64_t>()});
    }
    return done;
}

}  // namespace

std::string run_dir(const SweepOptions& o, const Candidate& c, int64_t seed) {
    return o.out + "/runs/" + c.label + "-s" + std::to_string(seed);
}

int run_sweep(const std::vector<Candidate>& candidates, const SweepOptions& o) {
    const std::string zoograd = self_path();
    const std::string results = o.out + "/results.jsonl";
    fs::create_directories(o.out + "/runs");
    const auto done = finished_runs(results);
    std::vector<Job> pending;
    for (const Candidate& c : candidates)
        for (int64_t s = 1; s <= o.seeds; ++s)
            if (!done.count({c.label, s})) pending.push_back({&c, s, run_dir(o, c, s)});
    const size_t total = candidates.size() * (size_t)o.seeds;
    const std::string budget = o.budget_minutes > 0 ? std::to_string(o.budget_minutes) + " minutes"
                                                    : std::to_string(o.budget_steps) + " steps";
    std::printf(
        "sweep: %zu candidates × %lld seeds = %zu runs, %zu already done; %lld at a time, "
        "%lld threads each, %s per run\n",
        candidates.size(), (long long)o.seeds, total, total - pending.size(), (long long)o.jobs,
        (long long)o.threads, budget.c_str());
    std::fflush(stdout);

    // Without SA_RESTART, so a stop signal wakes the wait below: a signal sent to the sweep
    // alone (kill -INT) is passed on to the runs; Ctrl-C reaches them from the terminal anyway.
    g_sweep_interrupted = 0;
    struct sigaction stop {
    }, old_int{}, old_term{};
    stop.sa_handler = on_sweep_interrupt;
    sigemptyset(&stop.sa_mask);
    sigaction(SIGINT, &stop, &old_int);
    sigaction(SIGTERM, &stop, &old_term);
    std::map<pid_t, Job> running;
    size_t next = 0, finished = total - pending.size();
    bool forwarded = false;
    auto start = [&](Job j) {
        std::vector<std::string> args;
        if (j.phase == Job::training) {
            j.first_step = logged(j.dir).step;
            args = train_args(o, zoograd, j);
            running[spawn(args, j.dir + ".log", false, j.dir + ".log")] = j;
        } else {
            args = {zoograd,  "eval",      "--samples",
                    j.dir,    "--n",       std::to_string(o.eval_n),
                    "--json", "--threads", std::to_string(o.threads)};
            running[spawn(args, j.dir + ".eval.json.tmp", true, j.dir + ".log")] = j;
        }
    };
    while (!running.empty() || (next < pending.size() && !g_sweep_interrupted)) {
        while (!g_sweep_interrupted && next < pending.size() && (int64_t)running.size() < o.jobs)
            start(pending[next++]);
        int status = 0;
        struct rusage use {};
        const pid_t pid = wait4(-1, &status, 0, &use);
        if (pid < 0) {
            if (errno == EINTR) {
                if (g_sweep_interrupted && !forwarded) {  // a kill -INT of the sweep alone
                    for (auto& [child, job] : running) kill(child, SIGINT);
                    forwarded = true;
                }
                continue;
            }
            break;
        }
        auto it = running.find(pid);
        if (it == running.end()) continue;
        Job j = it->second;
        running.erase(it);
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code >= 128 || g_sweep_interrupted) continue;  // stopped: resumed next time
        Json line;
        if (j.phase == Job::training) {
            j.cpu_s = (double)use.ru_utime.tv_sec + use.ru_utime.tv_usec * 1e-6 +
                      (double)use.ru_stime.tv_sec + use.ru_stime.tv_usec * 1e-6;
            j.peak_mb = (double)use.ru_maxrss / 1024.0;
            if (code == 0) {
                j.phase = Job::scoring;
                start(j);
                continue;
            }
            const std::string log = read_text(j.dir + ".log");
            line = result_line(j, failed_status(j.dir, log, code), last_error(log, j.dir + ".log"));
        } else {
            line =
                result_line(j, code == 0 ? "ok" : "unscored",
                            code == 0 ? "" : last_error(read_text(j.dir + ".log"), j.dir + ".log"));
            if (code == 0) {
                const Json scores =
                    Json::parse(read_text(j.dir + ".eval.json.tmp"), nullptr, false);
                if (scores.is_object()) {
                    for (const char* k : {"fid", "kid", "precision", "recall", "coverage",
                                          "modes_covered", "high_quality"})
                        if (scores.contains(k)) line[k] = scores.at(k);
                    fs::rename(j.dir + ".eval.json.tmp", j.dir + ".eval.json");
                } else {
                    line["status"] = "unscored";
                    line["reason"] = "eval printed no JSON (see " + j.dir + ".log)";
                }
            }
        }
        append_line(results, line);
        ++finished;
        std::string said = line.at("status").get<std::string>();
        if (line.contains("fid")) said += ", FID " + line.at("fid").dump();
        if (line.contains("high_quality"))
            said += ", high quality " + line.at("high_quality").dump();
        if (line.contains("reason")) said += " (" + line.at("reason").get<std::string>() + ")";
        std::printf("sweep: %zu/%zu  %s seed %lld: %s\n", finished, total,
                    j.candidate->label.c_str(), (long long)j.seed, said.c_str());
        std::fflush(stdout);
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    const Ranking ranking = rank_results(o.out);
    write_ranking(o.out, ranking);
    write_sweep_report(o.out, ranking);
    if (g_sweep_interrupted) {
        std::printf(
            "sweep: interrupted; the runs in flight saved checkpoints. Continue with: "
            "zoograd sweep --resume %s\n",
            o.out.c_str());
        return 130;
    }
    std::printf(
        "sweep: done. Report: %s/report.html; ranked table: %s/results.md (and .csv); "
        "every run: %s\n",
        o.out.c_str(), o.out.c_str(), results.c_str());
    return 0;
}

}  // namespace zg::tools
