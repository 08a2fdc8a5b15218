#include "engine/backend/allocator.h"

#include <bit>
#include <cstdlib>
#include <new>

#include "engine/error.h"

namespace zg {

size_t CachingAllocator::size_class(size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (bytes <= 4096) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
    size_t step = std::bit_floor(bytes) / 4;
    return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes, size_t& capacity) {
    capacity = size_class(bytes);
    std::lock_guard lock(mu_);
    void* ptr = nullptr;
    auto it = free_.find(capacity);
    if (it != free_.end() && !it->second.empty()) {
        ptr = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= capacity;
    } else {
        ptr = std::aligned_alloc(kAlignment, capacity);
        if (!ptr) {
            // Give the cache back to the OS and try once more before failing.
            for (auto& [size, blocks] : free_)
                for (void* p : blocks) std::free(p);
            free_.clear();
            stats_.cached_bytes = 0;
            ptr = std::aligned_alloc(kAlignment, capacity);
        }
        ZG_CHECK(ptr, "allocator: out of memory allocating ", capacity, " bytes (",
                 stats_.current_bytes, " bytes in use); use a smaller batch or model");
        ++stats_.os_allocations;
    }
    stats_.current_bytes += capacity;
    if (stats_.current_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.current_bytes;
    return ptr;
}

void CachingAllocator::release(void* ptr, size_t capacity) {
    if (!ptr) return;
    std::lock_guard lock(mu_);
    free_[capacity].push_back(ptr);
    stats_.current_bytes -= capacity;
    stats_.cached_bytes += capacity;
}

AllocatorStats CachingAllocator::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

void CachingAllocator::reset_peak() {
    std::lock_guard lock(mu_);
    stats_.peak_bytes = stats_.current_bytes;
}

void CachingAllocator::empty_cache() {
    std::lock_guard lock(mu_);
    for (auto& [size, blocks] : free_)
        for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
}

CachingAllocator::~CachingAllocator() {
    empty_cache();
}

CachingAllocator& cpu_allocator() {
    // Never destroyed: tensors held in static objects may be freed after main returns.
    static CachingAllocator* a = new CachingAllocator();
    return *a;
}

}  // namespace zg
