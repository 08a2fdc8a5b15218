#pragma once
// ProGAN's progressive-growing schedule (Karras et al. 2018; the official code's
// TrainingSchedule): training starts at 4×4; each resolution first trains on its own for
// `stable_kimg` thousand images, then the next resolution fades in over `fade_kimg` thousand
// images, its new layers blended in with a weight α rising linearly from 0 to 1. The final
// resolution then trains on. Everything here is a pure function of the number of images shown,
// so the phase and α can be logged, and a run resumed mid-fade, exactly.
#include <cstdint>
#include <map>
#include <string>

namespace zg::zoo {

// Where training is after some number of images.
struct ProganPhase {
    int64_t segment = 0;     // 0: stable at the start resolution, 1: the first fade, 2: stable...
    int64_t resolution = 4;  // the resolution trained: during a fade, the one fading in
    double alpha = 1;        // weight of the newest layers: in (0, 1) during a fade, else 1
    bool fading() const { return alpha < 1; }
};

class ProganSchedule {
public:
    // start and final resolution are powers of two with 4 ≤ start ≤ final; kimg ≥ 0 with
    // stable + fade > 0 (unless start = final).
    ProganSchedule(int64_t start_resolution, int64_t final_resolution, double stable_kimg,
                   double fade_kimg);

    ProganPhase at(int64_t images_shown) const;
    // The images shown when `segment` begins (segment 0 begins at 0).
    int64_t segment_start(int64_t segment) const;
    // The number of segments: one stable and one fade per growth, and the last stable one.
    int64_t segments() const { return 2 * growths_ + 1; }

private:
    int64_t start_, final_, growths_;
    int64_t stable_images_, fade_images_;
};

// Per-resolution batch sizes from "4:64,8:64,16:64,32:32"; a resolution not listed takes the
// size of the largest listed resolution below it (or the smallest listed one), as the official
// code's minibatch_dict with a default. Refuses malformed lists, naming --batch-sizes.
std::map<int64_t, int64_t> parse_batch_sizes(const std::string& spec);
int64_t batch_size_at(const std::map<int64_t, int64_t>& sizes, int64_t resolution);

}  // namespace zg::zoo
