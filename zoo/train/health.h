#pragma once
// The training health monitor (ganhacks 10: track failures early). It watches the scalars each
// training step returns over a rolling window of steps and names the failure modes GAN
// training is known for, with the usual remedies:
//   non_finite       a scalar became NaN or ±inf (checked every step)
//   d_loss_collapse  D's loss averages below 0.05 over the window: D wins outright
//                    (losses bounded below by 0 only: not wgan / wgan-gp)
//   grad_norm_d/_g   the median gradient norm of D / G over the window is above 100
//   loss_variance    D's loss has a standard deviation above 1 over the window (for the
//                    unbounded wgan critics: above max(1, |mean|)); healthy D losses vary little
//   d_saturated      D(x) averages above 0.99 and D(G(z)) below 0.01 over the window: D's
//                    sigmoid saturates and G's gradient vanishes (logit losses only: minimax,
//                    ns, rsgan, ragan)
// Each symptom is reported at most once per window of steps. The window and the last report of
// each symptom are state (state()/restore()), saved in checkpoints so a resumed run reports
// exactly what the uninterrupted run would. docs/MODELS.md lists the symptoms and remedies.
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/io/json_reader.h"
#include "zoo/gan.h"

namespace zg::zoo {

struct HealthWarning {
    int64_t step = 0;
    std::string symptom;  // one of the names above
    std::string message;  // one line: what was seen and the usual remedies
};

struct HealthOptions {
    int64_t window = 100;         // steps per window (≥ 2)
    bool loss_floor_zero = true;  // D's loss is ≥ 0 and 0 means D wins (not the wgan critics)
    bool probabilities = true;    // d_real / d_fake are D's probabilities (the logit losses)
    // The config keys of the run's model: a remedy names only the flags it has (empty: all).
    std::set<std::string> keys = {};
    // The run's settings: a remedy never recommends what the run already does (--beta1 0.5 to
    // a run with β₁ 0.5, a gradient penalty to a run that has one).
    Json config = Json::object();
};
// The options for a run's config: health_window, the loss (config "loss", if any) and the
// config's keys.
HealthOptions health_options_from(const Json& config);

class HealthMonitor {
public:
    explicit HealthMonitor(HealthOptions options);
    // Takes the scalars of training step `step` (1-based); returns the warnings it raises.
    std::vector<HealthWarning> observe(int64_t step, const Scalars& scalars);
    Json state() const;
    // A state() read back from a checkpoint; a malformed one is an error naming where it is.
    void restore(const JsonReader& state);
    const HealthOptions options;

private:
    // Whether `symptom` may be reported at `step` (not reported in the last window); if so it
    // is recorded as reported.
    bool fresh(const std::string& symptom, int64_t step);
    bool has_flag(const char* key) const;
    // The run's value of `key` (null when the config does not say).
    Json setting(const char* key) const;
    bool has_penalty() const;  // --reg gp or r1, or wgan-gp's automatic gp
    bool is_critic() const;    // a Wasserstein loss, whose critic wants several steps
    bool has_d_spectral_norm() const;
    std::string flags(const std::vector<const char*>& wanted) const;
    std::string weaken_d() const;
    std::string steady_d() const;
    std::map<std::string, std::deque<double>> history_;  // the last `window` values per scalar
    std::map<std::string, int64_t> last_reported_;       // symptom → step
};

}  // namespace zg::zoo
