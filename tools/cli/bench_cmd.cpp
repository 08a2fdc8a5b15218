// `zoograd bench dcgan|progan|sgemm|ops`: timings for `make bench`, which prints them beside
// the same work in PyTorch (tools/bench/torch_dcgan.py, torch_progan.py) and beside the
// machine's sgemm peak measured in the same run. Absolute times depend on the machine and its load;
// the ratios are the result.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>

#include "engine/backend/allocator.h"
#include "engine/backend/backend.h"
#include "engine/ops.h"
#include "nn/data/dataset.h"
#include "nn/layers/norm.h"
#include "nn/optim/optimizers.h"
#include "tools/cli/commands.h"
#include "zoo/eval/metrics.h"
#include "zoo/models/dcgan/networks.h"
#include "zoo/registry.h"
#include "zoo/train/trainer.h"

namespace zg::tools {
namespace {

using zoo::metrics::median;

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
    int threads = 0;
    bool json = false;
    // dcgan
    int steps = 20;
    int warmup = 3;
    int64_t batch_size = 64;
    int64_t image_size = 32;
    // progan
    int64_t resolution = 32;
    // sgemm
    int64_t size = 2048;
};

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of the whole process (all threads). On a loaded machine a 1-thread run's CPU time
// per step is a steadier measure of work than wall time, which counts time spent descheduled.
double cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// Peak resident set size of this process (Linux reports ru_maxrss in KiB).
int64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return (int64_t)u.ru_maxrss * 1024;
}

void print_json(const Json& j) {
    std::printf("%s\n", j.dump(2).c_str());
}

// Timings of `steps` calls of one training step after `warmup` untimed ones (which fill the
// allocator's cache), with the allocator's peak and its OS allocations over the timed part.
struct StepTimes {
    std::vector<double> wall_ms, cpu_ms;
    size_t peak_alloc_bytes = 0, os_allocations = 0;
};
StepTimes time_steps(const std::function<void()>& step, int warmup, int steps) {
    for (int i = 0; i < warmup; ++i) step();
    CachingAllocator& alloc = cpu_allocator();
    alloc.reset_peak();
    const size_t os_before = alloc.stats().os_allocations;
    StepTimes t;
    for (int i = 0; i < steps; ++i) {
        const auto t0 = Clock::now();
        const double c0 = cpu_ms();
        step();
        t.wall_ms.push_back(ms_since(t0));
        t.cpu_ms.push_back(cpu_ms() - c0);
    }
    const AllocatorStats st = alloc.stats();
    t.peak_alloc_bytes = st.peak_bytes;
    t.os_allocations = st.os_allocations - os_before;
    return t;
}

// A batch of n synthetic one-channel images in [-1, 1] (a step's cost does not depend on the
// pixel values) and the data set it comes from, which a model's builder checks shapes against.
struct SyntheticBatch {
    nn::TensorDataset data;
    nn::Batch batch;
};
SyntheticBatch synthetic_batch(int64_t n, int64_t side) {
    Rng gen(1);
    SyntheticBatch s{
        nn::TensorDataset(tanh(randn({n, 1, side, side}, &gen)), Tensor(), 0, "synthetic"), {}};
    std::vector<int64_t> idx(n);
    for (int64_t i = 0; i < n; ++i) idx[i] = i;
    s.batch = s.data.get(idx);
    return s;
}

// Multiply-accumulates of one forward pass of each DCGAN network (every layer is a 4×4
// convolution, so a layer costs N · out_channels · out_pixels · in_channels · 16 MACs; for a
// transposed convolution the "output" of that count is its input).
struct DcganMacs {
    std::vector<double> g, d;  // per layer, in order
};
DcganMacs dcgan_macs(const zoo::DcganConfig& c, int64_t n) {
    const int64_t blocks = c.image_size == 64 ? 3 : 2;
    DcganMacs m;
    int64_t width = c.ngf << blocks, side = 4;     // G: z → width at 4×4, then doubling
    m.g.push_back(double(n) * c.nz * width * 16);  // a 1×1 input
    for (int64_t b = 0; b < blocks; ++b, width /= 2, side *= 2)
        m.g.push_back(double(n) * width * side * side * (width / 2) * 16);
    m.g.push_back(double(n) * width * side * side * c.channels * 16);
    width = c.ndf, side = c.image_size / 2;  // D: channels → ndf at S/2, then halving
    m.d.push_back(double(n) * width * side * side * c.channels * 16);
    for (int64_t b = 0; b < blocks; ++b, width *= 2, side /= 2)
        m.d.push_back(double(n) * (width * 2) * (side / 2) * (side / 2) * width * 16);
    m.d.push_back(double(n) * 1 * 1 * width * 16);
    return m;
}

// The floating-point work of one training step as PyTorch executes it (docs/BENCHMARKS.md):
// D runs forward three times (real, fake, fake for G's loss) and backward three times, each
// backward computing weight gradients (one forward's MACs) and input gradients (another),
// except the first layer's input gradient for the real and the detached fake batch; G runs
// forward once and backward once, without the gradient of z. Two flops per MAC.
double dcgan_step_flops(const zoo::DcganConfig& c, int64_t n) {
    const DcganMacs m = dcgan_macs(c, n);
    double g = 0, d = 0;
    for (double v : m.g) g += v;
    for (double v : m.d) d += v;
    return 2 * (9 * d - 2 * m.d.front() + 3 * g - m.g.front());
}

int run_dcgan(const BenchOptions& o) {
    ZG_CHECK(o.image_size == 32 || o.image_size == 64,
             "bench dcgan: --image-size must be 32 or 64, got ", o.image_size);
    const zoo::ModelInfo& info = zoo::find_model("dcgan");
    Json config = info.defaults;
    config["image_size"] = o.image_size;
    config["batch_size"] = o.batch_size;
    config["seed"] = 0;
    const SyntheticBatch s = synthetic_batch(o.batch_size, o.image_size);
    const nn::Batch& batch = s.batch;
    std::unique_ptr<zoo::Gan> gan = info.build(config, s.data);
    Rng rng(2);

    const StepTimes t = time_steps([&] { gan->train_step(batch, rng); }, o.warmup, o.steps);
    const zoo::DcganConfig c{o.image_size, config["nz"], config["ngf"], config["ndf"], 1};
    const double flop = dcgan_step_flops(c, o.batch_size);
    const double med = median(t.wall_ms),
                 best = *std::min_element(t.wall_ms.begin(), t.wall_ms.end());
    Json j = {{"model", "dcgan"},
              {"batch_size", o.batch_size},
              {"image_size", o.image_size},
              {"threads", omp_get_max_threads()},
              {"steps", o.steps},
              {"median_ms", med},
              {"min_ms", best},
              {"median_cpu_ms", median(t.cpu_ms)},
              {"images_per_s", o.batch_size * 1000.0 / med},
              {"gflop_per_step", flop / 1e9},
              {"gflops", flop / 1e6 / med},
              {"peak_alloc_bytes", t.peak_alloc_bytes},
              {"peak_rss_bytes", peak_rss_bytes()},
              {"os_allocations_after_warmup", t.os_allocations}};
    if (o.json) {
        print_json(j);
        return 0;
    }
    std::printf("dcgan %lldx%lldx1, batch %lld, %d threads: %d steps after %d warm-up\n",
                (long long)o.image_size, (long long)o.image_size, (long long)o.batch_size,
                omp_get_max_threads(), o.steps, o.warmup);
    std::printf("  median %.1f ms/step (min %.1f; CPU time %.1f ms), %.0f images/s\n", med, best,
                median(t.cpu_ms), o.batch_size * 1000.0 / med);
    std::printf("  %.2f GFLOP/step (PyTorch's work: 9 D passes, 3 G passes): %.1f GFLOP/s\n",
                flop / 1e9, flop / 1e6 / med);
    std::printf(
        "  peak memory: allocator %.1f MB, process RSS %.1f MB; OS allocations after "
        "warm-up: %zu\n",
        t.peak_alloc_bytes / 1e6, peak_rss_bytes() / 1e6, t.os_allocations);
    return 0;
}

// Runs `fn` until it has taken at least `budget_ms` and `min_reps` repetitions; `setup` runs
// before each repetition, untimed. Returns the median wall and CPU milliseconds per repetition.
struct Timing {
    double ms, cpu_ms;
};
Timing time_median(const std::function<void()>& setup, const std::function<void()>& fn,
                   int min_reps = 5, double budget_ms = 400) {
    std::vector<double> t, c;
    double total = 0;
    while ((int)t.size() < min_reps || total < budget_ms) {
        setup();
        const auto t0 = Clock::now();
        const double c0 = cpu_ms();
        fn();
        t.push_back(ms_since(t0));
        c.push_back(cpu_ms() - c0);
        total += t.back();
    }
    return {median(t), median(c)};
}

int run_sgemm(const BenchOptions& o) {
    ZG_CHECK(o.size > 0, "bench sgemm: --size must be positive, got ", o.size);
    NoGradGuard ng;
    Rng gen(3);
    const Tensor a = randn({o.size, o.size}, &gen), b = randn({o.size, o.size}, &gen);
    matmul(a, b);  // warm-up: OpenBLAS thread start and buffers
    const double ms = time_median([] {}, [&] { matmul(a, b); }, 5, 1000).ms;
    const double gflops = 2.0 * o.size * o.size * o.size / 1e6 / ms;
    if (o.json) {
        print_json({{"size", o.size},
                    {"threads", omp_get_max_threads()},
                    {"blas", cpu_blas_info()},
                    {"median_ms", ms},
                    {"gflops", gflops}});
        return 0;
    }
    std::printf("sgemm %lld³, %d threads: %.2f ms, %.1f GFLOP/s\n  BLAS: %s\n", (long long)o.size,
                omp_get_max_threads(), ms, gflops, cpu_blas_info().c_str());
    return 0;
}

// One row of `bench ops`: the layer shapes of the default DCGAN (batch 64), the same rows as
// tools/bench/torch_dcgan.py. A backward row times only the backward pass (its forward runs
// untimed before each repetition).
struct OpRow {
    std::string name, shape;
    double flop;  // 0 where a flop count says nothing (memory-bound rows)
    std::function<void()> setup, run;
};

std::vector<OpRow> op_rows() {
    Rng gen(4);
    auto param = [&](const Shape& s) { return (randn(s, &gen) * 0.02).requires_grad_(); };
    std::vector<OpRow> rows;
    const Conv2dOptions s2p1{{2, 2}, {1, 1}};
    // conv2d 64→128, 16×16 → 8×8: reduction 64·16 = 1024 (D's second layer)
    {
        Tensor x = randn({64, 64, 16, 16}, &gen).requires_grad_(), w = param({128, 64, 4, 4});
        Tensor dy = randn({64, 128, 8, 8}, &gen);
        auto y = std::make_shared<Tensor>();
        const double f = 2.0 * 64 * 128 * 64 * 64 * 16;
        rows.push_back({"conv2d_fwd", "x[64,64,16,16] w[128,64,4,4] s2 p1", f, [] {},
                        [=] {
                            NoGradGuard ng;
                            conv2d(x, w, Tensor(), s2p1);
                        }});
        rows.push_back({"conv2d_bwd", "dx, dw of the above", 2 * f,
                        [=] { *y = conv2d(x, w, Tensor(), s2p1); },
                        [=] {
                            grad({*y}, {x, w}, {dy});
                        }});
    }
    // conv_transpose2d 256→128, 4×4 → 8×8 (G's second layer)
    {
        Tensor x = randn({64, 256, 4, 4}, &gen).requires_grad_(), w = param({256, 128, 4, 4});
        Tensor dy = randn({64, 128, 8, 8}, &gen);
        auto y = std::make_shared<Tensor>();
        const double f = 2.0 * 64 * 256 * 16 * 128 * 16;
        rows.push_back({"conv_transpose2d_fwd", "x[64,256,4,4] w[256,128,4,4] s2 p1", f, [] {},
                        [=] {
                            NoGradGuard ng;
                            conv_transpose2d(x, w, Tensor(), s2p1);
                        }});
        rows.push_back({"conv_transpose2d_bwd", "dx, dw of the above", 2 * f,
                        [=] { *y = conv_transpose2d(x, w, Tensor(), s2p1); },
                        [=] {
                            grad({*y}, {x, w}, {dy});
                        }});
    }
    // The large-conv GEMMs themselves: conv2d_fwd's W·cols (reduction 1024) and its weight
    // gradient dY·colsᵀ (reduction N·OH·OW = 4096).
    {
        Tensor w = randn({128, 1024}, &gen), cols = randn({1024, 4096}, &gen);
        Tensor dy = randn({128, 4096}, &gen);
        rows.push_back({"gemm_conv_fwd", "[128,1024]x[1024,4096]", 2.0 * 128 * 1024 * 4096, [] {},
                        [=] {
                            NoGradGuard ng;
                            matmul(w, cols);
                        }});
        rows.push_back({"gemm_conv_wgrad", "[128,4096]x[4096,1024] (B transposed)",
                        2.0 * 128 * 1024 * 4096, [] {},
                        [=] {
                            NoGradGuard ng;
                            matmul(dy, cols.t());
                        }});
    }
    // batch norm (training statistics) on G's 8×8 feature map
    {
        Tensor x = randn({64, 128, 8, 8}, &gen).requires_grad_();
        Tensor gamma = ones({128}).requires_grad_(), beta = zeros({128}).requires_grad_();
        Tensor rm = zeros({128}), rv = ones({128}), dy = randn({64, 128, 8, 8}, &gen);
        auto y = std::make_shared<Tensor>();
        rows.push_back({"batch_norm_fwd", "x[64,128,8,8] training", 0, [] {},
                        [=] {
                            NoGradGuard ng;
                            nn::batch_norm(x, rm, rv, gamma, beta, true);
                        }});
        rows.push_back({"batch_norm_bwd", "dx, dgamma, dbeta of the above", 0,
                        [=] { *y = nn::batch_norm(x, rm, rv, gamma, beta, true); },
                        [=] {
                            grad({*y}, {x, gamma, beta}, {dy});
                        }});
    }
    // linear 1024 → 1024 on a batch of 64, forward and backward
    {
        Tensor x = randn({64, 1024}, &gen).requires_grad_(), w = param({1024, 1024});
        Tensor b = zeros({1024}).requires_grad_(), dy = randn({64, 1024}, &gen);
        rows.push_back({"linear_fwd_bwd", "x[64,1024] w[1024,1024] +b", 3 * 2.0 * 64 * 1024 * 1024,
                        [] {},
                        [=] {
                            grad({linear(x, w, b)}, {x, w, b}, {dy});
                        }});
    }
    // elementwise: LeakyReLU(0.2) forward and backward on D's 16×16 feature map
    {
        Tensor x = randn({64, 64, 16, 16}, &gen).requires_grad_();
        Tensor dy = randn({64, 64, 16, 16}, &gen);
        rows.push_back({"leaky_relu_fwd_bwd", "x[64,64,16,16]", 0, [] {},
                        [=] { grad({leaky_relu(x, 0.2)}, {x}, {dy}); }});
    }
    // Adam over the parameters of the default G (1.07 M values in 10 tensors)
    {
        std::vector<Tensor> ps;
        for (const Shape& s : std::vector<Shape>{{100, 256, 4, 4},
                                                 {256},
                                                 {256},
                                                 {256, 128, 4, 4},
                                                 {128},
                                                 {128},
                                                 {128, 64, 4, 4},
                                                 {64},
                                                 {64},
                                                 {64, 1, 4, 4}}) {
            Tensor p = param(s);
            p.set_grad(randn(s, &gen));
            ps.push_back(p);
        }
        nn::AdamOptions ao;
        ao.lr = 2e-4;
        ao.betas = {0.5, 0.999};
        auto opt = std::make_shared<nn::Adam>(ps, ao);
        rows.push_back(
            {"adam_step", "DCGAN G parameters (1.07 M)", 0, [] {}, [=] { opt->step(); }});
    }
    return rows;
}

// ProGAN's training step (WGAN-GP with its double backward, plus drift) at one resolution,
// with the default feature maps: trained directly at that resolution, which runs the same
// networks and step as that resolution's stable phase in a growing run (a fade also runs the
// previous resolution's toRGB and fromRGB). tools/bench/torch_progan.py times the same step.
int run_progan(const BenchOptions& o) {
    const zoo::ModelInfo& info = zoo::find_model("progan");
    Json config = zoo::default_config("progan");
    config["progressive"] = false;
    config["image_size"] = o.resolution;
    config["batch_sizes"] = std::to_string(o.resolution) + ":" + std::to_string(o.batch_size);
    config["seed"] = 0;
    const SyntheticBatch s = synthetic_batch(o.batch_size, o.resolution);
    std::unique_ptr<zoo::Gan> gan = info.build(config, s.data);
    Rng rng(2);
    const StepTimes t = time_steps([&] { gan->train_step(s.batch, rng); }, o.warmup, o.steps);
    const double med = median(t.wall_ms);
    Json j = {{"model", "progan"},
              {"resolution", o.resolution},
              {"batch_size", o.batch_size},
              {"fmap_base", config["fmap_base"]},
              {"fmap_max", config["fmap_max"]},
              {"threads", omp_get_max_threads()},
              {"steps", o.steps},
              {"median_ms", med},
              {"median_cpu_ms", median(t.cpu_ms)},
              {"s_per_kimg", med / o.batch_size},  // ms per image = s per thousand
              {"peak_rss_bytes", peak_rss_bytes()}};
    if (o.json) {
        print_json(j);
        return 0;
    }
    std::printf(
        "progan %lldx%lld, batch %lld, %d threads: %d steps after %d warm-up\n"
        "  median %.1f ms/step, %.2f s per thousand images\n",
        (long long)o.resolution, (long long)o.resolution, (long long)o.batch_size,
        omp_get_max_threads(), o.steps, o.warmup, med, med / o.batch_size);
    return 0;
}

int run_ops(const BenchOptions& o) {
    Json rows = Json::array();
    for (OpRow& r : op_rows()) {
        r.setup();
        r.run();  // warm-up
        const Timing t = time_median(r.setup, r.run);
        Json row = {
            {"name", r.name}, {"shape", r.shape}, {"median_ms", t.ms}, {"median_cpu_ms", t.cpu_ms}};
        if (r.flop > 0) row["gflops"] = r.flop / 1e6 / t.ms;
        rows.push_back(row);
    }
    if (o.json) {
        print_json({{"threads", omp_get_max_threads()}, {"ops", rows}});
        return 0;
    }
    std::printf("per-op timings, %d threads (median ms)\n", omp_get_max_threads());
    for (const Json& r : rows) {
        std::printf("  %-22s %9.3f ms (CPU %9.3f)", r["name"].get<std::string>().c_str(),
                    r["median_ms"].get<double>(), r["median_cpu_ms"].get<double>());
        if (r.contains("gflops")) std::printf("  %7.1f GFLOP/s", r["gflops"].get<double>());
        std::printf("   %s\n", r["shape"].get<std::string>().c_str());
    }
    return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto* bench = app.add_subcommand(
        "bench",
        "Time DCGAN and ProGAN training steps, the sgemm peak and single ops (make bench "
        "prints them beside PyTorch)");
    bench->require_subcommand(1);
    auto common = [&](CLI::App* c) {
        c->add_option("--threads", o->threads, "OpenMP threads (0: all cores)")
            ->capture_default_str()
            ->check(non_negative());
        c->add_flag("--json", o->json, "Print one JSON object instead of text");
        add_device_flag(c);
    };
    auto* dcgan = bench->add_subcommand(
        "dcgan",
        "Full DCGAN training steps (G and D forward and backward, both Adam updates) on "
        "a synthetic batch, after warm-up");
    common(dcgan);
    dcgan->add_option("--steps", o->steps, "Timed steps")->capture_default_str()->check(positive());
    dcgan->add_option("--warmup", o->warmup, "Untimed steps first (fill the allocator cache)")
        ->capture_default_str()
        ->check(non_negative());
    dcgan->add_option("--batch-size", o->batch_size, "Images per step")
        ->capture_default_str()
        ->check(positive());
    dcgan->add_option("--image-size", o->image_size, "Image side: 32 or 64")
        ->capture_default_str()
        ->check(CLI::IsMember({32, 64}));
    auto* progan = bench->add_subcommand(
        "progan",
        "ProGAN training steps (WGAN-GP + drift, both Adam updates) at one resolution with the "
        "default feature maps, on a synthetic batch, after warm-up");
    common(progan);
    progan->add_option("--steps", o->steps, "Timed steps")
        ->capture_default_str()
        ->check(positive());
    progan->add_option("--warmup", o->warmup, "Untimed steps first (fill the allocator cache)")
        ->capture_default_str()
        ->check(non_negative());
    progan->add_option("--batch-size", o->batch_size, "Images per step")
        ->capture_default_str()
        ->check(positive());
    progan->add_option("--resolution", o->resolution, "Image side: 4, 8, 16, 32, 64 or 128")
        ->capture_default_str()
        ->check(CLI::IsMember({4, 8, 16, 32, 64, 128}));
    auto* sgemm = bench->add_subcommand(
        "sgemm", "The machine's sgemm peak: a large square OpenBLAS sgemm through the engine");
    common(sgemm);
    sgemm->add_option("--size", o->size, "Matrix side")
        ->capture_default_str()
        ->check(CLI::Range(64, 8192));
    auto* ops = bench->add_subcommand(
        "ops",
        "Single ops at the default DCGAN's layer shapes (conv2d, conv_transpose2d, their "
        "GEMMs, batch norm, linear, LeakyReLU, Adam)");
    common(ops);
    return [o, dcgan, progan, sgemm, ops]() -> int {
        if (o->threads > 0) omp_set_num_threads(o->threads);
        if (*dcgan) return run_dcgan(*o);
        if (*progan) return run_progan(*o);
        if (*sgemm) return run_sgemm(*o);
        if (*ops) return run_ops(*o);
        return 1;
    };
}

}  // namespace zg::tools
