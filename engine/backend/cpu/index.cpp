// Indexing kernels: index_select / index_add along one dim, gather / scatter_add elementwise.
// The scatter kernels add in a fixed order, so results do not depend on the thread count.
#include <cstring>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/strided.h"

namespace zg::cpu {
namespace {

// A contiguous tensor seen as [outer, dim size, inner] around `dim`.
struct Around {
    int64_t outer = 1, size = 1, inner = 1;
    Around(const Shape& s, int64_t dim) {
        for (int64_t d = 0; d < (int64_t)s.size(); ++d) {
            if (d < dim) outer *= s[d];
            if (d > dim) inner *= s[d];
        }
        size = s[dim];
    }
};

// The index values, checked against the size of the indexed dim before any kernel runs
// (an out-of-range index must be an error, never a stray write).
const int32_t* checked_index(const Tensor& index, int64_t limit, const char* op) {
    const int32_t* p = index.data<int32_t>();
    for (int64_t i = 0; i < index.numel(); ++i)
        ZG_CHECK(p[i] >= 0 && p[i] < limit, op, ": index ", p[i], " at position ", i,
                 " is out of range for a dimension of size ", limit);
    return p;
}

// Offset in a contiguous tensor of `shape` of the element at out-position i (in `ishape`),
// with the coordinate along `dim` replaced by `k`.
int64_t offset_with(const Shape& ishape, const Shape& strides, int64_t dim, int64_t i, int64_t k) {
    int64_t off = 0;
    for (int64_t d = (int64_t)ishape.size() - 1; d >= 0; --d) {
        const int64_t c = i % ishape[d];
        i /= ishape[d];
        off += (d == dim ? k : c) * strides[d];
    }
    return off;
}

}  // namespace

void CpuBackend::index_select(const Tensor& x_in, int64_t dim, const Tensor& index_in,
                              const Tensor& out) {
    Tensor x = x_in.detach().contiguous();
    Tensor index = index_in.contiguous();  // read linearly below
    Around ax(x.shape(), dim);
    const int32_t* idx = checked_index(index, ax.size, "index_select");
    const int64_t n = index.numel();
    const size_t row_bytes = ax.inner * dtype_size(x.dtype());
    const char* px = static_cast<const char*>(x.raw_data());
    char* po = static_cast<char*>(out.raw_data());
#pragma omp parallel for if (ax.outer * n * ax.inner >= kParallelGrain)
    for (int64_t u = 0; u < ax.outer * n; ++u) {
        const int64_t o = u / n, j = u % n;
        std::memcpy(po + u * row_bytes, px + (o * ax.size + idx[j]) * row_bytes, row_bytes);
    }
}

void CpuBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index_in,
                           const Tensor& src_in) {
    Tensor src = src_in.detach().contiguous();
    Tensor index = index_in.contiguous();  // read linearly below
    Around ao(out.shape(), dim);
    const int32_t* idx = checked_index(index, ao.size, "index_add");
    const int64_t n = index.numel();
    dispatch(out.dtype(), [&]<class T>() {
        T* po = out.data<T>();
        const T* ps = src.data<T>();
        // Parallel over outer slices only; within one, rows are added in index order.
#pragma omp parallel for if (ao.outer > 1 && ao.outer * n * ao.inner >= kParallelGrain)
        for (int64_t o = 0; o < ao.outer; ++o)
            for (int64_t j = 0; j < n; ++j) {
                T* dst = po + (o * ao.size + idx[j]) * ao.inner;
                const T* s = ps + (o * n + j) * ao.inner;
#pragma omp simd
                for (int64_t i = 0; i < ao.inner; ++i) dst[i] += s[i];
            }
    });
}

void CpuBackend::gather(const Tensor& x_in, int64_t dim, const Tensor& index_in,
                        const Tensor& out) {
    Tensor x = x_in.detach().contiguous();
    Tensor index = index_in.contiguous();
    const int32_t* idx = checked_index(index, x.size(dim), "gather");
    dispatch(x.dtype(), [&]<class T>() {
        const T* px = x.data<T>();
        T* po = out.data<T>();
        const int64_t n = index.numel();
#pragma omp parallel for if (n >= kParallelGrain)
        for (int64_t i = 0; i < n; ++i)
            po[i] = px[offset_with(index.shape(), x.strides(), dim, i, idx[i])];
    });
}

void CpuBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index_in,
                             const Tensor& src_in) {
    Tensor index = index_in.contiguous();
    Tensor src = src_in.detach().contiguous();
    const int32_t* idx = checked_index(index, out.size(dim), "scatter_add");
    dispatch(out.dtype(), [&]<class T>() {
        T* po = out.data<T>();
        const T* ps = src.data<T>();
        for (int64_t i = 0; i < index.numel(); ++i)
            po[offset_with(index.shape(), out.strides(), dim, i, idx[i])] += ps[i];
    });
}

}  // namespace zg::cpu
