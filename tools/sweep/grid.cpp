#include "tools/sweep/grid.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "engine/rng.h"

namespace zg::tools {

using Json = nlohmann::ordered_json;

std::vector<std::string> split_words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

Json read_grid_file(const std::string& path) {
    std::ifstream in(path);
    ZG_CHECK(in.good(), path, ": cannot read the grid file (does it exist?)");
    Json grid = Json::parse(in, nullptr, false);
    ZG_CHECK(!grid.is_discarded(), path,
             ": not valid JSON; a grid is an object of axes, e.g. {\"arch\": [\"dcgan\"], "
             "\"loss\": [\"ns\", \"wgan-gp\"]}");
    return grid;
}

namespace {

// A label piece that is safe in a directory name: the words without their leading dashes,
// joined by '_', with letters, digits, '.' and '-' kept and anything else made '_'
// ("dcgan --norm-d layer" → "dcgan_norm-d_layer").
std::string label_piece(const std::string& text) {
    std::string out;
    for (std::string word : split_words(text)) {
        word.erase(0, word.find_first_not_of('-'));
        if (word.empty()) continue;
        if (!out.empty()) out += '_';
        for (char ch : word)
            out += (std::isalnum((unsigned char)ch) || ch == '.' || ch == '-') ? ch : '_';
    }
    return out;
}

struct AxisValue {
    std::string text;   // as the grid spells it
    std::string model;  // the arch axis only
    std::vector<std::string> args;
    std::string label;
};

AxisValue axis_value(const std::string& axis, const std::string& text, const std::string& what) {
    AxisValue v;
    v.text = text;
    std::vector<std::string> words = split_words(text);
    if (axis == "arch") {
        ZG_CHECK(!words.empty() && !words[0].starts_with("-"), what, ": axis \"arch\": '", text,
                 "' must start with a model name (e.g. \"dcgan --norm-d layer\")");
        v.model = words[0];
        v.args.assign(words.begin() + 1, words.end());
        v.label = label_piece(text);
        return v;
    }
    if (!words.empty() && !words[0].starts_with("--")) {
        v.args.push_back("--" + axis);
        v.label = label_piece(axis + "_" + text);
    } else {
        v.label = words.empty() ? "" : label_piece(text);
    }
    v.args.insert(v.args.end(), words.begin(), words.end());
    return v;
}

}  // namespace

std::vector<Candidate> expand_grid(const Json& grid, const std::string& what) {
    ZG_CHECK(grid.is_object() && !grid.empty(), what,
             ": a grid is an object of axes, each a list of flag sets, e.g. {\"arch\": "
             "[\"dcgan\"], \"loss\": [\"ns\", \"wgan-gp\"]}");
    ZG_CHECK(grid.contains("arch"), what,
             ": the grid needs an \"arch\" axis naming the model of "
             "each candidate (e.g. \"arch\": [\"dcgan\", \"dcgan --norm-d layer\"])");
    std::vector<std::vector<AxisValue>> axes;
    std::vector<std::string> names;
    for (auto& [axis, values] : grid.items()) {
        ZG_CHECK(values.is_array() && !values.empty(), what, ": axis \"", axis,
                 "\" must be a non-empty list of strings");
        std::vector<AxisValue> parsed;
        for (const Json& v : values) {
            ZG_CHECK(v.is_string(), what, ": axis \"", axis, "\" holds ", v.dump(),
                     ", expected a string of train flags");
            parsed.push_back(axis_value(axis, v.get<std::string>(), what));
        }
        axes.push_back(std::move(parsed));
        names.push_back(axis);
    }
    bool varies = false;
    for (const auto& values : axes) varies = varies || values.size() > 1;
    // Every combination, the first axis slowest (the order a person reads the grid in).
    std::vector<Candidate> out;
    std::vector<size_t> at(axes.size(), 0);
    while (true) {
        Candidate c;
        std::string label;
        for (size_t a = 0; a < axes.size(); ++a) {
            const AxisValue& v = axes[a][at[a]];
            c.axes[names[a]] = v.text;
            if (!v.model.empty()) c.model = v.model;
            c.args.insert(c.args.end(), v.args.begin(), v.args.end());
            // Only the axes that vary name a candidate (the arch as well when none varies), and
            // only whole pieces that fit in 80 characters.
            const bool named = axes[a].size() > 1 || (!varies && !v.model.empty());
            if (!named || v.label.empty() || label.size() + v.label.size() >= 80) continue;
            if (!label.empty()) label += '-';
            label += v.label;
        }
        char index[16];
        std::snprintf(index, sizeof index, "c%02zu", out.size() + 1);
        c.label = index;
        if (!label.empty()) c.label += '-';
        c.label += label;
        out.push_back(std::move(c));
        size_t a = axes.size();
        while (a > 0 && ++at[a - 1] == axes[a - 1].size()) at[--a] = 0;
        if (a == 0) break;
    }
    return out;
}

namespace {

// Whether a candidate's flags choose a penalty that --reg-weight weights.
bool has_penalty(const std::vector<std::string>& args) {
    for (size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--reg" && args[i + 1] != "none" && args[i + 1] != "auto") return true;
        if (args[i] == "--loss" && args[i + 1] == "wgan-gp") return true;
    }
    return false;
}

std::string short_number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", v);
    return text;
}

}  // namespace

std::vector<Candidate> with_random_search(const std::vector<Candidate>& candidates, int64_t draws,
                                          uint64_t seed) {
    Rng gen(seed);
    std::vector<Candidate> out;
    for (const Candidate& c : candidates)
        for (int64_t k = 1; k <= draws; ++k) {
            double u[4];
            fill_uniform(u, 4, gen, 0.0, 1.0);
            Candidate d = c;
            char tag[24];
            std::snprintf(tag, sizeof tag, "r%lld", (long long)k);
            d.label += '-';
            d.label += tag;
            d.axes["random"] = tag;
            const std::string lr = short_number(std::pow(10.0, -5.0 + 3.0 * u[0]));
            const std::string beta1 = short_number(0.9 * u[1]);
            d.args.insert(d.args.end(),
                          {"--lr", lr, "--beta1", beta1, "--n-critic", u[2] < 0.5 ? "1" : "5"});
            if (has_penalty(c.args))
                d.args.insert(d.args.end(),
                              {"--reg-weight", short_number(std::pow(10.0, -1.0 + 3.0 * u[3]))});
            out.push_back(std::move(d));
        }
    return out;
}

}  // namespace zg::tools
