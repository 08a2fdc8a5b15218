#pragma once
// Small layers with PyTorch's names and semantics (activations, shape changes, resampling,
// dropout, embeddings) and the GAN-specific ones: Gaussian noise (ganhacks 13), the ProGAN
// minibatch standard deviation and Salimans et al.'s minibatch discrimination.
// Layers that draw random numbers take an optional Rng (null: the global one).
#include <string>

#include "nn/module.h"

namespace zg::nn {

// ---- activations ----
class ReLU : public Module {
public:
    Tensor forward(const Tensor& x) override { return relu(x); }
    std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
public:
    explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
    Tensor forward(const Tensor& x) override { return leaky_relu(x, negative_slope); }
    std::string type_name() const override { return "LeakyReLU"; }
    std::string extra_repr() const override;
    const double negative_slope;
};

class Tanh : public Module {
public:
    Tensor forward(const Tensor& x) override { return tanh(x); }
    std::string type_name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
public:
    Tensor forward(const Tensor& x) override { return sigmoid(x); }
    std::string type_name() const override { return "Sigmoid"; }
};

// ---- shape changes ----
// Merges dims start..end into one, as torch.nn.Flatten (default keeps the batch dim).
class Flatten : public Module {
public:
    explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
        : start_dim(start_dim), end_dim(end_dim) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Flatten"; }
    std::string extra_repr() const override;
    const int64_t start_dim, end_dim;
};

// Keeps the batch dim and reshapes the rest: Reshape({C, H, W}) maps [N, C·H·W] to
// [N, C, H, W]. One entry may be -1 (inferred). A view when the input's layout allows it.
class Reshape : public Module {
public:
    explicit Reshape(Shape shape);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Reshape"; }
    std::string extra_repr() const override;
    const Shape shape;
};

// ---- resampling and pooling ([N, C, H, W] inputs) ----
// Upsampling by an integer factor, mode "nearest" or "bilinear" (align_corners=false).
class Upsample : public Module {
public:
    explicit Upsample(int64_t scale_factor = 2, std::string mode = "nearest");
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Upsample"; }
    std::string extra_repr() const override;
    const int64_t scale_factor;
    const std::string mode;
};

// [N, C·r², H, W] → [N, C, H·r, W·r] (ganhacks 5: upsample with PixelShuffle).
class PixelShuffle : public Module {
public:
    explicit PixelShuffle(int64_t upscale_factor);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "PixelShuffle"; }
    std::string extra_repr() const override;
    const int64_t upscale_factor;
};

// Mean over k×k windows; stride 0 means stride = k (PyTorch's stride=None); zero padding is
// counted in the mean (count_include_pad=True).
class AvgPool2d : public Module {
public:
    explicit AvgPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "AvgPool2d"; }
    std::string extra_repr() const override;
    const int64_t kernel_size, stride, padding;
};

// ---- noise ----
// Zeroes elements with probability p and scales the rest by 1/(1−p), in training mode; with
// also_at_eval it stays active in eval mode too (ganhacks 17 / pix2pix: dropout in G at
// sampling time as the noise source).
class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5, bool also_at_eval = false, Rng* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Dropout"; }
    std::string extra_repr() const override;
    bool active() const { return is_training() || also_at_eval; }
    const double p;
    const bool also_at_eval;

private:
    Rng* gen_;
};

// y = x + σ·ε, ε ~ N(0, I), in training mode only unless also_at_eval (ganhacks 13: noise on
// D's inputs and on G's layers). σ can be changed while training (set_std), e.g. to decay it;
// σ = 0 passes x through untouched.
class GaussianNoise : public Module {
public:
    explicit GaussianNoise(double std = 0.1, bool also_at_eval = false, Rng* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "GaussianNoise"; }
    std::string extra_repr() const override;
    double std() const { return std_; }
    void set_std(double std);
    bool active() const { return is_training() || also_at_eval; }
    const bool also_at_eval;

private:
    double std_;
    Rng* gen_;
};

// ---- lookup ----
// A table of num_embeddings vectors of size embedding_dim ("weight", N(0, 1) as PyTorch).
// int32 indices of any shape [...] give [..., embedding_dim]; an index outside
// [0, num_embeddings) is an error naming it.
class Embedding : public Module {
public:
    Embedding(int64_t num_embeddings, int64_t embedding_dim, Rng* gen = nullptr);
    Tensor forward(const Tensor& indices) override;
    std::string type_name() const override { return "Embedding"; }
    std::string extra_repr() const override;
    Tensor weight() { return parameter("weight"); }
    const int64_t num_embeddings, embedding_dim;
};

// ---- GAN discriminator layers ----

// The minibatch standard deviation of ProGAN (Karras et al. 2018, §3), as their official code:
// x [N, C, H, W] is split into groups of G = min(group_size, N) samples, sample n belonging to
// group n mod (N/G) (x viewed as [G, N/G, C, H, W]); per group the biased standard deviation
// over its G samples, √(var + 1e-8), of every feature and pixel is averaged to one number, which
// is appended to each sample of the group as an extra constant channel: [N, C+1, H, W].
// N must be divisible by G (an error otherwise).
Tensor minibatch_stddev(const Tensor& x, int64_t group_size = 4);

class MinibatchStdDev : public Module {
public:
    explicit MinibatchStdDev(int64_t group_size = 4);
    Tensor forward(const Tensor& x) override { return minibatch_stddev(x, group_size); }
    std::string type_name() const override { return "MinibatchStdDev"; }
    std::string extra_repr() const override;
    const int64_t group_size;
};

// Minibatch discrimination (Salimans et al. 2016, §3.2). For x [N, A] and T [A, B·C]:
//   M = x·T viewed as [N, B, C]
//   c_b(x_i, x_j) = exp(−‖M_i,b − M_j,b‖₁)
//   o(x_i)_b = Σ_j c_b(x_i, x_j)            (j = i included, as the paper writes it, so every
//                                            o_b ≥ 1; OpenAI's code subtracts that term)
// and the output is [x, o(x)]: [N, A + B]. Built from broadcasting ops, so it has first and
// second derivatives (the ‖·‖₁ kink is only met on the diagonal, where the difference is
// identically zero).
Tensor minibatch_discrimination(const Tensor& x, const Tensor& T, int64_t out_features,
                                int64_t kernel_dims);

// The layer holds T as parameter "T" [in_features, out_features·kernel_dims], initialized
// N(0, 0.05²) as the theta of OpenAI's improved-gan code (larger weights make every
// c_b ≈ 0 for distinct samples and the feature useless at the start).
class MinibatchDiscrimination : public Module {
public:
    MinibatchDiscrimination(int64_t in_features, int64_t out_features, int64_t kernel_dims,
                            Rng* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "MinibatchDiscrimination"; }
    std::string extra_repr() const override;
    const int64_t in_features, out_features, kernel_dims;
};

}  // namespace zg::nn
