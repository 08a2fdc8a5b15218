#pragma once
// How much memory a request may take, checked before any work: `sample --n 100000000` is
// refused by name at once instead of failing in the allocator (or swapping) much later.
#include <cstdint>
#include <string>

namespace zg {

// The memory this process can still get: MemAvailable from /proc/meminfo, or the cgroup's
// limit (memory.max) less its usage when that is lower; -1 when neither can be read.
int64_t available_memory_bytes();

// Throws a zg::Error naming `what` (e.g. "--n 100000000") when `bytes` exceed the available
// memory; does nothing when that is unknown.
void check_fits_in_memory(double bytes, const std::string& what);

}  // namespace zg
