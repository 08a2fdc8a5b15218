// The training health monitor (zoo/train/health.h): each symptom on synthetic scalar streams, once
// per window, exact state round trips, and real runs through the trainer: a healthy one stays
// quiet, a D ten times stronger than G and a very high learning rate raise the right warnings,
// and --stop-on-failure stops with exit code 3 and a checkpoint.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "health_runs.h"
#include "report_data.h"
#include "test_util.h"
#include "zoo/train/health.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;
namespace fs = std::filesystem;

namespace {

// A healthy step's scalars, with a small deterministic wobble.
Scalars healthy(int64_t step) {
    const double w = 0.05 * std::sin(0.7 * step);
    return {{"loss_d", 1.3 + w},  {"loss_g", 0.8 - w},    {"d_real", 0.55 + w},
            {"d_fake", 0.45 + w}, {"grad_norm_d", 3 + w}, {"grad_norm_g", 2 + w}};
}

// Every warning `m` raises over steps [from, to] of the stream `scalars`.
template <class F>
std::vector<HealthWarning> feed(HealthMonitor& m, int64_t from, int64_t to, F scalars) {
    std::vector<HealthWarning> out;
    for (int64_t step = from; step <= to; ++step)
        for (auto& w : m.observe(step, scalars(step))) out.push_back(w);
    return out;
}

std::set<std::string> symptoms(const std::vector<HealthWarning>& ws) {
    std::set<std::string> s;
    for (auto& w : ws) s.insert(w.symptom);
    return s;
}

}  // namespace

TEST_CASE("health: a healthy stream raises nothing") {
    HealthMonitor m({20, true, true});
    CHECK(feed(m, 1, 500, healthy).empty());
}

TEST_CASE("health: each symptom on its synthetic stream, named, once per window") {
    const int64_t window = 20;
    struct Case {
        const char* symptom;
        std::function<void(Scalars&, int64_t)> break_it;
    };
    const Case cases[] = {
        {"d_loss_collapse", [](Scalars& s, int64_t) { s["loss_d"] = 0.01; }},
        {"grad_norm_d", [](Scalars& s, int64_t) { s["grad_norm_d"] = 250; }},
        {"grad_norm_g", [](Scalars& s, int64_t) { s["grad_norm_g"] = 250; }},
        {"loss_variance", [](Scalars& s, int64_t t) { s["loss_d"] = t % 2 ? 0.2 : 4.0; }},
        {"d_saturated",
         [](Scalars& s, int64_t) {
             s["d_real"] = 0.999;
             s["d_fake"] = 0.001;
         }},
    };
    for (const Case& c : cases) {
        CAPTURE(c.symptom);
        HealthMonitor m({window, true, true});
        auto broken = [&](int64_t t) {
            Scalars s = healthy(t);
            c.break_it(s, t);
            return s;
        };
        // 100 broken steps: the first full window at step 20 reports, then once per window.
        const auto ws = feed(m, 1, 100, broken);
        REQUIRE(ws.size() == 5);
        CHECK(symptoms(ws) == std::set<std::string>{c.symptom});
        CHECK(ws[0].step == window);
        CHECK(ws[1].step == 2 * window);
        CHECK(zg::testing::contains(ws[0].message, "over the last 20 steps"));
    }
}

TEST_CASE(
    "health: non-finite values are reported at once, critic losses skip the probability "
    "checks") {
    HealthMonitor m({20, true, true});
    Scalars s = healthy(1);
    s["loss_g"] = std::nan("");
    const auto ws = m.observe(1, s);
    REQUIRE(ws.size() == 1);
    CHECK(ws[0].symptom == "non_finite");
    CHECK(zg::testing::contains(ws[0].message, "loss_g"));

    // A WGAN critic's loss sits below 0 and its outputs are not probabilities.
    HealthMonitor critic(health_options_from(Json{{"health_window", 20}, {"loss", "wgan-gp"}}));
    auto wgan = [](int64_t t) {
        Scalars s = healthy(t);
        s["loss_d"] = -0.02 + 0.001 * std::sin(t);
        s["d_real"] = 3.0;
        s["d_fake"] = -3.0;
        return s;
    };
    CHECK(feed(critic, 1, 100, wgan).empty());
    CHECK(health_options_from(Json{{"loss", "lsgan"}}).probabilities == false);
    CHECK(health_options_from(Json{{"loss", "lsgan"}}).loss_floor_zero == true);
}

// A remedy that names a flag the model refuses ("--ndf is not a flag of model 'improved_gan'")
// would send the user in a circle: each names only flags in the run's config.
TEST_CASE("health: the remedies name only flags of the run's model") {
    auto collapse_message = [](const std::string& model) {
        Json c = default_config(model);
        c["health_window"] = 20;
        HealthMonitor m(health_options_from(c));
        auto collapsed = [](int64_t t) {
            Scalars s = healthy(t);
            s["loss_d"] = 0.01;
            return s;
        };
        const auto ws = feed(m, 1, 20, collapsed);
        REQUIRE(ws.size() >= 1);
        CHECK(ws[0].symptom == "d_loss_collapse");
        return ws[0].message;
    };
    using zg::testing::contains;
    const std::string dcgan = collapse_message("dcgan");
    for (const char* flag :
         {"--lr-d", "--ndf", "--instance-noise", "--label-flip", "--spectral-norm"})
        CHECK_MESSAGE(contains(dcgan, flag), flag);
    // dcgan trains D once per step: --n-critic cannot go lower.
    CHECK_FALSE(contains(dcgan, "--n-critic"));
    const std::string improved = collapse_message("improved_gan");
    CHECK(contains(improved, "--lr-d"));
    CHECK(contains(improved, "--real-target"));
    for (const char* flag : {"--ndf", "--n-critic", "--instance-noise", "--spectral-norm"})
        CHECK_MESSAGE(!contains(improved, flag), flag);
}

TEST_CASE("health: the state round trip continues exactly") {
    auto stream = [](int64_t t) {
        Scalars s = healthy(t);
        if (t > 30) s["loss_d"] = 0.01;          // collapses from step 31
        if (t > 50) s["grad_norm_g"] = 100 + t;  // explodes from step 51
        return s;
    };
    HealthMonitor whole({20, true, true});
    const auto all = feed(whole, 1, 120, stream);
    HealthMonitor first({20, true, true});
    feed(first, 1, 57, stream);
    HealthMonitor second({20, true, true});
    const Json saved = Json::parse(first.state().dump());  // through text, as in a checkpoint
    second.restore(JsonReader(saved, "checkpoint"));
    const auto rest = feed(second, 58, 120, stream);
    std::vector<HealthWarning> want;
    for (auto& w : all)
        if (w.step >= 58) want.push_back(w);
    REQUIRE(rest.size() == want.size());
    REQUIRE(!want.empty());
    for (size_t i = 0; i < want.size(); ++i) {
        CHECK(rest[i].step == want[i].step);
        CHECK(rest[i].symptom == want[i].symptom);
        CHECK(rest[i].message == want[i].message);
    }
    HealthMonitor other({10, true, true});
    const Json state = first.state();
    CHECK(zg::testing::contains(
        zg::testing::error_of([&] { other.restore(JsonReader(state, "checkpoint")); }), "window"));
}

TEST_CASE("health: --stop-on-failure stops a run with a very high learning rate") {
    zg::testing::HealthRuns r;
    Json c = r.config(40);
    c["lr_g"] = c["lr_d"] = 0.5;
    c["stop_on_failure"] = true;
    const std::string stopped = r.dir / "stopped";
    CHECK(train(c, stopped, false) == 3);
    // D's loss swings wildly in the first window (measured: std 8.5 around 5.3).
    CHECK(zg::testing::logged_warnings(stopped) == std::set<std::string>{"loss_variance"});
    nn::Checkpoint ck = nn::Checkpoint::load(stopped + "/checkpoints/latest.safetensors");
    CHECK(ck.counter("step") == 10);
    CHECK(ck.has_json("health"));
    const Json warnings = zg::testing::report_data(stopped).at("warnings");
    REQUIRE_FALSE(warnings.empty());  // the page lists and marks them
    CHECK(warnings[0].at("warning") == "loss_variance");
}

// "Use Adam with --beta1 0.5" to a run with β₁ 0.5 sends the user in a circle too: each remedy
// is left out where the run already does it.
TEST_CASE("health: a remedy never recommends what the run already does") {
    auto variance_message = [](Json c) {
        c["health_window"] = 20;
        HealthMonitor m(health_options_from(c));
        auto wild = [](int64_t t) {
            Scalars s = healthy(t);
            s["loss_d"] = t % 2 ? 10.0 : -10.0;  // std 10, above the mean's size and 1
            return s;
        };
        const auto ws = feed(m, 1, 20, wild);
        for (const HealthWarning& w : ws)
            if (w.symptom == "loss_variance") return w.message;
        FAIL("no loss_variance warning");
        return std::string();
    };
    using zg::testing::contains;
    Json c = default_config("dcgan");
    c["beta1"] = 0.9;
    std::string m = variance_message(c);
    CHECK(contains(m, "--beta1 0.5"));
    CHECK(contains(m, "--reg gp"));
    c["beta1"] = 0.5;  // dcgan's default
    c["reg"] = "r1";
    m = variance_message(c);
    CHECK_FALSE(contains(m, "--beta1"));
    CHECK_FALSE(contains(m, "--reg"));
    CHECK(contains(m, "ower the learning rates"));
    // A Wasserstein critic is told to train more per G step, until it does.
    c = default_config("dcgan");
    c["loss"] = "wgan-gp";
    c["reg"] = "auto";
    m = variance_message(c);
    CHECK(contains(m, "--n-critic 5"));
    CHECK_FALSE(contains(m, "--reg gp"));  // wgan-gp has its penalty
    c["n_critic"] = 5;
    CHECK_FALSE(contains(variance_message(c), "--n-critic"));
}
