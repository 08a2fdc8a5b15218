#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/rng.h"

using zg::Rng;

namespace {

template <class T>
std::vector<T> uniforms(size_t n, uint64_t seed) {
    Rng gen(seed);
    std::vector<T> v(n);
    zg::fill_uniform<T>(v.data(), n, gen, T(0), T(1));
    return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
std::pair<double, double> mean_var(const std::vector<T>& v) {
    double mean = 0, var = 0;
    for (T x : v) mean += x;
    mean /= double(v.size());
    for (T x : v) var += (x - mean) * (x - mean);
    return {mean, var / double(v.size() - 1)};
}

// Runs `fill` with exactly `threads` OpenMP threads, restoring the previous setting.
template <class F>
auto with_threads(int threads, F fill) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto out = fill();
    omp_set_num_threads(saved);
    return out;
}

}  // namespace

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors") {
    using W = std::array<uint32_t, 4>;
    CHECK(zg::philox4x32({0, 0, 0, 0}, {0, 0}) ==
          W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    CHECK(zg::philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                         {0xffffffff, 0xffffffff}) ==
          W{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    CHECK(zg::philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                         {0xa4093822, 0x299f31d0}) ==
          W{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("generator: seeding, reservation and state round-trip") {
    Rng gen(7);
    CHECK(gen.seed() == 7);
    CHECK(gen.reserve(3) == 0);
    CHECK(gen.reserve(2) == 3);
    CHECK(gen.state().offset == 5);

    const zg::RngState saved = gen.state();
    std::vector<float> a(10), b(10);
    zg::fill_uniform(a.data(), a.size(), gen, 0.f, 1.f);
    gen.set_state(saved);
    zg::fill_uniform(b.data(), b.size(), gen, 0.f, 1.f);
    CHECK(same_bits(a, b));

    gen.manual_seed(9);
    CHECK(gen.state().seed == 9);
    CHECK(gen.state().offset == 0);
    CHECK(&zg::default_rng() == &zg::default_rng());
}

TEST_CASE("same seed gives the same numbers, a different seed different ones") {
    CHECK(same_bits(uniforms<float>(100, 42), uniforms<float>(100, 42)));
    CHECK(same_bits(uniforms<double>(100, 42), uniforms<double>(100, 42)));
    CHECK_FALSE(same_bits(uniforms<float>(100, 42), uniforms<float>(100, 43)));
    CHECK_FALSE(same_bits(uniforms<double>(100, 42), uniforms<double>(100, 43)));
    // Seeds differing only in the high 32 bits must also give different streams.
    CHECK_FALSE(same_bits(uniforms<float>(100, 1), uniforms<float>(100, 1 + (uint64_t(1) << 32))));
}

TEST_CASE_TEMPLATE("uniform and normal moments over 200k samples", T, float, double) {
    const size_t n = 200000;
    Rng gen(123);
    std::vector<T> v(n);

    zg::fill_uniform<T>(v.data(), n, gen, T(0), T(1));
    CHECK(std::all_of(v.begin(), v.end(), [](T x) { return x >= 0 && x < 1; }));
    auto [mu, var] = mean_var(v);
    CHECK(mu == doctest::Approx(0.5).epsilon(0.01));
    CHECK(var == doctest::Approx(1.0 / 12).epsilon(0.02));

    zg::fill_uniform<T>(v.data(), n, gen, T(-3), T(5));
    CHECK(std::all_of(v.begin(), v.end(), [](T x) { return x >= -3 && x < 5; }));
    std::tie(mu, var) = mean_var(v);
    CHECK(mu == doctest::Approx(1.0).epsilon(0.02));
    CHECK(var == doctest::Approx(64.0 / 12).epsilon(0.02));

    zg::fill_normal<T>(v.data(), n, gen, T(0), T(1));
    CHECK(std::all_of(v.begin(), v.end(), [](T x) { return std::isfinite(x); }));
    std::tie(mu, var) = mean_var(v);
    CHECK(std::abs(mu) < 0.01);
    CHECK(var == doctest::Approx(1.0).epsilon(0.02));

    zg::fill_normal<T>(v.data(), n, gen, T(2), T(3));
    std::tie(mu, var) = mean_var(v);
    CHECK(mu == doctest::Approx(2.0).epsilon(0.02));
    CHECK(var == doctest::Approx(9.0).epsilon(0.02));
}

TEST_CASE_TEMPLATE("fills are bit-identical for 1 and 2 threads", T, float, double) {
    // 1000 stays below the parallel threshold; 100003 (not a multiple of any lane count)
    // takes the OpenMP path with a ragged final block.
    for (size_t n : {size_t(1000), size_t(100003)}) {
        auto run = [n](int threads) {
            return with_threads(threads, [n] {
                Rng gen(5);
                std::vector<T> u(n), z(n), b(n);
                zg::fill_uniform<T>(u.data(), n, gen, T(-1), T(1));
                zg::fill_normal<T>(z.data(), n, gen, T(0), T(1));
                zg::fill_bernoulli<T>(b.data(), n, gen, T(0.25));
                std::vector<int32_t> r(n);
                zg::fill_randint(r.data(), n, gen, -50, 50);
                return std::make_tuple(u, z, b, r);
            });
        };
        const auto [u1, z1, b1, r1] = run(1);
        const auto [u2, z2, b2, r2] = run(2);
        CHECK(same_bits(u1, u2));
        CHECK(same_bits(z1, z2));
        CHECK(same_bits(b1, b2));
        CHECK(same_bits(r1, r2));
    }
}

// Returns whether fill(n) twice from one generator equals fill(2n) from a fresh one.
template <class F>
bool splits_cleanly(size_t n, F fill) {
    Rng a(11), b(11);
    std::vector<float> two(2 * n), one(2 * n);
    fill(two.data(), n, a);
    fill(two.data() + n, n, a);
    fill(one.data(), 2 * n, b);
    return same_bits(two, one);
}

// Each fill reserves ceil(n / L) whole blocks and discards the unused lanes of the last one, so
// fill(n) + fill(n) == fill(2n) holds exactly when n is a multiple of the lanes per block L
// (L = 4 for float uniforms and normals).
TEST_CASE("consecutive fills continue the stream only at block boundaries") {
    auto uniform = [](float* p, size_t k, Rng& g) { zg::fill_uniform(p, k, g, 0.f, 1.f); };
    auto normal = [](float* p, size_t k, Rng& g) { zg::fill_normal(p, k, g, 0.f, 1.f); };
    CHECK(splits_cleanly(8, uniform));
    CHECK(splits_cleanly(8, normal));
    CHECK_FALSE(splits_cleanly(6, uniform));
    CHECK_FALSE(splits_cleanly(6, normal));
}

TEST_CASE("randint: range and rough uniformity") {
    const size_t n = 100000;
    Rng gen(3);
    std::vector<int32_t> v(n);
    zg::fill_randint(v.data(), n, gen, -3, 7);
    REQUIRE(std::all_of(v.begin(), v.end(), [](int32_t x) { return x >= -3 && x < 7; }));
    std::array<int, 10> counts{};
    for (int32_t x : v) ++counts[size_t(x + 3)];
    for (int c : counts) CHECK(std::abs(c - 10000) < 500);

    zg::fill_randint(v.data(), n, gen, 5, 6);
    CHECK(std::all_of(v.begin(), v.end(), [](int32_t x) { return x == 5; }));

    // The widest range, 2^32 - 1 values, must not overflow and should reach both halves.
    zg::fill_randint(v.data(), n, gen, INT32_MIN, INT32_MAX);
    CHECK(std::all_of(v.begin(), v.end(), [](int32_t x) { return x < INT32_MAX; }));
    CHECK(std::any_of(v.begin(), v.end(), [](int32_t x) { return x < 0; }));
    CHECK(std::any_of(v.begin(), v.end(), [](int32_t x) { return x > 0; }));
}

TEST_CASE("randint throws zg::Error when high <= low") {
    Rng gen(0);
    int32_t x = 0;
    CHECK_THROWS_AS(zg::fill_randint(&x, 1, gen, 5, 5), zg::Error);
    CHECK_THROWS_AS(zg::fill_randint(&x, 1, gen, 5, 4), zg::Error);
}

TEST_CASE("randperm is a deterministic permutation") {
    const size_t n = 1000;
    auto perm = [n](uint64_t seed) {
        Rng gen(seed);
        std::vector<int32_t> p(n);
        zg::fill_randperm(p.data(), n, gen);
        CHECK(gen.state().offset == n);
        return p;
    };
    std::vector<int32_t> identity(n);
    std::iota(identity.begin(), identity.end(), 0);

    const auto p = perm(17);
    auto sorted = p;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == identity);
    CHECK(p != identity);
    CHECK(perm(17) == p);
    CHECK(perm(18) != p);

    Rng gen(0);
    int32_t one = -1;
    zg::fill_randperm(&one, 1, gen);
    CHECK(one == 0);
    zg::fill_randperm(nullptr, 0, gen);
}

TEST_CASE_TEMPLATE("bernoulli: mean close to p, exact at 0 and 1", T, float, double) {
    const size_t n = 200000;
    Rng gen(21);
    std::vector<T> v(n);
    zg::fill_bernoulli<T>(v.data(), n, gen, T(0.3));
    CHECK(std::all_of(v.begin(), v.end(), [](T x) { return x == 0 || x == 1; }));
    CHECK(mean_var(v).first == doctest::Approx(0.3).epsilon(0.02));

    zg::fill_bernoulli<T>(v.data(), n, gen, T(0));
    CHECK(std::all_of(v.begin(), v.end(), [](T x) { return x == 0; }));
    zg::fill_bernoulli<T>(v.data(), n, gen, T(1));
    CHECK(std::all_of(v.begin(), v.end(), [](T x) { return x == 1; }));
}
