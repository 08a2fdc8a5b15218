#include "tools/sweep/ranking.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "engine/io/atomic_file.h"
#include "engine/rng.h"
#include "zoo/eval/metrics.h"

namespace zg::tools {

using Json = nlohmann::json;
using zoo::metrics::median;

namespace {

// How many bootstrap resamples the interval of a median uses, and its level.
constexpr int kResamples = 1000;
constexpr double kLevel = 0.90;

// The percentile interval of the median over resamples of v with replacement (the project RNG,
// seed 0, so a table is the same every time it is written).
std::pair<double, double> bootstrap_median(const std::vector<double>& v) {
    if (v.size() < 2) return {median(v), median(v)};
    Rng gen(0);
    std::vector<int32_t> pick(v.size());
    std::vector<double> medians, sample(v.size());
    for (int r = 0; r < kResamples; ++r) {
        fill_randint(pick.data(), pick.size(), gen, 0, (int32_t)v.size());
        for (size_t i = 0; i < v.size(); ++i) sample[i] = v[pick[i]];
        medians.push_back(median(sample));
    }
    std::sort(medians.begin(), medians.end());
    const auto at = [&](double q) { return medians[(size_t)std::lround(q * (kResamples - 1))]; };
    return {at((1 - kLevel) / 2), at((1 + kLevel) / 2)};
}

std::string number(double v, int digits = 4) {
    if (std::isnan(v)) return "";
    std::ostringstream os;
    os.precision(digits);
    os << v;
    return os.str();
}

std::string flags_text(const Json& flags) {
    std::string out;
    for (const Json& f : flags) {
        if (!out.empty()) out += ' ';
        out += f.get<std::string>();
    }
    return out;
}

}  // namespace

Ranking rank_results(const std::string& dir) {
    std::vector<RankedCandidate> rows;
    std::map<std::string, size_t> index;
    bool images = false;
    std::ifstream in(dir + "/results.jsonl");
    for (std::string text; std::getline(in, text);) {
        const Json j = Json::parse(text, nullptr, false);
        if (!j.is_object() || !j.contains("candidate") || !j.contains("status")) continue;
        const std::string name = j.at("candidate");
        if (!index.count(name)) {
            index[name] = rows.size();
            RankedCandidate row;
            row.candidate = name;
            if (j.contains("flags")) row.flags = flags_text(j.at("flags"));
            if (j.contains("axes")) row.axes = j.at("axes");
            rows.push_back(std::move(row));
        }
        RankedCandidate& r = rows[index[name]];
        ++r.runs;
        const std::string status = j.at("status");
        if (status == "skipped") {
            ++r.skipped;
            r.reason = j.value("reason", "");
            continue;
        }
        if (status == "diverged" || status == "unhealthy") ++r.diverged;
        if (status != "ok") {
            r.reason = j.value("reason", "");
            continue;
        }
        ++r.ok;
        if (j.contains("fid")) {
            images = true;
            r.quality.push_back(j.at("fid").get<double>());
            if (j.contains("kid")) r.kid.push_back(j.at("kid").get<double>());
            if (j.contains("recall")) r.diversity.push_back(j.at("recall").get<double>());
        } else if (j.contains("high_quality") && j.contains("modes_covered")) {
            r.quality.push_back(j.at("high_quality").get<double>() *
                                j.at("modes_covered").get<double>());
            r.diversity.push_back(j.at("modes_covered").get<double>());
        }
        if (j.contains("cpu_s_per_step")) r.cost.push_back(j.at("cpu_s_per_step").get<double>());
        if (j.contains("peak_memory_mb")) r.memory.push_back(j.at("peak_memory_mb").get<double>());
        if (j.contains("warnings_per_kstep"))
            r.warnings.push_back(j.at("warnings_per_kstep").get<double>());
    }
    // Lower is better for every objective once the mixtures' score is negated.
    const double sign = images ? 1.0 : -1.0;
    for (RankedCandidate& r : rows) {
        r.q = median(r.quality);
        std::tie(r.q_lo, r.q_hi) = bootstrap_median(r.quality);
        r.div = median(r.diversity);
        r.cpu = median(r.cost);
        if (!r.quality.empty())
            r.spread = *std::max_element(r.quality.begin(), r.quality.end()) -
                       *std::min_element(r.quality.begin(), r.quality.end());
        const int trained = r.runs - r.skipped;
        r.unstable = trained > 0 ? (double)r.diverged / trained : NAN;
    }
    const auto objectives = [&](const RankedCandidate& r) {
        return std::vector<double>{sign * r.q, -r.div, r.unstable, r.cpu};
    };
    for (RankedCandidate& a : rows) {
        if (a.quality.empty()) continue;
        a.front = true;
        for (const RankedCandidate& b : rows) {
            if (&a == &b || b.quality.empty()) continue;
            const auto oa = objectives(a), ob = objectives(b);
            bool no_worse = true, better = false;
            for (size_t k = 0; k < oa.size(); ++k) {
                if (std::isnan(oa[k]) || std::isnan(ob[k])) continue;
                no_worse = no_worse && ob[k] <= oa[k];
                better = better || ob[k] < oa[k];
            }
            if (no_worse && better) a.front = false;
        }
    }
    // Scored candidates by quality; then those that trained but were never scored (diverged or
    // failed); the refused ones go in a list of their own.
    Ranking out;
    out.images = images;
    for (RankedCandidate& r : rows) (r.runs == r.skipped ? out.refused : out.ranked).push_back(r);
    std::stable_sort(out.ranked.begin(), out.ranked.end(),
                     [&](const RankedCandidate& a, const RankedCandidate& b) {
                         if (a.quality.empty() != b.quality.empty()) return b.quality.empty();
                         return !a.quality.empty() && sign * a.q < sign * b.q;
                     });
    return out;
}

void write_ranking(const std::string& dir, const Ranking& ranking) {
    const bool images = ranking.images;

    const std::string quality_name = images ? "FID (median)" : "high quality × modes (median)";
    std::ostringstream md, csv;
    md << "| rank | candidate | flags | scored runs | " << quality_name << " | "
       << (int)(kLevel * 100) << "% interval | " << (images ? "KID ×10³ | recall" : "modes")
       << " | diverged | spread over seeds | warnings per 1000 steps | CPU s per step | peak MB "
          "| Pareto front |\n|---:|---|---|---:|---:|---|"
       << (images ? "---:|---:|" : "---:|") << "---:|---:|---:|---:|---:|:---:|\n";
    csv << "rank,candidate,flags,scored_runs,runs,quality,quality_lo,quality_hi,kid,diversity,"
           "diverged_share,spread,warnings_per_kstep,cpu_s_per_step,peak_memory_mb,front\n";
    int rank = 0;
    for (const RankedCandidate& c : ranking.ranked) {
        ++rank;
        md << "| " << rank << " | " << c.candidate << " | `" << c.flags << "` | " << c.ok << "/"
           << c.runs << " | " << number(c.q) << " | "
           << (c.quality.empty() ? "" : number(c.q_lo) + " – " + number(c.q_hi)) << " | ";
        if (images) md << number(median(c.kid), 3) << " | ";
        md << number(c.div, 3) << " | " << number(100 * c.unstable, 3) << "% | " << number(c.spread)
           << " | " << number(median(c.warnings), 3) << " | " << number(c.cpu, 3) << " | "
           << number(median(c.memory), 4) << " | " << (c.front ? "●" : "") << " |\n";
        csv << rank << "," << c.candidate << ",\"" << c.flags << "\"," << c.ok << "," << c.runs
            << "," << number(c.q, 8) << "," << number(c.q_lo, 8) << "," << number(c.q_hi, 8) << ","
            << number(median(c.kid), 8) << "," << number(c.div, 8) << "," << number(c.unstable, 8)
            << "," << number(c.spread, 8) << "," << number(median(c.warnings), 8) << ","
            << number(c.cpu, 8) << "," << number(median(c.memory), 8) << "," << (c.front ? 1 : 0)
            << "\n";
    }
    if (!ranking.refused.empty()) {
        md << "\nRefused by `zoograd train` (incompatible flags), not counted as failures:\n\n";
        for (const RankedCandidate& c : ranking.refused)
            md << "- " << c.candidate << " (`" << c.flags << "`): " << c.reason << "\n";
    }
    for (const RankedCandidate& c : ranking.ranked)
        if (c.quality.empty() && !c.reason.empty())
            md << "\n" << c.candidate << " has no scored run: " << c.reason << "\n";
    write_file_atomically(dir + "/results.md", {md.str()});
    write_file_atomically(dir + "/results.csv", {csv.str()});
}

}  // namespace zg::tools
