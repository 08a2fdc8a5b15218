#include "zoo/losses/losses.h"

#include "engine/ops.h"

namespace zg::zoo {

namespace {

struct Named {
    Loss loss;
    const char* name;
};
constexpr Named kLosses[] = {
    {Loss::minimax, "minimax"}, {Loss::ns, "ns"},       {Loss::wgan, "wgan"},
    {Loss::wgan_gp, "wgan-gp"}, {Loss::lsgan, "lsgan"}, {Loss::hinge, "hinge"},
    {Loss::rsgan, "rsgan"},     {Loss::ragan, "ragan"}, {Loss::ralsgan, "ralsgan"}};

// BCE with logits against a constant target, or per-example targets when given.
Tensor bce(const Tensor& logits, const Tensor& target, double hard) {
    return bce_with_logits(logits,
                           target.defined() ? target : full(logits.shape(), hard, logits.dtype()));
}

Tensor sq(const Tensor& x) {
    return x * x;
}

}  // namespace

nlohmann::json loss_recipe(Loss loss) {
    switch (loss) {
        case Loss::wgan_gp:
            return {
                {"lr_g", 1e-4}, {"lr_d", 1e-4}, {"beta1", 0.0}, {"beta2", 0.9}, {"n_critic", 5}};
        case Loss::wgan:
            return {{"optim_d", "rmsprop"},
                    {"optim_g", "rmsprop"},
                    {"lr_g", 5e-5},
                    {"lr_d", 5e-5},
                    {"n_critic", 5}};
        default:
            return nlohmann::json::object();
    }
}

Loss parse_loss(const std::string& name) {
    std::string known;
    for (const Named& n : kLosses) {
        if (name == n.name) return n.loss;
        known += std::string(known.empty() ? "" : ", ") + n.name;
    }
    throw Error("--loss: unknown loss '" + name + "'; known losses: " + known);
}

std::string loss_name(Loss l) {
    for (const Named& n : kLosses)
        if (n.loss == l) return n.name;
    throw Error("loss_name: not a Loss value");
}

bool loss_uses_labels(Loss l) {
    return l == Loss::minimax || l == Loss::ns || l == Loss::lsgan;
}

// r = d_real, f = d_fake (raw outputs), σ the logistic function, E the batch mean, y₁/y₀ the
// real/fake targets (1 and 0 unless LabelTargets says otherwise).
Tensor d_loss(Loss l, const Tensor& r, const Tensor& f, const LabelTargets& t) {
    ZG_CHECK(loss_uses_labels(l) || (!t.real.defined() && !t.fake.defined()), "--loss ",
             loss_name(l), " has no labels, so it takes no soft or flipped targets");
    switch (l) {
        // Goodfellow et al. 2014, both G forms: −E log σ(r) − E log(1 − σ(f)), i.e.
        // BCE(r, y₁) + BCE(f, y₀) (pytorch/examples sums the two terms).
        case Loss::minimax:
        case Loss::ns:
            if (!t.real.defined() && !t.fake.defined())  // the hard targets, as DCGAN builds them
                return bce_with_logits(r, ones_like(r)) + bce_with_logits(f, zeros_like(f));
            return bce(r, t.real, 1.0) + bce(f, t.fake, 0.0);
        // Arjovsky et al. 2017 / Gulrajani et al. 2017: the critic maximises E r − E f.
        case Loss::wgan:
        case Loss::wgan_gp:
            return mean(f) - mean(r);
        // Mao et al. 2017 (0-1 coding): ½ E (r − y₁)² + ½ E (f − y₀)².
        case Loss::lsgan:
            return 0.5 * mse_loss(r, t.real.defined() ? t.real : ones_like(r)) +
                   0.5 * mse_loss(f, t.fake.defined() ? t.fake : zeros_like(f));
        // Lim & Ye 2017; Miyato et al. 2018: E max(0, 1 − r) + E max(0, 1 + f).
        case Loss::hinge:
            return mean(relu(1.0 - r)) + mean(relu(1.0 + f));
        // Jolicoeur-Martineau 2018, relativistic standard GAN, pairing example i of each batch:
        // E −log σ(r − f) = BCE(r − f, 1).
        case Loss::rsgan:
            return bce_with_logits(r - f, ones_like(r));
        // Relativistic average GAN: ½ [BCE(r − E f, 1) + BCE(f − E r, 0)].
        case Loss::ragan:
            return 0.5 * (bce_with_logits(r - mean(f), ones_like(r)) +
                          bce_with_logits(f - mean(r), zeros_like(f)));
        // Relativistic average LSGAN: ½ [E (r − E f − 1)² + E (f − E r + 1)²].
        case Loss::ralsgan:
            return 0.5 * (mean(sq(r - mean(f) - 1.0)) + mean(sq(f - mean(r) + 1.0)));
    }
    throw Error("d_loss: not a Loss value");
}

Tensor g_loss(Loss l, const Tensor& r, const Tensor& f) {
    switch (l) {
        // The saturating original: G minimises E log(1 − σ(f)) = −E softplus(f), whose
        // gradient vanishes exactly when D confidently rejects the fakes (ganhacks 2).
        case Loss::minimax:
            return -mean(softplus(f));
        // Non-saturating: G maximises E log σ(f), i.e. minimises BCE(f, 1) = E softplus(−f).
        case Loss::ns:
            return bce_with_logits(f, ones_like(f));
        // −E f (WGAN, WGAN-GP and hinge alike).
        case Loss::wgan:
        case Loss::wgan_gp:
        case Loss::hinge:
            return -mean(f);
        // ½ E (f − 1)².
        case Loss::lsgan:
            return 0.5 * mse_loss(f, ones_like(f));
        // BCE(f − r, 1).
        case Loss::rsgan:
            return bce_with_logits(f - r, ones_like(f));
        // ½ [BCE(r − E f, 0) + BCE(f − E r, 1)].
        case Loss::ragan:
            return 0.5 * (bce_with_logits(r - mean(f), zeros_like(r)) +
                          bce_with_logits(f - mean(r), ones_like(f)));
        // ½ [E (f − E r − 1)² + E (r − E f + 1)²].
        case Loss::ralsgan:
            return 0.5 * (mean(sq(f - mean(r) - 1.0)) + mean(sq(r - mean(f) + 1.0)));
    }
    throw Error("g_loss: not a Loss value");
}

bool is_logit_loss(Loss l) {
    return l == Loss::minimax || l == Loss::ns || l == Loss::rsgan || l == Loss::ragan;
}

double mean_d_output(Loss loss, const Tensor& d_out) {
    NoGradGuard ng;
    return mean(is_logit_loss(loss) ? sigmoid(d_out) : d_out).item<double>();
}

}  // namespace zg::zoo
