#pragma once
// Reading JSON that a person can edit or a disk can corrupt (a run's config.json, a checkpoint's
// metadata): each accessor checks the value's kind and throws a zg::Error that names the file,
// the key and what was expected, where the JSON library would throw its own type error from
// deep inside the code that uses the value.
//
//   JsonReader config(json, "runs/x/config.json");
//   int64_t batch = config.integer("batch_size");  // "runs/x/config.json: "batch_size" is "abc",
//                                                  //  expected an integer"
//   JsonReader history = config.at("health").at("history");  // messages say "health.history"
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zg {

class JsonReader {
public:
    // `where` names the source in messages: a path, or "ck.safetensors: metadata 'json/health'".
    JsonReader(const nlohmann::json& value, std::string where, std::string key = "");

    const nlohmann::json& value() const { return value_; }
    // The members of an object (refused if this is not one).
    const nlohmann::json& object() const;
    bool has(const std::string& key) const { return object().contains(key); }
    // A member that must be there.
    JsonReader at(const std::string& key) const;

    // Whether this value is an integer: a JSON integer, or a float with an integral value within
    // ±2^63 (1e3 is how JSON writers often print 1000; 2.5 or 1e30 is no integer code can use).
    bool is_integer() const;

    // This value as: an integer (a float with an integral value in range counts as one), a
    // non-negative integer, a number, true or false, text, an array of numbers.
    int64_t as_integer() const;
    uint64_t as_count() const;
    double as_number() const;
    bool as_boolean() const;
    std::string as_text() const;
    std::vector<double> as_numbers() const;

    int64_t integer(const std::string& key) const { return at(key).as_integer(); }
    uint64_t count(const std::string& key) const { return at(key).as_count(); }
    double number(const std::string& key) const { return at(key).as_number(); }
    bool boolean(const std::string& key) const { return at(key).as_boolean(); }
    std::string text(const std::string& key) const { return at(key).as_text(); }

    // Throws "WHERE: "KEY" is VALUE, expected WHAT".
    [[noreturn]] void refuse(const std::string& expected) const;

private:
    const nlohmann::json& value_;
    std::string where_;
    std::string key_;  // the path of this value from the top ("" at the top), for messages
};

}  // namespace zg
