// matmul and linear (engine/ops/matmul.cpp, engine/backend/cpu/gemm.cpp): values against a loop
// reference, broadcasting of batch dims, transposed views handed to GEMM without a copy, edge
// sizes, gradients, second derivatives, float32, and the error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "engine/backend/allocator.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

// Element at a multi-index of a tensor of `shape` broadcast to `full` (leading dims added,
// size-1 dims repeated), read from its row-major values.
double at_broadcast(const std::vector<double>& v, const Shape& shape, const Shape& full,
                    const Shape& idx) {
    const int64_t lead = (int64_t)full.size() - (int64_t)shape.size();
    const Shape st = contiguous_strides(shape);
    int64_t off = 0;
    for (int64_t d = 0; d < (int64_t)shape.size(); ++d)
        if (shape[d] != 1) off += idx[lead + d] * st[d];
    return v[off];
}

// matmul by loops, with NumPy batch broadcasting; values are read from packed copies.
Tensor ref_matmul(const Tensor& a, const Tensor& b) {
    const Shape sa = a.shape(), sb = b.shape();
    const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
    Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    Shape batch = broadcast_shapes(ba, bb, "ref_matmul");
    Shape fa = batch, fb = batch, out = batch;
    fa.insert(fa.end(), {m, k});
    fb.insert(fb.end(), {k, n});
    out.insert(out.end(), {m, n});
    const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
    std::vector<double> o(shape_numel(out));
    const int64_t nb = shape_numel(batch);
    for (int64_t p = 0; p < nb; ++p) {
        Shape bi(batch.size());
        for (int64_t d = (int64_t)batch.size() - 1, r = p; d >= 0; --d) {
            bi[d] = r % batch[d];
            r /= batch[d];
        }
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double s = 0;
                for (int64_t q = 0; q < k; ++q) {
                    Shape ia = bi, ib = bi;
                    ia.insert(ia.end(), {i, q});
                    ib.insert(ib.end(), {q, j});
                    s += at_broadcast(av, sa, fa, ia) * at_broadcast(bv, sb, fb, ib);
                }
                o[(p * m + i) * n + j] = s;
            }
    }
    return from_vector(o, out);
}

void expect_matmul(const Tensor& a, const Tensor& b, double tol = 1e-12) {
    Tensor want = ref_matmul(a, b);
    expect_tensor(matmul(a, b), want.shape(), want.to_vector<double>(), tol);
}

OpFn mm() {
    return [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
}

// Bytes newly allocated (above what was in use before) while running f.
template <class F>
size_t peak_extra_bytes(F&& f) {
    auto& alloc = cpu_allocator();
    alloc.reset_peak();
    const size_t before = alloc.stats().current_bytes;
    f();
    return alloc.stats().peak_bytes - before;
}

}  // namespace

// ---- values ----

TEST_CASE("matmul: 2-D values by hand") {
    Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor b = f64({7, 8, 9, 10, 11, 12}, {3, 2});
    expect_tensor(matmul(a, b), {2, 2}, {58, 64, 139, 154});
    expect_tensor(matmul(b, a), {3, 3}, {39, 54, 69, 49, 68, 87, 59, 82, 105});
    // float32 too.
    expect_tensor(matmul(a.to(DType::f32), b.to(DType::f32)), {2, 2}, {58, 64, 139, 154});
    CHECK(matmul(a.to(DType::f32), b.to(DType::f32)).dtype() == DType::f32);
}

TEST_CASE("matmul: 2-D and batched 3-D match a loop reference") {
    expect_matmul(test_input({5, 7}, 1), test_input({7, 3}, 2));
    expect_matmul(test_input({2, 3, 4}, 3), test_input({2, 4, 5}, 4));
    expect_matmul(test_input({3, 1, 6}, 5), test_input({3, 6, 2}, 6));
    // Bigger than a GEMM block, in both dtypes.
    Tensor a = test_input({2, 67, 45}, 7), b = test_input({2, 45, 33}, 8);
    expect_matmul(a, b, 1e-12);
    Tensor want = ref_matmul(a, b);
    expect_tensor(matmul(a.to(DType::f32), b.to(DType::f32)), want.shape(),
                  want.to_vector<double>(), 1e-5);
}

TEST_CASE("matmul: broadcast batch dims") {
    // [2,3,4] @ [4,5]: the matrix is shared by every batch.
    Tensor a = test_input({2, 3, 4}, 11), b = test_input({4, 5}, 12);
    expect_matmul(a, b);
    CHECK(matmul(a, b).shape() == Shape{2, 3, 5});
    // The result per batch equals the 2-D product.
    for (int64_t i = 0; i < 2; ++i)
        expect_tensor(matmul(a, b).select(0, i), {3, 5},
                      matmul(a.select(0, i), b).to_vector<double>());
    // [4,5]-like left operand against a batch, and size-1 batch dims on either side.
    expect_matmul(test_input({3, 4}, 13), test_input({2, 4, 5}, 14));
    expect_matmul(test_input({1, 3, 4}, 15), test_input({2, 4, 5}, 16));
    expect_matmul(test_input({2, 3, 4}, 17), test_input({1, 4, 5}, 18));
    // Several batch dims, broadcast in both directions.
    expect_matmul(test_input({2, 1, 3, 4}, 19), test_input({3, 4, 5}, 20));
    expect_matmul(test_input({2, 1, 3, 4}, 21), test_input({1, 3, 4, 2}, 22));
    CHECK(matmul(test_input({2, 1, 3, 4}, 21), test_input({1, 3, 4, 2}, 22)).shape() ==
          Shape{2, 3, 3, 2});
}

TEST_CASE("matmul: transposed-view operands give the right result") {
    Tensor a = test_input({4, 3}, 31), b = test_input({5, 4}, 32);
    Tensor at = a.t(), bt = b.t();  // [3,4] and [4,5], not contiguous
    REQUIRE_FALSE(at.is_contiguous());
    expect_matmul(at, bt);
    expect_matmul(at, test_input({4, 6}, 33));
    expect_matmul(test_input({6, 4}, 34), bt);
    expect_matmul(b, a);  // plain, for comparison
    // Batched, transposed in the last two dims.
    Tensor c = test_input({2, 5, 3}, 35), d = test_input({2, 4, 5}, 36);
    expect_matmul(c.transpose(-1, -2), d.transpose(1, 2));
    // A transposed 2-D operand against a batch, and a transposed batch against a matrix.
    expect_matmul(at, test_input({2, 4, 2}, 37));
    expect_matmul(c.transpose(1, 2), test_input({5, 2}, 38).t().t());
    // Views that are neither row- nor column-major (a step slice, a permuted batch) are right.
    Tensor e = test_input({6, 8}, 39);
    expect_matmul(e.slice(1, 0, 8, 2), test_input({4, 3}, 40));
    expect_matmul(test_input({3, 2, 4}, 41).permute({1, 0, 2}), test_input({4, 5}, 42));
    // Sub-matrix views with a larger leading dimension.
    expect_matmul(e.slice(0, 1, 4).slice(1, 2, 7), test_input({5, 3}, 43));
    expect_matmul(e.slice(0, 1, 4).slice(1, 2, 7).t(), test_input({3, 2}, 44));
}

TEST_CASE("matmul: transposed operands are not copied") {
    // A copy of the [8, 512] transposed operand would need 32 KiB; the product only needs its
    // 512-byte output block.
    Tensor a = test_input({512, 8}, 51), b = test_input({512, 8}, 52);
    const size_t out_bytes = CachingAllocator::size_class(8 * 8 * sizeof(double));
    NoGradGuard ng;
    Tensor y;
    CHECK(peak_extra_bytes([&] { y = matmul(a.t(), b); }) == out_bytes);
    expect_matmul(a.t(), b);
    CHECK(peak_extra_bytes([&] { y = matmul(b.t(), a); }) == out_bytes);
    // Right operand transposed: [8, 512] @ [512, 8].
    Tensor c = test_input({8, 512}, 53);
    CHECK(peak_extra_bytes([&] { y = matmul(c, c.t()); }) == out_bytes);
    expect_matmul(c, c.t());
    CHECK(peak_extra_bytes([&] { y = matmul(a.t(), c.t()); }) == out_bytes);
    expect_matmul(a.t(), c.t());
    // Batched, transposed in the last two dims, with one batch dim (also broadcast).
    Tensor bat = test_input({2, 512, 8}, 54);
    const size_t bout = CachingAllocator::size_class(2 * 8 * 8 * sizeof(double));
    CHECK(peak_extra_bytes([&] { y = matmul(bat.transpose(1, 2), b); }) == bout);
    Tensor d = test_input({2, 8, 512}, 55);
    CHECK(peak_extra_bytes([&] { y = matmul(c, d.transpose(1, 2)); }) == bout);
    expect_matmul(c, d.transpose(1, 2));
    expect_matmul(bat.transpose(1, 2), b);
}

TEST_CASE("matmul: K=1, M=1 and N=1 edge cases") {
    // K = 1: an outer product.
    Tensor u = f64({1, 2, 3}, {3, 1}), v = f64({4, 5}, {1, 2});
    expect_tensor(matmul(u, v), {3, 2}, {4, 5, 8, 10, 12, 15});
    // M = 1 and N = 1: a row times a matrix, a matrix times a column, a dot product.
    expect_tensor(matmul(f64({1, 2, 3}, {1, 3}), f64({1, 0, 0, 1, 1, 1}, {3, 2})), {1, 2}, {4, 5});
    expect_tensor(matmul(f64({1, 0, 0, 1, 1, 1}, {2, 3}), f64({1, 2, 3}, {3, 1})), {2, 1}, {1, 6});
    expect_tensor(matmul(f64({1, 2, 3}, {1, 3}), f64({4, 5, 6}, {3, 1})), {1, 1}, {32});
    // Same through transposed views (their strides for size-1 dims are arbitrary).
    expect_matmul(f64({1, 2, 3}, {1, 3}).t(), f64({4, 5}, {2, 1}).t());     // [3,1] @ [1,2]
    expect_matmul(f64({1, 2, 3}, {3, 1}).t(), test_input({2, 3}, 61).t());  // M = 1
    expect_matmul(test_input({3, 4}, 62).t(), f64({1, 2, 3}, {1, 3}).t());  // N = 1
    expect_matmul(test_input({2, 1, 5}, 63), test_input({2, 5, 1}, 64));    // batched M=N=1
    expect_matmul(test_input({2, 4, 1}, 65), test_input({1, 3}, 66));       // batched K=1
    expect_matmul(test_input({4, 2, 1}, 67).transpose(0, 1), test_input({2, 1, 3}, 68));
    // Column and row slices of a bigger matrix as operands.
    Tensor big = test_input({5, 6}, 69);
    expect_matmul(big.slice(1, 2, 3), big.slice(0, 1, 2));      // [5,1] @ [1,6]
    expect_matmul(big.slice(0, 3, 4), big.t().slice(1, 2, 3));  // [1,6] @ [6,1]
}

// ---- gradients ----

TEST_CASE("matmul: 2-D gradients and second derivatives") {
    check_op("matmul 2-D", mm(), {test_input({3, 4}, 71), test_input({4, 5}, 72)});
    check_op("matmul square", mm(), {test_input({4, 4}, 73), test_input({4, 4}, 74)});
    // The same tensor on both sides: both gradient paths accumulate.
    check_op("matmul x@x", [](const std::vector<Tensor>& x) { return matmul(x[0], x[0]); },
             {test_input({3, 3}, 75)});
}

TEST_CASE("matmul: batched and broadcast gradients and second derivatives") {
    check_op("matmul 3-D", mm(), {test_input({2, 3, 4}, 81), test_input({2, 4, 5}, 82)});
    check_op("matmul [2,3,4]@[4,5]", mm(), {test_input({2, 3, 4}, 83), test_input({4, 5}, 84)});
    check_op("matmul [1,3,4]@[2,4,5]", mm(),
             {test_input({1, 3, 4}, 85), test_input({2, 4, 5}, 86)});
    check_op("matmul [3,4]@[2,4,5]", mm(), {test_input({3, 4}, 87), test_input({2, 4, 5}, 88)});
    check_op("matmul 4-D broadcast", mm(),
             {test_input({2, 1, 3, 4}, 89), test_input({1, 3, 4, 2}, 90)});
}

TEST_CASE("matmul: gradients through transposed views") {
    check_op("matmul a.t()@b", [](const std::vector<Tensor>& x) { return matmul(x[0].t(), x[1]); },
             {test_input({4, 3}, 91), test_input({4, 5}, 92)});
    check_op("matmul a@b.t()", [](const std::vector<Tensor>& x) { return matmul(x[0], x[1].t()); },
             {test_input({3, 4}, 93), test_input({5, 4}, 94)});
    check_op("matmul a.t()@b.t()",
             [](const std::vector<Tensor>& x) { return matmul(x[0].t(), x[1].t()); },
             {test_input({4, 3}, 95), test_input({5, 4}, 96)});
    check_op("matmul batched transposes",
             [](const std::vector<Tensor>& x) {
                 return matmul(x[0].transpose(-1, -2), x[1].transpose(1, 2));
             },
             {test_input({2, 4, 3}, 97), test_input({2, 5, 4}, 98)});
}

TEST_CASE("matmul: gradients for K=1 and M=1") {
    check_op("matmul K=1", mm(), {test_input({3, 1}, 101), test_input({1, 4}, 102)});
    check_op("matmul M=1", mm(), {test_input({1, 4}, 103), test_input({4, 3}, 104)});
    check_op("matmul N=1", mm(), {test_input({3, 4}, 105), test_input({4, 1}, 106)});
    check_op("matmul M=N=1 batched", mm(), {test_input({2, 1, 4}, 107), test_input({4, 1}, 108)});
}

TEST_CASE("matmul: gradient values by hand") {
    // L = Σ A·B: ∂L/∂A = 1·Bᵀ (row sums of B), ∂L/∂B = Aᵀ·1 (column sums of A).
    Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
    Tensor b = f64({1, -1, 2, 0, 0, 3}, {3, 2}).requires_grad_();
    sum(matmul(a, b)).backward();
    expect_tensor(a.grad(), {2, 3}, {0, 2, 3, 0, 2, 3});
    expect_tensor(b.grad(), {3, 2}, {5, 5, 7, 7, 9, 9});
    // Broadcast batch: the shared matrix's gradient sums over the batch.
    Tensor x = test_input({3, 2, 3}, 109).requires_grad_();
    Tensor w = f64({1, -1, 2, 0, 0, 3}, {3, 2}).requires_grad_();
    sum(matmul(x, w)).backward();
    auto xv = x.to_vector<double>();
    std::vector<double> colsum(3, 0.0);
    for (size_t i = 0; i < xv.size(); ++i) colsum[i % 3] += xv[i];
    expect_tensor(w.grad(), {3, 2},
                  {colsum[0], colsum[0], colsum[1], colsum[1], colsum[2], colsum[2]});
}

// ---- linear ----

TEST_CASE("linear: values with and without bias, 1-D, 2-D and 3-D input") {
    Tensor w = f64({1, 0, -1, 2, 1, 0}, {2, 3});  // [out=2, in=3]
    Tensor bias = f64({10, 20}, {2});
    Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    expect_tensor(linear(x, w), {2, 2}, {-2, 4, -2, 13});
    expect_tensor(linear(x, w, bias), {2, 2}, {8, 24, 8, 33});
    expect_tensor(linear(f64({1, 2, 3}, {3}), w, bias), {2}, {8, 24});
    // 3-D input: the leading dims are a batch.
    Tensor x3 = test_input({2, 4, 3}, 111);
    Tensor y3 = linear(x3, w, bias);
    REQUIRE(y3.shape() == Shape{2, 4, 2});
    Tensor want = ref_matmul(x3, w.t()) + bias;
    expect_tensor(y3, {2, 4, 2}, want.to_vector<double>());
    // A non-contiguous 3-D input.
    Tensor xt = test_input({4, 2, 3}, 112).transpose(0, 1);
    expect_tensor(linear(xt, w), {2, 4, 2}, ref_matmul(xt, w.t()).to_vector<double>());
}

TEST_CASE("linear: gradients and second derivatives") {
    check_op("linear", [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); },
             {test_input({4, 3}, 121), test_input({5, 3}, 122), test_input({5}, 123)});
    check_op("linear no bias", [](const std::vector<Tensor>& x) { return linear(x[0], x[1]); },
             {test_input({4, 3}, 124), test_input({5, 3}, 125)});
    check_op("linear 3-D", [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); },
             {test_input({2, 4, 3}, 126), test_input({5, 3}, 127), test_input({5}, 128)});
    check_op("linear 1-D", [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); },
             {test_input({3}, 129), test_input({2, 3}, 130), test_input({2}, 131)});
    // A nonlinearity after it makes the second derivative non-trivial.
    check_op("tanh(linear)",
             [](const std::vector<Tensor>& x) { return tanh(linear(x[0], x[1], x[2])); },
             {test_input({2, 4, 3}, 132), test_input({5, 3}, 133), test_input({5}, 134)});
}

TEST_CASE("linear: bias gradient sums over every batch dim") {
    Tensor x = test_input({2, 4, 3}, 141);
    Tensor w = test_input({5, 3}, 142).requires_grad_();
    Tensor b = zeros({5}, DType::f64).requires_grad_();
    sum(linear(x, w, b)).backward();
    expect_tensor(b.grad(), {5}, std::vector<double>(5, 8.0));
}

// ---- errors ----

TEST_CASE("matmul: inner-dimension mismatch names both shapes") {
    Tensor a = test_input({2, 3}, 151), b = test_input({4, 5}, 152);
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("[2, 3]"), Error);
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("[4, 5]"), Error);
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("matmul"), Error);
    CHECK_THROWS_WITH_AS(matmul(test_input({2, 3, 4}, 153), test_input({2, 5, 4}, 154)),
                         doctest::Contains("[2, 5, 4]"), Error);
}

TEST_CASE("matmul: 0-d input is rejected with a clear message (1-D follows torch.matmul)") {
    Tensor v = test_input({3}, 161), m = test_input({3, 2}, 162);
    CHECK_THROWS_WITH_AS(matmul(scalar(1.0, DType::f64), m),
                         doctest::Contains("at least 1 dimension"), Error);
    CHECK_THROWS_WITH_AS(matmul(m, v), doctest::Contains("[3]"), Error);  // [3, 2] · [3]
    CHECK(matmul(v, m).shape() == Shape{2});                              // test_pytorch_api.cpp
}

TEST_CASE("matmul: batch dims that do not broadcast, and mixed dtypes, throw") {
    CHECK_THROWS_WITH_AS(matmul(test_input({2, 3, 4}, 171), test_input({3, 4, 5}, 172)),
                         doctest::Contains("broadcast"), Error);
    CHECK_THROWS_WITH_AS(matmul(test_input({3, 4}, 173), test_input({4, 2}, 174).to(DType::f32)),
                         doctest::Contains("dtype"), Error);
    Tensor i = from_vector<int32_t>({1, 2, 3, 4}, {2, 2});
    CHECK_THROWS_AS(matmul(i, i), Error);
}

TEST_CASE("linear: shape errors name the shapes") {
    Tensor w = test_input({5, 3}, 181);
    CHECK_THROWS_WITH_AS(linear(test_input({4, 2}, 182), w), doctest::Contains("[5, 3]"), Error);
    CHECK_THROWS_WITH_AS(linear(test_input({4, 3}, 183), test_input({5}, 184)),
                         doctest::Contains("linear"), Error);
    CHECK_THROWS_WITH_AS(linear(test_input({4, 3}, 185), w, test_input({4}, 186)),
                         doctest::Contains("bias"), Error);
    CHECK_THROWS_AS(linear(test_input({4, 3}, 187), w, test_input({1, 5}, 188)), Error);
}
