// Views (reshape, transpose, slice, expand ...), copies, and joining/indexing ops. A view shares
// its input's storage; its backward maps the gradient back to the input's geometry.
#include <algorithm>
#include <numeric>

#include "engine/ops/plumbing.h"

namespace zg {

using plumbing::view_of;

namespace {

// Replaces one −1 in `shape` by what makes the element count equal to `numel`.
Shape infer_shape(Shape shape, int64_t numel, const char* op, const Shape& from) {
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            ZG_CHECK(infer < 0, op, ": only one dimension can be -1 in ", shape_str(shape));
            infer = (int64_t)i;
        } else {
            ZG_CHECK(shape[i] >= 0, op, ": invalid dimension ", shape[i], " in ", shape_str(shape));
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        ZG_CHECK(known > 0 && numel % known == 0, op, ": cannot infer -1 in ", shape_str(shape),
                 " for ", numel, " elements (from ", shape_str(from), ")");
        shape[infer] = numel / known;
    }
    ZG_CHECK(shape_numel(shape) == numel, op, ": shape ", shape_str(shape), " has ",
             shape_numel(shape), " elements but the tensor ", shape_str(from), " has ", numel);
    return shape;
}

// Copies x into a fresh contiguous tensor of dtype `dt`.
Tensor copy_kernel(const Tensor& x, DType dt) {
    Tensor out = empty(x.shape(), dt, x.device());
    backend(x).copy(x, out);
    return out;
}

}  // namespace

// A view with a new shape over the same elements in the same order; dy is reshaped back.
Tensor Tensor::view(Shape shape) const {
    shape = infer_shape(std::move(shape), numel(), "view", this->shape());
    ZG_CHECK(is_contiguous(), "view: tensor of shape ", shape_str(this->shape()),
             " is not contiguous; use reshape() (which copies) or contiguous() first");
    Tensor v = view_of(*this, shape, contiguous_strides(shape), offset());
    return record("view", v, {*this}, [from = this->shape()](const BackwardArgs& g) -> Grads {
        return {g.dy.reshape(from)};
    });
}

Tensor Tensor::reshape(Shape shape) const {
    return is_contiguous() ? view(std::move(shape)) : contiguous().view(std::move(shape));
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
    if (dim() == 0) return reshape({1});
    start = wrap_dim(start, dim(), "flatten");
    end = wrap_dim(end, dim(), "flatten");
    Shape s(shape().begin(), shape().begin() + start);
    int64_t n = 1;
    for (int64_t d = start; d <= end; ++d) n *= shape()[d];
    s.push_back(n);
    s.insert(s.end(), shape().begin() + end + 1, shape().end());
    return reshape(s);
}

// Inserting or removing a size-1 dim only changes metadata: a view even for strided tensors.
Tensor Tensor::unsqueeze(int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape s = shape(), st = strides();
    s.insert(s.begin() + d, 1);
    st.insert(st.begin() + d, d < dim() ? strides()[d] * shape()[d] : 1);
    return record("unsqueeze", view_of(*this, s, st, offset()), {*this},
                  [d](const BackwardArgs& g) -> Grads { return {g.dy.squeeze(d)}; });
}

Tensor Tensor::squeeze(int64_t d) const {
    d = wrap_dim(d, dim(), "squeeze");
    ZG_CHECK(shape()[d] == 1, "squeeze: dimension ", d, " of shape ", shape_str(shape()),
             " has size ", shape()[d], ", not 1");
    Shape s = shape(), st = strides();
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return record("squeeze", view_of(*this, s, st, offset()), {*this},
                  [d](const BackwardArgs& g) -> Grads { return {g.dy.unsqueeze(d)}; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
    std::vector<int64_t> perm(dim());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[wrap_dim(d0, dim(), "transpose")], perm[wrap_dim(d1, dim(), "transpose")]);
    return permute(perm);
}

// y = x with dims reordered by perm;  dy is permuted back by the inverse permutation.
Tensor Tensor::permute(const std::vector<int64_t>& perm) const {
    ZG_CHECK((int64_t)perm.size() == dim(), "permute: got ", perm.size(),
             " dims for a tensor with ", dim());
    Shape s(dim()), st(dim());
    std::vector<int64_t> inverse(dim(), -1);
    for (int64_t i = 0; i < dim(); ++i) {
        int64_t p = wrap_dim(perm[i], dim(), "permute");
        ZG_CHECK(inverse[p] < 0, "permute: dimension ", p, " appears twice");
        inverse[p] = i;
        s[i] = shape()[p];
        st[i] = strides()[p];
    }
    return record("permute", view_of(*this, s, st, offset()), {*this},
                  [inverse](const BackwardArgs& g) -> Grads { return {g.dy.permute(inverse)}; });
}

// y = x[start:end:step] along d (Python's clamping of start/end);
// dy is written back into zeros of x's shape.
Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
    d = wrap_dim(d, dim(), "slice");
    ZG_CHECK(step > 0, "slice: step must be positive, got ", step);
    const int64_t n = shape()[d];
    auto clampi = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
    start = clampi(start);
    end = std::max(clampi(end), start);
    Shape s = shape(), st = strides();
    s[d] = (end - start + step - 1) / step;
    st[d] *= step;
    Tensor v = view_of(*this, s, st, offset() + start * strides()[d]);
    return record("slice", v, {*this},
                  [from = shape(), d, start, end, step](const BackwardArgs& g) -> Grads {
                      return {slice_scatter(g.dy, from, d, start, end, step)};
                  });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
    d = wrap_dim(d, dim(), "select");
    ZG_CHECK(index >= -shape()[d] && index < shape()[d], "select: index ", index,
             " is out of range for dimension ", d, " of size ", shape()[d]);
    if (index < 0) index += shape()[d];
    return slice(d, index, index + 1).squeeze(d);
}

// Broadcasting as a view (stride 0 on repeated dims; −1 keeps a size);
// dy is summed back to x's shape.
Tensor Tensor::expand(Shape shape) const {
    const int64_t lead = (int64_t)shape.size() - dim();
    for (int64_t d = 0; d < dim() && lead >= 0; ++d)
        if (shape[lead + d] == -1) shape[lead + d] = this->shape()[d];
    for (int64_t s : shape)
        ZG_CHECK(s >= 0, "expand: invalid size ", s, " in ", shape_str(shape),
                 " for a tensor of "
                 "shape ",
                 shape_str(this->shape()), " (-1 only keeps an existing dimension)");
    Tensor v = plumbing::broadcast_to(*this, shape, "expand");
    if (v.same(*this)) return *this;
    return record("expand", v, {*this}, [from = this->shape()](const BackwardArgs& g) -> Grads {
        return {sum_to(g.dy, from)};
    });
}

// A packed copy; the gradient passes through unchanged.
Tensor Tensor::clone() const {
    return record("clone", copy_kernel(*this, dtype()), {*this},
                  [](const BackwardArgs& g) -> Grads { return {g.dy}; });
}

Tensor Tensor::contiguous() const {
    return is_contiguous() ? *this : clone();
}

// A cast; the gradient is cast back to the input's dtype.
Tensor Tensor::to(DType t) const {
    if (t == dtype()) return *this;
    Tensor y = copy_kernel(*this, t);
    if (!is_floating(t)) return y;  // integers carry no gradient
    return record("to", y, {*this},
                  [from = dtype()](const BackwardArgs& g) -> Grads { return {g.dy.to(from)}; });
}

// y = [x₀, x₁, ...] joined along dim;  each xᵢ gets its slice of dy.
Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
    ZG_CHECK(!xs.empty(), "concat: no tensors given");
    const Tensor& first = xs[0];
    ZG_CHECK(first.dim() > 0, "concat: zero-dimensional tensors cannot be joined; use stack");
    dim = wrap_dim(dim, first.dim(), "concat");
    Shape s = first.shape();
    s[dim] = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
        plumbing::check_same_dtype(first, xs[i], "concat");
        ZG_CHECK(xs[i].dim() == first.dim(), "concat: tensor ", i, " has shape ",
                 shape_str(xs[i].shape()), ", expected ", first.dim(), " dimensions");
        for (int64_t d = 0; d < first.dim(); ++d)
            ZG_CHECK(d == dim || xs[i].shape()[d] == first.shape()[d], "concat: tensor ", i,
                     " has shape ", shape_str(xs[i].shape()), ", which differs from ",
                     shape_str(first.shape()), " outside dimension ", dim);
        s[dim] += xs[i].shape()[dim];
    }
    Tensor out = empty(s, first.dtype(), first.device());
    std::vector<int64_t> starts, sizes;
    int64_t at = 0;
    for (const Tensor& x : xs) {
        starts.push_back(at);
        sizes.push_back(x.shape()[dim]);
        Shape part = out.shape();
        part[dim] = x.shape()[dim];
        backend(x).copy(x, view_of(out, part, out.strides(), at * out.strides()[dim]));
        at += x.shape()[dim];
    }
    return record("concat", out, xs,
                  [starts, sizes, dim](const BackwardArgs& g) -> Grads {
                      Grads gs;
                      for (size_t i = 0; i < starts.size(); ++i)
                          gs.push_back(g.dy.slice(dim, starts[i], starts[i] + sizes[i]));
                      return gs;
                  },
                  {});
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
    ZG_CHECK(!xs.empty(), "stack: no tensors given");
    dim = wrap_dim(dim, xs[0].dim() + 1, "stack");
    std::vector<Tensor> us;
    for (const Tensor& x : xs) {
        ZG_CHECK(x.shape() == xs[0].shape(), "stack: shapes differ, ", shape_str(x.shape()),
                 " and ", shape_str(xs[0].shape()));
        us.push_back(x.unsqueeze(dim));
    }
    return concat(us, dim);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
    dim = wrap_dim(dim, x.dim(), "split");
    int64_t total = 0;
    for (int64_t s : sizes) {
        ZG_CHECK(s >= 0, "split: negative size ", s);
        total += s;
    }
    ZG_CHECK(total == x.shape()[dim], "split: sizes add up to ", total, " but dimension ", dim,
             " of ", shape_str(x.shape()), " has ", x.shape()[dim]);
    std::vector<Tensor> parts;
    int64_t at = 0;
    for (int64_t s : sizes) {
        parts.push_back(x.slice(dim, at, at + s));
        at += s;
    }
    return parts;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
    ZG_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
    dim = wrap_dim(dim, x.dim(), "chunk");
    const int64_t n = x.shape()[dim], each = (n + chunks - 1) / chunks;
    std::vector<int64_t> sizes;
    for (int64_t at = 0; at < n; at += each) sizes.push_back(std::min(each, n - at));
    return split(x, sizes, dim);
}

static void check_index(const Tensor& index, const char* op) {
    ZG_CHECK(index.dtype() == DType::i32, op, ": index must be int32, got ",
             dtype_name(index.dtype()));
}

// y = x.index_select(dim, idx);  dx = zeros with dy added at the selected rows.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    check_index(index, "index_select");
    ZG_CHECK(index.dim() == 1, "index_select: index must be 1-D, got ", shape_str(index.shape()));
    dim = wrap_dim(dim, x.dim(), "index_select");
    Shape s = x.shape();
    s[dim] = index.numel();
    Tensor out = empty(s, x.dtype(), x.device());
    backend(x).index_select(x, dim, index, out);
    return record("index_select", out, {x},
                  [dim, index, shape = x.shape()](const BackwardArgs& g) -> Grads {
                      return {index_add(zeros(shape, g.dy.dtype()), dim, index, g.dy)};
                  });
}

// y = x, then y[idx[j]] += src[j] along dim;  dx = dy, dsrc = dy.index_select(dim, idx).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
    check_index(index, "index_add");
    plumbing::check_same_dtype(x, src, "index_add");
    dim = wrap_dim(dim, x.dim(), "index_add");
    Shape expect = x.shape();
    expect[dim] = index.numel();
    ZG_CHECK(index.dim() == 1 && src.shape() == expect, "index_add: source ",
             shape_str(src.shape()), " must be ", shape_str(expect), " for index of ",
             index.numel(), " entries");
    Tensor out = copy_kernel(x, x.dtype());
    backend(x).index_add(out, dim, index, src);
    return record("index_add", out, {x, src}, [dim, index](const BackwardArgs& g) -> Grads {
        return {g.dy, g.needs_grad(1) ? index_select(g.dy, dim, index) : Tensor()};
    });
}

// PyTorch's rule: index has x's rank and fits inside x outside `dim` (index.size(d) ≤ x.size(d)
// for d ≠ dim); along `dim` its values, not its size, are bounded by x.size(dim). The kernels
// walk index's positions and read x (or write out) through x's strides, so a smaller index
// needs nothing more.
static void check_gather_shapes(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
    check_index(index, op);
    ZG_CHECK(index.dim() == x.dim(), op, ": index ", shape_str(index.shape()),
             " must have as "
             "many dimensions as the input ",
             shape_str(x.shape()));
    for (int64_t d = 0; d < x.dim(); ++d)
        ZG_CHECK(d == dim || index.shape()[d] <= x.shape()[d], op, ": index ",
                 shape_str(index.shape()), " is larger than input ", shape_str(x.shape()),
                 " in dimension ", d, " (index.size(d) ≤ input.size(d) is needed for d ≠ ", dim,
                 ")");
}

// y[i][j] = x[i][idx[i][j]] (dim 1), y of index's shape (which may be smaller than x outside
// dim);  dx = zeros of x's shape with dy scattered back (added) to idx, at the same positions.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
    dim = wrap_dim(dim, x.dim(), "gather");
    check_gather_shapes(x, dim, index, "gather");
    Tensor out = empty(index.shape(), x.dtype(), x.device());
    backend(x).gather(x, dim, index, out);
    return record("gather", out, {x},
                  [dim, index, shape = x.shape()](const BackwardArgs& g) -> Grads {
                      return {scatter_add(zeros(shape, g.dy.dtype()), dim, index, g.dy)};
                  });
}

// y = x, then y[i][idx[i][j]] += src[i][j] (dim 1);  dx = dy, dsrc = gather(dy, dim, idx).
// A src larger than index (PyTorch allows index.size(d) ≤ src.size(d)) is first cut to index's
// extent by slices, whose backward puts dsrc back into zeros of src's shape.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
    dim = wrap_dim(dim, x.dim(), "scatter_add");
    plumbing::check_same_dtype(x, src, "scatter_add");
    check_gather_shapes(x, dim, index, "scatter_add");
    ZG_CHECK(src.dim() == index.dim(), "scatter_add: source ", shape_str(src.shape()),
             " must have the index's rank (index ", shape_str(index.shape()), ")");
    Tensor part = src;
    for (int64_t d = 0; d < src.dim(); ++d) {
        ZG_CHECK(index.shape()[d] <= src.shape()[d], "scatter_add: index ",
                 shape_str(index.shape()), " is larger than source ", shape_str(src.shape()),
                 " in dimension ", d);
        if (index.shape()[d] < src.shape()[d]) part = part.slice(d, 0, index.shape()[d]);
    }
    if (!part.same(src)) return scatter_add(x, dim, index, part);
    Tensor out = copy_kernel(x, x.dtype());
    backend(x).scatter_add(out, dim, index, src);
    return record("scatter_add", out, {x, src}, [dim, index](const BackwardArgs& g) -> Grads {
        return {g.dy, g.needs_grad(1) ? gather(g.dy, dim, index) : Tensor()};
    });
}

// y = zeros(shape) with y[start:end:step] = x along dim;  dx = dy[start:end:step].
Tensor slice_scatter(const Tensor& x, const Shape& shape, int64_t dim, int64_t start, int64_t end,
                     int64_t step) {
    Tensor out = zeros(shape, x.dtype());
    Tensor window = out.slice(dim, start, end, step);
    ZG_CHECK(window.shape() == x.shape(), "slice_scatter: source ", shape_str(x.shape()),
             " does not fit the slice ", shape_str(window.shape()));
    backend(x).copy(x, window);
    return record("slice_scatter", out, {x},
                  [dim, start, end, step](const BackwardArgs& g) -> Grads {
                      return {g.dy.slice(dim, start, end, step)};
                  });
}

}  // namespace zg
