#pragma once
// DCGAN (Radford, Metz, Chintala 2016) exactly as pytorch/examples builds it, so its weights
// load by name: G is a stack of transposed convolutions with BatchNorm and ReLU and a tanh
// output; D is the mirror image with strided convolutions and LeakyReLU(0.2), BatchNorm on its
// middle layers only. At 64×64 the stacks are those of pytorch/examples; at 32×32 each is one
// block shorter (G: nz → 4·ngf at 4×4 → 2·ngf → ngf → channels).
#include "nn/sequential.h"

namespace zg::zoo {

struct DcganConfig {
    int64_t image_size = 32;  // 32 or 64
    int64_t nz = 100;         // latent size
    int64_t ngf = 64;         // generator width
    int64_t ndf = 64;         // discriminator width
    int64_t channels = 1;     // image channels
};

class DcganGenerator : public nn::Module {
public:
    explicit DcganGenerator(const DcganConfig& c, Generator* gen = nullptr);
    // z [N, nz] or [N, nz, 1, 1] → images [N, channels, S, S] in [-1, 1]
    Tensor forward(const Tensor& z) override;
    std::string type_name() const override { return "DcganGenerator"; }
    const DcganConfig config;
    std::shared_ptr<nn::Sequential> main;
};

class DcganDiscriminator : public nn::Module {
public:
    explicit DcganDiscriminator(const DcganConfig& c, Generator* gen = nullptr);
    // images → logits [N] (pytorch/examples ends in a Sigmoid; zoograd keeps the logit and
    // applies the sigmoid inside the loss, which is the numerically stable form; the Sigmoid
    // has no parameters, so state dicts match)
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "DcganDiscriminator"; }
    const DcganConfig config;
    std::shared_ptr<nn::Sequential> main;
};

// pytorch/examples' weights_init: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02), shift 0.
void dcgan_init(nn::Module& m, Generator* gen = nullptr);

}  // namespace zg::zoo
