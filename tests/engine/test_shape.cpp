// Shape ops (engine/ops/shape.cpp, engine/backend/cpu/index.cpp): views and their storage sharing,
// copies and casts, joining and splitting, and the indexing ops. Forward values are checked by
// hand; gradients and second derivatives go through check_op, each op both alone and squared
// (the square makes the second derivative run through the op's backward of its backward).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
// Not the whole namespace: this file keeps its own expect_tensor (absolute tolerance).
using zg::testing::check_op;
using zg::testing::check_op_and_square;
using zg::testing::f64;
using zg::testing::i32;
using zg::testing::leaves;
using zg::testing::test_input;

namespace {

// 0, 1, 2, ... in float64 with the given shape.
Tensor iota(const Shape& s) {
    return arange(shape_numel(s), DType::f64).reshape(s);
}

std::vector<double> seq(int64_t from, int64_t to, int64_t step = 1) {
    std::vector<double> v;
    for (int64_t i = from; i < to; i += step) v.push_back((double)i);
    return v;
}

// Absolute tolerance, exact by default (unlike zg::testing::expect_tensor's relative one).
void expect_tensor(const Tensor& t, const Shape& shape, const std::vector<double>& want,
                   double tol = 0.0) {
    REQUIRE_MESSAGE(t.shape() == shape, "shape ", shape_str(t.shape()), ", expected ",
                    shape_str(shape));
    std::vector<double> got = t.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i)
        CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol, "element ", i, ": ", got[i], " vs ",
                      want[i]);
}

bool shares_storage(const Tensor& a, const Tensor& b) {
    return a.storage_ptr() == b.storage_ptr();
}

}  // namespace

// ---- view / reshape ----

TEST_CASE("shape: view and reshape keep values, share storage and infer -1") {
    Tensor x = iota({2, 3, 4});
    expect_tensor(x, {2, 3, 4}, seq(0, 24));
    Tensor v = x.view({4, -1});
    expect_tensor(v, {4, 6}, seq(0, 24));
    CHECK(shares_storage(v, x));
    expect_tensor(x.view({-1}), {24}, seq(0, 24));
    expect_tensor(x.reshape({2, -1, 3}), {2, 4, 3}, seq(0, 24));
    expect_tensor(x.reshape({-1, 1, 2}), {12, 1, 2}, seq(0, 24));
    CHECK(shares_storage(x.reshape({6, 4}), x));  // contiguous: reshape is a view
    expect_tensor(f64({7}, {1}).view({}), {}, {7});
    expect_tensor(scalar(3.0, DType::f64).reshape({1, 1}), {1, 1}, {3});
    // A view of a sliced (offset, still contiguous) tensor starts at the slice.
    expect_tensor(x.select(0, 1).view({12}), {12}, seq(12, 24));
}

TEST_CASE("shape: view and reshape reject two -1, a wrong element count and bad sizes") {
    Tensor x = iota({2, 3, 4});
    CHECK_THROWS_WITH_AS(x.view({-1, -1}), doctest::Contains("-1"), Error);
    CHECK_THROWS_WITH_AS(x.reshape({-1, 2, -1}), doctest::Contains("only one"), Error);
    CHECK_THROWS_WITH_AS(x.view({5, 5}), doctest::Contains("[2, 3, 4]"), Error);
    CHECK_THROWS_AS(x.reshape({25}), Error);
    CHECK_THROWS_AS(x.reshape({7, -1}), Error);  // 24 is not a multiple of 7
    CHECK_THROWS_AS(x.view({-2, -12}), Error);
    CHECK_THROWS_AS(x.view({0, -1}), Error);
    // view needs a contiguous tensor; reshape copies instead.
    CHECK_THROWS_WITH_AS(x.transpose(0, 2).view({-1}), doctest::Contains("contiguous"), Error);
}

TEST_CASE("shape: reshape of a non-contiguous view copies in logical order") {
    Tensor x = iota({2, 3});
    Tensor r = x.t().reshape({6});  // [[0,3],[1,4],[2,5]]
    expect_tensor(r, {6}, {0, 3, 1, 4, 2, 5});
    CHECK_FALSE(shares_storage(r, x));
    expect_tensor(x.t().reshape({-1, 3}), {2, 3}, {0, 3, 1, 4, 2, 5});
    // Step slice, permute, and a sub-block with an offset.
    expect_tensor(iota({10}).slice(0, 1, 10, 2).reshape({5}), {5}, {1, 3, 5, 7, 9});
    Tensor y = iota({2, 3, 4});
    std::vector<double> want;
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 3; ++j) want.push_back(i * 12 + j * 4 + k);
    expect_tensor(y.permute({2, 0, 1}).reshape({4, 6}), {4, 6}, want);
    expect_tensor(y.slice(1, 1, 3).slice(2, 1, 3).reshape({-1}), {8},
                  {5, 6, 9, 10, 17, 18, 21, 22});
    expect_tensor(y.permute({2, 0, 1}).flatten(), {24}, want);
}

TEST_CASE("shape: view and reshape gradients and second derivatives") {
    check_op_and_square("view",
                        [](const std::vector<Tensor>& x) {
                            return x[0].view({4, -1});
                        },
                        {test_input({2, 3, 4}, 1)});
    check_op_and_square("reshape of transpose",
                        [](const std::vector<Tensor>& x) {
                            return x[0].transpose(0, 2).reshape({-1, 2});
                        },
                        {test_input({2, 3, 4}, 2)});
    check_op_and_square("flatten", [](const std::vector<Tensor>& x) { return x[0].flatten(1); },
                        {test_input({2, 3, 4}, 3)});
}

TEST_CASE("shape: flatten ranges") {
    Tensor x = iota({2, 3, 4});
    expect_tensor(x.flatten(), {24}, seq(0, 24));
    expect_tensor(x.flatten(1), {2, 12}, seq(0, 24));
    expect_tensor(x.flatten(0, 1), {6, 4}, seq(0, 24));
    expect_tensor(x.flatten(-2, -1), {2, 12}, seq(0, 24));
    expect_tensor(x.flatten(1, 1), {2, 3, 4}, seq(0, 24));
    expect_tensor(scalar(5.0, DType::f64).flatten(), {1}, {5});
    CHECK_THROWS_AS(x.flatten(0, 3), Error);
}

// ---- unsqueeze / squeeze ----

TEST_CASE("shape: unsqueeze and squeeze") {
    Tensor x = iota({2, 3});
    CHECK(x.unsqueeze(0).shape() == Shape{1, 2, 3});
    CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3});
    CHECK(x.unsqueeze(2).shape() == Shape{2, 3, 1});
    CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 1});
    CHECK(x.unsqueeze(-3).shape() == Shape{1, 2, 3});
    CHECK(shares_storage(x.unsqueeze(1), x));
    expect_tensor(x.unsqueeze(1), {2, 1, 3}, seq(0, 6));
    expect_tensor(x.unsqueeze(1).squeeze(1), {2, 3}, seq(0, 6));
    expect_tensor(x.unsqueeze(-1).squeeze(-1), {2, 3}, seq(0, 6));
    // On a strided view: values follow the view, not the storage.
    expect_tensor(x.t().unsqueeze(1), {3, 1, 2}, {0, 3, 1, 4, 2, 5});
    expect_tensor(x.t().unsqueeze(2).squeeze(2), {3, 2}, {0, 3, 1, 4, 2, 5});
    expect_tensor(x.t().unsqueeze(0).contiguous(), {1, 3, 2}, {0, 3, 1, 4, 2, 5});
    // Squeezing a size-1 dim of a non-contiguous tensor, then reshaping, reads correctly.
    expect_tensor(iota({3, 1, 2}).transpose(0, 2).squeeze(1).reshape({-1}), {6},
                  {0, 2, 4, 1, 3, 5});
    expect_tensor(f64({4}, {1}).squeeze(0), {}, {4});
}

TEST_CASE("shape: squeeze of a dim whose size is not 1 throws") {
    Tensor x = iota({2, 1, 3});
    CHECK_THROWS_WITH_AS(x.squeeze(0), doctest::Contains("not 1"), Error);
    CHECK_THROWS_AS(x.squeeze(-1), Error);
    CHECK_THROWS_AS(x.squeeze(3), Error);
    CHECK_THROWS_AS(x.unsqueeze(4), Error);
    CHECK_THROWS_AS(x.unsqueeze(-5), Error);
}

TEST_CASE("shape: unsqueeze and squeeze gradients and second derivatives") {
    check_op_and_square("unsqueeze", [](const std::vector<Tensor>& x) { return x[0].unsqueeze(1); },
                        {test_input({2, 3}, 11)});
    check_op_and_square("squeeze",
                        [](const std::vector<Tensor>& x) { return x[0].squeeze(-2) * x[1]; },
                        {test_input({2, 1, 3}, 12), test_input({3}, 13)});
}

// ---- transpose / permute ----

TEST_CASE("shape: transpose and permute values") {
    Tensor x = iota({2, 3, 4});
    Tensor p = x.permute({2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(shares_storage(p, x));
    std::vector<double> want;
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 3; ++j) want.push_back(i * 12 + j * 4 + k);
    expect_tensor(p, {4, 2, 3}, want);
    expect_tensor(x.permute({-1, 0, -2}), {4, 2, 3}, want);
    want.clear();
    for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 3; ++j)
            for (int i = 0; i < 2; ++i) want.push_back(i * 12 + j * 4 + k);
    expect_tensor(x.transpose(0, 2), {4, 3, 2}, want);
    expect_tensor(x.transpose(-1, 0), {4, 3, 2}, want);
    expect_tensor(x.transpose(1, 1), {2, 3, 4}, seq(0, 24));
    // Transposing twice is the identity; a permutation and its inverse too.
    expect_tensor(x.t().t(), {2, 3, 4}, seq(0, 24));  // t() swaps dims 0 and 1
    expect_tensor(x.permute({2, 0, 1}).permute({1, 2, 0}), {2, 3, 4}, seq(0, 24));
}

TEST_CASE("shape: permute errors on a repeated or missing dim") {
    Tensor x = iota({2, 3, 4});
    CHECK_THROWS_WITH_AS(x.permute({0, 0, 1}), doctest::Contains("twice"), Error);
    CHECK_THROWS_AS(x.permute({0, 2, -1}), Error);  // -1 is 2
    CHECK_THROWS_AS(x.permute({0, 1}), Error);
    CHECK_THROWS_AS(x.permute({0, 1, 2, 3}), Error);
    CHECK_THROWS_AS(x.permute({0, 1, 3}), Error);
    CHECK_THROWS_AS(x.transpose(0, 3), Error);
}

TEST_CASE("shape: transpose and permute gradients and second derivatives") {
    check_op_and_square("permute",
                        [](const std::vector<Tensor>& x) {
                            return x[0].permute({2, 0, 1});
                        },
                        {test_input({2, 3, 4}, 21)});
    check_op_and_square("transpose",
                        [](const std::vector<Tensor>& x) { return x[0].transpose(-1, 0) * x[1]; },
                        {test_input({2, 3, 4}, 22), test_input({4, 3, 2}, 23)});
}

// ---- slice / select ----

TEST_CASE("shape: slice with negative start/end, step > 1 and clamping") {
    Tensor x = iota({10});
    expect_tensor(x.slice(0, 2, 5), {3}, {2, 3, 4});
    expect_tensor(x.slice(0, -3, 10), {3}, {7, 8, 9});
    expect_tensor(x.slice(0, 2, -2), {6}, {2, 3, 4, 5, 6, 7});
    expect_tensor(x.slice(0, -4, -1), {3}, {6, 7, 8});
    expect_tensor(x.slice(0, 1, 9, 3), {3}, {1, 4, 7});
    expect_tensor(x.slice(0, 1, 10, 3), {3}, {1, 4, 7});
    expect_tensor(x.slice(0, 0, 10, 4), {3}, {0, 4, 8});
    expect_tensor(x.slice(0, -5, 10, 2), {3}, {5, 7, 9});
    expect_tensor(x.slice(0, -100, 100), {10}, seq(0, 10));  // clamped like Python
    expect_tensor(x.slice(0, 8, 2), {0}, {});                // empty
    expect_tensor(x.slice(0, 12, 20), {0}, {});
    CHECK(shares_storage(x.slice(0, 1, 9, 3), x));
    // 2-D, along the last dim with a negative dim index, and chained slices.
    Tensor y = iota({3, 5});
    expect_tensor(y.slice(-1, 1, 5, 2), {3, 2}, {1, 3, 6, 8, 11, 13});
    expect_tensor(y.slice(0, -2, 3).slice(1, -3, -1), {2, 2}, {7, 8, 12, 13});
    expect_tensor(y.slice(1, 0, 5, 2).slice(1, 1, 3), {3, 2}, {2, 4, 7, 9, 12, 14});
    CHECK_THROWS_AS(x.slice(0, 0, 5, 0), Error);
    CHECK_THROWS_AS(x.slice(0, 0, 5, -1), Error);
    CHECK_THROWS_AS(x.slice(1, 0, 5), Error);
}

TEST_CASE("shape: select, with negative index, and its range check") {
    Tensor y = iota({3, 4});
    expect_tensor(y.select(0, 1), {4}, {4, 5, 6, 7});
    expect_tensor(y.select(1, 2), {3}, {2, 6, 10});
    expect_tensor(y.select(-1, -1), {3}, {3, 7, 11});
    expect_tensor(y.select(0, -3), {4}, {0, 1, 2, 3});
    expect_tensor(iota({2, 3, 4}).select(1, 1).select(0, 1), {4}, {16, 17, 18, 19});
    CHECK(shares_storage(y.select(1, 2), y));
    CHECK_THROWS_WITH_AS(y.select(0, 3), doctest::Contains("out of range"), Error);
    CHECK_THROWS_AS(y.select(1, -5), Error);
    CHECK_THROWS_AS(y.select(2, 0), Error);
}

TEST_CASE("shape: slice and select gradients and second derivatives") {
    check_op_and_square("slice", [](const std::vector<Tensor>& x) { return x[0].slice(1, -4, -1); },
                        {test_input({3, 6}, 31)});
    check_op_and_square(
        "slice step",
        [](const std::vector<Tensor>& x) { return x[0].slice(0, 1, 7, 2).slice(1, 0, 6, 4); },
        {test_input({7, 6}, 32)});
    check_op_and_square("select", [](const std::vector<Tensor>& x) { return x[0].select(1, -2); },
                        {test_input({3, 4, 2}, 33)});
}

TEST_CASE("shape: slice gradient is zero outside the window") {
    Tensor x = zeros({7}, DType::f64).requires_grad_();
    sum(x.slice(0, -6, 6, 2)).backward();  // elements 1, 3, 5
    expect_tensor(x.grad(), {7}, {0, 1, 0, 1, 0, 1, 0});
}

// ---- expand ----

TEST_CASE("shape: expand values, -1 keeps a size, stride-0 view") {
    Tensor x = f64({1, 2, 3}, {3, 1});
    Tensor e = x.expand({3, 4});
    expect_tensor(e, {3, 4}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
    CHECK(shares_storage(e, x));
    expect_tensor(x.expand({-1, 2}), {3, 2}, {1, 1, 2, 2, 3, 3});
    expect_tensor(x.expand({2, -1, 2}), {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
    expect_tensor(f64({5, 6}, {2}).expand({2, 2}), {2, 2}, {5, 6, 5, 6});
    expect_tensor(x.expand({3, 1}), {3, 1}, {1, 2, 3});
    expect_tensor(scalar(4.0, DType::f64).expand({2, 3}), {2, 3}, std::vector<double>(6, 4));
    // A view of an expanded tensor, then packed.
    expect_tensor(x.expand({3, 4}).t().contiguous(), {4, 3}, {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
}

TEST_CASE("shape: expand errors when not broadcastable") {
    Tensor x = f64({1, 2, 3}, {3, 1});
    CHECK_THROWS_WITH_AS(x.expand({4, 4}), doctest::Contains("expand"), Error);
    CHECK_THROWS_AS(x.expand({3}), Error);  // fewer dims
    CHECK_THROWS_AS(f64({1, 2}, {2}).expand({2, 3}), Error);
    // -1 is only meaningful for an existing dim; in a new leading dim it is an error, not a
    // negative size.
    CHECK_THROWS_AS(x.expand({-1, 3, 4}), Error);
    CHECK_THROWS_AS(x.expand({3, -2}), Error);
}

TEST_CASE("shape: expand gradients and second derivatives") {
    check_op_and_square("expand",
                        [](const std::vector<Tensor>& x) {
                            return x[0].expand({2, 3, 4});
                        },
                        {test_input({3, 1}, 41)});
    check_op_and_square("expand -1",
                        [](const std::vector<Tensor>& x) {
                            return x[0].expand({-1, 5}) * x[1];
                        },
                        {test_input({2, 1}, 42), test_input({2, 5}, 43)});
}

TEST_CASE("shape: expand gradient sums over the repeated dims") {
    Tensor x = f64({1, 2}, {2, 1}).requires_grad_();
    sum(x.expand({3, 2, 4})).backward();
    expect_tensor(x.grad(), {2, 1}, {12, 12});
}

// ---- contiguous / clone / to ----

TEST_CASE("shape: contiguous and clone") {
    Tensor x = iota({2, 3});
    CHECK(x.contiguous().same(x));  // already packed: the same handle
    Tensor c = x.t().contiguous();
    CHECK(c.is_contiguous());
    CHECK_FALSE(shares_storage(c, x));
    expect_tensor(c, {3, 2}, {0, 3, 1, 4, 2, 5});
    CHECK(c.strides() == Shape{2, 1});
    Tensor k = x.clone();
    CHECK_FALSE(shares_storage(k, x));
    expect_tensor(k, {2, 3}, seq(0, 6));
    {
        NoGradGuard ng;
        k.fill_(9);
    }
    expect_tensor(x, {2, 3}, seq(0, 6));  // the original is untouched
    expect_tensor(x.slice(1, 0, 3, 2).clone(), {2, 2}, {0, 2, 3, 5});
}

TEST_CASE("shape: contiguous and clone gradients and second derivatives") {
    check_op_and_square("contiguous",
                        [](const std::vector<Tensor>& x) { return x[0].t().contiguous(); },
                        {test_input({3, 4}, 51)});
    check_op_and_square("clone", [](const std::vector<Tensor>& x) { return x[0].clone(); },
                        {test_input({3, 4}, 52)});
}

TEST_CASE("shape: to(dtype) round trips, truncates to int32, and int32 carries no gradient") {
    // float32 → float64 → float32 is exact; float64 → float32 rounds to float precision.
    Tensor x = f64({1.5, -2.25, 3, 1e-3, 1e20}, {5});
    Tensor f = x.to(DType::f32);
    CHECK(f.dtype() == DType::f32);
    Tensor back = f.to(DType::f64);
    CHECK(back.dtype() == DType::f64);
    expect_tensor(back.to(DType::f32), {5}, f.to_vector<double>());
    expect_tensor(back.slice(0, 0, 3), {3}, {1.5, -2.25, 3});  // representable: exact
    const auto xv = x.to_vector<double>(), bv = back.to_vector<double>();
    for (size_t k = 0; k < xv.size(); ++k) CHECK(std::abs(bv[k] - xv[k]) <= 1e-7 * std::abs(xv[k]));
    CHECK(x.to(DType::f64).same(x));  // same dtype: no copy
    // float → int32 truncates toward zero; int32 → float is exact.
    Tensor i = f64({1.7, -1.7, 2, -0.2}, {4}).to(DType::i32);
    CHECK(i.dtype() == DType::i32);
    CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{1, -1, 2, 0});
    expect_tensor(i.to(DType::f32), {4}, {1, -1, 2, 0});
    // Casting a strided view.
    expect_tensor(iota({2, 3}).t().to(DType::f32), {3, 2}, {0, 3, 1, 4, 2, 5});
    // int32 is not differentiable: the cast ends the graph.
    Tensor leaf = f64({1, 2}, {2}).requires_grad_();
    Tensor as_int = leaf.to(DType::i32);
    CHECK_FALSE(as_int.requires_grad());
    CHECK(as_int.is_leaf());
    CHECK_FALSE(as_int.to(DType::f64).requires_grad());
}

TEST_CASE("shape: to(dtype) gradient is cast back to the input dtype") {
    Tensor x = f64({1, 2, 3}, {3}).requires_grad_();
    Tensor y = x.to(DType::f32);
    CHECK(y.requires_grad());
    sum(y * y * 0.5).backward();  // ∂/∂x = x
    REQUIRE(x.grad().dtype() == DType::f64);
    expect_tensor(x.grad(), {3}, {1, 2, 3}, 1e-6);
    // Second derivative through the cast: ∂²/∂x² Σ x³/3 = 2x.
    Tensor z = f64({1, 2, 3}, {3}).requires_grad_();
    Tensor z32 = z.to(DType::f32);
    auto g = grad({sum(z32 * z32 * z32 / 3.0)}, {z}, {}, true);
    CHECK(g[0].dtype() == DType::f64);
    auto gg = grad({sum(g[0])}, {z});
    expect_tensor(gg[0], {3}, {2, 4, 6}, 1e-5);
}

// ---- concat / stack ----

TEST_CASE("shape: concat along several dims") {
    Tensor a = iota({2, 2}), b = iota({2, 3}) + 10.0, c = iota({1, 2}) + 20.0;
    expect_tensor(concat({a, b}, 1), {2, 5}, {0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
    expect_tensor(concat({a, b}, -1), {2, 5}, {0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
    expect_tensor(concat({a, c, a}, 0), {5, 2}, {0, 1, 2, 3, 20, 21, 0, 1, 2, 3});
    expect_tensor(concat({a}, 0), {2, 2}, {0, 1, 2, 3});
    // 3-D along the middle dim, with a strided input.
    Tensor p = iota({2, 1, 2}), q = iota({2, 2, 2}).transpose(0, 2);  // q[i][j][k] = k*4+j*2+i
    expect_tensor(concat({p, q}, 1), {2, 3, 2}, {0, 1, 0, 4, 2, 6, 2, 3, 1, 5, 3, 7});
    // An empty part is allowed.
    expect_tensor(concat({a, zeros({2, 0}, DType::f64)}, 1), {2, 2}, {0, 1, 2, 3});
}

TEST_CASE("shape: concat errors on mismatched shapes, dtypes and ranks") {
    Tensor a = iota({2, 2});
    CHECK_THROWS_WITH_AS(concat({a, iota({3, 3})}, 0), doctest::Contains("[3, 3]"), Error);
    CHECK_THROWS_AS(concat({a, iota({2, 3})}, 0), Error);  // differs outside dim 0
    CHECK_THROWS_WITH_AS(concat({a, a.to(DType::f32)}, 0), doctest::Contains("dtype"), Error);
    CHECK_THROWS_AS(concat({a, iota({2, 2, 1})}, 0), Error);
    CHECK_THROWS_AS(concat({a, iota({4})}, 0), Error);
    CHECK_THROWS_AS(concat({}, 0), Error);
    CHECK_THROWS_AS(concat({a, a}, 2), Error);
    // 0-d tensors have no dim to join along.
    CHECK_THROWS_AS(concat({scalar(1.0, DType::f64), scalar(2.0, DType::f64)}, 0), Error);
}

TEST_CASE("shape: concat gradients and second derivatives") {
    check_op_and_square("concat dim 1",
                        [](const std::vector<Tensor>& x) {
                            return concat({x[0], x[1], x[2]}, 1);
                        },
                        {test_input({2, 2}, 61), test_input({2, 3}, 62), test_input({2, 1}, 63)});
    check_op_and_square("concat dim 0 repeated input",
                        [](const std::vector<Tensor>& x) {
                            return concat({x[0], x[1], x[0]}, 0);
                        },
                        {test_input({2, 3}, 64), test_input({1, 3}, 65)});
    check_op_and_square("concat dim -1 3-D",
                        [](const std::vector<Tensor>& x) {
                            return concat({x[0], x[1].t()}, -1);
                        },
                        {test_input({2, 3}, 66), test_input({2, 2}, 67)});
}

TEST_CASE("shape: stack values, gradients and errors") {
    Tensor a = f64({1, 2, 3}, {3}), b = f64({4, 5, 6}, {3});
    expect_tensor(stack({a, b}, 0), {2, 3}, {1, 2, 3, 4, 5, 6});
    expect_tensor(stack({a, b}, 1), {3, 2}, {1, 4, 2, 5, 3, 6});
    expect_tensor(stack({a, b}, -1), {3, 2}, {1, 4, 2, 5, 3, 6});
    expect_tensor(stack({a, b, a}, 0), {3, 3}, {1, 2, 3, 4, 5, 6, 1, 2, 3});
    expect_tensor(stack({scalar(1.0, DType::f64), scalar(2.0, DType::f64)}, 0), {2}, {1, 2});
    Tensor m = iota({2, 2});
    expect_tensor(stack({m, m.t()}, 1), {2, 2, 2}, {0, 1, 0, 2, 2, 3, 1, 3});
    CHECK_THROWS_WITH_AS(stack({a, f64({1, 2}, {2})}, 0), doctest::Contains("stack"), Error);
    CHECK_THROWS_AS(stack({a, b}, 2), Error);
    CHECK_THROWS_AS(stack({}, 0), Error);
    CHECK_THROWS_AS(stack({a, b.to(DType::f32)}, 0), Error);
    check_op_and_square("stack",
                        [](const std::vector<Tensor>& x) {
                            return stack({x[0], x[1], x[0]}, 1);
                        },
                        {test_input({2, 3}, 71), test_input({2, 3}, 72)});
}

// ---- split / chunk ----

TEST_CASE("shape: split values and views") {
    Tensor x = iota({2, 6});
    auto parts = split(x, {1, 3, 2}, 1);
    REQUIRE(parts.size() == 3);
    expect_tensor(parts[0], {2, 1}, {0, 6});
    expect_tensor(parts[1], {2, 3}, {1, 2, 3, 7, 8, 9});
    expect_tensor(parts[2], {2, 2}, {4, 5, 10, 11});
    CHECK(shares_storage(parts[1], x));
    auto rows = split(x, {2}, 0);
    REQUIRE(rows.size() == 1);
    expect_tensor(rows[0], {2, 6}, seq(0, 12));
    auto with_empty = split(x, {0, 6}, -1);
    REQUIRE(with_empty.size() == 2);
    CHECK(with_empty[0].shape() == Shape{2, 0});
}

TEST_CASE("shape: split errors when sizes do not add up") {
    Tensor x = iota({2, 6});
    CHECK_THROWS_WITH_AS(split(x, {1, 2}, 1), doctest::Contains("add up"), Error);
    CHECK_THROWS_AS(split(x, {4, 4}, 1), Error);
    CHECK_THROWS_AS(split(x, {7, -1}, 1), Error);
    CHECK_THROWS_AS(split(x, {1, 1}, 2), Error);
}

TEST_CASE("shape: chunk, uneven") {
    Tensor x = iota({7});
    auto c = chunk(x, 3, 0);  // sizes 3, 3, 1
    REQUIRE(c.size() == 3);
    expect_tensor(c[0], {3}, {0, 1, 2});
    expect_tensor(c[1], {3}, {3, 4, 5});
    expect_tensor(c[2], {1}, {6});
    auto d = chunk(iota({2, 5}), 2, -1);  // sizes 3, 2
    REQUIRE(d.size() == 2);
    expect_tensor(d[0], {2, 3}, {0, 1, 2, 5, 6, 7});
    expect_tensor(d[1], {2, 2}, {3, 4, 8, 9});
    // As PyTorch: 6 into 4 gives chunks of 2, so only three of them.
    CHECK(chunk(iota({6}), 4, 0).size() == 3);
    CHECK(chunk(iota({2}), 5, 0).size() == 2);
    CHECK_THROWS_AS(chunk(x, 0, 0), Error);
}

TEST_CASE("shape: split and chunk gradients and second derivatives") {
    check_op_and_square("split",
                        [](const std::vector<Tensor>& x) {
                            auto p = split(x[0], {1, 3, 2}, 1);
                            return p[0] * p[2].slice(1, 0, 1) + sum(p[1], {1}, true);
                        },
                        {test_input({2, 6}, 81)});
    check_op_and_square("chunk",
                        [](const std::vector<Tensor>& x) {
                            auto p = chunk(x[0], 3, 0);
                            return concat({p[2], p[0]}, 0);
                        },
                        {test_input({7, 2}, 82)});
}

// ---- index_select / index_add ----

TEST_CASE("shape: index_select values, repeated indices, any dim") {
    Tensor x = iota({3, 4});
    expect_tensor(index_select(x, 0, i32({2, 0, 2}, {3})), {3, 4},
                  {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
    expect_tensor(index_select(x, 1, i32({3, 1}, {2})), {3, 2}, {3, 1, 7, 5, 11, 9});
    expect_tensor(index_select(x, -1, i32({0}, {1})), {3, 1}, {0, 4, 8});
    expect_tensor(index_select(x, 0, i32({}, {0})), {0, 4}, {});
    // Strided input.
    expect_tensor(index_select(x.t(), 0, i32({1, 1}, {2})), {2, 3}, {1, 5, 9, 1, 5, 9});
    expect_tensor(index_select(iota({2, 3, 2}), 1, i32({2, 0}, {2})), {2, 2, 2},
                  {4, 5, 0, 1, 10, 11, 6, 7});
}

TEST_CASE("shape: index_select reads a non-contiguous index in logical order") {
    Tensor x = iota({5, 2});
    // idx = [4, 9, 1, 9, 3, 9] sliced with step 2 is [4, 1, 3].
    Tensor idx = i32({4, 9, 1, 9, 3, 9}, {6}).slice(0, 0, 6, 2);
    REQUIRE_FALSE(idx.is_contiguous());
    expect_tensor(index_select(x, 0, idx), {3, 2}, {8, 9, 2, 3, 6, 7});
    Tensor src = ones({3, 2}, DType::f64);
    expect_tensor(index_add(zeros({5, 2}, DType::f64), 0, idx, src), {5, 2},
                  {0, 0, 1, 1, 0, 0, 1, 1, 1, 1});
    // A transposed int32 index for gather.
    Tensor gidx = i32({1, 0, 0, 1, 1, 1}, {3, 2}).t();  // [[1,0,1],[0,1,1]]
    expect_tensor(gather(iota({2, 3}), 1, gidx.slice(1, 0, 3)), {2, 3}, {1, 0, 1, 3, 4, 4});
}

TEST_CASE("shape: index_select gradients accumulate on repeated indices") {
    Tensor x = zeros({4, 2}, DType::f64).requires_grad_();
    sum(index_select(x, 0, i32({1, 3, 1, 1}, {4}))).backward();
    expect_tensor(x.grad(), {4, 2}, {0, 0, 3, 3, 0, 0, 1, 1});
    check_op_and_square("index_select dim 0",
                        [](const std::vector<Tensor>& x) { return index_select(x[0], 0, x[1]); },
                        {test_input({4, 3}, 91), i32({3, 0, 3, 1}, {4})});
    check_op_and_square("index_select dim -1",
                        [](const std::vector<Tensor>& x) { return index_select(x[0], -1, x[1]); },
                        {test_input({2, 3, 4}, 92), i32({2, 2, 0}, {3})});
}

TEST_CASE("shape: index_add values, gradients and second derivatives") {
    Tensor x = iota({4, 2});
    Tensor src = f64({10, 20, 30, 40, 50, 60}, {3, 2});
    // src rows 0 and 2 both go to row 1.
    expect_tensor(index_add(x, 0, i32({1, 0, 1}, {3}), src), {4, 2},
                  {30, 41, 2 + 10 + 50, 3 + 20 + 60, 4, 5, 6, 7});
    expect_tensor(x, {4, 2}, seq(0, 8));  // out of place
    expect_tensor(index_add(x, 1, i32({1}, {1}), ones({4, 1}, DType::f64)), {4, 2},
                  {0, 2, 2, 4, 4, 6, 6, 8});
    check_op_and_square("index_add",
                        [](const std::vector<Tensor>& x) { return index_add(x[0], 0, x[2], x[1]); },
                        {test_input({4, 3}, 101), test_input({3, 3}, 102), i32({2, 0, 2}, {3})});
    check_op_and_square("index_add dim 1",
                        [](const std::vector<Tensor>& x) { return index_add(x[0], 1, x[2], x[1]); },
                        {test_input({2, 3}, 103), test_input({2, 4}, 104), i32({0, 0, 2, 1}, {4})});
}

// ---- gather / scatter_add ----

TEST_CASE("shape: gather values along each dim") {
    Tensor x = iota({3, 4});
    expect_tensor(gather(x, 1, i32({3, 0, 1, 1, 2, 2}, {3, 2})), {3, 2}, {3, 0, 5, 5, 10, 10});
    expect_tensor(gather(x, 0, i32({2, 1, 0, 0}, {1, 4})), {1, 4}, {8, 5, 2, 3});
    expect_tensor(gather(x, -1, i32({1, 2, 3}, {3, 1})), {3, 1}, {1, 6, 11});
    expect_tensor(gather(x.t(), 1, i32({2, 0, 1, 1}, {4, 1})), {4, 1}, {8, 1, 6, 7});
}

TEST_CASE("shape: gather and scatter_add gradients and second derivatives") {
    check_op_and_square("gather",
                        [](const std::vector<Tensor>& x) { return gather(x[0], 1, x[1]); },
                        {test_input({3, 4}, 111), i32({3, 0, 1, 1, 2, 2, 0, 0, 3}, {3, 3})});
    check_op_and_square("gather dim 0",
                        [](const std::vector<Tensor>& x) { return gather(x[0], 0, x[1]); },
                        {test_input({3, 2}, 112), i32({2, 1, 0, 0, 2, 2, 1, 1}, {4, 2})});
    check_op_and_square(
        "scatter_add",
        [](const std::vector<Tensor>& x) { return scatter_add(x[0], 1, x[2], x[1]); },
        {test_input({2, 3}, 113), test_input({2, 4}, 114), i32({0, 2, 2, 1, 1, 1, 0, 2}, {2, 4})});
}

TEST_CASE("shape: scatter_add values, duplicates accumulate") {
    Tensor x = zeros({2, 3}, DType::f64);
    Tensor src = f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
    Tensor idx = i32({0, 2, 2, 1, 1, 1, 0, 2}, {2, 4});
    expect_tensor(scatter_add(x, 1, idx, src), {2, 3}, {1, 4, 5, 7, 11, 8});
    expect_tensor(scatter_add(iota({2, 3}), 0, i32({1, 0, 1}, {1, 3}), f64({1, 1, 1}, {1, 3})),
                  {2, 3}, {0, 2, 2, 4, 4, 6});
    // gather of scatter's own index gives back src where the index is unique.
    Tensor once = scatter_add(zeros({2, 3}, DType::f64), 1, i32({2, 0, 1, 1, 2, 0}, {2, 3}),
                              f64({1, 2, 3, 4, 5, 6}, {2, 3}));
    expect_tensor(gather(once, 1, i32({2, 0, 1, 1, 2, 0}, {2, 3})), {2, 3}, {1, 2, 3, 4, 5, 6});
}

// ---- slice_scatter ----

TEST_CASE("shape: slice_scatter values, gradients and second derivatives") {
    Tensor src = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    expect_tensor(slice_scatter(src, {2, 7}, 1, 1, 7, 2), {2, 7},
                  {0, 1, 0, 2, 0, 3, 0, 0, 4, 0, 5, 0, 6, 0});
    expect_tensor(slice_scatter(src, {4, 3}, 0, -3, -1, 1), {4, 3},
                  {0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0});
    expect_tensor(slice_scatter(src.t(), {3, 3}, -1, 0, 2, 1), {3, 3}, {1, 4, 0, 2, 5, 0, 3, 6, 0});
    // It is slice's adjoint: <slice(y), x> = <y, slice_scatter(x)>.
    Tensor y = test_input({5, 4}, 121), x = test_input({2, 4}, 122);
    const double lhs = sum(y.slice(0, 1, 5, 2) * x).item<double>();
    const double rhs = sum(y * slice_scatter(x, {5, 4}, 0, 1, 5, 2)).item<double>();
    CHECK(std::abs(lhs - rhs) < 1e-12);
    CHECK_THROWS_WITH_AS(slice_scatter(src, {2, 7}, 1, 0, 7, 1), doctest::Contains("fit"), Error);
    CHECK_THROWS_AS(slice_scatter(src, {2, 3}, 2, 0, 3, 1), Error);
    check_op_and_square("slice_scatter",
                        [](const std::vector<Tensor>& x) {
                            return slice_scatter(x[0], {2, 7}, 1, 1, 7, 2);
                        },
                        {test_input({2, 3}, 123)});
}

TEST_CASE("shape: indexing ops on large tensors (the parallel kernel paths) match a loop") {
    const int64_t rows = 128, cols = 600, n = 300;
    Tensor x = test_input({rows, cols}, 131);
    const auto xv = x.to_vector<double>();
    std::vector<int32_t> idx(n);
    for (int64_t j = 0; j < n; ++j)
        idx[j] = (int32_t)((j * 7919) % 250);  // repeats: j and j + 250 collide
    Tensor index = i32(idx, {n});
    // index_select along dim 1: out[r][j] = x[r][idx[j]].
    std::vector<double> want(rows * n);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) want[r * n + j] = xv[r * cols + idx[j]];
    expect_tensor(index_select(x, 1, index), {rows, n}, want);
    // gather with a full-size index: the same values.
    std::vector<int32_t> gidx(rows * n);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) gidx[r * n + j] = idx[j];
    expect_tensor(gather(x, 1, i32(gidx, {rows, n})), {rows, n}, want);
    // index_add and scatter_add of ones count how often each column was picked.
    std::vector<double> counts(rows * cols, 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) counts[r * cols + idx[j]] += 1;
    Tensor src = ones({rows, n}, DType::f64);
    expect_tensor(index_add(zeros({rows, cols}, DType::f64), 1, index, src), {rows, cols}, counts);
    expect_tensor(scatter_add(zeros({rows, cols}, DType::f64), 1, i32(gidx, {rows, n}), src),
                  {rows, cols}, counts);
}

// ---- index errors ----

TEST_CASE("shape: out-of-range indices throw zg::Error instead of reading or writing") {
    Tensor x = iota({3, 4});
    for (int32_t bad : {3, -1, 1000, -1000}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(index_select(x, 0, i32({0, bad}, {2})),
                             doctest::Contains("out of range"), Error);
        CHECK_THROWS_AS(index_add(x, 0, i32({bad}, {1}), ones({1, 4}, DType::f64)), Error);
        CHECK_THROWS_AS(gather(x, 0, i32({0, 1, bad, 2}, {1, 4})), Error);
        CHECK_THROWS_AS(scatter_add(x, 0, i32({0, 1, 2, bad}, {1, 4}), ones({1, 4}, DType::f64)),
                        Error);
    }
    CHECK_THROWS_AS(gather(x, 1, i32({4, 0, 0}, {3, 1})), Error);
    CHECK_THROWS_AS(scatter_add(x, 1, i32({0, 0, 4}, {3, 1}), ones({3, 1}, DType::f64)), Error);
    // A failed index_add / scatter_add leaves its input untouched.
    expect_tensor(x, {3, 4}, seq(0, 12));
}

TEST_CASE("shape: a non-int32 index throws") {
    Tensor x = iota({3, 4});
    Tensor fidx = f64({0, 1}, {2});
    CHECK_THROWS_WITH_AS(index_select(x, 0, fidx), doctest::Contains("int32"), Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, fidx.to(DType::f32)), doctest::Contains("int32"),
                         Error);
    CHECK_THROWS_AS(index_add(x, 0, fidx, ones({2, 4}, DType::f64)), Error);
    CHECK_THROWS_AS(gather(x, 0, f64({0, 1, 2, 0}, {1, 4})), Error);
    CHECK_THROWS_AS(scatter_add(x, 0, f64({0, 1, 2, 0}, {1, 4}), ones({1, 4}, DType::f64)), Error);
}

TEST_CASE("shape: index shape errors") {
    Tensor x = iota({3, 4});
    CHECK_THROWS_AS(index_select(x, 0, i32({0, 1}, {1, 2})), Error);  // 2-D index
    CHECK_THROWS_AS(index_select(x, 2, i32({0}, {1})), Error);
    CHECK_THROWS_AS(index_add(x, 0, i32({0, 1}, {2}), ones({3, 4}, DType::f64)), Error);
    CHECK_THROWS_AS(index_add(x, 0, i32({0}, {1}), ones({1, 4}, DType::f32)), Error);
    CHECK_THROWS_AS(gather(x, 1, i32({0, 1}, {2})), Error);                         // rank differs
    CHECK_THROWS_AS(gather(x, 1, i32(std::vector<int32_t>(8, 0), {4, 2})), Error);  // 4 > 3 rows
    CHECK_THROWS_AS(scatter_add(x, 1, i32({0, 1, 2}, {3, 1}), ones({2, 1}, DType::f64)), Error);
}

TEST_CASE("shape: dim arguments on a 0-d tensor throw instead of indexing past the shape") {
    Tensor s = scalar(1.0, DType::f64);
    CHECK_THROWS_WITH_AS(s.squeeze(0), doctest::Contains("0-d"), Error);
    CHECK_THROWS_AS(s.slice(0, 0, 1), Error);
    CHECK_THROWS_AS(s.select(0, 0), Error);
    CHECK_THROWS_AS(s.transpose(0, 0), Error);
    CHECK_THROWS_AS(s.size(0), Error);
    CHECK_THROWS_AS(split(s, {1}, 0), Error);
    CHECK_THROWS_AS(index_select(s, 0, i32({0}, {1})), Error);
    CHECK_THROWS_AS(gather(s, 0, i32({0}, {})), Error);
    CHECK_THROWS_AS(sum(s, {0}), Error);
    // unsqueeze and stack name a position among dim() + 1, so they still work.
    expect_tensor(s.unsqueeze(0), {1}, {1});
    expect_tensor(s.unsqueeze(-1), {1}, {1});
}

// ---- storage sharing ----

TEST_CASE("shape: writes through views with copy_ and fill_ are visible in the base") {
    Tensor x = zeros({3, 4}, DType::f64);
    NoGradGuard ng;
    x.slice(0, 1, 2).fill_(5);  // row 1
    expect_tensor(x, {3, 4}, {0, 0, 0, 0, 5, 5, 5, 5, 0, 0, 0, 0});
    x.select(1, 2).copy_(f64({7, 8, 9}, {3}));  // column 2 (strided)
    expect_tensor(x, {3, 4}, {0, 0, 7, 0, 5, 5, 8, 5, 0, 0, 9, 0});
    x.t().select(0, 0).copy_(f64({-1, -2, -3}, {3}));  // column 0 through a transpose
    expect_tensor(x, {3, 4}, {-1, 0, 7, 0, -2, 5, 8, 5, -3, 0, 9, 0});
    x.view({12}).slice(0, 11, 12).fill_(4);  // last element through a reshape
    x.unsqueeze(0).select(0, 0).select(0, 2).slice(0, 0, 4, 2).copy_(scalar(6.0, DType::f64));
    expect_tensor(x, {3, 4}, {-1, 0, 7, 0, -2, 5, 8, 5, 6, 0, 6, 4});
    x.permute({1, 0}).slice(0, 1, 2).copy_(f64({1, 2, 3}, {1, 3}));  // column 1
    expect_tensor(x, {3, 4}, {-1, 1, 7, 0, -2, 2, 8, 5, 6, 3, 6, 4});
    // And the other way: a view created earlier sees writes to the base.
    Tensor col = x.select(1, 3), blk = x.slice(1, 2, 4).slice(0, 0, 2);
    x.fill_(1);
    expect_tensor(col, {3}, {1, 1, 1});
    expect_tensor(blk, {2, 2}, {1, 1, 1, 1});
    // A write through a view bumps the shared version counter.
    const uint64_t v = x.version();
    col.copy_(f64({2, 2, 2}, {3}));
    CHECK(x.version() == v + 1);
}

TEST_CASE("shape: views of a leaf that requires grad refuse in-place writes in grad mode") {
    Tensor x = zeros({2, 3}, DType::f64).requires_grad_();
    CHECK_THROWS_WITH_AS(x.slice(0, 0, 1).fill_(1), doctest::Contains("NoGradGuard"), Error);
    CHECK_THROWS_AS(x.t().copy_(ones({3, 2}, DType::f64)), Error);
    {
        NoGradGuard ng;
        x.select(0, 1).fill_(3);
    }
    expect_tensor(x, {2, 3}, {0, 0, 0, 3, 3, 3});
}
