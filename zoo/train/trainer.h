#pragma once
// The one GAN training loop every zoo model shares: data, steps, logging, sample grids,
// checkpoints (exact resume), the NaN guard and Ctrl-C. A run directory holds
//   config.json    everything needed to reproduce the run
//   metrics.jsonl  one JSON object per logged step: step, epoch, time_s, then the model's scalars
//                  (and {step, "resumed": true, time_s} where a --resume continued the run)
//   samples/step_NNNNNN.png   grids from a fixed z
//   checkpoints/latest.safetensors and checkpoints/step_NNNNNN.safetensors
//   report.html    curves, samples over time, warnings, the config (zoo/report/report.h);
//                  rewritten as training goes
#include <string>

#include "nn/optim/ema.h"
#include "zoo/gan.h"

namespace zg::zoo {

// The flags every model takes, with their defaults (models add their own, see ModelInfo in
// zoo/registry.h).
Json common_defaults();
// A run's config before any flag is given: the common flags, the model's own, and its name
// (a zg::Error listing the known models if there is no such model).
Json default_config(const std::string& model);
// Which keys may change when resuming (the target and the logging cadence).
bool resumable_key(const std::string& key);

// Trains config["model"] on config["data"] into run_dir (created; must not already hold a run
// unless resuming, in which case config must be the run's own config.json with only resumable
// keys changed). Returns the process exit code: 0 done (the target, or --minutes spent), 1
// stopped by a non-finite loss,
// 3 stopped by the health monitor (--stop-on-failure; a checkpoint was saved first),
// 128 + the signal's number when SIGINT (130), SIGTERM (143) or SIGHUP (129) stopped it (a
// checkpoint was saved first).
int train(const Json& config, const std::string& run_dir, bool resume);

// --sample-every auto: the largest round number of steps (1, 2 or 5 × 10^k) that gives at least
// 10 grids over a run of `target` steps, so 10 to 25 of them whatever its length
// (pytorch/examples saves one every 100 batches, which suits its epochs but not a 300-step run).
int64_t auto_sample_every(int64_t target);

// A trained model rebuilt from a checkpoint (its config says which model and flags).
struct TrainedGan {
    std::unique_ptr<Gan> model;
    std::shared_ptr<nn::EMA> ema;  // set when sampling from the EMA weights
    Shape example_shape;           // of one sample at the trained resolution: [C, S, S] or [C]
    // G(z) with the checkpoint's (or the EMA's) weights, in batches of at most 500, each the
    // batch BatchNorm takes its statistics from, as in training; G is left unchanged. A
    // progress line named `progress` when that is not empty. Refuses samples that are not
    // finite (a diverged checkpoint).
    Tensor generate(const Tensor& z, const std::string& progress = "");
    // Refuses, naming `flag`, a request for n samples that does not fit in memory.
    void check_fits(int64_t n, const std::string& flag) const;
};
// A trained model from a checkpoint file or a run directory (its latest checkpoint).
TrainedGan load_trained(const std::string& run_or_checkpoint, bool use_ema);

}  // namespace zg::zoo
