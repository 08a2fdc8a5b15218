// libFuzzer target for the IDX reader (MNIST's format, plain or gzip): any byte string, read as
// a file, must either load or throw zg::Error. Any other exception, a crash, a sanitizer report
// or a huge allocation is a bug. Files that load as [N, H, W] are also turned into images, and
// as [N] into labels checked the way load_idx_dataset checks them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/error.h"
#include "nn/data/dataset.h"
#include "scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path =
        zg::fuzz::scratch_dir() + "/zg_fuzz_idx_" + std::to_string(getpid());
    zg::fuzz::write_scratch(path, data, size);
    try {
        const zg::nn::IdxArray a = zg::nn::read_idx(path);
        uint64_t count = 1;
        for (int64_t d : a.dims) count *= (uint64_t)d;
        if (count != a.data.size()) std::abort();  // the reader promised exactly this many bytes
        if (a.dims.size() == 3) {
            const zg::Tensor t = zg::nn::images_from_idx(a, "<fuzz>");
            if ((uint64_t)t.numel() != count) std::abort();
        }
    } catch (const zg::Error&) {
    }
    return 0;
}
