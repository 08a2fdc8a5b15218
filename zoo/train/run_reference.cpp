// Run directories and checkpoint files as names of a run (run_reference.h).
#include "zoo/train/run_reference.h"

#include <filesystem>

#include "engine/error.h"

namespace fs = std::filesystem;

namespace zg::zoo {

std::string checkpoint_of(const std::string& ref) {
    ZG_CHECK(fs::exists(ref), ref, ": no such file or directory (give a run directory or a ",
             "checkpoint file such as RUN/checkpoints/latest.safetensors)");
    if (!fs::is_directory(ref)) return ref;
    const fs::path latest = fs::path(ref) / "checkpoints" / "latest.safetensors";
    ZG_CHECK(fs::exists(latest), ref, ": this directory has no checkpoints/latest.safetensors; ",
             "is it a zoograd run directory, and has its run saved a checkpoint yet?");
    return latest.string();
}

std::string run_dir_of(const std::string& ref) {
    ZG_CHECK(fs::exists(ref), ref, ": no such run directory or checkpoint file");
    const fs::path dir =
        fs::is_directory(ref) ? fs::path(ref) : fs::path(ref).parent_path().parent_path();
    ZG_CHECK(fs::exists(dir / "config.json"), ref, ": ",
             fs::is_directory(ref) ? "no config.json there"
                                   : "this file is not in the checkpoints/ of a run directory",
             "; is it a zoograd run?");
    return dir.empty() ? "." : dir.string();
}

}  // namespace zg::zoo
