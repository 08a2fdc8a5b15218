// The caching allocator: size classes, alignment, reuse of freed blocks, and its statistics.
// Most cases use a private CachingAllocator so other tests' tensors cannot disturb the counts;
// the tensor-level cases use the global CPU allocator the way training does.
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <set>
#include <vector>

#include "engine/backend/allocator.h"
#include "engine/ops.h"
#include "engine/rng.h"

using namespace zg;

namespace {

bool aligned64(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
}

}  // namespace

TEST_CASE("allocator: size classes are 64-byte multiples up to 4 KiB") {
    CHECK(CachingAllocator::kAlignment == 64);
    CHECK(CachingAllocator::size_class(0) == 64);  // even an empty tensor gets a real block
    CHECK(CachingAllocator::size_class(1) == 64);
    CHECK(CachingAllocator::size_class(64) == 64);
    CHECK(CachingAllocator::size_class(65) == 128);
    CHECK(CachingAllocator::size_class(1000) == 1024);
    CHECK(CachingAllocator::size_class(4095) == 4096);
    CHECK(CachingAllocator::size_class(4096) == 4096);
    for (size_t b = 1; b <= 4096; ++b) {
        const size_t c = CachingAllocator::size_class(b);
        REQUIRE_MESSAGE(c % 64 == 0, b, " -> ", c);
        REQUIRE_MESSAGE(c >= b, b, " -> ", c);
        REQUIRE_MESSAGE(c - b < 64, b, " -> ", c);  // the smallest multiple of 64 that fits
    }
}

TEST_CASE("allocator: size classes above 4 KiB waste at most a quarter") {
    CHECK(CachingAllocator::size_class(4097) == 5120);
    CHECK(CachingAllocator::size_class(8192) == 8192);
    CHECK(CachingAllocator::size_class(8193) == 10240);
    CHECK(CachingAllocator::size_class(1 << 20) == 1 << 20);
    size_t prev = CachingAllocator::size_class(4096);
    // Every size in a few octaves, then a sweep of larger sizes.
    std::vector<size_t> sizes;
    for (size_t b = 4097; b <= (1 << 16); ++b) sizes.push_back(b);
    for (size_t b = (1 << 16); b <= (size_t(1) << 34); b += b / 7 + 13) sizes.push_back(b);
    for (size_t b : sizes) {
        const size_t c = CachingAllocator::size_class(b);
        REQUIRE_MESSAGE(c >= b, b, " -> ", c);
        REQUIRE_MESSAGE(c % 64 == 0, b, " -> ", c);  // aligned_alloc needs a multiple
        REQUIRE_MESSAGE(4 * (c - b) <= c, b, " -> ", c, " wastes more than 25%");
        REQUIRE_MESSAGE(c >= prev, "size classes must not shrink as sizes grow");
        prev = c;
    }
    // and a class is the size of its largest member, so it serves every request mapped to it
    for (size_t b : sizes) {
        const size_t c = CachingAllocator::size_class(b);
        REQUIRE(CachingAllocator::size_class(c) == c);
    }
    // four classes per power of two
    for (int k = 13; k <= 30; ++k) {
        std::set<size_t> classes;
        const size_t lo = size_t(1) << k;
        for (size_t b = lo + 1; b <= 2 * lo; b += lo / 64)
            classes.insert(CachingAllocator::size_class(b));
        CHECK_MESSAGE(classes.size() == 4, "octave 2^", k, " has ", classes.size(), " classes");
    }
}

TEST_CASE("allocator: blocks and tensor data are 64-byte aligned") {
    CachingAllocator a;
    std::vector<std::pair<void*, size_t>> blocks;
    for (size_t b : {1, 3, 63, 64, 100, 4000, 4097, 10000, 123457, 1 << 20}) {
        size_t cap = 0;
        void* p = a.allocate(b, cap);
        CHECK(aligned64(p));
        CHECK(cap == CachingAllocator::size_class(b));
        blocks.emplace_back(p, cap);
    }
    for (auto [p, cap] : blocks) a.release(p, cap);
    std::vector<Tensor> keep;
    for (int64_t n : {1, 3, 17, 1000, 4097, 100000}) {
        for (DType t : {DType::f32, DType::f64, DType::i32}) {
            Tensor x = zeros({n}, t);
            CHECK(aligned64(x.raw_data()));
            CHECK(x.storage().capacity == CachingAllocator::size_class(x.storage().bytes));
            CHECK(x.storage().bytes == size_t(n) * dtype_size(t));
            keep.push_back(x);
        }
    }
    // results of ops are fresh, aligned blocks as well
    Tensor y = matmul(ones({3, 5}), ones({5, 7}));
    CHECK(aligned64(y.raw_data()));
    CHECK(aligned64(exp(keep[1]).raw_data()));
}

TEST_CASE("allocator: freed blocks are reused instead of asking the OS again") {
    CachingAllocator a;
    const std::vector<size_t> sizes = {100, 5000, 64, 70000, 100, 1 << 20};
    auto cycle = [&] {
        std::vector<std::pair<void*, size_t>> blocks;
        for (size_t b : sizes) {
            size_t cap = 0;
            blocks.emplace_back(a.allocate(b, cap), cap);
        }
        std::set<void*> ptrs;
        for (auto [p, cap] : blocks) ptrs.insert(p);
        for (auto [p, cap] : blocks) a.release(p, cap);
        return ptrs;
    };
    auto first = cycle();
    CHECK(first.size() == sizes.size());
    const size_t os_after_first = a.stats().os_allocations;
    CHECK(os_after_first == sizes.size());
    auto second = cycle();
    CHECK(a.stats().os_allocations == os_after_first);
    CHECK(second == first);  // the very same blocks came back
    // a request of another size in the same class reuses the block too
    size_t cap = 0;
    void* p = a.allocate(65, cap);  // class 128: none cached, a new block
    a.release(p, cap);
    const size_t os = a.stats().os_allocations;
    void* q = a.allocate(120, cap);
    CHECK(q == p);
    CHECK(a.stats().os_allocations == os);
    a.release(q, cap);
}

TEST_CASE("allocator: a repeated forward and backward allocates nothing new after warm-up") {
    Rng gen(11);
    Tensor w1 = randn({16, 8}, &gen).requires_grad_();
    Tensor w2 = randn({1, 16}, &gen).requires_grad_();
    Tensor x = randn({32, 8}, &gen);
    auto step = [&] {
        Tensor loss = mean(pow(linear(tanh(linear(x, w1)), w2), 2.0));
        loss.backward();
        NoGradGuard ng;
        w1.add_(w1.grad(), -0.01);
        w2.add_(w2.grad(), -0.01);
        w1.set_grad(Tensor());
        w2.set_grad(Tensor());
    };
    step();
    step();
    const AllocatorStats warm = cpu_allocator().stats();
    for (int i = 0; i < 5; ++i) step();
    const AllocatorStats after = cpu_allocator().stats();
    CHECK(after.os_allocations == warm.os_allocations);
    CHECK(after.current_bytes == warm.current_bytes);
}

TEST_CASE("allocator: current and peak bytes, reset_peak") {
    CachingAllocator a;
    CHECK(a.stats().current_bytes == 0);
    CHECK(a.stats().peak_bytes == 0);
    size_t c1 = 0, c2 = 0, c3 = 0;
    void* p1 = a.allocate(1000, c1);  // 1024
    void* p2 = a.allocate(5000, c2);  // 5120
    CHECK(c1 == 1024);
    CHECK(c2 == 5120);
    CHECK(a.stats().current_bytes == 1024 + 5120);
    CHECK(a.stats().peak_bytes == 1024 + 5120);
    a.release(p2, c2);
    CHECK(a.stats().current_bytes == 1024);
    CHECK(a.stats().peak_bytes == 1024 + 5120);  // the high-water mark stays
    CHECK(a.stats().cached_bytes == 5120);
    a.reset_peak();
    CHECK(a.stats().peak_bytes == 1024);
    void* p3 = a.allocate(64, c3);
    CHECK(a.stats().peak_bytes == 1024 + 64);
    a.release(p3, c3);
    a.release(p1, c1);
    CHECK(a.stats().current_bytes == 0);
    CHECK(a.stats().peak_bytes == 1024 + 64);
    a.reset_peak();
    CHECK(a.stats().peak_bytes == 0);

    // The global allocator's counters follow tensors' lifetimes.
    const size_t before = cpu_allocator().stats().current_bytes;
    cpu_allocator().reset_peak();
    {
        Tensor t = zeros({1000, 100});  // 400000 bytes
        CHECK(cpu_allocator().stats().current_bytes - before ==
              CachingAllocator::size_class(400000));
        CHECK(cpu_allocator().stats().peak_bytes >= before + 400000);
    }
    CHECK(cpu_allocator().stats().current_bytes == before);
    CHECK(cpu_allocator().stats().peak_bytes >= before + 400000);
    cpu_allocator().reset_peak();
    CHECK(cpu_allocator().stats().peak_bytes == before);
}

TEST_CASE("allocator: empty_cache returns cached blocks to the OS") {
    CachingAllocator a;
    size_t c1 = 0, c2 = 0;
    void* p1 = a.allocate(3000, c1);
    void* p2 = a.allocate(300000, c2);
    a.release(p1, c1);
    CHECK(a.stats().cached_bytes == c1);
    CHECK(a.stats().current_bytes == c2);
    a.empty_cache();
    CHECK(a.stats().cached_bytes == 0);
    CHECK(a.stats().current_bytes == c2);  // blocks in use are untouched
    const size_t os = a.stats().os_allocations;
    void* p3 = a.allocate(3000, c1);  // nothing cached any more: a fresh block
    CHECK(a.stats().os_allocations == os + 1);
    a.release(p3, c1);
    a.release(p2, c2);
    CHECK(a.stats().cached_bytes == c1 + c2);
    a.empty_cache();
    CHECK(a.stats().cached_bytes == 0);
    CHECK(a.stats().current_bytes == 0);
    a.release(nullptr, 64);  // releasing nothing is a no-op
    CHECK(a.stats().cached_bytes == 0);

    // On the global allocator: freed tensors' memory is cached until empty_cache.
    {
        Tensor t = zeros({12345, 7});
        (void)t;
    }
    CHECK(cpu_allocator().stats().cached_bytes >= CachingAllocator::size_class(12345 * 7 * 4));
    cpu_allocator().empty_cache();
    CHECK(cpu_allocator().stats().cached_bytes == 0);
    Tensor after = ones({12345, 7});  // still works afterwards
    CHECK(sum(after).item<double>() == 12345 * 7);
}
