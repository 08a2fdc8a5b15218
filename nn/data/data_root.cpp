// The search for a data set's root folder (data_root.h).
#include "nn/data/data_root.h"

#include <cstdlib>
#include <filesystem>

#include "engine/error.h"

#ifndef ZG_SOURCE_DATA_DIR
#error "ZG_SOURCE_DATA_DIR (the source tree's data/) must be defined by the build"
#endif

namespace fs = std::filesystem;

namespace zg::nn {
namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

}  // namespace

std::vector<DataRootCandidate> data_root_candidates() {
    std::vector<DataRootCandidate> c;
    if (const std::string d = env("ZOOGRAD_DATA"); !d.empty()) c.push_back({"$ZOOGRAD_DATA", d});
    c.push_back({"./data", "data"});
    c.push_back({"the source tree", ZG_SOURCE_DATA_DIR});
    if (const std::string x = env("XDG_DATA_HOME"); !x.empty())
        c.push_back({"$XDG_DATA_HOME/zoograd", x + "/zoograd"});
    else if (const std::string home = env("HOME"); !home.empty())
        c.push_back({"~/.local/share/zoograd", home + "/.local/share/zoograd"});
    return c;
}

bool uses_data_root(const std::string& name) {
    return name == "mnist" || name == "fashion";
}

std::string find_data_root(const std::string& given, const std::string& name) {
    if (!given.empty()) return given;
    std::string looked;
    for (const DataRootCandidate& c : data_root_candidates()) {
        std::error_code ec;
        if (fs::is_directory(fs::path(c.path) / name, ec)) return c.path;
        looked += "\n  " + (fs::path(c.path) / name).string() + " (" + c.origin + ")";
    }
    throw Error(name + " was not found. zoograd looked in:" + looked +
                "\nFetch it with 'make data' in the zoograd source tree, or point --data-root "
                "(or the environment variable ZOOGRAD_DATA) at the folder that holds " +
                name + "/.");
}

}  // namespace zg::nn
