// The PyTorch-shaped API of issue 22: 1-D matmul, cross_entropy on [N, C, d1, ...] logits with
// class weights and ignore_index, softmax of a 0-d tensor, gather with an index smaller than its
// input, conv_transpose2d with output_padding ≥ stride (< dilation), avg_pool2d's ceil_mode and
// count_include_pad, nearest resizing to any size, bilinear align_corners, pad and conv2d's
// padding modes. Each op: values by hand, gradients and second derivatives by finite
// differences (gradcheck.h), and its errors; the PyTorch values are in test_torch_golden.cpp.
#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck.h"
#include "test_util.h"

using namespace zg;
using namespace zg::testing;

namespace {

Tensor iota(const Shape& s) {
    return arange(shape_numel(s), DType::f64).reshape(s);
}

}  // namespace

// ---- matmul of 1-D operands ----

TEST_CASE("pytorch api: matmul of 1-D operands, values and shapes as torch.matmul") {
    Tensor v = f64({1, 2, 3}), m = iota({3, 2});  // m = [[0, 1], [2, 3], [4, 5]]
    expect_tensor(matmul(v, f64({4, 5, 6})), {}, {32});
    expect_tensor(matmul(v, m), {2}, {16, 22});
    expect_tensor(matmul(m.t(), v), {2}, {16, 22});
    Tensor b = iota({2, 3, 2});
    Tensor vb = matmul(v, b);  // [2, 2]: v · b[i]
    CHECK(vb.shape() == Shape{2, 2});
    expect_tensor(vb.select(0, 1), {2}, matmul(v, b.select(0, 1)).to_vector<double>());
    Tensor bv = matmul(iota({2, 2, 3}), v);  // [2, 2]
    expect_tensor(bv, {2, 2}, {8, 26, 44, 62});
}

TEST_CASE("pytorch api: matmul of 1-D operands, gradients and second derivatives") {
    auto mm = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
    check_op("matmul 1-D 1-D", mm, {test_input({4}, 1), test_input({4}, 2)});
    check_op("matmul 1-D 2-D", mm, {test_input({3}, 3), test_input({3, 2}, 4)});
    check_op("matmul 2-D 1-D", mm, {test_input({2, 3}, 5), test_input({3}, 6)});
    check_op("matmul 1-D batched", mm, {test_input({3}, 7), test_input({2, 3, 2}, 8)});
    check_op("matmul batched 1-D", mm, {test_input({2, 2, 3}, 9), test_input({3}, 10)});
}

TEST_CASE("pytorch api: matmul refuses 0-d operands and names both shapes of a 1-D mismatch") {
    Tensor v = test_input({3}, 11), m = test_input({3, 2}, 12);
    CHECK_THROWS_WITH_AS(matmul(scalar(1.0, DType::f64), m),
                         doctest::Contains("at least 1 dimension"), Error);
    CHECK_THROWS_AS(matmul(v, scalar(1.0, DType::f64)), Error);
    const std::string e = error_of([&] { matmul(m, v); });  // [3, 2] · [3]
    CHECK(contains(e, "[3, 2]"));
    CHECK(contains(e, "(2 vs 3)"));
    CHECK_THROWS_AS(matmul(v, test_input({4}, 13)), Error);
    CHECK_THROWS_AS(matmul(test_input({4}, 14), m), Error);
}

// ---- cross_entropy on [N, C, d1, ...] with weights and ignore_index ----

namespace {

// −log softmax(row)[y] for one row of logits.
double nll(const std::vector<double>& row, int y) {
    double z = 0;
    for (double x : row) z += std::exp(x);
    return std::log(z) - row[y];
}

}  // namespace

TEST_CASE("pytorch api: cross_entropy with weights and ignore_index, values by hand") {
    const std::vector<double> lv = {1, 2, 3, 1, 0, -1, 0.5, 0.5, -2, 0, 1, 0};
    Tensor logits = f64(lv, {4, 3});
    Tensor labels = i32({2, -100, 0, 1}, {4});
    const Tensor weight = f64({0.5, 2.0, 1.5});
    const double l0 = nll({1, 2, 3}, 2), l2 = nll({0.5, 0.5, -2}, 0), l3 = nll({0, 1, 0}, 1);
    CrossEntropyOptions o;
    o.weight = weight;
    o.reduction = Reduction::none;
    expect_tensor(cross_entropy(logits, labels, o), {4}, {1.5 * l0, 0, 0.5 * l2, 2.0 * l3});
    o.reduction = Reduction::sum;
    expect_tensor(cross_entropy(logits, labels, o), {}, {1.5 * l0 + 0.5 * l2 + 2.0 * l3});
    o.reduction = Reduction::mean;  // divided by the weights of the labels not ignored
    expect_tensor(cross_entropy(logits, labels, o), {},
                  {(1.5 * l0 + 0.5 * l2 + 2.0 * l3) / (1.5 + 0.5 + 2.0)});
    // Without weights the mean is over the labels not ignored.
    expect_tensor(cross_entropy(logits, labels, CrossEntropyOptions{}), {}, {(l0 + l2 + l3) / 3});
    // Another ignore_index: -100 is then a label out of range.
    CrossEntropyOptions other;
    other.ignore_index = 0;
    expect_tensor(cross_entropy(logits, i32({2, 0, 0, 1}, {4}), other), {}, {(l0 + l3) / 2});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, labels, other),
                         doctest::Contains("class indices in [0, 3), got -100"), Error);
    // Label smoothing ε with weights: (1 − ε)·w_y·nll + (ε/C)·Σ_c w_c·(−log p_c), per row.
    o.label_smoothing = 0.3;
    o.reduction = Reduction::none;
    auto smooth = [&](const std::vector<double>& row, int y, double wy) {
        double s = 0;
        const double w[3] = {0.5, 2.0, 1.5};
        for (int c = 0; c < 3; ++c) s += w[c] * nll(row, c);
        return 0.7 * wy * nll(row, y) + 0.1 * s;
    };
    expect_tensor(
        cross_entropy(logits, labels, o), {4},
        {smooth({1, 2, 3}, 2, 1.5), 0, smooth({0.5, 0.5, -2}, 0, 0.5), smooth({0, 1, 0}, 1, 2.0)});
}

TEST_CASE("pytorch api: cross_entropy on [N, C, H, W] is the [N·H·W, C] loss") {
    Tensor logits = test_input({2, 3, 2, 2}, 21, -3, 3);
    Tensor labels = i32({0, 2, 1, -100, 2, 2, 0, 1}, {2, 2, 2});
    // The same rows laid out as [N·H·W, C] with the labels in that order.
    Tensor rows = logits.permute({0, 2, 3, 1}).reshape({8, 3});
    Tensor flat = labels.reshape({8});
    for (Reduction r : {Reduction::mean, Reduction::sum}) {
        CrossEntropyOptions o;
        o.weight = f64({0.2, 1.0, 3.0});
        o.label_smoothing = 0.1;
        o.reduction = r;
        CHECK(cross_entropy(logits, labels, o).item<double>() ==
              doctest::Approx(cross_entropy(rows, flat, o).item<double>()).epsilon(1e-12));
    }
    CrossEntropyOptions none;
    none.reduction = Reduction::none;
    expect_tensor(cross_entropy(logits, labels, none), {2, 2, 2},
                  cross_entropy(rows, flat, none).to_vector<double>());
    // Unbatched: [C] logits and a 0-d label.
    Tensor one = cross_entropy(f64({1, 2, 3}), from_vector(std::vector<int32_t>{2}, {}),
                               CrossEntropyOptions{});
    expect_tensor(one, {}, {nll({1, 2, 3}, 2)});
}

TEST_CASE("pytorch api: cross_entropy, the old signature gives the options version's values") {
    Tensor logits = test_input({4, 5}, 22, -3, 3);
    Tensor labels = i32({3, 0, 4, 3}, {4});
    for (double eps : {0.0, 0.2})
        for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
            CrossEntropyOptions o;
            o.label_smoothing = eps;
            o.reduction = r;
            expect_tensor(cross_entropy(logits, labels, eps, r),
                          r == Reduction::none ? Shape{4} : Shape{},
                          cross_entropy(logits, labels, o).to_vector<double>());
        }
}

TEST_CASE(
    "pytorch api: cross_entropy with weights and ignore_index, gradients and second "
    "derivatives") {
    const Tensor labels = i32({0, 3, -100, 1, 1, 2, 3, -100, 0, 2, 1, 3}, {2, 3, 2});
    const Tensor weight = test_input({4}, 31, 0.2, 2.0);
    for (double eps : {0.0, 0.15})
        for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none})
            for (bool weighted : {false, true}) {
                CAPTURE(eps);
                CAPTURE(weighted);
                CAPTURE((int)r);
                CrossEntropyOptions o;
                if (weighted) o.weight = weight;
                o.label_smoothing = eps;
                o.reduction = r;
                check_op("cross_entropy nd",
                         [o](const std::vector<Tensor>& a) {
                             CrossEntropyOptions oo = o;
                             if (oo.weight.defined()) oo.weight = oo.weight.to(a[0].dtype());
                             return cross_entropy(a[0], a[1], oo);
                         },
                         {test_input({2, 4, 3, 2}, 32, -3, 3), labels});
            }
}

TEST_CASE("pytorch api: cross_entropy rejects bad weights, label shapes and labels") {
    Tensor logits = test_input({2, 3, 4}, 41);
    CrossEntropyOptions o;
    CHECK_THROWS_WITH_AS(cross_entropy(logits, i32({0, 1}, {2}), o), doctest::Contains("[2, 4]"),
                         Error);
    CHECK_THROWS_AS(cross_entropy(logits, i32(std::vector<int32_t>(8, 0), {4, 2}), o), Error);
    CHECK_THROWS_AS(
        cross_entropy(scalar(1.0, DType::f64), from_vector(std::vector<int32_t>{0}, {}), o), Error);
    o.weight = f64({1, 2});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, i32(std::vector<int32_t>(8, 0), {2, 4}), o),
                         doctest::Contains("weight [2] must be [3]"), Error);
    CrossEntropyOptions bad_label;
    CHECK_THROWS_WITH_AS(cross_entropy(logits, i32({0, 1, 2, 3, 0, 0, 0, 0}, {2, 4}), bad_label),
                         doctest::Contains("got 3"), Error);
}

// ---- softmax and log_softmax of a 0-d tensor ----

TEST_CASE("pytorch api: softmax and log_softmax of a 0-d tensor are 1 and 0") {
    for (double x : {-3.0, 0.0, 7.5}) {
        for (int64_t dim : {0, -1}) {
            expect_tensor(softmax(scalar(x, DType::f64), dim), {}, {1.0});
            expect_tensor(log_softmax(scalar(x, DType::f64), dim), {}, {0.0});
            expect_tensor(softmax(scalar(x, DType::f32), dim), {}, {1.0});
        }
    }
    CHECK_THROWS_WITH_AS(softmax(scalar(1.0), 1), doctest::Contains("softmax"), Error);
    CHECK_THROWS_AS(log_softmax(scalar(1.0), -2), Error);
    // The gradient is zero: d/dx (x − x) = 0, to every order; composed with x it is 1.
    Tensor x = scalar(0.7, DType::f64).requires_grad_();
    Tensor g = grad({softmax(x, 0) * x}, {x})[0];
    expect_tensor(g, {}, {1.0});
    check_op("softmax 0-d", [](const std::vector<Tensor>& a) { return softmax(a[0], 0) * a[0]; },
             {scalar(0.3, DType::f64)});
    check_op("log_softmax 0-d",
             [](const std::vector<Tensor>& a) { return log_softmax(a[0], -1) + a[0] * a[0]; },
             {scalar(-1.2, DType::f64)});
}

// ---- gather / scatter_add with an index smaller than the input ----

TEST_CASE("pytorch api: gather with an index smaller than the input outside the gathered dim") {
    Tensor x = iota({3, 4});  // rows 0..3, 4..7, 8..11
    expect_tensor(gather(x, 1, i32({3, 0, 1, 1}, {2, 2})), {2, 2}, {3, 0, 5, 5});
    expect_tensor(gather(x, 0, i32({2, 1}, {1, 2})), {1, 2}, {8, 5});
    expect_tensor(gather(iota({2, 3, 4}), 2, i32({3, 0, 2}, {1, 1, 3})), {1, 1, 3}, {3, 0, 2});
    // The gradient lands at the gathered positions of an input-shaped zero tensor.
    Tensor xl = iota({3, 4}).requires_grad_();
    gather(xl, 1, i32({3, 0, 3, 1}, {2, 2})).backward(f64({1, 2, 3, 4}, {2, 2}));
    expect_tensor(xl.grad(), {3, 4}, {2, 0, 0, 1, 0, 4, 0, 3, 0, 0, 0, 0});
    // scatter_add with the same small index, and a source larger than the index.
    expect_tensor(scatter_add(zeros({3, 4}, DType::f64), 1, i32({3, 0, 3, 1}, {2, 2}),
                              f64({1, 2, 9, 3, 4, 9}, {2, 3})),
                  {3, 4}, {2, 0, 0, 1, 0, 4, 0, 3, 0, 0, 0, 0});
}

TEST_CASE(
    "pytorch api: gather and scatter_add with a small index, gradients and second "
    "derivatives") {
    check_op_and_square("gather small index dim 1",
                        [](const std::vector<Tensor>& a) { return gather(a[0], 1, a[1]); },
                        {test_input({3, 5}, 51), i32({4, 0, 4, 2, 1, 1}, {2, 3})});
    check_op_and_square("gather small index dim 0",
                        [](const std::vector<Tensor>& a) { return gather(a[0], 0, a[1]); },
                        {test_input({4, 3}, 52), i32({3, 0, 3, 2, 1, 1}, {3, 2})});
    check_op_and_square("gather small index 3-d",
                        [](const std::vector<Tensor>& a) { return gather(a[0], 2, a[1]); },
                        {test_input({2, 3, 4}, 53), i32({3, 0, 3, 1, 1, 2}, {1, 2, 3})});
    check_op_and_square(
        "scatter_add small index",
        [](const std::vector<Tensor>& a) { return scatter_add(a[0], 1, a[2], a[1]); },
        {test_input({3, 5}, 54), test_input({2, 3}, 55), i32({4, 0, 4, 2, 1, 1}, {2, 3})});
    check_op_and_square(
        "scatter_add source larger than index",
        [](const std::vector<Tensor>& a) { return scatter_add(a[0], 1, a[2], a[1]); },
        {test_input({3, 5}, 56), test_input({3, 4}, 57), i32({4, 0, 4, 2, 1, 1}, {2, 3})});
}

TEST_CASE("pytorch api: gather and scatter_add refuse an index larger than the input") {
    Tensor x = iota({3, 4});
    CHECK_THROWS_WITH_AS(gather(x, 1, i32(std::vector<int32_t>(8, 0), {4, 2})),
                         doctest::Contains("larger than input [3, 4] in dimension 0"), Error);
    CHECK_THROWS_AS(gather(x, 0, i32(std::vector<int32_t>(10, 0), {2, 5})), Error);
    CHECK_THROWS_WITH_AS(scatter_add(x, 1, i32({0, 1, 2}, {3, 1}), ones({2, 1}, DType::f64)),
                         doctest::Contains("larger than source"), Error);
    CHECK_THROWS_AS(scatter_add(x, 1, i32({0, 1}, {2}), ones({2}, DType::f64)), Error);
}

// ---- conv_transpose2d: output_padding < stride or < dilation ----

TEST_CASE(
    "pytorch api: conv_transpose2d allows output_padding at least stride when below "
    "dilation") {
    // Stride 1, dilation 2, output_padding 1 (PyTorch allows it: 1 < dilation).
    for (Pair padding : {Pair{0, 0}, Pair{1, 2}, Pair{2, 1}}) {
        CAPTURE(padding[0]);
        CAPTURE(padding[1]);
        Conv2dOptions o{
            .stride = {1, 2}, .padding = padding, .dilation = {2, 3}, .output_padding = {1, 2}};
        Tensor x = test_input({2, 3, 4, 3}, 61), w = test_input({3, 2, 3, 2}, 62);
        Tensor y = conv_transpose2d(x, w, Tensor(), o);
        const int64_t oh = 3 * 1 - 2 * padding[0] + 2 * 2 + 1 + 1;
        const int64_t ow = 2 * 2 - 2 * padding[1] + 3 * 1 + 2 + 1;
        REQUIRE(y.shape() == Shape{2, 2, oh, ow});
        // The adjoint of conv2d: conv2d of a [oh, ow] image has more positions than x (the
        // extra output_padding rows); restricted to x's it is the transpose of y's map.
        Tensor z = test_input({2, 2, oh, ow}, 63);
        Tensor c = conv2d(z, w, Tensor(), o).slice(2, 0, 4).slice(3, 0, 3);
        CHECK(sum(c * x).item<double>() ==
              doctest::Approx(sum(z * y).item<double>()).epsilon(1e-12));
    }
    Conv2dOptions o{.stride = {1, 1},
                    .padding = {1, 0},
                    .dilation = {3, 2},
                    .groups = 2,
                    .output_padding = {2, 1}};
    check_op("conv_transpose2d output_padding < dilation",
             [o](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], v[2], o); },
             {test_input({1, 4, 3, 2}, 64), test_input({4, 1, 2, 3}, 65), test_input({2}, 66)});
}

TEST_CASE("pytorch api: conv_transpose2d names PyTorch's output_padding rule, and only that") {
    Tensor x = zeros({1, 1, 3, 3}), w = zeros({1, 1, 3, 3});
    // 1 is neither < stride 1 nor < dilation 1.
    const std::string e = error_of([&] {
        conv_transpose2d(x, w, Tensor(), Conv2dOptions{.output_padding = {1, 0}});
    });
    CHECK(contains(e, "output_padding must be smaller than either stride or dilation"));
    CHECK(contains(e, "output_padding 1×0, stride 1×1, dilation 1×1"));
    CHECK_FALSE(contains(e, "reachable"));
    CHECK_THROWS_AS(
        conv_transpose2d(
            x, w, Tensor(),
            Conv2dOptions{.stride = {2, 2}, .dilation = {2, 2}, .output_padding = {2, 0}}),
        Error);
    CHECK_THROWS_AS(conv_transpose2d(x, w, Tensor(), Conv2dOptions{.output_padding = {-1, 0}}),
                    Error);
    // Allowed by either rule: below the stride, or below the dilation.
    CHECK_NOTHROW(conv_transpose2d(x, w, Tensor(),
                                   Conv2dOptions{.stride = {2, 2}, .output_padding = {1, 1}}));
    CHECK_NOTHROW(conv_transpose2d(x, w, Tensor(),
                                   Conv2dOptions{.dilation = {2, 2}, .output_padding = {1, 1}}));
    CHECK_THROWS_WITH_AS(
        conv_transpose2d(x, w, Tensor(), Conv2dOptions{.padding_mode = PadMode::reflect}),
        doctest::Contains("zeros padding_mode"), Error);
}

// ---- avg_pool2d: ceil_mode and count_include_pad ----

TEST_CASE("pytorch api: avg_pool2d ceil_mode and count_include_pad, values by hand") {
    Tensor x = iota({1, 1, 3, 3});  // 0 1 2 / 3 4 5 / 6 7 8
    // 2×2, stride 2, ceil: windows {0,1,3,4}, {2,5}, {6,7}, {8}, each divided by its size.
    expect_tensor(avg_pool2d(x, {2, 2}, {.ceil_mode = true}), {1, 1, 2, 2}, {2, 3.5, 6.5, 8});
    expect_tensor(avg_pool2d(x, {2, 2}), {1, 1, 1, 1}, {2});
    // Padding 1, 2×2, stride 2: without ceil 2×2 windows over the padded 5×5.
    expect_tensor(avg_pool2d(x, {2, 2}, {.padding = {1, 1}}), {1, 1, 2, 2},
                  {0 / 4.0, 3 / 4.0, 9 / 4.0, 24 / 4.0});
    expect_tensor(avg_pool2d(x, {2, 2}, {.padding = {1, 1}, .count_include_pad = false}),
                  {1, 1, 2, 2}, {0, 1.5, 4.5, 6});
    // With ceil the window that would start at 3 (in the right padding) is dropped: (3 − 1)·2
    // = 4 ≥ 3 + 1, so still 2×2.
    expect_tensor(avg_pool2d(x, {2, 2}, {.padding = {1, 1}, .ceil_mode = true}), {1, 1, 2, 2},
                  {0 / 4.0, 3 / 4.0, 9 / 4.0, 24 / 4.0});
    // 4 wide, padding 1, ceil: the last window starts at 3 (inside) and runs past the padding
    // (positions 3, 4, 5 of −1..4): divisor 2 with padding counted (3 and the pad at 4), 1
    // without.
    Tensor r = iota({1, 1, 1, 4});  // 0 1 2 3
    expect_tensor(avg_pool2d(r, {1, 2}, {.stride = {1, 2}, .padding = {0, 1}, .ceil_mode = true}),
                  {1, 1, 1, 3}, {0 / 2.0, 3 / 2.0, 3 / 2.0});
    expect_tensor(
        avg_pool2d(
            r, {1, 2},
            {.stride = {1, 2}, .padding = {0, 1}, .ceil_mode = true, .count_include_pad = false}),
        {1, 1, 1, 3}, {0, 1.5, 3});
}

TEST_CASE("pytorch api: avg_pool2d with default options is the old avg_pool2d") {
    Tensor x = test_input({2, 3, 7, 6}, 71);
    for (auto [k, s, p] : {std::array<int64_t, 3>{2, 0, 0}, {3, 2, 1}, {3, 1, 0}, {4, 3, 2}}) {
        CAPTURE(k);
        CAPTURE(s);
        CAPTURE(p);
        Tensor old = avg_pool2d(x, k, s, p);
        expect_tensor(avg_pool2d(x, {k, k}, {.stride = {s, s}, .padding = {p, p}}), old.shape(),
                      old.to_vector<double>());
    }
}

TEST_CASE("pytorch api: avg_pool2d options, gradients and second derivatives") {
    for (bool ceil : {false, true})
        for (bool incl : {false, true}) {
            CAPTURE(ceil);
            CAPTURE(incl);
            AvgPool2dOptions o{
                .stride = {2, 1}, .padding = {1, 1}, .ceil_mode = ceil, .count_include_pad = incl};
            check_op_and_square("avg_pool2d options",
                                [o](const std::vector<Tensor>& v) {
                                    return avg_pool2d(v[0], {3, 2}, o);
                                },
                                {test_input({1, 2, 6, 5}, 72)});
        }
}

TEST_CASE("pytorch api: avg_pool2d rejects padding over half the kernel and a non-4-d input") {
    CHECK_THROWS_WITH_AS(avg_pool2d(zeros({1, 1, 4, 4}), {2, 2}, {.padding = {2, 0}}),
                         doctest::Contains("padding ≤ kernel/2"), Error);
    CHECK_THROWS_AS(avg_pool2d(zeros({1, 4, 4}), {2, 2}), Error);
    CHECK_THROWS_AS(avg_pool2d(zeros({1, 1, 2, 2}), {3, 3}), Error);
}

// ---- nearest to any size, bilinear align_corners ----

TEST_CASE("pytorch api: nearest resize to any size reads floor(i·in/out)") {
    Tensor x = iota({1, 1, 2, 3});  // 0 1 2 / 3 4 5
    // rows: 2 → 3 reads 0, 0, 1; columns: 3 → 5 reads 0, 0, 1, 1, 2
    expect_tensor(upsample_nearest2d(x, 3, 5), {1, 1, 3, 5},
                  {0, 0, 1, 1, 2, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5});
    // Downsampling: 3 → 2 columns read 0 and 1.
    expect_tensor(upsample_nearest2d(x, 1, 2), {1, 1, 1, 2}, {0, 1});
    // An integer scale gives the old function's result.
    Tensor y = test_input({2, 3, 3, 4}, 81);
    expect_tensor(upsample_nearest2d(y, 6, 8), {2, 3, 6, 8},
                  upsample_nearest2d(y, 2).to_vector<double>());
    // PyTorch computes i·(in/out) in float32: from 26 rows to 22, row 11 reads row 12, where
    // floor(11·26/22) = 13.
    Tensor rows = iota({1, 1, 26, 1});
    expect_tensor(upsample_nearest2d(rows, 22, 1), {1, 1, 22, 1},
                  {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24});
    check_op_and_square("upsample_nearest2d to a size",
                        [](const std::vector<Tensor>& v) { return upsample_nearest2d(v[0], 5, 2); },
                        {test_input({2, 2, 3, 4}, 82)});
    CHECK_THROWS_AS(upsample_nearest2d(y, 0, 3), Error);
    CHECK_THROWS_AS(upsample_nearest2d(zeros({2, 3}), 2, 2), Error);
}

TEST_CASE("pytorch api: bilinear with align_corners keeps the corners") {
    Tensor x = f64({1, 2, 3, 4}, {1, 1, 2, 2});
    // 2 → 3 with aligned corners: the middle is the average of its neighbours.
    expect_tensor(upsample_bilinear2d(x, 3, 3, true), {1, 1, 3, 3},
                  {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
    // align_corners=false samples at (i + ½)·2/3 − ½: 0, 2/3... clamped at 0 for i = 0.
    expect_tensor(upsample_bilinear2d(x, 1, 3, false), {1, 1, 1, 3}, {2, 2.5, 3});
    expect_tensor(upsample_bilinear2d(x, 1, 3, true), {1, 1, 1, 3}, {1, 1.5, 2});
    Tensor y = test_input({1, 2, 4, 5}, 91);
    Tensor big = upsample_bilinear2d(y, 7, 9, true);
    for (auto [i, j, bi, bj] : {std::array<int64_t, 4>{0, 0, 0, 0}, {3, 4, 6, 8}, {0, 4, 0, 8}})
        CHECK(big.select(2, bi).select(2, bj).to_vector<double>() ==
              y.select(2, i).select(2, j).to_vector<double>());
    // Same size: the identity, either way.
    expect_tensor(upsample_bilinear2d(y, 4, 5, true), {1, 2, 4, 5}, y.to_vector<double>());
    for (bool ac : {false, true}) {
        CAPTURE(ac);
        check_op_and_square(
            "upsample_bilinear2d",
            [ac](const std::vector<Tensor>& v) { return upsample_bilinear2d(v[0], 5, 3, ac); },
            {test_input({2, 1, 3, 4}, 92)});
    }
}

// ---- pad and conv2d's padding modes ----

TEST_CASE("pytorch api: pad constant, reflect, replicate, circular, values by hand") {
    Tensor x = iota({1, 1, 1, 4});  // 0 1 2 3
    expect_tensor(pad(x, {2, 1}, PadMode::constant, 9), {1, 1, 1, 7}, {9, 9, 0, 1, 2, 3, 9});
    expect_tensor(pad(x, {-1, 2}), {1, 1, 1, 5}, {1, 2, 3, 0, 0});
    expect_tensor(pad(x, {3, 2}, PadMode::reflect), {1, 1, 1, 9}, {3, 2, 1, 0, 1, 2, 3, 2, 1});
    expect_tensor(pad(x, {2, 3}, PadMode::replicate), {1, 1, 1, 9}, {0, 0, 0, 1, 2, 3, 3, 3, 3});
    expect_tensor(pad(x, {4, 1}, PadMode::circular), {1, 1, 1, 9}, {0, 1, 2, 3, 0, 1, 2, 3, 0});
    // Two dims: pads are (left, right, top, bottom), the last dim first.
    Tensor m = iota({1, 1, 2, 2});  // 0 1 / 2 3
    expect_tensor(pad(m, {1, 0, 0, 1}, PadMode::reflect), {1, 1, 3, 3},
                  {1, 0, 1, 3, 2, 3, 1, 0, 1});
    expect_tensor(pad(m, {0, 1, 1, 0}, PadMode::constant, -1), {1, 1, 3, 3},
                  {-1, -1, -1, 0, 1, -1, 2, 3, -1});
    // The gradient of a mirrored pixel is the sum over its copies.
    Tensor xl = iota({1, 1, 1, 4}).requires_grad_();
    sum(pad(xl, {3, 2}, PadMode::reflect)).backward();
    expect_tensor(xl.grad(), {1, 1, 1, 4}, {1, 3, 3, 2});
}

TEST_CASE("pytorch api: pad gradients and second derivatives") {
    const std::vector<std::pair<PadMode, std::vector<int64_t>>> cases = {
        {PadMode::constant, {1, 2, 0, 1}}, {PadMode::constant, {-1, 2, 1, -1}},
        {PadMode::reflect, {2, 1, 1, 3}},  {PadMode::replicate, {3, 1, 0, 2}},
        {PadMode::circular, {4, 1, 3, 2}}, {PadMode::reflect, {1, 2}},
    };
    for (const auto& [mode, pads] : cases) {
        CAPTURE((int)mode);
        check_op_and_square(
            "pad",
            [mode, pads](const std::vector<Tensor>& v) { return pad(v[0], pads, mode, 0.5); },
            {test_input({2, 2, 4, 5}, 101)});
    }
}

TEST_CASE("pytorch api: pad refuses what F.pad refuses") {
    Tensor x = zeros({1, 1, 3, 4});
    CHECK_THROWS_WITH_AS(pad(x, {4, 0}, PadMode::reflect),
                         doctest::Contains("smaller than the size 4"), Error);
    CHECK_THROWS_WITH_AS(pad(x, {0, 0, 0, 4}, PadMode::circular),
                         doctest::Contains("wrap around more than once"), Error);
    CHECK_NOTHROW(pad(x, {0, 0, 0, 3}, PadMode::circular));
    CHECK_THROWS_AS(pad(x, {-1, 0}, PadMode::replicate), Error);
    CHECK_THROWS_AS(pad(x, {1, 1, 1}), Error);
    CHECK_THROWS_AS(pad(x, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1}), Error);
    CHECK_THROWS_WITH_AS(pad(zeros({4}), {1, 1}, PadMode::reflect),
                         doctest::Contains("at least 2 dims"), Error);
    CHECK_THROWS_AS(pad(x, {-3, -2}), Error);
}

TEST_CASE("pytorch api: conv2d padding modes pad first, then convolve unpadded") {
    Tensor x = test_input({2, 2, 5, 4}, 111), w = test_input({3, 2, 3, 3}, 112);
    Tensor b = test_input({3}, 113);
    Conv2dOptions zeros_mode{.stride = {1, 2}, .padding = {2, 1}};
    Tensor plain = conv2d(x, w, b, zeros_mode);
    Conv2dOptions explicit_zeros = zeros_mode;
    explicit_zeros.padding_mode = PadMode::zeros;
    expect_tensor(conv2d(x, w, b, explicit_zeros), plain.shape(), plain.to_vector<double>());
    for (PadMode mode : {PadMode::reflect, PadMode::replicate, PadMode::circular}) {
        CAPTURE((int)mode);
        Conv2dOptions o = zeros_mode;
        o.padding_mode = mode;
        Tensor y = conv2d(x, w, b, o);
        Tensor want = conv2d(pad(x, {1, 1, 2, 2}, mode), w, b, Conv2dOptions{.stride = {1, 2}});
        expect_tensor(y, plain.shape(), want.to_vector<double>());
        check_op(
            "conv2d padding mode",
            [o](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], o); },
            {test_input({1, 2, 4, 4}, 114), test_input({2, 2, 3, 2}, 115), test_input({2}, 116)});
    }
    // Reflect padding of 5 rows needs more than 5 rows: PyTorch's error, named by pad.
    Conv2dOptions too_much{.padding = {5, 0}, .padding_mode = PadMode::reflect};
    CHECK_THROWS_WITH_AS(conv2d(x, w, b, too_much), doctest::Contains("reflect padding"), Error);
}

// The differences from PyTorch that docs/WRITING_A_LAYER.md lists, held to the code.
TEST_CASE("pytorch api: the documented differences from PyTorch hold") {
    // max_pool2d splits the gradient evenly among tied maxima (PyTorch gives it to the first).
    Tensor x = f64({1, 1, 0, 1}, {1, 1, 2, 2}).requires_grad_();
    sum(max_pool2d(x, 2)).backward();
    expect_tensor(x.grad(), {1, 1, 2, 2}, {1.0 / 3, 1.0 / 3, 0, 1.0 / 3});
    // elu at exactly 0: first derivative alpha (as PyTorch), second derivative alpha·e⁰ = alpha
    // (PyTorch's double backward gives 0 there).
    const double alpha = 0.7;
    Tensor z = scalar(0.0, DType::f64).requires_grad_();
    Tensor g = grad({elu(z, alpha)}, {z}, {}, true)[0];
    CHECK(g.item<double>() == doctest::Approx(alpha));
    Tensor gg = grad({g}, {z})[0];
    CHECK(gg.item<double>() == doctest::Approx(alpha));
}
