#pragma once
// Reads the golden-value fixtures that tools/fixtures/*.py write with PyTorch (for example
// tests/fixtures/engine_torch.json from tools/fixtures/gen_engine_fixtures.py). Header-only;
// knows nothing of doctest, so any suite can use it. Errors are zg::Error with what to do.
//
// File format:
//   {"generator": "<script that wrote it>",
//    "torch_version": "<torch.__version__>",
//    "cases": {
//      "<name>": {
//        "dtype": "float32" | "float64",
//        "tensors": {
//          "<tensor name>": {"shape": [...], "data": [flat row-major numbers],
//                            "dtype": "int64" | "bool"}   <- only when not the case's dtype
//        },
//        "params": {...}   <- optional: numbers, booleans, strings, lists of integers
//      }}}
// Floats are float64 reprs with full precision; float32 values were converted to float64
// exactly, so they parse back to the same float32. Integer tensors (indices, labels) load as
// int32; bool tensors (masks) load as 0/1 in the case's float dtype.
//
// Naming conventions of op cases (see the generator's docstring): inputs by name, "out",
// "v" (cotangent: L = sum(out * v)), "grad.<input>" = dL/dinput, "w.<input>" (weights of the
// second-order scalar M = Σ sum(w.i * grad.i)), "gg.<input>" = dM/dinput.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"

namespace zg::fixtures {

using json = nlohmann::json;

class Case {
public:
    Case(std::string name, json j, std::string hint)
        : name_(std::move(name)), j_(std::move(j)), hint_(std::move(hint)) {
        ZG_CHECK(j_.is_object() && j_.contains("tensors") && j_["tensors"].is_object(),
                 "fixture case '", name_, "' has no \"tensors\" object", hint_);
        const std::string d = j_.value("dtype", std::string("float32"));
        ZG_CHECK(d == "float32" || d == "float64", "fixture case '", name_,
                 "': dtype must be float32 or float64, got ", d, hint_);
        dtype_ = d == "float64" ? DType::f64 : DType::f32;
    }

    const std::string& name() const { return name_; }
    DType dtype() const { return dtype_; }
    const json& raw() const { return j_; }

    // ---- tensors ----
    bool has(const std::string& t) const { return j_["tensors"].contains(t); }
    std::vector<std::string> tensor_names() const {
        std::vector<std::string> out;
        for (auto it = j_["tensors"].begin(); it != j_["tensors"].end(); ++it)
            out.push_back(it.key());
        return out;
    }
    // "float32", "float64", "int64" or "bool": the tensor's own dtype, else the case's.
    std::string tensor_dtype(const std::string& t) const {
        return entry(t).value("dtype", std::string(dtype_name(dtype_)));
    }
    Shape shape(const std::string& t) const {
        const json& e = entry(t);
        ZG_CHECK(e.contains("shape") && e["shape"].is_array(), where(t), " has no shape");
        Shape s;
        for (const json& d : e["shape"]) {
            ZG_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, where(t),
                     ": shape entries must be non-negative integers");
            s.push_back(d.get<int64_t>());
        }
        return s;
    }
    std::vector<double> values(const std::string& t) const {
        const json& e = entry(t);
        ZG_CHECK(e.contains("data") && e["data"].is_array(), where(t), " has no data");
        std::vector<double> v;
        v.reserve(e["data"].size());
        for (const json& x : e["data"]) {
            ZG_CHECK(x.is_number(), where(t), ": data must be numbers");
            v.push_back(x.get<double>());
        }
        ZG_CHECK((int64_t)v.size() == shape_numel(shape(t)), where(t), ": ", v.size(),
                 " values do not fill shape ", shape_str(shape(t)));
        return v;
    }
    // A fresh tensor (no autograd history): floats and bools in the case's dtype, integers as
    // int32.
    Tensor tensor(const std::string& t) const {
        const std::vector<double> v = values(t);
        const Shape s = shape(t);
        const std::string d = tensor_dtype(t);
        if (d == "int64" || d == "int32") {
            std::vector<int32_t> ints;
            for (double x : v) {
                ZG_CHECK(x == std::floor(x) && std::abs(x) <= std::numeric_limits<int32_t>::max(),
                         where(t), ": value ", x, " is not an int32");
                ints.push_back((int32_t)x);
            }
            return from_vector(ints, s);
        }
        ZG_CHECK(d == "bool" || d == "float32" || d == "float64", where(t), ": unknown dtype ", d);
        if (dtype_ == DType::f64) return from_vector(v, s);
        return from_vector(std::vector<float>(v.begin(), v.end()), s);
    }

    // ---- params ----
    bool has_param(const std::string& k) const {
        return j_.contains("params") && j_["params"].contains(k);
    }
    const json& param(const std::string& k) const {
        ZG_CHECK(has_param(k), "fixture case '", name_, "' has no param '", k, "'", hint_);
        return j_["params"][k];
    }
    double number(const std::string& k) const { return checked<double>(k, param(k).is_number()); }
    int64_t integer(const std::string& k) const {
        return checked<int64_t>(k, param(k).is_number_integer());
    }
    bool flag(const std::string& k) const { return checked<bool>(k, param(k).is_boolean()); }
    std::string text(const std::string& k) const {
        return checked<std::string>(k, param(k).is_string());
    }
    std::vector<int64_t> integers(const std::string& k) const {
        return checked<std::vector<int64_t>>(k, param(k).is_array());
    }

private:
    const json& entry(const std::string& t) const {
        ZG_CHECK(has(t), "fixture case '", name_, "' has no tensor '", t, "'", hint_);
        return j_["tensors"][t];
    }
    std::string where(const std::string& t) const {
        return "fixture case '" + name_ + "', tensor '" + t + "'";
    }
    template <class T>
    T checked(const std::string& k, bool ok) const {
        ZG_CHECK(ok, "fixture case '", name_, "': param '", k,
                 "' has the wrong type: ", param(k).dump());
        try {
            return param(k).get<T>();
        } catch (const json::exception& e) {
            throw Error("fixture case '" + name_ + "': param '" + k + "': " + e.what());
        }
    }

    std::string name_;
    json j_;
    std::string hint_;
    DType dtype_ = DType::f32;
};

class File {
public:
    // Loads `path`; `how_to_regenerate` (e.g. the generator's command line) is appended to
    // every error about a missing or stale file or case.
    static File load(const std::string& path, const std::string& how_to_regenerate) {
        const std::string hint = "; regenerate with: " + how_to_regenerate;
        std::ifstream in(path);
        ZG_CHECK(in.good(), "fixture file ", path, " is missing or unreadable", hint);
        json j;
        try {
            j = json::parse(in);
        } catch (const json::exception& e) {
            throw Error("fixture file " + path + " is not valid JSON (" + e.what() + ")" + hint);
        }
        ZG_CHECK(j.is_object() && j.contains("cases") && j["cases"].is_object(), "fixture file ",
                 path, " has no \"cases\" object", hint);
        File f;
        f.path_ = path;
        f.hint_ = hint;
        f.generator_ = j.value("generator", std::string());
        f.torch_version_ = j.value("torch_version", std::string());
        for (auto it = j["cases"].begin(); it != j["cases"].end(); ++it)
            f.cases_.emplace(it.key(), Case(it.key(), it.value(), hint));
        return f;
    }

    const std::string& path() const { return path_; }
    const std::string& generator() const { return generator_; }
    const std::string& torch_version() const { return torch_version_; }
    bool has(const std::string& name) const { return cases_.count(name) != 0; }
    const Case& get(const std::string& name) const {
        auto it = cases_.find(name);
        ZG_CHECK(it != cases_.end(), "fixture file ", path_, " has no case '", name, "'", hint_);
        return it->second;
    }
    std::vector<std::string> case_names() const {
        std::vector<std::string> out;
        for (const auto& kv : cases_) out.push_back(kv.first);
        return out;
    }

private:
    std::string path_, hint_, generator_, torch_version_;
    std::map<std::string, Case> cases_;
};

}  // namespace zg::fixtures
