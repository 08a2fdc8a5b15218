#pragma once
// The evaluation pipeline: images → zoograd's own feature network (zoo/eval/classifier.h) → the
// metrics of zoo/eval/metrics.h against a cached reference set. The numbers are classifier-feature
// metrics ("FID (zoograd-mnist features)"), not comparable with Inception-based figures.
// docs/EVALUATION.md explains them and gives reference values.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "zoo/eval/classifier.h"
#include "zoo/eval/metrics.h"

namespace zg::zoo {

struct EvalOptions {
    std::string data = "mnist";      // mnist, fashion, or an image folder
    std::string data_root;           // empty: nn::find_data_root searches
    std::string reference = "test";  // the real set: "train" or "test" split
    int64_t reference_n = 10000;     // at most this many reference images (the first ones)
    int64_t image_size = 32;         // folders: the side images are fitted to
    uint64_t seed = 0;               // KID's subsets
    ClassifierOptions classifier;    // how to train the network when none is cached
    bool progress = false;           // progress lines on stderr for features and metrics
};

// Images at the feature network's native size [C, S, S]: equal sizes pass; 32×32 samples of a
// 28×28 data set (and any 2- or 4-pixel padding) are center-cropped back, the inverse of
// nn::fit_images' padding; any other size or channel count is a zg::Error naming both shapes.
Tensor to_native_size(const Tensor& images, const Shape& native);

struct FeatureOutputs {
    Tensor features;  // [N, 128]
    Tensor probs;     // [N, K] softmax, undefined for an autoencoder
};
// The network's outputs on images [N, C, S, S] (eval mode, no graph, batches of 500), with a
// progress line named `what` when that is not empty.
FeatureOutputs extract_features(FeatureNet& net, const Tensor& images,
                                const std::string& what = "");

// Everything that compares samples with one data set's reference: the network (trained and
// cached on first use) and the reference features (cached too).
class Evaluator {
public:
    explicit Evaluator(const EvalOptions& opts);
    // Metrics of images [N, C, H, W] in [-1, 1] as one JSON object with the keys dataset, n,
    // features, fid, kid, kid_std, is, is_std, precision, recall, density, coverage,
    // class_hist, modes_covered, mean_confidence (class-based ones null for an autoencoder,
    // with a "note" saying why). With all_metrics false only fid, kid, kid_std and the class
    // statistics are computed (the cheap set the trainer logs).
    nlohmann::json evaluate(const Tensor& images, bool all_metrics = true);
    // The network's name in metric labels, e.g. "zoograd-mnist".
    std::string features_name() const;
    Shape native_shape() const;
    const FeatureData& data() const { return data_; }
    const TrainedClassifier& network() const { return net_; }

private:
    EvalOptions opts_;
    FeatureData data_;
    TrainedClassifier net_;
    FeatureOutputs reference_;
    metrics::Gaussian reference_gaussian_;
};

// 2-D mixture samples [N, 2] scored against "ring8" or "grid25": keys dataset, n,
// modes_covered, modes_total, high_quality.
nlohmann::json evaluate_mixture(const Tensor& points, const std::string& mixture);

// The sample-quality scalars `zoograd train --eval-every N` logs to metrics.jsonl: for mnist
// and fashion fid, kid and modes_covered (the Evaluator is built on first use, training and
// caching the classifier once, then kept in `evaluator`); for ring8 and grid25 modes_covered
// and high_quality. Other data sets get none. `samples` are G's outputs (images or points).
constexpr int64_t training_eval_samples = 2000;
bool has_sample_quality(const std::string& data);
std::map<std::string, double> sample_quality(const std::string& data, const std::string& data_root,
                                             const Tensor& samples,
                                             std::unique_ptr<Evaluator>& evaluator);

// A readable table of an evaluate() / evaluate_mixture() result.
std::string format_eval_table(const nlohmann::json& result);

}  // namespace zg::zoo
