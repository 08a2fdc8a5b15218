#include "engine/io/json_reader.h"

#include <cmath>

#include "engine/error.h"

namespace zg {

JsonReader::JsonReader(const nlohmann::json& value, std::string where, std::string key)
    : value_(value), where_(std::move(where)), key_(std::move(key)) {}

void JsonReader::refuse(const std::string& expected) const {
    std::string shown = value_.dump();
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    if (key_.empty()) throw Error(where_ + ": the JSON is " + shown + ", expected " + expected);
    throw Error(where_ + ": \"" + key_ + "\" is " + shown + ", expected " + expected);
}

const nlohmann::json& JsonReader::object() const {
    if (!value_.is_object()) refuse("a JSON object");
    return value_;
}

JsonReader JsonReader::at(const std::string& key) const {
    const std::string path = key_.empty() ? key : key_ + "." + key;
    if (!object().contains(key))
        throw Error(where_ + ": \"" + path + "\" is missing" +
                    (key_.empty() ? "" : " from \"" + key_ + "\""));
    return JsonReader(value_.at(key), where_, path);
}

bool JsonReader::is_integer() const {
    if (value_.is_number_integer()) return true;  // unsigned ones too
    if (!value_.is_number_float()) return false;
    const double v = value_.get<double>();
    return std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.2e18;
}

int64_t JsonReader::as_integer() const {
    if (!is_integer()) refuse("an integer");
    if (value_.is_number_unsigned() && value_.get<uint64_t>() > (uint64_t)INT64_MAX)
        refuse("an integer below 2^63");
    return value_.is_number_float() ? (int64_t)value_.get<double>() : value_.get<int64_t>();
}

uint64_t JsonReader::as_count() const {
    if (value_.is_number_unsigned()) return value_.get<uint64_t>();
    if (!is_integer() || as_integer() < 0) refuse("a non-negative integer");
    return (uint64_t)as_integer();
}

double JsonReader::as_number() const {
    if (!value_.is_number()) refuse("a number");
    return value_.get<double>();
}

bool JsonReader::as_boolean() const {
    if (!value_.is_boolean()) refuse("true or false");
    return value_.get<bool>();
}

std::string JsonReader::as_text() const {
    if (!value_.is_string()) refuse("text (a JSON string)");
    return value_.get<std::string>();
}

std::vector<double> JsonReader::as_numbers() const {
    if (!value_.is_array()) refuse("an array of numbers");
    std::vector<double> out;
    for (size_t i = 0; i < value_.size(); ++i)
        out.push_back(
            JsonReader(value_[i], where_, key_ + "[" + std::to_string(i) + "]").as_number());
    return out;
}

}  // namespace zg
