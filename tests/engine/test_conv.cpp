#include <doctest/doctest.h>
#include <omp.h>

#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

// Direct definition of a convolution, for comparison:
// y[n,o,oy,ox] = b[o] + Σ w[o,c,i,j] · x[n, g·C/G + c, oy·s − p + i·d, ox·s − p + j·d]
std::vector<double> naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b,
                                 const Conv2dOptions& o) {
    auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t O = w.size(0), Cg = w.size(1), KH = w.size(2), KW = w.size(3);
    const int64_t OH = (H + 2 * o.padding[0] - o.dilation[0] * (KH - 1) - 1) / o.stride[0] + 1;
    const int64_t OW = (W + 2 * o.padding[1] - o.dilation[1] * (KW - 1) - 1) / o.stride[1] + 1;
    const int64_t Og = O / o.groups;
    std::vector<double> y(N * O * OH * OW);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t oc = 0; oc < O; ++oc)
            for (int64_t oy = 0; oy < OH; ++oy)
                for (int64_t ox = 0; ox < OW; ++ox) {
                    double acc = bv[oc];
                    const int64_t g = oc / Og;
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t i = 0; i < KH; ++i)
                            for (int64_t j = 0; j < KW; ++j) {
                                int64_t iy = oy * o.stride[0] - o.padding[0] + i * o.dilation[0];
                                int64_t ix = ox * o.stride[1] - o.padding[1] + j * o.dilation[1];
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                acc += wv[((oc * Cg + c) * KH + i) * KW + j] *
                                       xv[((n * C + g * Cg + c) * H + iy) * W + ix];
                            }
                    y[((n * O + oc) * OH + oy) * OW + ox] = acc;
                }
    (void)C;
    return y;
}

}  // namespace

TEST_CASE("conv2d matches the direct definition (stride, padding, dilation, groups)") {
    struct Case {
        Shape x, w;
        Conv2dOptions o;
    };
    std::vector<Case> cases = {
        {{2, 3, 7, 6}, {4, 3, 3, 3}, {}},
        {{2, 3, 8, 8}, {5, 3, 4, 4}, {.stride = {2, 2}, .padding = {1, 1}}},
        {{1, 4, 9, 7},
         {6, 2, 3, 2},
         {.stride = {2, 1}, .padding = {2, 1}, .dilation = {2, 1}, .groups = 2}},
        {{3, 1, 5, 5}, {2, 1, 1, 1}, {}},
    };
    for (const auto& c : cases) {
        Tensor x = test_input(c.x, 1), w = test_input(c.w, 2), b = test_input({c.w[0]}, 3);
        Tensor y = conv2d(x, w, b, c.o);
        expect_close(y.to_vector<double>(), naive_conv2d(x, w, b, c.o), 1e-12, 1e-12, "conv2d");
    }
}

TEST_CASE("conv2d gradients and second derivatives") {
    Conv2dOptions o{.stride = {2, 2}, .padding = {1, 1}};
    check_op("conv2d", [o](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], o); },
             {test_input({2, 2, 6, 6}, 4), test_input({3, 2, 4, 4}, 5), test_input({3}, 6)});
    Conv2dOptions og{.padding = {1, 1}, .dilation = {2, 2}, .groups = 2};
    check_op("conv2d groups",
             [og](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], Tensor(), og); },
             {test_input({1, 4, 6, 5}, 7), test_input({2, 2, 3, 3}, 8)});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d and has correct gradients") {
    // <conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for every x, y
    Conv2dOptions o{.stride = {2, 2}, .padding = {1, 1}};
    Tensor x = test_input({2, 3, 8, 8}, 9), w = test_input({4, 3, 4, 4}, 10);
    Tensor y = test_input({2, 4, 4, 4}, 11);
    double lhs = sum(conv2d(x, w, Tensor(), o) * y).item<double>();
    double rhs = sum(x * conv_transpose2d(y, w, Tensor(), o)).item<double>();
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
    check_op("conv_transpose2d",
             [o](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], v[2], o); },
             {test_input({2, 3, 3, 3}, 12), test_input({3, 2, 4, 4}, 13), test_input({2}, 14)});
    Conv2dOptions op{.stride = {2, 2}, .padding = {1, 1}, .groups = 2, .output_padding = {1, 1}};
    check_op(
        "conv_transpose2d groups output_padding",
        [op](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], Tensor(), op); },
        {test_input({1, 4, 3, 3}, 15), test_input({4, 1, 3, 3}, 16)});
}

TEST_CASE("pooling, upsampling, pixel shuffle: gradients and second derivatives") {
    check_op("avg_pool2d", [](const std::vector<Tensor>& v) { return avg_pool2d(v[0], 2); },
             {test_input({2, 2, 6, 6}, 17)});
    check_op("avg_pool2d pad",
             [](const std::vector<Tensor>& v) { return avg_pool2d(v[0], 3, 2, 1); },
             {test_input({1, 2, 7, 7}, 18)});
    check_op("max_pool2d", [](const std::vector<Tensor>& v) { return max_pool2d(v[0], 2); },
             {test_input({2, 2, 6, 6}, 19)});
    check_op("upsample_nearest2d",
             [](const std::vector<Tensor>& v) { return upsample_nearest2d(v[0], 2); },
             {test_input({2, 2, 3, 3}, 20)});
    check_op("upsample_bilinear2d",
             [](const std::vector<Tensor>& v) { return upsample_bilinear2d(v[0], 7, 5); },
             {test_input({2, 2, 3, 4}, 21)});
    check_op("pixel_shuffle", [](const std::vector<Tensor>& v) { return pixel_shuffle(v[0], 2); },
             {test_input({2, 8, 3, 3}, 22)});
    check_op("pixel_unshuffle",
             [](const std::vector<Tensor>& v) { return pixel_unshuffle(v[0], 2); },
             {test_input({2, 2, 4, 6}, 23)});
}

TEST_CASE("conv2d and conv_transpose2d over the whole image (DCGAN's 4×4 → 1×1 and 1×1 → 4×4)") {
    // These take a GEMM-only path (no im2col/col2im); same definition, same gradients.
    Tensor x = test_input({3, 2, 4, 4}, 21), w = test_input({5, 2, 4, 4}, 22);
    Tensor b = test_input({5}, 23);
    for (int64_t stride : {1, 2}) {
        Conv2dOptions o{.stride = {stride, stride}};
        expect_close(conv2d(x, w, b, o).to_vector<double>(), naive_conv2d(x, w, b, o), 1e-12, 1e-12,
                     "conv2d whole image");
    }
    check_op("conv2d whole image",
             [](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2]); },
             {test_input({2, 3, 4, 3}, 24), test_input({2, 3, 4, 3}, 25), test_input({2}, 26)});
    // <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>, both on the whole-image path
    Tensor y = test_input({3, 5, 1, 1}, 27);
    double lhs = sum(conv2d(x, w) * y).item<double>();
    double rhs = sum(x * conv_transpose2d(y, w)).item<double>();
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
    check_op("conv_transpose2d from 1×1",
             [](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], v[2]); },
             {test_input({2, 3, 1, 1}, 28), test_input({3, 2, 4, 3}, 29), test_input({2}, 30)});
}

TEST_CASE("col2im and im2col split across threads: float32 results match float64 on 1 and 2") {
    // Large enough to run in parallel: conv_transpose2d's forward is a col2im, conv2d's forward
    // an im2col and its input gradient a col2im. A race between threads would lose whole
    // products, far outside float32 rounding.
    Conv2dOptions o{.stride = {2, 2}, .padding = {1, 1}};
    Tensor x = test_input({8, 16, 8, 8}, 31), w = test_input({16, 8, 4, 4}, 32);
    auto run = [&](DType dtype) {
        Tensor xl = x.detach().to(dtype).requires_grad_(), wd = w.detach().to(dtype);
        Tensor y = conv_transpose2d(xl, wd, Tensor(), o);  // [8, 8, 16, 16]
        Tensor z = conv2d(y, wd, Tensor(), o);             // [8, 16, 8, 8]
        Tensor dx = grad({sum(z * z)}, {xl})[0];
        return std::make_pair(y.to_vector<double>(), dx.to_vector<double>());
    };
    const auto want = run(DType::f64);
    const int saved = omp_get_max_threads();
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        omp_set_num_threads(threads);
        const auto got = run(DType::f32);
        expect_close(got.first, want.first, 1e-5, 1e-5, "conv_transpose2d (col2im)");
        expect_close(got.second, want.second, 1e-3, 1e-3, "conv2d input gradient (col2im)");
    }
    omp_set_num_threads(saved);
}

TEST_CASE("conv2d: a kernel larger than the padded input is named, not an im2col failure") {
    const Tensor x = zeros({1, 1, 3, 3}), w = zeros({1, 1, 5, 5});
    const std::string e = testing::error_of([&] { conv2d(x, w, Tensor(), {}); });
    CHECK(e.find("conv2d: the 5×5 kernel (dilation 1×1) is larger than the input 3×3") !=
          std::string::npos);
    CHECK(conv2d(x, w, Tensor(), Conv2dOptions{{1, 1}, {1, 1}, {1, 1}, 1}).shape() ==
          Shape{1, 1, 1, 1});  // padded to 5×5 it fits once
}
