// libFuzzer target for the safetensors reader: any byte string must either load or throw
// zg::Error. Any other exception, a crash, or a sanitizer report is a bug. Loaded files are
// also written back and re-read, which must succeed and give the same tensors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "engine/error.h"
#include "engine/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    zg::SafetensorsFile f;
    try {
        f = zg::from_safetensors(std::string_view(reinterpret_cast<const char*>(data), size),
                                 "<fuzz>");
    } catch (const zg::Error&) {
        return 0;
    }
    // A file that loads must round-trip: what zoograd writes, zoograd reads back unchanged.
    zg::SafetensorsFile g;
    try {
        g = zg::from_safetensors(zg::to_safetensors(f.tensors, f.metadata), "<round trip>");
    } catch (const zg::Error&) {
        // Metadata or names that are valid JSON strings are valid UTF-8, so writing must work.
        std::abort();
    }
    if (g.metadata != f.metadata || g.tensors.size() != f.tensors.size()) std::abort();
    for (const auto& [name, t] : f.tensors) {
        auto it = g.tensors.find(name);
        if (it == g.tensors.end()) std::abort();
        const zg::Tensor& u = it->second;
        if (u.dtype() != t.dtype() || u.shape() != t.shape()) std::abort();
        size_t n = (size_t)t.numel() * zg::dtype_size(t.dtype());
        if (n && std::memcmp(u.raw_data(), t.raw_data(), n) != 0) std::abort();
    }
    return 0;
}
