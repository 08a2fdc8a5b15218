#pragma once
// The data a run's report.html carries for its script (zoo/report/run_data.h), read back from
// the page the trainer wrote: tests check what the page will draw without a browser.
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace zg::testing {

inline nlohmann::json report_data(const std::string& run_dir) {
    std::ifstream in(run_dir + "/report.html");
    const std::string html((std::istreambuf_iterator<char>(in)), {});
    const std::string open = "<script id='zg-run' type='application/json'>";
    const size_t from = html.find(open);
    if (from == std::string::npos) throw std::runtime_error(run_dir + "/report.html: no run data");
    const size_t begin = from + open.size();
    return nlohmann::json::parse(html.substr(begin, html.find("</script>", begin) - begin));
}

}  // namespace zg::testing
