#pragma once
// A run's report.html: one self-contained page (loss curves as inline SVG, the sample grids over
// time, the health monitor's warnings, the config and the last logged metrics), written from the
// files of the run directory (zoo/train/trainer.h lists them), so it can be rebuilt any time.
#include <string>

namespace zg::zoo {

// Writes run_dir/report.html from run_dir/config.json, metrics.jsonl and samples/.
void write_report(const std::string& run_dir);

}  // namespace zg::zoo
