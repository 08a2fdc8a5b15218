#include "zoo/report/run_data.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "nn/data/dataset.h"
#include "zoo/report/images.h"

namespace zg::zoo {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// The newest sample arrays a page carries: a long 2-D run's hundreds of arrays would make the
// page slow to load, and the slider's last steps are the ones people look at.
constexpr size_t kMaxPointSnapshots = 200;

// A metrics line is drawn only when it is an object with a numeric step: a line cut short or
// edited by hand ([1,2], {"step":null}) is left out of the page, never fatal to the run.
bool drawable(const Json& j) {
    return j.is_object() && j.contains("step") && j.at("step").is_number();
}

std::string text_of(const Json& j, const char* key) {
    return j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>() : "";
}

std::vector<Json> metrics_lines(const std::string& dir) {
    std::vector<Json> lines;
    std::ifstream in(dir + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        Json j = Json::parse(line, nullptr, false);
        if (drawable(j)) lines.push_back(std::move(j));
    }
    return lines;
}

// Keys of a training line that are bookkeeping, not curves.
bool is_curve(const std::string& key, const Json& v) {
    return v.is_number() && key != "step" && key != "epoch" && key != "time_s";
}

// Where each of ProGAN's phases (a resolution stable, or fading in) began, from the
// resolution and α logged with each step.
Json schedule_phases(const Json& series) {
    Json phases = Json::array();
    if (!series.contains("resolution") || !series.contains("alpha")) return phases;
    const Json& res = series.at("resolution");
    const Json& alpha = series.at("alpha");
    const Json* kimg = series.contains("kimg") ? &series.at("kimg") : nullptr;
    if (res.size() != alpha.size() || (kimg && kimg->size() != res.size())) return phases;
    for (size_t i = 0; i < res.size(); ++i) {
        const double r = res[i][1], a = alpha[i][1];
        const bool fading = a < 1;
        if (i > 0 && r == res[i - 1][1].get<double>() && fading == (alpha[i - 1][1] < 1)) continue;
        phases.push_back({{"step", res[i][0]},
                          {"kimg", kimg ? (*kimg)[i][1] : Json(nullptr)},
                          {"resolution", std::lround(r)},
                          {"fading", fading}});
    }
    return phases;
}

// samples/step_NNNNNN.ext, oldest first, with their steps.
std::vector<std::pair<int64_t, std::string>> step_files(const std::string& dir,
                                                        const std::string& ext) {
    std::vector<std::pair<int64_t, std::string>> files;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir + "/samples", ec)) {
        const std::string name = e.path().filename().string();
        if (e.path().extension() != ext || !name.starts_with("step_")) continue;
        const std::string digits = name.substr(5, name.size() - 5 - ext.size());
        if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
        files.emplace_back(std::stoll(digits), "samples/" + name);
    }
    std::sort(files.begin(), files.end());
    return files;
}

// The 2-D sample arrays ([N, 2]) a page shows as points over the data's modes.
Json point_snapshots(const std::string& dir) {
    Json points = Json::array();
    auto files = step_files(dir, ".npy");
    if (files.size() > kMaxPointSnapshots)
        files.erase(files.begin(), files.end() - kMaxPointSnapshots);
    for (auto& [step, src] : files) {
        Tensor xy;
        try {
            xy = load_npy(dir + "/" + src).data;
        } catch (const Error&) {  // cut short by a kill: the page shows the others
            continue;
        }
        if (xy.dim() != 2 || xy.size(1) != 2) continue;  // not a 2-D model's samples
        const std::vector<float> v = xy.to_vector<float>();
        Json pts = Json::array();
        for (size_t i = 0; i + 1 < v.size(); i += 2)
            if (std::isfinite(v[i]) && std::isfinite(v[i + 1])) pts.push_back({v[i], v[i + 1]});
        points.push_back({{"step", step}, {"xy", std::move(pts)}});
    }
    return points;
}

Json mixture_modes(const Json& config) {
    Json modes = Json::array();
    if (!config.is_object() || !config.contains("data") || !config.at("data").is_string())
        return modes;
    try {
        for (auto& [x, y] : nn::mixture_spec(config.at("data").get<std::string>()).centers)
            modes.push_back({x, y});
    } catch (const Error&) {  // not one of the named mixtures: points without modes
    }
    return modes;
}

Json read_config(const std::string& dir) {
    std::ifstream in(dir + "/config.json");
    Json config = Json::parse(in, nullptr, false);
    return config.is_discarded() ? Json::object() : config;
}

}  // namespace

Json read_run_data(const std::string& dir, bool live) {
    Json series = Json::object(), warnings = Json::array(), resumes = Json::array();
    Json last = Json::object();
    for (const Json& j : metrics_lines(dir)) {
        const Json step = j.at("step");
        if (j.contains("budget_reached")) continue;  // where --minutes stopped the run
        if (j.contains("resumed")) {  // a run killed again before it saved resumes twice there
            if (resumes.empty() || resumes.back() != step) resumes.push_back(step);
            continue;
        }
        if (j.contains("warning")) {
            warnings.push_back({{"step", step},
                                {"warning", text_of(j, "warning")},
                                {"message", text_of(j, "message")}});
            continue;
        }
        for (auto& [k, v] : j.items())
            if (is_curve(k, v)) series[k].push_back({step, v});
        last = j;
    }
    Json grids = Json::array();
    for (auto& [step, src] : step_files(dir, ".png"))
        grids.push_back({{"step", step}, {"src", src}});
    const Json config = read_config(dir);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    fs::path path = fs::absolute(dir).lexically_normal();
    if (path.filename().empty()) path = path.parent_path();  // "runs/x/"
    return {{"dir", path.string()},
            {"name", path.filename().string()},
            {"live", live},
            {"written_at", std::floor(now)},
            {"series", series},
            {"warnings", warnings},
            {"resumes", resumes},
            {"phases", schedule_phases(series)},
            {"last", last},
            {"real", fs::exists(dir + "/samples/real.png") ? Json("samples/real.png") : Json()},
            {"grids", grids},
            {"points", point_snapshots(dir)},
            {"modes", mixture_modes(config)},
            {"config", config}};
}

}  // namespace zg::zoo
