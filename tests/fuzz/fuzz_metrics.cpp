// libFuzzer target for report.html's reader of metrics.jsonl (zoo/report/report.cpp): the file
// is appended to while training and can be cut by a kill or edited by hand, and the report is
// redrawn from it during a run, so any bytes there must give a report, never an exception (a
// line that is no object with a numeric step is left out of the page).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "scratch_file.h"
#include "zoo/report/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string dir =
        zg::fuzz::scratch_dir() + "/zg_fuzz_metrics_" + std::to_string(getpid());
    static const bool made = [] {
        std::filesystem::create_directories(dir + "/samples");
        std::ofstream(dir + "/config.json")
            << R"({"model": "dcgan", "data": "mnist", "steps": 10})";
        return true;
    }();
    (void)made;
    zg::fuzz::write_scratch(dir + "/metrics.jsonl", data, size);
    try {
        zg::zoo::write_report(dir);
    } catch (...) {
        std::abort();
    }
    if (std::filesystem::file_size(dir + "/report.html") == 0) std::abort();
    return 0;
}
