// DCGAN as a zoo model: the pytorch/examples training recipe. Non-saturating G loss
// (ganhacks 2), Adam(2e-4, β₁ 0.5), z ~ N(0, I) (ganhacks 3), real and fake batches through D
// separately (ganhacks 4).
#include "nn/optim.h"
#include "zoo/dcgan.h"
#include "zoo/gan.h"

namespace zg::zoo {
namespace {

class DcganGan : public Gan {
public:
    DcganGan(const Json& c, const nn::Dataset& data) {
        const Shape s = data.example_shape();
        ZG_CHECK(s.size() == 3, "dcgan: needs image data [C, H, W], but '", data.name(),
                 "' has examples of shape ", shape_str(s), " (use the mlp model for 2-D points)");
        config_ = DcganConfig{c.at("image_size"), c.at("nz"), c.at("ngf"), c.at("ndf"), s[0]};
        ZG_CHECK(s[1] == config_.image_size && s[2] == config_.image_size, "dcgan: data '",
                 data.name(), "' has ", s[1], "×", s[2], " images but --image-size is ",
                 config_.image_size);
        Generator init(c.at("seed").get<uint64_t>());
        g_ = std::make_shared<DcganGenerator>(config_, &init);
        d_ = std::make_shared<DcganDiscriminator>(config_, &init);
        nn::AdamOptions o;
        o.betas = {c.at("beta1").get<double>(), c.at("beta2").get<double>()};
        o.lr = c.at("lr_g").get<double>();
        opt_g_ = std::make_unique<nn::Adam>(g_->parameters(), o);
        o.lr = c.at("lr_d").get<double>();
        opt_d_ = std::make_unique<nn::Adam>(d_->parameters(), o);
    }

    nn::Module& generator() override { return *g_; }
    nn::Module& discriminator() override { return *d_; }
    Tensor sample_z(int64_t n, Generator& gen) const override {
        return randn({n, config_.nz}, &gen);
    }

    // D: minimise BCE(D(x), 1) + BCE(D(G(z)), 0); G: minimise BCE(D(G(z)), 1), the
    // non-saturating form of min log(1 − D(G(z))).
    Scalars train_step(const nn::Batch& real, Generator& rng) override {
        const int64_t n = real.x.size(0);
        Tensor fake = g_->forward(sample_z(n, rng));
        Tensor d_real = d_->forward(real.x);
        Tensor d_fake = d_->forward(fake.detach());
        Tensor loss_d = bce_with_logits(d_real, ones({n})) + bce_with_logits(d_fake, zeros({n}));
        opt_d_->zero_grad();
        loss_d.backward();
        opt_d_->step();

        Tensor d_gen = d_->forward(fake);
        Tensor loss_g = bce_with_logits(d_gen, ones({n}));
        // Gradients for G only: grad() never computes the D weight gradients nobody uses.
        std::vector<Tensor> params = g_->parameters();
        std::vector<Tensor> grads = grad({loss_g}, params);
        for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
        opt_g_->step();

        NoGradGuard ng;
        return {{"loss_d", loss_d.item<double>()},
                {"loss_g", loss_g.item<double>()},
                {"d_real", mean(sigmoid(d_real)).item<double>()},
                {"d_fake", mean(sigmoid(d_fake)).item<double>()}};
    }

    void save(nn::Checkpoint& ck) const override {
        ck.add_module("G", *g_).add_module("D", *d_);
        ck.add_optimizer("opt_G", *opt_g_).add_optimizer("opt_D", *opt_d_);
    }
    void restore(const nn::Checkpoint& ck) override {
        ck.restore_module("G", *g_);
        ck.restore_module("D", *d_);
        ck.restore_optimizer("opt_G", *opt_g_);
        ck.restore_optimizer("opt_D", *opt_d_);
    }

private:
    DcganConfig config_;
    std::shared_ptr<DcganGenerator> g_;
    std::shared_ptr<DcganDiscriminator> d_;
    std::unique_ptr<nn::Adam> opt_g_, opt_d_;
};

}  // namespace

ModelInfo dcgan_model_info() {
    return {"dcgan",
            "Deep convolutional GAN (Radford et al. 2016), as pytorch/examples builds it",
            Json{{"image_size", 32},
                 {"nz", 100},
                 {"ngf", 64},
                 {"ndf", 64},
                 {"lr_g", 2e-4},
                 {"lr_d", 2e-4},
                 {"beta1", 0.5},
                 {"beta2", 0.999},
                 {"batch_size", 64}},
            [](const Json& c, const nn::Dataset& d) -> std::unique_ptr<Gan> {
                return std::make_unique<DcganGan>(c, d);
            }};
}

}  // namespace zg::zoo
