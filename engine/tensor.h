#pragma once
// The Tensor: a cheap handle (a shared pointer) to a view of shared storage (shape, strides and
// offset in elements, a dtype, a device) plus its autograd fields (requires_grad, the op that
// made it, the accumulated grad). Views share storage; the differentiable ops are in ops.h.
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/storage.h"

namespace zg {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

struct Node;
class Tensor;
class Rng;

// What a Tensor handle points at: a view (shape, strides, offset, all in elements) into a
// Storage, plus the autograd fields. Copying a Tensor copies the handle, never the data.
struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape, strides;
    int64_t offset = 0;
    DType dtype = DType::f32;
    bool requires_grad = false;
    std::shared_ptr<Node> grad_fn;     // the op that made this tensor; null for leaves
    std::shared_ptr<TensorImpl> grad;  // accumulated by backward() on leaves
};

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return impl().shape; }
    const Shape& strides() const { return impl().strides; }
    int64_t offset() const { return impl().offset; }
    int64_t dim() const { return (int64_t)impl().shape.size(); }
    int64_t size(int64_t d) const;  // d may be negative, as in Python
    int64_t numel() const { return shape_numel(impl().shape); }
    DType dtype() const { return impl().dtype; }
    Device device() const { return impl().storage->device; }
    bool is_contiguous() const;
    Storage& storage() const { return *impl().storage; }
    const std::shared_ptr<Storage>& storage_ptr() const { return impl().storage; }
    TensorImpl& impl() const;
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    bool same(const Tensor& o) const { return impl_ == o.impl_; }

    // Element pointer at this view's offset (CPU only); checks that T matches the dtype.
    template <class T>
    T* data() const;
    void* raw_data() const;  // byte pointer at offset, any dtype

    // ---- autograd ----
    bool requires_grad() const { return impl().requires_grad; }
    // Marks a leaf as a parameter-like tensor whose gradient backward() accumulates.
    Tensor& requires_grad_(bool on = true);
    bool is_leaf() const { return impl().grad_fn == nullptr; }
    const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
    Tensor grad() const { return Tensor(impl().grad); }
    void set_grad(const Tensor& g) const;
    // A new handle on the same data with no history: gradients stop here.
    Tensor detach() const;
    // Back-propagates from this tensor (a scalar, or pass `grad` of the same shape) into the
    // .grad of every leaf that requires it; frees the graph unless retain_graph.
    void backward(const Tensor& grad = Tensor(), bool retain_graph = false,
                  bool create_graph = false) const;
    uint64_t version() const { return impl().storage->version; }

    // ---- views (share storage; differentiable) ----
    Tensor reshape(Shape shape) const;  // a view when possible, else a copy
    Tensor view(Shape shape) const;     // a view or an error
    Tensor flatten(int64_t start = 0, int64_t end = -1) const;
    Tensor unsqueeze(int64_t d) const;
    Tensor squeeze(int64_t d) const;
    Tensor transpose(int64_t d0, int64_t d1) const;
    Tensor t() const { return transpose(0, 1); }
    Tensor permute(const std::vector<int64_t>& dims) const;
    Tensor slice(int64_t d, int64_t start, int64_t end, int64_t step = 1) const;
    Tensor select(int64_t d, int64_t index) const;  // slice + squeeze
    Tensor expand(Shape shape) const;               // broadcast view, stride 0
    Tensor contiguous() const;                      // this, or a packed copy
    Tensor clone() const;                           // always a copy
    Tensor to(DType t) const;                       // a cast (a copy unless same dtype)

    // ---- reading values (CPU) ----
    template <class T>
    T item() const;
    template <class T>
    std::vector<T> to_vector() const;

    // ---- in-place writes: not recorded by autograd; they bump the version counter ----
    Tensor& fill_(double value);
    Tensor& zero_() { return fill_(0.0); }
    Tensor& copy_(const Tensor& src);  // src broadcast to this shape, cast to this dtype
    Tensor& add_(const Tensor& other, double alpha = 1.0);  // this += alpha * other
    Tensor& mul_(double s);

private:
    std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories ----
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
Tensor zeros(const Shape& shape, DType dtype = DType::f32);
Tensor ones(const Shape& shape, DType dtype = DType::f32);
Tensor scalar(double value, DType dtype = DType::f32);  // a 0-d tensor
Tensor arange(int64_t n, DType dtype = DType::f32);
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
Tensor tensor(std::initializer_list<float> values);  // 1-D float32, for tests and examples

// Random tensors draw from the project's Philox generator (engine/rng.h); `gen` null means the
// global generator. Same seed, same numbers, whatever the thread count.
Tensor rand(const Shape& shape, Rng* gen = nullptr, DType dtype = DType::f32);  // U[0,1)
Tensor randn(const Shape& shape, Rng* gen = nullptr, DType dtype = DType::f32);
Tensor uniform(const Shape& shape, double lo, double hi, Rng* gen = nullptr,
               DType dtype = DType::f32);
Tensor normal(const Shape& shape, double mean, double std, Rng* gen = nullptr,
              DType dtype = DType::f32);
Tensor bernoulli(const Shape& shape, double p, Rng* gen = nullptr, DType dtype = DType::f32);
Tensor randint(int32_t low, int32_t high, const Shape& shape, Rng* gen = nullptr);
Tensor randperm(int64_t n, Rng* gen = nullptr);

}  // namespace zg
