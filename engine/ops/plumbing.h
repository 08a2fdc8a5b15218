#pragma once
// What every op shares (bodies in plumbing.cpp): running one backend kernel into a fresh tensor,
// with no autograd. The public ops in this folder wrap these and attach their backward functions.
#include "engine/backend/backend.h"
#include "engine/ops.h"

namespace zg::plumbing {

// A view of t's storage with the given geometry (no copy, no history).
Tensor view_of(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset);
// t seen with `shape` by broadcasting (stride 0 on the repeated dims); no history.
Tensor broadcast_to(const Tensor& t, const Shape& shape, const char* op);
Tensor unary(UnaryOp op, const Tensor& x, double a = 0, double b = 0);
// a ∘ b with NumPy broadcasting; both must have the same dtype.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);
void check_float(const Tensor& t, const char* op);

}  // namespace zg::plumbing
