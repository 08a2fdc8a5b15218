#pragma once
// What the semi-supervised models (sgan, improved_gan) share: the balanced choice of the few
// labelled examples, a stream of labelled batches that resumes exactly, test-set accuracy of a
// classifier, and the losses of a discriminator that classifies into N real classes + fake.
//
// The (N+1)-class discriminator is parameterized as Salimans et al. (2016, §5) do: D outputs N
// logits l and the fake class's logit is fixed at 0, which loses nothing (softmax is invariant
// to a shift of all N+1 logits). Then with Z = Σ_k exp(l_k) = exp(lse(l)):
//   D(x) = p(real | x) = Z / (Z + 1) = sigmoid(lse(l))
//   log D(x)       = lse(l) − softplus(lse(l))
//   log(1 − D(x))  = −softplus(lse(l))
//   p(y = k | x, real) = softmax(l)_k, so the supervised loss is the N-class cross-entropy.
// Everything goes through logsumexp and softplus on the raw logits: no softmax is ever taken
// (let alone twice, a bug of popular SGAN implementations), so nothing under- or overflows.
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/data/dataset.h"
#include "nn/module.h"
#include "zoo/gan.h"

namespace zg::zoo {

// ---- the labelled subset ----

// K labelled examples, K/C of each of the C classes: walking the data set in the order of a
// random permutation drawn from Rng(label_seed), an example is kept while its class has
// fewer than K/C. A pure function of (data, K, label_seed), so a model rebuilds the same subset
// on resume without storing it. Errors: unlabelled data, K ≤ 0, K not a multiple of C, or a
// class with fewer than K/C examples.
struct LabelledSubset {
    std::vector<int64_t> indices;             // into the data set, in the order chosen
    std::shared_ptr<nn::TensorDataset> data;  // those examples and their labels
};
LabelledSubset balanced_label_split(const nn::Dataset& data, int64_t k, uint64_t label_seed);
// Whether the data set has labels to choose from: a class count and label tensors (the
// stand-in `zoograd sample` builds a model on has a class count but no labels).
bool has_labels(const nn::Dataset& data);

// Batches of a labelled subset for ever: the subset is walked in the order of a fresh random
// permutation per pass (pass e's permutation comes from Rng(seed) at offset e·K, so it
// depends on (seed, e) only), a batch may span two passes (as OpenAI's code tiles permuted
// copies of the labelled set). Its whole state is (pass, position): save/restore keep it under
// two checkpoint counters "<name>_pass" and "<name>_pos".
class LabelledBatches {
public:
    LabelledBatches(std::shared_ptr<nn::TensorDataset> subset, int64_t batch_size, uint64_t seed);
    nn::Batch next();
    void save(nn::Checkpoint& ck, const std::string& name) const;
    void restore(const nn::Checkpoint& ck, const std::string& name);
    int64_t batch_size() const { return batch_size_; }

private:
    const std::vector<int64_t>& order();  // the current pass's permutation
    std::shared_ptr<nn::TensorDataset> subset_;
    int64_t batch_size_;
    uint64_t seed_;
    int64_t pass_ = 0, pos_ = 0;
    std::vector<int64_t> order_;
    int64_t order_pass_ = -1;
};

// ---- evaluation ----

// Fraction of `data` whose largest logit is the label. The classifier maps a batch [B, ...] to
// logits [B, C]; it runs in eval mode (noise and dropout off, BatchNorm on running statistics)
// without gradients, in batches of batch_size, and is put back in the mode it was in.
double classification_accuracy(nn::Module& classifier, const nn::Dataset& data,
                               int64_t batch_size = 500);
// Fraction of a batch whose largest logit (logits [B, C]) is the label (int32 [B]).
double batch_accuracy(const Tensor& logits, const Tensor& labels);

// ---- losses of the (N+1)-class discriminator (logits [B, N], fake logit fixed at 0) ----

// log D(x) = lse(l) − softplus(lse(l)), per example [B].
Tensor log_d(const Tensor& logits);
// log(1 − D(x)) = −softplus(lse(l)), per example [B].
Tensor log_one_minus_d(const Tensor& logits);
// Supervised loss: −mean log p(y | x, real) = the N-class cross-entropy of the logits.
Tensor supervised_loss(const Tensor& logits, const Tensor& labels);
// D's unsupervised loss as OpenAI's improved-gan code writes it (the mean of the real and fake
// terms, i.e. their 0.5 factors):
//   ½·(−mean[α·log D(x) + (1 − α)·log(1 − D(x))] − mean log(1 − D(G(z))))
// α is the real target: 1 for the plain loss, e.g. 0.9 for one-sided label smoothing
// (Salimans et al. §3.4: only the real side is smoothed; fakes keep target 0).
Tensor unsupervised_d_loss(const Tensor& logits_real, const Tensor& logits_fake,
                           double real_target = 1.0);
// G's non-saturating loss: −mean log D(G(z)) = mean softplus(−lse(l)).
Tensor generator_ns_loss(const Tensor& logits_fake);
// Feature matching (Salimans et al. §3.1), as OpenAI's MNIST code: the mean over features of
// (mean over the batch of f(x) − mean over the batch of f(G(z)))², for features [B, F].
Tensor feature_matching_loss(const Tensor& features_real, const Tensor& features_fake);

// ---- the models ----

// sgan and improved_gan with an explicit held-out set (for tests on synthetic data); null
// means evaluate() loads the test split of config["data"] when first asked.
std::unique_ptr<Gan> make_sgan(const Json& config, const nn::Dataset& train,
                               std::shared_ptr<nn::Dataset> test);
std::unique_ptr<Gan> make_improved_gan(const Json& config, const nn::Dataset& train,
                                       std::shared_ptr<nn::Dataset> test);

}  // namespace zg::zoo
