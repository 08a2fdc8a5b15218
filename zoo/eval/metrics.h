#pragma once
// zoo/eval/metrics.h — GAN evaluation metrics on feature matrices (rows = samples), float64 math.
//
// Every function takes features/probabilities as [N, D] tensors of any float dtype (copied to
// float64 internally) and returns plain doubles. The features come from zoograd's own
// classifier, so the numbers are "FID (zoograd-mnist features)" etc., NOT comparable with
// Inception-based figures in papers. docs/METRICS.md gives each exact definition; the tests
// (tests/zoo/test_metrics.cpp) check them against SciPy/NumPy on stored fixtures.
#include <cstdint>
#include <vector>

#include "engine/rng.h"
#include "engine/tensor.h"
#include "nn/data/dataset.h"

namespace zg::zoo::metrics {

// features as a contiguous float64 [N, D] tensor (a copy unless it already is one), or a
// zg::Error naming `what` when it is not a 2-D floating tensor with at least one row, or holds
// a NaN or infinity.
Tensor feature_matrix(const Tensor& features, const char* what);

struct MeanStd {
    double mean = 0, std = 0;  // std with ddof 0 (np.std)
};
MeanStd mean_std(const std::vector<double>& values);  // needs at least one value
// The median (the mean of the two middle values for an even count); NaN for no values.
double median(std::vector<double> values);

// Sample mean and covariance (ddof 1, as np.cov) of features [N, D], N >= 2.
struct Gaussian {
    Tensor mean;  // float64 [D]
    Tensor cov;   // float64 [D, D]
};
Gaussian fit_gaussian(const Tensor& features);  // [N, D], any float dtype

// FID = |m1 - m2|² + tr Σ1 + tr Σ2 - 2 tr sqrt(Σ1 Σ2), with tr sqrt(Σ1 Σ2) = tr sqrt(A Σ2 A),
// A = sqrt(Σ1), from two symmetric eigen-decompositions (LAPACK dsyevd) in double.
double frechet_distance(const Gaussian& a, const Gaussian& b);

// KID: unbiased MMD² with the polynomial kernel k(x, y) = (x·y / D + 1)³, averaged over
// `subsets` draws of `subset_size` rows from each set (without replacement, independently for
// real and fake); std with ddof 0. subset_size must not exceed either set's size (callers with
// small sets pass min(subset_size, N_real, N_fake)); it must be >= 2.
MeanStd kid(const Tensor& real, const Tensor& fake, int64_t subsets, int64_t subset_size, Rng& rng);
// The row indices kid() draws: for each subset, `subset_size` distinct rows of [0, n).
std::vector<std::vector<int64_t>> kid_subset_indices(int64_t n, int64_t subsets,
                                                     int64_t subset_size, Rng& rng);
// KID over given subsets (real_idx[s] and fake_idx[s] of equal size), as kid() computes it.
MeanStd kid_on_subsets(const Tensor& real, const Tensor& fake,
                       const std::vector<std::vector<int64_t>>& real_idx,
                       const std::vector<std::vector<int64_t>>& fake_idx);

// Inception-style score: exp(mean_x KL(p(y|x) || p(y))) per split, p(y) the split's mean
// prediction, 0·log 0 = 0. Split s holds rows [s·N/splits, (s+1)·N/splits). probs [N, K].
MeanStd inception_score(const Tensor& probs, int64_t splits);

// Improved precision and recall (Kynkäänniemi et al. 2019): each sample's ball has the radius
// of its k-th nearest neighbour within its own set (self excluded). precision = fraction of
// fake samples inside at least one real ball (distance <= radius); recall = fraction of real
// samples inside at least one fake ball. Both sets need more than k rows.
struct PrecisionRecall {
    double precision = 0, recall = 0;
};
PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k = 3);

// Density and coverage (Naeem et al. 2020), balls around real samples only (k-th NN radius,
// self excluded, strict "distance < radius" as in the authors' prdc code):
// density = (1 / (k·M)) Σ_fake #{real balls containing it}; coverage = fraction of real
// samples whose ball contains at least one fake sample.
struct DensityCoverage {
    double density = 0, coverage = 0;
};
DensityCoverage density_coverage(const Tensor& real, const Tensor& fake, int64_t k = 5);

// Classifier-output statistics on probs [N, K].
std::vector<int64_t> class_histogram(const Tensor& probs);  // argmax counts, length K
// Classes whose count is at least a third of the uniform expected share: 3·K·count >= N.
int64_t modes_covered(const std::vector<int64_t>& hist);
double mean_confidence(const Tensor& probs);  // mean over rows of the max probability

// 2-D mixture benchmark as in VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018),
// following Unrolled GAN (Metz et al. 2017): a sample is high quality when its distance to the
// NEAREST mode centre is at most 3·stddev; a mode is captured when at least one high-quality
// sample has it as nearest centre. high_quality is a fraction in [0, 1] (the papers print it
// as a percentage). points [N, 2], centers [M, 2].
struct MixtureScore {
    int64_t modes_captured = 0;
    double high_quality = 0;
};
MixtureScore mixture_score(const Tensor& points, const Tensor& centers, double stddev);
// The same with the centres and stddev of a named mixture (nn::mixture_spec("ring8") etc.).
MixtureScore mixture_score(const Tensor& points, const nn::MixtureSpec& spec);

}  // namespace zg::zoo::metrics
