// Random tensors through the Tensor API (rand, randn, uniform, normal, bernoulli, randint,
// randperm): reproducibility with explicit and default generators, independence from the
// thread count, moments, and argument errors. The raw Philox fills are tested in
// test_rng_raw.cpp.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/rng.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

// Bit-for-bit equality of two tensors of the same dtype and shape.
bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    Tensor ca = a.contiguous(), cb = b.contiguous();
    return std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * dtype_size(ca.dtype())) == 0;
}

// One draw of every kind from `gen` (nullptr: the default generator), in a fixed order.
std::vector<Tensor> draw_all(Rng* gen, const Shape& shape = {3, 37}) {
    return {rand(shape, gen),
            randn(shape, gen),
            uniform(shape, -2.0, 5.0, gen),
            normal(shape, 1.5, 0.25, gen),
            bernoulli(shape, 0.3, gen),
            randint(-4, 9, shape, gen),
            randperm(50, gen),
            rand(shape, gen, DType::f64),
            randn(shape, gen, DType::f64),
            uniform(shape, -1.0, 1.0, gen, DType::f64),
            normal(shape, -3.0, 2.0, gen, DType::f64),
            bernoulli(shape, 0.7, gen, DType::f64)};
}

struct Moments {
    double mean, var, min, max;
};
Moments moments(const Tensor& t) {
    auto v = t.to_vector<double>();
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    for (double x : v) s += (x - m) * (x - m);
    return {m, s / double(v.size() - 1), *std::min_element(v.begin(), v.end()),
            *std::max_element(v.begin(), v.end())};
}

// Runs f with `threads` OpenMP threads, restoring the setting afterwards.
template <class F>
auto with_threads(int threads, F f) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto out = f();
    omp_set_num_threads(saved);
    return out;
}

}  // namespace

TEST_CASE("random tensors: the same seed gives the same values (explicit generator)") {
    Rng g1(1234), g2(1234);
    auto a = draw_all(&g1);
    auto b = draw_all(&g2);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        CHECK(same_bits(a[i], b[i]));
    }
    // dtypes and shapes are what was asked for
    CHECK(a[0].dtype() == DType::f32);
    CHECK(a[0].shape() == Shape{3, 37});
    CHECK(a[5].dtype() == DType::i32);
    CHECK(a[6].dtype() == DType::i32);
    CHECK(a[6].shape() == Shape{50});
    CHECK(a[7].dtype() == DType::f64);
    CHECK(!a[1].requires_grad());
    // manual_seed rewinds a generator; state()/set_state() replay from a saved point
    g1.manual_seed(1234);
    auto c = draw_all(&g1);
    for (size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i], c[i]));
    RngState st = g1.state();
    Tensor x1 = randn({1000}, &g1);
    g1.set_state(st);
    CHECK(same_bits(randn({1000}, &g1), x1));
}

TEST_CASE("random tensors: default_rng().manual_seed reproduces and matches Rng") {
    default_rng().manual_seed(77);
    auto a = draw_all(nullptr);
    default_rng().manual_seed(77);
    auto b = draw_all(nullptr);
    Rng g(77);  // a fresh generator with the same seed is the same stream
    auto c = draw_all(&g);
    for (size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        CHECK(same_bits(a[i], b[i]));
        CHECK(same_bits(a[i], c[i]));
    }
    CHECK(default_rng().seed() == 77);
    // drawing from an explicit generator does not move the default one
    default_rng().manual_seed(5);
    Tensor first = rand({10});
    default_rng().manual_seed(5);
    Rng other(6);
    randn({1000}, &other);
    CHECK(same_bits(rand({10}), first));
}

TEST_CASE("random tensors: successive draws and different seeds differ") {
    Rng g(9);
    Tensor a = randn({256}, &g);
    Tensor b = randn({256}, &g);
    CHECK(!same_bits(a, b));
    Rng h(10);
    CHECK(!same_bits(randn({256}, &h), a));
    Rng p(9);
    CHECK(!same_bits(randperm(100, &p), randperm(100, &p)));
    // two draws of n equal one draw of 2n when n fills whole Philox blocks (4 float lanes)
    Rng s1(3), s2(3);
    Tensor two = concat({rand({64}, &s1), rand({64}, &s1)}, 0);
    CHECK(same_bits(two, rand({128}, &s2)));
}

TEST_CASE("random tensors: values do not depend on the thread count") {
    const Shape shape = {1 << 18};
    auto draw = [&] {
        Rng g(2718);
        std::vector<Tensor> v = draw_all(&g, shape);
        v.push_back(randperm(1 << 16, &g));
        return v;
    };
    auto one = with_threads(1, draw);
    auto two = with_threads(2, draw);
    auto four = with_threads(4, draw);
    REQUIRE(one.size() == two.size());
    for (size_t i = 0; i < one.size(); ++i) {
        CAPTURE(i);
        CHECK(same_bits(one[i], two[i]));
        CHECK(same_bits(one[i], four[i]));
    }
}

TEST_CASE("random tensors: moments of the continuous distributions") {
    Rng g(31337);
    const Shape shape = {1 << 18};
    // standard errors of the mean are about 1/512 of the std here; tolerances are 5x that
    struct Case {
        const char* name;
        Tensor t;
        double mean, var, lo, hi;
    };
    const double inf = INFINITY;
    std::vector<Case> cases = {
        {"rand f32", rand(shape, &g), 0.5, 1.0 / 12, 0.0, 1.0},
        {"rand f64", rand(shape, &g, DType::f64), 0.5, 1.0 / 12, 0.0, 1.0},
        {"uniform(-2, 5)", uniform(shape, -2.0, 5.0, &g), 1.5, 49.0 / 12, -2.0, 5.0},
        {"uniform f64(10, 10.5)", uniform(shape, 10.0, 10.5, &g, DType::f64), 10.25, 0.25 / 12,
         10.0, 10.5},
        {"randn f32", randn(shape, &g), 0.0, 1.0, -inf, inf},
        {"randn f64", randn(shape, &g, DType::f64), 0.0, 1.0, -inf, inf},
        {"normal(3, 2)", normal(shape, 3.0, 2.0, &g), 3.0, 4.0, -inf, inf},
        {"normal f64(-1, 0.1)", normal(shape, -1.0, 0.1, &g, DType::f64), -1.0, 0.01, -inf, inf},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        Moments m = moments(c.t);
        const double sd = std::sqrt(c.var);
        CHECK(std::abs(m.mean - c.mean) < 5 * sd / 512);
        CHECK(std::abs(m.var / c.var - 1) < 0.015);
        CHECK(m.min >= c.lo);
        CHECK(m.max < c.hi);  // half-open interval: hi itself never comes out
        if (std::isinf(c.lo)) {
            // a normal sample this big reaches past 4 sigma but not past 6
            CHECK(m.max > c.mean + 4 * sd);
            CHECK(m.min < c.mean - 4 * sd);
            CHECK(m.max < c.mean + 6 * sd);
            CHECK(m.min > c.mean - 6 * sd);
        }
    }
    // normal is symmetric: the fraction below the mean is one half
    Tensor z = randn(shape, &g, DType::f64);
    auto v = z.to_vector<double>();
    double below = double(std::count_if(v.begin(), v.end(), [](double x) { return x < 0; }));
    CHECK(std::abs(below / double(v.size()) - 0.5) < 0.005);
    // std = 0 is allowed and gives the mean exactly
    CHECK(normal({100}, 2.5, 0.0, &g).to_vector<float>() == std::vector<float>(100, 2.5f));
}

TEST_CASE("random tensors: bernoulli, randint and randperm") {
    Rng g(4242);
    const Shape shape = {1 << 18};
    for (double p : {0.0, 0.1, 0.5, 0.93, 1.0}) {
        CAPTURE(p);
        Tensor b = bernoulli(shape, p, &g);
        auto v = b.to_vector<float>();
        CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f || x == 1.0f; }));
        Moments m = moments(b);
        CHECK(std::abs(m.mean - p) < 5 * std::sqrt(p * (1 - p)) / 512 + 1e-12);
        if (p == 0.0) CHECK(m.max == 0.0);
        if (p == 1.0) CHECK(m.min == 1.0);
    }
    // randint: uniform over [low, high), every value hit about equally often
    Tensor r = randint(-3, 7, shape, &g);
    CHECK(r.dtype() == DType::i32);
    auto rv = r.to_vector<int32_t>();
    std::vector<int64_t> counts(10, 0);
    for (int32_t x : rv) {
        REQUIRE(x >= -3);
        REQUIRE(x < 7);
        ++counts[x + 3];
    }
    const double expected = double(rv.size()) / 10;
    for (int64_t c : counts) CHECK(std::abs(double(c) - expected) < 5 * std::sqrt(expected));
    CHECK(randint(5, 6, {100}, &g).to_vector<int32_t>() == std::vector<int32_t>(100, 5));
    Tensor wide = randint(-2000000000, 2000000000, {1 << 16}, &g);
    Moments mw = moments(wide);
    CHECK(mw.min < -1.9e9);
    CHECK(mw.max > 1.9e9);
    // randperm: a permutation of 0..n-1, not the identity, and each position well mixed
    for (int64_t n : {0, 1, 2, 10, 1000}) {
        CAPTURE(n);
        Tensor p = randperm(n, &g);
        CHECK(p.shape() == Shape{n});
        auto pv = p.to_vector<int32_t>();
        std::sort(pv.begin(), pv.end());
        std::vector<int32_t> iota(n);
        std::iota(iota.begin(), iota.end(), 0);
        CHECK(pv == iota);
    }
    auto big = randperm(1000, &g).to_vector<int32_t>();
    int fixed = 0;
    for (int i = 0; i < 1000; ++i) fixed += big[i] == i;
    CHECK(fixed < 10);  // expected number of fixed points of a random permutation is 1
    // the first element of randperm(4) takes each value about a quarter of the time
    std::vector<int> first(4, 0);
    for (int i = 0; i < 4000; ++i) ++first[randperm(4, &g).to_vector<int32_t>()[0]];
    for (int c : first) CHECK(std::abs(c - 1000) < 160);
}

TEST_CASE("random tensors: bad arguments throw clear errors") {
    Rng g(1);
    std::string msg = error_of([&] { uniform({3}, 2.0, 1.0, &g); });
    CHECK(contains(msg, "uniform"));
    CHECK(contains(msg, "lo < hi"));
    CHECK(contains(error_of([&] { uniform({3}, 1.0, 1.0, &g); }), "uniform"));
    CHECK_THROWS_AS(uniform({3}, NAN, 1.0, &g), zg::Error);
    msg = error_of([&] { normal({3}, 0.0, -1.0, &g); });
    CHECK(contains(msg, "normal"));
    CHECK(contains(msg, "-1"));
    CHECK_THROWS_AS(normal({3}, 0.0, NAN, &g), zg::Error);
    msg = error_of([&] { bernoulli({3}, 1.5, &g); });
    CHECK(contains(msg, "bernoulli"));
    CHECK(contains(msg, "1.5"));
    CHECK_THROWS_AS(bernoulli({3}, -0.1, &g), zg::Error);
    CHECK_THROWS_AS(bernoulli({3}, NAN, &g), zg::Error);
    msg = error_of([&] { randint(5, 5, {3}, &g); });
    CHECK(contains(msg, "randint"));
    CHECK(contains(msg, "low < high"));
    CHECK_THROWS_AS(randint(5, -5, {3}, &g), zg::Error);
    CHECK(contains(error_of([&] { randperm(-1, &g); }), "randperm"));
    CHECK(contains(error_of([&] { rand({-2, 3}, &g); }), "negative"));
    // random floats into an integer tensor make no sense
    CHECK(contains(error_of([&] { rand({3}, &g, DType::i32); }), "int32"));
    CHECK_THROWS_AS(randn({3}, &g, DType::i32), zg::Error);
    // a failed call leaves the generator where it was
    Rng h(1);
    CHECK(g.state().offset == h.state().offset);
    CHECK(same_bits(rand({16}, &g), rand({16}, &h)));
}

TEST_CASE("random tensors: zero-size and scalar shapes") {
    Rng g(8);
    CHECK(rand({0, 5}, &g).numel() == 0);
    CHECK(randn({0}, &g).shape() == Shape{0});
    CHECK(randint(0, 3, {0}, &g).numel() == 0);
    Tensor s = randn({}, &g);
    CHECK(s.dim() == 0);
    CHECK(std::isfinite(s.item<float>()));
    // an empty draw consumes nothing
    Rng a(8), b(8);
    rand({0}, &a);
    CHECK(same_bits(rand({4}, &a), rand({4}, &b)));
}
