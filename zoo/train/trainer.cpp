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

#include "nn/data/dataloader.h"
#include "nn/optim/ema.h"
#include "zoo/eval/evaluation.h"
#include "zoo/report/images.h"
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
                {"stop_on_failure", false}};
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
                          "eval_every", "threads", "stop_on_failure"})
        if (key == k) return true;
    return false;
}

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) {
    g_interrupted = true;
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

    std::string checkpoint_path(const std::string& name) const {
        return dir + "/checkpoints/" + name;
    }

    // total_seconds: training time of the whole run so far (stored, so time_s continues across
    // resumes).
    void save_checkpoint(double total_seconds) {
        nn::Checkpoint ck;
        model->save(ck);
        if (ema) ck.add_ema("ema", *ema);
        nn::LoaderState pos = loader->state();
        ck.set_json("config", config)
            .set_counter("step", step)
            .set_counter("loader_epoch", pos.epoch)
            .set_counter("loader_batch", pos.batch)
            .set_counter("elapsed_ms", (int64_t)(total_seconds * 1000))
            .set_rng("train", rng);
        if (health) ck.set_json("health", health->state());
        ck.save(checkpoint_path("latest.safetensors"));
        const int64_t every = config.at("checkpoint_every").get<int64_t>();
        if (every > 0 && step % every == 0)  // numbered copies only at the cadence
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
        loader->set_state({ck.counter("loader_epoch"), ck.counter("loader_batch")});
        step = ck.counter("step");
        elapsed = ck.counter("elapsed_ms") / 1000.0;
    }

    // Held-out measurements, one metrics.jsonl line of their own (step, epoch, time_s, then
    // the scalars); printed too, since they are what a user waits for.
    void evaluate(std::ofstream& metrics, int64_t per_epoch, double total_seconds) {
        Scalars s = model->evaluate();
        // Sample quality (zoo/eval/evaluation.h) only when asked for with --eval-every: the first
        // time may train the evaluation classifier.
        if (config.at("eval_every").get<int64_t>() > 0 && model->trains_generator() &&
            has_sample_quality(config.at("data"))) {
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
        Json line{{"step", step}, {"epoch", (double)step / per_epoch}, {"time_s", total_seconds}};
        std::string text;
        for (auto& [k, v] : s) {
            line[k] = v;
            text += "  " + k + " " + std::to_string(v);
        }
        metrics << line.dump() << "\n" << std::flush;
        std::printf("\neval at step %lld:%s\n", (long long)step, text.c_str());
        std::fflush(stdout);
    }

    // The health monitor's verdict on a step's scalars: each warning is printed as one line
    // and logged to metrics.jsonl as a line of its own (step, epoch, time_s, warning: the
    // symptom, message). Returns whether any was raised.
    bool check_health(const Scalars& s, std::ofstream& metrics, int64_t per_epoch,
                      double total_seconds, bool tty) {
        if (!health) return false;
        const std::vector<HealthWarning> warnings = health->observe(step + 1, s);
        for (const HealthWarning& w : warnings) {
            Json line{{"step", w.step},
                      {"epoch", (double)w.step / per_epoch},
                      {"time_s", total_seconds},
                      {"warning", w.symptom},
                      {"message", w.message}};
            metrics << line.dump() << "\n" << std::flush;
            std::fprintf(stderr, "%swarning at step %lld: %s: %s\n", tty ? "\r\033[K" : "",
                         (long long)w.step, w.symptom.c_str(), w.message.c_str());
        }
        return !warnings.empty();
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
};

}  // namespace

int train(const Json& config_in, const std::string& dir, bool resume) {
    Run run;
    run.config = config_in;
    run.dir = dir;
    const Json& c = run.config;
    if (c.at("threads").get<int>() > 0) omp_set_num_threads(c.at("threads").get<int>());
    ZG_CHECK(resume || !fs::exists(dir) || fs::is_empty(dir), "--out ", dir,
             " already exists and is not empty; choose another directory, or continue that run "
             "with --resume ",
             dir);
    const ModelInfo& info = find_model(c.at("model"));
    const uint64_t seed = c.at("seed").get<uint64_t>();
    const int64_t image_size = c.contains("image_size") ? c.at("image_size").get<int64_t>() : 32;
    run.data = nn::load_dataset(c.at("data"), true, image_size, 0, c.at("data_root"));
    run.config["channels"] = run.data->example_shape()[0];  // so `sample` can rebuild G
    run.config["num_classes"] = run.data->num_classes();    // and a class-conditional one
    run.model = info.build(c, *run.data);
    if (!resume) {  // only once the data and the model are known to be good
        fs::create_directories(dir + "/samples");
        fs::create_directories(dir + "/checkpoints");
        std::ofstream(dir + "/config.json") << c.dump(2) << "\n";
    }
    run.loader = std::make_unique<nn::DataLoader>(run.data, c.at("batch_size").get<int64_t>(), true,
                                                  true, seed);
    run.model->set_batch_source([&run] { return run.loader->next(); });
    run.rng.manual_seed(seed + 1);
    {
        Rng fixed(seed + 2);
        run.fixed_z = run.model->sample_z(c.at("n_samples").get<int64_t>(), fixed);
    }
    if (c.at("ema").get<double>() > 0)
        run.ema = std::make_unique<nn::EMA>(run.model->generator(), c.at("ema").get<double>());
    // The health monitor watches the adversarial game; a run that trains no G has none.
    if (c.value("health_window", int64_t(0)) > 0 && run.model->trains_generator())
        run.health = std::make_unique<HealthMonitor>(health_options_from(c));
    if (resume) run.restore_checkpoint();

    const int64_t per_epoch = run.loader->batches_per_epoch();
    const int64_t target = c.at("steps").get<int64_t>() > 0
                               ? c.at("steps").get<int64_t>()
                               : c.at("epochs").get<int64_t>() * per_epoch;
    const std::string lr_decay = c.at("lr_decay").get<std::string>();
    ZG_CHECK(lr_decay == "constant" || lr_decay == "linear", "--lr-decay must be constant or ",
             "linear, got '", lr_decay, "'");
    // Linear decay: lr(step) = lr · (1 − step/target), a function of the step alone, so a
    // resumed run continues the same schedule.
    auto apply_lr_schedule = [&] {
        if (lr_decay == "linear")
            run.model->set_lr_scale(std::max(0.0, 1.0 - (double)run.step / (double)target));
    };
    apply_lr_schedule();  // a model that cannot decay refuses before any training
    const int64_t log_every = std::max<int64_t>(1, c.at("log_every").get<int64_t>());
    const int64_t sample_every = c.at("sample_every").get<int64_t>();
    const int64_t checkpoint_every = c.at("checkpoint_every").get<int64_t>();
    const int64_t eval_every = c.at("eval_every").get<int64_t>();
    const bool tty = ::isatty(STDERR_FILENO);
    std::printf(
        "%s %s on %s: %lld examples, %lld steps per epoch, target %lld steps, seed %llu, "
        "%d threads\nrun directory: %s\n",
        resume ? "resuming" : "training", info.name.c_str(), run.data->name().c_str(),
        (long long)run.data->size(), (long long)per_epoch, (long long)target,
        (unsigned long long)seed, omp_get_max_threads(), dir.c_str());
    std::fflush(stdout);

    g_interrupted = false;
    auto old_int = std::signal(SIGINT, on_interrupt);
    auto old_term = std::signal(SIGTERM, on_interrupt);
    std::ofstream metrics(dir + "/metrics.jsonl", std::ios::app);
    const auto start = std::chrono::steady_clock::now();
    const int64_t first_step = run.step;
    Window window;
    int code = 0;
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    while (run.step < target) {
        nn::Batch batch = run.loader->next();
        apply_lr_schedule();
        Scalars s = run.model->train_step(batch, run.rng);
        const bool unhealthy =
            run.check_health(s, metrics, per_epoch, run.elapsed + seconds(), tty);
        for (auto& [k, v] : s) {
            if (std::isfinite(v)) continue;
            const std::string last = run.checkpoint_path("latest.safetensors");
            std::fprintf(stderr,
                         "\nerror: %s became %f at step %lld; training stopped. %s Try a "
                         "lower learning rate, another loss, or gradient penalties.\n",
                         k.c_str(), v, (long long)run.step + 1,
                         fs::exists(last) ? ("The last good checkpoint is " + last + ".").c_str()
                                          : "No checkpoint had been written yet.");
            code = 1;
        }
        if (code) break;
        ++run.step;
        if (run.ema) {  // update number run.step, bias-corrected (nn/optim/ema.h)
            run.ema->set_decay(nn::bias_corrected_decay(c.at("ema").get<double>(), run.step));
            run.ema->update(run.model->generator());
        }
        window.add(s);
        const double now = seconds();
        if (run.step % log_every == 0 || run.step == target) {
            Json line{{"step", run.step},
                      {"epoch", (double)run.step / per_epoch},
                      {"time_s", run.elapsed + now}};
            const Scalars m = window.mean();
            for (auto& [k, v] : m) line[k] = v;
            metrics << line.dump() << "\n" << std::flush;
            const double rate = (run.step - first_step) / std::max(now, 1e-9);
            char head[160];
            std::snprintf(head, sizeof head, "step %lld/%lld  epoch %.2f  %.2f it/s  ETA %s",
                          (long long)run.step, (long long)target, (double)run.step / per_epoch,
                          rate,
                          format_duration((target - run.step) / std::max(rate, 1e-9)).c_str());
            std::string msg = head;
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
        if (sample_every > 0 && run.step % sample_every == 0) run.write_samples();
        if (eval_every > 0 && run.step % eval_every == 0 && run.step != target)
            run.evaluate(metrics, per_epoch, run.elapsed + seconds());
        if (checkpoint_every > 0 && run.step % checkpoint_every == 0)
            run.save_checkpoint(run.elapsed + seconds());
        if (g_interrupted) {
            code = 130;
            break;
        }
        if (unhealthy && c.value("stop_on_failure", false)) {
            code = 3;
            break;
        }
    }
    if (tty) std::fprintf(stderr, "\n");
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    if (code == 1) {
        write_report(dir);
        return code;
    }
    run.elapsed += seconds();
    run.save_checkpoint(run.elapsed);
    run.evaluate(metrics, per_epoch, run.elapsed);
    run.write_samples();
    if (code == 3)
        std::printf(
            "stopped by the health monitor at step %lld (--stop-on-failure; the warning is "
            "above and in metrics.jsonl); checkpoint saved. Continue with: zoograd train "
            "--resume %s\n",
            (long long)run.step, dir.c_str());
    else if (code == 130)
        std::printf(
            "interrupted at step %lld; checkpoint saved. Continue with: zoograd train "
            "--resume %s\n",
            (long long)run.step, dir.c_str());
    else
        std::printf("done: %lld steps in %s\n", (long long)run.step,
                    format_duration(run.elapsed).c_str());
    if (run.model->trains_generator())
        std::printf("samples: %s/samples/%s\n", dir.c_str(),
                    step_name("step_", run.step, ".png").c_str());
    std::printf("report:  %s/report.html\ncheckpoint: %s\n", dir.c_str(),
                run.checkpoint_path("latest.safetensors").c_str());
    return code;
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
