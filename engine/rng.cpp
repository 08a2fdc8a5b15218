#include "engine/rng.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>

#include "engine/error.h"

namespace zg {

namespace {

using Block = std::array<uint32_t, 4>;

constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;    // round multipliers
constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;  // key schedule: golden ratio, sqrt(3)
// Below this many blocks a fill stays serial: starting threads costs more than the hashing.
constexpr uint64_t kParallelBlocks = 1024;

// Block `index` of the stream keyed by `seed`: the counter is the 64-bit index, key is the seed.
Block block(uint64_t seed, uint64_t index) {
    return philox4x32({uint32_t(index), uint32_t(index >> 32), 0, 0},
                      {uint32_t(seed), uint32_t(seed >> 32)});
}

// Shared driver of the raw fills: block b of the reservation yields `lanes(words)`, an array of L
// outputs written to out[b*L .. b*L+L), truncated at n. Each block depends only on (seed, index),
// so any thread may compute it and the result is the same for every thread count.
template <size_t L, class T, class F>
void fill_blocks(T* out, size_t n, Rng& gen, F lanes) {
    const uint64_t seed = gen.seed();
    const uint64_t nblocks = (n + L - 1) / L;
    const uint64_t first = gen.reserve(nblocks);
#pragma omp parallel for if (nblocks >= kParallelBlocks)
    for (int64_t b = 0; b < int64_t(nblocks); ++b) {
        const std::array<T, L> v = lanes(block(seed, first + uint64_t(b)));
        const size_t base = size_t(b) * L;
        for (size_t l = 0; l < L && base + l < n; ++l) out[base + l] = v[l];
    }
}

// u = (w >> 8) * 2^-24: the top 24 bits fill a float mantissa exactly, so u lies on the 2^-24 grid
// of [0, 1) and is never 1 (a full 32-bit word would round up to 1.0f).
float unit(uint32_t w) {
    return float(w >> 8) * 0x1p-24f;
}

// u = (a_27 * 2^26 + b_26) * 2^-53: 27 + 26 random bits fill a double mantissa exactly, in [0, 1).
double unit(uint32_t a, uint32_t b) {
    return double((uint64_t(a >> 5) << 26) | (b >> 6)) * 0x1p-53;
}

template <class T>
constexpr size_t kLanes = std::is_same_v<T, float> ? 4 : 2;  // uniforms per block

template <class T>
std::array<T, kLanes<T>> units(const Block& w) {
    if constexpr (std::is_same_v<T, float>)
        return {unit(w[0]), unit(w[1]), unit(w[2]), unit(w[3])};
    else
        return {unit(w[0], w[1]), unit(w[2], w[3])};
}

// Lemire's multiply-shift: floor(w * range / 2^32) maps a uniform 32-bit w onto [0, range).
// Each result has floor or ceil of 2^32 / range preimages, so the relative bias is below
// range / 2^32: negligible for ranges far below 2^32. We skip Lemire's rejection step to keep
// exactly one word per output, which is what makes the block layout fixed.
uint32_t below(uint32_t w, uint32_t range) {
    return uint32_t((uint64_t(w) * range) >> 32);
}

}  // namespace

// Philox4x32-10: ten rounds of
//   (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))
// where hi/lo are the halves of the 64-bit product, with the key bumped by the Weyl constants
// (k0 += W0, k1 += W1) between rounds. Ten rounds pass BigCrush with margin (Salmon et al.).
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k[0] += kWeyl0;
            k[1] += kWeyl1;
        }
        const uint64_t p0 = uint64_t(kMul0) * c[0];
        const uint64_t p1 = uint64_t(kMul1) * c[2];
        c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1],
             uint32_t(p0)};
    }
    return c;
}

Rng::Rng(uint64_t seed) : st_{seed, 0} {}

void Rng::manual_seed(uint64_t seed) {
    std::lock_guard lock(mu_);
    st_ = {seed, 0};
}

RngState Rng::state() const {
    std::lock_guard lock(mu_);
    return st_;
}

void Rng::set_state(RngState s) {
    std::lock_guard lock(mu_);
    st_ = s;
}

uint64_t Rng::seed() const {
    std::lock_guard lock(mu_);
    return st_.seed;
}

uint64_t Rng::reserve(uint64_t blocks) {
    std::lock_guard lock(mu_);
    const uint64_t first = st_.offset;
    st_.offset += blocks;
    return first;
}

Rng& default_rng() {
    static Rng gen(0);
    return gen;
}

// x = lo + (hi - lo) u. In floating point this can round up to hi (e.g. [0.5, 1) with
// u = 1 - 2^-24 gives 1 - 2^-25, which rounds to 1.0f), so clamp to the largest value below hi.
template <class T>
void fill_uniform(T* out, size_t n, Rng& gen, T lo, T hi) {
    const T top = std::nextafter(hi, lo);
    fill_blocks<kLanes<T>>(out, n, gen, [=](const Block& w) {
        auto u = units<T>(w);
        for (T& x : u) x = std::min(lo + (hi - lo) * x, top);
        return u;
    });
}

// Box-Muller: for independent u1 in (0, 1] and u2 in [0, 1), with r = sqrt(-2 ln u1) and
// theta = 2 pi u2, both r cos(theta) and r sin(theta) are independent N(0, 1). We take
// u1 = 1 - u so that ln never sees 0. Each pair of uniforms gives two normals.
template <class T>
void fill_normal(T* out, size_t n, Rng& gen, T mean, T sd) {
    fill_blocks<kLanes<T>>(out, n, gen, [=](const Block& w) {
        auto u = units<T>(w);
        for (size_t k = 0; k < u.size(); k += 2) {
            const T r = std::sqrt(T(-2) * std::log(T(1) - u[k]));
            const T theta = 2 * std::numbers::pi_v<T> * u[k + 1];
            u[k] = mean + sd * r * std::cos(theta);
            u[k + 1] = mean + sd * r * std::sin(theta);
        }
        return u;
    });
}

// x = [u < p]: P(u < p) = p for u uniform on [0, 1); p <= 0 never fires, p >= 1 always does.
template <class T>
void fill_bernoulli(T* out, size_t n, Rng& gen, T p) {
    fill_blocks<kLanes<T>>(out, n, gen, [=](const Block& w) {
        auto u = units<T>(w);
        for (T& x : u) x = x < p ? T(1) : T(0);
        return u;
    });
}

// x = low + below(w, high - low), one 32-bit word per output.
void fill_randint(int32_t* out, size_t n, Rng& gen, int32_t low, int32_t high) {
    if (high <= low)
        throw Error("randint: need low < high, got [" + std::to_string(low) + ", " +
                    std::to_string(high) + ")");
    const auto range = uint32_t(int64_t(high) - low);  // at most 2^32 - 1
    fill_blocks<4>(out, n, gen, [=](const Block& w) {
        std::array<int32_t, 4> v;
        for (size_t l = 0; l < 4; ++l) v[l] = int32_t(int64_t(low) + below(w[l], range));
        return v;
    });
}

// Fisher-Yates: for i = n-1 down to 1, swap out[i] with out[j], j uniform in [0, i]. The swaps
// are sequential, but j comes from block first + i, so the stream consumed (n blocks) and the
// permutation depend only on the generator state.
void fill_randperm(int32_t* out, size_t n, Rng& gen) {
    if (n > size_t(INT32_MAX)) throw Error("randperm: n = " + std::to_string(n) + " exceeds int32");
    const uint64_t seed = gen.seed();
    const uint64_t first = gen.reserve(n);
    std::iota(out, out + n, 0);
    for (size_t i = n; i-- > 1;) {
        const uint32_t j = below(block(seed, first + i)[0], uint32_t(i + 1));
        std::swap(out[i], out[j]);
    }
}

template void fill_uniform<float>(float*, size_t, Rng&, float, float);
template void fill_uniform<double>(double*, size_t, Rng&, double, double);
template void fill_normal<float>(float*, size_t, Rng&, float, float);
template void fill_normal<double>(double*, size_t, Rng&, double, double);
template void fill_bernoulli<float>(float*, size_t, Rng&, float);
template void fill_bernoulli<double>(double*, size_t, Rng&, double);

}  // namespace zg
