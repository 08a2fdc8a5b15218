// The semi-supervised pieces (zoo/train/semi_supervised.h) and the sgan model: the (N+1)-class
// losses against PyTorch's explicit N+1-class form (tools/fixtures/gen_semisup_fixtures.py),
// the balanced label split, the labelled-batch stream, and few-step runs of sgan and its
// options on a small synthetic labelled data set.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "test_sgan_util.h"
#include "test_util.h"
#include "zoo/train/semi_supervised.h"
#include "zoo/train/trainer.h"

using namespace zg;
using namespace zg::zoo;

namespace {

// The fixture's value and input gradients for one loss: `inputs` are the names of the fixture
// tensors the loss takes, `f` computes it from leaf copies of them.
void check_loss(const SafetensorsFile& file, const std::string& name,
                const std::vector<std::string>& inputs,
                const std::function<Tensor(const std::vector<Tensor>&)>& f) {
    std::vector<Tensor> leaves;
    for (const std::string& in : inputs) {
        Tensor t = file.tensors.at(in).clone();
        if (t.dtype() != DType::i32) t.requires_grad_();
        leaves.push_back(t);
    }
    Tensor v = f(leaves);
    CHECK_MESSAGE(testing::torch_error(v, file.tensors.at(name), name) <= 1.0, name);
    std::vector<Tensor> wrt;
    std::vector<std::string> wrt_names;
    for (size_t i = 0; i < inputs.size(); ++i)
        if (file.tensors.count(name + "/grad_" + inputs[i])) {
            wrt.push_back(leaves[i]);
            wrt_names.push_back(name + "/grad_" + inputs[i]);
        }
    std::vector<Tensor> grads = grad({sum(v)}, wrt);
    for (size_t i = 0; i < wrt.size(); ++i)
        CHECK_MESSAGE(
            testing::torch_error(grads[i], file.tensors.at(wrt_names[i]), wrt_names[i]) <= 1.0,
            wrt_names[i]);
}

}  // namespace

TEST_CASE("semi-supervised losses match PyTorch's explicit N+1-class form, extreme logits too") {
    const SafetensorsFile f = load_safetensors(testing::fixture_path("semisup_torch.safetensors"));
    using V = const std::vector<Tensor>&;
    check_loss(f, "log_d", {"logits_real"}, [](V t) { return log_d(t[0]); });
    check_loss(f, "log_one_minus_d", {"logits_real"}, [](V t) { return log_one_minus_d(t[0]); });
    check_loss(f, "supervised", {"logits_real", "labels"},
               [](V t) { return supervised_loss(t[0], t[1]); });
    check_loss(f, "unsup", {"logits_real", "logits_fake"},
               [](V t) { return unsupervised_d_loss(t[0], t[1]); });
    check_loss(f, "unsup_smooth", {"logits_real", "logits_fake"},
               [](V t) { return unsupervised_d_loss(t[0], t[1], 0.9); });
    check_loss(f, "ns", {"logits_fake"}, [](V t) { return generator_ns_loss(t[0]); });
    check_loss(f, "fm", {"feat_real", "feat_fake"},
               [](V t) { return feature_matching_loss(t[0], t[1]); });
    CHECK(testing::contains(testing::error_of([&] {
                                unsupervised_d_loss(zeros({2, 3}), zeros({2, 3}), 1.5);
                            }),
                            "one-sided label smoothing"));
    CHECK(testing::contains(testing::error_of([&] { log_d(zeros({4})); }), "[B, classes]"));
}

TEST_CASE("balanced label split: K/C per class, a pure function of (K, seed)") {
    auto data = testing::synthetic_digits(200, 1);
    const LabelledSubset a = balanced_label_split(*data, 30, 7);
    REQUIRE(a.indices.size() == 30);
    std::map<int32_t, int> per_class;
    for (int32_t y : a.data->labels().to_vector<int32_t>()) ++per_class[y];
    CHECK(per_class.size() == 10);
    for (auto& [c, n] : per_class) CHECK_MESSAGE(n == 3, "class ", c);
    CHECK(std::set<int64_t>(a.indices.begin(), a.indices.end()).size() == 30);  // no repeats
    // the subset's examples are the data set's
    const nn::Batch b = data->get({a.indices[4]});
    CHECK(b.labels.item<int32_t>() == a.data->labels().to_vector<int32_t>()[4]);
    CHECK(testing::max_abs_diff(b.x, a.data->examples().slice(0, 4, 5)) == 0.0);

    CHECK(balanced_label_split(*data, 30, 7).indices == a.indices);  // deterministic
    CHECK(balanced_label_split(*data, 30, 8).indices != a.indices);  // seed matters

    using testing::contains, testing::error_of;
    CHECK(contains(error_of([&] { balanced_label_split(*data, 25, 7); }), "multiple of the 10"));
    CHECK(contains(error_of([&] { balanced_label_split(*data, 0, 7); }), "--labels"));
    CHECK(contains(error_of([&] { balanced_label_split(*data, 300, 7); }), "more than the 200"));
    auto unlabelled = std::make_shared<nn::TensorDataset>(zeros({4, 1, 28, 28}), Tensor(), 0, "u");
    CHECK(contains(error_of([&] { balanced_label_split(*unlabelled, 10, 7); }), "no labels"));
}

TEST_CASE("labelled batches: every example once per pass, exact resume from two counters") {
    auto data = testing::synthetic_digits(100, 2);
    const LabelledSubset s = balanced_label_split(*data, 20, 1);
    // Examples are told apart by their first pixel (uniform floats: distinct).
    auto first_pixels = [](const Tensor& x) {
        const std::vector<float> v = x.reshape({x.size(0), -1}).select(1, 0).to_vector<float>();
        return std::multiset<float>(v.begin(), v.end());
    };
    LabelledBatches a(s.data, 4, 5);
    std::multiset<float> pass;
    for (int i = 0; i < 5; ++i) {  // 5 batches of 4 = one pass of 20
        const std::multiset<float> b = first_pixels(a.next().x);
        pass.insert(b.begin(), b.end());
    }
    CHECK(pass == first_pixels(s.data->examples()));
    a.next();
    nn::Checkpoint ck;
    a.save(ck, "lab");
    LabelledBatches b(s.data, 4, 5);
    b.restore(ck, "lab");
    for (int i = 0; i < 6; ++i) CHECK(testing::max_abs_diff(a.next().x, b.next().x) == 0.0);
    LabelledBatches c(s.data, 4, 6);  // another seed, another order
    LabelledBatches d(s.data, 4, 5);
    CHECK(testing::max_abs_diff(c.next().x, d.next().x) > 0.0);
}

TEST_CASE("sgan: a few steps of each variant on synthetic digits, test accuracy reported") {
    auto train_set = testing::synthetic_digits(64, 3);
    auto test_set = testing::synthetic_digits(30, 4);
    for (const Json& extra :
         {Json{}, Json{{"feature_matching", true}}, Json{{"supervised_only", true}}}) {
        CAPTURE(extra.dump());
        Json c = testing::semisup_config("sgan", extra);
        c["ngf"] = 8;
        c["ndf"] = 8;
        auto model = make_sgan(c, *train_set, test_set);
        Rng rng(1);
        Scalars s;
        for (int step = 0; step < 3; ++step)
            s = model->train_step(train_set->get(testing::range(step * 10, 10)), rng);
        for (auto& [k, v] : s) CHECK_MESSAGE(std::isfinite(v), k);
        CHECK(s.count("loss_lab"));
        CHECK(s.count("loss_g") == (extra.contains("supervised_only") ? 0u : 1u));
        // Without a G step there is no sample quality to score (the trainer skips it).
        CHECK(model->trains_generator() == !extra.contains("supervised_only"));
        const Scalars e = model->evaluate();
        REQUIRE(e.count("test_acc"));
        CHECK(e.at("test_acc") >= 0.0);
        CHECK(e.at("test_acc") <= 1.0);
        CHECK(model->generator().forward(randn({2, 100})).shape() == Shape{2, 1, 28, 28});
    }
    using testing::contains, testing::error_of;
    auto padded = std::make_shared<nn::TensorDataset>(zeros({20, 1, 32, 32}),
                                                      zeros({20}, DType::i32), 10, "padded");
    CHECK(contains(
        error_of([&] { make_sgan(testing::semisup_config("sgan", {}), *padded, nullptr); }),
        "--image-size 28"));
    CHECK(contains(
        error_of([&] {
            make_sgan(testing::semisup_config("sgan", {{"labels", 15}}), *train_set, nullptr);
        }),
        "multiple of the 10"));
}
