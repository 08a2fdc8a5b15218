#include "zoo/train/health.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "zoo/train/flag.h"

namespace zg::zoo {

namespace {

// The thresholds (ganhacks 10 gives the gradient norm of 100; the others are the levels at
// which the symptom is unambiguous for the BCE, least-squares and hinge losses).
constexpr double kCollapsedDLoss = 0.05;
constexpr double kMaxGradNorm = 100;
constexpr double kMaxLossStd = 1.0;
constexpr double kSaturatedReal = 0.99, kSaturatedFake = 0.01;

double mean_of(const std::deque<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / v.size();
}

double std_of(const std::deque<double>& v) {
    const double m = mean_of(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / v.size());
}

double median_of(const std::deque<double>& v) {
    std::vector<double> s(v.begin(), v.end());
    std::nth_element(s.begin(), s.begin() + s.size() / 2, s.end());
    return s[s.size() / 2];
}

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

}  // namespace

// Whether the run's model takes `key` (every key does when `keys` is empty).
bool HealthMonitor::has_flag(const char* key) const {
    return options.keys.empty() || options.keys.count(key);
}

Json HealthMonitor::setting(const char* key) const {
    return options.config.contains(key) ? options.config.at(key) : Json();
}

bool HealthMonitor::has_penalty() const {
    const std::string reg = setting("reg").is_string() ? setting("reg").get<std::string>() : "";
    return reg.find("gp") != std::string::npos || reg.find("r1") != std::string::npos ||
           (reg == "auto" && setting("loss") == "wgan-gp");
}

bool HealthMonitor::is_critic() const {
    return setting("loss") == "wgan" || setting("loss") == "wgan-gp";
}

bool HealthMonitor::has_d_spectral_norm() const {
    return setting("spectral_norm") == "d" || setting("spectral_norm") == "both";
}

// "--a, --b" for the keys among `wanted` the model has.
std::string HealthMonitor::flags(const std::vector<const char*>& wanted) const {
    std::string out;
    for (const char* k : wanted)
        if (has_flag(k)) out += (out.empty() ? "" : ", ") + flag_of(k);
    return out;
}

// The usual ways to weaken a D that wins, in the flags of this model and only those that would
// change the run (no lowering --n-critic below 1, no --instance-noise where there is some).
std::string HealthMonitor::weaken_d() const {
    std::vector<std::string> ways;
    std::vector<const char*> lower = {"lr_d", "ndf"};
    if (!setting("n_critic").is_number() || setting("n_critic").get<int64_t>() > 1)
        lower.push_back("n_critic");
    if (auto f = flags(lower); !f.empty()) ways.push_back("lower " + f);
    const bool noisy =
        setting("instance_noise").is_number() && setting("instance_noise").get<double>() > 0;
    if (has_flag("instance_noise") && !noisy) ways.push_back("add --instance-noise");
    if (auto f = flags({"real_label", "label_flip", "one_sided_smoothing", "real_target"});
        !f.empty())
        ways.push_back("soften D's targets (" + f + ")");
    if (has_flag("spectral_norm") && !has_d_spectral_norm())
        ways.push_back("use --spectral-norm d");
    std::string out = "Weaken D";
    for (size_t i = 0; i < ways.size(); ++i) out += (i ? ", " : ": ") + ways[i];
    return out;
}

// The remedies for an unstable D loss that this run does not already use.
std::string HealthMonitor::steady_d() const {
    std::vector<std::string> ways = {"lower the learning rates"};
    // Wasserstein critics are meant to be trained to near optimality between G steps.
    if (is_critic() && has_flag("n_critic") &&
        (!setting("n_critic").is_number() || setting("n_critic").get<int64_t>() < 5))
        ways.push_back("train the critic more per G step (--n-critic 5)");
    const bool adam_half = setting("optim_d") == "adam" && setting("beta1") == Json(0.5);
    if (has_flag("beta1") && !adam_half && !is_critic())
        ways.push_back("use Adam with --beta1 0.5");
    if (has_flag("reg") && !has_penalty()) ways.push_back("add a gradient penalty (--reg gp)");
    std::string out;
    for (size_t i = 0; i < ways.size(); ++i)
        out += (i == 0 ? "" : i + 1 == ways.size() ? ", or " : ", ") + ways[i];
    out[0] = (char)std::toupper((unsigned char)out[0]);
    return out;
}

HealthOptions health_options_from(const Json& c) {
    HealthOptions o;
    o.config = c;
    for (auto& item : c.items()) o.keys.insert(item.key());
    o.window = c.value("health_window", o.window);
    const std::string loss = c.value("loss", std::string("ns"));
    // The wgan critics' loss is unbounded below; d_real / d_fake are probabilities for the
    // logit losses only (raw outputs for the least-squares, hinge and critic losses).
    o.loss_floor_zero = loss != "wgan" && loss != "wgan-gp";
    o.probabilities = loss == "minimax" || loss == "ns" || loss == "rsgan" || loss == "ragan";
    return o;
}

HealthMonitor::HealthMonitor(HealthOptions o) : options(o) {
    ZG_CHECK(o.window >= 2,
             "--health-window must be at least 2 steps (0 turns the monitor off), "
             "got ",
             o.window);
}

bool HealthMonitor::fresh(const std::string& symptom, int64_t step) {
    auto it = last_reported_.find(symptom);
    if (it != last_reported_.end() && step - it->second < options.window) return false;
    last_reported_[symptom] = step;
    return true;
}

std::vector<HealthWarning> HealthMonitor::observe(int64_t step, const Scalars& s) {
    std::vector<HealthWarning> out;
    auto report = [&](const std::string& symptom, const std::string& message) {
        if (fresh(symptom, step)) out.push_back({step, symptom, message});
    };
    for (auto& [k, v] : s) {
        if (!std::isfinite(v)) {
            std::string fixes = "lower the learning rate";
            if (has_flag("reg") && !has_penalty()) fixes += ", use a gradient penalty (--reg gp)";
            if (has_flag("spectral_norm") && !has_d_spectral_norm())
                fixes += ", use --spectral-norm";
            report("non_finite", k + " is " + fmt(v) + ": " + fixes + ", check the data");
            continue;
        }
        auto& h = history_[k];
        h.push_back(v);
        if ((int64_t)h.size() > options.window) h.pop_front();
    }
    // The window statistics of `key`, once a full window of it has been seen.
    auto full = [&](const char* key) -> const std::deque<double>* {
        auto it = history_.find(key);
        return it != history_.end() && (int64_t)it->second.size() == options.window ? &it->second
                                                                                    : nullptr;
    };
    const std::string over = " over the last " + std::to_string(options.window) + " steps";
    if (auto* d = full("loss_d")) {
        const double m = mean_of(*d), sd = std_of(*d);
        if (options.loss_floor_zero && m < kCollapsedDLoss)
            report("d_loss_collapse", "D loss collapsed toward 0 (mean " + fmt(m) + over +
                                          "): D wins outright. " + weaken_d());
        const double limit =
            options.loss_floor_zero ? kMaxLossStd : std::max(kMaxLossStd, std::abs(m));
        if (sd > limit)
            report("loss_variance", "D loss varies wildly (std " + fmt(sd) + ", mean " + fmt(m) +
                                        over + "): training is unstable. " + steady_d());
    }
    for (const char* net : {"d", "g"}) {
        const std::string key = std::string("grad_norm_") + net;
        if (auto* g = full(key.c_str())) {
            const double med = median_of(*g);
            if (med > kMaxGradNorm)
                report(key, std::string(net[0] == 'd' ? "D" : "G") + "'s gradient norm is " +
                                fmt(med) + " (median" + over + ", above " + fmt(kMaxGradNorm) +
                                "): lower the learning rate" +
                                (has_flag("reg") && !has_penalty()
                                     ? ", add normalization or a gradient penalty (--reg gp / r1)"
                                     : ""));
        }
    }
    if (options.probabilities)
        if (auto* real = full("d_real"))
            if (auto* fake = full("d_fake")) {
                const double r = mean_of(*real), f = mean_of(*fake);
                if (r > kSaturatedReal && f < kSaturatedFake)
                    report("d_saturated",
                           "D saturates: D(x) " + fmt(r) + ", D(G(z)) " + fmt(f) + over +
                               ", so G's gradient vanishes. " +
                               (has_flag("loss") ? "Keep the non-saturating G loss (--loss ns). "
                                                 : "") +
                               weaken_d());
            }
    return out;
}

Json HealthMonitor::state() const {
    Json h = Json::object(), r = Json::object();
    for (auto& [k, v] : history_) h[k] = std::vector<double>(v.begin(), v.end());
    for (auto& [k, v] : last_reported_) r[k] = v;
    return Json{{"window", options.window}, {"history", h}, {"reported", r}};
}

void HealthMonitor::restore(const JsonReader& state) {
    ZG_CHECK(state.integer("window") == options.window,
             "the checkpoint's health monitor window differs from --health-window ",
             options.window);
    history_.clear();
    last_reported_.clear();
    const JsonReader history = state.at("history");
    for (const auto& item : history.object().items()) {
        const std::vector<double> values = history.at(item.key()).as_numbers();
        history_[item.key()] = std::deque<double>(values.begin(), values.end());
    }
    const JsonReader reported = state.at("reported");
    for (const auto& item : reported.object().items())
        last_reported_[item.key()] = reported.integer(item.key());
}

}  // namespace zg::zoo
