// Optimizers: update rules against PyTorch, parameter groups, skipping, state round trips.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <typeinfo>

#include "engine/io/safetensors.h"
#include "nn/optim/optimizers.h"

using namespace zg;
using namespace zg::nn;

namespace {

using Rows = std::vector<std::vector<double>>;

// The scenario of every update-rule test: a 4-element parameter and three fixed gradients.
const std::vector<double> kP0 = {0.5, -1.0, 2.0, 0.0};
const Rows kGrads = {{0.1, -0.2, 0.3, -0.4}, {-0.5, 0.6, 0.05, 0.0}, {0.2, 0.2, -0.7, 1.0}};

// Expected parameters after each of the three steps, from PyTorch 1.13 (Debian's python3-torch,
// foreach=False) running the same scenario in float32 and float64:
//   p = torch.tensor(p0, dtype=dt, requires_grad=True); opt = torch.optim.X([p], **kw)
//   for g in grads: p.grad = torch.tensor(g, dtype=dt); opt.step(); print(p)
// printed with "%.17g".
// torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)
const Rows k_sgd_momentum_f32 = {
    {0.48949998617172241, -0.97899997234344482, 1.968000054359436, 0.040000002831220627},
    {0.52460944652557373, -1.013218879699707, 1.9329288005828857, 0.075964003801345825},
    {0.53773581981658936, -1.0611039400100708, 1.9626250267028809, 0.018263237550854683}};
const Rows k_sgd_momentum_f64 = {
    {0.48949999999999999, -0.97899999999999998, 1.968, 0.040000000000000008},
    {0.52460945000000003, -1.0132189, 1.9329288, 0.075964000000000018},
    {0.53773580649500008, -1.06110401299, 1.9626250840799999, 0.018263232400000013}};
// torch.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
const Rows k_sgd_nesterov_f32 = {
    {0.48004999756813049, -0.96009999513626099, 1.9392000436782837, 0.075999997556209564},
    {0.56563287973403931, -1.0552657842636108, 1.9000955820083618, 0.10825559496879578},
    {0.55901485681533813, -1.1237740516662598, 2.0005366802215576, -0.05285165086388588}};
const Rows k_sgd_nesterov_f64 = {
    {0.48004999999999998, -0.96009999999999995, 1.9392, 0.076000000000000012},
    {0.56563290499999996, -1.0552658099999999, 1.90009552, 0.10825560000000002},
    {0.55901486198049999, -1.123774123961, 2.0005365865120002, -0.052851645639999993}};
// torch.optim.Adam(lr=0.1)
const Rows k_adam_f32 = {
    {0.40000000596046448, -0.89999997615814209, 1.8999999761581421, 0.10000000149011612},
    {0.45983541011810303, -0.94941896200180054, 1.8216671943664551, 0.16700583696365356},
    {0.47955489158630371, -1.0051109790802002, 1.8561570644378662, 0.126905158162117}};
const Rows k_adam_f64 = {
    {0.40000000999999902, -0.90000000499999977, 1.9000000033333333, 0.099999997500000049},
    {0.45983542655233423, -0.94941898722488716, 1.821667272150606, 0.16700582054404756},
    {0.47955491887427926, -1.005110995374322, 1.8561571300255031, 0.12690514135300968}};
// torch.optim.Adam(lr=0.1, betas=(0.5, 0.9), weight_decay=0.1, amsgrad=True)
const Rows k_adam_amsgrad_f32 = {
    {0.40000000596046448, -0.89999997615814209, 1.8999999761581421, 0.10000000149011612},
    {0.47347554564476013, -0.95664310455322266, 1.8152976036071777, 0.14364948868751526},
    {0.46354332566261292, -1.0024400949478149, 1.8508642911911011, 0.063303753733634949}};
const Rows k_adam_amsgrad_f64 = {
    {0.40000000666666624, -0.90000000333333319, 1.9000000020000001, 0.099999997500000076},
    {0.47347553341107823, -0.95664312398869145, 1.8152976379810726, 0.14364948376821934},
    {0.46354332088123745, -1.0024401310861124, 1.8508642880771604, 0.063303744639334275}};
// torch.optim.AdamW(lr=0.1)
const Rows k_adamw_f32 = {
    {0.39950001239776611, -0.89900004863739014, 1.8980000019073486, 0.10000000149011612},
    {0.45893591642379761, -0.94752001762390137, 1.8177692890167236, 0.16690582036972046},
    {0.47819647192955017, -1.0022644996643066, 1.8504414558410645, 0.12663823366165161}};
const Rows k_adamw_f64 = {
    {0.39950000999999902, -0.89900000499999977, 1.8980000033333333, 0.099999997500000049},
    {0.45893592654233423, -0.94751998721988717, 1.8177692721472727, 0.16690582054654757},
    {0.47819648293773692, -1.0022644753821022, 1.8504413607500225, 0.12663823553496315}};
// torch.optim.AdamW(lr=0.1, weight_decay=0.1, amsgrad=True)
const Rows k_adamw_amsgrad_f32 = {
    {0.39500001072883606, -0.88999998569488525, 1.8799999952316284, 0.10000000149011612},
    {0.45088541507720947, -0.9305189847946167, 1.7828671932220459, 0.16597232222557068},
    {0.46609604358673096, -0.97690582275390625, 1.7995283603668213, 0.12421192228794098}};
const Rows k_adamw_amsgrad_f64 = {
    {0.39500000999999901, -0.89000000499999976, 1.8800000033333333, 0.099999997500000049},
    {0.4508854264523342, -0.93051898717488712, 1.7828672721172727, 0.1659723092787917},
    {0.46609606450975588, -0.97690580545257322, 1.7995284572709971, 0.1242119069949659}};
// torch.optim.RMSprop(lr=0.01)
const Rows k_rmsprop_f32 = {
    {0.40000009536743164, -0.90000003576278687, 1.9000000953674316, 0.099999979138374329},
    {0.49807700514793396, -0.99491584300994873, 1.8834795951843262, 0.099999979138374329},
    {0.46139681339263916, -1.0252187252044678, 1.9753398895263672, 0.0070246309041976929}};
const Rows k_rmsprop_f64 = {
    {0.40000009999990005, -0.90000004999997507, 1.9000000333333222, 0.099999975000006194},
    {0.49807701109286939, -0.99491583456021226, 1.8834795737804584, 0.099999975000006194},
    {0.46139680805186672, -1.0252187211405048, 1.9753399147554143, 0.0070246262121071018}};
// torch.optim.RMSprop(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.9, centered=True)
const Rows k_rmsprop_centered_f32 = {
    {0.46666666865348816, -0.96666669845581055, 1.9666666984558105, 0.033333327621221542},
    {0.4675387442111969, -0.96442055702209473, 1.9206544160842896, 0.063042409718036652},
    {0.45313447713851929, -0.96836006641387939, 1.9016509056091309, 0.059374257922172546}};
const Rows k_rmsprop_centered_f64 = {
    {0.46666667407407242, -0.96666667037036991, 1.9666666688888887, 0.033333330555555797},
    {0.46753873651352185, -0.96442055534033522, 1.9206544188489232, 0.063042415244384309},
    {0.45313448268366691, -0.96836009213921836, 1.9016509166802187, 0.059374266783673482}};

// Runs the scenario with optimizer Opt and returns the parameter after each step.
template <class Opt, class Options>
Rows run(const Options& options, DType dtype) {
    Tensor p = from_vector<double>(kP0, {4}).to(dtype);
    p.requires_grad_(true);
    Opt opt({p}, options);
    Rows out;
    for (const auto& g : kGrads) {
        p.set_grad(from_vector<double>(g, {4}).to(dtype));
        opt.step();
        out.push_back(p.to_vector<double>());
    }
    return out;
}

// Currently every float32 value is bit-identical to PyTorch's and float64 ones are within an
// ulp; the tolerance leaves room for compilers contracting a·b + c into FMAs differently.
void check_rows(const Rows& got, const Rows& want, DType dtype) {
    const double tol = dtype == DType::f32 ? 1e-6 : 1e-13;
    REQUIRE(got.size() == want.size());
    for (size_t s = 0; s < got.size(); ++s)
        for (size_t i = 0; i < got[s].size(); ++i) {
            INFO("step ", s + 1, " element ", i);
            CHECK(std::abs(got[s][i] - want[s][i]) <= tol * std::max(1.0, std::abs(want[s][i])));
        }
}

template <class Opt, class Options>
void check_both(const Options& options, const Rows& f32, const Rows& f64) {
    check_rows(run<Opt>(options, DType::f32), f32, DType::f32);
    check_rows(run<Opt>(options, DType::f64), f64, DType::f64);
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// The message of the zg::Error f throws ("" if it throws none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

Tensor param(const Shape& shape, uint64_t seed) {
    Rng gen(seed);
    Tensor p = randn(shape, &gen);
    p.requires_grad_(true);
    return p;
}

}  // namespace

TEST_CASE("SGD: plain steps are p - lr*g (hand-computed)") {
    // p0 = (0.5, -1, 2, 0), lr = 0.1: each step subtracts a tenth of the gradient.
    const Rows want = {
        {0.49, -0.98, 1.97, 0.04}, {0.54, -1.04, 1.965, 0.04}, {0.52, -1.06, 2.035, -0.06}};
    check_rows(run<SGD>(SGDOptions{.lr = 0.1}, DType::f64), want, DType::f64);
    check_rows(run<SGD>(SGDOptions{.lr = 0.1}, DType::f32), want, DType::f32);
}

TEST_CASE("SGD: momentum, dampening and weight decay match PyTorch") {
    // By hand, element 0: d1 = 0.1 + 0.01*0.5 = 0.105, b1 = d1 (first step), p1 = 0.5 - 0.0105
    // = 0.4895; d2 = -0.5 + 0.01*0.4895 = -0.495105, b2 = 0.9*0.105 + 0.9*d2 = -0.3510945,
    // p2 = 0.4895 + 0.03510945 = 0.52460945.
    check_both<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01},
                    k_sgd_momentum_f32, k_sgd_momentum_f64);
}

TEST_CASE("SGD: Nesterov momentum matches PyTorch") {
    check_both<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true},
                    k_sgd_nesterov_f32, k_sgd_nesterov_f64);
}

TEST_CASE("Adam: default hyper-parameters match PyTorch") {
    // By hand, step 1: m = 0.1·g, v = 0.001·g², so m/(1−β₁) / (√(v/(1−β₂)) + ε) = g/(|g| + ε):
    // every element moves by lr = 0.1 against its gradient's sign (0 stays 0 + 0.1 for g < 0).
    check_both<Adam>(AdamOptions{.lr = 0.1}, k_adam_f32, k_adam_f64);
}

TEST_CASE("Adam: L2 weight decay and AMSGrad match PyTorch") {
    check_both<Adam>(
        AdamOptions{.lr = 0.1, .betas = {0.5, 0.9}, .weight_decay = 0.1, .amsgrad = true},
        k_adam_amsgrad_f32, k_adam_amsgrad_f64);
}

TEST_CASE("AdamW: decoupled weight decay matches PyTorch") {
    // Step 1, element 0: p·(1 − 0.1·0.01) = 0.49950, then the Adam step of lr = 0.1: 0.3995.
    check_both<AdamW>(AdamWOptions{.lr = 0.1}, k_adamw_f32, k_adamw_f64);
    check_both<AdamW>(AdamWOptions{.lr = 0.1, .weight_decay = 0.1, .amsgrad = true},
                      k_adamw_amsgrad_f32, k_adamw_amsgrad_f64);
}

TEST_CASE("RMSprop: default hyper-parameters match PyTorch") {
    // Step 1: s = 0.01·g², so g/(√s + ε) = 10·sign(g) and p moves by lr·10 = 0.1.
    check_both<RMSprop>(RMSpropOptions{.lr = 0.01}, k_rmsprop_f32, k_rmsprop_f64);
}

TEST_CASE("RMSprop: centered with momentum and weight decay matches PyTorch") {
    check_both<RMSprop>(
        RMSpropOptions{
            .lr = 0.01, .alpha = 0.9, .weight_decay = 0.1, .momentum = 0.9, .centered = true},
        k_rmsprop_centered_f32, k_rmsprop_centered_f64);
}

TEST_CASE("Optimizers: default hyper-parameters are PyTorch's") {
    AdamOptions a;
    CHECK(a.lr == 1e-3);
    CHECK(a.betas == std::array<double, 2>{0.9, 0.999});
    CHECK(a.eps == 1e-8);
    CHECK(a.weight_decay == 0);
    CHECK_FALSE(a.amsgrad);
    AdamWOptions w;
    CHECK(w.lr == 1e-3);
    CHECK(w.weight_decay == 1e-2);
    CHECK_FALSE(w.amsgrad);
    RMSpropOptions r;
    CHECK(r.lr == 1e-2);
    CHECK(r.alpha == 0.99);
    CHECK(r.eps == 1e-8);
    CHECK(r.momentum == 0);
    CHECK_FALSE(r.centered);
    SGDOptions s;
    CHECK(s.momentum == 0);
    CHECK(s.dampening == 0);
    CHECK_FALSE(s.nesterov);
    // SGD's lr has no default, as in PyTorch.
    CHECK(contains(error_of([] { SGD opt({param({2}, 1)}, {}); }), "no learning rate"));
}

TEST_CASE("make_optimizer: builds the optimizer the CLI names, with its lr and Adam's betas") {
    auto adam = make_optimizer("adam", {param({2}, 1)}, 0.5, {0.25, 0.75});
    CHECK(adam->type_name() == "Adam");
    CHECK(adam->lr() == 0.5);
    CHECK(dynamic_cast<Adam&>(*adam).options().betas == std::array<double, 2>{0.25, 0.75});
    CHECK(make_optimizer("sgd", {param({2}, 1)}, 0.1, {0.9, 0.999})->type_name() == "SGD");
    auto rms = make_optimizer("rmsprop", {param({2}, 1)}, 0.1, {0.9, 0.999});
    CHECK(rms->type_name() == "RMSprop");
    CHECK(rms->lr() == 0.1);
    CHECK(contains(error_of([] {
                       make_optimizer("adagrad", {param({2}, 1)}, 0.1, {0.9, 0.999});
                   }),
                   "choose adam, sgd or rmsprop"));
}

TEST_CASE("Optimizers: each parameter group uses its own learning rate") {
    Tensor a = param({3}, 1), b = param({2, 2}, 2);
    Tensor a2 = a.detach().clone().requires_grad_(true),
           b2 = b.detach().clone().requires_grad_(true);
    // One optimizer with two groups...
    SGD opt({a}, {.lr = 0.1, .momentum = 0.9});
    auto o = opt.defaults();
    o.lr = 0.01;
    opt.add_param_group({b}, o);
    // ... equals two optimizers with one group each.
    SGD opt_a({a2}, {.lr = 0.1, .momentum = 0.9}), opt_b({b2}, {.lr = 0.01, .momentum = 0.9});
    CHECK(opt.num_groups() == 2);
    CHECK(opt.lr(0) == 0.1);
    CHECK(opt.lr(1) == 0.01);
    for (int step = 0; step < 3; ++step) {
        if (step == 2) {  // set_lr reaches every group
            opt.set_lr(0.05);
            opt_a.set_lr(0.05);
            opt_b.set_lr(0.05);
            CHECK(opt.lr(1) == 0.05);
        }
        Tensor ga = param({3}, 10 + step).detach(), gb = param({2, 2}, 20 + step).detach();
        a.set_grad(ga), a2.set_grad(ga), b.set_grad(gb), b2.set_grad(gb);
        opt.step(), opt_a.step(), opt_b.step();
        CHECK(a.to_vector<float>() == a2.to_vector<float>());
        CHECK(b.to_vector<float>() == b2.to_vector<float>());
    }
    CHECK(opt.step_count(1, 0) == 3);
}

TEST_CASE("Optimizers: parameters without a gradient are skipped, zero_grad undefines grads") {
    Tensor a = param({3}, 1), b = param({3}, 2);
    const auto b0 = b.to_vector<float>();
    Adam opt({a, b}, {.lr = 0.1});
    a.set_grad(ones({3}));
    opt.step();
    CHECK(b.to_vector<float>() == b0);  // no gradient: untouched, no state made
    CHECK(opt.step_count(0, 0) == 1);
    CHECK(opt.step_count(0, 1) == 0);
    CHECK(opt.state(0, 0, "exp_avg").defined());
    CHECK_FALSE(opt.state(0, 1, "exp_avg").defined());
    CHECK(opt.state_dict().tensors.size() == 2);  // exp_avg and exp_avg_sq of a only
    opt.zero_grad();
    CHECK_FALSE(a.grad().defined());
    CHECK_FALSE(b.grad().defined());
    const auto a1 = a.to_vector<float>();
    opt.step();  // nothing has a gradient now
    CHECK(a.to_vector<float>() == a1);
    CHECK(opt.step_count(0, 0) == 1);
}

TEST_CASE("Optimizers: non-contiguous parameters and gradients update like contiguous ones") {
    Tensor base = param({3, 2}, 1);
    Tensor flat = base.detach().clone().requires_grad_(true);
    Tensor g = param({2, 3}, 2).detach();
    // A parameter given as a transposed view of a leaf, and a transposed gradient.
    Tensor leaf = base.detach().t().contiguous().requires_grad_(true);  // [2, 3]
    Tensor view = leaf.detach().t();  // [3, 2], non-contiguous, a leaf without history
    view.requires_grad_(true);
    RMSprop opt({view}, {.lr = 0.01, .momentum = 0.5});
    RMSprop ref({flat}, {.lr = 0.01, .momentum = 0.5});
    for (int s = 0; s < 2; ++s) {
        view.set_grad(g.t());
        flat.set_grad(g.t().contiguous());
        opt.step();
        ref.step();
    }
    CHECK(view.to_vector<float>() == flat.to_vector<float>());
    CHECK(leaf.t().to_vector<float>() == flat.to_vector<float>());  // written through the view
}

TEST_CASE("Optimizers: a step bumps the parameter's version, so stale graphs are caught") {
    Tensor p = param({4}, 1);
    SGD opt({p}, {.lr = 0.1});
    const uint64_t v0 = p.version();
    p.set_grad(ones({4}));
    opt.step();
    CHECK(p.version() > v0);
}

TEST_CASE("Optimizers: bad hyper-parameters and parameter lists are clear errors") {
    Tensor p = param({2}, 1), q = param({2}, 2);
    CHECK(contains(error_of([&] { SGD({p}, {.lr = -0.1}); }), "invalid learning rate"));
    CHECK(contains(error_of([&] { SGD({p}, {.lr = 0.1, .dampening = 0.5, .nesterov = true}); }),
                   "Nesterov"));
    CHECK(contains(error_of([&] { Adam({p}, {.betas = {1.0, 0.999}}); }), "beta"));
    CHECK(contains(error_of([&] { RMSprop({p}, {.eps = -1}); }), "eps"));
    CHECK(contains(error_of([&] { Adam({}, {}); }), "empty parameter list"));
    CHECK(contains(error_of([&] { Adam({p, p}, {}); }), "appears twice"));
    CHECK(contains(error_of([&] {
                       Adam opt({p}, {});
                       opt.add_param_group({q, p});
                   }),
                   "already in group 0"));
    Tensor nonleaf = p * 2.0;
    CHECK(contains(error_of([&] { Adam({nonleaf}, {}); }), "not a leaf"));
    CHECK(contains(error_of([&] { Adam({randint(0, 3, {2})}, {}); }), "int32"));
    // Options changed after construction are checked at the next step.
    Adam opt({p}, {});
    opt.options().lr = -1;
    p.set_grad(ones({2}));
    CHECK(contains(error_of([&] { opt.step(); }), "invalid learning rate"));
}

namespace {

// Three steps of `opt` on `params` with gradients drawn from `gen`; params[1] gets no gradient
// on the first step, so its state starts later than the others'.
void train(Optimizer& opt, const std::vector<Tensor>& params, Rng& gen, int first_step) {
    for (int s = 0; s < 3; ++s) {
        for (size_t i = 0; i < params.size(); ++i) {
            Tensor g = randn(params[i].shape(), &gen);
            params[i].set_grad(first_step + s == 0 && i == 1 ? Tensor() : g);
        }
        opt.step();
    }
}

std::vector<Tensor> make_params(uint64_t seed) {
    return {param({4, 3}, seed), param({3}, seed + 1), param({2, 2}, seed + 2)};
}

std::vector<Tensor> clones(const std::vector<Tensor>& ps) {
    std::vector<Tensor> out;
    for (const Tensor& p : ps) out.push_back(p.detach().clone().requires_grad_(true));
    return out;
}

// Saves the optimizer's state through safetensors bytes (as a checkpoint would), loads it into
// a fresh optimizer over copies of the parameters, continues both: they must agree bit for bit.
template <class Opt, class Options>
void round_trip(const Options& options, const Options& other) {
    CAPTURE(std::string(typeid(Opt).name()));
    std::vector<Tensor> ps = make_params(1);
    Opt opt({ps[0], ps[1]}, options);
    opt.add_param_group({ps[2]});  // a second group with the defaults...
    opt.options(1).lr *= 0.5;      // ... and its own learning rate
    Rng gen(7);
    train(opt, ps, gen, 0);

    OptimizerState st = opt.state_dict();
    std::string bytes = to_safetensors(st.tensors, {{"optimizer", st.json}});
    SafetensorsFile file = from_safetensors(bytes);

    std::vector<Tensor> qs = clones(ps);
    Opt fresh({qs[0], qs[1]}, other);  // different hyper-parameters: the state brings its own
    fresh.add_param_group({qs[2]});
    fresh.load_state_dict({file.tensors, file.metadata.at("optimizer")});
    CHECK(fresh.lr(1) == opt.lr(1));
    CHECK(fresh.state_dict().json == st.json);

    Rng gen2 = Rng(0);
    gen2.set_state(gen.state());
    train(opt, ps, gen, 3);
    train(fresh, qs, gen2, 3);
    for (size_t i = 0; i < ps.size(); ++i) {
        CHECK(ps[i].to_vector<float>() == qs[i].to_vector<float>());
        CHECK(opt.step_count(i == 2, i == 2 ? 0 : i) == fresh.step_count(i == 2, i == 2 ? 0 : i));
    }
}

}  // namespace

TEST_CASE("Optimizers: state round trip continues bit for bit") {
    round_trip<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true},
                    SGDOptions{.lr = 0.5});
    round_trip<Adam>(AdamOptions{.lr = 0.01, .betas = {0.5, 0.99}, .amsgrad = true}, AdamOptions{});
    round_trip<AdamW>(AdamWOptions{.lr = 0.01, .weight_decay = 0.1}, AdamWOptions{.lr = 1});
    round_trip<RMSprop>(
        RMSpropOptions{.lr = 0.01, .weight_decay = 0.01, .momentum = 0.5, .centered = true},
        RMSpropOptions{});
}

TEST_CASE("Optimizers: load_state_dict rejects a state that does not fit, changing nothing") {
    std::vector<Tensor> ps = make_params(1);
    Adam opt({ps[0], ps[1], ps[2]}, {.lr = 0.01});
    Rng gen(3);
    train(opt, ps, gen, 1);
    const OptimizerState st = opt.state_dict();

    std::vector<Tensor> qs = clones(ps);
    Adam target({qs[0], qs[1], qs[2]}, {.lr = 0.5});
    const std::string before = target.state_dict().json;
    auto load_error = [&](Optimizer& o, const OptimizerState& s) {
        std::string e = error_of([&] { o.load_state_dict(s); });
        CHECK(target.state_dict().json == before);  // untouched
        return e;
    };

    SGD sgd({qs[0], qs[1], qs[2]}, {.lr = 0.1});
    CHECK(contains(error_of([&] { sgd.load_state_dict(st); }), "saved by Adam"));
    Adam fewer({qs[0], qs[1]}, {});
    CHECK(contains(error_of([&] { fewer.load_state_dict(st); }), "has 3 parameter(s)"));
    Adam two_groups({qs[0], qs[1]}, {});
    two_groups.add_param_group({qs[2]});
    CHECK(contains(error_of([&] { two_groups.load_state_dict(st); }), "2"));
    std::vector<Tensor> other = {param({3, 4}, 1), param({3}, 2), param({2, 2}, 3)};
    Adam reshaped(other, {});
    std::string e = error_of([&] { reshaped.load_state_dict(st); });
    CHECK(contains(e, "shapes differ"));
    CHECK(contains(e, "[4, 3]"));

    CHECK(contains(load_error(target, {st.tensors, "{not json"}), "malformed"));
    CHECK(contains(load_error(target, {st.tensors, "[1, 2]"}), "not an optimizer state"));
    OptimizerState extra = st;
    extra.tensors["state.0.7.exp_avg"] = zeros({2});
    CHECK(contains(load_error(target, extra), "unexpected tensor 'state.0.7.exp_avg'"));
    OptimizerState wrong_shape = st;
    wrong_shape.tensors["state.0.0.exp_avg"] = zeros({12});
    CHECK(contains(load_error(target, wrong_shape), "state.0.0.exp_avg"));
    OptimizerState bad_options = st;
    bad_options.json.replace(bad_options.json.find("\"lr\":0.01"), 9, "\"lr\":-1.0");
    CHECK(contains(load_error(target, bad_options), "invalid learning rate"));
    OptimizerState missing_option = st;
    missing_option.json.replace(missing_option.json.find("\"eps\""), 5, "\"epz\"");
    CHECK(contains(load_error(target, missing_option), "\"eps\" is missing"));
}

TEST_CASE("Optimizers: updates are identical for any thread count") {
    // Big enough (> 32768 elements) for the loops to be spread over threads.
    auto run_with = [](int threads) {
        const int before = omp_get_max_threads();
        omp_set_num_threads(threads);
        Tensor p = param({300, 200}, 1);
        Adam adam({p}, {.lr = 0.01, .amsgrad = true});
        Rng gen(2);
        for (int s = 0; s < 3; ++s) {
            p.set_grad(randn({300, 200}, &gen));
            adam.step();
        }
        omp_set_num_threads(before);
        return p.to_vector<float>();
    };
    CHECK(run_with(1) == run_with(2));
    CHECK(run_with(1) == run_with(3));
}
