#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace zg {

struct AllocatorStats {
    size_t current_bytes = 0;   // handed out and not yet released
    size_t peak_bytes = 0;      // high-water mark of current_bytes
    size_t cached_bytes = 0;    // released blocks kept for reuse
    size_t os_allocations = 0;  // blocks obtained from the OS since start-up
};

// A caching allocator: freed blocks go into a free list keyed by their size class and are handed
// out again to the next request of that class, so a training step, which allocates the same
// sizes every iteration, stops calling the OS after the first one. Blocks are 64-byte aligned
// (one cache line, and the widest SIMD load).
class CachingAllocator {
public:
    static constexpr size_t kAlignment = 64;
    ~CachingAllocator();
    // Returns a block of at least `bytes`; `capacity` receives the size class it came from.
    void* allocate(size_t bytes, size_t& capacity);
    void release(void* ptr, size_t capacity);
    AllocatorStats stats() const;
    void reset_peak();
    void empty_cache();  // returns cached blocks to the OS
    // Size classes: multiples of 64 bytes up to 4 KiB, then four classes per power of two, so at
    // most a quarter of a block is wasted.
    static size_t size_class(size_t bytes);

private:
    mutable std::mutex mu_;
    std::map<size_t, std::vector<void*>> free_;
    AllocatorStats stats_;
};

CachingAllocator& cpu_allocator();

}  // namespace zg
