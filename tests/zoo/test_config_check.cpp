#include <doctest/doctest.h>

#include <filesystem>

#include "nn/checkpoint.h"
#include "test_util.h"
#include "zoo/train/config_check.h"
#include "zoo/train/health.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;
namespace fs = std::filesystem;

namespace {
Json edited(const std::string& key, const Json& value) {
    Json c = default_config("dcgan");
    c[key] = value;
    return c;
}
}  // namespace

TEST_CASE("config check: a hand-edited run config is refused by file and key") {
    const std::string f = "runs/x/config.json";
    CHECK_THROWS_WITH_AS(checked_run_config(Json::array(), f),
                         "runs/x/config.json: the JSON is [], expected a JSON object", Error);
    CHECK_THROWS_WITH_AS(checked_run_config(Json::object(), f),
                         "runs/x/config.json: \"model\" is missing", Error);
    CHECK_THROWS_WITH_AS(checked_run_config(Json{{"model", 3}}, f),
                         doctest::Contains("\"model\" is 3, expected text"), Error);
    CHECK_THROWS_WITH_AS(checked_run_config(Json{{"model", "dcgann"}}, f),
                         doctest::Contains("expected the name of a zoo model"), Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("batch_size", "abc"), f),
                         "runs/x/config.json: \"batch_size\" is \"abc\", expected an integer "
                         "(--batch-size)",
                         Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("batch_size", 2.5), f),
                         doctest::Contains("\"batch_size\" is 2.5, expected an integer"), Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("checkpoint_every", nullptr), f),
                         doctest::Contains("\"checkpoint_every\" is null, expected an integer"),
                         Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("seed", -1), f),
                         doctest::Contains("\"seed\" is -1, expected a non-negative integer"),
                         Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("ema", "high"), f),
                         doctest::Contains("expected a number (--ema)"), Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("stop_on_failure", 1), f),
                         doctest::Contains("expected true or false"), Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("sample_every", "often"), f),
                         doctest::Contains("expected an integer or \"auto\""), Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("channels", -3), f),
                         doctest::Contains("\"channels\" is -3, expected a positive integer"),
                         Error);
    CHECK_THROWS_WITH_AS(checked_run_config(edited("num_classes", "x"), f),
                         doctest::Contains("\"num_classes\" is \"x\""), Error);
}

TEST_CASE("config check: a good config passes, completed and normalized") {
    Json c = default_config("dcgan");
    c.erase("ema");    // a run saved before the option existed
    c["steps"] = 1e3;  // 1000, as some JSON writers print it
    c["sample_every"] = 20;
    c["unknown_key"] = "kept";
    const Json checked = checked_run_config(c, "config.json");
    CHECK(checked.at("ema") == default_config("dcgan").at("ema"));
    CHECK(checked.at("steps").is_number_integer());
    CHECK(checked.at("steps").get<int64_t>() == 1000);
    CHECK(checked.at("sample_every") == 20);
    CHECK(checked.at("unknown_key") == "kept");
    CHECK(checked_run_config(default_config("dcgan"), "config.json") == default_config("dcgan"));
}

TEST_CASE("config check: a checkpoint's config without channels or of the wrong kinds is named") {
    zg::testing::TempDir tmp{"zg_config_check"};
    auto checkpoint_with = [&](const Json& config) {
        const std::string path = (tmp.path / "ck.safetensors").string();
        nn::Checkpoint ck;
        ck.set_json("config", config).set_counter("step", 1);
        ck.save(path);
        return path;
    };
    Json good = default_config("dcgan");
    good["channels"] = 1;
    good["num_classes"] = 10;
    Json no_channels = good;
    no_channels.erase("channels");
    std::string path = checkpoint_with(no_channels);
    CHECK_THROWS_WITH_AS(load_trained(path, false),
                         (path + ": metadata 'json/config': \"channels\" is missing").c_str(),
                         Error);
    Json big = good;
    big["image_size"] = "big";
    path = checkpoint_with(big);
    CHECK_THROWS_WITH_AS(load_trained(path, false),
                         doctest::Contains("\"image_size\" is \"big\", expected an integer"),
                         Error);
    Json model3 = good;
    model3["model"] = 3;
    path = checkpoint_with(model3);
    CHECK_THROWS_WITH_AS(load_trained(path, false), doctest::Contains("\"model\" is 3"), Error);
    nn::Checkpoint none;
    CHECK_THROWS_WITH_AS(checkpoint_config(none, "x.safetensors"),
                         doctest::Contains("x.safetensors: not a zoograd training checkpoint"),
                         Error);
}

TEST_CASE("config check: a health monitor state that is no object is named, not a JSON abort") {
    HealthMonitor m({20, true, true});
    const Json array = Json::array({1, 2});
    CHECK_THROWS_WITH_AS(m.restore(JsonReader(array, "ck: metadata 'json/health'")),
                         doctest::Contains("ck: metadata 'json/health': the JSON is [1,2]"), Error);
    const Json bad_history = {
        {"window", 20}, {"history", {{"d_loss", {1, "x"}}}}, {"reported", Json::object()}};
    CHECK_THROWS_WITH_AS(m.restore(JsonReader(bad_history, "ck")),
                         doctest::Contains("\"history.d_loss[1]\" is \"x\", expected a number"),
                         Error);
    m.restore(JsonReader(m.state(), "ck"));  // its own state comes back
}
