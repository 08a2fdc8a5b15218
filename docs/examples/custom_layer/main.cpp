// Checks the example op against finite differences, then trains a small network that uses the
// layer. Exits non-zero if anything is wrong (the test suite runs this after `make install`).
#include <nn/layers/linear.h>
#include <nn/layers/sequential.h>

#include <cmath>
#include <cstdio>

#include "swish.h"

using namespace zg;

// d/dx and d/dβ of sum(swish(x, β)) against central differences, in float64.
static bool gradient_matches() {
    Rng gen(1);
    Tensor x = normal({5}, 0.0, 1.0, &gen, DType::f64).requires_grad_();
    Tensor beta = full({1}, 0.7, DType::f64).requires_grad_();
    auto g = grad({sum(example::swish(x, beta))}, {x, beta});
    auto loss_at = [&](double dx, int i, double dbeta) {
        NoGradGuard ng;
        Tensor xs = x.detach().clone();
        if (i >= 0) xs.data<double>()[i] += dx;
        return sum(example::swish(xs, beta.detach() + dbeta)).item<double>();
    };
    const double eps = 1e-6;
    for (int i = 0; i < 5; ++i) {
        double numeric = (loss_at(eps, i, 0) - loss_at(-eps, i, 0)) / (2 * eps);
        if (std::abs(numeric - g[0].to_vector<double>()[i]) > 1e-7) return false;
    }
    double numeric_beta = (loss_at(0, -1, eps) - loss_at(0, -1, -eps)) / (2 * eps);
    return std::abs(numeric_beta - g[1].item<double>()) < 1e-7;
}

int main() {
    if (!gradient_matches()) {
        std::puts("swish: gradient does not match finite differences");
        return 1;
    }
    // Fit y = |x| with Linear → Swish → Linear and plain gradient descent.
    Rng gen(2);
    nn::Sequential net({nn::make<nn::Linear>(1, 16, true, &gen), nn::make<example::Swish>(),
                        nn::make<nn::Linear>(16, 1, true, &gen)});
    Tensor x = uniform({128, 1}, -2.0, 2.0, &gen);
    Tensor y = abs(x);
    double first = 0, last = 0;
    for (int step = 0; step < 500; ++step) {
        Tensor loss = mse_loss(net(x), y);
        if (step == 0) first = loss.item<double>();
        last = loss.item<double>();
        net.zero_grad();
        loss.backward();
        NoGradGuard ng;
        for (Tensor& p : net.parameters()) p.add_(p.grad(), -0.05);
    }
    std::printf("swish example: loss %.4f -> %.4f, beta = %.3f\n", first, last,
                net.state_dict().at("1.beta").item<double>());
    return last < first / 10 ? 0 : 1;
}
