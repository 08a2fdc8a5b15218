#include "zoo/report/report.h"

#include <string>

#include "engine/io/atomic_file.h"
#include "zoo/report/report_assets.h"
#include "zoo/report/run_data.h"

namespace zg::zoo {

namespace {

std::string escape_html(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (ch == '<')
            out += "&lt;";
        else if (ch == '>')
            out += "&gt;";
        else if (ch == '&')
            out += "&amp;";
        else
            out += ch;
    }
    return out;
}

}  // namespace

std::string json_for_script(const nlohmann::json& j) {
    const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (char ch : text)
        if (ch == '<')
            out += "\\u003c";
        else
            out += ch;
    return out;
}

void write_report(const std::string& dir, bool live) {
    const nlohmann::json run = read_run_data(dir, live);
    const std::string name = escape_html(run.at("name").get<std::string>());
    std::string html;
    html += "<!doctype html><html><head><meta charset='utf-8'><title>zoograd run " + name +
            "</title><style>";
    html += report_assets::page_css();
    html += "</style></head><body><h1>zoograd run: " + name + "</h1><p>";
    if (run.at("config").contains("model") && run.at("config").at("model").is_string())
        html += escape_html(run.at("config").at("model").get<std::string>()) + " · ";
    html +=
        "<span id='zg-state'></span></p><noscript>This page draws with JavaScript.</noscript>"
        "<div id='zg-controls'></div><div id='zg-warnings'></div><div id='zg-training'></div>"
        "<div id='zg-schedule'></div><div id='zg-quality'></div><div id='zg-samples'></div>"
        "<div id='zg-last'></div><div id='zg-config'></div><div id='zg-status' hidden></div>";
    html += "<script id='zg-run' type='application/json'>" + json_for_script(run) + "</script>";
    html += "<script>";
    html += report_assets::chart_js();
    html += "</script><script>";
    html += report_assets::status_js();
    html += "</script><script>";
    html += report_assets::page_js();
    html += "</script></body></html>\n";
    write_file_atomically(dir + "/report.html", {html});  // never half a page
}

}  // namespace zg::zoo
