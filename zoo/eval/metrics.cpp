// Distribution distances between two feature sets: FID (Gaussian fit + Fréchet distance) and
// KID (unbiased polynomial-kernel MMD²). The k-NN metrics live in metrics_knn.cpp, the
// classifier-output and 2-D mixture scores in metrics_scores.cpp.
#include "zoo/eval/metrics.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "engine/error.h"

// LAPACK's symmetric eigensolver (divide and conquer) from OpenBLAS. The two trailing arguments
// are the hidden lengths gfortran passes for CHARACTER arguments.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                        double* w, double* work, const int* lwork, int* iwork, const int* liwork,
                        int* info, size_t jobz_len, size_t uplo_len);

namespace zg::zoo::metrics {

Tensor feature_matrix(const Tensor& features, const char* what) {
    ZG_CHECK(features.defined(), what, ": no tensor given");
    ZG_CHECK(features.dim() == 2 && is_floating(features.dtype()), what,
             ": expected a floating [N, D] matrix (one row per sample), got ",
             dtype_name(features.dtype()), " ", shape_str(features.shape()));
    ZG_CHECK(features.size(0) >= 1 && features.size(1) >= 1, what,
             ": expected at least one sample and one feature, got ", shape_str(features.shape()));
    Tensor x = features.detach().to(DType::f64).contiguous();
    const double* v = x.data<double>();
    const int64_t bad =
        std::find_if_not(v, v + x.numel(), [](double e) { return std::isfinite(e); }) - v;
    ZG_CHECK(bad == x.numel(), what, ": sample ", bad / x.size(1),
             " holds a NaN or infinite value (did training diverge?)");
    return x;
}

namespace {

// Eigenvalues (ascending) of the symmetric n×n matrix `a`; with `vectors`, `a` is overwritten
// by the eigenvectors (column-major, so row j of the row-major array is eigenvector j).
std::vector<double> symmetric_eigen(std::vector<double>& a, int n, bool vectors) {
    const char jobz = vectors ? 'V' : 'N', uplo = 'U';
    std::vector<double> w(n);
    int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
    double work_query = 0;
    dsyevd_(&jobz, &uplo, &n, a.data(), &n, w.data(), &work_query, &lwork, &iwork_query, &liwork,
            &info, 1, 1);
    ZG_CHECK(info == 0, "frechet_distance: LAPACK dsyevd workspace query failed (info ", info, ")");
    lwork = (int)work_query;
    liwork = iwork_query;
    std::vector<double> work(std::max(lwork, 1));
    std::vector<int> iwork(std::max(liwork, 1));
    dsyevd_(&jobz, &uplo, &n, a.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork,
            &info, 1, 1);
    ZG_CHECK(info == 0, "frechet_distance: LAPACK dsyevd did not converge (info ", info,
             "); are the covariances finite?");
    return w;
}

void check_gaussian(const Gaussian& g, const char* what) {
    ZG_CHECK(g.mean.defined() && g.cov.defined() && g.mean.dim() == 1 && g.cov.dim() == 2 &&
                 g.cov.size(0) == g.mean.size(0) && g.cov.size(1) == g.mean.size(0),
             "frechet_distance: ", what, " must be a mean [D] and covariance [D, D] (from ",
             "fit_gaussian), got ", g.mean.defined() ? shape_str(g.mean.shape()) : "none", " and ",
             g.cov.defined() ? shape_str(g.cov.shape()) : "none");
}

}  // namespace

Gaussian fit_gaussian(const Tensor& features) {
    const Tensor x = feature_matrix(features, "fit_gaussian");
    const int64_t n = x.size(0), d = x.size(1);
    ZG_CHECK(n >= 2, "fit_gaussian: a covariance needs at least 2 samples, got ", n);
    const double* p = x.data<double>();
    std::vector<double> mean(d, 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < d; ++j) mean[j] += p[i * d + j];
    for (double& m : mean) m /= (double)n;
    // Centre first, then Σ = XcᵀXc / (n − 1): no cancellation from E[xxᵀ] − μμᵀ.
    std::vector<double> centred(n * d);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < d; ++j) centred[i * d + j] = p[i * d + j] - mean[j];
    std::vector<double> cov(d * d, 0.0);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0 / double(n - 1),
                centred.data(), (int)d, 0.0, cov.data(), (int)d);
    for (int64_t i = 0; i < d; ++i)
        for (int64_t j = 0; j < i; ++j) cov[i * d + j] = cov[j * d + i];
    return {from_vector(mean, {d}), from_vector(cov, {d, d})};
}

// tr sqrt(Σ1 Σ2) without forming the non-symmetric product. With A = sqrt(Σ1) (symmetric PSD),
// Σ1Σ2 = A·(AΣ2) and AΣ2A = (AΣ2)·A share their eigenvalues, and AΣ2A is symmetric PSD, so
// tr sqrt(Σ1Σ2) = Σ sqrt(eig(AΣ2A)). Both steps are symmetric eigenproblems, which LAPACK solves
// backward-stably with real eigenvalues; a general sqrtm of Σ1Σ2 (Schur form, as in SciPy) can
// return imaginary noise and loses accuracy when the covariances are singular (fewer samples
// than features, dead features). Eigenvalues that rounding pushes below zero are clamped to 0.
double frechet_distance(const Gaussian& a, const Gaussian& b) {
    check_gaussian(a, "the first Gaussian");
    check_gaussian(b, "the second Gaussian");
    const int64_t d = a.mean.size(0);
    ZG_CHECK(b.mean.size(0) == d, "frechet_distance: feature sizes differ (", d, " vs ",
             b.mean.size(0), "); both sets must come from the same feature extractor");
    const std::vector<double> m1 = a.mean.to_vector<double>(), m2 = b.mean.to_vector<double>();
    std::vector<double> s1 = a.cov.to_vector<double>();
    const std::vector<double> s2 = b.cov.to_vector<double>();
    double mean_term = 0, trace1 = 0, trace2 = 0;
    for (int64_t i = 0; i < d; ++i) {
        mean_term += (m1[i] - m2[i]) * (m1[i] - m2[i]);
        trace1 += s1[i * d + i];
        trace2 += s2[i * d + i];
    }
    // A = V diag(sqrt λ) Vᵀ, with E (row-major) holding the eigenvectors as rows: A = Eᵀ·diag·E.
    const int n = (int)d;
    const std::vector<double> lambda = symmetric_eigen(s1, n, true);
    std::vector<double> scaled(s1);
    for (int j = 0; j < n; ++j) {
        const double r = std::sqrt(std::max(lambda[j], 0.0));
        for (int i = 0; i < n; ++i) scaled[j * n + i] *= r;
    }
    std::vector<double> sqrt1(d * d), tmp(d * d), product(d * d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, s1.data(), n, scaled.data(),
                n, 0.0, sqrt1.data(), n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, sqrt1.data(), n, s2.data(),
                n, 0.0, tmp.data(), n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, tmp.data(), n,
                sqrt1.data(), n, 0.0, product.data(), n);
    for (int i = 0; i < n; ++i)  // symmetric in exact arithmetic; make it so in floating point
        for (int j = 0; j < i; ++j)
            product[i * n + j] = product[j * n + i] =
                0.5 * (product[i * n + j] + product[j * n + i]);
    const std::vector<double> mu = symmetric_eigen(product, n, false);
    double trace_sqrt = 0;
    for (double m : mu) trace_sqrt += std::sqrt(std::max(m, 0.0));
    return mean_term + trace1 + trace2 - 2.0 * trace_sqrt;
}

double median(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

MeanStd mean_std(const std::vector<double>& v) {
    ZG_CHECK(!v.empty(), "mean_std: no values");
    MeanStd r;
    for (double x : v) r.mean += x;
    r.mean /= (double)v.size();
    double var = 0;
    for (double x : v) var += (x - r.mean) * (x - r.mean);
    r.std = std::sqrt(var / (double)v.size());
    return r;
}

namespace {

// Rows `idx` of x [.., D] packed into a [m, D] matrix.
std::vector<double> gather_rows(const Tensor& x, const std::vector<int64_t>& idx) {
    const int64_t n = x.size(0), d = x.size(1);
    const double* p = x.data<double>();
    std::vector<double> out(idx.size() * d);
    for (size_t r = 0; r < idx.size(); ++r) {
        ZG_CHECK(idx[r] >= 0 && idx[r] < n, "kid: subset index ", idx[r], " outside [0, ", n, ")");
        std::copy(p + idx[r] * d, p + (idx[r] + 1) * d, out.begin() + (int64_t)r * d);
    }
    return out;
}

double cube(double dot) {  // the kernel (u·v / D + 1)³ from the scaled dot product u·v / D
    const double k = dot + 1.0;
    return k * k * k;
}

// Σ_{i≠j} k(u_i, u_j) for u [m, D]: the Gram matrix's upper triangle (SYRK, half a GEMM) twice.
double kernel_sum_within(const std::vector<double>& u, int64_t m, int64_t d) {
    std::vector<double> dots(m * m);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)m, (int)d, 1.0 / double(d), u.data(),
                (int)d, 0.0, dots.data(), (int)m);
    double total = 0;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = i + 1; j < m; ++j) total += cube(dots[i * m + j]);
    return 2.0 * total;
}

// Σ_{i,j} k(u_i, v_j) for u, v [m, D].
double kernel_sum_across(const std::vector<double>& u, const std::vector<double>& v, int64_t m,
                         int64_t d) {
    std::vector<double> dots(m * m);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0 / double(d),
                u.data(), (int)d, v.data(), (int)d, 0.0, dots.data(), (int)m);
    double total = 0;
    for (double dot : dots) total += cube(dot);
    return total;
}

}  // namespace

std::vector<std::vector<int64_t>> kid_subset_indices(int64_t n, int64_t subsets,
                                                     int64_t subset_size, Rng& rng) {
    ZG_CHECK(subsets >= 1, "kid: the number of subsets must be at least 1, got ", subsets);
    ZG_CHECK(subset_size >= 2 && subset_size <= n, "kid: subset size ", subset_size,
             " must be in [2, ", n, "] (the set has ", n,
             " samples; pass min(subset_size, N_real, N_fake))");
    std::vector<std::vector<int64_t>> out(subsets);
    std::vector<int32_t> perm(n);
    for (auto& subset : out) {
        fill_randperm(perm.data(), (size_t)n, rng);
        subset.assign(perm.begin(), perm.begin() + subset_size);
    }
    return out;
}

// Unbiased MMD² per subset (Bińkowski et al. 2018, eq. 3 with m = n):
//   [Σ_{i≠j} k(x_i, x_j) + Σ_{i≠j} k(y_i, y_j)] / (m(m − 1)) − 2 Σ_{i,j} k(x_i, y_j) / m².
MeanStd kid_on_subsets(const Tensor& real, const Tensor& fake,
                       const std::vector<std::vector<int64_t>>& real_idx,
                       const std::vector<std::vector<int64_t>>& fake_idx) {
    const Tensor x = feature_matrix(real, "kid (real features)");
    const Tensor y = feature_matrix(fake, "kid (fake features)");
    const int64_t d = x.size(1);
    ZG_CHECK(y.size(1) == d, "kid: feature sizes differ (real ", d, ", fake ", y.size(1),
             "); both sets must come from the same feature extractor");
    ZG_CHECK(!real_idx.empty() && real_idx.size() == fake_idx.size(),
             "kid: expected the same positive number of real and fake subsets, got ",
             real_idx.size(), " and ", fake_idx.size());
    std::vector<double> mmd;
    for (size_t s = 0; s < real_idx.size(); ++s) {
        const int64_t m = (int64_t)real_idx[s].size();
        ZG_CHECK(m >= 2 && (int64_t)fake_idx[s].size() == m, "kid: subset ", s,
                 " needs equal real and fake sizes of at least 2, got ", m, " and ",
                 fake_idx[s].size());
        const std::vector<double> xs = gather_rows(x, real_idx[s]),
                                  ys = gather_rows(y, fake_idx[s]);
        const double within = kernel_sum_within(xs, m, d) + kernel_sum_within(ys, m, d);
        const double across = kernel_sum_across(xs, ys, m, d);
        mmd.push_back(within / double(m * (m - 1)) - 2.0 * across / double(m * m));
    }
    return mean_std(mmd);
}

MeanStd kid(const Tensor& real, const Tensor& fake, int64_t subsets, int64_t subset_size,
            Rng& rng) {
    ZG_CHECK(real.defined() && fake.defined() && real.dim() == 2 && fake.dim() == 2,
             "kid: expected real and fake feature matrices [N, D]");
    // Real subsets first, then fake ones, so a given seed always picks the same rows.
    const auto real_idx = kid_subset_indices(real.size(0), subsets, subset_size, rng);
    const auto fake_idx = kid_subset_indices(fake.size(0), subsets, subset_size, rng);
    return kid_on_subsets(real, fake, real_idx, fake_idx);
}

}  // namespace zg::zoo::metrics
