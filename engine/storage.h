#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace zg {

enum class Device { cpu, opencl };
inline const char* device_name(Device d) {
    return d == Device::cpu ? "cpu" : "opencl";
}

// A block of device memory shared by a tensor and all its views. `version` counts in-place
// writes, so autograd can tell when a tensor it saved for backward was changed afterwards.
class Backend;

struct Storage {
    Backend* backend = nullptr;  // gives the memory back when the last view goes
    void* data = nullptr;
    size_t bytes = 0;     // what was asked for
    size_t capacity = 0;  // the allocator's size class
    Device device = Device::cpu;
    uint64_t version = 0;
    Storage() = default;
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    ~Storage();
};

}  // namespace zg
