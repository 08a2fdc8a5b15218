// `zoograd sample` and `zoograd interp`: images from a trained generator.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tools/commands.h"
#include "zoo/images.h"
#include "zoo/trainer.h"

namespace zg::tools {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Writes images as a grid (.png), a NumPy array (.npy) or one PNG per image (a directory).
void write_output(const Tensor& images, const std::string& out, int64_t nrow) {
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
    const double na = std::sqrt(sum(a * a).item<double>()), nb = std::sqrt(sum(b * b).item<double>());
    const double cos_omega = std::clamp(sum(a * b).item<double>() / (na * nb), -1.0, 1.0);
    const double omega = std::acos(cos_omega);
    if (std::sin(omega) < 1e-6) return a * (1 - t) + b * t;  // (anti)parallel: fall back
    return a * (std::sin((1 - t) * omega) / std::sin(omega)) + b * (std::sin(t * omega) / std::sin(omega));
}

}  // namespace

Command add_sample_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("sample", "Draw samples from a trained generator");
    struct Args {
        std::string checkpoint, out = "samples.png";
        int64_t n = 64;
        uint64_t seed = 0;
        bool ema = false;
    };
    auto a = std::make_shared<Args>();
    cmd->add_option("--checkpoint", a->checkpoint, "A checkpoint file (RUN/checkpoints/latest.safetensors)")
        ->required()->check(CLI::ExistingFile);
    cmd->add_option("--n", a->n, "Number of samples")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--seed", a->seed, "Seed of the latents")->capture_default_str();
    cmd->add_option("--out", a->out, "FILE.png (a grid), FILE.npy (N×C×H×W float32 in [-1, 1]) or a "
                    "directory (one PNG per sample)")->capture_default_str();
    cmd->add_flag("--ema", a->ema, "Use the EMA generator (runs trained with --ema)");
    return [a] {
        zoo::TrainedGan g = zoo::load_trained(a->checkpoint, a->ema);
        Generator gen(a->seed);
        Tensor images = g.generate(g.model->sample_z(a->n, gen));
        write_output(images, a->out, (int64_t)std::ceil(std::sqrt((double)a->n)));
        return 0;
    };
}

Command add_interp_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("interp", "Interpolate between random latents (slerp by default)");
    struct Args {
        std::string checkpoint, out = "interp.png";
        int64_t rows = 8, steps = 10;
        uint64_t seed = 0;
        bool linear = false, ema = false;
    };
    auto a = std::make_shared<Args>();
    cmd->add_option("--checkpoint", a->checkpoint, "A checkpoint file")->required()->check(CLI::ExistingFile);
    cmd->add_option("--out", a->out, "Output PNG: one row per pair of endpoints")->capture_default_str();
    cmd->add_option("--rows", a->rows, "Pairs of endpoints")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--steps", a->steps, "Images per row (≥ 2)")->capture_default_str()->check(CLI::Range(2, 100));
    cmd->add_option("--seed", a->seed, "Seed of the endpoints")->capture_default_str();
    cmd->add_flag("--linear", a->linear, "Straight-line interpolation instead of slerp");
    cmd->add_flag("--ema", a->ema, "Use the EMA generator");
    return [a] {
        zoo::TrainedGan g = zoo::load_trained(a->checkpoint, a->ema);
        Generator gen(a->seed);
        Tensor from = g.model->sample_z(a->rows, gen), to = g.model->sample_z(a->rows, gen);
        std::vector<Tensor> zs;
        for (int64_t r = 0; r < a->rows; ++r)
            for (int64_t k = 0; k < a->steps; ++k) {
                const double t = (double)k / (double)(a->steps - 1);
                Tensor z0 = from.select(0, r), z1 = to.select(0, r);
                zs.push_back(a->linear ? z0 * (1 - t) + z1 * t : slerp(z0, z1, t));
            }
        write_output(g.generate(stack(zs, 0)), a->out, a->steps);
        return 0;
    };
}

}  // namespace zg::tools
