// batch_norm_train (engine/ops/norm.cpp): values against the definition, gradients and second
// derivatives by finite differences, the fused backward kernel against the engine-op backward
// (the one create_graph uses), threads, and errors.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>

#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

using Inputs = std::vector<Tensor>;

// y = (x − μ_c)/√(σ²_c + eps)·w_c + b_c straight from the definition, for x [N, C, S].
std::vector<double> batch_norm_reference(const Tensor& x, const Tensor& w, const Tensor& b,
                                         double eps) {
    auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
    const int64_t n = x.size(0), c = x.size(1), s = x.numel() / (n * c);
    std::vector<double> y(xv.size());
    for (int64_t ch = 0; ch < c; ++ch) {
        double mu = 0, var = 0;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < s; ++j) mu += xv[(i * c + ch) * s + j];
        mu /= n * s;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < s; ++j) var += std::pow(xv[(i * c + ch) * s + j] - mu, 2);
        var /= n * s;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < s; ++j) {
                const int64_t k = (i * c + ch) * s + j;
                y[k] = (xv[k] - mu) / std::sqrt(var + eps) * wv[ch] + bv[ch];
            }
    }
    return y;
}

}  // namespace

TEST_CASE("batch_norm_train: output, batch mean and biased variance match the definition") {
    Tensor x = test_input({3, 4, 2, 5}, 1, -3, 5), w = test_input({4}, 2), b = test_input({4}, 3);
    BatchNormOutput bn = batch_norm_train(x, w, b, 1e-5);
    expect_close(bn.y.to_vector<double>(), batch_norm_reference(x, w, b, 1e-5), 1e-12, 1e-12,
                 "batch_norm_train y");
    expect_close(bn.mean.to_vector<double>(), mean(x, {0, 2, 3}).to_vector<double>(), 1e-14, 1e-14,
                 "batch mean");
    Tensor d = x - mean(x, {0, 2, 3}, true);
    expect_close(bn.var.to_vector<double>(), mean(d * d, {0, 2, 3}).to_vector<double>(), 1e-14,
                 1e-14, "biased batch variance");
    // No weight and bias: weight 1, bias 0.
    expect_close(batch_norm_train(x, Tensor(), Tensor(), 1e-5).y.to_vector<double>(),
                 batch_norm_reference(x, ones({4}, DType::f64), zeros({4}, DType::f64), 1e-5),
                 1e-12, 1e-12, "batch_norm_train without affine");
}

TEST_CASE("batch_norm_train: gradients and second derivatives") {
    check_op("batch_norm_train [N, C, H, W]",
             [](const Inputs& v) { return batch_norm_train(v[0], v[1], v[2], 1e-5).y; },
             {test_input({3, 2, 2, 2}, 4), test_input({2}, 5), test_input({2}, 6)});
    check_op("batch_norm_train [N, C]",
             [](const Inputs& v) { return batch_norm_train(v[0], v[1], v[2], 1e-3).y; },
             {test_input({5, 3}, 7), test_input({3}, 8), test_input({3}, 9)});
    check_op("batch_norm_train without affine, squared",
             [](const Inputs& v) {
                 Tensor y = batch_norm_train(v[0], Tensor(), Tensor(), 1e-5).y;
                 return y * y * v[0];
             },
             {test_input({2, 3, 4}, 10)});
}

TEST_CASE("batch_norm_train: the fused backward equals the engine-op backward, 1 and 2 threads") {
    // Large enough for the kernels to split channels across threads.
    const Shape shape{16, 8, 16, 16};
    for (DType dtype : {DType::f64, DType::f32}) {
        CAPTURE(dtype_name(dtype));
        Tensor x0 = (test_input(shape, 11, -1, 3) * test_input(shape, 12)).to(dtype);
        Tensor w0 = test_input({8}, 13).to(dtype), b0 = test_input({8}, 14).to(dtype);
        Tensor dy = test_input(shape, 15).to(dtype);
        auto grads = [&](bool create_graph) {
            Tensor x = x0.detach().clone().requires_grad_();
            Tensor w = w0.detach().clone().requires_grad_();
            Tensor b = b0.detach().clone().requires_grad_();
            return grad({batch_norm_train(x, w, b, 1e-5).y}, {x, w, b}, {dy}, create_graph);
        };
        const double tol = dtype == DType::f64 ? 1e-12 : 2e-5;
        const auto in_ops = grads(true);
        const int saved = omp_get_max_threads();
        for (int threads : {1, 2}) {
            CAPTURE(threads);
            omp_set_num_threads(threads);
            const auto fused = grads(false);
            const char* names[] = {"dx", "dweight", "dbias"};
            for (size_t i = 0; i < 3; ++i)
                expect_close(fused[i].to_vector<double>(), in_ops[i].to_vector<double>(), tol, tol,
                             names[i]);
        }
        omp_set_num_threads(saved);
    }
}

TEST_CASE("batch_norm_train: errors name the problem") {
    Tensor x = test_input({4, 3, 2}, 16);
    CHECK(contains(error_of([&] { batch_norm_train(x, ones({2}, DType::f64), Tensor(), 1e-5); }),
                   "weight [2] must be [3]"));
    CHECK(contains(error_of([&] { batch_norm_train(x, Tensor(), ones({3}), 1e-5); }),
                   "dtype mismatch"));
    CHECK(
        contains(error_of([&] { batch_norm_train(test_input({4}, 17), Tensor(), Tensor(), 1e-5); }),
                 "expected an input [N, C, *]"));
    CHECK(contains(error_of([&] {
                       batch_norm_train(test_input({1, 3}, 18), Tensor(), Tensor(), 1e-5);
                   }),
                   "more than 1 value per channel"));
}
