// k-nearest-neighbour manifold metrics: improved precision/recall (Kynkäänniemi et al. 2019)
// and density/coverage (Naeem et al. 2020). Squared distances come from GEMM,
// |a − b|² = |a|² + |b|² − 2 a·b, one block of rows at a time so 10⁴ × 10⁴ pairs never sit in
// memory at once; every comparison is made on squared distances (sqrt is monotone).
#include <cblas.h>

#include <algorithm>
#include <limits>

#include "engine/error.h"
#include "zoo/eval/metrics.h"

namespace zg::zoo::metrics {

namespace {

// Below this many distances per block, the loops run serially: waking threads costs more.
constexpr int64_t kParallelWork = int64_t(1) << 18;

struct Points {
    Tensor x;  // float64 [n, d], contiguous
    std::vector<double> sq_norm;
    int64_t n = 0, d = 0;
    const double* data() const { return x.data<double>(); }
};

Points points_of(const Tensor& t, const char* what) {
    Points p{feature_matrix(t, what), {}, 0, 0};
    p.n = p.x.size(0);
    p.d = p.x.size(1);
    const double* v = p.data();
    p.sq_norm.resize(p.n);
    for (int64_t i = 0; i < p.n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < p.d; ++j) s += v[i * p.d + j] * v[i * p.d + j];
        p.sq_norm[i] = s;
    }
    return p;
}

// Calls visit(first_row, rows, dist) for consecutive blocks of a's rows, where dist [rows, b.n]
// (row-major) holds the squared distances from those rows of a to every row of b.
template <class Visit>
void for_each_distance_block(const Points& a, const Points& b, Visit&& visit) {
    const int64_t block = std::clamp<int64_t>((int64_t(1) << 23) / std::max<int64_t>(b.n, 1), 1,
                                              a.n);  // ≤ 64 MB of distances at a time
    std::vector<double> dist(block * b.n);
    for (int64_t i0 = 0; i0 < a.n; i0 += block) {
        const int64_t rows = std::min(block, a.n - i0);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)b.n, (int)a.d, -2.0,
                    a.data() + i0 * a.d, (int)a.d, b.data(), (int)b.d, 0.0, dist.data(), (int)b.n);
#pragma omp parallel for schedule(static) if (rows * b.n >= kParallelWork)
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < b.n; ++j)  // rounding can leave tiny negatives: clamp
                dist[r * b.n + j] =
                    std::max(dist[r * b.n + j] + a.sq_norm[i0 + r] + b.sq_norm[j], 0.0);
        visit(i0, rows, dist.data());
    }
}

// Calls visit(j0, j1) for tiles of the columns of a [rows, cols] block, in parallel: a
// per-column reduction over rows then reads each row's tile contiguously, and no two threads
// write the same column.
template <class Visit>
void for_each_column_tile(int64_t rows, int64_t cols, Visit&& visit) {
    constexpr int64_t tile = 512;
    const int64_t tiles = (cols + tile - 1) / tile;
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelWork)
    for (int64_t t = 0; t < tiles; ++t) visit(t * tile, std::min(cols, (t + 1) * tile));
}

// Squared distance from each row of p to its k-th nearest other row (self excluded by index,
// so duplicates count as neighbours at distance 0).
std::vector<double> kth_neighbour_sq(const Points& p, int64_t k, const char* what) {
    ZG_CHECK(k >= 1 && k < p.n, what, ": k = ", k, " needs more than k samples per set, got ", p.n,
             " (use more samples or a smaller k)");
    std::vector<double> radius(p.n);
    for_each_distance_block(p, p, [&](int64_t i0, int64_t rows, const double* dist) {
#pragma omp parallel for schedule(static) if (rows * p.n >= kParallelWork)
        for (int64_t r = 0; r < rows; ++r) {
            // The k smallest so far, ascending (k is small: insertion beats a heap).
            std::vector<double> best(k, std::numeric_limits<double>::infinity());
            const double* row = dist + r * p.n;
            for (int64_t j = 0; j < p.n; ++j) {
                if (j == i0 + r || row[j] >= best[k - 1]) continue;
                int64_t pos = k - 1;
                for (; pos > 0 && best[pos - 1] > row[j]; --pos) best[pos] = best[pos - 1];
                best[pos] = row[j];
            }
            radius[i0 + r] = best[k - 1];
        }
    });
    return radius;
}

void check_same_width(const Points& real, const Points& fake, const char* what) {
    ZG_CHECK(real.d == fake.d, what, ": feature sizes differ (real ", real.d, ", fake ", fake.d,
             "); both sets must come from the same feature extractor");
}

}  // namespace

PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k) {
    const Points r = points_of(real, "precision_recall (real features)");
    const Points f = points_of(fake, "precision_recall (fake features)");
    check_same_width(r, f, "precision_recall");
    const std::vector<double> real_radius = kth_neighbour_sq(r, k, "precision_recall");
    const std::vector<double> fake_radius = kth_neighbour_sq(f, k, "precision_recall");
    std::vector<char> fake_in_real(f.n, 0), real_in_fake(r.n, 0);
    for_each_distance_block(r, f, [&](int64_t i0, int64_t rows, const double* dist) {
#pragma omp parallel for schedule(static) if (rows * f.n >= kParallelWork)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < f.n && !real_in_fake[i0 + i]; ++j)
                if (dist[i * f.n + j] <= fake_radius[j]) real_in_fake[i0 + i] = 1;
        for_each_column_tile(rows, f.n, [&](int64_t j0, int64_t j1) {
            for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = j0; j < j1; ++j)
                    fake_in_real[j] |= dist[i * f.n + j] <= real_radius[i0 + i];
        });
    });
    return {double(std::count(fake_in_real.begin(), fake_in_real.end(), 1)) / double(f.n),
            double(std::count(real_in_fake.begin(), real_in_fake.end(), 1)) / double(r.n)};
}

DensityCoverage density_coverage(const Tensor& real, const Tensor& fake, int64_t k) {
    const Points r = points_of(real, "density_coverage (real features)");
    const Points f = points_of(fake, "density_coverage (fake features)");
    check_same_width(r, f, "density_coverage");
    const std::vector<double> radius = kth_neighbour_sq(r, k, "density_coverage");
    std::vector<int64_t> balls_containing(f.n, 0);  // per fake sample
    std::vector<char> covered(r.n, 0);              // per real sample
    for_each_distance_block(r, f, [&](int64_t i0, int64_t rows, const double* dist) {
#pragma omp parallel for schedule(static) if (rows * f.n >= kParallelWork)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < f.n && !covered[i0 + i]; ++j)
                if (dist[i * f.n + j] < radius[i0 + i]) covered[i0 + i] = 1;
        for_each_column_tile(rows, f.n, [&](int64_t j0, int64_t j1) {
            for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = j0; j < j1; ++j)
                    balls_containing[j] += dist[i * f.n + j] < radius[i0 + i];
        });
    });
    int64_t inside = 0;
    for (int64_t c : balls_containing) inside += c;
    return {double(inside) / double(k * f.n),
            double(std::count(covered.begin(), covered.end(), 1)) / double(r.n)};
}

}  // namespace zg::zoo::metrics
