#include "zoo/train/semi_supervised.h"

#include <algorithm>

namespace zg::zoo {

// ---- the labelled subset ----

bool has_labels(const nn::Dataset& data) {
    return data.num_classes() > 0 && data.size() > 0 && data.get({0}).labels.defined();
}

LabelledSubset balanced_label_split(const nn::Dataset& data, int64_t k, uint64_t label_seed) {
    const int64_t classes = data.num_classes();
    ZG_CHECK(has_labels(data), "--labels: data set '", data.name(),
             "' has no labels, so no labelled subset can be chosen (use mnist or fashion)");
    ZG_CHECK(k > 0 && k % classes == 0, "--labels must be a positive multiple of the ", classes,
             " classes of '", data.name(), "' (an equal number per class), got ", k);
    ZG_CHECK(k <= data.size(), "--labels ", k, " is more than the ", data.size(), " examples of '",
             data.name(), "'");
    const int64_t per_class = k / classes;
    std::vector<int64_t> all(data.size());
    for (int64_t i = 0; i < data.size(); ++i) all[i] = i;
    const std::vector<int32_t> labels = data.get(all).labels.to_vector<int32_t>();
    Rng gen(label_seed);
    const std::vector<int32_t> perm = randperm(data.size(), &gen).to_vector<int32_t>();

    LabelledSubset s;
    std::vector<int64_t> taken(classes, 0);
    for (int32_t i : perm) {
        if (taken[labels[i]] == per_class) continue;
        ++taken[labels[i]];
        s.indices.push_back(i);
        if ((int64_t)s.indices.size() == k) break;
    }
    for (int64_t c = 0; c < classes; ++c)
        ZG_CHECK(taken[c] == per_class, "--labels ", k, ": class ", c, " of '", data.name(),
                 "' has only ", taken[c], " examples, fewer than the ", per_class,
                 " per class asked for");
    nn::Batch b = data.get(s.indices);
    s.data = std::make_shared<nn::TensorDataset>(b.x, b.labels, classes,
                                                 data.name() + " (labelled subset)");
    return s;
}

LabelledBatches::LabelledBatches(std::shared_ptr<nn::TensorDataset> subset, int64_t batch_size,
                                 uint64_t seed)
    : subset_(std::move(subset)), batch_size_(batch_size), seed_(seed) {
    ZG_CHECK(subset_ && subset_->size() > 0, "LabelledBatches: the labelled subset is empty");
    ZG_CHECK(batch_size > 0, "LabelledBatches: batch size must be positive, got ", batch_size);
}

const std::vector<int64_t>& LabelledBatches::order() {
    if (order_pass_ != pass_) {
        const int64_t n = subset_->size();
        Rng gen(seed_);
        gen.set_state({seed_, (uint64_t)(pass_ * n)});  // randperm takes one block per swap
        const std::vector<int32_t> p = randperm(n, &gen).to_vector<int32_t>();
        order_.assign(p.begin(), p.end());
        order_pass_ = pass_;
    }
    return order_;
}

nn::Batch LabelledBatches::next() {
    std::vector<int64_t> idx;
    while ((int64_t)idx.size() < batch_size_) {
        idx.push_back(order()[pos_]);
        if (++pos_ == subset_->size()) {
            pos_ = 0;
            ++pass_;
        }
    }
    return subset_->get(idx);
}

void LabelledBatches::save(nn::Checkpoint& ck, const std::string& name) const {
    ck.set_counter(name + "_pass", pass_).set_counter(name + "_pos", pos_);
}

void LabelledBatches::restore(const nn::Checkpoint& ck, const std::string& name) {
    pass_ = ck.counter(name + "_pass");
    pos_ = ck.counter(name + "_pos");
    ZG_CHECK(pass_ >= 0 && pos_ >= 0 && pos_ < subset_->size(), ck.source(), ": labelled-batch ",
             "position (pass ", pass_, ", position ", pos_, ") does not fit a subset of ",
             subset_->size(), " examples; was the run's --labels changed?");
}

// ---- evaluation ----

namespace {
// How many rows of logits [B, C] have their largest entry at the label.
int64_t count_correct(const Tensor& logits, const Tensor& labels) {
    ZG_CHECK(logits.dim() == 2 && labels.dim() == 1 && logits.size(0) == labels.size(0),
             "accuracy: expected logits [B, classes] and labels [B], got ",
             shape_str(logits.shape()), " and ", shape_str(labels.shape()));
    NoGradGuard ng;
    const std::vector<float> l = logits.detach().contiguous().to(DType::f32).to_vector<float>();
    const std::vector<int32_t> y = labels.to_vector<int32_t>();
    const int64_t c = logits.size(1);
    int64_t correct = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        const float* row = l.data() + i * c;
        correct += (std::max_element(row, row + c) - row) == y[i];
    }
    return correct;
}
}  // namespace

double batch_accuracy(const Tensor& logits, const Tensor& labels) {
    return (double)count_correct(logits, labels) / (double)std::max<int64_t>(labels.numel(), 1);
}

double classification_accuracy(nn::Module& classifier, const nn::Dataset& data,
                               int64_t batch_size) {
    ZG_CHECK(data.num_classes() > 0, "accuracy: data set '", data.name(), "' has no labels");
    ZG_CHECK(batch_size > 0, "accuracy: batch size must be positive, got ", batch_size);
    const bool was_training = classifier.is_training();
    classifier.eval();
    NoGradGuard ng;
    int64_t correct = 0;
    for (int64_t at = 0; at < data.size(); at += batch_size) {
        std::vector<int64_t> idx;
        for (int64_t i = at; i < std::min(at + batch_size, data.size()); ++i) idx.push_back(i);
        nn::Batch b = data.get(idx);
        correct += count_correct(classifier.forward(b.x), b.labels);
    }
    classifier.train(was_training);
    return (double)correct / (double)data.size();
}

// ---- losses ----

namespace {
Tensor lse(const Tensor& logits) {
    ZG_CHECK(logits.dim() == 2, "semi-supervised loss: logits must be [B, classes], got ",
             shape_str(logits.shape()));
    return logsumexp(logits, {1});
}
}  // namespace

// log D(x) = log(Z/(Z+1)) = lse(l) − log(1 + exp(lse(l))) = lse(l) − softplus(lse(l))
Tensor log_d(const Tensor& logits) {
    Tensor s = lse(logits);
    return s - softplus(s);
}

// log(1 − D(x)) = log(1/(Z+1)) = −softplus(lse(l))
Tensor log_one_minus_d(const Tensor& logits) {
    return -softplus(lse(logits));
}

// −mean log softmax(l)_y: with the fake logit at 0, p(y | x, real) is the softmax of the N
// real logits alone.
Tensor supervised_loss(const Tensor& logits, const Tensor& labels) {
    return cross_entropy(logits, labels);
}

// ½·(−mean[α log D(x) + (1−α) log(1−D(x))] − mean log(1 − D(G(z))))
Tensor unsupervised_d_loss(const Tensor& logits_real, const Tensor& logits_fake,
                           double real_target) {
    ZG_CHECK(real_target > 0 && real_target <= 1, "the real target of one-sided label smoothing ",
             "must be in (0, 1], got ", real_target);
    Tensor real_term = mean(log_d(logits_real));
    if (real_target < 1)
        real_term =
            real_term * real_target + mean(log_one_minus_d(logits_real)) * (1 - real_target);
    return (real_term + mean(log_one_minus_d(logits_fake))) * -0.5;
}

// −mean log D(G(z)) = mean[softplus(lse) − lse] = mean softplus(−lse(l))
Tensor generator_ns_loss(const Tensor& logits_fake) {
    return mean(softplus(-lse(logits_fake)));
}

// mean_f (mean_b f_real − mean_b f_fake)²
Tensor feature_matching_loss(const Tensor& features_real, const Tensor& features_fake) {
    ZG_CHECK(features_real.dim() == 2 && features_fake.dim() == 2 &&
                 features_real.size(1) == features_fake.size(1),
             "feature matching: features must be [B, F] with the same F, got ",
             shape_str(features_real.shape()), " and ", shape_str(features_fake.shape()));
    Tensor diff = mean(features_real, {0}) - mean(features_fake, {0});
    return mean(diff * diff);
}

}  // namespace zg::zoo
