// The Tensor handle: factories, reading values, dtypes, views and contiguity, printing,
// zero-size tensors, and clear errors for misuse.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

std::string printed(const Tensor& t) {
    std::ostringstream os;
    os << t;
    return os.str();
}

}  // namespace

TEST_CASE("tensor: zeros, ones, full, scalar and tensor{} factories") {
    Tensor z = zeros({2, 3});
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.strides() == Shape{3, 1});
    CHECK(z.dim() == 2);
    CHECK(z.numel() == 6);
    CHECK(z.dtype() == DType::f32);
    CHECK(z.device() == Device::cpu);
    CHECK(z.is_contiguous());
    CHECK(z.is_leaf());
    CHECK(!z.requires_grad());
    CHECK(z.to_vector<float>() == std::vector<float>(6, 0.0f));
    CHECK(ones({4}, DType::f64).to_vector<double>() == std::vector<double>(4, 1.0));
    CHECK(full({2, 2}, -2.5).to_vector<float>() == std::vector<float>(4, -2.5f));
    CHECK(full({3}, 7, DType::i32).to_vector<int32_t>() == std::vector<int32_t>{7, 7, 7});

    Tensor s = scalar(3.25, DType::f64);
    CHECK(s.dim() == 0);
    CHECK(s.shape().empty());
    CHECK(s.numel() == 1);
    CHECK(s.item<double>() == 3.25);
    CHECK(s.item<float>() == 3.25f);

    Tensor t = tensor({1.5f, -2.0f, 4.0f});
    CHECK(t.shape() == Shape{3});
    CHECK(t.dtype() == DType::f32);
    CHECK(t.to_vector<float>() == std::vector<float>{1.5f, -2.0f, 4.0f});
    CHECK(tensor({}).numel() == 0);

    Tensor like = zeros_like(ones({2, 5}, DType::f64));
    CHECK(like.shape() == Shape{2, 5});
    CHECK(like.dtype() == DType::f64);
    CHECK(ones_like(t).to_vector<float>() == std::vector<float>(3, 1.0f));
    CHECK(empty_like(t).shape() == Shape{3});
    // a factory result is a fresh storage, not shared
    Tensor a = zeros({3}), b = zeros({3});
    CHECK(a.raw_data() != b.raw_data());
}

TEST_CASE("tensor: arange in float32, float64 and int32") {
    CHECK(arange(5).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4});
    CHECK(arange(3, DType::f64).to_vector<double>() == std::vector<double>{0, 1, 2});
    Tensor i = arange(4, DType::i32);
    CHECK(i.dtype() == DType::i32);
    CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{0, 1, 2, 3});
    CHECK(arange(0).numel() == 0);
    CHECK(arange(0).shape() == Shape{0});
}

TEST_CASE("tensor: from_vector checks the element count") {
    Tensor t = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(t.dtype() == DType::f64);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
    std::string msg = error_of([] { from_vector(std::vector<float>{1, 2, 3}, {2, 2}); });
    CHECK(contains(msg, "from_vector"));
    CHECK(contains(msg, "3 values"));
    CHECK(contains(msg, "[2, 2]"));
    CHECK_THROWS_AS(from_vector(std::vector<int32_t>{1, 2}, {3}), zg::Error);
    CHECK_THROWS_AS(from_vector(std::vector<float>{}, {1}), zg::Error);
    Tensor e = from_vector(std::vector<float>{}, {0, 4});
    CHECK(e.numel() == 0);
    Tensor one = from_vector(std::vector<float>{9}, {});
    CHECK(one.dim() == 0);
    CHECK(one.item<float>() == 9.0f);
    // negative sizes are refused by every factory
    CHECK(contains(error_of([] { zeros({2, -1}); }), "negative"));
    CHECK_THROWS_AS(empty({-3}), zg::Error);
}

TEST_CASE("tensor: item() needs exactly one element") {
    CHECK(tensor({4.0f}).item<float>() == 4.0f);
    CHECK(ones({1, 1, 1}).item<double>() == 1.0);
    std::string msg = error_of([] { tensor({1, 2}).item<float>(); });
    CHECK(contains(msg, "item()"));
    CHECK(contains(msg, "2 elements"));
    CHECK_THROWS_AS(zeros({0}).item<float>(), zg::Error);
    // converting dtypes on the way out
    CHECK(scalar(2.75).item<int32_t>() == 2);
    CHECK(full({}, 5, DType::i32).item<double>() == 5.0);
}

TEST_CASE("tensor: to_vector converts dtypes and reads views in logical order") {
    Tensor t = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
    CHECK(t.t().to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
    CHECK(t.slice(1, 0, 3, 2).to_vector<float>() == std::vector<float>{1, 3, 4, 6});
    CHECK(t.select(0, 1).to_vector<int32_t>() == std::vector<int32_t>{4, 5, 6});
    CHECK(tensor({7}).expand({2, 3}).to_vector<float>() == std::vector<float>(6, 7.0f));
    // casting a float tensor to int32 truncates toward zero, like a C cast
    CHECK(tensor({1.9f, -1.9f}).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, -1});
    // to_vector of a tensor that requires grad just reads it
    Tensor x = tensor({1, 2});
    x.requires_grad_();
    CHECK((x * 2.0).to_vector<float>() == std::vector<float>{2, 4});
}

TEST_CASE("tensor: dtype names and sizes") {
    CHECK(std::string(dtype_name(DType::f32)) == "float32");
    CHECK(std::string(dtype_name(DType::f64)) == "float64");
    CHECK(std::string(dtype_name(DType::i32)) == "int32");
    CHECK(dtype_size(DType::f32) == 4);
    CHECK(dtype_size(DType::f64) == 8);
    CHECK(dtype_size(DType::i32) == 4);
    CHECK(is_floating(DType::f32));
    CHECK(is_floating(DType::f64));
    CHECK(!is_floating(DType::i32));
    CHECK(zeros({3}, DType::f64).storage().bytes == 24);
    CHECK(zeros({3}, DType::i32).storage().bytes == 12);
}

TEST_CASE("tensor: int32 tensors") {
    Tensor a = from_vector(std::vector<int32_t>{1, -2, 3, 40}, {2, 2});
    Tensor b = full({2}, 10, DType::i32);
    CHECK(a.dtype() == DType::i32);
    CHECK((a + b).dtype() == DType::i32);
    CHECK((a + b).to_vector<int32_t>() == std::vector<int32_t>{11, 8, 13, 50});
    CHECK((a * a).to_vector<int32_t>() == std::vector<int32_t>{1, 4, 9, 1600});
    CHECK(sum(a).item<int32_t>() == 42);
    CHECK(a.to(DType::f32).to_vector<float>() == std::vector<float>{1, -2, 3, 40});
    CHECK(a.t().contiguous().to_vector<int32_t>() == std::vector<int32_t>{1, 3, -2, 40});
    CHECK(eq(a, full({2, 2}, 3, DType::i32)).to_vector<int32_t>() ==
          std::vector<int32_t>{0, 0, 1, 0});
    // values beyond float32's exact integers survive in int32
    Tensor big = from_vector(std::vector<int32_t>{16777217, -2147483647}, {2});
    CHECK(big.to_vector<int32_t>() == std::vector<int32_t>{16777217, -2147483647});
    CHECK(big.clone().to_vector<int32_t>() == big.to_vector<int32_t>());
    // mixing dtypes is an error that says how to fix it
    std::string msg = error_of([&] { a + ones({2, 2}); });
    CHECK(contains(msg, "dtype"));
    CHECK(contains(msg, "int32"));
    CHECK(contains(msg, "float32"));
    // float-only ops refuse int32
    CHECK_THROWS_AS(div(a, a), zg::Error);
    CHECK_THROWS_AS(mean(a), zg::Error);
}

TEST_CASE("tensor: is_contiguous for views") {
    Tensor x = zeros({4, 3});
    CHECK(x.is_contiguous());
    CHECK(!x.t().is_contiguous());
    CHECK(x.t().t().is_contiguous());
    CHECK(x.slice(0, 1, 3).is_contiguous());   // whole rows
    CHECK(!x.slice(1, 0, 2).is_contiguous());  // part of each row
    CHECK(!x.slice(0, 0, 4, 2).is_contiguous());
    CHECK(x.select(0, 2).is_contiguous());
    CHECK(!x.select(1, 1).is_contiguous());
    CHECK(x.unsqueeze(0).is_contiguous());
    CHECK(x.unsqueeze(2).is_contiguous());
    CHECK(!x.slice(1, 0, 1).expand({4, 5}).is_contiguous());
    CHECK(!zeros({1, 3}).expand({2, 3}).is_contiguous());
    CHECK(zeros({3, 1}).t().is_contiguous());  // a size-1 dim's stride does not matter
    CHECK(x.permute({0, 1}).is_contiguous());
    CHECK(!zeros({2, 3, 4}).permute({0, 2, 1}).is_contiguous());
    // views share storage; contiguous() of a non-contiguous view is a packed copy
    Tensor v = x.t();
    CHECK(v.storage_ptr() == x.storage_ptr());
    Tensor c = v.contiguous();
    CHECK(c.is_contiguous());
    CHECK(c.storage_ptr() != x.storage_ptr());
    CHECK(x.contiguous().same(x));
    CHECK(x.reshape({3, 4}).storage_ptr() == x.storage_ptr());
    CHECK(v.reshape({12}).storage_ptr() != x.storage_ptr());  // needs a copy
    CHECK(contains(error_of([&] { v.view({12}); }), "contiguous"));
    // a write through a view is seen by the base
    x.slice(0, 1, 2).fill_(5.0);
    CHECK(x.to_vector<float>() == std::vector<float>{0, 0, 0, 5, 5, 5, 0, 0, 0, 0, 0, 0});
    CHECK(x.slice(0, 1, 2).offset() == 3);
}

TEST_CASE("tensor: data<T>() checks the element type") {
    Tensor f = tensor({1, 2, 3});
    CHECK(f.data<float>()[2] == 3.0f);
    std::string msg = error_of([&] { f.data<double>(); });
    CHECK(contains(msg, "float64"));
    CHECK(contains(msg, "float32"));
    CHECK_THROWS_AS(f.data<int32_t>(), zg::Error);
    CHECK_THROWS_AS(arange(3, DType::i32).data<float>(), zg::Error);
    CHECK(arange(3, DType::i32).data<int32_t>()[1] == 1);
    // data() of a view points at the view's first element
    Tensor x = arange(6).reshape({2, 3});
    CHECK(*x.select(0, 1).data<float>() == 3.0f);
    CHECK(x.slice(1, 2, 3).data<float>()[0] == 2.0f);
    // writes through data() are visible to every handle
    Tensor h = x;
    x.data<float>()[0] = 42.0f;
    CHECK(h.to_vector<float>()[0] == 42.0f);
}

TEST_CASE("tensor: operator<< prints dtype, shape and values") {
    std::string s = printed(tensor({1, 2.5f, -3}));
    CHECK(contains(s, "float32"));
    CHECK(contains(s, "[3]"));
    CHECK(contains(s, "1, 2.5, -3"));
    CHECK(!contains(s, "requires_grad"));
    Tensor x = ones({2, 2}, DType::f64);
    x.requires_grad_();
    s = printed(x);
    CHECK(contains(s, "float64"));
    CHECK(contains(s, "[2, 2]"));
    CHECK(contains(s, "requires_grad"));
    CHECK(contains(printed(arange(3, DType::i32)), "int32"));
    CHECK(contains(printed(arange(3, DType::i32)), "0, 1, 2"));
    // long tensors are cut short
    s = printed(arange(100));
    CHECK(contains(s, "..."));
    CHECK(!contains(s, "99"));
    CHECK(s.size() < 200);
    CHECK(contains(printed(Tensor()), "undefined"));
    CHECK(contains(printed(zeros({0, 3})), "[0, 3]"));
    CHECK(contains(printed(scalar(4)), "4"));
}

TEST_CASE("tensor: zero-size tensors flow through ops and reductions") {
    Tensor e = zeros({0, 3});
    CHECK(e.numel() == 0);
    CHECK(e.shape() == Shape{0, 3});
    CHECK(e.to_vector<float>().empty());
    CHECK((e + ones({3})).shape() == Shape{0, 3});
    CHECK((e * e).shape() == Shape{0, 3});
    CHECK(exp(e).shape() == Shape{0, 3});
    CHECK(tanh(e).numel() == 0);
    CHECK(e.t().contiguous().shape() == Shape{3, 0});
    CHECK(e.reshape({3, 0}).shape() == Shape{3, 0});
    CHECK(e.clone().numel() == 0);
    // the sum of nothing is 0, along any axis
    CHECK(sum(e).shape() == Shape{});
    CHECK(sum(e).item<float>() == 0.0f);
    CHECK(sum(e, {0}).to_vector<float>() == std::vector<float>{0, 0, 0});
    CHECK(sum(e, {1}).shape() == Shape{0});
    CHECK(sum(zeros({0}, DType::i32)).item<int32_t>() == 0);
    CHECK(std::isnan(mean(e).item<float>()));  // 0/0, as NumPy and PyTorch
    CHECK_THROWS_AS(amax(e), zg::Error);       // no maximum of nothing
    // matrix products over an empty inner dimension are zeros; empty outer ones are empty
    Tensor m = matmul(zeros({2, 0}), zeros({0, 3}));
    CHECK(m.shape() == Shape{2, 3});
    CHECK(m.to_vector<float>() == std::vector<float>(6, 0.0f));
    CHECK(matmul(e, ones({3, 4})).shape() == Shape{0, 4});
    CHECK(linear(e, ones({5, 3}), ones({5})).shape() == Shape{0, 5});
    CHECK(concat({e, ones({2, 3})}, 0).shape() == Shape{2, 3});
    // and gradients of the right (empty) shape come back
    Tensor x = zeros({0, 3}, DType::f64);
    x.requires_grad_();
    Tensor w = ones({3}, DType::f64);
    w.requires_grad_();
    sum(x * w).backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().shape() == Shape{0, 3});
    CHECK(w.grad().to_vector<double>() == std::vector<double>{0, 0, 0});
}

TEST_CASE("tensor: an undefined Tensor throws a clear error instead of crashing") {
    Tensor u;
    CHECK(!u.defined());
    std::string msg = error_of([&] { (void)u.shape(); });
    CHECK(contains(msg, "undefined"));
    CHECK_THROWS_AS(u.numel(), zg::Error);
    CHECK_THROWS_AS(u.dtype(), zg::Error);
    CHECK_THROWS_AS(u.device(), zg::Error);
    CHECK_THROWS_AS(u.is_contiguous(), zg::Error);
    CHECK_THROWS_AS(u.data<float>(), zg::Error);
    CHECK_THROWS_AS(u.item<float>(), zg::Error);
    CHECK_THROWS_AS(u.to_vector<float>(), zg::Error);
    CHECK_THROWS_AS(u.requires_grad_(), zg::Error);
    CHECK_THROWS_AS(u.backward(), zg::Error);
    CHECK_THROWS_AS(u.reshape({1}), zg::Error);
    CHECK_THROWS_AS(u.clone(), zg::Error);
    CHECK_THROWS_AS(u.fill_(1.0), zg::Error);
    CHECK_THROWS_AS(u.detach(), zg::Error);
    CHECK_THROWS_AS(u.grad(), zg::Error);
    CHECK_THROWS_AS(exp(u), zg::Error);
    CHECK_THROWS_AS(sum(u), zg::Error);
    CHECK(contains(error_of([&] { tensor({1}) + u; }), "undefined"));
    CHECK_THROWS_AS(u * tensor({1}), zg::Error);
    CHECK_THROWS_AS(matmul(u, ones({2, 2})), zg::Error);
    CHECK_THROWS_AS(ones({2}).copy_(u), zg::Error);
    CHECK_THROWS_AS(grad({u}, {}), zg::Error);
    // handles compare by identity
    Tensor v;
    CHECK(u.same(v));
    CHECK(!u.same(ones({1})));
}

TEST_CASE("tensor: copy_, fill_ and in-place arithmetic bump the version") {
    Tensor x = zeros({2, 3});
    const uint64_t v0 = x.version();
    x.fill_(2.0);
    x.add_(ones({3}), 0.5);  // broadcast
    x.mul_(2.0);
    CHECK(x.version() == v0 + 3);
    CHECK(x.to_vector<float>() == std::vector<float>(6, 5.0f));
    x.copy_(arange(3, DType::i32));  // broadcast and cast
    CHECK(x.to_vector<float>() == std::vector<float>{0, 1, 2, 0, 1, 2});
    CHECK(x.version() == v0 + 4);
    CHECK_THROWS_AS(x.add_(ones({2})), zg::Error);  // [2] does not broadcast to [2, 3]
    CHECK(x.t().version() == x.version());          // views share the counter
}
