// The Tensor handle: metadata, factories, element access and in-place writes. Views and every
// differentiable op live in engine/ops/.
#include "engine/tensor.h"

#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "engine/autograd.h"
#include "engine/backend/backend.h"
#include "engine/ops.h"

namespace zg {

std::string shape_str(const Shape& s) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
    os << "]";
    return os.str();
}

int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

Shape contiguous_strides(const Shape& s) {
    Shape st(s.size());
    int64_t acc = 1;
    for (size_t i = s.size(); i-- > 0;) {
        st[i] = acc;
        acc *= s[i];
    }
    return st;
}

TensorImpl& Tensor::impl() const {
    ZG_CHECK(impl_, "use of an undefined (empty) Tensor; was it returned as 'no gradient'?");
    return *impl_;
}

int64_t Tensor::size(int64_t d) const {
    return shape()[wrap_dim(d, dim(), "size")];
}

bool Tensor::is_contiguous() const {
    int64_t expected = 1;
    for (size_t i = shape().size(); i-- > 0;) {
        if (shape()[i] == 1) continue;
        if (strides()[i] != expected) return false;
        expected *= shape()[i];
    }
    return true;
}

void* Tensor::raw_data() const {
    ZG_CHECK(device() == Device::cpu, "data(): tensor is on ", device_name(device()),
             "; copy it to the CPU first");
    return static_cast<char*>(storage().data) + offset() * (int64_t)dtype_size(dtype());
}

template <class T>
T* Tensor::data() const {
    ZG_CHECK(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">(): tensor is ",
             dtype_name(dtype()));
    return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int32_t* Tensor::data<int32_t>() const;

Tensor& Tensor::requires_grad_(bool on) {
    ZG_CHECK(is_leaf(), "requires_grad_: only leaf tensors can be marked; this one was made by '",
             grad_fn()->name, "' (use detach() first)");
    ZG_CHECK(!on || is_floating(dtype()),
             "requires_grad_: only float tensors can require a "
             "gradient, this one is ",
             dtype_name(dtype()));
    impl().requires_grad = on;
    return *this;
}

void Tensor::set_grad(const Tensor& g) const {
    if (g.defined())
        ZG_CHECK(g.shape() == shape(), "set_grad: gradient shape ", shape_str(g.shape()),
                 " does not match tensor shape ", shape_str(shape()));
    impl().grad = g.impl_ptr();
}

Tensor Tensor::detach() const {
    auto d = std::make_shared<TensorImpl>(impl());
    d->requires_grad = false;
    d->grad_fn = nullptr;
    d->grad = nullptr;
    return Tensor(d);
}

template <class T>
T Tensor::item() const {
    ZG_CHECK(numel() == 1, "item(): tensor has ", numel(), " elements, shape ", shape_str(shape()),
             "; expected exactly one");
    Tensor c = to(dtype_of<T>()).contiguous();
    return *c.data<T>();
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int32_t Tensor::item<int32_t>() const;

template <class T>
std::vector<T> Tensor::to_vector() const {
    Tensor c = detach().to(dtype_of<T>()).contiguous();
    const T* p = c.data<T>();
    return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;

// In-place writes change data autograd may have saved, so they are refused on tensors that are
// part of a recorded graph while grad mode is on, and they bump the storage's version.
static void check_inplace(const Tensor& t, const char* op) {
    ZG_CHECK(!(grad_enabled() && t.requires_grad()), op,
             ": in-place write to a tensor that "
             "requires grad while grad mode is on; wrap it in zg::NoGradGuard (as optimizers "
             "do) or use the out-of-place op");
}

Tensor& Tensor::fill_(double value) {
    check_inplace(*this, "fill_");
    ZG_CHECK(is_contiguous(), "fill_: tensor must be contiguous");
    backend(*this).fill(*this, value);
    ++storage().version;
    return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
    check_inplace(*this, "copy_");
    Tensor s = src.detach().expand(shape());
    backend(*this).copy(s, *this);
    ++storage().version;
    return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
    check_inplace(*this, "add_");
    NoGradGuard ng;
    Tensor sum = alpha == 1.0 ? add(*this, other) : add(*this, affine(other, alpha, 0.0));
    ZG_CHECK(sum.shape() == shape(), "add_: ", shape_str(other.shape()), " does not broadcast to ",
             shape_str(shape()));
    backend(*this).copy(sum, *this);
    ++storage().version;
    return *this;
}

Tensor& Tensor::mul_(double s) {
    check_inplace(*this, "mul_");
    NoGradGuard ng;
    backend(*this).copy(affine(*this, s, 0.0), *this);
    ++storage().version;
    return *this;
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
    if (!t.defined()) return os << "Tensor(undefined)";
    os << "Tensor(" << dtype_name(t.dtype()) << ", shape=" << shape_str(t.shape());
    if (t.requires_grad()) os << ", requires_grad";
    os << ", data=[";
    auto v = t.to_vector<double>();
    for (size_t i = 0; i < v.size() && i < 16; ++i)
        os << (i ? ", " : "") << std::setprecision(6) << v[i];
    if (v.size() > 16) os << ", ...";
    return os << "])";
}

// ---- factories ----
Tensor empty(const Shape& shape, DType dtype, Device device) {
    for (int64_t d : shape)
        ZG_CHECK(d >= 0, "empty: negative dimension in shape ", shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = backend(device).allocate(shape_numel(shape) * dtype_size(dtype));
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(impl);
}

Tensor full(const Shape& shape, double value, DType dtype) {
    Tensor t = empty(shape, dtype);
    backend(t).fill(t, value);
    return t;
}
Tensor zeros(const Shape& shape, DType dtype) {
    return full(shape, 0.0, dtype);
}
Tensor ones(const Shape& shape, DType dtype) {
    return full(shape, 1.0, dtype);
}
Tensor scalar(double value, DType dtype) {
    return full({}, value, dtype);
}
Tensor empty_like(const Tensor& t) {
    return empty(t.shape(), t.dtype(), t.device());
}
Tensor zeros_like(const Tensor& t) {
    return zeros(t.shape(), t.dtype());
}
Tensor ones_like(const Tensor& t) {
    return ones(t.shape(), t.dtype());
}

Tensor arange(int64_t n, DType dtype) {
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = (double)i;
    return from_vector(v, {n}).to(dtype);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    ZG_CHECK((int64_t)values.size() == shape_numel(shape), "from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape), " (", shape_numel(shape),
             " elements)");
    Tensor t = empty(shape, dtype_of<T>());
    if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
    return t;
}
template Tensor from_vector(const std::vector<float>&, const Shape&);
template Tensor from_vector(const std::vector<double>&, const Shape&);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&);

Tensor tensor(std::initializer_list<float> values) {
    return from_vector(std::vector<float>(values), {(int64_t)values.size()});
}

}  // namespace zg
