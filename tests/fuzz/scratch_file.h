#pragma once
// The readers that take a path get each fuzz input through a scratch file of this process, in
// /dev/shm when there is one (a RAM disk: no wear, no slow fsync).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace zg::fuzz {

inline std::string scratch_dir() {
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

// Writes the bytes to `path`; the fuzzer cannot go on without it, so a failure aborts.
inline void write_scratch(const std::string& path, const uint8_t* data, size_t size) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) std::abort();
}

}  // namespace zg::fuzz
