// Scores read off a classifier's predicted probabilities (Inception-style score, class
// histogram, modes covered, confidence) and the 2-D mixture benchmark's mode/quality counts.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "zoo/eval/metrics.h"

namespace zg::zoo::metrics {

namespace {

// probs as float64 [N, K], every entry in [0, 1] (rows are not renormalised).
Tensor probability_matrix(const Tensor& probs, const char* what) {
    Tensor p = feature_matrix(probs, what);
    for (double v : p.to_vector<double>())
        ZG_CHECK(v >= 0.0 && v <= 1.0, what, ": probabilities must lie in [0, 1], found ", v,
                 " (pass softmax outputs, not logits)");
    return p;
}

double entropy_term(double p, double log_q) {  // p·(log p − log q), with 0·log 0 = 0
    return p > 0.0 ? p * (std::log(p) - log_q) : 0.0;
}

}  // namespace

// Salimans et al. 2016: IS = exp(E_x KL(p(y|x) || p(y))), computed per split with p(y) the
// split's mean prediction, as the reference implementation does.
MeanStd inception_score(const Tensor& probs, int64_t splits) {
    const Tensor p = probability_matrix(probs, "inception_score");
    const int64_t n = p.size(0), k = p.size(1);
    ZG_CHECK(splits >= 1 && splits <= n, "inception_score: splits must be in [1, ", n,
             "] (one sample per split at least), got ", splits);
    const double* v = p.data<double>();
    std::vector<double> scores;
    for (int64_t s = 0; s < splits; ++s) {
        const int64_t lo = s * n / splits, hi = (s + 1) * n / splits;
        std::vector<double> log_marginal(k, 0.0);
        for (int64_t i = lo; i < hi; ++i)
            for (int64_t c = 0; c < k; ++c) log_marginal[c] += v[i * k + c];
        for (double& m : log_marginal) m = std::log(m / double(hi - lo));
        double kl = 0;
        for (int64_t i = lo; i < hi; ++i)
            for (int64_t c = 0; c < k; ++c) kl += entropy_term(v[i * k + c], log_marginal[c]);
        scores.push_back(std::exp(kl / double(hi - lo)));
    }
    return mean_std(scores);
}

std::vector<int64_t> class_histogram(const Tensor& probs) {
    const Tensor p = feature_matrix(probs, "class_histogram");
    const int64_t n = p.size(0), k = p.size(1);
    const double* v = p.data<double>();
    std::vector<int64_t> hist(k, 0);
    for (int64_t i = 0; i < n; ++i)  // ties go to the lowest class, as np.argmax
        ++hist[std::max_element(v + i * k, v + (i + 1) * k) - (v + i * k)];
    return hist;
}

int64_t modes_covered(const std::vector<int64_t>& hist) {
    int64_t total = 0;
    for (int64_t c : hist) {
        ZG_CHECK(c >= 0, "modes_covered: class counts must not be negative, got ", c);
        total += c;
    }
    if (total == 0) return 0;
    const int64_t k = (int64_t)hist.size();
    // count >= (1/3)·(total / K), in integers so the boundary is exact.
    return std::count_if(hist.begin(), hist.end(), [&](int64_t c) { return 3 * k * c >= total; });
}

double mean_confidence(const Tensor& probs) {
    const Tensor p = probability_matrix(probs, "mean_confidence");
    const int64_t n = p.size(0), k = p.size(1);
    const double* v = p.data<double>();
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += *std::max_element(v + i * k, v + (i + 1) * k);
    return total / double(n);
}

MixtureScore mixture_score(const Tensor& points, const Tensor& centers, double stddev) {
    const Tensor x = feature_matrix(points, "mixture_score (points)");
    const Tensor c = feature_matrix(centers, "mixture_score (centers)");
    ZG_CHECK(x.size(1) == 2 && c.size(1) == 2,
             "mixture_score: expected 2-D points [N, 2] and centers [M, 2], got ",
             shape_str(x.shape()), " and ", shape_str(c.shape()));
    ZG_CHECK(stddev > 0.0, "mixture_score: the mixture's stddev must be positive, got ", stddev);
    const int64_t n = x.size(0), m = c.size(0);
    const double* p = x.data<double>();
    const double* q = c.data<double>();
    const double radius_sq = (3.0 * stddev) * (3.0 * stddev);
    std::vector<bool> captured(m, false);
    int64_t high_quality = 0;
    for (int64_t i = 0; i < n; ++i) {
        int64_t nearest = 0;
        double best = std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < m; ++j) {
            const double dx = p[2 * i] - q[2 * j], dy = p[2 * i + 1] - q[2 * j + 1];
            if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, nearest = j;
        }
        if (best <= radius_sq) {
            ++high_quality;
            captured[nearest] = true;
        }
    }
    return {(int64_t)std::count(captured.begin(), captured.end(), true),
            double(high_quality) / double(n)};
}

MixtureScore mixture_score(const Tensor& points, const nn::MixtureSpec& spec) {
    std::vector<double> flat;
    for (const auto& c : spec.centers) flat.insert(flat.end(), c.begin(), c.end());
    return mixture_score(points, from_vector(flat, {(int64_t)spec.centers.size(), 2}), spec.std);
}

}  // namespace zg::zoo::metrics
