#include "nn/data/dataloader.h"

namespace zg::nn {

DataLoader::DataLoader(std::shared_ptr<Dataset> data, int64_t batch_size, bool shuffle,
                       bool drop_last, uint64_t seed, bool prefetch)
    : data_(std::move(data)),
      batch_size_(batch_size),
      shuffle_(shuffle),
      drop_last_(drop_last),
      prefetch_(prefetch),
      seed_(seed) {
    ZG_CHECK(data_ && data_->size() > 0, "DataLoader: the data set is empty");
    set_batch_size(batch_size);
}

DataLoader::~DataLoader() {
    if (pending_.valid()) pending_.wait();
}

int64_t DataLoader::batches_per_epoch() const {
    const int64_t n = data_->size();
    return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

void DataLoader::set_batch_size(int64_t batch_size) {
    ZG_CHECK(batch_size > 0, "DataLoader: batch size must be positive, got ", batch_size);
    ZG_CHECK(!drop_last_ || batch_size <= data_->size(), "DataLoader: batch size ", batch_size,
             " is larger than the data set (", data_->size(),
             " examples) and drop_last is on; use a smaller --batch-size");
    drop_prefetched();
    batch_size_ = batch_size;
    pos_ = start_of_batch(pos_);
}

LoaderState DataLoader::start_of_batch(LoaderState at) const {
    const int64_t left = data_->size() - at.offset;
    if (left <= 0 || (drop_last_ && left < batch_size_)) return {at.epoch + 1, 0};
    return at;
}

LoaderState DataLoader::advance(LoaderState at) const {
    return start_of_batch({at.epoch, at.offset + batch_size_});
}

const std::vector<int64_t>& DataLoader::order(int64_t epoch) const {
    if (order_epoch_ == epoch) return order_;
    const int64_t n = data_->size();
    order_.resize(n);
    if (shuffle_) {
        // Epoch e's permutation uses Philox blocks [e·n, (e+1)·n) of the loader's seed: a
        // fresh, reproducible shuffle per epoch with no state to carry.
        Rng g(seed_);
        g.set_state({seed_, (uint64_t)(epoch * n)});
        Tensor perm = randperm(n, &g);
        const int32_t* p = perm.data<int32_t>();
        for (int64_t i = 0; i < n; ++i) order_[i] = p[i];
    } else {
        for (int64_t i = 0; i < n; ++i) order_[i] = i;
    }
    order_epoch_ = epoch;
    return order_;
}

// Runs on the prefetch thread, or inline; never two at once (next() waits for the previous).
Batch DataLoader::gather(LoaderState at) const {
    const std::vector<int64_t>& o = order(at.epoch);
    const int64_t end = std::min(at.offset + batch_size_, (int64_t)o.size());
    return data_->get(std::vector<int64_t>(o.begin() + at.offset, o.begin() + end));
}

Batch DataLoader::next() {
    Batch b = pending_.valid() ? pending_.get() : gather(pos_);
    pos_ = advance(pos_);
    if (prefetch_)
        pending_ = std::async(std::launch::async, [this, at = pos_] { return gather(at); });
    return b;
}

void DataLoader::drop_prefetched() {
    if (pending_.valid()) pending_.get();  // gathered for a position or size that changed
}

void DataLoader::set_state(LoaderState s) {
    ZG_CHECK(s.epoch >= 0 && s.offset >= 0 && start_of_batch(s).epoch == s.epoch,
             "DataLoader: invalid position (epoch ", s.epoch, ", example ", s.offset, " of ",
             data_->size(), " with batches of ", batch_size_, ")");
    drop_prefetched();
    pos_ = s;
}

}  // namespace zg::nn
