#pragma once
// Helpers of the semi-supervised model tests (test_sgan.cpp, test_improved_gan.cpp): a small
// synthetic labelled image set and model configs.
#include <memory>
#include <vector>

#include "nn/data/dataset.h"
#include "zoo/gan.h"
#include "zoo/train/trainer.h"

namespace zg::testing {

// n images [n, 1, 28, 28] uniform in [-1, 1], label i % 10, from Rng(seed).
inline std::shared_ptr<nn::TensorDataset> synthetic_digits(int64_t n, uint64_t seed) {
    Rng gen(seed);
    std::vector<int32_t> labels(n);
    for (int64_t i = 0; i < n; ++i) labels[i] = (int32_t)(i % 10);
    return std::make_shared<nn::TensorDataset>(uniform({n, 1, 28, 28}, -1.0, 1.0, &gen),
                                               from_vector(labels, {n}), 10, "synthetic");
}

// The trainer's defaults and the model's, with 10 labels, batches of 10 and `extra` on top.
inline zoo::Json semisup_config(const std::string& model, const zoo::Json& extra) {
    zoo::Json c = zoo::default_config(model);
    c["labels"] = 10;
    c["batch_size"] = 10;
    c["init_batch"] = 20;
    if (!extra.is_null()) c.update(extra);  // Json{} is null, not an empty object
    return c;
}

// The indices start, start+1, ..., start+n-1.
inline std::vector<int64_t> range(int64_t start, int64_t n) {
    std::vector<int64_t> r(n);
    for (int64_t i = 0; i < n; ++i) r[i] = start + i;
    return r;
}

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
    return amax(abs(a - b)).item<double>();
}

}  // namespace zg::testing
