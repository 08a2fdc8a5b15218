#include "zoo/models/progan/networks.h"

#include <cmath>

#include "engine/ops.h"
#include "nn/init.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/reparam.h"
#include "nn/layers/small.h"

namespace zg::zoo {

namespace {

constexpr double kSlope = 0.2;

// A weighted layer with ProGAN's initialization: equalized learning rate with this gain, or
// the same scale (He's, gain/√fan_in) put into the initial weights; biases start at 0.
template <class M>
std::shared_ptr<M> scaled(const ProganConfig& c, std::shared_ptr<M> m, double gain, Rng* gen) {
    if (c.equalized_lr) return nn::equalized_lr(m, gain, gen);
    NoGradGuard ng;
    Tensor w = m->parameter("weight");
    nn::init::normal_(w, 0.0, nn::equalized_lr_scale(*m, gain), gen);
    if (m->has_parameter("bias")) m->parameter("bias").fill_(0.0);
    return m;
}

std::shared_ptr<nn::Conv2d> conv(const ProganConfig& c, int64_t in, int64_t out, int64_t k,
                                 double gain, Rng* gen) {
    return scaled(c, std::make_shared<nn::Conv2d>(in, out, k, 1, k / 2, true, 1, 1, gen), gain,
                  gen);
}

std::shared_ptr<nn::Linear> dense(const ProganConfig& c, int64_t in, int64_t out, double gain,
                                  Rng* gen) {
    return scaled(c, std::make_shared<nn::Linear>(in, out, true, gen), gain, gen);
}

// conv3×3 → LReLU (→ PixelNorm), G's unit.
void add_g_conv(nn::Sequential& s, const ProganConfig& c, int64_t in, int64_t out, Rng* gen) {
    s.add(conv(c, in, out, 3, std::sqrt(2.0), gen));
    s.add(std::make_shared<nn::LeakyReLU>(kSlope));
    if (c.pixel_norm) s.add(std::make_shared<nn::PixelNorm>());
}

Tensor lerp(const Tensor& a, const Tensor& b, double t) {
    return a + (b - a) * t;
}

bool is_power_of_two(int64_t v) {
    return v > 0 && (v & (v - 1)) == 0;
}

}  // namespace

int64_t ProganConfig::nf(int64_t stage) const {
    return std::max<int64_t>(1, std::min<int64_t>(fmap_base >> stage, fmap_max));
}

int64_t ProganConfig::levels() const {
    int64_t n = 1;
    while ((int64_t(4) << (n - 1)) < resolution) ++n;
    return n;
}

void validate(const ProganConfig& c) {
    ZG_CHECK(is_power_of_two(c.resolution) && c.resolution >= 4,
             "progan: --image-size must be a power of two ≥ 4 (e.g. 32 for MNIST), got ",
             c.resolution);
    ZG_CHECK(c.channels > 0, "progan: the data must have at least one channel");
    ZG_CHECK(c.nz > 0, "--nz must be positive, got ", c.nz);
    ZG_CHECK(c.fmap_base > 0 && c.fmap_max > 0, "--fmap-base and --fmap-max must be positive");
    ZG_CHECK(c.mbstd_group > 0, "--mbstd-group must be positive, got ", c.mbstd_group);
}

ProganLevel progan_level(const ProganConfig& c, int64_t resolution, double alpha) {
    ZG_CHECK(alpha >= 0 && alpha <= 1, "progan: α must be in [0, 1], got ", alpha);
    ProganLevel p;
    p.alpha = alpha;
    while (p.level < c.levels() && (int64_t(4) << p.level) < resolution) ++p.level;
    ZG_CHECK(p.level < c.levels() && (int64_t(4) << p.level) == resolution,
             "progan: no resolution ", resolution, " in a network growing from 4 to ",
             c.resolution);
    ZG_CHECK(p.level > 0 || alpha == 1, "progan: 4×4 has nothing to fade in from");
    return p;
}

// ---- G ----

ProganGenerator::ProganGenerator(const ProganConfig& c, Rng* gen) : config(c) {
    validate(c);
    const int64_t n0 = c.nf(1);
    auto first = std::make_shared<nn::Sequential>();
    first->add(std::make_shared<nn::PixelNorm>());  // normalize_latents
    first->add(dense(c, c.nz, n0 * 16, std::sqrt(2.0) / 4, gen));
    first->add(std::make_shared<nn::Reshape>(Shape{n0, 4, 4}));
    first->add(std::make_shared<nn::LeakyReLU>(kSlope));
    if (c.pixel_norm) first->add(std::make_shared<nn::PixelNorm>());
    add_g_conv(*first, c, n0, n0, gen);
    blocks_.push_back(first);
    for (int64_t l = 1; l < c.levels(); ++l) {
        auto b = std::make_shared<nn::Sequential>();
        b->add(std::make_shared<nn::Upsample>(2, "nearest"));
        add_g_conv(*b, c, c.nf(l), c.nf(l + 1), gen);
        add_g_conv(*b, c, c.nf(l + 1), c.nf(l + 1), gen);
        blocks_.push_back(b);
    }
    for (int64_t l = 0; l < c.levels(); ++l) {
        auto t = std::make_shared<nn::Sequential>();
        t->add(conv(c, c.nf(l + 1), c.channels, 1, 1.0, gen));
        to_rgb_.push_back(t);
    }
    for (int64_t l = 0; l < c.levels(); ++l) {
        const std::string res = std::to_string(int64_t(4) << l);
        register_module("block" + res, blocks_[l]);
        register_module("to_rgb" + res, to_rgb_[l]);
    }
    phase_ = {c.levels() - 1, 1.0};
}

void ProganGenerator::set_phase(int64_t resolution, double alpha) {
    phase_ = progan_level(config, resolution, alpha);
}

Tensor ProganGenerator::forward(const Tensor& z) {
    ZG_CHECK(z.dim() == 2 && z.size(1) == config.nz, "ProganGenerator: z must be [N, ", config.nz,
             "], got ", shape_str(z.shape()));
    Tensor h = blocks_[0]->forward(z);
    Tensor low;
    for (int64_t l = 1; l <= phase_.level; ++l) {
        if (l == phase_.level && phase_.alpha < 1)
            low = upsample_nearest2d(to_rgb_[l - 1]->forward(h), 2);
        h = blocks_[l]->forward(h);
    }
    const Tensor out = to_rgb_[phase_.level]->forward(h);
    return low.defined() ? lerp(low, out, phase_.alpha) : out;
}

// ---- D ----

ProganDiscriminator::ProganDiscriminator(const ProganConfig& c, Rng* gen) : config(c) {
    validate(c);
    const double relu_gain = std::sqrt(2.0);
    for (int64_t l = 0; l < c.levels(); ++l) {
        auto f = std::make_shared<nn::Sequential>();
        f->add(conv(c, c.channels, c.nf(l + 1), 1, relu_gain, gen));
        f->add(std::make_shared<nn::LeakyReLU>(kSlope));
        from_rgb_.push_back(f);
    }
    auto last = std::make_shared<nn::Sequential>();
    const int64_t n0 = c.nf(1);
    if (c.minibatch_std) last->add(std::make_shared<nn::MinibatchStdDev>(c.mbstd_group));
    last->add(conv(c, n0 + (c.minibatch_std ? 1 : 0), n0, 3, relu_gain, gen));
    last->add(std::make_shared<nn::LeakyReLU>(kSlope));
    last->add(std::make_shared<nn::Flatten>());
    last->add(dense(c, n0 * 16, c.nf(0), relu_gain, gen));
    last->add(std::make_shared<nn::LeakyReLU>(kSlope));
    last->add(dense(c, c.nf(0), 1, 1.0, gen));
    blocks_.push_back(last);
    for (int64_t l = 1; l < c.levels(); ++l) {
        auto b = std::make_shared<nn::Sequential>();
        b->add(conv(c, c.nf(l + 1), c.nf(l + 1), 3, relu_gain, gen));
        b->add(std::make_shared<nn::LeakyReLU>(kSlope));
        b->add(conv(c, c.nf(l + 1), c.nf(l), 3, relu_gain, gen));
        b->add(std::make_shared<nn::LeakyReLU>(kSlope));
        b->add(std::make_shared<nn::AvgPool2d>(2));
        blocks_.push_back(b);
    }
    for (int64_t l = 0; l < c.levels(); ++l) {
        const std::string res = std::to_string(int64_t(4) << l);
        register_module("from_rgb" + res, from_rgb_[l]);
        register_module("block" + res, blocks_[l]);
    }
    phase_ = {c.levels() - 1, 1.0};
}

void ProganDiscriminator::set_phase(int64_t resolution, double alpha) {
    phase_ = progan_level(config, resolution, alpha);
}

Tensor ProganDiscriminator::forward(const Tensor& x) {
    const int64_t r = int64_t(4) << phase_.level;
    ZG_CHECK(x.dim() == 4 && x.size(1) == config.channels && x.size(2) == r && x.size(3) == r,
             "ProganDiscriminator: expected images [N, ", config.channels, ", ", r, ", ", r,
             "] at the current phase, got ", shape_str(x.shape()));
    Tensor h = from_rgb_[phase_.level]->forward(x);
    if (phase_.level > 0) {
        h = blocks_[phase_.level]->forward(h);
        if (phase_.alpha < 1)
            h = lerp(from_rgb_[phase_.level - 1]->forward(avg_pool2d(x, 2)), h, phase_.alpha);
    }
    for (int64_t l = phase_.level - 1; l >= 1; --l) h = blocks_[l]->forward(h);
    return blocks_[0]->forward(h).reshape({x.size(0)});
}

Tensor progan_reals(const Tensor& x, int64_t resolution, double alpha) {
    ZG_CHECK(x.dim() == 4 && x.size(2) == x.size(3) && x.size(2) % resolution == 0,
             "progan: real images ", shape_str(x.shape()), " cannot be pooled to ", resolution, "×",
             resolution);
    const int64_t factor = x.size(2) / resolution;
    Tensor y = factor > 1 ? avg_pool2d(x, factor) : x;
    if (alpha < 1) y = lerp(upsample_nearest2d(avg_pool2d(y, 2), 2), y, alpha);
    return y;
}

}  // namespace zg::zoo
