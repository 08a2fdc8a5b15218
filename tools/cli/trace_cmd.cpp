// `zoograd trace MODEL`: one training step of a zoo model on tiny random data, under an
// OpTrace (engine/trace/op_trace.h): every recorded op and every backward function in order,
// a summary per op kind, and the step's autograd graph as Graphviz DOT (and SVG when `dot`
// is installed). docs/TRACE.md shows an example.
#include <omp.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "engine/ops.h"
#include "engine/trace/op_trace.h"
#include "nn/data/dataset.h"
#include "tools/cli/commands.h"
#include "zoo/registry.h"
#include "zoo/train/trainer.h"

extern char** environ;

namespace zg::tools {
namespace {

using zoo::Json;
using Phase = OpEvent::Phase;

// Numbers are read as text so that a typo gets an "error:" line like every other mistake.
struct TraceOptions {
    std::string model;
    std::string batch_size = "4", image_size, seed = "0", threads = "0", warmup = "1";
    std::string dot;
    bool summary_only = false;
};

int64_t integer_flag(const std::string& flag, const std::string& text, int64_t min) {
    const Json v = Json::parse(text, nullptr, false);
    ZG_CHECK(v.is_number_integer(), flag, ": expected an integer, got '", text, "'");
    ZG_CHECK(v.get<int64_t>() >= min, flag, " must be at least ", min, ", got ", text);
    return v.get<int64_t>();
}

// Random data of the shape the model takes: images in [-1, 1] with labels 0..9 in turn (so
// the semi-supervised models find a labelled example of every class), or ring8's 2-D points
// for a model without an image size (mlpgan).
std::shared_ptr<nn::TensorDataset> random_data(const Json& config, int64_t n, uint64_t seed) {
    if (!config.contains("image_size")) return nn::make_mixture("ring8", n, seed);
    const int64_t side = config.at("image_size");
    Rng gen(seed);
    std::vector<int32_t> labels(n);
    for (int64_t i = 0; i < n; ++i) labels[i] = int32_t(i % 10);
    return std::make_shared<nn::TensorDataset>(tanh(randn({n, 1, side, side}, &gen)),
                                               from_vector(labels, {n}), 10, "random");
}

// 1234 → "1.23k": FLOP counts to three significant digits.
std::string si(double v) {
    const char* units[] = {"", "k", "M", "G", "T"};
    int u = 0;
    while (v >= 1000 && u < 4) v /= 1000, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.3g%s" : "%.0f%s", v, units[u]);
    return buf;
}

const char* phase_name(Phase p) {
    return p == Phase::forward ? "forward" : "backward";
}

void print_events(const OpTrace& trace) {
    std::printf("%5s  %-8s  %-14s  %-20s  %8s  %9s\n", "#", "phase", "op", "output shape", "FLOPs",
                "ms");
    for (size_t i = 0; i < trace.events().size(); ++i) {
        const OpEvent& e = trace.events()[i];
        const TracedNode& n = trace.nodes()[e.node];
        const std::optional<double> f = trace.flops(e);
        std::printf("%5zu  %-8s  %-14s  %-20s  %8s  %9.4f", i, phase_name(e.phase), n.name.c_str(),
                    shape_str(n.out_shape).c_str(), f ? si(*f).c_str() : "-", e.ms);
        if (e.parent >= 0) std::printf("  (recorded by #%lld's backward)", (long long)e.parent);
        std::printf("\n");
    }
}

// Per (op, phase): calls, time, share of the step, GFLOP/s (when every call's count is
// known). Nested events (recorded by a backward function) are left out: their time is their
// parent's already.
void print_summary(const OpTrace& trace, double step_ms) {
    struct Kind {
        int64_t calls = 0;
        double ms = 0, flops = 0;
        bool flops_known = true;
    };
    std::map<std::pair<std::string, Phase>, Kind> kinds;
    double traced_ms = 0;
    for (const OpEvent& e : trace.events()) {
        if (e.parent >= 0) continue;
        Kind& k = kinds[{trace.nodes()[e.node].name, e.phase}];
        const std::optional<double> f = trace.flops(e);
        ++k.calls;
        k.ms += e.ms;
        k.flops += f.value_or(0);
        k.flops_known = k.flops_known && f.has_value();
        traced_ms += e.ms;
    }
    std::vector<std::pair<std::pair<std::string, Phase>, Kind>> rows(kinds.begin(), kinds.end());
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
    std::printf("\n%-14s  %-8s  %6s  %10s  %7s  %8s\n", "op", "phase", "calls", "total ms",
                "step %", "GFLOP/s");
    for (const auto& [key, k] : rows) {
        std::printf("%-14s  %-8s  %6lld  %10.3f  %6.1f%%", key.first.c_str(),
                    phase_name(key.second), (long long)k.calls, k.ms, 100 * k.ms / step_ms);
        if (k.flops_known && k.ms > 0)
            std::printf("  %8.3g\n", k.flops / 1e6 / k.ms);
        else
            std::printf("  %8s\n", "-");
    }
    std::printf(
        "step: %.3f ms wall, %.3f ms in the events above, %.3f ms in none (backward passes' "
        "bookkeeping and gradient sums into .grad; updates whose ops record no node, such as "
        "the optimizer steps)\n",
        step_ms, traced_ms, step_ms - traced_ms);
}

// Parameters named as the model's state dict names them, under "G." and "D.".
std::unordered_map<const TensorImpl*, std::string> parameter_names(zoo::Gan& gan) {
    std::unordered_map<const TensorImpl*, std::string> names;
    for (auto [prefix, net] : {std::pair{"G.", &gan.generator()}, {"D.", &gan.discriminator()}})
        for (const auto& [name, p] : net->named_parameters())
            names.emplace(p.impl_ptr().get(), prefix + name);
    return names;
}

// Runs `dot -Tsvg` on the DOT file; a missing graphviz is a note, not an error.
int write_svg(const std::string& dot_path) {
    const std::string svg = std::filesystem::path(dot_path).replace_extension(".svg").string();
    std::vector<std::string> args = {"dot", "-Tsvg", "-o", svg, dot_path};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int err = posix_spawnp(&pid, "dot", nullptr, nullptr, argv.data(), environ);
    if (err == ENOENT) {
        std::printf("no SVG: graphviz's `dot` is not on PATH (apt-get install graphviz)\n");
        return 0;
    }
    ZG_CHECK(err == 0, "trace: could not run dot: ", std::strerror(err));
    int status = 0;
    waitpid(pid, &status, 0);
    ZG_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "trace: `dot -Tsvg -o ", svg, " ",
             dot_path, "` failed");
    std::printf("SVG: %s\n", svg.c_str());
    return 0;
}

int run_trace(const TraceOptions& o) {
    ZG_CHECK(!o.model.empty(),
             "trace: name a model, e.g. 'zoograd trace dcgan' (see 'zoograd models')");
    const int64_t batch = integer_flag("--batch-size", o.batch_size, 1);
    const int64_t seed = integer_flag("--seed", o.seed, 0);
    const int64_t threads = integer_flag("--threads", o.threads, 0);
    const int64_t warmup = integer_flag("--warmup", o.warmup, 0);
    if (threads > 0) omp_set_num_threads((int)threads);
    const zoo::ModelInfo& info = zoo::find_model(o.model);
    Json config = zoo::default_config(o.model);
    config["batch_size"] = batch;
    config["seed"] = seed;
    if (!o.image_size.empty()) {
        ZG_CHECK(config.contains("image_size"), "trace: model '", o.model,
                 "' takes no --image-size (it trains on 2-D points)");
        config["image_size"] = integer_flag("--image-size", o.image_size, 1);
    }
    // One labelled example per class, so the semi-supervised models need only ten examples.
    if (config.contains("labels")) config["labels"] = 10;

    const std::shared_ptr<nn::TensorDataset> data =
        random_data(config, std::max<int64_t>(batch, 10), seed + 1);
    std::unique_ptr<zoo::Gan> gan = info.build(config, *data);
    // Open the DOT file before any step runs, so a bad path fails fast.
    const std::string dot_path = o.dot.empty() ? "trace-" + o.model + ".dot" : o.dot;
    std::ofstream dot(dot_path);
    ZG_CHECK(dot, "trace: cannot write the DOT file '", dot_path, "': ", std::strerror(errno));
    std::vector<int64_t> idx(batch);
    std::iota(idx.begin(), idx.end(), 0);
    const nn::Batch real = data->get(idx);
    gan->set_batch_source([real] { return real; });  // --n-critic > 1 takes more batches
    Rng rng(seed + 2);
    for (int64_t i = 0; i < warmup; ++i) gan->train_step(real, rng);

    OpTrace trace;
    const auto t0 = std::chrono::steady_clock::now();
    gan->train_step(real, rng);
    const double step_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    int64_t forward = 0, backward = 0, backward_nodes = 0;
    for (const OpEvent& e : trace.events()) (e.phase == Phase::forward ? forward : backward)++;
    // A graph kept with retain_graph can run a node's backward more than once.
    for (const TracedNode& n : trace.nodes()) backward_nodes += n.backward_ran;
    std::printf(
        "zoograd trace %s: one training step, batch %lld, %s %s, %d OpenMP thread(s), after %lld "
        "untraced warm-up step(s)\n",
        o.model.c_str(), (long long)batch, data->name().c_str(),
        shape_str(data->example_shape()).c_str(), omp_get_max_threads(), (long long)warmup);
    if (!o.summary_only) print_events(trace);
    print_summary(trace, step_ms);
    std::printf(
        "%lld forward ops recorded (graph nodes), %lld backward functions ran (on %lld "
        "nodes)\n",
        (long long)forward, (long long)backward, (long long)backward_nodes);

    trace.write_dot(dot, parameter_names(*gan));
    dot.close();
    ZG_CHECK(dot, "trace: writing the DOT file '", dot_path, "' failed");
    std::printf("DOT: %s\n", dot_path.c_str());
    return write_svg(dot_path);
}

}  // namespace

Command add_trace_command(CLI::App& app) {
    auto o = std::make_shared<TraceOptions>();
    auto* cmd = app.add_subcommand(
        "trace",
        "Trace one training step of a zoo model on tiny random data: every op and backward "
        "function with shapes, FLOPs and times, a summary per op kind, and the autograd graph "
        "as Graphviz DOT/SVG");
    add_device_flag(cmd);
    cmd->add_option("model", o->model, "Model (see 'zoograd models')");
    auto integer = [cmd](const char* flag, std::string& value, const char* help) {
        return cmd->add_option(flag, value, help)->type_name("INT");
    };
    integer("--batch-size", o->batch_size, "Examples per step")->capture_default_str();
    integer("--image-size", o->image_size,
            "Image side for the image models (default: the model's own; dcgan takes 32 or 64, "
            "sgan and improved_gan 28)");
    integer("--seed", o->seed, "Seed of the weights, the random data and the step")
        ->capture_default_str();
    integer("--threads", o->threads, "OpenMP threads (0: all cores)")->capture_default_str();
    integer("--warmup", o->warmup,
            "Untraced steps first, so the traced one does not pay for first-use costs "
            "(allocator cache, BLAS threads)")
        ->capture_default_str();
    cmd->add_option("--dot", o->dot, "Where to write the graph (default: trace-MODEL.dot here)")
        ->type_name("PATH");
    cmd->add_flag("--summary-only", o->summary_only, "Print only the summary, not every op");
    cmd->footer(R"(What it prints
  One line per event, in the order they happened: '#' its number; 'phase' forward (an op
  recorded a graph node) or backward (a node's backward function ran); a forward line ending
  in "recorded by #N's backward" is an op that backward function #N recorded (create_graph,
  gradient penalties); the op; its output shape; FLOPs where the op kind has a known count
  (matmul, which carries the convolutions' arithmetic, and add/sub/mul/div/affine), '-' where
  not; 'ms' its time.
  Then per op and phase: calls, their total time, its share of the step's wall time, and
  GFLOP/s when every call's count is known.
Times
  A backward event is the wall time of the backward function itself. A forward op is seen
  only after its kernel ran, so its time is the wall time since the previous op passed through
  autograd on this thread (or since a backward function or pass ended): its kernel plus any
  untraced work in between (random draws, in-place updates, the model's own code).
Graph
  Boxes are recorded ops (#event, name, output shape; filled when their backward ran),
  ellipses the leaves (parameters as G.<name> / D.<name>, other inputs needing a gradient),
  arrows the autograd edges from input to op. With graphviz's `dot` on PATH an SVG is written
  beside the DOT file; open it in a browser. docs/TRACE.md has an example.)");
    return [o] { return run_trace(*o); };
}

}  // namespace zg::tools
