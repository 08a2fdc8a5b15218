#include "zoo/report/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/io/atomic_file.h"

namespace zg::zoo {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string escape(const std::string& s) {
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

// One line chart: x = step, one polyline per series.
std::string svg_chart(const std::vector<double>& steps,
                      const std::vector<std::pair<std::string, std::vector<double>>>& series) {
    const double w = 720, h = 260, pad = 40;
    double lo = INFINITY, hi = -INFINITY;
    for (auto& [name, ys] : series)
        for (double y : ys) {
            lo = std::min(lo, y);
            hi = std::max(hi, y);
        }
    if (steps.empty() || !std::isfinite(lo)) return "<p>no data yet</p>";
    if (hi - lo < 1e-12) hi = lo + 1;
    const double x0 = steps.front(), x1 = std::max(steps.back(), x0 + 1);
    static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};
    std::ostringstream os;
    os << "<svg width='" << w << "' height='" << h << "' style='background:#fafafa'>";
    os << "<text x='4' y='" << pad - 8 << "' font-size='11'>" << hi << "</text>";
    os << "<text x='4' y='" << h - pad + 14 << "' font-size='11'>" << lo << "</text>";
    os << "<text x='" << w - 120 << "' y='" << h - 8 << "' font-size='11'>step " << x1 << "</text>";
    size_t ci = 0;
    for (auto& [name, ys] : series) {
        const char* color = colors[ci++ % 5];
        os << "<polyline fill='none' stroke='" << color << "' points='";
        for (size_t i = 0; i < ys.size(); ++i) {
            const double x = pad + (steps[i] - x0) / (x1 - x0) * (w - 2 * pad);
            const double y = h - pad - (ys[i] - lo) / (hi - lo) * (h - 2 * pad);
            os << x << "," << y << " ";
        }
        os << "'/><text x='" << pad + 110 * (ci - 1) << "' y='14' font-size='12' fill='" << color
           << "'>" << escape(name) << "</text>";
    }
    os << "</svg>";
    return os.str();
}

// The scalars of a model's position in its own schedule (ProGAN: Gan::position()).
bool is_schedule_key(const std::string& k) {
    return k == "resolution" || k == "alpha" || k == "kimg";
}

// ProGAN's schedule: resolution and α against the step, and a table of where each phase (a
// stable stretch or a fade) began. Empty for runs without one.
std::string schedule_section(const std::vector<double>& steps,
                             const std::map<std::string, std::vector<double>>& values) {
    for (const char* k : {"resolution", "alpha", "kimg"})
        if (!values.count(k) || values.at(k).size() != steps.size()) return "";
    const std::vector<double>& res = values.at("resolution");
    const std::vector<double>& alpha = values.at("alpha");
    const std::vector<double>& kimg = values.at("kimg");
    std::ostringstream os;
    os << "<h2>Schedule (the phase after each logged step)</h2>"
       << svg_chart(steps, {{"resolution", res}}) << svg_chart(steps, {{"alpha", alpha}})
       << "<table><tr><td><b>from step</b></td><td><b>kimg</b></td><td><b>phase</b></td></tr>";
    for (size_t i = 0; i < steps.size(); ++i) {
        const bool fading = alpha[i] < 1;
        if (i > 0 && res[i] == res[i - 1] && fading == (alpha[i - 1] < 1)) continue;
        const long r = std::lround(res[i]);
        os << "<tr><td>" << (long)steps[i] << "</td><td>" << kimg[i] << "</td><td>" << r << "×" << r
           << (fading ? " fading in" : " stable") << "</td></tr>";
    }
    os << "</table>";
    return os.str();
}

// A metrics line is drawn only when it is an object with a numeric step: a line cut short or
// edited by hand ([1,2], {"step":null}) is left out of the page, never fatal to the run.
bool drawable(const Json& j) {
    return j.is_object() && j.contains("step") && j.at("step").is_number();
}

std::string text_of(const Json& j, const char* key) {
    return j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>() : "";
}

}  // namespace

void write_report(const std::string& dir) {
    std::vector<Json> lines;
    {
        std::ifstream in(dir + "/metrics.jsonl");
        std::string line;
        while (std::getline(in, line))
            if (!line.empty()) lines.push_back(Json::parse(line, nullptr, false));
    }
    std::vector<double> steps;
    std::map<std::string, std::vector<double>> values;
    std::vector<Json> warnings;  // the health monitor's lines (zoo/train/health.h)
    // Sample-quality curves (zoo/eval/evaluation.h): per key, the steps and values.
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> quality;
    std::erase_if(lines, [](const Json& j) { return !drawable(j); });
    for (const Json& j : lines) {
        if (j.contains("budget_reached")) continue;  // where --minutes stopped the run
        if (j.contains("warning")) {
            warnings.push_back(j);
            continue;
        }
        if (j.contains("fid") || j.contains("high_quality")) {  // --eval-every sample quality
            for (const char* k : {"fid", "kid", "modes_covered", "high_quality"})
                if (j.contains(k) && j[k].is_number()) {
                    quality[k].first.push_back(j.value("step", 0.0));
                    quality[k].second.push_back(j[k].get<double>());
                }
            continue;
        }
        steps.push_back(j.value("step", 0.0));
        for (auto& [k, v] : j.items())
            if (k != "step" && k != "epoch" && k != "time_s" && v.is_number())
                values[k].push_back(v.get<double>());
    }
    std::vector<std::pair<std::string, std::vector<double>>> losses, probs;
    for (auto& [k, v] : values) {
        if (v.size() != steps.size() || is_schedule_key(k)) continue;
        (k.rfind("loss", 0) == 0 ? losses : probs).emplace_back(k, v);
    }
    std::vector<std::string> grids;
    if (fs::exists(dir + "/samples"))
        for (auto& e : fs::directory_iterator(dir + "/samples"))
            if (e.path().extension() == ".png" && e.path().filename().string().starts_with("step_"))
                grids.push_back(e.path().filename().string());
    std::sort(grids.begin(), grids.end());
    std::string config = "{}";
    {
        std::ifstream in(dir + "/config.json");
        std::stringstream ss;
        ss << in.rdbuf();
        if (!ss.str().empty()) config = ss.str();
    }
    std::ostringstream html;
    html << "<!doctype html><html><head><meta charset='utf-8'><title>zoograd run "
         << escape(fs::path(dir).filename().string())
         << "</title><style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
            "img{image-rendering:pixelated;margin:4px;border:1px solid #ccc}"
            "pre{background:#f4f4f4;padding:1em}td{padding:2px 10px}</style></head><body>";
    html << "<h1>zoograd run: " << escape(fs::path(dir).filename().string()) << "</h1>";
    if (!warnings.empty()) {
        html << "<h2 style='color:#b00'>Health warnings</h2><table style='background:#fee'>";
        for (const Json& w : warnings)
            html << "<tr><td>step " << w.at("step").dump() << "</td><td><b>"
                 << escape(text_of(w, "warning")) << "</b></td><td>"
                 << escape(text_of(w, "message")) << "</td></tr>";
        html << "</table>";
    }
    html << "<h2>Losses</h2>" << svg_chart(steps, losses);
    html << "<h2>Discriminator outputs and other scalars</h2>" << svg_chart(steps, probs);
    html << schedule_section(steps, values);
    if (!quality.empty()) {
        html << "<h2>Sample quality (--eval-every; zoograd classifier features, see "
                "docs/EVALUATION.md)</h2>";
        for (auto& [k, sv] : quality) html << svg_chart(sv.first, {{k, sv.second}});
    }
    if (!lines.empty()) {
        html << "<h2>Last logged metrics</h2><table>";
        for (auto& [k, v] : lines.back().items())
            html << "<tr><td>" << escape(k) << "</td><td>" << escape(v.dump()) << "</td></tr>";
        html << "</table>";
    }
    if (fs::exists(dir + "/samples/real.png"))
        html << "<h2>Real images</h2><img src='samples/real.png' width='280'>";
    html << "<h2>Samples (fixed z)</h2>";
    for (auto it = grids.rbegin(); it != grids.rend(); ++it)
        html << "<figure style='display:inline-block'><img src='samples/" << *it
             << "' width='280'><figcaption>" << escape(*it) << "</figcaption></figure>";
    html << "<h2>Config</h2><pre>" << escape(config) << "</pre></body></html>\n";
    write_file_atomically(dir + "/report.html", {html.str()});  // never half a page
}

}  // namespace zg::zoo
