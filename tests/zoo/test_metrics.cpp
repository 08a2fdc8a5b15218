// zoo/eval/metrics.h against NumPy/SciPy (tests/fixtures/metrics_ref.safetensors, made by
// tools/fixtures/gen_metric_fixtures.py) to 1e-4 relative, plus known answers: identical sets,
// shifted sets, one-hot predictions, 2-D mixtures with points placed by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "nn/data/dataset.h"
#include "test_util.h"
#include "zoo/eval/metrics.h"

using namespace zg;
using namespace zg::zoo::metrics;
using testing::contains;
using testing::error_of;

namespace {

const SafetensorsFile& reference() {
    static const SafetensorsFile f =
        load_safetensors(testing::fixture_path("metrics_ref.safetensors"));
    return f;
}

const Tensor& ref(const std::string& name) {
    const auto it = reference().tensors.find(name);
    REQUIRE_MESSAGE(it != reference().tensors.end(), "fixture lacks ", name);
    return it->second;
}

double ref_value(const std::string& name) {
    return ref(name).to(DType::f64).item<double>();
}

void check_relative(double got, double want, const std::string& what) {
    CHECK_MESSAGE(std::abs(got - want) <= 1e-4 * std::abs(want), what, ": ", got, " vs ", want);
}

std::vector<std::vector<int64_t>> index_rows(const Tensor& idx) {
    const std::vector<int32_t> flat = idx.to_vector<int32_t>();
    const int64_t cols = idx.size(1);
    std::vector<std::vector<int64_t>> rows(idx.size(0));
    for (size_t r = 0; r < rows.size(); ++r)
        rows[r].assign(flat.begin() + (int64_t)r * cols, flat.begin() + (int64_t)(r + 1) * cols);
    return rows;
}

// n points per centre, each centre + offset (a [2] vector).
Tensor points_at(const std::vector<std::array<double, 2>>& centers, double dx, double dy) {
    std::vector<double> v;
    for (const auto& c : centers) v.insert(v.end(), {c[0] + dx, c[1] + dy});
    return from_vector(v, {(int64_t)centers.size(), 2});
}

}  // namespace

TEST_CASE("metrics: fit_gaussian gives np.mean and np.cov (ddof 1)") {
    const Gaussian g = fit_gaussian(ref("a"));
    CHECK(g.mean.dtype() == DType::f64);
    testing::expect_tensor(g.mean, {16}, ref("mean/a").to_vector<double>(), 1e-12);
    testing::expect_tensor(g.cov, {16, 16}, ref("cov/a").to_vector<double>(), 1e-12);
    CHECK(contains(error_of([] { fit_gaussian(zeros({1, 4})); }), "at least 2 samples"));
    CHECK(contains(error_of([] { fit_gaussian(zeros({8})); }), "[N, D]"));
    CHECK(contains(error_of([] { fit_gaussian(full({4, 2}, NAN)); }), "sample 0 holds a NaN"));
}

TEST_CASE("metrics: FID matches scipy.linalg.sqrtm, also with singular covariances") {
    check_relative(frechet_distance(fit_gaussian(ref("a")), fit_gaussian(ref("b"))),
                   ref_value("fid/ab"), "FID(a, b)");
    check_relative(frechet_distance(fit_gaussian(ref("rank_a")), fit_gaussian(ref("rank_b"))),
                   ref_value("fid/rank"), "FID of 10 and 12 samples in 16 dimensions");
}

TEST_CASE("metrics: FID of a set with itself is 0, of a shifted copy the squared shift") {
    const Gaussian a = fit_gaussian(ref("a"));
    const double trace = a.cov.to_vector<double>()[0] * 16;  // the scale of the terms that cancel
    CHECK(std::abs(frechet_distance(a, a)) < 1e-10 * trace);
    // Shifting every sample by c leaves the covariance unchanged: FID = |c|² = 16 · 0.5².
    const Tensor shifted = ref("a").to(DType::f64).clone().add_(full({300, 16}, 0.5, DType::f64));
    CHECK(frechet_distance(a, fit_gaussian(shifted)) == doctest::Approx(4.0).epsilon(1e-9));
    CHECK(contains(error_of([&] {
                       frechet_distance(a, fit_gaussian(zeros({5, 3})));
                   }),
                   "feature sizes differ"));
}

TEST_CASE("metrics: KID on given subsets matches NumPy's unbiased MMD²") {
    const MeanStd k = kid_on_subsets(ref("a"), ref("b"), index_rows(ref("kid/real_idx")),
                                     index_rows(ref("kid/fake_idx")));
    check_relative(k.mean, ref_value("kid/mean"), "KID mean");
    check_relative(k.std, ref_value("kid/std"), "KID std");
}

TEST_CASE("metrics: kid() draws its subsets with the project RNG, reproducibly") {
    Rng g1(7), g2(7);
    const MeanStd drawn = kid(ref("a"), ref("b"), 4, 50, g1);
    const auto real_idx = kid_subset_indices(300, 4, 50, g2);
    const auto fake_idx = kid_subset_indices(200, 4, 50, g2);
    const MeanStd given = kid_on_subsets(ref("a"), ref("b"), real_idx, fake_idx);
    CHECK(drawn.mean == given.mean);
    CHECK(drawn.std == given.std);
    for (const auto& subset : real_idx) {  // without replacement: 50 distinct rows
        std::vector<int64_t> sorted = subset;
        std::sort(sorted.begin(), sorted.end());
        CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    }
    Rng g3(8);
    CHECK(kid(ref("a"), ref("b"), 4, 50, g3).mean != drawn.mean);
    CHECK(contains(error_of([&] { kid(ref("a"), ref("b"), 4, 201, g1); }),
                   "subset size 201 must be in [2, 200]"));
}

TEST_CASE("metrics: Inception-style score matches NumPy, one-hot and constant predictions") {
    const MeanStd s = inception_score(ref("probs"), 5);
    check_relative(s.mean, ref_value("is/mean"), "IS mean");
    check_relative(s.std, ref_value("is/std"), "IS std");
    // Confident and balanced over K classes: KL = log K for every sample, so IS = K exactly.
    std::vector<double> onehot(40 * 4, 0.0);
    for (int i = 0; i < 40; ++i) onehot[i * 4 + i % 4] = 1.0;
    const MeanStd k = inception_score(from_vector(onehot, {40, 4}), 2);
    CHECK(k.mean == doctest::Approx(4.0).epsilon(1e-12));
    CHECK(k.std == doctest::Approx(0.0));
    CHECK(inception_score(full({20, 5}, 0.2), 4).mean == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(contains(error_of([] { inception_score(full({3, 2}, 0.5), 4); }), "splits"));
    CHECK(contains(error_of([] { inception_score(full({3, 2}, -1.0), 1); }), "not logits"));
}

TEST_CASE("metrics: precision/recall (k=3) and density/coverage (k=5) match NumPy") {
    const PrecisionRecall pr = precision_recall(ref("a"), ref("b"), 3);
    check_relative(pr.precision, ref_value("pr/precision"), "precision");
    check_relative(pr.recall, ref_value("pr/recall"), "recall");
    const DensityCoverage dc = density_coverage(ref("a"), ref("b"), 5);
    check_relative(dc.density, ref_value("dc/density"), "density");
    check_relative(dc.coverage, ref_value("dc/coverage"), "coverage");
}

TEST_CASE("metrics: identical sets have precision = recall = coverage = 1") {
    const PrecisionRecall pr = precision_recall(ref("a"), ref("a"));
    CHECK(pr.precision == 1.0);
    CHECK(pr.recall == 1.0);
    CHECK(density_coverage(ref("a"), ref("a")).coverage == 1.0);
    // Far-apart sets share nothing.
    const Tensor far = ref("a").to(DType::f64).clone().add_(full({300, 16}, 100.0, DType::f64));
    const PrecisionRecall none = precision_recall(ref("a"), far);
    CHECK(none.precision == 0.0);
    CHECK(none.recall == 0.0);
    const DensityCoverage dc = density_coverage(ref("a"), far);
    CHECK(dc.density == 0.0);
    CHECK(dc.coverage == 0.0);
    CHECK(contains(error_of([] {
                       precision_recall(zeros({3, 2}), zeros({10, 2}), 3);
                   }),
                   "more than k samples"));
    CHECK(contains(error_of([] {
                       density_coverage(zeros({10, 2}), zeros({10, 3}));
                   }),
                   "feature sizes differ"));
}

TEST_CASE("metrics: class histogram and mean confidence match NumPy") {
    const std::vector<int32_t> want = ref("hist").to_vector<int32_t>();
    const std::vector<int64_t> hist = class_histogram(ref("probs"));
    CHECK(hist == std::vector<int64_t>(want.begin(), want.end()));
    check_relative(mean_confidence(ref("probs")), ref_value("confidence"), "mean confidence");
}

TEST_CASE("metrics: modes covered counts classes with a third of their expected share") {
    CHECK(modes_covered({10, 10, 10}) == 3);
    CHECK(modes_covered({30, 0, 0}) == 1);
    CHECK(modes_covered({27, 3, 0}) == 1);  // expected share 10: 3 < 10/3
    CHECK(modes_covered({26, 4, 0}) == 2);  // 4 >= 10/3
    CHECK(modes_covered({20, 10}) == 2);    // boundary: 10 >= 30/2/3 = 5
    CHECK(modes_covered({0, 0}) == 0);
    CHECK(modes_covered({}) == 0);
}

TEST_CASE("metrics: mixture score on hand-placed ring8 and grid25 points") {
    const nn::MixtureSpec ring = nn::mixture_spec("ring8");
    const double s = ring.std;
    // One point near every mode (2.9 σ off): all 8 captured, all high quality.
    MixtureScore all = mixture_score(points_at(ring.centers, 2.9 * s, 0), ring);
    CHECK(all.modes_captured == 8);
    CHECK(all.high_quality == 1.0);
    // Just outside 3 σ: nothing counts.
    MixtureScore off = mixture_score(points_at(ring.centers, 0, 3.1 * s), ring);
    CHECK(off.modes_captured == 0);
    CHECK(off.high_quality == 0.0);
    // Collapsed onto one mode, plus as many far-away noise points: 1 mode, half high quality.
    std::vector<std::array<double, 2>> collapsed(8, ring.centers[3]);
    for (int i = 0; i < 8; ++i) collapsed.push_back({50.0 + i, -50.0});
    MixtureScore one = mixture_score(points_at(collapsed, 0, s), ring);
    CHECK(one.modes_captured == 1);
    CHECK(one.high_quality == 0.5);
    const nn::MixtureSpec grid = nn::mixture_spec("grid25");
    CHECK(mixture_score(points_at(grid.centers, 0, 0), grid).modes_captured == 25);
    CHECK(contains(error_of([] { mixture_score(zeros({4, 3}), zeros({2, 2}), 0.1); }), "[N, 2]"));
}
