// libFuzzer target for the .npy reader (`zoograd eval --samples FILE.npy`): any byte string,
// read as a file, must either load or throw zg::Error. Any other exception, a crash, a sanitizer
// report or a huge allocation is a bug. An array that loads holds exactly the elements its
// shape says, and float32 ones survive a save and a load unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/error.h"
#include "scratch_file.h"
#include "zoo/report/images.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string dir = zg::fuzz::scratch_dir();
    static const std::string path = dir + "/zg_fuzz_npy_" + std::to_string(getpid()) + ".npy";
    static const std::string again = dir + "/zg_fuzz_npy_" + std::to_string(getpid()) + "_2.npy";
    zg::fuzz::write_scratch(path, data, size);
    zg::zoo::NpyArray a;
    try {
        a = zg::zoo::load_npy(path);
    } catch (const zg::Error&) {
        return 0;
    }
    int64_t count = 1;
    for (int64_t d : a.data.shape()) count *= d;
    if (count != a.data.numel()) std::abort();
    if (a.uint8) return 0;
    zg::zoo::save_npy(a.data, again);
    const zg::zoo::NpyArray b = zg::zoo::load_npy(again);
    if (b.uint8 || b.data.shape() != a.data.shape()) std::abort();
    const size_t bytes = (size_t)a.data.numel() * sizeof(float);
    if (bytes &&
        std::memcmp(b.data.contiguous().raw_data(), a.data.contiguous().raw_data(), bytes) != 0)
        std::abort();
    return 0;
}
