// Elementwise arithmetic and math. Gradients of broadcast inputs are summed back to the input's
// shape with sum_to. Every backward is built from these same ops, so it can be differentiated.
#include <cmath>

#include "engine/ops/plumbing.h"

namespace zg {

using plumbing::binary;
using plumbing::check_float;
using plumbing::unary;

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const size_t nd = std::max(a.size(), b.size());
    Shape out(nd);
    for (size_t i = 0; i < nd; ++i) {
        const int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
        const int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
        ZG_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
                 shape_str(b), " do not broadcast (dimension ", i, ": ", da, " vs ", db, ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

// c = a + b;  ∂c/∂a = 1, ∂c/∂b = 1
Tensor add(const Tensor& a, const Tensor& b) {
    return record("add", binary(BinaryOp::add, a, b, "add"), {a, b},
                  [sa = a.shape(), sb = b.shape()](const BackwardArgs& g) -> Grads {
                      return {sum_to(g.dy, sa), sum_to(g.dy, sb)};
                  });
}

// c = a − b;  ∂c/∂a = 1, ∂c/∂b = −1
Tensor sub(const Tensor& a, const Tensor& b) {
    return record("sub", binary(BinaryOp::sub, a, b, "sub"), {a, b},
                  [sa = a.shape(), sb = b.shape()](const BackwardArgs& g) -> Grads {
                      return {sum_to(g.dy, sa), g.needs_grad(1) ? sum_to(-g.dy, sb) : Tensor()};
                  });
}

// c = a·b;  ∂c/∂a = b, ∂c/∂b = a
Tensor mul(const Tensor& a, const Tensor& b) {
    return record("mul", binary(BinaryOp::mul, a, b, "mul"), {a, b},
                  [a, b](const BackwardArgs& g) -> Grads {
                      return {g.needs_grad(0) ? sum_to(g.dy * b, a.shape()) : Tensor(),
                              g.needs_grad(1) ? sum_to(g.dy * a, b.shape()) : Tensor()};
                  },
                  {a, b});
}

// c = a / b;  ∂c/∂a = 1/b, ∂c/∂b = −a/b²
Tensor div(const Tensor& a, const Tensor& b) {
    check_float(a, "div");
    return record("div", binary(BinaryOp::div, a, b, "div"), {a, b},
                  [a, b](const BackwardArgs& g) -> Grads {
                      return {g.needs_grad(0) ? sum_to(g.dy / b, a.shape()) : Tensor(),
                              g.needs_grad(1) ? sum_to(-g.dy * a / (b * b), b.shape()) : Tensor()};
                  },
                  {a, b});
}

// c = aᵇ;  ∂c/∂a = b·aᵇ⁻¹ (taken as 0 where b = 0, as PyTorch: 0·0⁻¹ would be NaN),
// ∂c/∂b = c·ln a (taken as 0 where a = 0 and b ≥ 0, as PyTorch does, since the limit of
// aᵇ·ln a there is 0 rather than NaN)
Tensor pow(const Tensor& a, const Tensor& b) {
    check_float(a, "pow");
    Tensor y = binary(BinaryOp::pow, a, b, "pow");
    return record("pow", y, {a, b},
                  [a, b](const BackwardArgs& g) -> Grads {
                      Tensor ga, gb;
                      if (g.needs_grad(0))
                          ga = sum_to(
                              g.dy * where(eq(b, 0.0), zeros({}, b.dtype()), b * pow(a, b - 1.0)),
                              a.shape());
                      if (g.needs_grad(1)) {
                          Tensor zero_base = eq(a, 0.0) * ge(b, 0.0);
                          Tensor safe_log = log(where(zero_base, ones_like(a), a));
                          gb = sum_to(g.dy * g.y * safe_log, b.shape());
                      }
                      return {ga, gb};
                  },
                  {a, b, y});
}

// y = xᵖ;  dy/dx = p·xᵖ⁻¹ (and 0 for p = 0, where x⁻¹ would give NaN at x = 0)
Tensor pow(const Tensor& x, double p) {
    check_float(x, "pow");
    return record("pow_scalar", unary(UnaryOp::pow, x, p), {x},
                  [x, p](const BackwardArgs& g) -> Grads {
                      if (p == 0.0) return {zeros_like(g.dy)};
                      return {g.dy * (p * pow(x, p - 1.0))};
                  },
                  {x});
}

// max(a, b): the gradient goes to the larger input, split evenly on ties (as PyTorch).
static Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
    const char* name = is_max ? "maximum" : "minimum";
    Tensor y = binary(is_max ? BinaryOp::maximum : BinaryOp::minimum, a, b, name);
    return record(
        name, y, {a, b},
        [a, b, is_max](const BackwardArgs& g) -> Grads {
            Tensor to_a = (is_max ? gt(a, b) : lt(a, b)) + eq(a, b) * 0.5;
            return {sum_to(g.dy * to_a, a.shape()), sum_to(g.dy * (1.0 - to_a), b.shape())};
        },
        {a, b});
}
Tensor maximum(const Tensor& a, const Tensor& b) {
    return extremum(a, b, true);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
    return extremum(a, b, false);
}

// y = s·x + t;  dy/dx = s
Tensor affine(const Tensor& x, double scale, double shift) {
    check_float(x, "affine");
    return record("affine", unary(UnaryOp::affine, x, scale, shift), {x},
                  [scale](const BackwardArgs& g) -> Grads { return {g.dy * scale}; });
}

// y = −x;  dy/dx = −1
Tensor neg(const Tensor& x) {
    return affine(x, -1.0, 0.0);
}

// y = eˣ;  dy/dx = y
Tensor exp(const Tensor& x) {
    Tensor y = unary(UnaryOp::exp, x);
    return record("exp", y, {x}, [](const BackwardArgs& g) -> Grads { return {g.dy * g.y}; }, {y});
}

// y = ln x;  dy/dx = 1/x
Tensor log(const Tensor& x) {
    return record("log", unary(UnaryOp::log, x), {x},
                  [x](const BackwardArgs& g) -> Grads { return {g.dy / x}; }, {x});
}

// y = √x;  dy/dx = 1/(2y)
Tensor sqrt(const Tensor& x) {
    Tensor y = unary(UnaryOp::sqrt, x);
    return record("sqrt", y, {x},
                  [](const BackwardArgs& g) -> Grads { return {g.dy / (g.y * 2.0)}; }, {y});
}

// y = |x|;  dy/dx = sign(x) (0 at 0, as PyTorch)
Tensor abs(const Tensor& x) {
    return record("abs", unary(UnaryOp::abs, x), {x},
                  [x](const BackwardArgs& g) -> Grads { return {g.dy * sign(x)}; }, {x});
}

Tensor sign(const Tensor& x) {
    return unary(UnaryOp::sign, x);
}

// y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi, else 0
Tensor clamp(const Tensor& x, double lo, double hi) {
    ZG_CHECK(lo <= hi, "clamp: lower bound ", lo, " is above upper bound ", hi);
    return record("clamp", unary(UnaryOp::clamp, x, lo, hi), {x},
                  [x, lo, hi](const BackwardArgs& g) -> Grads {
                      return {g.dy * unary(UnaryOp::in_range, x, lo, hi)};
                  },
                  {x});
}

// y = c ? a : b;  ∂y/∂a = c, ∂y/∂b = 1 − c (c itself gets no gradient)
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    plumbing::check_same_dtype(a, b, "where");
    Shape shape =
        broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
    Tensor out = empty(shape, a.dtype(), a.device());
    using plumbing::broadcast_to;
    backend(a).where(broadcast_to(cond, shape, "where"), broadcast_to(a, shape, "where"),
                     broadcast_to(b, shape, "where"), out);
    return record("where", out, {a, b},
                  [cond, sa = a.shape(), sb = b.shape()](const BackwardArgs& g) -> Grads {
                      Tensor zero = zeros({}, g.dy.dtype());
                      return {g.needs_grad(0) ? sum_to(where(cond, g.dy, zero), sa) : Tensor(),
                              g.needs_grad(1) ? sum_to(where(cond, zero, g.dy), sb) : Tensor()};
                  },
                  {cond});
}

// Comparisons are masks: piecewise constant, so they carry no gradient.
Tensor gt(const Tensor& a, const Tensor& b) {
    return binary(BinaryOp::gt, a, b, "gt");
}
Tensor lt(const Tensor& a, const Tensor& b) {
    return binary(BinaryOp::lt, a, b, "lt");
}
Tensor ge(const Tensor& a, const Tensor& b) {
    return binary(BinaryOp::ge, a, b, "ge");
}
Tensor le(const Tensor& a, const Tensor& b) {
    return binary(BinaryOp::le, a, b, "le");
}
Tensor eq(const Tensor& a, const Tensor& b) {
    return binary(BinaryOp::eq, a, b, "eq");
}
Tensor gt(const Tensor& x, double s) {
    return unary(UnaryOp::gt, x, s);
}
Tensor lt(const Tensor& x, double s) {
    return unary(UnaryOp::lt, x, s);
}
Tensor ge(const Tensor& x, double s) {
    return unary(UnaryOp::ge, x, s);
}
Tensor le(const Tensor& x, double s) {
    return unary(UnaryOp::le, x, s);
}
Tensor eq(const Tensor& x, double s) {
    return unary(UnaryOp::eq, x, s);
}

Tensor operator+(const Tensor& a, const Tensor& b) {
    return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
    return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
    return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
    return div(a, b);
}
Tensor operator-(const Tensor& x) {
    return neg(x);
}
Tensor operator+(const Tensor& x, double s) {
    return affine(x, 1.0, s);
}
Tensor operator+(double s, const Tensor& x) {
    return affine(x, 1.0, s);
}
Tensor operator-(const Tensor& x, double s) {
    return affine(x, 1.0, -s);
}
Tensor operator-(double s, const Tensor& x) {
    return affine(x, -1.0, s);
}
Tensor operator*(const Tensor& x, double s) {
    return affine(x, s, 0.0);
}
Tensor operator*(double s, const Tensor& x) {
    return affine(x, s, 0.0);
}
Tensor operator/(const Tensor& x, double s) {
    return affine(x, 1.0 / s, 0.0);
}
Tensor operator/(double s, const Tensor& x) {
    return pow(x, -1.0) * s;
}
Tensor operator>(const Tensor& x, double s) {
    return gt(x, s);
}
Tensor operator<(const Tensor& x, double s) {
    return lt(x, s);
}

}  // namespace zg
