#pragma once
// Walking several same-shaped strided views at once. Dimensions that are laid out back to back
// in every operand are merged first, so a contiguous tensor becomes one long row and the inner
// loop is a plain, vectorizable loop over it.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace zg::cpu {

// Below this many elements a kernel runs on one thread: starting the pool costs more.
constexpr int64_t kParallelGrain = 1 << 15;

template <size_t K>
class StridedLoop {
public:
    using Offsets = std::array<int64_t, K>;

    StridedLoop(const Shape& shape, const std::array<const Shape*, K>& strides) {
        for (size_t d = 0; d < shape.size(); ++d) {
            if (shape[d] == 1) continue;
            bool merge = !shape_.empty();
            for (size_t k = 0; k < K && merge; ++k)
                merge = strides_[k].back() == (*strides[k])[d] * shape[d];
            if (merge) {
                shape_.back() *= shape[d];
                for (size_t k = 0; k < K; ++k) strides_[k].back() = (*strides[k])[d];
            } else {
                shape_.push_back(shape[d]);
                for (size_t k = 0; k < K; ++k) strides_[k].push_back((*strides[k])[d]);
            }
        }
        if (shape_.empty()) {  // a scalar, or all sizes 1: one row of one element
            shape_.push_back(1);
            for (auto& s : strides_) s.push_back(0);
        }
        numel_ = shape_numel(shape_);
    }

    int64_t inner() const { return shape_.back(); }
    Offsets inner_strides() const {
        Offsets s;
        for (size_t k = 0; k < K; ++k) s[k] = strides_[k].back();
        return s;
    }

    // The starting offsets of every row, in order (for kernels that revisit the same rows).
    std::vector<Offsets> row_offsets() const {
        std::vector<Offsets> all;
        if (numel_ == 0) return all;
        const int64_t rows = numel_ / inner();
        all.reserve(rows);
        for (int64_t r = 0; r < rows; ++r) all.push_back(row_start(r));
        return all;
    }

    // Calls row(offsets, n) for every run of the innermost dimension, in parallel for big ones.
    // Few long rows (a contiguous tensor is one row) are cut into chunks so both cores work.
    template <class Row>
    void for_each_row(Row&& row) const {
        if (numel_ == 0) return;
        const int64_t n = inner();
        const int64_t rows = numel_ / n;
        const int64_t chunks = rows < 8 ? (n + kParallelGrain - 1) / kParallelGrain : 1;
        const int64_t chunk = (n + chunks - 1) / chunks;
        const int nd = (int)shape_.size() - 1;
#pragma omp parallel for schedule(static) if (numel_ >= kParallelGrain && rows * chunks > 1)
        for (int64_t u = 0; u < rows * chunks; ++u) {
            const int64_t r = u / chunks, c = u % chunks;
            Offsets off = row_start(r);
            for (size_t k = 0; k < K; ++k) off[k] += c * chunk * strides_[k][nd];
            row(off, std::min(chunk, n - c * chunk));
        }
    }

private:
    // Offsets of the first element of row r (rows enumerate all dims but the innermost).
    Offsets row_start(int64_t r) const {
        Offsets off{};
        for (int d = (int)shape_.size() - 2; d >= 0; --d) {
            const int64_t i = r % shape_[d];
            r /= shape_[d];
            for (size_t k = 0; k < K; ++k) off[k] += i * strides_[k][d];
        }
        return off;
    }

    Shape shape_;
    std::array<Shape, K> strides_;
    int64_t numel_ = 0;
};

}  // namespace zg::cpu
