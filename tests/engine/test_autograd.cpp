// Autograd semantics: accumulation, retain_graph, grad(), grad mode, detach, graph shapes,
// version counters, second derivatives, pruning, and that graphs free their memory.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/backend/allocator.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

void check_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-6) {
    REQUIRE(t.defined());
    auto got = t.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i)
        CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])), "element ", i,
                      ": ", got[i], " vs ", want[i]);
}

Tensor leaf(std::vector<double> v) {
    Tensor t = from_vector(v, {(int64_t)v.size()});
    t.requires_grad_();
    return t;
}

size_t bytes_in_use() {
    return cpu_allocator().stats().current_bytes;
}

}  // namespace

TEST_CASE("autograd: backward accumulates into leaf .grad across calls") {
    Tensor x = leaf({1, 2, -3});
    Tensor w = leaf({0.5, -1, 2});
    CHECK(!x.grad().defined());
    sum(x * x * w).backward();  // d/dx = 2xw, d/dw = x²
    check_values(x.grad(), {1, -4, -12});
    check_values(w.grad(), {1, 4, 9});
    sum(x * w).backward();  // a second graph adds w to x.grad and x to w.grad
    check_values(x.grad(), {1.5, -5, -10});
    check_values(w.grad(), {2, 6, 6});
    // Reset, as an optimizer's zero_grad does.
    x.set_grad(Tensor());
    sum(x).backward();
    check_values(x.grad(), {1, 1, 1});
    CHECK(!x.grad().requires_grad());
}

TEST_CASE("autograd: accumulated .grad is a private tensor, not an alias of other gradients") {
    // z = a + b hands the same incoming gradient to a and b; a later in-place edit of one
    // leaf's .grad (gradient clipping does that) must not change the other's, nor the
    // caller's grad_output.
    Tensor a = leaf({1, 2, 3});
    Tensor b = leaf({4, 5, 6});
    Tensor g = from_vector(std::vector<double>{1, 1, 1}, {3});
    (a + b).backward(g);
    {
        NoGradGuard ng;
        Tensor ga = a.grad();
        ga.mul_(10.0);
    }
    check_values(a.grad(), {10, 10, 10});
    check_values(b.grad(), {1, 1, 1});
    check_values(g, {1, 1, 1});
    // The gradient of a sum arrives as a broadcast (stride-0) view; the stored .grad must be
    // an ordinary tensor that zero_() and fill_() accept.
    Tensor x = leaf({1, 2, 3});
    sum(x).backward();
    CHECK(x.grad().is_contiguous());
    {
        NoGradGuard ng;
        x.grad().zero_();
    }
    check_values(x.grad(), {0, 0, 0});
}

TEST_CASE("autograd: a non-scalar output needs grad_output") {
    Tensor x = leaf({1, 2, 3});
    Tensor y = x * 2.0;
    std::string msg = error_of([&] { y.backward(); });
    CHECK(contains(msg, "scalar"));
    CHECK(contains(msg, "[3]"));
    CHECK(contains(error_of([&] { grad({y}, {x}); }), "scalar"));
    y.backward(from_vector(std::vector<double>{1, 0, -1}, {3}));
    check_values(x.grad(), {2, 0, -2});
}

TEST_CASE("autograd: grad_output of the wrong shape throws") {
    Tensor x = leaf({1, 2, 3});
    Tensor y = x * 2.0;
    std::string msg = error_of([&] { y.backward(ones({2}, DType::f64), true); });
    CHECK(contains(msg, "does not match"));
    CHECK(contains(msg, "[2]"));
    CHECK(contains(msg, "[3]"));
    CHECK_THROWS_AS(grad({y}, {x}, {ones({3, 1}, DType::f64)}), zg::Error);
    // A scalar output with an explicit grad_output of shape [] is fine.
    Tensor s = sum(y);
    s.backward(scalar(3.0, DType::f64));
    check_values(x.grad(), {6, 6, 6});
}

TEST_CASE("autograd: output that does not require grad cannot be backpropagated") {
    Tensor x = from_vector(std::vector<double>{1, 2}, {2});
    Tensor y = sum(x * x);
    CHECK(!y.requires_grad());
    std::string msg = error_of([&] { y.backward(); });
    CHECK(contains(msg, "does not require grad"));
    Tensor z = leaf({1, 2});
    CHECK(contains(error_of([&] { grad({sum(z)}, {x}); }), "does not require grad"));
}

TEST_CASE("autograd: a second backward through a freed graph names retain_graph") {
    Tensor x = leaf({0.5, -1});
    Tensor y = sum(exp(x) * x);
    y.backward();
    std::string msg = error_of([&] { y.backward(); });
    CHECK(contains(msg, "retain_graph"));
    CHECK(contains(msg, "second time"));
    // grad() frees the graph too.
    Tensor y2 = sum(tanh(x));
    grad({y2}, {x});
    CHECK(contains(error_of([&] { grad({y2}, {x}); }), "retain_graph"));
}

TEST_CASE("autograd: retain_graph keeps the graph for a second backward") {
    Tensor x = leaf({0.5, -1, 2});
    Tensor y = sum(exp(x) * x);  // d/dx = eˣ(1 + x)
    y.backward(Tensor(), /*retain_graph=*/true);
    std::vector<double> once;
    for (double v : {0.5, -1.0, 2.0}) once.push_back(std::exp(v) * (1 + v));
    check_values(x.grad(), once);
    y.backward(Tensor(), true);
    std::vector<double> twice;
    for (double v : once) twice.push_back(2 * v);
    check_values(x.grad(), twice);
    // and grad() with retain_graph leaves it usable as well
    auto g = grad({y}, {x}, {}, false, /*retain_graph=*/true);
    check_values(g[0], once);
    y.backward();  // the last one may free it
    CHECK_THROWS_AS(y.backward(), zg::Error);
}

TEST_CASE("autograd: grad() returns gradients without touching .grad") {
    Tensor x = leaf({1, 2, 3});
    Tensor w = leaf({2, 2, 2});
    auto g = grad({sum(x * x * w)}, {x});
    REQUIRE(g.size() == 1);
    check_values(g[0], {4, 8, 12});
    CHECK(!g[0].requires_grad());
    CHECK(!x.grad().defined());
    CHECK(!w.grad().defined());
    // an existing .grad stays as it was
    x.set_grad(from_vector(std::vector<double>{7, 7, 7}, {3}));
    auto g2 = grad({sum(x * w)}, {x, w});
    check_values(g2[0], {2, 2, 2});
    check_values(g2[1], {1, 2, 3});
    check_values(x.grad(), {7, 7, 7});
    CHECK(!w.grad().defined());
    // several outputs, with weights
    auto g3 =
        grad({sum(x), x * 3.0}, {x}, {Tensor(), from_vector(std::vector<double>{1, 0, 2}, {3})});
    check_values(g3[0], {4, 1, 7});
}

TEST_CASE("autograd: grad() for an unused input throws unless allow_unused") {
    Tensor x = leaf({1, 2});
    Tensor z = leaf({3, 4});
    auto make = [&] { return sum(x * x); };
    std::string msg = error_of([&] { grad({make()}, {x, z}); });
    CHECK(contains(msg, "input 1"));
    CHECK(contains(msg, "allow_unused"));
    auto g = grad({make()}, {x, z}, {}, false, false, /*allow_unused=*/true);
    REQUIRE(g.size() == 2);
    check_values(g[0], {2, 4});
    CHECK(!g[1].defined());
}

TEST_CASE("autograd: grad() with the same input listed twice gives it twice") {
    Tensor x = leaf({1, -2});
    Tensor w = leaf({3, 4});
    auto g = grad({sum(x * x * w)}, {x, w, x});
    REQUIRE(g.size() == 3);
    check_values(g[0], {6, -16});
    check_values(g[1], {1, 4});
    check_values(g[2], {6, -16});
    Tensor h = x * w;
    auto gh = grad({sum(h * h)}, {h, h});  // an intermediate, twice
    check_values(gh[0], {6, -16});
    check_values(gh[1], {6, -16});
}

TEST_CASE("autograd: grad() with respect to an intermediate tensor") {
    Tensor x = leaf({1, -2, 0.5});
    Tensor h = x * 3.0;
    Tensor y = sum(h * h);  // dy/dh = 2h, dy/dx = 18x
    auto g = grad({y}, {h, x}, {}, false, /*retain_graph=*/true);
    check_values(g[0], {6, -12, 3});
    check_values(g[1], {18, -36, 9});
    auto gh = grad({y}, {h}, {}, false, true);
    check_values(gh[0], {6, -12, 3});
    CHECK(!x.grad().defined());
    // an intermediate that is itself the output
    auto self = grad({h}, {h}, {ones({3}, DType::f64)});
    check_values(self[0], {1, 1, 1});
}

TEST_CASE("autograd: grad() with respect to an intermediate leaves the graph below it intact") {
    // Only the part of the graph between the outputs and the requested inputs runs (and is
    // freed); h's own history is not needed for dy/dh, so h can still be backpropagated.
    Tensor x = leaf({1, -2, 0.5});
    Tensor h = exp(x) * x;
    Tensor y = sum(h * h);
    auto gh = grad({y}, {h});
    REQUIRE(gh[0].defined());
    CHECK(error_of([&] { sum(h).backward(); }) == "");
    std::vector<double> want;
    for (double v : {1.0, -2.0, 0.5}) want.push_back(std::exp(v) * (1 + v));
    check_values(x.grad(), want);
}

TEST_CASE("autograd: NoGradGuard records nothing") {
    Tensor x = leaf({1, 2});
    CHECK(grad_enabled());
    {
        NoGradGuard ng;
        CHECK(!grad_enabled());
        Tensor y = exp(x * x) + x;
        CHECK(!y.requires_grad());
        CHECK(y.is_leaf());
        CHECK(y.grad_fn() == nullptr);
        {
            NoGradGuard inner;
            CHECK(!grad_enabled());
        }
        CHECK(!grad_enabled());  // the inner guard restores "off", not "on"
        {
            GradModeGuard on(true);
            CHECK(grad_enabled());
            CHECK((x * 2.0).requires_grad());
        }
        CHECK(!grad_enabled());
        CHECK_THROWS_AS(y.backward(ones({2}, DType::f64)), zg::Error);
    }
    CHECK(grad_enabled());
    Tensor z = x * 2.0;
    CHECK(z.requires_grad());
    CHECK(!z.is_leaf());
    REQUIRE(z.grad_fn() != nullptr);
    CHECK(z.grad_fn()->name == "affine");
}

TEST_CASE("autograd: detach stops gradients and shares the data") {
    Tensor x = leaf({1, 2, 3});
    Tensor d = x.detach();
    CHECK(!d.requires_grad());
    CHECK(d.is_leaf());
    CHECK(d.raw_data() == x.raw_data());
    sum(x * x.detach()).backward();  // only one factor carries gradient: d/dx = x
    check_values(x.grad(), {1, 2, 3});
    Tensor h = exp(x);
    Tensor hd = h.detach();
    CHECK(hd.is_leaf());
    CHECK(!hd.grad_fn());
    CHECK(!sum(hd * 2.0).requires_grad());
}

TEST_CASE("autograd: a diamond graph sums the gradients of both paths") {
    // h = tanh x feeds two branches: y = Σ 3h + eʰ + h·h, so dy/dx = (3 + eʰ + 2h)(1 − h²)
    const std::vector<double> xs = {0.3, -1.2, 2.0};
    Tensor x = leaf(xs);
    Tensor h = tanh(x);
    Tensor y = sum(h * 3.0 + exp(h) + h * h);
    y.backward();
    std::vector<double> want;
    for (double v : xs) {
        double t = std::tanh(v);
        want.push_back((3 + std::exp(t) + 2 * t) * (1 - t * t));
    }
    check_values(x.grad(), want);
    // a leaf used twice by one op
    Tensor z = leaf({1.5, -2});
    sum(z * z).backward();
    check_values(z.grad(), {3, -4});
}

TEST_CASE("autograd: a deep chain of 5000 ops does not overflow the stack") {
    Tensor x = leaf({1.0, 2.0});
    {
        Tensor y = x;
        for (int i = 0; i < 5000; ++i) y = y * 1.0001 + 0.0;  // 10000 recorded ops
        Tensor loss = sum(y);
        loss.backward();
        const double d = std::pow(1.0001, 5000);
        check_values(x.grad(), {d, d}, 1e-9);
        check_values(y, {d, 2 * d}, 1e-9);
    }  // and tearing the chain down must not recurse 10000 deep either
    // grad() and create_graph over a deep chain
    Tensor y = x;
    for (int i = 0; i < 5000; ++i) y = tanh(y) + y * 0.5;
    auto g = grad({sum(y)}, {x}, {}, /*create_graph=*/true);
    CHECK(g[0].requires_grad());
    CHECK(std::isfinite(g[0].to_vector<double>()[0]));
}

TEST_CASE("autograd: in-place edit of a tensor saved for backward is caught") {
    SUBCASE("an input saved by mul") {
        Tensor x = leaf({1, 2});
        Tensor w = from_vector(std::vector<double>{3, 4}, {2});
        Tensor y = sum(x * w);  // mul saves both factors; dy/dx needs w
        {
            NoGradGuard ng;
            w.mul_(2.0);
        }
        std::string msg = error_of([&] { y.backward(); });
        CHECK(contains(msg, "'mul'"));
        CHECK(contains(msg, "in place"));
        CHECK(!x.grad().defined());
    }
    SUBCASE("a leaf that requires grad, edited under NoGradGuard") {
        Tensor x = leaf({1, 2});
        Tensor y = sum(exp(x) * x);
        {
            NoGradGuard ng;
            x.mul_(2.0);
        }
        std::string msg = error_of([&] { y.backward(); });
        CHECK(contains(msg, "in place"));
        CHECK(contains(msg, "'mul'"));
    }
    SUBCASE("the output saved by exp") {
        Tensor x = leaf({1, 2});
        Tensor e = exp(x);
        Tensor y = sum(e);  // sum does not save e, but exp saved its own output
        {
            NoGradGuard ng;
            e.add_(ones({2}, DType::f64));
        }
        std::string msg = error_of([&] { y.backward(); });
        CHECK(contains(msg, "'exp'"));
        CHECK(contains(msg, "in place"));
    }
    SUBCASE("through a view of the saved tensor") {
        Tensor x = leaf({1, 2, 3, 4});
        Tensor w = from_vector(std::vector<double>{1, 1, 1, 1}, {4});
        Tensor y = sum(x * w);
        {
            NoGradGuard ng;
            w.slice(0, 1, 3).fill_(5.0);
        }
        CHECK(contains(error_of([&] { y.backward(); }), "in place"));
    }
    SUBCASE("edits before recording, or of tensors nothing saved, are fine") {
        Tensor x = leaf({1, 2});
        Tensor c = from_vector(std::vector<double>{3, 4}, {2});
        {
            NoGradGuard ng;
            c.mul_(2.0);  // before recording: the op sees the new values
        }
        Tensor y = sum(x * c);
        Tensor b = from_vector(std::vector<double>{1, 1}, {2});
        Tensor z = sum(x + b);  // add saves nothing
        {
            NoGradGuard ng;
            b.mul_(3.0);
        }
        y.backward();
        z.backward();
        check_values(x.grad(), {7, 9});
    }
}

TEST_CASE("autograd: in-place write to a leaf that requires grad throws in grad mode") {
    Tensor x = leaf({1, 2});
    std::string msg = error_of([&] { x.mul_(2.0); });
    CHECK(contains(msg, "mul_"));
    CHECK(contains(msg, "NoGradGuard"));
    CHECK_THROWS_AS(x.add_(ones({2}, DType::f64)), zg::Error);
    CHECK_THROWS_AS(x.fill_(0.0), zg::Error);
    CHECK_THROWS_AS(x.zero_(), zg::Error);
    CHECK_THROWS_AS(x.copy_(ones({2}, DType::f64)), zg::Error);
    Tensor y = x * 2.0;  // a non-leaf in the graph is refused too
    CHECK_THROWS_AS(y.mul_(2.0), zg::Error);
    check_values(x, {1, 2});
    {
        NoGradGuard ng;
        const uint64_t v = x.version();
        x.add_(ones({2}, DType::f64), 0.5);
        CHECK(x.version() == v + 1);
    }
    check_values(x, {1.5, 2.5});
}

TEST_CASE("autograd: requires_grad_ on a non-leaf throws") {
    Tensor x = leaf({1, 2});
    Tensor y = exp(x);
    std::string msg = error_of([&] { y.requires_grad_(); });
    CHECK(contains(msg, "leaf"));
    CHECK(contains(msg, "exp"));
    CHECK(contains(msg, "detach"));
    Tensor d = y.detach();
    d.requires_grad_();
    CHECK(d.requires_grad());
    CHECK(d.is_leaf());
}

TEST_CASE("autograd: requires_grad_ on an int32 tensor throws") {
    Tensor labels = arange(4, DType::i32);
    std::string msg = error_of([&] { labels.requires_grad_(); });
    CHECK(contains(msg, "int32"));
    CHECK(!labels.requires_grad());
    labels.requires_grad_(false);  // switching it off is harmless
    // and integer results of float ops never require grad
    Tensor x = leaf({1.7, 2.2});
    CHECK(!x.to(DType::i32).requires_grad());
}

TEST_CASE("autograd: create_graph gives a differentiable gradient, d²(x³)/dx² = 6x") {
    const std::vector<double> xs = {1, 2, -3, 0.5};
    for (int variant = 0; variant < 2; ++variant) {
        CAPTURE(variant);
        Tensor x = leaf(xs);
        Tensor y = variant == 0 ? sum(pow(x, 3.0)) : sum(x * x * x);
        auto g = grad({y}, {x}, {}, /*create_graph=*/true);
        CHECK(g[0].requires_grad());
        CHECK(!g[0].is_leaf());
        std::vector<double> d1, d2, d3;
        for (double v : xs) {
            d1.push_back(3 * v * v);
            d2.push_back(6 * v);
            d3.push_back(6);
        }
        check_values(g[0], d1);
        auto gg = grad({sum(g[0])}, {x}, {}, true);
        check_values(gg[0], d2);
        auto ggg = grad({sum(gg[0])}, {x});
        check_values(ggg[0], d3);
    }
    // without create_graph the gradient is a plain tensor
    Tensor x = leaf(xs);
    auto g = grad({sum(x * x * x)}, {x});
    CHECK(!g[0].requires_grad());
    // backward(create_graph=true) leaves a differentiable .grad
    Tensor z = leaf({2.0});
    sum(z * z * z).backward(Tensor(), false, /*create_graph=*/true);
    CHECK(z.grad().requires_grad());
    check_values(z.grad(), {12});
    auto gz = grad({sum(z.grad())}, {z});
    check_values(gz[0], {12});
    z.set_grad(Tensor());
}

namespace {

// A tiny critic, 3 → 5 → 1 with leaky ReLU, in float64.
struct Critic {
    Tensor w1, b1, w2, b2;
    std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
    Tensor operator()(const Tensor& x) const {
        return linear(leaky_relu(linear(x, w1, b1), 0.2), w2, b2);
    }
};

// WGAN-GP's penalty: mean over the batch of (‖∂critic(x)/∂x‖ − 1)².
Tensor gradient_penalty(const Critic& critic, const Tensor& x) {
    Tensor out = critic(x);
    Tensor gx = grad({sum(out)}, {x}, {}, /*create_graph=*/true)[0];
    Tensor norm = sqrt(sum(gx * gx, {1}));
    Tensor d = norm - 1.0;
    return mean(d * d);
}

}  // namespace

TEST_CASE("autograd: gradient penalty of an MLP critic matches finite differences (float64)") {
    Rng gen(2024);
    Critic c;
    c.w1 = randn({5, 3}, &gen, DType::f64).requires_grad_();
    c.b1 = randn({5}, &gen, DType::f64).requires_grad_();
    c.w2 = randn({1, 5}, &gen, DType::f64).requires_grad_();
    c.b2 = randn({1}, &gen, DType::f64).requires_grad_();
    Tensor x = randn({8, 3}, &gen, DType::f64).requires_grad_();

    Tensor gp = gradient_penalty(c, x);
    REQUIRE(gp.requires_grad());
    CHECK(gp.item<double>() > 0.01);  // a non-trivial penalty
    gp.backward();

    const double eps = 1e-6;
    auto params = c.params();
    const char* names[] = {"w1", "b1", "w2", "b2"};
    for (size_t k = 0; k < params.size(); ++k) {
        Tensor p = params[k];
        double* data = p.data<double>();
        std::vector<double> fd(p.numel());
        for (int64_t j = 0; j < p.numel(); ++j) {
            const double keep = data[j];
            data[j] = keep + eps;
            const double hi = gradient_penalty(c, x).item<double>();
            data[j] = keep - eps;
            const double lo = gradient_penalty(c, x).item<double>();
            data[j] = keep;
            fd[j] = (hi - lo) / (2 * eps);
        }
        CAPTURE(names[k]);
        if (k == 1 || k == 3) {
            // The penalty sees the biases only through leaky ReLU's piecewise-constant slope:
            // no gradient, and the finite differences agree.
            for (double v : fd) CHECK(std::abs(v) < 1e-7);
            if (p.grad().defined()) check_values(p.grad(), fd, 1e-6);
        } else {
            REQUIRE(p.grad().defined());
            testing::expect_close(p.grad().to_vector<double>(), fd, 1e-7, 1e-5,
                                  std::string("gradient penalty d/d") + names[k]);
            double norm = 0;
            for (double v : fd) norm += v * v;
            CHECK(norm > 1e-6);  // and it is not trivially zero
        }
    }
    // The same through grad() with allow_unused, as a GAN trainer would call it.
    auto g = grad({gradient_penalty(c, x)}, c.params(), {}, false, false, true);
    testing::expect_close(g[0].to_vector<double>(), c.w1.grad().to_vector<double>(), 1e-12, 1e-9,
                          "grad() vs backward() for w1");
    testing::expect_close(g[2].to_vector<double>(), c.w2.grad().to_vector<double>(), 1e-12, 1e-9,
                          "grad() vs backward() for w2");
}

namespace {

// y = a·b, recorded by hand so the test can see which input gradients autograd asks for.
Tensor probe_mul(const Tensor& a, const Tensor& b, std::vector<std::vector<bool>>* log) {
    Tensor out;
    {
        NoGradGuard ng;
        out = a * b;
    }
    return record(
        "probe_mul", out, {a, b},
        [a, b, log](const BackwardArgs& g) -> Grads {
            log->push_back(g.needs);
            return {g.needs_grad(0) ? g.dy * b : Tensor(), g.needs_grad(1) ? g.dy * a : Tensor()};
        },
        {a, b});
}

}  // namespace

TEST_CASE("autograd: grad() with respect to the input skips weight gradients") {
    std::vector<std::vector<bool>> outer, inner;
    Tensor x = leaf({1, 2, 3});
    Tensor w = leaf({0.5, -1, 2});
    Tensor c = from_vector(std::vector<double>{2, 2, 2}, {3});
    // y = Σ x · (w · c): the (w · c) branch leads only to the weight
    auto forward = [&] { return sum(probe_mul(x, probe_mul(w, c, &inner), &outer)); };

    auto gx = grad({forward()}, {x});
    check_values(gx[0], {1, -2, 4});
    REQUIRE(outer.size() == 1);
    CHECK(outer[0] == std::vector<bool>{true, false});  // no weight gradient asked for
    CHECK(inner.empty());                               // the weight's branch never ran
    CHECK(!w.grad().defined());

    // backward() needs everything
    outer.clear();
    forward().backward();
    REQUIRE(outer.size() == 1);
    CHECK(outer[0] == std::vector<bool>{true, true});
    REQUIRE(inner.size() == 1);
    CHECK(inner[0] == std::vector<bool>{true, false});  // c does not require grad
    check_values(w.grad(), {2, 4, 6});

    // The input gradient of a linear critic is right whether or not the weights require grad.
    Rng gen(5);
    Tensor W = randn({4, 3}, &gen, DType::f64);
    Tensor b = randn({4}, &gen, DType::f64);
    Tensor xi = randn({2, 3}, &gen, DType::f64).requires_grad_();
    Tensor v = randn({2, 4}, &gen, DType::f64);
    auto plain = grad({sum(linear(xi, W, b) * v)}, {xi})[0];
    Tensor Wg = W.detach().clone().requires_grad_();
    Tensor bg = b.detach().clone().requires_grad_();
    auto with_params = grad({sum(linear(xi, Wg, bg) * v)}, {xi})[0];
    Tensor want = matmul(v, W);  // ∂/∂x Σ v ⊙ (x Wᵀ + b) = v W
    testing::expect_close(plain.to_vector<double>(), want.to_vector<double>(), 1e-12, 1e-12,
                          "input gradient, constant weights");
    testing::expect_close(with_params.to_vector<double>(), want.to_vector<double>(), 1e-12, 1e-12,
                          "input gradient, weights requiring grad");
    CHECK(!Wg.grad().defined());
}

TEST_CASE("autograd: a leaf reused by two graphs") {
    Tensor w = leaf({1, 2});
    Tensor a = from_vector(std::vector<double>{3, 4}, {2});
    Tensor b = from_vector(std::vector<double>{5, 6}, {2});
    Tensor l1 = sum(w * a);
    Tensor l2 = sum(exp(w) * b);
    l1.backward();  // freeing l1's graph leaves l2's alone
    check_values(w.grad(), {3, 4});
    l2.backward();
    check_values(w.grad(), {3 + 5 * std::exp(1.0), 4 + 6 * std::exp(2.0)});
    // an intermediate shared by two losses, with retain_graph on the first
    Tensor x = leaf({0.5, 1.5});
    Tensor h = x * x;
    Tensor m1 = sum(h);
    Tensor m2 = sum(h * 3.0);
    m1.backward(Tensor(), true);
    m2.backward();
    check_values(x.grad(), {8 * 0.5, 8 * 1.5});  // d/dx (h + 3h) = 4 · 2x
}

TEST_CASE("autograd: graph memory is freed when tensors go out of scope") {
    const size_t before = bytes_in_use();
    {
        Rng gen(3);
        Tensor x = randn({64, 64}, &gen).requires_grad_();
        Tensor w = randn({64, 64}, &gen).requires_grad_();
        // exp, tanh, sigmoid and sqrt save their outputs; mul and matmul their inputs.
        Tensor loss = sum(sqrt(sigmoid(tanh(matmul(exp(x * 0.1), w)) * x) + 1.0));
        loss.backward();
        CHECK(x.grad().defined());
        Tensor again = mean(tanh(exp(x) * w));
        again.backward(Tensor(), true);
        auto g = grad({sum(exp(x) * w)}, {x, w}, {}, /*create_graph=*/true);
        grad({sum(g[0] * g[0])}, {w});
    }
    CHECK(bytes_in_use() == before);
}

TEST_CASE("autograd: backward frees saved tensors while the output lives on") {
    Rng gen(4);
    Tensor x = randn({128, 128}, &gen).requires_grad_();  // 64 KiB
    const size_t before = bytes_in_use();
    Tensor loss = sum(tanh(exp(x * 0.5) * x));  // saves several 64 KiB intermediates
    const size_t during = bytes_in_use();
    CHECK(during - before >= 2 * 65536);
    loss.backward();
    // what remains: x.grad (64 KiB) and the scalar loss
    CHECK(bytes_in_use() - before <= 65536 + 1024);
    CHECK(std::isfinite(loss.item<float>()));
}

TEST_CASE("autograd: a create_graph backward's graph is freed once .grad is reset") {
    const size_t before = bytes_in_use();
    {
        Rng gen(6);
        Tensor x = randn({32, 32}, &gen).requires_grad_();
        sum(tanh(x) * exp(x)).backward(Tensor(), false, /*create_graph=*/true);
        REQUIRE(x.grad().requires_grad());
        // .grad holds a graph that points back at x: dropping .grad breaks that cycle
        x.set_grad(Tensor());
    }
    CHECK(bytes_in_use() == before);
}

TEST_CASE("autograd: a graph 200,000 ops deep is destroyed without recursing through it") {
    // Each node owns its inputs' nodes; torn down recursively, this chain overflows the stack.
    Tensor x = ones({1}).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = y + x * 1e-6;
    CHECK(y.requires_grad());
    y = Tensor();  // drops the whole chain
    // mul's backward captures both inputs, so each node is also held by the next one's closure.
    Tensor w = x;
    for (int i = 0; i < 200000; ++i) w = w * x;
    CHECK(w.requires_grad());
    w = Tensor();
    // Backward through a long chain works too (the walk is iterative).
    Tensor z = x;
    for (int i = 0; i < 20000; ++i) z = z + x;
    z.backward();
    CHECK(x.grad().item<float>() == 20001.0f);
}
