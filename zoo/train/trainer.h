#pragma once
// The one GAN training loop every zoo model shares: data, steps, logging, sample grids,
// checkpoints (exact resume), the NaN guard and Ctrl-C. A run directory holds
//   config.json    everything needed to reproduce the run
//   metrics.jsonl  one JSON object per logged step: step, epoch, time_s, then the model's scalars
//   samples/step_NNNNNN.png   grids from a fixed z
//   checkpoints/latest.safetensors and checkpoints/step_NNNNNN.safetensors
//   report.html    loss curves, sample grids over time, the config; rewritten as training goes
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

// A trained model rebuilt from a checkpoint (its config says which model and flags).
struct TrainedGan {
    std::unique_ptr<Gan> model;
    std::shared_ptr<nn::EMA> ema;  // set when sampling from the EMA weights
    // G(z) with the checkpoint's (or the EMA's) weights; BatchNorm uses the statistics of the
    // sample batch, as in training, and G is left unchanged.
    Tensor generate(const Tensor& z);
};
TrainedGan load_trained(const std::string& checkpoint, bool use_ema);

}  // namespace zg::zoo
