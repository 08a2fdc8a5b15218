// EMA of weights, and checkpoints: round trips, exact resumption, crash safety, clear errors.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "engine/io/safetensors.h"
#include "nn/checkpoint.h"
#include "test_util.h"

using namespace zg;
using namespace zg::nn;
using namespace zg::testing;
namespace fs = std::filesystem;

namespace {

// y = x·Wᵀ + b, registered as PyTorch's Linear is ("weight", "bias").
struct Affine : Module {
    Affine(int64_t in, int64_t out, Rng& gen) {
        register_parameter("weight", randn({out, in}, &gen) * (1.0 / std::sqrt((double)in)));
        register_parameter("bias", randn({out}, &gen) * 0.1);
    }
    Tensor forward(const Tensor& x) override {
        return linear(x, parameter("weight"), parameter("bias"));
    }
    std::string type_name() const override { return "Affine"; }
};

// A two-layer MLP with dropout (drawing from the global generator) and a buffer counting
// forward passes: names "l1.weight", "l1.bias", "l2.weight", "l2.bias", "calls".
struct Mlp : Module {
    std::shared_ptr<Affine> l1, l2;
    double p_drop;
    Mlp(uint64_t seed, int64_t in, int64_t hidden, int64_t out, double p_drop = 0.0)
        : p_drop(p_drop) {
        Rng gen(seed);
        l1 = register_module("l1", std::make_shared<Affine>(in, hidden, gen));
        l2 = register_module("l2", std::make_shared<Affine>(hidden, out, gen));
        register_buffer("calls", zeros({1}));
    }
    Tensor forward(const Tensor& x) override {
        {
            NoGradGuard ng;
            buffer("calls").add_(ones({1}));
        }
        Tensor h = tanh((*l1)(x));
        if (p_drop > 0) h = dropout(h, p_drop, is_training());
        return (*l2)(h);
    }
    std::string type_name() const override { return "Mlp"; }
};

bool same(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() &&
           a.to_vector<double>() == b.to_vector<double>();
}

bool same(const StateDict& a, const StateDict& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, t] : a)
        if (!b.count(k) || !same(t, b.at(k))) return false;
    return true;
}

void set_values(Tensor& t, const std::vector<double>& v) {
    NoGradGuard ng;
    t.copy_(from_vector<double>(v, t.shape()));
}

}  // namespace

TEST_CASE("EMA: shadow = decay*shadow + (1 - decay)*param, buffers are copied as they are") {
    Mlp m(1, 2, 3, 1);
    Tensor& w = m.l2->parameter("bias");  // one element, easy to follow
    Tensor& calls = m.buffer("calls");
    set_values(w, {1.0});
    EMA ema(m, 0.9);
    CHECK(ema.decay() == 0.9);
    CHECK(ema.state_dict().size() == m.state_dict().size());
    double shadow = 1.0;
    for (double v : {2.0, -1.0, 0.5}) {
        set_values(w, {v});
        set_values(calls, {v * 10});
        ema.update(m);
        shadow = 0.9 * shadow + 0.1 * v;
        CHECK(ema.state_dict().at("l2.bias").item<float>() ==
              doctest::Approx(shadow).epsilon(1e-6));
        CHECK(ema.state_dict().at("calls").item<float>() == (float)(v * 10));  // copied
    }
    // Every parameter, element by element, against the same formula in double.
    Mlp fresh(2, 2, 3, 1);
    EMA e2(fresh, 0.75);
    auto start = fresh.l1->parameter("weight").to_vector<double>();
    Rng gen(5);
    {
        NoGradGuard ng;
        fresh.l1->parameter("weight").add_(randn({3, 2}, &gen));
    }
    auto now = fresh.l1->parameter("weight").to_vector<double>();
    e2.update(fresh);
    auto got = e2.state_dict().at("l1.weight").to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i)
        CHECK(got[i] == doctest::Approx(0.75 * start[i] + 0.25 * now[i]).epsilon(1e-6));

    // copy_to writes the shadow into a module; load_state_dict restores a saved shadow.
    Mlp other(3, 2, 3, 1);
    ema.copy_to(other);
    CHECK(same(other.state_dict(), ema.state_dict()));
    CHECK(other.l2->parameter("bias").requires_grad());  // still live parameters
    StateDict saved;
    for (const auto& [k, t] : ema.state_dict()) saved[k] = t.clone();
    set_values(w, {100.0});
    ema.update(m);
    ema.load_state_dict(saved);
    CHECK(same(ema.state_dict(), saved));
    // decay 0 follows the module; decay 1 never moves.
    ema.set_decay(0.0);
    ema.update(m);
    CHECK(ema.state_dict().at("l2.bias").item<float>() == 100.0f);
}

TEST_CASE("EMA: bias_corrected_decay gives the normalized weighted average of the updates") {
    Mlp m(1, 2, 3, 1);
    Tensor& w = m.l2->parameter("bias");
    set_values(w, {100.0});  // the initial value: no weight in the corrected average
    const double beta = 0.9;
    EMA ema(m, beta);
    const std::vector<double> seen = {2.0, -1.0, 0.5, 4.0};
    for (size_t t = 1; t <= seen.size(); ++t) {
        set_values(w, {seen[t - 1]});
        ema.set_decay(bias_corrected_decay(beta, (int64_t)t));
        ema.update(m);
        double num = 0, den = 0;  // Σ β^(t−i) p_i / Σ β^(t−i)
        for (size_t i = 1; i <= t; ++i) {
            num += std::pow(beta, (double)(t - i)) * seen[i - 1];
            den += std::pow(beta, (double)(t - i));
        }
        CHECK(ema.state_dict().at("l2.bias").item<float>() ==
              doctest::Approx(num / den).epsilon(1e-6));
    }
    CHECK(bias_corrected_decay(0.999, 1) == 0.0);
    CHECK(bias_corrected_decay(0.999, 100000) == doctest::Approx(0.999).epsilon(1e-9));
    CHECK(bias_corrected_decay(1.0, 5) == 1.0);
    CHECK(
        testing::contains(testing::error_of([] { bias_corrected_decay(0.9, 0); }), "starts at 1"));
}

TEST_CASE("EMA: a bad decay, another module or a mismatched state is a clear error") {
    Mlp m(1, 2, 3, 1), wider(1, 2, 4, 1);
    CHECK(contains(error_of([&] { EMA(m, 1.5); }), "decay must be in [0, 1]"));
    EMA ema(m, 0.99);
    const StateDict before = [&] {
        StateDict s;
        for (const auto& [k, t] : ema.state_dict()) s[k] = t.clone();
        return s;
    }();
    std::string e = error_of([&] { ema.update(wider); });
    CHECK(contains(e, "not the one this EMA was made from"));
    CHECK(contains(e, "l1.weight"));
    CHECK(same(ema.state_dict(), before));  // untouched
    e = error_of([&] { ema.load_state_dict(wider.state_dict()); });
    CHECK(contains(e, "shape mismatch"));
    StateDict partial = before;
    partial.erase("l2.bias");
    CHECK(contains(error_of([&] { ema.load_state_dict(partial); }), "missing keys: l2.bias"));
}

TEST_CASE("Checkpoint: modules, optimizers, EMA, counters, RNG and JSON round-trip") {
    TempDir dir;
    const std::string path = dir.file("ck.safetensors");
    Mlp g(1, 2, 4, 2), d(2, 2, 3, 1);
    Adam opt_g(g.parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
    SGD opt_d(d.parameters(), {.lr = 0.1, .momentum = 0.9});
    Rng data(42);
    for (int s = 0; s < 2; ++s) {
        Tensor x = randn({5, 2}, &data);
        mean(g(x) * g(x)).backward();
        mean(d(x)).backward();
        opt_g.step(), opt_d.step();
        opt_g.zero_grad(), opt_d.zero_grad();
    }
    EMA ema(g, 0.999);
    nlohmann::json config = {{"model", "dcgan"}, {"nz", 100}, {"lr", 2e-4}, {"tags", {"a", "b"}}};
    Checkpoint ck;
    ck.add_module("G", g).add_module("D", d).add_optimizer("opt_G", opt_g);
    ck.add_optimizer("opt_D", opt_d).add_ema("ema", ema);
    ck.add_state("replay", {{"images", full({3, 2}, 7.0)}, {"labels", randint(0, 9, {3})}});
    ck.set_json("config", config).set_json("replay", {{"filled", 3}, {"next", 1}});
    ck.set_counter("step", 2).set_counter("epoch", -1).set_counter("big", INT64_MAX);
    ck.set_rng("data", data).set_rng("fixed", RngState{UINT64_MAX, 12345678901234ULL});
    ck.save(path);
    CHECK_FALSE(fs::exists(path + ".tmp"));

    // The file is plain safetensors with prefixed names (so Python's safe_open reads it).
    SafetensorsFile raw = load_safetensors(path);
    CHECK(raw.tensors.count("G/l1.weight"));
    CHECK(raw.tensors.count("D/calls"));
    CHECK(raw.tensors.count("opt_G/state.0.0.exp_avg"));
    CHECK(raw.tensors.count("opt_D/state.0.3.momentum_buffer"));
    CHECK(raw.tensors.count("ema/l2.bias"));
    CHECK(raw.metadata.at("counter/step") == "2");
    CHECK(nlohmann::json::parse(raw.metadata.at("json/config")) == config);

    Checkpoint back = Checkpoint::load(path);
    CHECK(back.source() == path);
    CHECK(back.state_names() ==
          std::vector<std::string>{"D", "G", "ema", "opt_D", "opt_G", "replay"});
    CHECK(back.kind("G") == "module");
    CHECK(back.kind("opt_G") == "optimizer");
    CHECK(back.kind("ema") == "ema");
    CHECK(back.kind("replay") == "state");
    CHECK(back.json("config") == config);
    CHECK(back.json("replay")["filled"] == 3);
    CHECK(back.counter("step") == 2);
    CHECK(back.counter("epoch") == -1);
    CHECK(back.counter("big") == INT64_MAX);
    CHECK(back.rng("fixed").seed == UINT64_MAX);
    CHECK(back.rng("fixed").offset == 12345678901234ULL);
    CHECK(same(back.state("replay").at("labels"), ck.state("replay").at("labels")));
    CHECK(back.state("replay").at("labels").dtype() == DType::i32);

    // Restore into fresh objects.
    Mlp g2(7, 2, 4, 2), d2(8, 2, 3, 1);
    Adam opt_g2(g2.parameters(), {});
    SGD opt_d2(d2.parameters(), {.lr = 1});
    EMA ema2(g2, 0.5);
    Rng data2(0);
    back.restore_module("G", g2);
    back.restore_module("D", d2);
    back.restore_optimizer("opt_G", opt_g2);
    back.restore_optimizer("opt_D", opt_d2);
    back.restore_ema("ema", ema2);
    back.restore_rng("data", data2);
    CHECK(same(g2.state_dict(), g.state_dict()));
    CHECK(same(d2.state_dict(), d.state_dict()));
    CHECK(same(ema2.state_dict(), ema.state_dict()));
    CHECK(same(opt_g2.state_dict().tensors, opt_g.state_dict().tensors));
    CHECK(opt_g2.state_dict().json == opt_g.state_dict().json);
    CHECK(opt_d2.state_dict().json == opt_d.state_dict().json);
    CHECK(opt_d2.lr() == 0.1);
    CHECK(data2.state().seed == data.state().seed);
    CHECK(data2.state().offset == data.state().offset);
    // EMA weights can also be loaded straight into a module (to sample from them).
    Mlp g3(9, 2, 4, 2);
    back.restore_module("ema", g3);
    CHECK(same(g3.state_dict(), ema.state_dict()));
}

TEST_CASE("Checkpoint: adding takes a snapshot, later training does not leak into it") {
    TempDir dir;
    Mlp m(1, 2, 3, 1);
    Tensor& b = m.l2->parameter("bias");
    set_values(b, {1.0});
    Checkpoint ck;
    ck.add_module("m", m);
    set_values(b, {2.0});
    ck.save(dir.file("a.safetensors"));
    CHECK(Checkpoint::load(dir.file("a.safetensors")).state("m").at("l2.bias").item<float>() ==
          1.0f);
    // Adding a name again replaces it.
    ck.add_module("m", m).set_counter("step", 1).set_counter("step", 2);
    CHECK(ck.state("m").at("l2.bias").item<float>() == 2.0f);
    CHECK(ck.counter("step") == 2);
}

namespace {

// Everything a small GAN-like run keeps: two models, their optimizers, an EMA of the first, a
// data generator; dropout draws from the global generator.
struct Run {
    Mlp g, d;
    Adam opt_g;
    RMSprop opt_d;
    EMA ema;
    Rng data;
    int64_t step = 0;
    explicit Run(uint64_t seed)
        : g(seed, 3, 8, 2, /*p_drop=*/0.25),
          d(seed + 1, 2, 6, 1),
          opt_g(g.parameters(), {.lr = 1e-2, .betas = {0.5, 0.999}}),
          opt_d(d.parameters(), {.lr = 1e-2, .momentum = 0.5, .centered = true}),
          ema(g, 0.9),
          data(seed + 2) {}

    void train(int n) {
        for (int i = 0; i < n; ++i, ++step) {
            Tensor z = randn({8, 3}, &data), real = randn({8, 2}, &data) * 0.5 + 1.0;
            // D: real → 1, fake → 0.
            Tensor fake = g(z).detach();
            Tensor loss_d =
                bce_with_logits(d(real), ones({8, 1})) + bce_with_logits(d(fake), zeros({8, 1}));
            opt_d.zero_grad();
            loss_d.backward();
            opt_d.step();
            // G: non-saturating.
            Tensor loss_g = bce_with_logits(d(g(z)), ones({8, 1}));
            opt_g.zero_grad();
            d.zero_grad();
            loss_g.backward();
            opt_g.step();
            ema.update(g);
        }
    }

    Checkpoint checkpoint() const {
        Checkpoint ck;
        ck.add_module("G", g).add_module("D", d).add_optimizer("opt_G", opt_g);
        ck.add_optimizer("opt_D", opt_d).add_ema("ema", ema);
        ck.set_rng("data", data).set_rng("global", default_rng());
        ck.set_counter("step", step).set_json("config", {{"seed", 1}});
        return ck;
    }

    void restore(const Checkpoint& ck) {
        ck.restore_module("G", g);
        ck.restore_module("D", d);
        ck.restore_optimizer("opt_G", opt_g);
        ck.restore_optimizer("opt_D", opt_d);
        ck.restore_ema("ema", ema);
        ck.restore_rng("data", data);
        ck.restore_rng("global", default_rng());
        step = ck.counter("step");
    }
};

}  // namespace

TEST_CASE("Checkpoint: resuming from a checkpoint gives bit-identical training") {
    TempDir dir;
    const std::string path = dir.file("resume.safetensors");
    const int n = 10;

    default_rng().manual_seed(123);
    Run straight(1);
    straight.train(n);

    default_rng().manual_seed(123);
    Run first(1);
    first.train(n / 2);
    first.checkpoint().save(path);

    default_rng().manual_seed(999);  // scrambled: the checkpoint must set it back
    Run resumed(50);                 // other initial weights, ditto
    resumed.restore(Checkpoint::load(path));
    CHECK(resumed.step == n / 2);
    resumed.train(n - n / 2);

    CHECK(same(resumed.g.state_dict(), straight.g.state_dict()));
    CHECK(same(resumed.d.state_dict(), straight.d.state_dict()));
    CHECK(same(resumed.ema.state_dict(), straight.ema.state_dict()));
    CHECK(same(resumed.opt_g.state_dict().tensors, straight.opt_g.state_dict().tensors));
    CHECK(same(resumed.opt_d.state_dict().tensors, straight.opt_d.state_dict().tensors));
    CHECK(resumed.opt_g.state_dict().json == straight.opt_g.state_dict().json);
    CHECK(resumed.data.state().offset == straight.data.state().offset);
    // And the run really moved (the comparison is not between two untouched models).
    Run untouched(1);
    CHECK_FALSE(same(untouched.g.state_dict(), straight.g.state_dict()));
}

TEST_CASE("Checkpoint: a kill at any moment of a save leaves a complete checkpoint") {
    TempDir dir;
    const std::string path = dir.file("crash.safetensors");
    // Versions of different content, big enough (~2.5 MB) that a save takes a while.
    const int versions = 4;
    std::vector<Checkpoint> cks(versions);
    for (int v = 0; v < versions; ++v) {
        cks[v].add_state("w", {{"a", full({512 * 1024}, v)}, {"b", full({128 * 1024}, -v)}});
        cks[v].set_counter("version", v).set_json("config", {{"version", v}});
    }
    // The file must load and be exactly one of the versions; returns which.
    auto check_file = [&]() -> int64_t {
        Checkpoint ck = Checkpoint::load(path);
        const int64_t v = ck.counter("version");
        REQUIRE(v >= 0);
        REQUIRE(v < versions);
        CHECK(ck.json("config")["version"] == v);
        CHECK(same(ck.state("w").at("a"), cks[v].state("w").at("a")));
        CHECK(same(ck.state("w").at("b"), cks[v].state("w").at("b")));
        return v;
    };
    cks[0].save(path);
    int64_t current = 0;  // the version the file holds
    int seen = 1, mid_write = 0;
    const int rounds = 8;
    std::mt19937 rng(2024);
    std::uniform_int_distribution<int> wait_saves(0, 2), delay_us(0, 20000);
    for (int round = 0; round < rounds; ++round) {
        // The child saves version (first + i) % versions for i = 0, 1, ... until killed, and
        // reports each completed save's i through a pipe.
        const int first = round + 1;
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // No test framework, no exit handlers, no kernels here (the tensors are made).
            ::close(fds[0]);
            try {
                for (int32_t i = 0;; ++i) {
                    cks[(first + i) % versions].save(path);
                    if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(2);
                }
            } catch (...) {
                ::_exit(1);
            }
        }
        ::close(fds[1]);
        // Let it finish 0-2 saves, then kill it at a random moment of the next ones.
        int32_t done = -1;  // index of the last save the child reported complete
        for (int k = wait_saves(rng); k > 0; --k) REQUIRE(::read(fds[0], &done, sizeof done) == 4);
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        REQUIRE(::kill(pid, SIGKILL) == 0);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status));  // killed mid-loop, not failed
        for (int32_t i; ::read(fds[0], &i, sizeof i) == sizeof i;) done = i;
        ::close(fds[0]);
        mid_write += fs::exists(path + ".tmp");

        INFO("round ", round, ", last completed save ", done);
        const int64_t v = check_file();
        // Either the last completed save, or the one after it if the kill came between its
        // rename and its report.
        const int64_t last = done < 0 ? current : (first + done) % versions;
        CHECK((v == last || v == (first + done + 1) % versions));
        current = v;
        seen |= 1 << v;
    }
    MESSAGE("versions the file held after kills (bit mask): ", seen,
            "; kills that left a partial .tmp: ", mid_write, " of ", rounds);
}

TEST_CASE("Checkpoint: missing, corrupt or foreign files and missing components are clear errors") {
    TempDir dir;
    const std::string path = dir.file("good.safetensors");
    Mlp m(1, 2, 3, 1);
    Adam opt(m.parameters(), {});
    Checkpoint ck;
    ck.add_module("G", m).add_optimizer("opt_G", opt).set_counter("step", 5);
    ck.save(path);

    // Missing file.
    const std::string missing = dir.file("nope.safetensors");
    std::string e = error_of([&] { Checkpoint::load(missing); });
    CHECK(contains(e, missing));
    CHECK(contains(e, "cannot open"));

    // Truncated and garbage files.
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto write = [&](const std::string& name, const std::string& content) {
        std::ofstream(dir.file(name), std::ios::binary) << content;
        return dir.file(name);
    };
    const std::string truncated = write("truncated.safetensors", bytes.substr(0, bytes.size() / 2));
    e = error_of([&] { Checkpoint::load(truncated); });
    CHECK(contains(e, truncated));
    const std::string garbage = write("garbage.safetensors", "this is not a checkpoint at all");
    CHECK(contains(error_of([&] { Checkpoint::load(garbage); }), garbage));
    const std::string empty_file = write("empty.safetensors", "");
    CHECK(contains(error_of([&] { Checkpoint::load(empty_file); }), empty_file));

    // A safetensors file that is not a zoograd checkpoint.
    const std::string plain = dir.file("plain.safetensors");
    save_safetensors(plain, {{"weight", ones({2})}});
    e = error_of([&] { Checkpoint::load(plain); });
    CHECK(contains(e, plain));
    CHECK(contains(e, "not a zoograd checkpoint"));
    // Checkpoint metadata that is damaged.
    const std::string bad_json = dir.file("bad_json.safetensors");
    save_safetensors(bad_json, {},
                     {{"zoograd/format", "checkpoint-1"},
                      {"zoograd/states", "{}"},
                      {"json/config", "{\"a\": "}});
    e = error_of([&] { Checkpoint::load(bad_json); });
    CHECK(contains(e, bad_json));
    CHECK(contains(e, "json/config"));
    const std::string orphan = dir.file("orphan.safetensors");
    save_safetensors(orphan, {{"X/w", ones({1})}},
                     {{"zoograd/format", "checkpoint-1"}, {"zoograd/states", "{}"}});
    CHECK(contains(error_of([&] { Checkpoint::load(orphan); }), "tensor 'X/w' belongs to no"));

    // Components that are missing, of the wrong kind or the wrong shape.
    Checkpoint back = Checkpoint::load(path);
    Mlp other(1, 2, 3, 1), wider(1, 2, 5, 1);
    e = error_of([&] { back.restore_module("D", other); });
    CHECK(contains(e, path));
    CHECK(contains(e, "no component 'D'"));
    CHECK(contains(e, "it holds: G, opt_G"));
    e = error_of([&] { back.restore_module("G", wider); });
    CHECK(contains(e, path));
    CHECK(contains(e, "component 'G'"));
    CHECK(contains(e, "shape mismatch"));
    CHECK(contains(error_of([&] { back.restore_module("opt_G", other); }), "not a module"));
    SGD sgd(other.parameters(), {.lr = 0.1});
    e = error_of([&] { back.restore_optimizer("opt_G", sgd); });
    CHECK(contains(e, "component 'opt_G'"));
    CHECK(contains(e, "saved by Adam"));
    CHECK(contains(error_of([&] { back.restore_optimizer("G", sgd); }), "not an optimizer"));
    e = error_of([&] { back.counter("epoch"); });
    CHECK(contains(e, path));
    CHECK(contains(e, "no counter 'epoch'"));
    CHECK(contains(error_of([&] { back.json("config"); }), "no JSON 'config'"));
    CHECK(contains(error_of([&] { back.rng("global"); }), "no RNG state 'global'"));
    CHECK(contains(error_of([&] { Checkpoint().add_module("a/b", m); }), "invalid name"));

    // Saving into a missing directory is an error naming the path.
    const std::string in_missing_dir = dir.file("no_such_dir/ck.safetensors");
    CHECK(contains(error_of([&] { ck.save(in_missing_dir); }), in_missing_dir));
}
