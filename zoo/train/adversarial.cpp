#include "zoo/train/adversarial.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "zoo/train/flag.h"

namespace zg::zoo {

Json adversarial_defaults() {
    return Json{{"loss", "ns"},
                {"reg", "auto"},
                {"reg_weight", 0.0},
                {"gp_center", 1},
                {"clip", 0.0},
                {"n_critic", 1},
                {"optim_d", "adam"},
                {"optim_g", "adam"},
                {"lr_g", 2e-4},
                {"lr_d", 2e-4},
                {"beta1", 0.5},
                {"beta2", 0.999},
                {"z_dist", "normal"},
                {"d_batches", "separate"},
                {"real_label", "1"},
                {"fake_label", "0"},
                {"one_sided_smoothing", false},
                {"label_flip", 0.0},
                {"instance_noise", 0.0},
                {"noise_decay", 0},
                {"replay_size", 0},
                {"replay_prob", 0.5},
                {"swap_every", 0},
                {"swap_for", 1},
                {"swap_nets", "both"},
                {"d_until_loss", ""},
                {"g_until_loss", ""},
                {"until_max", 10}};
}

std::map<std::string, std::string> adversarial_help() {
    return {
        {"loss",
         "Adversarial loss: minimax, ns (non-saturating), wgan (weight clipping), wgan-gp, "
         "lsgan, hinge, rsgan, ragan, ralsgan (docs/LOSSES.md); wgan and wgan-gp bring their "
         "papers' optimizer settings for the flags not given (wgan: RMSprop, lr 5e-5, 5 critic "
         "steps; wgan-gp: Adam lr 1e-4, beta (0, 0.9), 5 critic steps)"},
        {"reg",
         "D regularizer: gp (gradient penalty on interpolates), r1 (on reals), r2 (on "
         "fakes), drift (ProGAN's E[D(x)^2]), none, or a sum such as gp+drift (weights "
         "after colons: gp:10+drift:0.001); auto: gp with --loss wgan-gp, else none"},
        {"reg_weight",
         "Weight of a single --reg; 0: its usual value (gp 10, r1/r2 10, drift 0.001)"},
        {"gp_center", "Target gradient norm of --reg gp: 1 (WGAN-GP) or 0 (zero-centred)"},
        {"clip",
         "WGAN weight clipping of D's parameters to [-c, c] after each D step (--loss "
         "wgan only); 0: 0.01 with wgan"},
        {"n_critic", "D updates per G update, each on a fresh real batch (ganhacks 14)"},
        {"optim_d", "D's optimizer: adam, sgd or rmsprop (ganhacks 9: sgd for D, adam for G)"},
        {"optim_g", "G's optimizer: adam, sgd or rmsprop"},
        {"lr_g", "Generator learning rate (TTUR: may differ from --lr-d)"},
        {"lr_d", "Discriminator learning rate"},
        {"beta1", "Adam beta1 (both nets)"},
        {"beta2", "Adam beta2 (both nets)"},
        {"z_dist", "Latent distribution: normal (N(0, I), ganhacks 3) or uniform (U[-1, 1])"},
        {"d_batches",
         "separate: real and fake batches through D one after the other (ganhacks "
         "4); mixed: as one concatenated batch (BatchNorm sees both)"},
        {"real_label",
         "D's target for real samples: a, or a,b for uniform soft labels in [a, b] "
         "(ganhacks 6: 0.7,1.2); label losses only"},
        {"fake_label", "D's target for fakes: a, or a,b (ganhacks 6: 0,0.3); label losses only"},
        {"one_sided_smoothing", "Real targets 0.9, fake targets 0 (Salimans et al. 2016)"},
        {"label_flip",
         "Probability of giving each D example the other class's target "
         "(ganhacks 6); label losses only"},
        {"instance_noise",
         "Std of Gaussian noise added to every D input, real and fake "
         "(ganhacks 13); 0: off"},
        {"noise_decay",
         "Global step at which --instance-noise has decayed linearly to 0; 0: "
         "constant noise"},
        {"replay_size",
         "Experience replay: keep this many old fakes and show them to D again "
         "(ganhacks 8); 0: off"},
        {"replay_prob",
         "With --replay-size: probability of each fake being exchanged for an old "
         "one once the buffer is full"},
        {"swap_every",
         "Snapshot G and D every N steps; in the last --swap-for steps of each "
         "period the nets train against the snapshots (ganhacks 8); 0: off"},
        {"swap_for", "Steps per --swap-every period trained against the old snapshots"},
        {"swap_nets",
         "Which snapshots are swapped in: both, g (D trains on the old G's fakes) "
         "or d (G is scored by the old D)"},
        {"d_until_loss",
         "Train D while its loss is above this (up to --until-max updates per "
         "step) instead of --n-critic (ganhacks 11); empty: off"},
        {"g_until_loss",
         "Train G while its loss is above this (up to --until-max updates); "
         "empty: off"},
        {"until_max", "Cap on D or G updates per step under --d-until-loss/--g-until-loss"},
    };
}

namespace {

const Json& defaults_table() {
    static const Json d = adversarial_defaults();
    return d;
}

// A run's value of `key`, or the default for configs written before the key existed.
const Json& value(const Json& c, const std::string& key) {
    return c.contains(key) ? c.at(key) : defaults_table().at(key);
}

double number(const std::string& text, const std::string& key) {
    size_t used = 0;
    double v = std::numeric_limits<double>::quiet_NaN();
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    ZG_CHECK(used == text.size() && used > 0 && std::isfinite(v), flag_of(key),
             ": expected a number, got '", text, "'");
    return v;
}

// "a" or "a,b" (a ≤ b) → [a, b].
std::array<double, 2> label_range(const Json& c, const std::string& key) {
    const std::string text = value(c, key).get<std::string>();
    const size_t comma = text.find(',');
    if (comma == std::string::npos) {
        const double v = number(text, key);
        return {v, v};
    }
    const double a = number(text.substr(0, comma), key), b = number(text.substr(comma + 1), key);
    ZG_CHECK(a <= b, flag_of(key), ": the range a,b needs a <= b, got '", text, "'");
    return {a, b};
}

std::optional<double> threshold(const Json& c, const std::string& key) {
    const std::string text = value(c, key).get<std::string>();
    if (text.empty()) return std::nullopt;
    return number(text, key);
}

std::string one_of(const Json& c, const std::string& key,
                   std::initializer_list<const char*> names) {
    const std::string v = value(c, key).get<std::string>();
    std::string known;
    for (const char* n : names) {
        if (v == n) return v;
        known += std::string(known.empty() ? "" : ", ") + n;
    }
    throw Error(flag_of(key) + ": unknown value '" + v + "'; choose one of " + known);
}

bool is_relativistic(Loss l) {
    return l == Loss::rsgan || l == Loss::ragan || l == Loss::ralsgan;
}

// Loads other weights into a module for a scope and puts its own back afterwards (also when
// the scope throws): how an old snapshot is swapped in without a second copy of the network.
class SwappedIn {
public:
    SwappedIn(nn::Module& m, const nn::StateDict& weights) : m_(m), own_(m.snapshot()) {
        m_.load_state_dict(weights);
    }
    ~SwappedIn() { m_.load_state_dict(own_); }
    SwappedIn(const SwappedIn&) = delete;
    SwappedIn& operator=(const SwappedIn&) = delete;

private:
    nn::Module& m_;
    nn::StateDict own_;
};

}  // namespace

AdversarialConfig adversarial_config_from(const Json& c) {
    AdversarialConfig a;
    a.loss = parse_loss(value(c, "loss").get<std::string>());
    const std::string reg = value(c, "reg").get<std::string>();
    a.reg = parse_regularizer(reg == "auto" ? (a.loss == Loss::wgan_gp ? "gp" : "none") : reg);
    ZG_CHECK(!(a.loss == Loss::wgan_gp && a.reg.empty()),
             "--loss wgan-gp is the WGAN loss with a gradient penalty, and --reg none removes "
             "it, leaving the critic unconstrained; use --loss wgan for weight clipping");
    const double w = value(c, "reg_weight").get<double>();
    ZG_CHECK(w >= 0, "--reg-weight must not be negative, got ", w);
    if (w > 0) {
        ZG_CHECK(!a.reg.empty(), "--reg-weight ", w,
                 " weights a regularizer, but none is chosen; add --reg gp, r1, r2 or drift");
        ZG_CHECK(a.reg.terms.size() == 1 && !spec_has_weights(reg), "--reg-weight ", w,
                 " weights a single regularizer; with --reg ", reg,
                 " give each term its weight in --reg itself, e.g. --reg gp:10+drift:0.001");
        a.reg.terms[0].weight = w;
    }
    a.reg.gp_center = value(c, "gp_center").get<double>();
    ZG_CHECK(a.reg.gp_center == 0 || a.reg.gp_center == 1, "--gp-center must be 0 or 1, got ",
             a.reg.gp_center);
    ZG_CHECK(a.reg.gp_center == 1 || a.reg.has(Reg::gp),
             "--gp-center applies to the gradient penalty only; add --reg gp");

    a.clip = value(c, "clip").get<double>();
    ZG_CHECK(a.clip >= 0, "--clip must not be negative, got ", a.clip);
    ZG_CHECK(a.clip == 0 || a.loss == Loss::wgan,
             "--clip is WGAN's weight clipping and applies "
             "to --loss wgan only (wgan-gp replaces clipping with the gradient penalty; the "
             "other losses need no Lipschitz constraint)");
    if (a.loss == Loss::wgan && a.clip == 0) a.clip = 0.01;

    a.n_critic = value(c, "n_critic").get<int64_t>();
    // The papers take 1 to 5 (WGAN 100 for its first 25 G steps); a step of millions of D
    // updates would never end, and a stop signal is honoured only between steps.
    ZG_CHECK(a.n_critic >= 1 && a.n_critic <= 1000, "--n-critic must be in [1, 1000], got ",
             a.n_critic);
    a.optim_d = one_of(c, "optim_d", {"adam", "sgd", "rmsprop"});
    a.optim_g = one_of(c, "optim_g", {"adam", "sgd", "rmsprop"});
    a.lr_d = value(c, "lr_d").get<double>();
    a.lr_g = value(c, "lr_g").get<double>();
    ZG_CHECK(a.lr_d > 0 && a.lr_g > 0, "--lr-d and --lr-g must be positive, got ", a.lr_d, " and ",
             a.lr_g);
    a.beta1 = value(c, "beta1").get<double>();
    a.beta2 = value(c, "beta2").get<double>();
    ZG_CHECK(a.beta1 >= 0 && a.beta1 < 1 && a.beta2 >= 0 && a.beta2 < 1,
             "--beta1 and --beta2 must be in [0, 1), got ", a.beta1, " and ", a.beta2);
    a.z_uniform = one_of(c, "z_dist", {"normal", "uniform"}) == "uniform";
    a.mixed_batches = one_of(c, "d_batches", {"separate", "mixed"}) == "mixed";

    a.real_label = label_range(c, "real_label");
    a.fake_label = label_range(c, "fake_label");
    if (value(c, "one_sided_smoothing").get<bool>()) {
        ZG_CHECK(a.real_label == (std::array<double, 2>{1, 1}),
                 "--one-sided-smoothing sets the real target to 0.9; it cannot be combined with "
                 "--real-label (give one of them)");
        a.real_label = {0.9, 0.9};
    }
    a.label_flip = value(c, "label_flip").get<double>();
    ZG_CHECK(a.label_flip >= 0 && a.label_flip <= 1,
             "--label-flip is a probability in [0, 1], got ", a.label_flip);
    ZG_CHECK(a.hard_labels() || loss_uses_labels(a.loss), "--loss ", loss_name(a.loss),
             " does not train D against 0/1 targets (its D outputs are critic scores or "
             "relative judgements), so --real-label, --fake-label, --one-sided-smoothing and "
             "--label-flip have no meaning there; use them with minimax, ns or lsgan");

    a.instance_noise = value(c, "instance_noise").get<double>();
    a.noise_decay = value(c, "noise_decay").get<int64_t>();
    ZG_CHECK(a.instance_noise >= 0 && a.noise_decay >= 0,
             "--instance-noise and --noise-decay must not be negative");
    ZG_CHECK(a.noise_decay == 0 || a.instance_noise > 0,
             "--noise-decay schedules --instance-noise, which is off; give --instance-noise SIGMA");

    a.replay_size = value(c, "replay_size").get<int64_t>();
    a.replay_prob = value(c, "replay_prob").get<double>();
    ZG_CHECK(a.replay_size >= 0 && a.replay_size <= std::numeric_limits<int32_t>::max(),
             "--replay-size must be in [0, 2^31), got ", a.replay_size);
    ZG_CHECK(a.replay_prob >= 0 && a.replay_prob <= 1,
             "--replay-prob is a probability in [0, 1], got ", a.replay_prob);

    a.swap_every = value(c, "swap_every").get<int64_t>();
    a.swap_for = value(c, "swap_for").get<int64_t>();
    ZG_CHECK(a.swap_every >= 0, "--swap-every must not be negative, got ", a.swap_every);
    ZG_CHECK(a.swap_every > 0 || a.swap_for == 1, "--swap-for needs --swap-every N");
    ZG_CHECK(a.swap_every == 0 || (a.swap_for >= 1 && a.swap_for < a.swap_every),
             "--swap-for must be in [1, --swap-every), got ", a.swap_for, " with --swap-every ",
             a.swap_every);
    const std::string nets = one_of(c, "swap_nets", {"both", "g", "d"});
    a.swap_g = nets != "d";
    a.swap_d = nets != "g";

    a.d_until_loss = threshold(c, "d_until_loss");
    a.g_until_loss = threshold(c, "g_until_loss");
    a.until_max = value(c, "until_max").get<int64_t>();
    ZG_CHECK(a.until_max >= 1 && a.until_max <= 1000, "--until-max must be in [1, 1000], got ",
             a.until_max);
    ZG_CHECK(!a.d_until_loss || a.n_critic == 1,
             "--d-until-loss replaces the fixed --n-critic "
             "schedule; give one of them");
    return a;
}

double instance_noise_at(const AdversarialConfig& c, int64_t step) {
    if (c.noise_decay == 0) return c.instance_noise;
    return c.instance_noise * std::max(0.0, 1.0 - (double)step / (double)c.noise_decay);
}

// ---- ReplayBuffer ----

Tensor ReplayBuffer::exchange(const Tensor& fakes, Rng& rng) {
    ZG_CHECK(fakes.dtype() == DType::f32 && fakes.dim() >= 1,
             "replay: expected float32 fakes "
             "[B, ...], got ",
             dtype_name(fakes.dtype()), " ", shape_str(fakes.shape()));
    Tensor out = fakes.detach().contiguous().clone();
    const int64_t n = out.size(0), row = n > 0 ? out.numel() / n : 0;
    if (!items_.defined()) {
        Shape s = out.shape();
        s[0] = capacity_;
        items_ = zeros(s);
    }
    ZG_CHECK(items_.numel() == capacity_ * row, "replay: fakes of shape ", shape_str(out.shape()),
             " do not match the stored ones, ", shape_str(items_.shape()));
    // One draw of each kind per example whatever happens, so the stream stays aligned.
    const std::vector<float> u = rand({n}, &rng).to_vector<float>();
    const std::vector<int32_t> j = randint(0, (int32_t)capacity_, {n}, &rng).to_vector<int32_t>();
    float* o = out.data<float>();
    float* b = items_.data<float>();
    std::vector<float> tmp(row);
    for (int64_t i = 0; i < n; ++i) {
        float* oi = o + i * row;
        if (count_ < capacity_) {
            std::memcpy(b + count_ * row, oi, row * sizeof(float));
            ++count_;
        } else if (u[i] < prob_) {
            float* bj = b + j[i] * row;
            std::memcpy(tmp.data(), bj, row * sizeof(float));
            std::memcpy(bj, oi, row * sizeof(float));
            std::memcpy(oi, tmp.data(), row * sizeof(float));
        }
    }
    return out;
}

void ReplayBuffer::save(nn::Checkpoint& ck, const std::string& name) const {
    nn::StateDict s;
    if (items_.defined()) s["items"] = items_;
    ck.add_state(name, s).set_counter(name + "_count", count_);
}

void ReplayBuffer::restore(const nn::Checkpoint& ck, const std::string& name) {
    count_ = ck.counter(name + "_count");
    const nn::StateDict& s = ck.state(name);
    items_ = s.count("items") ? s.at("items").clone() : Tensor();
    ZG_CHECK(
        count_ <= capacity_ && (count_ == 0 || (items_.defined() && items_.size(0) == capacity_)),
        ck.source(), ": the replay buffer holds ", count_, " of ",
        items_.defined() ? items_.size(0) : 0, " fakes, but --replay-size is ", capacity_);
}

// ---- AdversarialGan ----

AdversarialGan::AdversarialGan(const Json& config, std::shared_ptr<nn::Module> g,
                               std::shared_ptr<nn::Module> d, int64_t nz)
    : c_(adversarial_config_from(config)), nz_(nz), g_(std::move(g)), d_(std::move(d)) {
    reset_optimizers();
    if (c_.replay_size > 0) replay_.emplace(c_.replay_size, c_.replay_prob);
}

void AdversarialGan::reset_optimizers() {
    opt_g_ =
        nn::make_optimizer(c_.optim_g, g_->parameters(), c_.lr_g * lr_scale_, {c_.beta1, c_.beta2});
    opt_d_ =
        nn::make_optimizer(c_.optim_d, d_->parameters(), c_.lr_d * lr_scale_, {c_.beta1, c_.beta2});
}

Tensor AdversarialGan::sample_z(int64_t n, Rng& gen) const {
    return c_.z_uniform ? uniform({n, nz_}, -1.0, 1.0, &gen) : randn({n, nz_}, &gen);
}

bool AdversarialGan::swapping() const {
    return c_.swap_every > 0 && step_ % c_.swap_every >= c_.swap_every - c_.swap_for;
}

Tensor AdversarialGan::add_noise(const Tensor& x, Rng& rng) const {
    const double sigma = instance_noise_at(c_, step_);
    if (sigma == 0) return x;
    return x + normal(x.shape(), 0.0, sigma, &rng, x.dtype());
}

LabelTargets label_targets(const AdversarialConfig& c, int64_t n, Rng& rng) {
    if (c.hard_labels()) return {};
    auto draw = [&](const std::array<double, 2>& r) {
        return r[0] == r[1] ? full({n}, r[0]) : uniform({n}, r[0], r[1], &rng);
    };
    LabelTargets t{draw(c.real_label), draw(c.fake_label)};
    if (c.label_flip > 0) {
        const Tensor flip_real = bernoulli({n}, c.label_flip, &rng);
        const Tensor flip_fake = bernoulli({n}, c.label_flip, &rng);
        t = {where(flip_real, t.fake, t.real), where(flip_fake, t.real, t.fake)};
    }
    return t;
}

std::pair<Tensor, Tensor> AdversarialGan::discriminate(const Tensor& real, const Tensor& fake) {
    if (!c_.mixed_batches) {
        Tensor d_real = d_->forward(real);
        return {d_real, d_->forward(fake)};
    }
    const int64_t n = real.size(0);
    Tensor out = d_->forward(concat({real, fake}, 0));
    return {out.slice(0, 0, n), out.slice(0, n, out.size(0))};
}

// One D update: fakes from G (or its snapshot), through the replay buffer, noise on both
// inputs, the loss with its targets plus the regularizer, then clipping for WGAN.
AdversarialGan::DResult AdversarialGan::update_d(const Tensor& real, Rng& rng) {
    DResult r;
    const Tensor z = sample_z(real.size(0), rng);
    Tensor fake;
    if (swapping() && c_.swap_g) {
        SwappedIn old(*g_, old_g_);
        NoGradGuard ng;
        fake = g_->forward(z);
    } else {
        r.fake = g_->forward(z);
        fake = r.fake.detach();
    }
    if (replay_) fake = replay_->exchange(fake, rng);
    const Tensor xr = add_noise(real, rng), xf = add_noise(fake, rng);
    auto [d_real, d_fake] = discriminate(xr, xf);
    Tensor loss = d_loss(c_.loss, d_real, d_fake, label_targets(c_, real.size(0), rng));
    Tensor penalty =
        c_.reg.penalty([this](const Tensor& x) { return d_->forward(x); }, xr, xf, d_real, rng);
    opt_d_->zero_grad();
    (penalty.defined() ? loss + penalty : loss).backward();
    r.grad_norm = nn::grad_norm(d_->parameters());
    opt_d_->step();
    NoGradGuard ng;
    if (c_.clip > 0)
        for (Tensor& p : d_->parameters()) p.copy_(clamp(p, -c_.clip, c_.clip));
    r.loss = loss.item<double>();
    r.penalty = penalty.defined() ? penalty.item<double>() : 0.0;
    r.d_real = mean_d_output(c_.loss, d_real);
    r.d_fake = mean_d_output(c_.loss, d_fake);
    return r;
}

// One G update on `fake` (G's output with its graph; drawn afresh when undefined), scored by D
// or its snapshot. Returns G's loss and gradient norm.
std::pair<double, double> AdversarialGan::update_g(const Tensor& real, Tensor fake, Rng& rng) {
    if (!fake.defined()) fake = g_->forward(sample_z(real.size(0), rng));
    const bool relativistic = is_relativistic(c_.loss);
    const Tensor xf = add_noise(fake, rng);
    const Tensor xr = relativistic || c_.mixed_batches ? add_noise(real, rng) : Tensor();
    std::vector<Tensor> params = g_->parameters();
    auto loss_and_grads = [&] {
        Tensor d_real, d_fake;
        if (c_.mixed_batches) {
            std::tie(d_real, d_fake) = discriminate(xr, xf);
        } else {
            if (relativistic) d_real = d_->forward(xr);
            d_fake = d_->forward(xf);
        }
        Tensor loss = g_loss(c_.loss, relativistic ? d_real.detach() : Tensor(), d_fake);
        // Gradients for G only: grad() never computes the D weight gradients nobody uses.
        // Unused G parameters (ProGAN's layers of resolutions not grown yet) get none, and
        // the optimizer skips them.
        std::vector<Tensor> grads = grad({loss}, params, {}, false, false, /*allow_unused=*/true);
        return std::make_pair(loss.item<double>(), grads);
    };
    std::pair<double, std::vector<Tensor>> out;
    if (swapping() && c_.swap_d) {
        SwappedIn old(*d_, old_d_);
        out = loss_and_grads();
    } else {
        out = loss_and_grads();
    }
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(out.second[i]);
    const double norm = nn::grad_norm(params);
    opt_g_->step();
    return {out.first, norm};
}

Scalars AdversarialGan::train_step(const nn::Batch& batch, Rng& rng) {
    if (c_.swap_every > 0 && step_ % c_.swap_every == 0) {
        old_g_ = g_->snapshot();
        old_d_ = d_->snapshot();
    }
    Tensor real = batch.x;
    DResult d;
    int64_t d_steps = 0;
    for (;;) {
        if (d_steps > 0) real = next_real_batch().x;
        d = update_d(real, rng);
        ++d_steps;
        const bool more = c_.d_until_loss ? d.loss > *c_.d_until_loss && d_steps < c_.until_max
                                          : d_steps < c_.n_critic;
        if (!more) break;
    }
    std::pair<double, double> g;
    int64_t g_steps = 0;
    for (;;) {
        // The first G update reuses the last D update's fakes, as pytorch/examples does.
        g = update_g(real, g_steps == 0 ? d.fake : Tensor(), rng);
        ++g_steps;
        const bool more = c_.g_until_loss && g.first > *c_.g_until_loss && g_steps < c_.until_max;
        if (!more) break;
    }
    Scalars s{{"loss_d", d.loss},   {"loss_g", g.first},          {"d_real", d.d_real},
              {"d_fake", d.d_fake}, {"grad_norm_d", d.grad_norm}, {"grad_norm_g", g.second}};
    if (!c_.reg.empty()) s["d_penalty"] = d.penalty;
    if (c_.n_critic > 1 || c_.d_until_loss || c_.g_until_loss) {
        s["d_steps"] = (double)d_steps;
        s["g_steps"] = (double)g_steps;
    }
    if (c_.instance_noise > 0) s["instance_noise"] = instance_noise_at(c_, step_);
    ++step_;
    return s;
}

void AdversarialGan::set_lr_scale(double scale) {
    ZG_CHECK(scale >= 0 && scale <= 1, "learning-rate scale must be in [0, 1], got ", scale);
    lr_scale_ = scale;
    opt_g_->set_lr(c_.lr_g * scale);
    opt_d_->set_lr(c_.lr_d * scale);
}

void AdversarialGan::save(nn::Checkpoint& ck) const {
    ck.add_module("G", *g_).add_module("D", *d_);
    ck.add_optimizer("opt_G", *opt_g_).add_optimizer("opt_D", *opt_d_);
    ck.set_counter("adversarial_step", step_);
    if (replay_) replay_->save(ck, "replay");
    if (c_.swap_every > 0) ck.add_state("swap_G", old_g_).add_state("swap_D", old_d_);
    for (auto& [name, gen] : rngs_) ck.set_rng(name, *gen);
}

void AdversarialGan::restore(const nn::Checkpoint& ck) {
    ck.restore_module("G", *g_);
    ck.restore_module("D", *d_);
    ck.restore_optimizer("opt_G", *opt_g_);
    ck.restore_optimizer("opt_D", *opt_d_);
    // Checkpoints from before the adversarial step kept no counter; they had no options that
    // depend on it.
    step_ = ck.has_counter("adversarial_step") ? ck.counter("adversarial_step") : 0;
    if (replay_) replay_->restore(ck, "replay");
    if (c_.swap_every > 0) {
        old_g_.clear();
        old_d_.clear();
        for (auto& [k, v] : ck.state("swap_G")) old_g_[k] = v.clone();
        for (auto& [k, v] : ck.state("swap_D")) old_d_[k] = v.clone();
    }
    // (Checkpoints from before the noise layers existed have no such stream, and no use for it.)
    for (auto& [name, gen] : rngs_)
        if (ck.has_rng(name)) ck.restore_rng(name, *gen);
}

}  // namespace zg::zoo
