#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nn/checkpoint.h"
#include "report_data.h"
#include "test_util.h"
#include "zoo/train/run_lock.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;
namespace fs = std::filesystem;

namespace {

// A scratch directory holding a tiny MNIST-layout data set (64 random 28×28 digits).
struct Scratch {
    zg::testing::TempDir dir{"zg_trainer"};
    fs::path root = dir.path;
    Scratch() { testing::write_tiny_mnist(root / "data"); }
    std::string run(const std::string& name) const { return (root / name).string(); }

    // A small DCGAN config that trains in well under a second per step.
    Json config(int64_t steps) const {
        Json c = default_config("dcgan");
        c["data_root"] = (root / "data").string();
        c["nz"] = 8;
        c["ngf"] = 8;
        c["ndf"] = 8;
        c["batch_size"] = 16;
        c["steps"] = steps;
        c["sample_every"] = 2;
        c["checkpoint_every"] = 2;
        c["log_every"] = 1;
        c["n"] = 4;
        c["seed"] = 5;
        return c;
    }
};

std::map<std::string, std::vector<float>> weights(const std::string& checkpoint) {
    nn::Checkpoint ck = nn::Checkpoint::load(checkpoint);
    std::map<std::string, std::vector<float>> out;
    for (const char* part : {"G", "D", "opt_G", "opt_D"})
        for (auto& [k, t] : ck.state(part))
            if (is_floating(t.dtype())) out[std::string(part) + "/" + k] = t.to_vector<float>();
    return out;
}

}  // namespace

TEST_CASE("trainer: a few steps write every file of the run directory") {
    Scratch s;
    const std::string dir = s.run("run");
    REQUIRE(train(s.config(4), dir, false) == 0);
    for (const char* f :
         {"config.json", "metrics.jsonl", "report.html", "samples/step_000002.png",
          "samples/step_000004.png", "checkpoints/latest.safetensors",
          "checkpoints/step_000002.safetensors", "checkpoints/step_000004.safetensors"})
        CHECK_MESSAGE(fs::exists(dir + "/" + f), f);
    std::ifstream metrics(dir + "/metrics.jsonl");
    std::string line;
    int lines = 0;
    while (std::getline(metrics, line)) {
        Json j = Json::parse(line);
        for (const char* k : {"step", "epoch", "time_s", "loss_d", "loss_g", "d_real", "d_fake"})
            CHECK_MESSAGE(j.contains(k), k);
        ++lines;
    }
    CHECK(lines == 4);
    const Json page = testing::report_data(dir);
    CHECK_FALSE(page.at("series").at("loss_d").empty());
    CHECK(page.at("grids").back().at("src") == "samples/step_000004.png");
    CHECK(page.at("live") == false);  // a finished run's page stops reloading
    Json config = Json::parse(std::ifstream(dir + "/config.json"));
    CHECK(config.at("seed") == 5);
    CHECK(config.at("channels") == 1);
    // The checkpoint rebuilds the generator for sampling.
    TrainedGan g = load_trained(dir + "/checkpoints/latest.safetensors", false);
    Rng gen(1);
    CHECK(g.generate(g.model->sample_z(3, gen)).shape() == Shape{3, 1, 32, 32});
    CHECK_THROWS_AS(load_trained(dir + "/checkpoints/latest.safetensors", true), Error);
}

TEST_CASE("trainer: N steps in one go equal N/2 steps plus --resume, bit for bit") {
    Scratch s;
    Json c = s.config(6);
    c["ema"] = 0.9;  // the EMA is part of the state that must resume exactly
    REQUIRE(train(c, s.run("whole"), false) == 0);
    Json half = c;
    half["steps"] = 3;
    REQUIRE(train(half, s.run("split"), false) == 0);
    // Resuming changes the target (and may change the cadence) but nothing else.
    Json resumed = Json::parse(std::ifstream(s.run("split") + "/config.json"));
    resumed["steps"] = 6;
    resumed["sample_every"] = 5;
    REQUIRE(train(resumed, s.run("split"), true) == 0);
    auto a = weights(s.run("whole") + "/checkpoints/latest.safetensors");
    auto b = weights(s.run("split") + "/checkpoints/latest.safetensors");
    REQUIRE(a.size() == b.size());
    for (auto& [k, v] : a) CHECK_MESSAGE(v == b.at(k), k);
    auto ema_a =
        nn::Checkpoint::load(s.run("whole") + "/checkpoints/latest.safetensors").state("ema");
    auto ema_b =
        nn::Checkpoint::load(s.run("split") + "/checkpoints/latest.safetensors").state("ema");
    for (auto& [k, t] : ema_a)
        if (is_floating(t.dtype())) CHECK(t.to_vector<float>() == ema_b.at(k).to_vector<float>());
    // metrics.jsonl of the resumed run continues where it stopped, with a line that marks the
    // resume (report.html draws it).
    std::ifstream m(s.run("split") + "/metrics.jsonl");
    std::string line, last;
    std::vector<Json> resumes;
    int n = 0;
    while (std::getline(m, line)) {
        const Json j = Json::parse(line);
        if (j.contains("resumed"))
            resumes.push_back(j);
        else
            last = line, ++n;
    }
    CHECK(n == 6);
    CHECK(Json::parse(last).at("step") == 6);
    REQUIRE(resumes.size() == 1);
    CHECK(resumes[0].at("step") == 3);
}

// A constant-decay average that starts at G's random init would still be 99.9% init here.
TEST_CASE("trainer: the --ema average is bias-corrected: after one step it is G's weights") {
    Scratch s;
    Json c = s.config(1);
    c["ema"] = 0.999;
    REQUIRE(train(c, s.run("ema"), false) == 0);
    nn::Checkpoint ck = nn::Checkpoint::load(s.run("ema") + "/checkpoints/latest.safetensors");
    const nn::StateDict& g = ck.state("G");
    for (const auto& [k, t] : ck.state("ema"))
        if (is_floating(t.dtype()))
            CHECK_MESSAGE(t.to_vector<float>() == g.at(k).to_vector<float>(), k);
}

TEST_CASE("trainer: --lr-decay linear trains, an unknown schedule is refused") {
    Scratch s;
    Json c = s.config(4);
    c["lr_decay"] = "linear";
    CHECK(train(c, s.run("linear"), false) == 0);
    c["lr_decay"] = "cosine";
    CHECK(testing::contains(testing::error_of([&] { train(c, s.run("cosine"), false); }),
                            "--lr-decay must be constant or linear"));
}

// The health monitor watches an adversarial game. sgan --supervised-only plays none: its D loss
// is the supervised cross-entropy, which falls to ~0 as the few labels are learnt, and that must
// not be reported as "D wins outright".
TEST_CASE(
    "trainer: no GAN health warnings and no samples for a run without a G (sgan "
    "--supervised-only)") {
    Scratch s;
    Json c = default_config("sgan");
    c["data_root"] = (s.root / "data").string();
    c["dropout"] = 0.0;
    c["lr_d"] = 2e-2;
    c["supervised_only"] = true;
    c["labels"] = 10;
    c["ndf"] = 8;
    c["batch_size"] = 10;
    c["steps"] = 60;
    c["health_window"] = 10;
    c["sample_every"] = 20;
    c["checkpoint_every"] = 0;
    c["log_every"] = 1;
    REQUIRE(train(c, s.run("sup"), false) == 0);
    // The untrained G's images would only mislead.
    CHECK((!fs::exists(s.run("sup") + "/samples") || fs::is_empty(s.run("sup") + "/samples")));
    CHECK(fs::exists(s.run("sup") + "/report.html"));
    std::ifstream in(s.run("sup") + "/metrics.jsonl");
    std::string line, last_loss;
    while (std::getline(in, line)) {
        CHECK_MESSAGE(line.find("warning") == std::string::npos, line);
        if (line.find("loss_d") != std::string::npos) last_loss = line;
    }
    // The situation the monitor would have flagged: D's loss has collapsed toward 0.
    REQUIRE(!last_loss.empty());
    CHECK(Json::parse(last_loss).at("loss_d").get<double>() < 0.05);
}

TEST_CASE("trainer: an existing run directory is never overwritten") {
    Scratch s;
    fs::create_directories(s.run("taken"));
    std::ofstream(s.run("taken") + "/keep.txt") << "precious";
    try {
        train(s.config(2), s.run("taken"), false);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("--resume") != std::string::npos);
    }
    CHECK(fs::exists(s.run("taken") + "/keep.txt"));
    CHECK_THROWS_AS(train(s.config(2), s.run("nothing-here"), true), Error);
    // A bad data set fails before anything is created.
    Json bad = s.config(2);
    bad["data"] = "fashion";
    CHECK_THROWS_AS(train(bad, s.run("no-data"), false), Error);
    CHECK_FALSE(fs::exists(s.run("no-data")));
}

TEST_CASE("trainer: a non-finite loss stops training with exit code 1, saving nothing over") {
    Scratch s;
    Json c = s.config(40);
    c["lr_d"] = 1e38;  // D's first Adam step overflows its weights: G's loss is NaN at once
    c["checkpoint_every"] = 1;
    CHECK(train(c, s.run("run"), false) == 1);
    // No checkpoint of a bad state is written; the run's config and report stay.
    CHECK_FALSE(fs::exists(s.run("run") + "/checkpoints/latest.safetensors"));
    CHECK(fs::exists(s.run("run") + "/config.json"));
    CHECK(fs::exists(s.run("run") + "/report.html"));
}

TEST_CASE("trainer: --sample-every auto picks a round cadence from the run length") {
    CHECK(auto_sample_every(5) == 1);
    CHECK(auto_sample_every(40) == 2);  // 40 / 10 = 4: the largest of 1, 2, 5 ≤ 4 is 2
    CHECK(auto_sample_every(300) == 20);
    CHECK(auto_sample_every(937) == 50);
    CHECK(auto_sample_every(937000) == 50000);
    // A 20-step run samples every 2 steps, and writes the real images once.
    Scratch s;
    Json c = s.config(20);
    c["sample_every"] = "auto";
    c["checkpoint_every"] = 0;
    const std::string dir = s.run("auto");
    REQUIRE(train(c, dir, false) == 0);
    int grids = 0;
    for (auto& e : fs::directory_iterator(dir + "/samples"))
        grids += e.path().filename().string().starts_with("step_");
    CHECK(grids == 10);
    CHECK(fs::exists(dir + "/samples/real.png"));
    std::ifstream report(dir + "/report.html");
    const std::string html((std::istreambuf_iterator<char>(report)), {});
    CHECK(html.find("samples/real.png") != std::string::npos);
    c["sample_every"] = "often";
    CHECK(testing::error_of([&] { train(c, s.run("bad"), false); }).find("auto") !=
          std::string::npos);
}

TEST_CASE("trainer: a diverged run never writes a checkpoint with NaN or inf in it") {
    // SGD at lr 1000 blows D's weights and BatchNorm statistics up within a few steps, while
    // the logged losses may stay finite a little longer.
    Scratch s;
    Json c = s.config(40);
    c["lr_g"] = c["lr_d"] = 1e3;
    c["optim_d"] = c["optim_g"] = "sgd";
    c["checkpoint_every"] = 1;
    c["sample_every"] = 0;
    c["health_window"] = 0;
    const std::string dir = s.run("diverged");
    CHECK(train(c, dir, false) == 1);
    for (auto& e : fs::directory_iterator(dir + "/checkpoints")) {
        nn::Checkpoint ck = nn::Checkpoint::load(e.path().string());
        for (const char* part : {"G", "D"})
            for (auto& [k, t] : ck.state(part))
                if (is_floating(t.dtype()))
                    CHECK_MESSAGE(all_finite(t), e.path().filename().string(), " ", part, "/", k);
    }
}

TEST_CASE("trainer: a generator with NaN weights is refused, not sampled") {
    Scratch s;
    Json c = s.config(2);
    REQUIRE(train(c, s.run("run"), false) == 0);
    TrainedGan g = load_trained(s.run("run"), false);
    Rng gen(1);
    const Tensor z = g.model->sample_z(2, gen);
    CHECK(all_finite(g.generate(z)));
    {
        NoGradGuard ng;
        g.model->generator().parameters()[0].fill_(std::nan(""));
    }
    CHECK(testing::error_of([&] { g.generate(z); }).find("not finite") != std::string::npos);
}

TEST_CASE(
    "trainer: a second process on the same run directory is refused, and a lock file alone is no "
    "run") {
    Scratch s;
    const std::string dir = s.run("locked");
    {
        RunLock other(dir);  // held as another process would hold it (a lock per open file)
        const std::string e = testing::error_of([&] { train(s.config(2), dir, false); });
        CHECK(e.find("in use by another zoograd process (pid ") != std::string::npos);
        CHECK(e.find(std::to_string(::getpid())) != std::string::npos);
        CHECK_FALSE(fs::exists(dir + "/config.json"));
    }
    // Released: the directory holds only the lock file, which is not a run.
    CHECK(train(s.config(2), dir, false) == 0);
}

TEST_CASE("trainer: a resume after a kill logs each step once") {
    // Killed after logging steps 5 and 6 (and half of 7) past its last checkpoint at step 4.
    Scratch s;
    const std::string dir = s.run("killed");
    REQUIRE(train(s.config(4), dir, false) == 0);
    std::ofstream(dir + "/metrics.jsonl", std::ios::app)
        << "{\"step\":5,\"loss_d\":1}\n{\"step\":6,\"loss_d\":1}\n{\"step\":7,\"lo";
    Json c = Json::parse(std::ifstream(dir + "/config.json"));
    c["steps"] = 6;
    REQUIRE(train(c, dir, true) == 0);
    std::ifstream metrics(dir + "/metrics.jsonl");
    std::string line;
    std::vector<int64_t> steps;
    while (std::getline(metrics, line)) {
        const Json j = Json::parse(line);  // every line is whole JSON again
        if (j.contains("resumed"))
            CHECK(j.at("step") == 4);  // the resume's marker, at the checkpoint's step
        else if (!j.contains("warning"))
            steps.push_back(j.at("step").get<int64_t>());
    }
    CHECK(steps == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("trainer: a hand-edited config.json is held against the checkpoint on resume") {
    Scratch s;
    const std::string dir = s.run("edited");
    REQUIRE(train(s.config(2), dir, false) == 0);
    const Json saved = Json::parse(std::ifstream(dir + "/config.json"));
    for (auto [key, value] : {std::pair<const char*, Json>{"batch_size", 8},
                              {"seed", 6},
                              {"lr_g", 0.5},
                              {"loss", "hinge"}}) {
        Json edited = saved;
        edited[key] = value;
        edited["steps"] = 4;
        const std::string e = testing::error_of([&] { train(edited, dir, true); });
        CHECK_MESSAGE(e.find(std::string("config.json: ") + key + " is") != std::string::npos, e);
    }
    // The resumable keys may change.
    Json longer = saved;
    longer["steps"] = 4;
    longer["log_every"] = 2;
    CHECK(train(longer, dir, true) == 0);
}

TEST_CASE("trainer: --minutes stops at the budget and records the steps that repeat the run") {
    Scratch s;
    Json c = s.config(100000);
    c["minutes"] = 0.02;  // 1.2 s: a few steps of the tiny DCGAN
    c["sample_every"] = 0;
    c["checkpoint_every"] = 0;
    const std::string dir = s.run("budget");
    REQUIRE(train(c, dir, false) == 0);
    const Json config = Json::parse(std::ifstream(dir + "/config.json"));
    REQUIRE(config.contains("budget_reached"));
    const int64_t reached = config.at("budget_reached").at("step").get<int64_t>();
    CHECK(reached > 0);
    CHECK(reached < 100000);
    CHECK(nn::Checkpoint::load(dir + "/checkpoints/latest.safetensors").counter("step") == reached);
    // The metrics line says so too, and the report still draws the loss curves.
    std::ifstream metrics(dir + "/metrics.jsonl");
    std::string line, budget_line;
    while (std::getline(metrics, line))
        if (line.find("budget_reached") != std::string::npos) budget_line = line;
    REQUIRE_FALSE(budget_line.empty());
    CHECK(Json::parse(budget_line).at("step") == reached);
    CHECK_FALSE(testing::report_data(dir).at("series").at("loss_d").empty());
    // Repeating it with --steps gives the same weights.
    Json again = s.config(reached);
    again["sample_every"] = 0;
    again["checkpoint_every"] = 0;
    REQUIRE(train(again, s.run("again"), false) == 0);
    auto a = weights(dir + "/checkpoints/latest.safetensors");
    auto b = weights(s.run("again") + "/checkpoints/latest.safetensors");
    for (auto& [k, v] : a) CHECK_MESSAGE(v == b.at(k), k);
}
