// The plumbing every op shares: running one backend kernel into a fresh tensor (no autograd),
// views with a given geometry, broadcasting, dtype checks. The ops call these, then attach
// their backward functions.
#include "engine/ops/plumbing.h"

namespace zg::plumbing {

Tensor view_of(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = t.storage_ptr();
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = offset;
    impl->dtype = t.dtype();
    return Tensor(impl);
}

Tensor broadcast_to(const Tensor& t, const Shape& shape, const char* op) {
    if (t.shape() == shape) return t;
    const int64_t nd = (int64_t)shape.size(), lead = nd - t.dim();
    ZG_CHECK(lead >= 0, op, ": cannot broadcast shape ", shape_str(t.shape()), " to ",
             shape_str(shape));
    Shape strides(nd, 0);
    for (int64_t d = 0; d < t.dim(); ++d) {
        const int64_t from = t.shape()[d], to = shape[lead + d];
        ZG_CHECK(from == to || from == 1, op, ": cannot broadcast shape ", shape_str(t.shape()),
                 " to ", shape_str(shape), " (dimension ", d, " is ", from, ", not 1 or ", to, ")");
        strides[lead + d] = from == to ? t.strides()[d] : 0;
    }
    return view_of(t, shape, strides, t.offset());
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
    ZG_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", dtype_name(a.dtype()), " and ",
             dtype_name(b.dtype()), "; convert one with .to()");
}

void check_float(const Tensor& t, const char* op) {
    ZG_CHECK(is_floating(t.dtype()), op, ": expected a float32 or float64 tensor, got ",
             dtype_name(t.dtype()));
}

// The name of a unary kernel as the user knows the op, for error messages.
static const char* unary_name(UnaryOp op) {
    using U = UnaryOp;
    switch (op) {
        case U::neg:
            return "neg";
        case U::exp:
            return "exp";
        case U::log:
            return "log";
        case U::sqrt:
            return "sqrt";
        case U::abs:
            return "abs";
        case U::sign:
            return "sign";
        case U::tanh:
            return "tanh";
        case U::sigmoid:
            return "sigmoid";
        case U::softplus:
            return "softplus";
        case U::relu:
            return "relu";
        case U::leaky_relu:
            return "leaky_relu";
        case U::elu:
            return "elu";
        case U::affine:
            return "affine";
        case U::pow:
            return "pow";
        case U::clamp:
            return "clamp";
        case U::in_range:
            return "in_range";
        case U::gt:
            return "gt";
        case U::ge:
            return "ge";
        case U::lt:
            return "lt";
        case U::le:
            return "le";
        case U::eq:
            return "eq";
    }
    return "unary op";
}

Tensor unary(UnaryOp op, const Tensor& x, double a, double b) {
    check_float(x, unary_name(op));  // the unary kernels exist for float types only
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    backend(x).unary(op, x, out, a, b);
    return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
    check_same_dtype(a, b, name);
    Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor out = empty(shape, a.dtype(), a.device());
    backend(a).binary(op, broadcast_to(a, shape, name), broadcast_to(b, shape, name), out);
    return out;
}

}  // namespace zg::plumbing
