#pragma once
// Tiny DCGAN runs through the trainer for the health-monitor tests (test_health.cpp and
// test_health_slow.cpp).
#include <fstream>
#include <set>
#include <string>

#include "test_util.h"
#include "zoo/train/trainer.h"

namespace zg::testing {

struct HealthRuns {
    zg::testing::TempDir dir{"zg_health"};
    HealthRuns() { zg::testing::write_tiny_mnist(dir.path / "data"); }

    // A tiny DCGAN run config with a 10-step health window.
    zoo::Json config(int64_t steps) const {
        zoo::Json c = zoo::default_config("dcgan");
        c["data_root"] = (dir.path / "data").string();
        c["nz"] = 8;
        c["ngf"] = 4;
        c["ndf"] = 4;
        c["batch_size"] = 16;
        c["steps"] = steps;
        c["sample_every"] = 0;
        c["checkpoint_every"] = 0;
        c["log_every"] = 10;
        c["n"] = 4;
        c["seed"] = 3;
        c["health_window"] = 10;
        return c;
    }
};

inline std::set<std::string> logged_warnings(const std::string& run) {
    std::set<std::string> out;
    std::ifstream in(run + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        zoo::Json j = zoo::Json::parse(line);
        if (j.contains("warning")) out.insert(j.at("warning").get<std::string>());
    }
    return out;
}

}  // namespace zg::testing
