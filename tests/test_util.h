#pragma once
// Small helpers shared by the doctest suites under tests/: error messages, tensor construction
// and value checks, and scratch directories.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "engine/error.h"
#include "engine/gradcheck.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"

namespace zg::testing {

// The message of the zg::Error that f throws, or `none` when it throws nothing.
template <class F>
std::string error_of(F&& f, const std::string& none = "") {
    try {
        f();
    } catch (const zg::Error& e) {
        return e.what();
    }
    return none;
}

inline bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// Tensors from literal values; without a shape, one-dimensional.
inline Tensor f64(const std::vector<double>& v, const Shape& shape) {
    return from_vector(v, shape);
}
inline Tensor f64(const std::vector<double>& v) {
    return from_vector(v, {(int64_t)v.size()});
}
inline Tensor f32(const std::vector<float>& v, const Shape& shape) {
    return from_vector<float>(v, shape);
}
inline Tensor f32(const std::vector<float>& v) {
    return from_vector<float>(v, {(int64_t)v.size()});
}
inline Tensor i32(const std::vector<int32_t>& v, const Shape& shape) {
    return from_vector(v, shape);
}

// Checks t's shape and values: each element within tol·(1 + |want|); infinite wants must match
// exactly.
inline void expect_tensor(const Tensor& t, const Shape& shape, const std::vector<double>& want,
                          double tol = 1e-12) {
    REQUIRE_MESSAGE(t.shape() == shape, "shape ", shape_str(t.shape()), ", expected ",
                    shape_str(shape));
    std::vector<double> got = t.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::isinf(want[i])) {
            CHECK_MESSAGE(got[i] == want[i], "element ", i, ": ", got[i], " vs ", want[i]);
            continue;
        }
        CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol * (1.0 + std::abs(want[i])), "element ", i,
                      ": ", got[i], " vs ", want[i]);
    }
}

// Exact comparison (or within `tol`) of a tensor's values with a hand-computed vector.
inline void check_values(const Tensor& t, const std::vector<double>& want, const std::string& what,
                         double tol = 0.0) {
    expect_close(t.to_vector<double>(), want, tol, tol, what);
}

// A fresh, uniquely named directory under the system temp dir, removed when this goes away.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& prefix = "zg_test") {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::string operator/(const std::string& name) const { return file(name); }
};

// A committed fixture file under tests/fixtures/.
inline std::string fixture_path(const std::string& name) {
    return (std::filesystem::path(__FILE__).parent_path() / "fixtures" / name).string();
}

// The tensors of a fixture file whose names start with `prefix`, with the prefix stripped
// (e.g. "G/main.0.weight" → "main.0.weight").
inline std::map<std::string, Tensor> with_prefix(const SafetensorsFile& f,
                                                 const std::string& prefix) {
    std::map<std::string, Tensor> out;
    for (const auto& [k, v] : f.tensors)
        if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
    return out;
}

// max |a − b| / (1e-6 + 1e-4·|b|), the float32 tolerance used against PyTorch: ≤ 1 passes.
inline double torch_error(const Tensor& a, const Tensor& b, const std::string& what) {
    REQUIRE_MESSAGE(a.shape() == b.shape(), what);
    const std::vector<double> x = a.to(DType::f64).to_vector<double>();
    const std::vector<double> y = b.to(DType::f64).to_vector<double>();
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i)
        worst = std::max(worst, std::abs(x[i] - y[i]) / (1e-6 + 1e-4 * std::abs(y[i])));
    return worst;
}

// A tiny MNIST-layout data set, data_root/mnist/{train,t10k}-{images,labels}-idx*-ubyte: n < 256
// pseudo-random 28×28 "digits" with labels i mod 10, for training runs through the real loader.
// The same images serve as the test split (models that report test accuracy load it).
inline void write_tiny_mnist(const std::filesystem::path& data_root, uint32_t n = 64) {
    std::filesystem::create_directories(data_root / "mnist");
    std::vector<uint8_t> img = {0, 0, 8, 3, 0, 0, 0, uint8_t(n), 0, 0, 0, 28, 0, 0, 0, 28};
    for (uint32_t i = 0; i < n * 28 * 28; ++i) img.push_back(uint8_t((i * 2654435761u) >> 24));
    std::vector<uint8_t> lab = {0, 0, 8, 1, 0, 0, 0, uint8_t(n)};
    for (uint32_t i = 0; i < n; ++i) lab.push_back(uint8_t(i % 10));
    for (const char* split : {"train", "t10k"}) {
        const std::string prefix = (data_root / "mnist" / split).string();
        std::ofstream(prefix + "-images-idx3-ubyte", std::ios::binary)
            .write((const char*)img.data(), img.size());
        std::ofstream(prefix + "-labels-idx1-ubyte", std::ios::binary)
            .write((const char*)lab.data(), lab.size());
    }
}

}  // namespace zg::testing
