#include "zoo/models/progan/schedule.h"

#include <cmath>

#include "engine/error.h"

namespace zg::zoo {

namespace {

bool is_power_of_two(int64_t v) {
    return v > 0 && (v & (v - 1)) == 0;
}

int64_t log2_exact(int64_t v) {
    int64_t l = 0;
    while ((int64_t(1) << l) < v) ++l;
    return l;
}

int64_t images_of(double kimg, const char* flag) {
    ZG_CHECK(std::isfinite(kimg) && kimg >= 0, flag, " must be a number ≥ 0, got ", kimg);
    return std::llround(kimg * 1000.0);
}

}  // namespace

ProganSchedule::ProganSchedule(int64_t start_resolution, int64_t final_resolution,
                               double stable_kimg, double fade_kimg)
    : start_(start_resolution),
      final_(final_resolution),
      stable_images_(images_of(stable_kimg, "--stable-kimg")),
      fade_images_(images_of(fade_kimg, "--fade-kimg")) {
    ZG_CHECK(is_power_of_two(start_) && start_ >= 4,
             "progan: the start resolution must be a "
             "power of two ≥ 4, got ",
             start_);
    ZG_CHECK(is_power_of_two(final_) && final_ >= start_,
             "progan: --image-size must be a power "
             "of two ≥ ",
             start_, ", got ", final_);
    growths_ = log2_exact(final_) - log2_exact(start_);
    ZG_CHECK(growths_ == 0 || stable_images_ + fade_images_ > 0,
             "progan: --stable-kimg and --fade-kimg are both 0, so the network would never "
             "train below ",
             final_, "×", final_);
}

int64_t ProganSchedule::segment_start(int64_t segment) const {
    ZG_CHECK(segment >= 0 && segment < segments(), "ProganSchedule: no segment ", segment);
    const int64_t growth = segment / 2;
    return growth * (stable_images_ + fade_images_) + (segment % 2 ? stable_images_ : 0);
}

// Growth g (0-based) occupies [g·P, (g+1)·P) images, P = stable + fade: first stable at
// start·2^g, then the fade into start·2^(g+1) with α = (shown − g·P − stable) / fade.
ProganPhase ProganSchedule::at(int64_t images_shown) const {
    ZG_CHECK(images_shown >= 0, "ProganSchedule: negative images shown (", images_shown, ")");
    const int64_t period = stable_images_ + fade_images_;
    const int64_t growth = period > 0 ? std::min(images_shown / period, growths_) : growths_;
    ProganPhase p;
    if (growth == growths_) {  // the final resolution, trained on for good
        p.segment = 2 * growths_;
        p.resolution = final_;
        return p;
    }
    const int64_t into = images_shown - growth * period;
    if (into < stable_images_) {
        p.segment = 2 * growth;
        p.resolution = start_ << growth;
        return p;
    }
    p.segment = 2 * growth + 1;
    p.resolution = start_ << (growth + 1);
    p.alpha = (double)(into - stable_images_) / (double)fade_images_;
    return p;
}

std::map<int64_t, int64_t> parse_batch_sizes(const std::string& spec) {
    std::map<int64_t, int64_t> sizes;
    size_t start = 0;
    const std::string usage = " (expected RESOLUTION:SIZE pairs such as 4:64,8:64,16:64,32:32)";
    while (start <= spec.size()) {
        const size_t comma = spec.find(',', start);
        const std::string item =
            spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const size_t colon = item.find(':');
        long long res = 0, size = 0;
        size_t used_res = 0, used_size = 0;
        try {
            if (colon != std::string::npos) {
                res = std::stoll(item.substr(0, colon), &used_res);
                size = std::stoll(item.substr(colon + 1), &used_size);
            }
        } catch (const std::exception&) {
            used_res = 0;
        }
        ZG_CHECK(colon != std::string::npos && used_res == colon && used_res > 0 &&
                     used_size == item.size() - colon - 1 && used_size > 0,
                 "--batch-sizes: '", item, "' is not RESOLUTION:SIZE", usage);
        ZG_CHECK(is_power_of_two(res) && res >= 4, "--batch-sizes: resolution ", res,
                 " is not a power of two ≥ 4", usage);
        ZG_CHECK(size > 0, "--batch-sizes: the batch size at ", res, " must be positive");
        ZG_CHECK(sizes.emplace(res, size).second, "--batch-sizes: resolution ", res,
                 " is given twice");
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return sizes;
}

int64_t batch_size_at(const std::map<int64_t, int64_t>& sizes, int64_t resolution) {
    ZG_CHECK(!sizes.empty(), "progan: no batch sizes");
    auto it = sizes.upper_bound(resolution);
    return it == sizes.begin() ? it->second : std::prev(it)->second;
}

}  // namespace zg::zoo
