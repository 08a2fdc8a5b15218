#pragma once
// What report.html draws, read from a run directory (zoo/train/trainer.h lists its files) into
// one JSON object, the page's data (zoo/report/report_page.js draws it):
//   dir, name        the run directory as given, and its last component
//   live             true while training goes on (the page then reloads itself)
//   written_at       seconds since 1970 when this was read (the page stops reloading a report
//                    that has not changed for ten minutes: a killed run)
//   series           per logged scalar, [[step, value], ...] in the order logged
//   warnings         the health monitor's lines: {step, warning, message}
//   resumes          the steps at which a --resume continued the run
//   phases           ProGAN's schedule: {step, kimg, resolution, fading} where each phase began
//   last             the last logged line of metrics, as logged
//   real, grids      samples/real.png (or null) and the step grids [{step, src}], oldest first
//   points, modes    2-D models: sample arrays [{step, xy: [[x, y], ...]}] and the data's modes
//   config           config.json
// Lines of metrics.jsonl that are not objects with a numeric step (cut by a kill, edited by
// hand) are left out, and so are sample arrays that cannot be read: nothing in a run directory
// makes this throw.
#include <nlohmann/json.hpp>
#include <string>

namespace zg::zoo {

nlohmann::json read_run_data(const std::string& run_dir, bool live);

}  // namespace zg::zoo
