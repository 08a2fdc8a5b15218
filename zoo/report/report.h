#pragma once
// A run's report.html: one self-contained page (Chart.js and the page's script inline, no
// network) drawing the run's curves, markers, samples, warnings and config from the files of the
// run directory (zoo/train/trainer.h lists them), so it can be rebuilt any time. What it reads
// is zoo/report/run_data.h; how it draws, zoo/report/report_page.js.
#include <nlohmann/json.hpp>
#include <string>

namespace zg::zoo {

// JSON to put inside a <script> element of a page: every '<' written as \u003c (it can only
// occur inside JSON strings), so no "</script>" or "<!--" in a path or a message can end the
// element early; strings that are not UTF-8 are repaired, not fatal.
std::string json_for_script(const nlohmann::json& j);

// Writes run_dir/report.html from run_dir/config.json, metrics.jsonl and samples/. `live`:
// training goes on, and the page reloads itself every few seconds to follow it.
void write_report(const std::string& run_dir, bool live = false);

}  // namespace zg::zoo
