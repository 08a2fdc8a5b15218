// `zoograd eval --data NAME|PATH --samples SOURCE`: scores samples with zoograd's own
// feature network (zoo/eval/evaluation.h). A source is a checkpoint, a run directory, a folder of
// PNGs, a PNG grid, a .npy array, or one of the reference sets of docs/EVALUATION.md
// (real:train, real:test, noise:uniform, class:K).
#include <algorithm>
#include <charconv>
#include <filesystem>

#include "nn/checkpoint.h"
#include "tools/cli/commands.h"
#include "tools/cli/grid_arg.h"
#include "zoo/eval/evaluation.h"
#include "zoo/report/images.h"
#include "zoo/train/config_check.h"
#include "zoo/train/run_reference.h"
#include "zoo/train/trainer.h"

namespace zg::tools {

namespace fs = std::filesystem;
using zoo::Json;

namespace {

struct EvalFlags {
    zoo::EvalOptions opts;
    std::string samples, grid;
    int64_t n = 10000, pad = 2, classifier_epochs = zoo::ClassifierOptions{}.epochs;
    bool json = false, ema = false;
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_mixture(const std::string& data) {
    return data == "ring8" || data == "grid25";
}

// The first n rows of x.
Tensor first(const Tensor& x, int64_t n) {
    return x.slice(0, 0, std::min(n, x.size(0)));
}

// Samples of a trained generator: n from a seeded z, in batches of 500.
Tensor generate(const std::string& checkpoint, const EvalFlags& f) {
    nn::Checkpoint ck = nn::Checkpoint::load(checkpoint);
    const std::string trained_on =
        zoo::checkpoint_config(ck, checkpoint).at("data").get<std::string>();
    const bool same =
        trained_on == f.opts.data || (fs::exists(trained_on) && fs::exists(f.opts.data) &&
                                      fs::equivalent(trained_on, f.opts.data));
    ZG_CHECK(same, checkpoint, " was trained on '", trained_on, "', not on --data '", f.opts.data,
             "'; evaluate it with --data ", trained_on);
    zoo::TrainedGan g = zoo::load_trained(checkpoint, f.ema);
    g.check_fits(f.n, "--n");
    Rng gen(f.opts.seed);
    return g.generate(g.model->sample_z(f.n, gen), "drawing samples");
}

// Images [N, C, H, W] in [-1, 1] from a .npy array (float32 in [-1, 1] or uint8), or points.
Tensor from_npy(const std::string& path) {
    zoo::NpyArray a = zoo::load_npy(path);
    Tensor x = a.data;
    if (a.uint8) x = x * (1.0 / 127.5) - 1.0;
    if (x.dim() == 3) x = x.unsqueeze(1);
    if (!a.uint8 && x.numel() > 0) {
        const double lo = amin(x).item<double>(), hi = amax(x).item<double>();
        ZG_CHECK(lo >= -1.01 && hi <= 1.01, path, ": float32 values must lie in [-1, 1], found [",
                 lo, ", ", hi, "] (save uint8 0..255, or scale x / 127.5 - 1)");
    }
    return x;
}

// The images of a PNG grid with R×C cells and `pad` pixels between and around them (as
// `zoograd sample --out grid.png` and the trainer's sample grids write them).
Tensor from_grid(const std::string& path, const std::string& grid, int64_t pad, int64_t channels) {
    const auto [rows, cols] = tools::parse_grid(grid);
    ZG_CHECK(pad >= 0, "--pad must not be negative, got ", pad);
    Tensor img = nn::read_image(path, channels);
    const int64_t H = img.size(1), W = img.size(2);
    const int64_t h = (H - pad) / rows - pad, w = (W - pad) / cols - pad;
    ZG_CHECK(h > 0 && w > 0 && rows * (h + pad) + pad == H && cols * (w + pad) + pad == W, path,
             ": a ", W, "×", H, " image is not a ", grid, " grid with --pad ", pad,
             " (width must be C·(w+pad)+pad and height R·(h+pad)+pad)");
    std::vector<Tensor> cells;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t top = pad + r * (h + pad), left = pad + c * (w + pad);
            cells.push_back(img.slice(1, top, top + h).slice(2, left, left + w).unsqueeze(0));
        }
    return concat(cells, 0).contiguous();
}

// A folder of images, each at its own size (sorted by name).
Tensor from_folder(const std::string& dir, int64_t channels, int64_t n) {
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(dir)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        if (e.is_regular_file() &&
            (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp"))
            files.push_back(e.path());
    }
    ZG_CHECK(!files.empty(), "--samples ", dir,
             ": no images in this folder (expected PNG/JPEG/BMP files, a run directory with "
             "checkpoints/latest.safetensors, or use a .npy array)");
    std::sort(files.begin(), files.end());
    if ((int64_t)files.size() > n) files.resize(n);
    std::vector<Tensor> images;
    for (auto& f : files) {
        Tensor img = nn::read_image(f.string(), channels).unsqueeze(0);
        ZG_CHECK(images.empty() || img.shape() == images[0].shape(), f.string(), ": size ",
                 shape_str(img.shape()), " differs from the folder's first image ",
                 shape_str(images[0].shape()));
        images.push_back(img);
    }
    return concat(images, 0);
}

// The reference sets of docs/EVALUATION.md: a real split, uniform noise, or one class.
Tensor from_builtin(const std::string& source, const EvalFlags& f, const Shape& native) {
    const std::string kind = source.substr(0, source.find(':'));
    const std::string arg = source.substr(source.find(':') + 1);
    if (kind == "noise") {
        ZG_CHECK(arg == "uniform", "--samples noise:", arg, ": only noise:uniform exists");
        Rng gen(f.opts.seed + 7);
        return uniform({f.n, native[0], native[1], native[2]}, -1.0, 1.0, &gen);
    }
    ZG_CHECK(!is_mixture(f.opts.data), "--samples ", source, " needs an image data set");
    // class:K must be a whole number, checked before any data is loaded (class:3x is no class 3).
    int64_t k = -1;
    if (kind == "class") {
        const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), k);
        ZG_CHECK(ec == std::errc() && end == arg.data() + arg.size() && k >= 0,
                 "--samples class:", arg,
                 ": the class must be a whole number ≥ 0, such as class:3");
    }
    zoo::FeatureData d = zoo::load_feature_data(f.opts.data, f.opts.data_root, f.opts.image_size);
    if (kind == "real") {
        ZG_CHECK(arg == "train" || arg == "test", "--samples real:", arg,
                 ": use real:train or real:test");
        return first((arg == "train" ? d.train : d.test)->examples(), f.n);
    }
    ZG_CHECK(kind == "class", "--samples ", source,
             ": unknown source (a path, real:train, real:test, noise:uniform or class:K)");
    ZG_CHECK(d.test->num_classes() > 0 && k < d.test->num_classes(), "--samples class:", arg,
             ": the class must be in [0, ", d.test->num_classes(), ")");
    auto labels = d.test->labels().to_vector<int32_t>();
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < (int64_t)labels.size() && (int64_t)idx.size() < f.n; ++i)
        if (labels[i] == k) idx.push_back(i);
    return d.test->get(idx).x;
}

Tensor load_samples(const EvalFlags& f, const Shape& native) {
    const std::string& s = f.samples;
    if (s.rfind("noise:", 0) == 0 || s.rfind("real:", 0) == 0 || s.rfind("class:", 0) == 0)
        return from_builtin(s, f, native);
    ZG_CHECK(fs::exists(s), "--samples ", s, ": no such file or directory");
    if (fs::is_directory(s)) {
        const std::string latest = s + "/checkpoints/latest.safetensors";
        if (fs::exists(latest)) return generate(latest, f);
        return from_folder(s, native[0], f.n);
    }
    if (ends_with(s, ".npy")) return first(from_npy(s), f.n);
    if (ends_with(s, ".safetensors")) return generate(s, f);
    ZG_CHECK(!f.grid.empty(), "--samples ", s,
             ": a single image needs --grid RxC (and --pad) to be cut into samples");
    return first(from_grid(s, f.grid, f.pad, native[0]), f.n);
}

// The feature network's input shape, known for the named sets before any data is read.
Shape native_shape(const zoo::EvalOptions& o) {
    if (o.data == "mnist" || o.data == "fashion") return {1, 28, 28};
    return zoo::load_feature_data(o.data, o.data_root, o.image_size).train->example_shape();
}

// Without --data: the data set a checkpoint's run trained on (--samples a checkpoint or a run
// directory), looked for where that run found it.
void data_from_checkpoint(EvalFlags& f) {
    const bool names_checkpoint =
        ends_with(f.samples, ".safetensors") ||
        (fs::is_directory(f.samples) &&
         fs::exists(fs::path(f.samples) / "checkpoints" / "latest.safetensors"));
    ZG_CHECK(names_checkpoint, "eval: give --data (mnist, fashion, ring8, grid25 or an image ",
             "folder); only a checkpoint or a run directory as --samples brings its own");
    const std::string checkpoint = zoo::checkpoint_of(f.samples);
    const Json c = zoo::checkpoint_config(nn::Checkpoint::load(checkpoint), checkpoint);
    f.opts.data = c.at("data").get<std::string>();
    const std::string root = c.value("data_root", "");
    if (f.opts.data_root.empty() && !root.empty() && fs::is_directory(fs::path(root) / f.opts.data))
        f.opts.data_root = root;
}

int run_eval(const EvalFlags& f) {
    ZG_CHECK(f.n > 0, "--n must be positive, got ", f.n);
    Json result;
    if (is_mixture(f.opts.data)) {
        ZG_CHECK(fs::exists(f.samples), "--samples ", f.samples, ": no such file; ", f.opts.data,
                 " samples are a .npy of points [N, 2] or a checkpoint");
        Tensor points;
        if (ends_with(f.samples, ".npy"))
            points = first(zoo::load_npy(f.samples).data, f.n);
        else
            points = load_samples(f, {2});
        result = zoo::evaluate_mixture(points, f.opts.data);
    } else {
        const Shape native = native_shape(f.opts);
        Tensor images = load_samples(f, native);
        ZG_CHECK(images.dim() == 4, "--samples ", f.samples, ": expected images, got an array ",
                 shape_str(images.shape()), " (points [N, 2] go with --data ring8 or grid25)");
        images = zoo::to_native_size(images, native);  // fail on a bad shape before training
        zoo::EvalOptions opts = f.opts;
        opts.progress = true;
        opts.classifier.epochs = f.classifier_epochs;
        opts.classifier.data_root = f.opts.data_root;
        opts.classifier.image_size = f.opts.image_size;
        zoo::Evaluator evaluator(opts);
        result = evaluator.evaluate(images);
    }
    if (f.json)
        std::printf("%s\n", result.dump().c_str());
    else
        std::printf("%s", zoo::format_eval_table(result).c_str());
    return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "eval",
        "Score generated samples against a data set with zoograd's own feature network "
        "(FID, KID, Inception-style score, precision/recall, density/coverage, modes); "
        "see docs/EVALUATION.md");
    add_threads_flag(cmd);
    add_device_flag(cmd);
    auto f = std::make_shared<EvalFlags>();
    auto* data = cmd->add_option(
        "--data", f->opts.data,
        "Data set: mnist, fashion, ring8, grid25, or an image folder (one sub-folder per class: "
        "a classifier; flat: an autoencoder). Not given with a checkpoint or a run directory: "
        "the data set it was trained on");
    cmd->add_option("--samples", f->samples,
                    "A checkpoint (.safetensors), a run directory (its latest checkpoint), a "
                    "folder of PNGs, a PNG grid (with --grid), a .npy array (NxHxW or NxCxHxW "
                    "float32 in [-1, 1] or uint8; Nx2 for ring8/grid25), or a reference set: "
                    "real:train, real:test, noise:uniform, class:K (test images of class K)")
        ->required();
    cmd->add_option("--n", f->n,
                    "Samples to evaluate (generated from a checkpoint; the first N "
                    "otherwise)")
        ->capture_default_str();
    cmd->add_flag("--json", f->json, "Print one JSON object instead of a table");
    cmd->add_option("--reference", f->opts.reference, "The real set: the train or test split")
        ->capture_default_str()
        ->check(CLI::IsMember({"train", "test"}));
    cmd->add_option("--reference-n", f->opts.reference_n,
                    "At most this many reference images (the split's first ones)")
        ->capture_default_str()
        ->check(positive());
    cmd->add_option("--grid", f->grid, "Cut a PNG --samples into RxC cells, e.g. 8x8");
    cmd->add_option("--pad", f->pad, "Pixels between and around the cells of a --grid PNG")
        ->capture_default_str();
    cmd->add_option("--seed", f->opts.seed,
                    "Seed of the latents (checkpoints), noise and KID "
                    "subsets")
        ->capture_default_str();
    cmd->add_flag("--ema", f->ema, "Sample a checkpoint's EMA generator");
    cmd->add_option("--data-root", f->opts.data_root, data_root_help);
    cmd->add_option("--image-size", f->opts.image_size,
                    "Image folders: the side images are fitted to for the feature network")
        ->capture_default_str()
        ->check(positive());
    cmd->add_option("--classifier-epochs", f->classifier_epochs,
                    "Epochs of the feature network when none is cached yet (trained once, then "
                    "kept in $ZOOGRAD_CACHE)")
        ->capture_default_str()
        ->check(positive());
    return [f, data] {
        if (data->count() == 0) data_from_checkpoint(*f);
        return run_eval(*f);
    };
}

}  // namespace zg::tools
