#pragma once
// The files report.html carries inline, so it stays one page that needs no network: Chart.js
// (Debian's libjs-chart.js, found by CMake), the page's own script and style sheet
// (report_page.js, report_page.css beside this header) and page_status.js, which the sweep's
// report shares. CMake embeds their bytes at build time (cmake/embed_files.cmake).
#include <string_view>

namespace zg::zoo::report_assets {

std::string_view chart_js();
std::string_view page_js();
std::string_view page_css();
std::string_view status_js();  // page_status.js: shared by the sweep report's script

}  // namespace zg::zoo::report_assets
