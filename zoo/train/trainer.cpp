#include "zoo/train/trainer.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "engine/backend/memory_limit.h"
#include "engine/io/atomic_file.h"
#include "nn/data/data_root.h"
#include "nn/data/dataloader.h"
#include "nn/optim/ema.h"
#include "zoo/eval/evaluation.h"
#include "zoo/registry.h"
#include "zoo/report/images.h"
#include "zoo/report/progress.h"
#include "zoo/report/report.h"
#include "zoo/train/config_check.h"
#include "zoo/train/health.h"
#include "zoo/train/run_lock.h"
#include "zoo/train/run_reference.h"

namespace zg::zoo {

namespace fs = std::filesystem;

Json common_defaults() {
    return Json{{"data", "mnist"},
                {"data_root", ""},
                {"steps", 0},
                {"epochs", 1},
                {"seed", 0},
                {"threads", 0},
                {"sample_every", "auto"},
                {"checkpoint_every", 1000},
                {"log_every", 50},
                {"ema", 0.0},
                {"lr_decay", "constant"},
                {"n", 64},
                {"eval_every", 0},
                {"health_window", 100},
                {"stop_on_failure", false},
                {"minutes", 0.0}};
}

Json default_config(const std::string& model) {
    const ModelInfo& info = find_model(model);
    Json c = common_defaults();
    c.update(info.defaults);
    c["model"] = info.name;
    return c;
}

bool resumable_key(const std::string& key) {
    for (const char* k : {"steps", "epochs", "sample_every", "checkpoint_every", "log_every",
                          "eval_every", "threads", "stop_on_failure", "total_kimg", "minutes"})
        if (key == k) return true;
    return false;
}

int64_t auto_sample_every(int64_t target) {
    int64_t every = 1;
    for (int64_t p = 1; p <= target / 10; p *= 10)
        for (int64_t m : {1, 2, 5})
            if (m * p <= target / 10) every = m * p;
    return every;
}

namespace {

// Whether `dir` is missing or holds nothing but a lock file (a run that failed before writing
// anything, or a lock just taken).
bool holds_no_run(const std::string& dir) {
    if (!fs::exists(dir)) return true;
    for (auto& e : fs::directory_iterator(dir))
        if (e.path().filename() != RunLock::file_name) return false;
    return true;
}

// The signal that asked training to stop (0: none yet).
std::atomic<int> g_interrupted{0};
extern "C" void on_interrupt(int sig) {
    g_interrupted = sig;
}

std::string step_name(const std::string& prefix, int64_t step, const std::string& ext) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%06lld%s", prefix.c_str(), (long long)step, ext.c_str());
    return buf;
}

// Mean of each scalar over the steps since the last log line.
struct Window {
    Scalars sum;
    int64_t n = 0;
    void add(const Scalars& s) {
        for (auto& [k, v] : s) sum[k] += v;
        ++n;
    }
    Scalars mean() const {
        Scalars m;
        for (auto& [k, v] : sum) m[k] = v / std::max<int64_t>(n, 1);
        return m;
    }
};

std::string format_duration(double s) {
    char buf[32];
    const long t = (long)s;
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

// Samples from G with its current weights (or the EMA's), leaving G exactly as it was: the
// snapshot also undoes BatchNorm's running-statistics update, so sampling never changes
// training (and resume stays exact whatever the sampling cadence).
Tensor sample_with(Gan& model, nn::EMA* ema, const Tensor& z) {
    nn::Module& g = model.generator();
    const nn::StateDict snapshot = g.snapshot();
    if (ema) ema->copy_to(g);
    Tensor images;
    {
        NoGradGuard ng;
        images = model.generator().forward(z);
    }
    g.load_state_dict(snapshot);
    return images;
}

// Refuses, naming `flag`, n samples of `example` shape that would not fit in memory: the
// samples, their latents and one copy for the output (a grid, an array), in float32.
void check_samples_fit(int64_t n, const Shape& example, const std::string& flag) {
    check_fits_in_memory(3.0 * 4 * (double)n * (double)shape_numel(example),
                         flag + " " + std::to_string(n));
}

// G(z) in batches of at most 500 (each the batch BatchNorm takes its statistics from), so the
// memory of G's activations does not grow with the number of samples; a progress line named
// `progress` when that is not empty.
Tensor sample_in_batches(Gan& model, nn::EMA* ema, const Tensor& z,
                         const std::string& progress = "") {
    const int64_t n = z.size(0);
    std::vector<Tensor> parts;
    ProgressLine line(progress, n, !progress.empty());
    for (int64_t at = 0; at < n; at += 500) {
        line.update(at);
        parts.push_back(sample_with(model, ema, z.slice(0, at, std::min(at + 500, n))));
    }
    line.update(n);
    return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

// Installs SIGINT/SIGTERM/SIGHUP handlers that ask the loop to stop after the current step (so
// the checkpoint is saved), and puts the previous handlers back when the run ends.
class InterruptHandlers {
public:
    InterruptHandlers() {
        g_interrupted = 0;
        old_int_ = std::signal(SIGINT, on_interrupt);
        old_term_ = std::signal(SIGTERM, on_interrupt);
        old_hup_ = std::signal(SIGHUP, on_interrupt);  // a closed terminal or ssh session
    }
    ~InterruptHandlers() {
        std::signal(SIGINT, old_int_);
        std::signal(SIGTERM, old_term_);
        std::signal(SIGHUP, old_hup_);
    }
    InterruptHandlers(const InterruptHandlers&) = delete;
    InterruptHandlers& operator=(const InterruptHandlers&) = delete;

private:
    void (*old_int_)(int) = nullptr;
    void (*old_term_)(int) = nullptr;
    void (*old_hup_)(int) = nullptr;
};

const char* signal_name(int sig) {
    return sig == SIGINT    ? "SIGINT"
           : sig == SIGTERM ? "SIGTERM"
           : sig == SIGHUP  ? "SIGHUP"
                            : "signal";
}

// Why the loop ended.
enum class Stop { target, non_finite, unhealthy, interrupted, budget };
// The exit code `zoograd train` returns for it: 0 at the target or a spent --minutes budget,
// 1 after a non-finite loss, 3 for the health monitor, and 128 + the signal's number when a
// signal stopped it (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), as shells report killed programs.
int exit_code(Stop why) {
    switch (why) {
        case Stop::target:
        case Stop::budget:
            return 0;
        case Stop::non_finite:
            return 1;
        case Stop::unhealthy:
            return 3;
        case Stop::interrupted:
            return 128 + g_interrupted;
    }
    return 1;
}

// One training run: its state, and the four phases `train` runs in order (set up, step until
// the target, log along the way, finish).
struct Run {
    Json config;
    std::string dir;
    std::shared_ptr<nn::TensorDataset> data;
    std::unique_ptr<Gan> model;
    std::unique_ptr<nn::DataLoader> loader;
    std::unique_ptr<nn::EMA> ema;
    // --eval-every's sample quality (zoo/eval/evaluation.h), built on first use.
    std::unique_ptr<Evaluator> evaluator;
    std::unique_ptr<HealthMonitor> health;  // null with --health-window 0
    Rng rng;                                // every random draw of the training steps
    Tensor fixed_z;                         // the latents of the sample grids
    int64_t step = 0;
    double elapsed = 0;  // training seconds before this session (for time_s across resumes)

    // The schedule, read once from the config.
    int64_t per_epoch = 0, target = 0;
    int64_t log_every = 1, sample_every = 0, checkpoint_every = 0, eval_every = 0;
    // The progress line's clock: when it was last drawn, and the rate's last measuring point.
    double last_status = 0, rate_since = 0, smoothed_rate = -1;
    bool report_failed = false;  // warned once that report.html could not be drawn
    bool finished = false;       // the report stops reloading itself once this is set
    int64_t rate_step = 0;
    std::string lr_decay;
    bool tty = false;  // progress rewrites one stderr line instead of printing one per log

    // This session's bookkeeping.
    std::unique_ptr<RunLock> lock;  // held from the start of set-up to the end of the run
    std::ofstream metrics;
    std::chrono::steady_clock::time_point start;
    int64_t first_step = 0;
    Window window;

    // ---- set up ----
    Run(const Json& config_in, const std::string& run_dir, bool resume)
        : config(config_in), dir(run_dir) {
        if (config.at("threads").get<int>() > 0)
            omp_set_num_threads(config.at("threads").get<int>());
        auto check_free = [&] {
            ZG_CHECK(resume || holds_no_run(dir), "--out ", dir,
                     " already exists and is not empty; choose another directory, or continue "
                     "that run with --resume ",
                     dir);
        };
        // Before the lock, which creates the directory: none is made for a run whose data or
        // model is bad, and no lock file is left in a directory that is not a run's.
        check_free();
        build_data_and_model();
        lock = std::make_unique<RunLock>(dir);
        check_free();  // another process may have started a run there in between
        build_training_state();
        ZG_CHECK(!resume || fs::exists(dir + "/config.json"), dir,
                 ": no config.json, so no run to resume there");
        // A run stopped before its first checkpoint saved nothing to continue from: resuming it
        // starts it again from step 0, in its own directory, with its own config.
        const bool from_checkpoint = resume && fs::exists(checkpoint_path("latest.safetensors"));
        if (from_checkpoint) restore_checkpoint();
        if (resume) {
            truncate_metrics(step);
            remove_stale_temporaries();
        }
        read_schedule();
        apply_lr_schedule();     // a model that cannot decay refuses before any training
        if (!from_checkpoint) {  // once the data, the model and the schedule are known to be good
            // config.json first: a run killed before it is an empty directory (a lock file),
            // one killed after it resumes from step 0.
            write_config();
            fs::create_directories(dir + "/samples");
            fs::create_directories(dir + "/checkpoints");
            write_real_grid();
        }
        metrics.open(dir + "/metrics.jsonl", std::ios::app);
        // report.html marks where the run was continued.
        if (from_checkpoint)
            append_metrics({{"step", step}, {"resumed", true}, {"time_s", elapsed}});
        start = std::chrono::steady_clock::now();
        first_step = rate_step = step;
    }

    void build_data_and_model() {
        const int64_t image_size =
            config.contains("image_size") ? config.at("image_size").get<int64_t>() : 32;
        // Where the data was found goes into config.json, so resume and eval read the same.
        if (nn::uses_data_root(config.at("data")))
            config["data_root"] = nn::find_data_root(config.at("data_root"), config.at("data"));
        data = nn::load_dataset(config.at("data"), true, image_size, 0, config.at("data_root"));
        config["channels"] = data->example_shape()[0];  // so `sample` can rebuild G
        config["num_classes"] = data->num_classes();    // and a class-conditional one
        model = find_model(config.at("model")).build(config, *data);
    }

    // The loader, the step RNG, the fixed sample latents, the EMA and the health monitor, each
    // seeded from --seed so a run is reproducible.
    void build_training_state() {
        const uint64_t seed = config.at("seed").get<uint64_t>();
        // A model that picks its batch sizes (progan's --batch-sizes) gives the first one.
        const int64_t own = model->next_batch_size();
        loader = std::make_unique<nn::DataLoader>(
            data, own > 0 ? own : config.at("batch_size").get<int64_t>(), true, true, seed);
        model->set_batch_source([this] { return loader->next(); });
        rng.manual_seed(seed + 1);
        Rng fixed(seed + 2);
        const int64_t n = config.at("n").get<int64_t>();
        ZG_CHECK(n > 0, "--n must be at least 1 (the images in each sample grid), got ", n);
        check_samples_fit(n, data->example_shape(), "--n");
        fixed_z = model->sample_z(n, fixed);
        if (config.at("ema").get<double>() > 0)
            ema = std::make_unique<nn::EMA>(model->generator(), config.at("ema").get<double>());
        // The health monitor watches the adversarial game; a run that trains no G has none.
        if (config.value("health_window", int64_t(0)) > 0 && model->trains_generator())
            health = std::make_unique<HealthMonitor>(health_options_from(config));
    }

    void read_schedule() {
        per_epoch = loader->batches_per_epoch();
        const int64_t epochs = config.at("epochs").get<int64_t>();
        ZG_CHECK(epochs <= std::numeric_limits<int64_t>::max() / std::max<int64_t>(per_epoch, 1),
                 "--epochs ", epochs, " is too many: at ", per_epoch,
                 " steps per epoch the step count would overflow");
        target = model->planned_steps() > 0 ? model->planned_steps()
                 : config.at("steps").get<int64_t>() > 0
                     ? config.at("steps").get<int64_t>()
                     : config.at("epochs").get<int64_t>() * per_epoch;
        lr_decay = config.at("lr_decay").get<std::string>();
        ZG_CHECK(lr_decay == "constant" || lr_decay == "linear", "--lr-decay must be constant or ",
                 "linear, got '", lr_decay, "'");
        log_every = std::max<int64_t>(1, config.at("log_every").get<int64_t>());
        const Json& every = config.at("sample_every");
        ZG_CHECK(every.is_number_integer() || every == "auto",
                 "--sample-every must be a number of steps or auto, got ", every.dump());
        sample_every = every == "auto" ? auto_sample_every(target) : every.get<int64_t>();
        checkpoint_every = config.at("checkpoint_every").get<int64_t>();
        eval_every = config.at("eval_every").get<int64_t>();
        tty = ::isatty(STDERR_FILENO);
    }

    // Linear decay: lr(step) = lr · (1 − step/target), a function of the step alone, so a
    // resumed run continues the same schedule.
    void apply_lr_schedule() {
        if (lr_decay == "linear")
            model->set_lr_scale(std::max(0.0, 1.0 - (double)step / (double)target));
    }

    void announce(bool resume) const {
        std::printf(
            "%s %s on %s: %lld examples, %lld steps per epoch, target %lld steps, seed %llu, "
            "%d threads\nrun directory: %s (sample grids every %lld steps)\n",
            resume ? "resuming" : "training", find_model(config.at("model")).name.c_str(),
            data->name().c_str(), (long long)data->size(), (long long)per_epoch, (long long)target,
            (unsigned long long)config.at("seed").get<uint64_t>(), omp_get_max_threads(),
            dir.c_str(), (long long)(sample_every > 0 ? sample_every : target));
        std::fflush(stdout);
    }

    double session_seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    // Training time of the whole run so far, across resumes.
    double total_seconds() const { return elapsed + session_seconds(); }

    // ---- step ----
    // One optimization step and everything due after it (EMA, log, samples, eval, checkpoint).
    // Returns whether the loop must stop early, and why.
    std::optional<Stop> train_one_step() {
        if (const int64_t size = model->next_batch_size(); size > 0 && size != loader->batch_size())
            loader->set_batch_size(size);
        nn::Batch batch = loader->next();
        apply_lr_schedule();
        Scalars s = model->train_step(batch, rng);
        const bool unhealthy = check_health(s);
        if (report_non_finite(s)) return Stop::non_finite;
        ++step;
        if (ema) {  // bias-corrected (nn/optim/ema.h), counted from the model's restart
            const int64_t update = step - model->averaging_start_step();
            ema->set_decay(nn::bias_corrected_decay(config.at("ema").get<double>(), update));
            ema->update(model->generator());
        }
        window.add(s);
        if (step % log_every == 0 || step == target)
            log_progress();
        else if (tty && session_seconds() - last_status >= 1.0)
            print_status(window.mean());
        if (sample_every > 0 && step % sample_every == 0) write_samples();
        if (eval_every > 0 && step % eval_every == 0 && step != target) evaluate(total_seconds());
        if (checkpoint_every > 0 && step % checkpoint_every == 0 &&
            !save_checkpoint(total_seconds()))
            return Stop::non_finite;
        if (g_interrupted) return Stop::interrupted;
        if (unhealthy && config.value("stop_on_failure", false)) return Stop::unhealthy;
        const double minutes = config.value("minutes", 0.0);
        if (minutes > 0 && total_seconds() >= minutes * 60 && step < target) return Stop::budget;
        return std::nullopt;
    }

    // A NaN or infinite scalar ends training: says which, at which step, and where the last
    // good checkpoint is. Returns whether there was one.
    bool report_non_finite(const Scalars& s) const {
        bool found = false;
        for (auto& [k, v] : s) {
            if (std::isfinite(v)) continue;
            const std::string last = checkpoint_path("latest.safetensors");
            std::fprintf(stderr,
                         "\nerror: %s became %f at step %lld; training stopped. %s Try a "
                         "lower learning rate, another loss, or gradient penalties.\n",
                         k.c_str(), v, (long long)step + 1,
                         fs::exists(last) ? ("The last good checkpoint is " + last + ".").c_str()
                                          : "No checkpoint had been written yet.");
            found = true;
        }
        return found;
    }

    // The health monitor's verdict on a step's scalars: each warning is printed as one line
    // and logged to metrics.jsonl as a line of its own (step, epoch, time_s, warning: the
    // symptom, message). Returns whether any was raised.
    bool check_health(const Scalars& s) {
        if (!health) return false;
        const std::vector<HealthWarning> warnings = health->observe(step + 1, s);
        for (const HealthWarning& w : warnings) {
            Json line{{"step", w.step},
                      {"epoch", (double)w.step / per_epoch},
                      {"time_s", total_seconds()},
                      {"warning", w.symptom},
                      {"message", w.message}};
            append_metrics(line);
            std::fprintf(stderr, "%swarning at step %lld: %s: %s\n", tty ? "\r\033[K" : "",
                         (long long)w.step, w.symptom.c_str(), w.message.c_str());
        }
        return !warnings.empty();
    }

    // ---- log ----
    // The mean of each scalar since the last log line, to metrics.jsonl and the progress line.
    void log_progress() {
        const Scalars m = window.mean();
        write_metrics_line(m);
        print_status(m);
        window = Window();
    }

    void write_metrics_line(const Scalars& m) {
        Json line{{"step", step}, {"epoch", (double)step / per_epoch}, {"time_s", total_seconds()}};
        for (auto& [k, v] : m) line[k] = v;
        for (auto& [k, v] : model->position()) line[k] = v;
        append_metrics(line);
    }

    // Steps per second over the last half second or more, smoothed (an average since the start
    // hides a run that has sped up or slowed down).
    double current_rate(double now) {
        if (now - rate_since >= 0.5) {
            const double recent = (step - rate_step) / (now - rate_since);
            smoothed_rate = smoothed_rate < 0 ? recent : 0.7 * smoothed_rate + 0.3 * recent;
            rate_since = now;
            rate_step = step;
        }
        return smoothed_rate >= 0 ? smoothed_rate : (step - first_step) / std::max(now, 1e-9);
    }

    // The progress line: step and percent, the current it/s, the ETA (a --minutes budget's when
    // that ends the run first), the model's position and its losses m. On a terminal it is
    // redrawn in place with a bar, at least once a second; in a log it is one plain line per
    // --log-every steps.
    void print_status(const Scalars& m) {
        const double now = session_seconds();
        last_status = now;
        const double rate = current_rate(now);
        double eta = (target - step) / std::max(rate, 1e-9);
        const double budget_left = config.value("minutes", 0.0) * 60 - total_seconds();
        const bool budget_ends_it = config.value("minutes", 0.0) > 0 && budget_left < eta;
        if (budget_ends_it) eta = std::max(budget_left, 0.0);
        const double done = target > 0 ? (double)step / target : 1.0;
        std::string msg;
        if (tty) {
            const size_t filled = (size_t)std::clamp(done * 20, 0.0, 20.0);
            msg.append(1, '[').append(filled, '#').append(20 - filled, '.').append("] ");
        }
        char head[200];
        std::snprintf(head, sizeof head, "step %lld/%lld (%.1f%%)  epoch %.2f  %.2f it/s  ETA %s%s",
                      (long long)step, (long long)target, 100 * done, (double)step / per_epoch,
                      rate, format_duration(eta).c_str(), budget_ends_it ? " (--minutes)" : "");
        msg += head;
        for (auto& [k, v] : model->position()) {
            char value[64];
            std::snprintf(value, sizeof value, "  %s %.4g", k.c_str(), v);
            msg += value;
        }
        // Only the scalars this model reports (sgan --supervised-only has no G or D(x)).
        for (auto [key, label] : {std::pair{"loss_d", "loss_D"},
                                  {"loss_g", "loss_G"},
                                  {"d_real", "D(x)"},
                                  {"d_fake", "D(G(z))"}}) {
            char value[64];
            if (auto it = m.find(key); it != m.end()) {
                std::snprintf(value, sizeof value, "  %s %.3f", label, it->second);
                msg += value;
            }
        }
        if (tty)
            std::fprintf(stderr, "\r%s\033[K", msg.c_str());
        else
            std::printf("%s\n", msg.c_str());
        std::fflush(stdout);
    }

    // Held-out measurements, one metrics.jsonl line of their own (step, epoch, time_s, then
    // the scalars); printed too, since they are what a user waits for.
    void evaluate(double total) {
        Scalars s = model->evaluate();
        // Sample quality (zoo/eval/evaluation.h) only when asked for with --eval-every: the first
        // time may train the evaluation classifier.
        if (eval_every > 0 && model->trains_generator() && has_sample_quality(config.at("data"))) {
            Rng fixed(config.at("seed").get<uint64_t>() + 3);
            const Tensor z = model->sample_z(training_eval_samples, fixed);
            for (auto& [k, v] : sample_quality(config.at("data"), config.at("data_root"),
                                               sample_in_batches(*model, ema.get(), z), evaluator))
                s[k] = v;
        }
        if (s.empty()) return;
        Json line{{"step", step}, {"epoch", (double)step / per_epoch}, {"time_s", total}};
        std::string text;
        for (auto& [k, v] : s) {
            line[k] = v;
            text += "  " + k + " " + std::to_string(v);
        }
        append_metrics(line);
        std::printf("\neval at step %lld:%s\n", (long long)step, text.c_str());
        std::fflush(stdout);
    }

    // A run that never trains G (a --supervised-only baseline) has nothing to show but its
    // report.
    // report.html is a view of the run: when it cannot be drawn, training goes on and says so
    // once (the metrics and checkpoints it is drawn from are what matter). A file that cannot
    // be written (a full disk) stops the run like any other.
    void refresh_report() {
        try {
            write_report(dir, !finished);
        } catch (const WriteError&) {
            throw;
        } catch (const std::exception& e) {
            if (!report_failed)
                std::fprintf(stderr,
                             "warning: report.html could not be updated (%s); training "
                             "goes on\n",
                             e.what());
            report_failed = true;
        }
    }

    // The real images once, beside the samples, as pytorch/examples' real_samples.png: the
    // first --n examples of the data set.
    void write_real_grid() const {
        if (!model->trains_generator() || data->example_shape().size() != 3) return;
        const int64_t n = std::min<int64_t>(config.at("n").get<int64_t>(), data->size());
        std::vector<int64_t> first(n);
        for (int64_t i = 0; i < n; ++i) first[i] = i;
        save_image_grid(data->get(first).x, dir + "/samples/real.png");
    }

    void write_samples() {
        if (!model->trains_generator()) {
            refresh_report();
            return;
        }
        Tensor images = sample_in_batches(*model, ema.get(), fixed_z);
        if (images.dim() == 4)
            save_image_grid(images, dir + "/samples/" + step_name("step_", step, ".png"));
        else
            save_npy(images, dir + "/samples/" + step_name("step_", step, ".npy"));
        refresh_report();
    }

    // ---- checkpoints ----
    std::string checkpoint_path(const std::string& name) const {
        return dir + "/checkpoints/" + name;
    }

    // The first parameter or buffer of G, D or the EMA that is not finite ("D/main.1.running_var"),
    // or nothing. Losses can stay finite while BatchNorm's running variance overflows.
    std::optional<std::string> non_finite_state() const {
        std::vector<std::pair<std::string, nn::StateDict>> parts = {
            {"G", model->generator().state_dict()}, {"D", model->discriminator().state_dict()}};
        if (ema) parts.emplace_back("ema", ema->state_dict());
        for (auto& [part, state] : parts)
            for (auto& [name, t] : state)
                if (is_floating(t.dtype()) && !all_finite(t)) return part + "/" + name;
        return std::nullopt;
    }

    // total: training time of the whole run so far (stored, so time_s continues across
    // resumes). A checkpoint holding a NaN or inf is never written: returns false, having said
    // which tensor and where the last finite checkpoint is.
    bool save_checkpoint(double total) {
        if (auto bad = non_finite_state()) {
            const std::string last = checkpoint_path("latest.safetensors");
            std::fprintf(stderr,
                         "\nerror: %s is not finite at step %lld (the run diverged); no checkpoint "
                         "was written. %s Try a lower learning rate or a gradient penalty.\n",
                         bad->c_str(), (long long)step,
                         fs::exists(last) ? ("The last finite checkpoint is " + last + ".").c_str()
                                          : "No checkpoint had been written yet.");
            return false;
        }
        nn::Checkpoint ck;
        model->save(ck);
        if (ema) ck.add_ema("ema", *ema);
        nn::LoaderState pos = loader->state();
        ck.set_json("config", config)
            .set_counter("step", step)
            .set_counter("loader_epoch", pos.epoch)
            .set_counter("loader_offset", pos.offset)
            .set_counter("elapsed_ms", (int64_t)(total * 1000))
            .set_rng("train", rng);
        if (health) ck.set_json("health", health->state());
        // The numbered copy first: killed between the two saves, the run resumes from the older
        // latest, trains through this step again and writes both; the other order would leave
        // this step's numbered checkpoint missing for good.
        if (checkpoint_every > 0 && step % checkpoint_every == 0)  // numbered copies at the cadence
            ck.save(checkpoint_path(step_name("step_", step, ".safetensors")));
        ck.save(checkpoint_path("latest.safetensors"));
        return true;
    }

    // A run stopped after its last checkpoint (kill -9) had logged steps past it, which it
    // will now train and log again: metrics.jsonl is cut back to the checkpoint's step, so
    // each step is logged once. Lines that are not objects with a step (the line a kill cut
    // short) go too. The file is replaced atomically.
    void truncate_metrics(int64_t upto) const {
        const std::string path = dir + "/metrics.jsonl";
        std::ifstream in(path);
        std::string line, kept;
        bool dropped = false;
        while (std::getline(in, line)) {
            const Json j = Json::parse(line, nullptr, false);
            const bool keep = j.is_object() && j.contains("step") && j.at("step").is_number() &&
                              j.at("step").get<double>() <= (double)upto;
            if (keep)
                kept += line + "\n";
            else
                dropped = true;
        }
        if (dropped) write_file_atomically(path, {kept});
    }

    // The temporaries of atomic writes a kill interrupted (name.tmp beside the file they were
    // to replace); the files themselves are whole.
    void remove_stale_temporaries() const {
        for (const std::string sub : {"", "/checkpoints", "/samples"}) {
            if (!fs::is_directory(dir + sub)) continue;
            for (auto& e : fs::directory_iterator(dir + sub))
                if (e.is_regular_file() && e.path().extension() == ".tmp") fs::remove(e.path());
        }
    }

    // config.json against the checkpoint's own copy: a hand edit of anything but the resumable
    // keys (a batch size, a seed, a learning rate) would change the run silently, although the
    // command line refuses the same changes.
    void check_config_unchanged(const Json& trained) const {
        for (auto& [key, value] : trained.items()) {
            if (resumable_key(key) || key == "budget_reached" || !config.contains(key)) continue;
            ZG_CHECK(config.at(key) == value, dir, "/config.json: ", key, " is ",
                     config.at(key).dump(), " but the run trained with ", value.dump(),
                     "; restore it (a resume may change only --steps, --epochs, --threads, ",
                     "--minutes and the --*-every cadences)");
        }
    }

    void restore_checkpoint() {
        const std::string path = checkpoint_path("latest.safetensors");
        nn::Checkpoint ck = nn::Checkpoint::load(path);
        check_config_unchanged(checkpoint_config(ck, path));
        model->restore(ck);
        if (ema) ck.restore_ema("ema", *ema);
        ck.restore_rng("train", rng);
        if (health && ck.has_json("health"))
            health->restore(JsonReader(ck.json("health"), path + ": metadata 'json/health'"));
        if (const int64_t size = model->next_batch_size(); size > 0) loader->set_batch_size(size);
        // Checkpoints before the loader counted examples hold the batch index instead.
        const int64_t offset = ck.has_counter("loader_offset")
                                   ? ck.counter("loader_offset")
                                   : ck.counter("loader_batch") * loader->batch_size();
        loader->set_state({ck.counter("loader_epoch"), offset});
        step = ck.counter("step");
        elapsed = ck.counter("elapsed_ms") / 1000.0;
    }

    // ---- finish ----
    // Saves the checkpoint, the last evaluation and samples (unless a NaN stopped the run:
    // then the last good checkpoint stays as it was), and says where everything is.
    int finish(Stop why) {
        finished = true;
        if (tty) std::fprintf(stderr, "\n");
        if (why == Stop::non_finite) {
            refresh_report();
            return exit_code(why);
        }
        elapsed += session_seconds();
        if (why == Stop::budget) record_budget_stop();
        if (!save_checkpoint(elapsed)) {
            refresh_report();
            return exit_code(Stop::non_finite);
        }
        evaluate(elapsed);
        write_samples();
        if (why == Stop::unhealthy)
            std::printf(
                "stopped by the health monitor at step %lld (--stop-on-failure; the warning is "
                "above and in metrics.jsonl); checkpoint saved. Continue with: zoograd train "
                "--resume %s\n",
                (long long)step, dir.c_str());
        else if (why == Stop::budget)
            std::printf("--minutes %g spent at step %lld; checkpoint saved. %s\n",
                        config.at("minutes").get<double>(), (long long)step, repeat_hint().c_str());
        else if (why == Stop::interrupted)
            std::printf(
                "interrupted at step %lld; checkpoint saved (%s). Continue with: zoograd train "
                "--resume %s\n",
                (long long)step, signal_name(g_interrupted), dir.c_str());
        else
            std::printf("done: %lld steps in %s\n", (long long)step,
                        format_duration(elapsed).c_str());
        if (model->trains_generator())
            std::printf("samples: %s/samples/%s\n", dir.c_str(),
                        step_name("step_", step, ".png").c_str());
        std::printf("report:  %s/report.html\ncheckpoint: %s\n", dir.c_str(),
                    checkpoint_path("latest.safetensors").c_str());
        return exit_code(why);
    }

    // The flag that repeats a budget-stopped run exactly: its length in steps, or in kimg for
    // a model that plans its own length (progan).
    std::string repeat_hint() const {
        const Scalars where = model->position();
        char buf[96];
        if (auto it = where.find("kimg"); it != where.end())
            // kimg counts whole images, so three decimals are exact.
            std::snprintf(buf, sizeof buf, "To repeat it exactly: --total-kimg %.3f", it->second);
        else
            std::snprintf(buf, sizeof buf, "To repeat it exactly: --steps %lld", (long long)step);
        return buf;
    }

    // What a --minutes budget reached goes into the run's files: a metrics.jsonl line and
    // config.json's "budget_reached", so the run can be repeated without a clock.
    void record_budget_stop() {
        Json reached{{"step", step}, {"minutes", config.at("minutes")}};
        for (auto& [k, v] : model->position()) reached[k] = v;
        Json line = reached;
        line["budget_reached"] = true;
        append_metrics(line);
        config["budget_reached"] = reached;
        write_config();
    }

    void write_config() const {
        write_file_atomically(dir + "/config.json", {config.dump(2) + "\n"});
    }

    // One line of metrics.jsonl. A failed append (a full disk) stops training: the file is
    // append-only, so a cut line is all it can lose, and the last checkpoint is intact.
    void append_metrics(const Json& line) {
        const std::string path = dir + "/metrics.jsonl";
        const uintmax_t before = fs::file_size(path);  // every append is flushed: all on disk
        errno = 0;
        metrics << line.dump() << "\n" << std::flush;
        if (metrics.good()) return;
        const std::string why = errno ? std::strerror(errno) : "is the disk full?";
        // A full disk can take part of the line. Close the stream first (it would write what
        // is left of its buffer when closed), then cut the file back to whole lines.
        metrics.close();
        std::error_code ignored;
        fs::resize_file(path, before, ignored);
        throw Error(path + ": appending a line failed (" + why +
                    "); the last checkpoint is intact: free some space, then --resume " + dir);
    }
};

}  // namespace

int train(const Json& config, const std::string& dir, bool resume) {
    Run run(config, dir, resume);
    run.announce(resume);
    InterruptHandlers interrupts;
    Stop why = Stop::target;
    while (run.step < run.target) {
        if (auto stop = run.train_one_step()) {
            why = *stop;
            break;
        }
    }
    return run.finish(why);
}

TrainedGan load_trained(const std::string& run_or_checkpoint, bool use_ema) {
    const std::string path = checkpoint_of(run_or_checkpoint);
    nn::Checkpoint ck = nn::Checkpoint::load(path);
    const Json c = checkpoint_config(ck, path);
    const int64_t image_size = c.contains("image_size") ? c.at("image_size").get<int64_t>() : 32;
    // The model is rebuilt from its config; the data set is only needed for its shape, so a
    // stand-in of the right shape is used instead of loading it. Models without --image-size
    // (mlpgan) train on points [channels].
    const int64_t channels = c.at("channels").get<int64_t>();
    auto data = std::make_shared<nn::TensorDataset>(
        c.contains("image_size") ? zeros({1, channels, image_size, image_size})
                                 : zeros({1, channels}),
        Tensor(), c.value("num_classes", int64_t(0)), c.at("data").get<std::string>());
    TrainedGan t;
    t.example_shape = data->example_shape();
    t.model = find_model(c.at("model")).build(c, *data);
    t.model->restore(ck);
    if (use_ema) {
        ZG_CHECK(ck.has_state("ema"), path,
                 ": this run kept no EMA generator (train with --ema DECAY to have one)");
        t.ema = std::make_shared<nn::EMA>(t.model->generator(), 0.999);
        ck.restore_ema("ema", *t.ema);
    }
    return t;
}

Tensor TrainedGan::generate(const Tensor& z, const std::string& progress) {
    Tensor x = sample_in_batches(*model, ema.get(), z, progress);
    ZG_CHECK(all_finite(x), "the generator's samples hold NaN or inf: the weights of this ",
             "checkpoint are not finite (a run that diverged); sample an earlier checkpoint");
    return x;
}

void TrainedGan::check_fits(int64_t n, const std::string& flag) const {
    check_samples_fit(n, example_shape, flag);
}

}  // namespace zg::zoo
