#pragma once
// ProGAN's networks (Karras et al. 2018, "Progressive Growing of GANs"), as the official code's
// G_paper and D_paper build them, with every resolution's layers present from the start and the
// phase (the resolution trained and the fade-in weight α) chosen by set_phase:
//
//   G: z → PixelNorm → dense to nf(1)·16 (gain √2/4) → [nf(1), 4, 4] → LReLU → PN
//        → conv3×3 → LReLU → PN                                           (4×4 block)
//      each higher block: nearest ×2 → conv3×3 → LReLU → PN → conv3×3 → LReLU → PN
//      toRGB per resolution: conv1×1 to the image channels, gain 1, linear
//   D: fromRGB per resolution: conv1×1, gain √2, LReLU
//      each higher block: conv3×3 → LReLU → conv3×3 → LReLU → 2×2 average pool
//      4×4 block: minibatch stddev (+1 map) → conv3×3 → LReLU → dense → LReLU → dense to 1
//
// nf(stage) = min(fmap_base / 2^stage, fmap_max); the block of resolution 2^r works with
// nf(r − 1) maps. LReLU has slope 0.2. With equalized learning rate (the default) every weight
// is stored N(0, 1) and scaled at run time by gain/√fan_in (nn/layers/reparam.h); biases start
// at 0 and are not scaled. Without it the weights are initialized with that scale instead.
//
// Fade-in, while resolution R fades in with weight α:
//   G(z) = lerp(upsample×2(toRGB_{R/2}(h_{R/2})), toRGB_R(h_R), α)
//   D(x) = the lower blocks on lerp(fromRGB_{R/2}(avgpool2(x)), block_R(fromRGB_R(x)), α)
// so at α = 0 both are exactly the previous stage's networks (G's output upsampled).
#include <memory>
#include <vector>

#include "nn/layers/sequential.h"

namespace zg::zoo {

struct ProganConfig {
    int64_t resolution = 32;  // the final resolution, a power of two ≥ 4
    int64_t channels = 1;
    int64_t nz = 128;
    int64_t fmap_base = 512, fmap_max = 128;
    bool pixel_norm = true;  // PixelNorm after G's convolutions (the latent is always normalized)
    bool minibatch_std = true;  // D's minibatch standard deviation layer
    int64_t mbstd_group = 4;
    bool equalized_lr = true;
    // Feature maps of `stage`: min(fmap_base / 2^stage, fmap_max), at least 1.
    int64_t nf(int64_t stage) const;
    // Blocks: one per resolution 4, 8, ..., resolution.
    int64_t levels() const;
};

// Checks the config's values, naming the flags.
void validate(const ProganConfig& c);

// The resolution trained and the weight of its newest layers (1 when not fading).
struct ProganLevel {
    int64_t level = 0;  // 0: 4×4, 1: 8×8, ...
    double alpha = 1;
};

class ProganGenerator : public nn::Module {
public:
    ProganGenerator(const ProganConfig& c, Rng* gen);
    // Which resolution forward produces, and α while it fades in.
    void set_phase(int64_t resolution, double alpha);
    ProganLevel phase() const { return phase_; }
    // z [N, nz] → images [N, channels, R, R] at the phase's resolution R (linear output).
    Tensor forward(const Tensor& z) override;
    std::string type_name() const override { return "ProganGenerator"; }
    const ProganConfig config;

private:
    std::vector<std::shared_ptr<nn::Sequential>> blocks_, to_rgb_;
    ProganLevel phase_;
};

class ProganDiscriminator : public nn::Module {
public:
    ProganDiscriminator(const ProganConfig& c, Rng* gen);
    void set_phase(int64_t resolution, double alpha);
    ProganLevel phase() const { return phase_; }
    // images [N, channels, R, R] at the phase's resolution → critic values [N]
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ProganDiscriminator"; }
    const ProganConfig config;

private:
    std::vector<std::shared_ptr<nn::Sequential>> blocks_, from_rgb_;
    ProganLevel phase_;
};

// The level of `resolution` (4 → 0, 8 → 1, ...), checked against the config.
ProganLevel progan_level(const ProganConfig& c, int64_t resolution, double alpha);

// Real images at the phase, as the official code's process_reals: average-pooled from the data
// resolution down to the phase's R, and while R fades in, blended with their own 2×2-averaged,
// re-upsampled version: lerp(upsample(avgpool2(x_R)), x_R, α), so that D sees reals with the
// same detail as the fakes.
Tensor progan_reals(const Tensor& x, int64_t resolution, double alpha);

}  // namespace zg::zoo
