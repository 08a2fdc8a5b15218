#include "zoo/eval/evaluation.h"

#include <cstdio>
#include <filesystem>

#include "engine/io/safetensors.h"
#include "zoo/report/progress.h"

namespace zg::zoo {

namespace fs = std::filesystem;
using Json = nlohmann::json;

Tensor to_native_size(const Tensor& images, const Shape& native) {
    ZG_CHECK(images.dim() == 4, "samples must be images [N, C, H, W], got ",
             shape_str(images.shape()));
    const Shape got{images.size(1), images.size(2), images.size(3)};
    if (got == native) return images;
    const int64_t pad = (got[1] - native[1]) / 2;
    // nn::fit_images pads 28×28 digits by up to 2 pixels a side to reach the DCGAN's 32×32.
    const bool padded = got[0] == native[0] && got[1] == got[2] && native[1] == native[2] &&
                        got[1] > native[1] && (got[1] - native[1]) % 2 == 0 && pad <= 2;
    ZG_CHECK(padded, "samples are ", shape_str(got), " images but the feature network of this ",
             "data set takes ", shape_str(native), " (or the same padded to ", native[1] + 4, "×",
             native[2] + 4, "); generate at the data set's size and channel count");
    return images.slice(2, pad, pad + native[1]).slice(3, pad, pad + native[2]).contiguous();
}

FeatureOutputs extract_features(FeatureNet& net, const Tensor& images, const std::string& what) {
    NoGradGuard ng;
    net.eval();
    std::vector<Tensor> feats, probs;
    ProgressLine progress(what, images.size(0), !what.empty());
    for (int64_t at = 0; at < images.size(0); at += 500) {
        progress.update(at);
        Tensor x = images.slice(0, at, std::min(at + 500, images.size(0))).contiguous();
        Tensor f = net.features(x);
        feats.push_back(f);
        if (net.num_classes > 0) probs.push_back(softmax(net.forward(x), 1));
    }
    progress.update(images.size(0));
    FeatureOutputs out;
    out.features = concat(feats, 0);
    if (!probs.empty()) out.probs = concat(probs, 0);
    return out;
}

Evaluator::Evaluator(const EvalOptions& opts) : opts_(opts) {
    ZG_CHECK(opts.reference == "train" || opts.reference == "test",
             "--reference must be train or test, got '", opts.reference, "'");
    data_ = load_feature_data(opts.data, opts.data_root, opts.image_size);
    net_ = cached_classifier(data_, opts.classifier);
    const auto& ref = opts.reference == "train" ? *data_.train : *data_.test;
    const int64_t n = std::min(opts.reference_n, ref.size());
    ZG_CHECK(n >= 10, "the reference set has only ", n, " images; at least 10 are needed");
    // The reference features depend on the network (its hash), the split, the count and the
    // images themselves: another data set in mnist/'s place must not reuse MNIST's.
    const Tensor images = ref.examples().slice(0, 0, n);
    const std::string path = cache_dir() + "/reference-" + data_.key + "-" + opts.reference + "-" +
                             std::to_string(n) + "-" + net_.hash + "-" + tensor_hash(images) +
                             ".safetensors";
    bool cached = false;
    if (fs::exists(path)) {
        try {
            auto file = load_safetensors(path);
            reference_.features = file.tensors.at("features");
            if (file.tensors.count("probs")) reference_.probs = file.tensors.at("probs");
            cached = true;
        } catch (const std::exception& e) {  // a cache file cut short is rebuilt, not fatal
            std::fprintf(stderr,
                         "warning: the cached reference %s is unreadable (%s); computing "
                         "it again\n",
                         path.c_str(), e.what());
        }
    }
    if (!cached) {
        reference_ = extract_features(
            *net_.net, images, opts.progress ? "reference features (once, then cached)" : "");
        std::map<std::string, Tensor> tensors{{"features", reference_.features}};
        if (reference_.probs.defined()) tensors["probs"] = reference_.probs;
        save_safetensors(path, tensors);
    }
    reference_gaussian_ = metrics::fit_gaussian(reference_.features);
}

std::string Evaluator::features_name() const {
    return "zoograd-" + (data_.key.rfind("folder-", 0) == 0 ? data_.key : opts_.data);
}

Shape Evaluator::native_shape() const {
    return data_.train->example_shape();
}

Json Evaluator::evaluate(const Tensor& images, bool all_metrics) {
    Tensor x = to_native_size(images, native_shape());
    const int64_t n = x.size(0);
    ZG_CHECK(n >= 10, "only ", n, " samples; evaluation needs at least 10 (use more with --n)");
    FeatureOutputs fake = extract_features(*net_.net, x, opts_.progress ? "sample features" : "");
    if (opts_.progress)
        std::fprintf(stderr, "computing FID, KID%s ...\n",
                     all_metrics ? ", precision/recall, density/coverage, IS, modes" : "");
    Json r;
    r["dataset"] = opts_.data;
    r["n"] = n;
    r["features"] = features_name() + " " +
                    (net_.net->num_classes > 0 ? "classifier" : "autoencoder") +
                    " penultimate layer, " + net_.path + " fnv1a64:" + net_.hash;
    r["reference"] =
        opts_.reference + " (" + std::to_string(reference_.features.size(0)) + " images)";
    r["fid"] = metrics::frechet_distance(reference_gaussian_, metrics::fit_gaussian(fake.features));
    Rng kid_rng(opts_.seed);
    const int64_t subset = std::min({int64_t(1000), n, reference_.features.size(0)});
    metrics::MeanStd kid = metrics::kid(reference_.features, fake.features, 100, subset, kid_rng);
    r["kid"] = kid.mean;
    r["kid_std"] = kid.std;
    Json none;  // null: not computed
    for (const char* key : {"is", "is_std", "precision", "recall", "density", "coverage",
                            "class_hist", "modes_covered", "mean_confidence"})
        r[key] = none;
    if (all_metrics) {
        auto pr = metrics::precision_recall(reference_.features, fake.features, 3);
        auto dc = metrics::density_coverage(reference_.features, fake.features, 5);
        r["precision"] = pr.precision;
        r["recall"] = pr.recall;
        r["density"] = dc.density;
        r["coverage"] = dc.coverage;
    }
    if (fake.probs.defined()) {
        if (all_metrics) {
            auto is = metrics::inception_score(fake.probs, std::min<int64_t>(10, n));
            r["is"] = is.mean;
            r["is_std"] = is.std;
        }
        auto hist = metrics::class_histogram(fake.probs);
        r["class_hist"] = hist;
        r["modes_covered"] = metrics::modes_covered(hist);
        r["modes_total"] = (int64_t)hist.size();
        r["mean_confidence"] = metrics::mean_confidence(fake.probs);
    } else {
        r["note"] =
            "unlabelled folder: the features come from an autoencoder with no class "
            "outputs, so the Inception-style score, class histogram, modes covered and "
            "confidence are left out";
    }
    return r;
}

Json evaluate_mixture(const Tensor& points, const std::string& mixture) {
    ZG_CHECK(points.dim() == 2 && points.size(1) == 2, mixture,
             " samples must be points [N, 2], got ", shape_str(points.shape()));
    const nn::MixtureSpec spec = nn::mixture_spec(mixture);
    auto score = metrics::mixture_score(points, spec);
    return Json{{"dataset", mixture},
                {"n", points.size(0)},
                {"modes_covered", score.modes_captured},
                {"modes_total", (int64_t)spec.centers.size()},
                {"high_quality", score.high_quality}};
}

bool has_sample_quality(const std::string& data) {
    return data == "mnist" || data == "fashion" || data == "ring8" || data == "grid25";
}

std::map<std::string, double> sample_quality(const std::string& data, const std::string& data_root,
                                             const Tensor& samples,
                                             std::unique_ptr<Evaluator>& evaluator) {
    if (data == "ring8" || data == "grid25") {
        Json r = evaluate_mixture(samples, data);
        return {{"modes_covered", r.at("modes_covered").get<double>()},
                {"high_quality", r.at("high_quality").get<double>()}};
    }
    if (!has_sample_quality(data)) return {};
    if (!evaluator) {
        EvalOptions o;
        o.data = data;
        o.data_root = o.classifier.data_root = data_root;
        evaluator = std::make_unique<Evaluator>(o);
    }
    Json r = evaluator->evaluate(samples, false);
    return {{"fid", r.at("fid").get<double>()},
            {"kid", r.at("kid").get<double>()},
            {"modes_covered", r.at("modes_covered").get<double>()}};
}

std::string format_eval_table(const Json& r) {
    std::string out;
    auto line = [&](const std::string& name, const std::string& value) {
        char buf[512];
        std::snprintf(buf, sizeof buf, "  %-44s %s\n", name.c_str(), value.c_str());
        out += buf;
    };
    auto num = [](const Json& v, const char* fmt) {
        if (v.is_null()) return std::string("-");
        char buf[64];
        std::snprintf(buf, sizeof buf, fmt, v.get<double>());
        return std::string(buf);
    };
    out += "dataset " + r.at("dataset").get<std::string>() + ", " +
           std::to_string(r.at("n").get<int64_t>()) + " samples\n";
    if (!r.contains("fid")) {  // a 2-D mixture
        line("modes covered", std::to_string(r.at("modes_covered").get<int64_t>()) + " / " +
                                  std::to_string(r.at("modes_total").get<int64_t>()));
        line("high-quality samples (within 3 std of a mode)",
             num(r.at("high_quality").get<double>() * 100, "%.2f%%"));
        return out;
    }
    out += "features: " + r.at("features").get<std::string>() +
           "\nreference: " + r.at("reference").get<std::string>() + "\n";
    const std::string tag = " (" +
                            r.at("features")
                                .get<std::string>()
                                .substr(0, r.at("features").get<std::string>().find(' ')) +
                            " features)";
    line("FID" + tag, num(r.at("fid"), "%.3f"));
    line("KID" + tag, num(r.at("kid"), "%.5f") + " ± " + num(r.at("kid_std"), "%.5f"));
    line("Inception-style score" + tag,
         num(r.at("is"), "%.3f") + " ± " + num(r.at("is_std"), "%.3f"));
    line("precision (k=3)", num(r.at("precision"), "%.4f"));
    line("recall (k=3)", num(r.at("recall"), "%.4f"));
    line("density (k=5)", num(r.at("density"), "%.4f"));
    line("coverage (k=5)", num(r.at("coverage"), "%.4f"));
    if (!r.at("class_hist").is_null()) {
        line("modes covered (classes with >= 1/3 of their share)",
             std::to_string(r.at("modes_covered").get<int64_t>()) + " / " +
                 std::to_string(r.at("modes_total").get<int64_t>()));
        line("mean classifier confidence", num(r.at("mean_confidence"), "%.4f"));
        line("predicted-class histogram", r.at("class_hist").dump());
    }
    if (r.contains("note")) out += "note: " + r.at("note").get<std::string>() + "\n";
    return out;
}

}  // namespace zg::zoo
