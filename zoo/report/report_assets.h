#pragma once
// The files report.html carries inline, so it stays one page that needs no network: Chart.js
// (Debian's libjs-chart.js, found by CMake) and the page's own script and style sheet
// (report_page.js, report_page.css beside this header). CMake embeds their bytes at build time
// (cmake/embed_files.cmake).
#include <string_view>

namespace zg::zoo::report_assets {

std::string_view chart_js();
std::string_view page_js();
std::string_view page_css();

}  // namespace zg::zoo::report_assets
