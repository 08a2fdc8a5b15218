#pragma once
// A sweep's report.html: one self-contained page (zoo's Chart.js and style sheet, the script
// sweep_page.js beside this header, no network) with the plots a person wants of a sweep:
// quality against cost for every candidate with the Pareto front marked, the spread of the
// runs' quality per value of each axis, and the ranked table.
#include <string>

#include "tools/sweep/ranking.h"

namespace zg::tools {

void write_sweep_report(const std::string& dir, const Ranking& ranking);

}  // namespace zg::tools
