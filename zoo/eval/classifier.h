#pragma once
// zoograd's own feature extractor for evaluation (Inception-v3 weights cannot be downloaded).
//
// A labelled data set (mnist, fashion, a folder with one sub-folder per class) gets a small CNN
// classifier; its 128-unit penultimate layer is the feature space of FID, KID, precision/recall
// and density/coverage, and its softmax feeds the Inception-style score, the class histogram and
// mode coverage. An unlabelled (flat) folder gets a small convolutional autoencoder whose
// 128-unit bottleneck is the feature space; it has no class outputs.
//
// The network, trained with the engine, is cached as a safetensors checkpoint in
// $ZOOGRAD_CACHE (default ~/.cache/zoograd) under a name derived from the data set, and the
// 64-bit FNV-1a hash of that file is reported with every number it produced.
#include <cstdint>
#include <memory>
#include <string>

#include "nn/data/dataset.h"
#include "nn/layers/sequential.h"

namespace zg::zoo {

// Architecture (per the image side S, S divisible by 4):
//   trunk: conv3x3(C→16) BN ReLU maxpool2 → conv3x3(16→32) BN ReLU maxpool2 → flatten
//          → linear(32·(S/4)² → 128) ReLU                              = the features [N, 128]
//   classifier head: linear(128 → K) logits
//   autoencoder head (K = 0): linear(128 → 32·(S/4)²) ReLU, reshape, 2 × (upsample2 conv3x3),
//                             tanh → reconstruction [N, C, S, S]
// Small enough to train in about a minute on two CPU cores (docs/EVALUATION.md has the measured
// accuracies).
class FeatureNet : public nn::Module {
public:
    FeatureNet(int64_t channels, int64_t image_size, int64_t num_classes, Rng* gen);
    Tensor features(const Tensor& x);          // [N, C, S, S] → [N, 128]
    Tensor forward(const Tensor& x) override;  // logits [N, K], or the reconstruction (K = 0)
    std::string type_name() const override { return "FeatureNet"; }
    const int64_t channels, image_size, num_classes;
    static constexpr int64_t feature_size = 128;

private:
    std::shared_ptr<nn::Sequential> trunk_, head_;
};

struct ClassifierOptions {
    std::string data = "mnist";  // mnist, fashion, or an image folder
    std::string data_root;       // empty: nn::find_data_root searches
    int64_t image_size = 32;     // folders only: the side images are fitted to (mnist/fashion: 28)
    int64_t epochs = 4;          // with Adam's lr decayed linearly to 0: 99.2% MNIST, 91% Fashion
    int64_t batch_size = 64;
    uint64_t seed = 0;
    std::string out;       // the checkpoint path; empty: the cache path (classifier_path)
    bool progress = true;  // a progress line on stderr
};

// The data a classifier is trained and evaluated on, at the data set's native size: mnist and
// fashion at 28×28; a folder fitted to image_size. For folders, `train` is every image but a
// deterministic 10% held out as `test` (the same split for the same listing).
struct FeatureData {
    std::shared_ptr<nn::TensorDataset> train, test;
    std::string key;  // "mnist-<hash of the data>", "fashion-<...>", or "folder-<hash of path
                      // and listing>"
};
FeatureData load_feature_data(const std::string& data, const std::string& data_root,
                              int64_t image_size);

// The cache directory ($ZOOGRAD_CACHE, else ~/.cache/zoograd), created if needed.
std::string cache_dir();
// The cached classifier's file for a data key ("<cache>/classifier-<key>.safetensors").
std::string classifier_path(const std::string& key);

// 64-bit FNV-1a of a file's bytes as 16 hex digits (a zg::Error when unreadable).
std::string file_hash(const std::string& path);
// 64-bit FNV-1a of a string, as 16 hex digits.
std::string string_hash(const std::string& text);
// 64-bit FNV-1a of a tensor's bytes (contiguous or not), as 16 hex digits.
std::string tensor_hash(const Tensor& t);

struct TrainedClassifier {
    std::shared_ptr<FeatureNet> net;  // eval mode
    std::string path, hash;           // its file and file_hash
    std::string key;                  // data key it was trained for
    double test_accuracy = 0;         // held-out accuracy (classifier), or test MSE (autoencoder)
};

// Trains the network for opts.data (classifier or autoencoder), saves it, and returns it with
// its held-out figure. Prints a progress line and a summary.
TrainedClassifier train_classifier(const ClassifierOptions& opts, const FeatureData& data);
// Loads a saved network (errors name the file).
TrainedClassifier load_classifier(const std::string& path);
// The cached network for `data`, trained first (with progress) when there is none.
TrainedClassifier cached_classifier(const FeatureData& data, const ClassifierOptions& opts);

// Fraction of `data` the classifier labels correctly.
double classifier_accuracy(FeatureNet& net, const nn::TensorDataset& data);

}  // namespace zg::zoo
