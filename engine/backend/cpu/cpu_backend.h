#pragma once
#include "engine/backend/backend.h"

namespace zg::cpu {

// The CPU implementation of the primitive kernels: OpenMP across cores, SIMD inner loops,
// OpenBLAS for GEMM. Kernels are templates over the element type (float, double, int32).
class CpuBackend final : public Backend {
public:
    Device device() const override { return Device::cpu; }
    std::shared_ptr<Storage> allocate(size_t bytes) override;
    void release(Storage& s) override;
    void copy(const Tensor& src, const Tensor& dst) override;
    void fill(const Tensor& out, double value) override;
    void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) override;
    void binary(BinaryOp op, const Tensor& x, const Tensor& y, const Tensor& out) override;
    void select_pos_mul(const Tensor& x, const Tensor& y, const Tensor& out, double a,
                        double b) override;
    void where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) override;
    void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes,
                const Tensor& out) override;
    void matmul(const Tensor& x, const Tensor& y, const Tensor& out) override;
    void index_select(const Tensor& x, int64_t dim, const Tensor& index,
                      const Tensor& out) override;
    void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
    void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) override;
    void scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                     const Tensor& src) override;
    void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                            const Tensor& y, const Tensor& mean, const Tensor& var) override;
    void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& mean,
                             const Tensor& var, const Tensor& weight, double eps, const Tensor& dx,
                             const Tensor& dweight, const Tensor& dbias) override;
    void im2col(const Tensor& x, const Window2d& g, double pad_value, const Tensor& cols) override;
    void col2im(const Tensor& cols, const Window2d& g, const Tensor& x) override;
    void random(RandomKind kind, const Tensor& out, Rng& gen, double a, double b) override;
};

}  // namespace zg::cpu
