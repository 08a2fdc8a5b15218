#include <doctest/doctest.h>

#include "engine/error.h"
#include "engine/io/json_reader.h"

using namespace zg;
using Json = nlohmann::json;

TEST_CASE("JsonReader: a value of the wrong kind names the file, the key and what was expected") {
    const Json j = Json::parse(R"({"batch": "abc", "lr": 0.5, "on": true, "name": "x",
                                   "nested": {"list": [1, "two"]}, "big": 1e30, "half": 2.5,
                                   "thousand": 1e3, "minus": -3})");
    const JsonReader r(j, "runs/x/config.json");
    CHECK(r.number("lr") == 0.5);
    CHECK(r.boolean("on"));
    CHECK(r.text("name") == "x");
    CHECK(r.integer("thousand") == 1000);  // how JSON writers often print 1000
    CHECK(r.integer("minus") == -3);
    CHECK_THROWS_WITH_AS(r.integer("batch"),
                         "runs/x/config.json: \"batch\" is \"abc\", expected an integer", Error);
    CHECK_THROWS_WITH_AS(r.integer("half"),
                         doctest::Contains("\"half\" is 2.5, expected an integer"), Error);
    CHECK_THROWS_WITH_AS(r.integer("big"), doctest::Contains("expected an integer"), Error);
    CHECK_THROWS_WITH_AS(r.count("minus"), doctest::Contains("expected a non-negative integer"),
                         Error);
    CHECK_THROWS_WITH_AS(r.boolean("name"),
                         doctest::Contains("\"name\" is \"x\", expected true or false"), Error);
    CHECK_THROWS_WITH_AS(r.text("lr"), doctest::Contains("\"lr\" is 0.5, expected text"), Error);
    CHECK_THROWS_WITH_AS(r.number("on"), doctest::Contains("expected a number"), Error);
    CHECK_THROWS_WITH_AS(r.at("nested").at("list").as_numbers(),
                         "runs/x/config.json: \"nested.list[1]\" is \"two\", expected a number",
                         Error);
}

TEST_CASE("JsonReader: a missing key and a value that is no object are named") {
    const Json j = Json::parse(R"({"health": {"window": 3}, "list": [1, 2]})");
    const JsonReader r(j, "ck.safetensors");
    CHECK_THROWS_WITH_AS(r.integer("steps"), "ck.safetensors: \"steps\" is missing", Error);
    CHECK_THROWS_WITH_AS(r.at("health").at("history"),
                         "ck.safetensors: \"health.history\" is missing from \"health\"", Error);
    CHECK_THROWS_WITH_AS(r.at("list").at("x"),
                         "ck.safetensors: \"list\" is [1,2], expected a JSON object", Error);
    const Json top = Json::parse("[]");
    CHECK_THROWS_WITH_AS(JsonReader(top, "config.json").has("model"),
                         "config.json: the JSON is [], expected a JSON object", Error);
    CHECK(r.has("health"));
    CHECK_FALSE(r.has("steps"));
}
