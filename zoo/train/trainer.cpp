#include "zoo/train/trainer.h"

#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "nn/data/dataloader.h"
#include "nn/optim/ema.h"
#include "zoo/eval/evaluation.h"
#include "zoo/registry.h"
#include "zoo/report/images.h"
#include "zoo/report/report.h"
#include "zoo/train/health.h"

namespace zg::zoo {

namespace fs = std::filesystem;

Json common_defaults() {
    return Json{{"data", "mnist"},
                {"data_root", "data"},
                {"steps", 0},
                {"epochs", 1},
                {"seed", 0},
                {"threads", 0},
                {"sample_every", 500},
                {"checkpoint_every", 1000},
                {"log_every", 50},
                {"ema", 0.0},
                {"lr_decay", "constant"},
                {"n_samples", 64},
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

namespace {

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
    std::string lr_decay;
    bool tty = false;  // progress rewrites one stderr line instead of printing one per log

    // This session's bookkeeping.
    std::ofstream metrics;
    std::chrono::steady_clock::time_point start;
    int64_t first_step = 0;
    Window window;

    // ---- set up ----
    Run(const Json& config_in, const std::string& run_dir, bool resume)
        : config(config_in), dir(run_dir) {
        if (config.at("threads").get<int>() > 0)
            omp_set_num_threads(config.at("threads").get<int>());
        ZG_CHECK(resume || !fs::exists(dir) || fs::is_empty(dir), "--out ", dir,
                 " already exists and is not empty; choose another directory, or continue that "
                 "run with --resume ",
                 dir);
        build_data_and_model();
        if (!resume) {  // only once the data and the model are known to be good
            fs::create_directories(dir + "/samples");
            fs::create_directories(dir + "/checkpoints");
            std::ofstream(dir + "/config.json") << config.dump(2) << "\n";
        }
        build_training_state();
        if (resume) restore_checkpoint();
        read_schedule();
        apply_lr_schedule();  // a model that cannot decay refuses before any training
        metrics.open(dir + "/metrics.jsonl", std::ios::app);
        start = std::chrono::steady_clock::now();
        first_step = step;
    }

    void build_data_and_model() {
        const int64_t image_size =
            config.contains("image_size") ? config.at("image_size").get<int64_t>() : 32;
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
        fixed_z = model->sample_z(config.at("n_samples").get<int64_t>(), fixed);
        if (config.at("ema").get<double>() > 0)
            ema = std::make_unique<nn::EMA>(model->generator(), config.at("ema").get<double>());
        // The health monitor watches the adversarial game; a run that trains no G has none.
        if (config.value("health_window", int64_t(0)) > 0 && model->trains_generator())
            health = std::make_unique<HealthMonitor>(health_options_from(config));
    }

    void read_schedule() {
        per_epoch = loader->batches_per_epoch();
        target = model->planned_steps() > 0 ? model->planned_steps()
                 : config.at("steps").get<int64_t>() > 0
                     ? config.at("steps").get<int64_t>()
                     : config.at("epochs").get<int64_t>() * per_epoch;
        lr_decay = config.at("lr_decay").get<std::string>();
        ZG_CHECK(lr_decay == "constant" || lr_decay == "linear", "--lr-decay must be constant or ",
                 "linear, got '", lr_decay, "'");
        log_every = std::max<int64_t>(1, config.at("log_every").get<int64_t>());
        sample_every = config.at("sample_every").get<int64_t>();
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
            "%d threads\nrun directory: %s\n",
            resume ? "resuming" : "training", find_model(config.at("model")).name.c_str(),
            data->name().c_str(), (long long)data->size(), (long long)per_epoch, (long long)target,
            (unsigned long long)config.at("seed").get<uint64_t>(), omp_get_max_threads(),
            dir.c_str());
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
        if (step % log_every == 0 || step == target) log_progress();
        if (sample_every > 0 && step % sample_every == 0) write_samples();
        if (eval_every > 0 && step % eval_every == 0 && step != target) evaluate(total_seconds());
        if (checkpoint_every > 0 && step % checkpoint_every == 0) save_checkpoint(total_seconds());
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
            metrics << line.dump() << "\n" << std::flush;
            std::fprintf(stderr, "%swarning at step %lld: %s: %s\n", tty ? "\r\033[K" : "",
                         (long long)w.step, w.symptom.c_str(), w.message.c_str());
        }
        return !warnings.empty();
    }

    // ---- log ----
    // The mean of each scalar since the last log line, to metrics.jsonl and as one progress
    // line (rewritten in place on a terminal).
    void log_progress() {
        const double now = session_seconds();
        Json line{{"step", step}, {"epoch", (double)step / per_epoch}, {"time_s", elapsed + now}};
        const Scalars m = window.mean();
        for (auto& [k, v] : m) line[k] = v;
        const Scalars where = model->position();
        for (auto& [k, v] : where) line[k] = v;
        metrics << line.dump() << "\n" << std::flush;
        const double rate = (step - first_step) / std::max(now, 1e-9);
        char head[160];
        std::snprintf(head, sizeof head, "step %lld/%lld  epoch %.2f  %.2f it/s  ETA %s",
                      (long long)step, (long long)target, (double)step / per_epoch, rate,
                      format_duration((target - step) / std::max(rate, 1e-9)).c_str());
        std::string msg = head;
        for (auto& [k, v] : where) {
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
        window = Window();
    }

    // Held-out measurements, one metrics.jsonl line of their own (step, epoch, time_s, then
    // the scalars); printed too, since they are what a user waits for.
    void evaluate(double total) {
        Scalars s = model->evaluate();
        // Sample quality (zoo/eval/evaluation.h) only when asked for with --eval-every: the first
        // time may train the evaluation classifier.
        if (eval_every > 0 && model->trains_generator() && has_sample_quality(config.at("data"))) {
            Rng fixed(config.at("seed").get<uint64_t>() + 3);
            Tensor z = model->sample_z(training_eval_samples, fixed);
            std::vector<Tensor> parts;
            for (int64_t at = 0; at < z.size(0); at += 500) {
                const int64_t end = std::min(at + 500, z.size(0));
                parts.push_back(sample_with(*model, ema.get(), z.slice(0, at, end)));
            }
            for (auto& [k, v] : sample_quality(config.at("data"), config.at("data_root"),
                                               concat(parts, 0), evaluator))
                s[k] = v;
        }
        if (s.empty()) return;
        Json line{{"step", step}, {"epoch", (double)step / per_epoch}, {"time_s", total}};
        std::string text;
        for (auto& [k, v] : s) {
            line[k] = v;
            text += "  " + k + " " + std::to_string(v);
        }
        metrics << line.dump() << "\n" << std::flush;
        std::printf("\neval at step %lld:%s\n", (long long)step, text.c_str());
        std::fflush(stdout);
    }

    // A run that never trains G (a --supervised-only baseline) has nothing to show but its
    // report.
    void write_samples() {
        if (!model->trains_generator()) {
            write_report(dir);
            return;
        }
        Tensor images = sample_with(*model, ema.get(), fixed_z);
        if (images.dim() == 4)
            save_image_grid(images, dir + "/samples/" + step_name("step_", step, ".png"));
        else
            save_npy(images, dir + "/samples/" + step_name("step_", step, ".npy"));
        write_report(dir);
    }

    // ---- checkpoints ----
    std::string checkpoint_path(const std::string& name) const {
        return dir + "/checkpoints/" + name;
    }

    // total: training time of the whole run so far (stored, so time_s continues across
    // resumes).
    void save_checkpoint(double total) {
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
        ck.save(checkpoint_path("latest.safetensors"));
        if (checkpoint_every > 0 && step % checkpoint_every == 0)  // numbered copies at the cadence
            ck.save(checkpoint_path(step_name("step_", step, ".safetensors")));
    }

    void restore_checkpoint() {
        const std::string path = checkpoint_path("latest.safetensors");
        ZG_CHECK(fs::exists(path), dir, ": no checkpoint to resume from (", path, " is missing)");
        nn::Checkpoint ck = nn::Checkpoint::load(path);
        model->restore(ck);
        if (ema) ck.restore_ema("ema", *ema);
        ck.restore_rng("train", rng);
        if (health && ck.has_json("health")) health->restore(ck.json("health"));
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
        if (tty) std::fprintf(stderr, "\n");
        if (why == Stop::non_finite) {
            write_report(dir);
            return exit_code(why);
        }
        elapsed += session_seconds();
        if (why == Stop::budget) record_budget_stop();
        save_checkpoint(elapsed);
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
        metrics << line.dump() << "\n" << std::flush;
        config["budget_reached"] = reached;
        const std::string path = dir + "/config.json", tmp = path + ".tmp";
        std::ofstream(tmp) << config.dump(2) << "\n";
        fs::rename(tmp, path);
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

TrainedGan load_trained(const std::string& path, bool use_ema) {
    nn::Checkpoint ck = nn::Checkpoint::load(path);
    const Json& c = ck.json("config");
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

Tensor TrainedGan::generate(const Tensor& z) {
    return sample_with(*model, ema.get(), z);
}

}  // namespace zg::zoo
