#pragma once
#include <future>
#include <memory>
#include <vector>

#include "nn/data/dataset.h"

namespace zg::nn {

// Where a loader is: the epoch and the position of the next batch's first example in that
// epoch's order. Because each epoch's shuffle depends only on (seed, epoch), this pair is the
// loader's whole state, and restoring it resumes the exact batch sequence. It counts examples,
// not batches, so it stays meaningful when the batch size changes (ProGAN's per-resolution
// batch sizes).
struct LoaderState {
    int64_t epoch = 0;
    int64_t offset = 0;
};

// Mini-batches from a Dataset, reshuffled every epoch with the project RNG. With prefetch, the
// next batch is gathered on a background thread while the caller trains on this one.
class DataLoader {
public:
    DataLoader(std::shared_ptr<Dataset> data, int64_t batch_size, bool shuffle = true,
               bool drop_last = true, uint64_t seed = 0, bool prefetch = true);
    ~DataLoader();
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;

    // The next batch; after the last batch of an epoch, the first of the next epoch.
    Batch next();
    int64_t batches_per_epoch() const;
    int64_t batch_size() const { return batch_size_; }
    // Later batches have this size, starting at the current position (a batch gathered ahead
    // at the old size is dropped). With drop_last, an epoch ends where a full batch no longer
    // fits, so the examples left over are skipped as at any other epoch end.
    void set_batch_size(int64_t batch_size);
    LoaderState state() const { return pos_; }
    void set_state(LoaderState s);
    const Dataset& dataset() const { return *data_; }

private:
    Batch gather(LoaderState at) const;
    const std::vector<int64_t>& order(int64_t epoch) const;  // example order of an epoch
    LoaderState advance(LoaderState at) const;
    // Where a batch starting at `at` cannot be taken any more (drop_last and too few examples
    // left, or none left), the start of the next epoch; `at` otherwise.
    LoaderState start_of_batch(LoaderState at) const;
    void drop_prefetched();

    std::shared_ptr<Dataset> data_;
    int64_t batch_size_;
    bool shuffle_, drop_last_, prefetch_;
    uint64_t seed_;
    LoaderState pos_;
    std::future<Batch> pending_;  // the batch at pos_, being gathered
    mutable std::vector<int64_t> order_;
    mutable int64_t order_epoch_ = -1;
};

}  // namespace zg::nn
