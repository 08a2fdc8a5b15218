// `zoograd demo`: the engine end to end, until the zoo's models land. Two interleaved spirals
// (a classic problem no linear model solves) are separated by an MLP trained with SGD and
// momentum on cross-entropy; every gradient comes from zoograd's autograd.
#include "tools/cli/demo.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "engine/ops.h"
#include "engine/rng.h"

namespace zg::tools {
namespace {

// Two spirals of n points each, labels 0 and 1, with a little Gaussian noise.
void make_spirals(int n, Rng& gen, Tensor& points, Tensor& labels) {
    Tensor noise = normal({2 * n, 2}, 0.0, 0.05, &gen);
    const float* eps = noise.data<float>();
    std::vector<float> xy(4 * n);
    std::vector<int32_t> cls(2 * n);
    for (int i = 0; i < 2 * n; ++i) {
        const int c = i % 2;
        const double t = 0.25 + 3.0 * M_PI * (i / 2) / n;  // angle grows along the arm
        const double r = t / (3.0 * M_PI);
        const double a = t + c * M_PI;  // the second arm is the first turned by 180°
        xy[2 * i] = float(r * std::cos(a)) + eps[2 * i];
        xy[2 * i + 1] = float(r * std::sin(a)) + eps[2 * i + 1];
        cls[i] = c;
    }
    points = from_vector(xy, {2 * n, 2});
    labels = from_vector(cls, {2 * n});
}

struct Layer {
    Tensor w, b, vw, vb;  // weights, bias and their momentum buffers
};

Layer make_layer(int64_t in, int64_t out, Rng& gen) {
    // Kaiming-style scale for relu layers: std = sqrt(2 / fan_in).
    Tensor w = normal({out, in}, 0.0, std::sqrt(2.0 / in), &gen).requires_grad_();
    Tensor b = zeros({out}).requires_grad_();
    return {w, b, zeros({out, in}), zeros({out})};
}

}  // namespace

int run_spiral_demo(const DemoOptions& o) {
    if (o.threads > 0) omp_set_num_threads(o.threads);
    Rng gen(o.seed);
    Tensor x, y;
    make_spirals(500, gen, x, y);
    std::vector<Layer> net = {make_layer(2, 64, gen), make_layer(64, 64, gen),
                              make_layer(64, 2, gen)};
    const double lr = 0.1, momentum = 0.9;
    std::printf(
        "zoograd demo: MLP 2-64-64-2 separating two spirals (%lld points), seed %llu, "
        "%d threads\n",
        (long long)x.size(0), o.seed, omp_get_max_threads());
    auto start = std::chrono::steady_clock::now();
    double acc = 0.0, loss_value = 0.0;
    for (int step = 1; step <= o.steps; ++step) {
        Tensor h = x;
        for (size_t i = 0; i < net.size(); ++i) {
            h = linear(h, net[i].w, net[i].b);
            if (i + 1 < net.size()) h = relu(h);
        }
        Tensor loss = cross_entropy(h, y);
        loss.backward();
        {
            NoGradGuard ng;  // SGD with momentum: v ← μv + g;  θ ← θ − lr·v
            for (Layer& l : net) {
                l.vw.mul_(momentum).add_(l.w.grad());
                l.vb.mul_(momentum).add_(l.b.grad());
                l.w.add_(l.vw, -lr);
                l.b.add_(l.vb, -lr);
                l.w.set_grad(Tensor());
                l.b.set_grad(Tensor());
            }
        }
        if (step % 200 == 0 || step == o.steps) {
            NoGradGuard ng;
            Tensor predicted_one = gt(h.select(1, 1) - h.select(1, 0), 0.0);
            acc = mean(eq(predicted_one, y.to(DType::f32))).item<double>();
            loss_value = loss.item<double>();
            std::printf("step %5d  loss %.4f  train accuracy %5.1f%%\n", step, loss_value,
                        100.0 * acc);
            std::fflush(stdout);
        }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("done in %.1f s (%.0f steps/s); final loss %.4f, accuracy %.1f%%\n", secs,
                o.steps / secs, loss_value, 100.0 * acc);
    return acc > 0.95 ? 0 : 1;
}

}  // namespace zg::tools
