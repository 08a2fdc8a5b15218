// VAE-GAN (Larsen, Sønderby, Larochelle & Winther 2016; ganhacks 7: a hybrid where a plain GAN
// struggles). An encoder E (a DCGAN D whose last layer gives μ and log σ² of q(z|x)) and the
// DCGAN G as decoder form a VAE whose reconstruction error is measured in a hidden layer of the
// DCGAN D (the input of D's last layer), so "similar" means similar to D rather than close in
// pixels; D is trained as a GAN against both reconstructions G(E(x)) and samples G(z_p),
// z_p ~ N(0, I). Per step, with F the number of elements the reconstruction compares:
//   L_prior = KL(q(z|x) ‖ N(0, I)) / F,   summed over z's dims, mean over the batch
//   L_llike = ½ mean over elements of (D_l(x) − D_l(x̃))²   (--recon feature; D_l(x) is the
//             target, no gradient), or mean |x − x̃| (--recon pixel, the L1 option)
//   L_GAN   = ½ (loss(x, x̃) + loss(x, x_p)) with --loss's D and G forms
//   E minimises L_prior + L_llike (the ELBO, both terms per element), G minimises
//   --recon-weight · L_llike + L_GAN(G), D minimises L_GAN(D); all three gradients are taken on
//   the same forward pass and applied together, as the paper's Algorithm 1.
#include "zoo/models/dcgan/networks.h"
#include "zoo/registry.h"

namespace zg::zoo {
namespace {

class Vaegan : public Gan {
public:
    Vaegan(const Json& c, const nn::Dataset& data)
        : loss_(own_step_loss(c, "vaegan")),
          pixel_recon_(c.at("recon").get<std::string>() == "pixel"),
          recon_weight_(c.at("recon_weight").get<double>()) {
        const Shape s = data.example_shape();
        ZG_CHECK(s.size() == 3, "vaegan: needs image data [C, H, W], but '", data.name(),
                 "' has examples of shape ", shape_str(s));
        const std::string recon = c.at("recon").get<std::string>();
        ZG_CHECK(recon == "feature" || recon == "pixel", "--recon must be feature or pixel, got '",
                 recon, "'");
        ZG_CHECK(recon_weight_ >= 0, "--recon-weight must be ≥ 0, got ", recon_weight_);
        config_ = dcgan_config_from(c, s[0]);
        ZG_CHECK(s[1] == config_.image_size && s[2] == config_.image_size, "vaegan: data '",
                 data.name(), "' has ", s[1], "×", s[2], " images but --image-size is ",
                 config_.image_size);
        ZG_CHECK(pixel_recon_ || !config_.minibatch_disc,
                 "vaegan: --recon feature compares single images in D's last hidden layer, "
                 "which --minibatch-disc mixes across the batch; use --recon pixel with it");
        // The encoder is D's architecture with a 2·nz output (μ, log σ²) and none of D's
        // batch-level or GAN-specific switches.
        DcganConfig enc = config_;
        enc.d_outputs = 2 * config_.nz;
        enc.minibatch_disc = false;
        enc.spectral_norm = "none";
        Rng init(c.at("seed").get<uint64_t>());
        g_ = std::make_shared<DcganGenerator>(config_, &init);
        d_ = std::make_shared<DcganDiscriminator>(config_, &init);
        e_ = std::make_shared<DcganDiscriminator>(enc, &init);
        opt_g_ =
            nn::make_optimizer("adam", g_->parameters(), c.at("lr_g").get<double>(), adam_betas(c));
        opt_d_ =
            nn::make_optimizer("adam", d_->parameters(), c.at("lr_d").get<double>(), adam_betas(c));
        opt_e_ =
            nn::make_optimizer("adam", e_->parameters(), c.at("lr_g").get<double>(), adam_betas(c));
    }

    nn::Module& generator() override { return *g_; }
    nn::Module& discriminator() override { return *d_; }
    Tensor sample_z(int64_t n, Rng& gen) const override { return randn({n, config_.nz}, &gen); }

    Scalars train_step(const nn::Batch& real, Rng& rng) override {
        const Tensor& x = real.x;
        const int64_t n = x.size(0), nz = config_.nz;
        Tensor stats = e_->forward(x);  // [N, 2·nz]
        Tensor mu = stats.slice(1, 0, nz).contiguous();
        Tensor logvar = stats.slice(1, nz, 2 * nz).contiguous();
        Tensor z = mu + exp(logvar * 0.5) * randn({n, nz}, &rng);  // reparametrization
        Tensor x_rec = g_->forward(z);
        Tensor x_p = g_->forward(sample_z(n, rng));

        Tensor f_real = d_->features(x), f_rec = d_->features(x_rec), f_p = d_->features(x_p);
        Tensor d_real = d_->head(f_real), d_rec = d_->head(f_rec), d_p = d_->head(f_p);
        Tensor loss_d = (d_loss(loss_, d_real, d_rec) + d_loss(loss_, d_real, d_p)) * 0.5;
        Tensor loss_gan = (g_loss(loss_, d_real, d_rec) + g_loss(loss_, d_real, d_p)) * 0.5;
        Tensor llike = pixel_recon_ ? mean(abs(x - x_rec)) : mse_loss(f_rec, f_real.detach()) * 0.5;
        const double elements = (double)(pixel_recon_ ? x.numel() : f_real.numel()) / n;
        // KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − log σ² − 1)
        Tensor kl = mean(sum(mu * mu + exp(logvar) - logvar - 1.0, {1})) * (0.5 / elements);
        Tensor loss_e = kl + llike;
        Tensor loss_g = llike * recon_weight_ + loss_gan;

        // Gradients of each net's own objective (D's adversarial loss does not depend on how
        // the fakes were made, so no detach is needed for it), then the three updates.
        const std::vector<Tensor> pd = d_->parameters(), pe = e_->parameters(),
                                  pg = g_->parameters();
        opt_d_->zero_grad();
        opt_e_->zero_grad();
        opt_g_->zero_grad();
        set_grads(loss_d, pd, true);
        set_grads(loss_e, pe, true);
        set_grads(loss_g, pg);
        const double norm_d = nn::grad_norm(pd), norm_g = nn::grad_norm(pg),
                     norm_e = nn::grad_norm(pe);
        opt_d_->step();
        opt_e_->step();
        opt_g_->step();

        NoGradGuard ng;
        return {{"loss_d", loss_d.item<double>()},
                {"loss_g", loss_gan.item<double>()},
                {"loss_kl", kl.item<double>()},
                {"loss_recon", llike.item<double>()},
                {"d_real", mean_d_output(loss_, d_real)},
                {"d_fake", mean_d_output(loss_, d_p)},
                {"grad_norm_d", norm_d},
                {"grad_norm_g", norm_g},
                {"grad_norm_e", norm_e}};
    }

    void save(nn::Checkpoint& ck) const override {
        ck.add_module("G", *g_).add_module("D", *d_).add_module("E", *e_);
        ck.add_optimizer("opt_G", *opt_g_).add_optimizer("opt_D", *opt_d_);
        ck.add_optimizer("opt_E", *opt_e_);
        ck.set_rng("G_noise", g_->noise_rng);
    }
    void restore(const nn::Checkpoint& ck) override {
        ck.restore_module("G", *g_);
        ck.restore_module("D", *d_);
        ck.restore_module("E", *e_);
        ck.restore_optimizer("opt_G", *opt_g_);
        ck.restore_optimizer("opt_D", *opt_d_);
        ck.restore_optimizer("opt_E", *opt_e_);
        ck.restore_rng("G_noise", g_->noise_rng);
    }

private:
    Loss loss_;
    bool pixel_recon_;
    double recon_weight_;
    DcganConfig config_;
    std::shared_ptr<DcganGenerator> g_;
    std::shared_ptr<DcganDiscriminator> d_, e_;
    std::unique_ptr<nn::Optimizer> opt_g_, opt_d_, opt_e_;
};

}  // namespace

ModelInfo vaegan_model_info() {
    Json defaults = dcgan_arch_defaults();
    defaults.update(Json{{"loss", "ns"},
                         {"lr_g", 2e-4},
                         {"lr_d", 2e-4},
                         {"beta1", 0.5},
                         {"beta2", 0.999},
                         {"batch_size", 64},
                         {"recon", "feature"},
                         {"recon_weight", 1.0}});
    std::map<std::string, std::string> help = dcgan_arch_help();
    help.merge(std::map<std::string, std::string>{
        {"recon",
         "vaegan: reconstruction error in D's last hidden layer (feature, Larsen et "
         "al.) or in pixels (pixel: L1)"},
        {"recon_weight",
         "vaegan: weight (gamma) of the reconstruction error in the decoder's "
         "loss against the GAN loss"}});
    return {"vaegan",
            "VAE-GAN hybrid (Larsen et al. 2016): encoder + DCGAN G as decoder + DCGAN D, "
            "feature-wise reconstruction",
            defaults,
            [](const Json& c, const nn::Dataset& d) -> std::unique_ptr<Gan> {
                return std::make_unique<Vaegan>(c, d);
            },
            help};
}

}  // namespace zg::zoo
