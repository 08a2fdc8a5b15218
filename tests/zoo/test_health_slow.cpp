// The health monitor on real (tiny) DCGAN runs of 40 steps through the trainer: a healthy run
// stays quiet, a D ten times stronger than G and a very high learning rate raise the warnings
// they should. Slow (about a minute on a busy 2-core machine), so labelled `slow`.
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

TEST_CASE("health: a healthy short run raises no warning") {
    zg::testing::HealthRuns r;
    const std::string run = r.dir / "healthy";
    REQUIRE(train(r.config(40), run, false) == 0);
    CHECK(zg::testing::logged_warnings(run).empty());
}

TEST_CASE("health: a D ten times stronger than G (ndf 10x ngf, lr_d 10x lr_g) is caught") {
    zg::testing::HealthRuns r;
    Json c = r.config(40);
    c["ndf"] = 40;
    c["lr_d"] = 2e-3;
    const std::string run = r.dir / "strong_d";
    REQUIRE(train(c, run, false) == 0);
    const auto ws = zg::testing::logged_warnings(run);
    // Measured: D wins outright from the first window, and G's gradient grows past 100.
    CHECK(ws == std::set<std::string>{"d_loss_collapse", "d_saturated", "grad_norm_g"});
    bool listed = false;  // the page lists and marks the warning
    for (const Json& w : zg::testing::report_data(run).at("warnings"))
        listed = listed || w.at("warning") == "d_loss_collapse";
    CHECK(listed);
}

TEST_CASE("health: a very high learning rate is caught") {
    zg::testing::HealthRuns r;
    Json c = r.config(40);
    c["lr_g"] = c["lr_d"] = 0.5;
    const std::string run = r.dir / "high_lr";
    REQUIRE(train(c, run, false) == 0);
    // Measured: unstable at first (loss_variance at step 10), then D wins outright.
    CHECK(zg::testing::logged_warnings(run) ==
          std::set<std::string>{"loss_variance", "d_loss_collapse", "d_saturated"});
}
