#include "zoo/dcgan.h"

#include "nn/conv.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/norm.h"

namespace zg::zoo {

using nn::make;

static int64_t blocks_for(const DcganConfig& c) {
    ZG_CHECK(c.image_size == 32 || c.image_size == 64, "dcgan: --image-size must be 32 or 64, got ",
             c.image_size);
    ZG_CHECK(c.nz > 0 && c.ngf > 0 && c.ndf > 0 && c.channels > 0,
             "dcgan: --nz, --ngf, --ndf and the channel count must be positive");
    return c.image_size == 64 ? 3 : 2;  // upsampling blocks between 4×4 and the output layer
}

DcganGenerator::DcganGenerator(const DcganConfig& c, Generator* gen) : config(c) {
    const int64_t blocks = blocks_for(c);
    main = register_module("main", make<nn::Sequential>());
    int64_t width = c.ngf << blocks;  // 8·ngf at 64×64, 4·ngf at 32×32
    // nz → width at 4×4
    main->add(make<nn::ConvTranspose2d>(c.nz, width, 4, 1, 0, 0, false))
        .add(make<nn::BatchNorm2d>(width))
        .add(make<nn::ReLU>());
    for (int64_t b = 0; b < blocks; ++b, width /= 2)  // doubles the size, halves the width
        main->add(make<nn::ConvTranspose2d>(width, width / 2, 4, 2, 1, 0, false))
            .add(make<nn::BatchNorm2d>(width / 2))
            .add(make<nn::ReLU>());
    main->add(make<nn::ConvTranspose2d>(width, c.channels, 4, 2, 1, 0, false))
        .add(make<nn::Tanh>());
    dcgan_init(*this, gen);
}

Tensor DcganGenerator::forward(const Tensor& z) {
    ZG_CHECK((z.dim() == 2 || (z.dim() == 4 && z.size(2) == 1 && z.size(3) == 1)) &&
                 z.size(1) == config.nz,
             "DcganGenerator: z must be [N, ", config.nz, "] or [N, ", config.nz,
             ", 1, 1], got ", shape_str(z.shape()));
    return main->forward(z.reshape({z.size(0), config.nz, 1, 1}));
}

DcganDiscriminator::DcganDiscriminator(const DcganConfig& c, Generator* gen) : config(c) {
    const int64_t blocks = blocks_for(c);
    main = register_module("main", make<nn::Sequential>());
    int64_t width = c.ndf;
    main->add(make<nn::Conv2d>(c.channels, width, 4, 2, 1, false)).add(make<nn::LeakyReLU>(0.2));
    for (int64_t b = 0; b < blocks; ++b, width *= 2)
        main->add(make<nn::Conv2d>(width, width * 2, 4, 2, 1, false))
            .add(make<nn::BatchNorm2d>(width * 2))
            .add(make<nn::LeakyReLU>(0.2));
    main->add(make<nn::Conv2d>(width, 1, 4, 1, 0, false));  // 4×4 → one logit
    dcgan_init(*this, gen);
}

Tensor DcganDiscriminator::forward(const Tensor& x) {
    const DcganConfig& c = config;
    ZG_CHECK(x.dim() == 4 && x.size(1) == c.channels && x.size(2) == c.image_size &&
                 x.size(3) == c.image_size,
             "DcganDiscriminator: images must be [N, ", c.channels, ", ", c.image_size, ", ",
             c.image_size, "], got ", shape_str(x.shape()));
    return main->forward(x).reshape({x.size(0)});
}

void dcgan_init(nn::Module& m, Generator* gen) {
    for (auto& [name, mod] : m.named_modules()) {
        const std::string t = mod->type_name();
        if (t == "Conv2d" || t == "ConvTranspose2d") {
            nn::init::normal_(mod->parameter("weight"), 0.0, 0.02, gen);
        } else if (t == "BatchNorm2d") {
            nn::init::normal_(mod->parameter("weight"), 1.0, 0.02, gen);
            nn::init::zeros_(mod->parameter("bias"));
        }
    }
}

}  // namespace zg::zoo
