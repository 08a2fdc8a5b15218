// The memory available to this process (memory_limit.h).
#include "engine/backend/memory_limit.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "engine/error.h"

namespace zg {
namespace {

// The first number of a one-line file ("max" and missing files give -1).
int64_t number_in(const std::string& path) {
    std::ifstream in(path);
    int64_t v = -1;
    return in >> v ? v : -1;
}

}  // namespace

int64_t available_memory_bytes() {
    int64_t available = -1;
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    int64_t kib = 0;
    while (meminfo >> key >> kib) {
        if (key == "MemAvailable:") {
            available = kib * 1024;
            break;
        }
        meminfo.ignore(256, '\n');
    }
    const int64_t limit = number_in("/sys/fs/cgroup/memory.max");
    const int64_t used = number_in("/sys/fs/cgroup/memory.current");
    if (limit > 0 && used >= 0 && (available < 0 || limit - used < available))
        available = limit - used;
    return available;
}

void check_fits_in_memory(double bytes, const std::string& what) {
    const int64_t available = available_memory_bytes();
    if (available < 0 || bytes <= (double)available) return;
    char need[32], have[32];
    std::snprintf(need, sizeof need, "%.1f GiB", bytes / (1 << 30));
    std::snprintf(have, sizeof have, "%.1f GiB", (double)available / (1 << 30));
    throw Error(what + " needs about " + need + " of memory, but " + have +
                " is available; ask for less");
}

}  // namespace zg
