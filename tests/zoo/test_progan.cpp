#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "engine/ops.h"
#include "nn/checkpoint.h"
#include "progan_tiny.h"
#include "report_data.h"
#include "test_util.h"
#include "zoo/models/progan/networks.h"
#include "zoo/registry.h"
#include "zoo/report/images.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;
namespace fs = std::filesystem;

namespace {

std::vector<float> values(const Tensor& t) {
    return t.contiguous().to_vector<float>();
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
    return amax(abs(a - b)).item<double>();
}

}  // namespace

TEST_CASE("progan networks: feature maps, output shapes per phase, and parameter names") {
    const ProganConfig c = testing::tiny_progan_config();
    CHECK(c.levels() == 3);  // 4, 8, 16
    CHECK(c.nf(0) == 8);     // min(32 / 1, 8)
    CHECK(c.nf(2) == 8);
    CHECK(c.nf(3) == 4);  // 32 / 8
    Rng init(1);
    ProganGenerator g(c, &init);
    ProganDiscriminator d(c, &init);
    Rng gen(2);
    const Tensor z = randn({4, 8}, &gen);
    for (int64_t r : {4, 8, 16}) {
        g.set_phase(r, 1);
        d.set_phase(r, 1);
        const Tensor x = g.forward(z);
        CHECK(x.shape() == Shape{4, 1, r, r});
        CHECK(d.forward(x).shape() == Shape{4});
    }
    const auto sd = g.state_dict();
    for (const char* k :
         {"block4.1.weight", "block4.1.bias", "block8.1.weight", "to_rgb16.0.weight"})
        CHECK_MESSAGE(sd.count(k) == 1, k);
    CHECK(d.state_dict().count("from_rgb16.0.weight") == 1);
    using testing::contains;
    using testing::error_of;
    CHECK(contains(error_of([&] { g.set_phase(32, 1); }), "no resolution 32"));
    CHECK(contains(error_of([&] { g.set_phase(4, 0.5); }), "nothing to fade in"));
    CHECK(contains(error_of([&] { d.forward(zeros({4, 1, 8, 8})); }), "at the current phase"));
    ProganConfig bad = c;
    bad.resolution = 24;
    CHECK(contains(error_of([&] { ProganGenerator(bad, nullptr); }), "power of two"));
}

TEST_CASE("progan networks: at alpha 0 the grown networks are exactly the previous stage") {
    const ProganConfig c = testing::tiny_progan_config();
    Rng init(3);
    ProganGenerator g(c, &init);
    ProganDiscriminator d(c, &init);
    Rng gen(4);
    const Tensor z = randn({4, 8}, &gen);
    const Tensor x = uniform({4, 1, 16, 16}, -1, 1, &gen);
    NoGradGuard ng;
    g.set_phase(8, 1);
    const Tensor before = upsample_nearest2d(g.forward(z), 2);
    g.set_phase(16, 0);
    CHECK(values(g.forward(z)) == values(before));
    d.set_phase(8, 1);
    const Tensor d_before = d.forward(avg_pool2d(x, 2));
    d.set_phase(16, 0);
    CHECK(max_abs_diff(d.forward(x), d_before) == 0);
    // Mid-fade the output is the blend of the two.
    g.set_phase(16, 1);
    const Tensor after = g.forward(z);
    g.set_phase(16, 0.3);
    CHECK(max_abs_diff(g.forward(z), before + (after - before) * 0.3) < 1e-6);
}

TEST_CASE("progan networks: equalized LR stores N(0, 1) weights, biases start at 0") {
    ProganConfig c = testing::tiny_progan_config();
    c.fmap_base = 512;
    c.fmap_max = 64;
    Rng init(5);
    ProganGenerator g(c, &init);
    const Tensor w = g.state_dict().at("block8.1.weight");  // conv 64 → 64, 3×3: 36864 values
    const double mean_w = mean(w).item<double>();
    const double std_w = std::sqrt(mean((w - mean_w) * (w - mean_w)).item<double>());
    CHECK(std::abs(mean_w) < 0.02);
    CHECK(std::abs(std_w - 1) < 0.02);
    CHECK(amax(abs(g.state_dict().at("block8.1.bias"))).item<double>() == 0);
    // Without it, the initial weights carry He's scale √2/√fan_in themselves.
    c.equalized_lr = false;
    Rng init2(5);
    ProganGenerator plain(c, &init2);
    const Tensor p = plain.state_dict().at("block8.1.weight");
    const double std_p = std::sqrt(mean(p * p).item<double>());
    CHECK(std::abs(std_p - std::sqrt(2.0 / (64 * 9))) < 0.002);
}

TEST_CASE("progan reals: pooled to the phase, blended with their coarser version while fading") {
    Rng gen(6);
    const Tensor x = uniform({2, 1, 16, 16}, -1, 1, &gen);
    const Tensor x8 = avg_pool2d(x, 2);
    CHECK(max_abs_diff(progan_reals(x, 8, 1), x8) == 0);
    const Tensor coarse = upsample_nearest2d(avg_pool2d(x8, 2), 2);
    CHECK(max_abs_diff(progan_reals(x, 8, 0.25), coarse + (x8 - coarse) * 0.25) < 1e-6);
    CHECK(max_abs_diff(progan_reals(x, 16, 1), x) == 0);
    CHECK(
        testing::contains(testing::error_of([&] { progan_reals(x, 32, 1); }), "cannot be pooled"));
}

namespace {

// A run config of the tiny progan of progan_tiny.h: `kimg` images stable and as many fading in
// per resolution, quiet (no grids or numbered checkpoints, no health monitor), on one thread
// (tiny nets: more threads only wait on each other).
Json tiny_run_config(int64_t image_size, double kimg, double total_kimg,
                     const std::string& batch_sizes, uint64_t seed) {
    const ProganConfig tiny = testing::tiny_progan_config();
    Json c = default_config("progan");
    c["image_size"] = image_size;
    c["nz"] = tiny.nz;
    c["fmap_base"] = tiny.fmap_base;
    c["fmap_max"] = tiny.fmap_max;
    c["stable_kimg"] = kimg;
    c["fade_kimg"] = kimg;
    c["total_kimg"] = total_kimg;
    c["batch_sizes"] = batch_sizes;
    c["sample_every"] = 0;
    c["checkpoint_every"] = 0;
    c["n"] = 4;
    c["seed"] = seed;
    c["health_window"] = 0;
    c["threads"] = 1;
    return c;
}

struct ProganRun {
    testing::TempDir dir{"zg_progan"};
    ProganRun() { testing::write_tiny_mnist(dir.path / "data"); }
    std::string run(const std::string& name) const { return (dir.path / name).string(); }
    // 64 tiny digits resized to 16×16, growing 4 → 8 → 16 (32 images stable, 32 fading in, per
    // resolution) with batches of 8, 8 and 4, logging every step.
    Json config(double total_kimg) const {
        Json c = tiny_run_config(16, 0.032, total_kimg, "4:8,8:8,16:4", 3);
        c["data_root"] = (dir.path / "data").string();
        c["log_every"] = 1;
        return c;
    }
};

std::map<std::string, std::vector<float>> float_state(const std::string& checkpoint) {
    nn::Checkpoint ck = nn::Checkpoint::load(checkpoint);
    std::map<std::string, std::vector<float>> out;
    for (const char* part : {"G", "D", "opt_G", "opt_D", "ema"})
        for (auto& [k, t] : ck.state(part))
            if (is_floating(t.dtype())) out[std::string(part) + "/" + k] = t.to_vector<float>();
    return out;
}

}  // namespace

TEST_CASE("progan: trains through every phase, and resuming mid-fade gives the same bytes") {
    ProganRun s;
    const Json whole = s.config(0.2);
    REQUIRE(train(whole, s.run("whole"), false) == 0);
    // Every phase was logged: resolutions 4, 8 and 16, fades with 0 < α < 1, kimg to the end.
    std::ifstream m(s.run("whole") + "/metrics.jsonl");
    std::string line;
    std::set<int64_t> resolutions;
    bool faded = false;
    double last_kimg = 0;
    while (std::getline(m, line)) {
        const Json j = Json::parse(line);
        if (!j.contains("resolution")) continue;
        resolutions.insert(j.at("resolution").get<int64_t>());
        const double a = j.at("alpha").get<double>();
        faded = faded || (a > 0 && a < 1);
        last_kimg = j.at("kimg").get<double>();
    }
    CHECK(resolutions == std::set<int64_t>{4, 8, 16});
    CHECK(faded);
    CHECK(last_kimg >= 0.2);
    // The report's schedule table and markers: where each phase began, in order.
    std::vector<std::pair<int, bool>> phases;
    const Json listed = testing::report_data(s.run("whole")).at("phases");
    INFO("the report's phases: ", listed.dump());
    for (const Json& p : listed)
        phases.emplace_back(p.at("resolution").get<int>(), p.at("fading").get<bool>());
    CHECK(phases == std::vector<std::pair<int, bool>>{
                        {4, false}, {8, true}, {8, false}, {16, true}, {16, false}});
    // The same run stopped in the first fade (0.048 kimg: 4×4 stable until 0.032) and resumed.
    REQUIRE(train(s.config(0.048), s.run("split"), false) == 0);
    Json resumed = Json::parse(std::ifstream(s.run("split") + "/config.json"));
    resumed["total_kimg"] = 0.2;
    // total_kimg is the run's length, like --steps: the one thing a resume may change.
    REQUIRE(train(resumed, s.run("split"), true) == 0);
    auto a = float_state(s.run("whole") + "/checkpoints/latest.safetensors");
    auto b = float_state(s.run("split") + "/checkpoints/latest.safetensors");
    REQUIRE(a.size() == b.size());
    for (auto& [k, v] : a) CHECK_MESSAGE(v == b.at(k), k);
    // A checkpoint samples at the resolution it reached.
    TrainedGan t = load_trained(s.run("whole") + "/checkpoints/latest.safetensors", true);
    Rng gen(1);
    CHECK(t.generate(t.model->sample_z(2, gen)).shape() == Shape{2, 1, 16, 16});
}

TEST_CASE("progan: G's moving average restarts when a fade begins, and not before") {
    // 4×4 trains alone for 32 images (4 steps of 8); step 5 is the first of the fade into 8×8.
    // Its update starts the EMA afresh (a bias-corrected decay of 0), so after it the average is
    // G itself; after step 4 it is still a mix of four steps' weights.
    ProganRun s;
    auto ema_equals_g = [&](double kimg, const std::string& name) {
        REQUIRE(train(s.config(kimg), s.run(name), false) == 0);
        nn::Checkpoint ck = nn::Checkpoint::load(s.run(name) + "/checkpoints/latest.safetensors");
        const nn::StateDict g = ck.state("G"), ema = ck.state("ema");
        bool equal = true;
        for (auto& [k, t] : g)
            if (is_floating(t.dtype()))
                equal = equal && t.to_vector<float>() == ema.at(k).to_vector<float>();
        return equal;
    };
    CHECK_FALSE(ema_equals_g(0.032, "stable"));
    CHECK(ema_equals_g(0.040, "fade_begun"));
}

TEST_CASE("progan: refuses --steps, bad batch sizes and a data size that is not its own") {
    ProganRun s;
    using testing::contains;
    using testing::error_of;
    Json c = s.config(0.1);
    c["steps"] = 10;
    CHECK(contains(error_of([&] { train(c, s.run("a"), false); }), "--total-kimg"));
    c = s.config(0.1);
    c["batch_sizes"] = "4:6";
    CHECK(contains(error_of([&] { train(c, s.run("b"), false); }), "--mbstd-group"));
    c = s.config(0.1);
    c["batch_sizes"] = "4:128";
    CHECK(contains(error_of([&] { train(c, s.run("c"), false); }), "larger than the data set"));
    c = s.config(0.1);
    c["image_size"] = 24;
    CHECK(contains(error_of([&] { train(c, s.run("d"), false); }), "power of two"));
}

TEST_CASE("progan: a 64x64 RGB image folder trains, resumes mid-fade exactly and samples") {
    testing::TempDir dir{"zg_progan_rgb"};
    Rng gen(8);
    save_images(uniform({8, 3, 64, 64}, -1, 1, &gen), (dir.path / "images").string());
    auto config = [&](double total_kimg) {
        Json c = tiny_run_config(64, 0.008, total_kimg, "4:4", 4);
        c["data"] = (dir.path / "images").string();
        return c;
    };
    const std::string whole = (dir.path / "whole").string(), split = (dir.path / "split").string();
    REQUIRE(train(config(0.08), whole, false) == 0);   // 4 growths of 16 images, then 16 at 64×64
    REQUIRE(train(config(0.012), split, false) == 0);  // stopped in the fade into 8×8
    Json resumed = Json::parse(std::ifstream(split + "/config.json"));
    resumed["total_kimg"] = 0.08;
    REQUIRE(train(resumed, split, true) == 0);
    auto a = float_state(whole + "/checkpoints/latest.safetensors");
    auto b = float_state(split + "/checkpoints/latest.safetensors");
    REQUIRE(a.size() == b.size());
    for (auto& [k, v] : a) CHECK_MESSAGE(v == b.at(k), k);
    TrainedGan t = load_trained(whole + "/checkpoints/latest.safetensors", true);
    Rng z(1);
    CHECK(t.generate(t.model->sample_z(2, z)).shape() == Shape{2, 3, 64, 64});
}
