// Batched matrix products through OpenBLAS. A transposed view is passed to GEMM as a transpose
// flag with its leading dimension, so x.t() costs nothing.
#include <cblas.h>

#include "engine/backend/cpu/cpu_backend.h"

namespace zg::cpu {
namespace {

// How GEMM should read a [rows, cols] matrix view with strides (s_row, s_col).
struct GemmOperand {
    bool ok = false;
    CBLAS_TRANSPOSE trans = CblasNoTrans;
    int64_t ld = 0;
};

GemmOperand gemm_layout(int64_t rows, int64_t cols, int64_t s_row, int64_t s_col) {
    // A size-1 dimension's stride is never used, so it may take whatever value makes it fit.
    if (cols == 1) s_col = 1;
    if (rows == 1) s_row = std::max<int64_t>(cols, 1);
    if (s_col == 1 && s_row >= std::max<int64_t>(cols, 1)) return {true, CblasNoTrans, s_row};
    if (s_row == 1 && s_col >= std::max<int64_t>(rows, 1)) return {true, CblasTrans, s_col};
    return {};
}

template <class T>
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const T* a,
          int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc) {
    if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

}  // namespace

void CpuBackend::matmul(const Tensor& x_in, const Tensor& y_in, const Tensor& out) {
    const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = x_in.size(2);
    Tensor x = x_in, y = y_in;
    GemmOperand lx = gemm_layout(m, k, x.strides()[1], x.strides()[2]);
    if (!lx.ok) {
        x = x.detach().contiguous();
        lx = gemm_layout(m, k, x.strides()[1], x.strides()[2]);
    }
    GemmOperand ly = gemm_layout(k, n, y.strides()[1], y.strides()[2]);
    if (!ly.ok) {
        y = y.detach().contiguous();
        ly = gemm_layout(k, n, y.strides()[1], y.strides()[2]);
    }
    if (m == 0 || n == 0) return;
    dispatch_float(out.dtype(), "matmul", [&]<class T>() {
        if (k == 0) {
            fill(out, 0.0);
            return;
        }
        const T* px = x.data<T>();
        const T* py = y.data<T>();
        T* po = out.data<T>();
        for (int64_t b = 0; b < batch; ++b)
            gemm<T>(lx.trans, ly.trans, m, n, k, px + b * x.strides()[0], lx.ld,
                    py + b * y.strides()[0], ly.ld, po + b * m * n, n);
    });
}

}  // namespace zg::cpu

namespace zg {

std::string cpu_blas_info() {
    const int p = openblas_get_parallel();  // 0 sequential, 1 pthreads, 2 OpenMP
    const char* threading = p == 2 ? "OpenMP threads" : p == 1 ? "pthreads" : "sequential";
    return std::string(openblas_get_config()) + " (" + threading + ", core " +
           openblas_get_corename() + ")";
}

}  // namespace zg
