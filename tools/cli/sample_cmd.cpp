// `zoograd sample` and `zoograd interp`: images from a trained generator, given as a zoograd
// checkpoint or (sample --weights) as a bare generator state dict such as pytorch/examples'
// netG exported to safetensors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

#include "engine/io/safetensors.h"
#include "tools/cli/commands.h"
#include "zoo/models/progan/networks.h"
#include "zoo/registry.h"
#include "zoo/report/images.h"
#include "zoo/train/trainer.h"

namespace zg::tools {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Writes images as a grid (.png), a NumPy array (.npy) or one PNG per image (a directory).
// Another extension (x.jpg) is refused rather than made into a directory of that name.
void write_output(const Tensor& images, const std::string& out, int64_t nrow) {
    const std::string ext = std::filesystem::path(out).extension().string();
    ZG_CHECK(ext.empty() || ext == ".png" || ext == ".npy", "--out ", out, ": ", ext,
             " is not written; use FILE.png (a grid), FILE.npy (an array) or a directory name");
    if (ends_with(out, ".png"))
        zoo::save_image_grid(images, out, nrow);
    else if (ends_with(out, ".npy"))
        zoo::save_npy(images, out);
    else
        zoo::save_images(images, out);
    std::printf("wrote %lld images to %s\n", (long long)images.size(0), out.c_str());
}

// Spherical interpolation (ganhacks 3): for unit directions a, b at angle Ω,
// slerp(a, b; t) = sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, which stays on the shell where
// Gaussian latents live (a straight line passes through low-norm points G never saw).
Tensor slerp(const Tensor& a, const Tensor& b, double t) {
    const double na = std::sqrt(sum(a * a).item<double>()),
                 nb = std::sqrt(sum(b * b).item<double>());
    const double cos_omega = std::clamp(sum(a * b).item<double>() / (na * nb), -1.0, 1.0);
    const double omega = std::acos(cos_omega);
    if (std::sin(omega) < 1e-6) return a * (1 - t) + b * t;  // (anti)parallel: fall back
    return a * (std::sin((1 - t) * omega) / std::sin(omega)) +
           b * (std::sin(t * omega) / std::sin(omega));
}

// The architecture flags of `sample --weights`; unset ones keep the model's defaults.
struct ArchFlags {
    std::optional<int64_t> image_size, nz, ngf, channels;
};

// Builds `model` (defaults, overridden by the given flags) and loads its generator, strictly,
// from a bare state dict: every key the generator has, with its shape, and no other.
zoo::TrainedGan load_generator_weights(const std::string& path, const std::string& model,
                                       const ArchFlags& arch) {
    const zoo::ModelInfo& info = zoo::find_model(model);
    zoo::Json config = zoo::default_config(model);
    const std::pair<const char*, std::optional<int64_t>> given[] = {
        {"image_size", arch.image_size}, {"nz", arch.nz}, {"ngf", arch.ngf}};
    for (const auto& [key, value] : given)
        if (value) config[key] = *value;
    const int64_t channels = arch.channels.value_or(1);
    const int64_t size =
        config.contains("image_size") ? config.at("image_size").get<int64_t>() : 32;
    // As in load_trained: the builder only needs the data's shape.
    nn::TensorDataset stand_in(zeros({1, channels, size, size}), Tensor(), 0, "weights");
    zoo::TrainedGan t;
    t.example_shape = stand_in.example_shape();
    t.model = info.build(config, stand_in);
    const SafetensorsFile weights = load_safetensors(path);
    try {
        t.model->generator().load_state_dict(weights.tensors);
    } catch (const Error& e) {
        throw Error("--weights " + path + " does not fit " + info.name +
                    "'s generator built with --image-size " + std::to_string(size) + " --nz " +
                    config.at("nz").dump() + " --ngf " + config.at("ngf").dump() + " --channels " +
                    std::to_string(channels) + ": " + e.what() +
                    "\n  (give the flags the network was trained with; the file must be a bare "
                    "generator state dict, e.g. pytorch/examples' netG.state_dict(), see "
                    "docs/DCGAN.md)");
    }
    return t;
}

// sample --resolution R: a progan generator set to draw at R, a resolution it has fully grown
// (R itself mid-fade keeps the checkpoint's α, as training shows it).
void select_resolution(zoo::TrainedGan& g, int64_t resolution) {
    auto* progan = dynamic_cast<zoo::ProganGenerator*>(&g.model->generator());
    ZG_CHECK(progan, "--resolution is for progan checkpoints, whose generator grows; this one ",
             "draws at a single resolution");
    const zoo::ProganLevel now = progan->phase();
    const int64_t reached = int64_t(4) << now.level;
    ZG_CHECK(resolution <= reached, "--resolution ", resolution, ": this checkpoint has reached ",
             reached, "×", reached, " so far");
    progan->set_phase(resolution, resolution == reached ? now.alpha : 1.0);
}

}  // namespace

Command add_sample_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("sample", "Draw samples from a trained generator");
    add_threads_flag(cmd);
    add_device_flag(cmd);
    struct Args {
        std::string checkpoint, weights, model = "dcgan", out = "samples.png";
        ArchFlags arch;
        int64_t n = 64;
        uint64_t seed = 0;
        bool ema = false;
        std::optional<int64_t> cls, resolution;
    };
    auto a = std::make_shared<Args>();
    auto* checkpoint =
        cmd->add_option("--checkpoint", a->checkpoint,
                        "A run directory (its latest checkpoint) or a checkpoint file")
            ->check(CLI::ExistingPath);
    auto* weights = cmd->add_option("--weights", a->weights,
                                    "Instead of --checkpoint: a bare generator state dict in "
                                    "safetensors with PyTorch names (e.g. pytorch/examples' netG, "
                                    "exported as docs/DCGAN.md shows); give --model and its flags")
                        ->check(CLI::ExistingFile)
                        ->excludes(checkpoint);
    cmd->add_option("--model", a->model, "With --weights: the model whose generator they are")
        ->capture_default_str()
        ->needs(weights);
    const std::string model_default = " (default: the model's, see 'zoograd models')";
    cmd->add_option("--image-size", a->arch.image_size,
                    "With --weights: image size" + model_default)
        ->needs(weights);
    cmd->add_option("--nz", a->arch.nz, "With --weights: latent size" + model_default)
        ->check(positive())
        ->needs(weights);
    cmd->add_option("--ngf", a->arch.ngf, "With --weights: generator width" + model_default)
        ->check(positive())
        ->needs(weights);
    cmd->add_option("--channels", a->arch.channels,
                    "With --weights: image channels, 1 (grey) or 3 (RGB) (default 1)")
        ->check(CLI::IsMember({1, 3}))
        ->needs(weights);
    cmd->add_option("--n", a->n, "Number of samples")->capture_default_str()->check(positive());
    cmd->add_option("--seed", a->seed, "Seed of the latents")->capture_default_str();
    cmd->add_option("--out", a->out,
                    "FILE.png (a grid), FILE.npy (N×C×H×W float32 in [-1, 1]) or a "
                    "directory (one PNG per sample)")
        ->capture_default_str();
    cmd->add_flag("--ema", a->ema, "Use the EMA generator (runs trained with --ema)")
        ->excludes(weights);
    cmd->add_option("--class", a->cls,
                    "Class-conditional models (acgan): draw every sample from this class, 0 to "
                    "classes-1 (default: the model's own arrangement)");
    cmd->add_option("--resolution", a->resolution,
                    "progan: draw at this resolution, at most the one the checkpoint has "
                    "reached (default: what training shows at that point, mid-fade included)")
        ->check(positive());
    return [a] {
        ZG_CHECK(
            !a->checkpoint.empty() || !a->weights.empty(),
            "sample: give --checkpoint RUN (a run directory or a checkpoint file), or --weights "
            "FILE.safetensors --model dcgan with its flags");
        zoo::TrainedGan g = a->weights.empty()
                                ? zoo::load_trained(a->checkpoint, a->ema)
                                : load_generator_weights(a->weights, a->model, a->arch);
        if (a->resolution) select_resolution(g, *a->resolution);
        g.check_fits(a->n, "--n");
        Rng gen(a->seed);
        Tensor z;
        if (a->cls) {
            const int64_t k = g.model->num_classes();
            ZG_CHECK(k > 0,
                     "--class: this model is unconditional; --class needs a "
                     "class-conditional model such as acgan");
            ZG_CHECK(*a->cls >= 0 && *a->cls < k, "--class ", *a->cls,
                     " is out of range: the model has ", k, " classes (0 to ", k - 1, ")");
            z = g.model->sample_z_for(full({a->n}, (double)*a->cls, DType::i32), gen);
        } else {
            z = g.model->sample_z(a->n, gen);
        }
        Tensor images = g.generate(z, a->n > 500 ? "drawing samples" : "");
        write_output(images, a->out, (int64_t)std::ceil(std::sqrt((double)a->n)));
        return 0;
    };
}

Command add_interp_command(CLI::App& app) {
    auto* cmd =
        app.add_subcommand("interp", "Interpolate between random latents (slerp by default)");
    add_threads_flag(cmd);
    add_device_flag(cmd);
    struct Args {
        std::string checkpoint, out = "interp.png";
        int64_t rows = 8, per_row = 10;
        uint64_t seed = 0;
        bool linear = false, ema = false;
    };
    auto a = std::make_shared<Args>();
    cmd->add_option("--checkpoint", a->checkpoint,
                    "A run directory (its latest checkpoint) or a checkpoint file")
        ->required()
        ->check(CLI::ExistingPath);
    cmd->add_option("--out", a->out, "Output PNG: one row per pair of endpoints")
        ->capture_default_str();
    cmd->add_option("--rows", a->rows, "Pairs of endpoints")
        ->capture_default_str()
        ->check(positive());
    cmd->add_option("--per-row", a->per_row, "Images per row, the endpoints included (≥ 2)")
        ->capture_default_str()
        ->check(CLI::Range(2, 100));
    cmd->add_option("--seed", a->seed, "Seed of the endpoints")->capture_default_str();
    cmd->add_flag("--linear", a->linear, "Straight-line interpolation instead of slerp");
    cmd->add_flag("--ema", a->ema, "Use the EMA generator");
    return [a] {
        zoo::TrainedGan g = zoo::load_trained(a->checkpoint, a->ema);
        ZG_CHECK(a->rows <= std::numeric_limits<int64_t>::max() / a->per_row, "--rows ", a->rows,
                 " × --per-row ", a->per_row, " is too many images");
        g.check_fits(a->rows * a->per_row, "--rows × --per-row =");
        Rng gen(a->seed);
        Tensor from = g.model->sample_z(a->rows, gen), to = g.model->sample_z(a->rows, gen);
        std::vector<Tensor> zs;
        for (int64_t r = 0; r < a->rows; ++r)
            for (int64_t k = 0; k < a->per_row; ++k) {
                const double t = (double)k / (double)(a->per_row - 1);
                Tensor z0 = from.select(0, r), z1 = to.select(0, r);
                zs.push_back(a->linear ? z0 * (1 - t) + z1 * t : slerp(z0, z1, t));
            }
        write_output(g.generate(stack(zs, 0)), a->out, a->per_row);
        return 0;
    };
}

}  // namespace zg::tools
