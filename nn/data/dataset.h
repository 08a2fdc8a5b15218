#pragma once
// Data sets and readers. A data set lives in memory as one float32 tensor of examples
// (images [N, C, H, W] normalized to [-1, 1], ganhacks 1; or 2-D points [N, 2]) and int32
// labels; batches are gathered from it. Every reader validates its input and names the file
// and the problem when something is wrong.
#include <memory>
#include <string>
#include <vector>

#include "engine/ops.h"

namespace zg::nn {

struct Batch {
    Tensor x;       // [B, ...] float32
    Tensor labels;  // [B] int32, or undefined for unlabelled data
};

class Dataset {
public:
    virtual ~Dataset() = default;
    virtual int64_t size() const = 0;
    virtual Shape example_shape() const = 0;
    virtual int64_t num_classes() const { return 0; }  // 0: unlabelled
    virtual std::string name() const = 0;
    // The examples at `indices`, in that order.
    virtual Batch get(const std::vector<int64_t>& indices) const = 0;
};

// All examples in one tensor. Gathering copies rows with memcpy (no engine ops), so a loader
// thread can call it while the training thread runs its kernels.
class TensorDataset : public Dataset {
public:
    TensorDataset(Tensor examples, Tensor labels, int64_t num_classes, std::string name);
    int64_t size() const override { return examples_.size(0); }
    Shape example_shape() const override;
    int64_t num_classes() const override { return num_classes_; }
    std::string name() const override { return name_; }
    Batch get(const std::vector<int64_t>& indices) const override;
    const Tensor& examples() const { return examples_; }
    const Tensor& labels() const { return labels_; }

private:
    Tensor examples_, labels_;
    int64_t num_classes_;
    std::string name_;
};

// ---- readers ----
// An IDX file (the MNIST format), plain or gzip-compressed: magic (0x0000 + type 0x08 for
// unsigned bytes + number of dims), big-endian dims, then the data. Returns the raw bytes
// and the dims; the size must match the header exactly.
struct IdxArray {
    Shape dims;
    std::vector<uint8_t> data;
};
IdxArray read_idx(const std::string& path);
IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& what);

// Images [N, H, W] bytes → float32 [N, 1, H, W] in [-1, 1], optionally padded with the
// background value (-1) to `pad_to` pixels square.
Tensor images_from_idx(const IdxArray& a, const std::string& what);

// MNIST-layout directory: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
std::shared_ptr<TensorDataset> load_idx_dataset(const std::string& dir, bool train,
                                                const std::string& name);

// Gaussian mixtures in 2-D for mode-coverage experiments (Metz et al. 2017; Srivastava et al.
// 2017): "ring8" — 8 modes evenly on a circle of radius 2, std 0.02; "grid25" — a 5×5 grid of
// modes at {−4, −2, 0, 2, 4}², std 0.05. Labels are the mode index.
struct MixtureSpec {
    std::vector<std::array<double, 2>> centers;
    double std;
};
MixtureSpec mixture_spec(const std::string& name);
std::shared_ptr<TensorDataset> make_mixture(const std::string& name, int64_t n, uint64_t seed);

// A folder of images (PNG, JPEG, BMP, ... via stb_image). With sub-folders, each sub-folder is
// a class (sorted by name); otherwise the folder is one unlabelled set. Images are resized
// (shorter side to `image_size`, bilinear) and center-cropped to image_size², with 1 or 3
// channels.
std::shared_ptr<TensorDataset> load_image_folder(const std::string& dir, int64_t image_size,
                                                 int64_t channels);
// One image file as float32 [C, H, W] in [-1, 1] at its own size (errors name the file).
Tensor read_image(const std::string& path, int64_t channels);
// The same from an image file's bytes in memory; `what` names them in errors. read_image reads
// the file and calls this.
Tensor decode_image(const uint8_t* bytes, size_t size, const std::string& what, int64_t channels);

// Resizes images [N, C, H, W] to image_size² as the DCGAN models expect: 28×28 digits are
// padded to 32 with the background value; other sizes are resized (bilinear) and
// center-cropped.
Tensor fit_images(const Tensor& images, int64_t image_size);

// The data set named by the CLI: "mnist", "fashion" (under `data_root`, or where
// find_data_root in data_root.h finds them when it is empty), "ring8", "grid25", or a path to
// an image folder. Errors say what to run (e.g. "make data") when a named set is missing.
std::shared_ptr<TensorDataset> load_dataset(const std::string& name_or_path, bool train,
                                            int64_t image_size, int64_t channels = 0,
                                            const std::string& data_root = "");

}  // namespace zg::nn
