// Storage, copies and fills of the CPU backend.
#include <algorithm>
#include <cstring>

#include "engine/backend/allocator.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/strided.h"

namespace zg {

Backend& cpu_backend() {
    static cpu::CpuBackend* b = new cpu::CpuBackend();  // outlives static tensors
    return *b;
}

namespace cpu {

std::shared_ptr<Storage> CpuBackend::allocate(size_t bytes) {
    auto s = std::make_shared<Storage>();
    s->data = cpu_allocator().allocate(bytes, s->capacity);
    s->bytes = bytes;
    s->device = Device::cpu;
    s->backend = this;
    return s;
}

void CpuBackend::release(Storage& s) {
    cpu_allocator().release(s.data, s.capacity);
}

void CpuBackend::copy(const Tensor& src, const Tensor& dst) {
    ZG_CHECK(src.shape() == dst.shape(), "copy: source shape ", shape_str(src.shape()),
             " differs from destination shape ", shape_str(dst.shape()));
    if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
        std::memcpy(dst.raw_data(), src.raw_data(), src.numel() * dtype_size(src.dtype()));
        return;
    }
    dispatch(dst.dtype(), [&]<class D>() {
        dispatch(src.dtype(), [&]<class S>() {
            D* d = dst.data<D>();
            const S* s = src.data<S>();
            StridedLoop<2> loop(dst.shape(), {&dst.strides(), &src.strides()});
            // Plain copies: lambdas cannot capture structured bindings before clang 16.
            const int64_t ds = loop.inner_strides()[0], ss = loop.inner_strides()[1];
            loop.for_each_row([&](auto off, int64_t n) {
                D* pd = d + off[0];
                const S* ps = s + off[1];
                for (int64_t i = 0; i < n; ++i) pd[i * ds] = static_cast<D>(ps[i * ss]);
            });
        });
    });
}

void CpuBackend::fill(const Tensor& out, double value) {
    dispatch(out.dtype(), [&]<class T>() {
        T* p = out.data<T>();
        const int64_t n = out.numel();
        const T v = static_cast<T>(value);
#pragma omp parallel for simd if (n >= kParallelGrain)
        for (int64_t i = 0; i < n; ++i) p[i] = v;
    });
}

}  // namespace cpu
}  // namespace zg
