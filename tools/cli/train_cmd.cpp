// `zoograd train MODEL --data ...`: flags come from the trainer's and the models' default
// configs, so every flag shows its default in --help and lands in config.json.
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "tools/cli/commands.h"
#include "tools/cli/train_help.h"
#include "zoo/losses/losses.h"
#include "zoo/registry.h"
#include "zoo/train/config_check.h"
#include "zoo/train/flag.h"
#include "zoo/train/run_reference.h"
#include "zoo/train/trainer.h"

namespace zg::tools {

namespace fs = std::filesystem;
using zoo::flag_of;
using zoo::Json;

namespace {

const std::map<std::string, std::string>& help_texts() {
    static const std::map<std::string, std::string> h = {
        {"data",
         "Data set: mnist, fashion, ring8, grid25, or a folder of images (one "
         "sub-folder per class, or flat)"},
        {"data_root", data_root_help},
        {"steps", "Total training steps (the target, also when resuming); 0: use --epochs"},
        {"epochs", "Training epochs when --steps is 0"},
        {"seed", "Seed of the project RNG (weights, shuffling, latents); printed and stored"},
        {"threads", "OpenMP threads (0: all cores)"},
        {"sample_every",
         "Save a sample grid every N steps (0: only at the end; auto: a round number giving 10 "
         "to 25 grids over the run)"},
        {"checkpoint_every", "Save a checkpoint every N steps (0: only at the end)"},
        {"log_every", "Log averaged losses every N steps"},
        {"eval_every",
         "Evaluate on held-out data every N steps (and at the end): e.g. test "
         "accuracy of semi-supervised models, and on mnist/fashion FID, KID and "
         "modes of 2000 samples (ring8/grid25: modes, high-quality fraction; "
         "docs/EVALUATION.md); 0: model scalars only at the end"},
        {"ema",
         "Keep an exponential moving average of G's weights with this decay (e.g. "
         "0.999) and sample from it; 0: off"},
        {"lr_decay",
         "constant, or linear: G's and D's learning rates fall linearly from --lr-g/--lr-d "
         "at step 0 to 0 at the last step (sharper samples at the end of a run)"},
        {"n", "Images in each sample grid (and in samples/real.png)"},
        {"health_window",
         "Health monitor window in steps: warns once per window about D loss "
         "collapse, gradient norms over 100, unstable or saturating D "
         "(ganhacks 10; docs/MODELS.md); 0: off"},
        {"minutes",
         "Stop after this many minutes of training (0: no limit), saving a checkpoint; the "
         "steps (progan: kimg) reached go into metrics.jsonl and config.json's budget_reached, "
         "so the run can be repeated exactly with --steps (--total-kimg)"},
        {"stop_on_failure",
         "Stop (exit code 3, checkpoint saved) at the health monitor's "
         "first warning"},
        {"lr_g", "Generator learning rate"},
        {"lr_d", "Discriminator learning rate"},
        {"beta1", "Adam beta1"},
        {"beta2", "Adam beta2"},
        {"batch_size", "Mini-batch size"},
    };
    return h;
}

// The value of a flag's text, typed like the default it replaces. A switch (boolean default)
// given without a value means true.
Json parse_like(const Json& def, const std::string& text, const std::string& flag) {
    if (def.is_boolean()) {
        if (text.empty() || text == "true" || text == "1" || text == "yes") return true;
        if (text == "false" || text == "0" || text == "no") return false;
        throw Error(flag + ": expected true or false, got '" + text + "'");
    }
    try {
        size_t used = 0;
        if (def.is_number_integer()) {
            long long v = std::stoll(text, &used);
            if (used == text.size()) return v;
        } else if (def.is_number()) {
            double v = std::stod(text, &used);
            if (used == text.size()) return v;
        } else {
            return text;
        }
    } catch (const std::exception&) {
    }
    throw Error(flag + ": expected " + (def.is_number_integer() ? "an integer" : "a number") +
                ", got '" + text + "'");
}

// The train subcommand's flags once parsed.
struct TrainFlags {
    CLI::App* cmd = nullptr;
    std::string model = "dcgan", out, resume, lr, config_file;
    Json defaults;  // the trainer's and every model's defaults: one flag per key
    std::map<std::string, std::string> values;  // each flag's text, by config key
    bool given(const std::string& key) const { return cmd->count(flag_of(key)) > 0; }
};

// `train classifier`: not a GAN; zoo/eval/classifier.h trains it from the flags given.
int train_classifier(const TrainFlags& f) {
    ZG_CHECK(f.resume.empty(), "--resume is for GAN runs, not 'train classifier'");
    std::map<std::string, std::string> flags;
    for (auto& [key, def] : f.defaults.items())
        if (f.given(key)) flags[key] = f.values.at(key);
    if (!f.out.empty()) flags["out"] = f.out;
    if (!f.lr.empty()) flags["lr"] = f.lr;
    return train_classifier_command(flags);
}

// The run --resume continues: a run directory, or its latest checkpoint file. Another of its
// checkpoints is refused: the run continues from its latest state, and starting over from an
// earlier one would overwrite what was saved after it.
std::string resumed_run_dir(const std::string& ref) {
    const std::string dir = zoo::run_dir_of(ref);
    ZG_CHECK(fs::is_directory(ref) || fs::path(ref).filename() == "latest.safetensors", "--resume ",
             ref, ": a run continues from its latest checkpoint; give the run directory ", dir,
             " (to branch off from this earlier checkpoint, copy the run directory and make it ",
             "the copy's checkpoints/latest.safetensors)");
    return dir;
}

// --loss wgan or wgan-gp chosen instead of the model's own loss brings that loss's published
// optimizer (zoo::loss_recipe) for every key the user did not set; it goes into config.json
// like any flag, and is printed so the user sees what runs.
void apply_loss_recipe(const TrainFlags& f, Json& config) {
    const std::string model = config.at("model");
    if (config.at("loss") == zoo::default_config(model).at("loss")) return;
    std::string applied;
    const Json recipe = zoo::loss_recipe(zoo::parse_loss(config.at("loss")));
    for (auto& [key, value] : recipe.items()) {
        const bool lr_given = key.starts_with("lr_") && !f.lr.empty();
        if (!config.contains(key) || f.given(key) || lr_given) continue;
        config[key] = value;
        applied += " " + flag_of(key) + " " +
                   (value.is_string() ? value.get<std::string>() : value.dump());
    }
    if (!applied.empty())
        std::printf("--loss %s brings its paper's settings:%s (give any of them to override)\n",
                    config.at("loss").get<std::string>().c_str(), applied.c_str());
}

// --config FILE: a JSON object of flags by their config names, such as a run's own config.json.
// The model's defaults come first, then the file, then the flags given, which win. What a run
// records about itself (channels, num_classes, budget_reached) is not a flag and is skipped.
Json config_from_file(const TrainFlags& f) {
    const std::string& path = f.config_file;
    std::ifstream in(path);
    ZG_CHECK(in, "--config ", path, ": cannot open it");
    const Json file = Json::parse(in, nullptr, false);
    ZG_CHECK(!file.is_discarded() && file.is_object(), "--config ", path,
             ": not a JSON object of flags (such as a run's config.json)");
    std::string model = f.model;
    if (file.contains("model")) {
        ZG_CHECK(file.at("model").is_string(), "--config ", path, ": \"model\" must be a name");
        ZG_CHECK(f.cmd->count("model") == 0 || f.model == file.at("model"), "--config ", path,
                 " trains '", file.at("model").get<std::string>(), "', not '", f.model,
                 "'; leave the model out of the command line");
        model = file.at("model").get<std::string>();
    }
    Json config = zoo::default_config(model);
    for (auto& [key, value] : file.items()) {
        if (key == "model" || key == "channels" || key == "num_classes" || key == "budget_reached")
            continue;
        ZG_CHECK(config.contains(key), "--config ", path, ": '", key, "' is not a flag of model '",
                 model, "'");
        config[key] =
            zoo::checked_value(JsonReader(file, "--config " + path).at(key), config.at(key), key);
    }
    return config;
}

// The config.json of the run --resume names, with options added since it was saved at their
// defaults; refuses flags that would change what the run is.
Json resumed_config(const TrainFlags& f, const std::string& dir) {
    std::ifstream in(dir + "/config.json");
    ZG_CHECK(in, "--resume ", dir, ": no config.json there; is it a zoograd run directory?");
    const Json file = Json::parse(in, nullptr, false);
    ZG_CHECK(!file.is_discarded(), dir, "/config.json is not valid JSON");
    ZG_CHECK(f.out.empty(), "--out cannot be combined with --resume (the run continues in ", dir,
             ")");
    // A run saved before a model gained an option resumes with the option's current default
    // (an optimizer's hyper-parameters, such as improved_gan's --adam-eps, come back from the
    // checkpoint instead, so those stay as the run had them).
    Json config = zoo::checked_run_config(file, dir + "/config.json");
    ZG_CHECK(f.cmd->count("model") == 0 || f.model == config.at("model"),
             "--resume continues the run's own model '", config.at("model").get<std::string>(),
             "', not '", f.model, "'");
    ZG_CHECK(f.lr.empty(), "--lr cannot change when resuming");
    for (auto& [key, def] : f.defaults.items())
        if (f.given(key) && !zoo::resumable_key(key))
            throw Error(flag_of(key) + " cannot change when resuming (the run's value is " +
                        (config.contains(key) ? config[key].dump() : "unset") +
                        "); only --steps, --epochs, --threads and the --*-every cadences can");
    return config;
}

// Writes every flag given on the command line into the config, typed like its default.
void apply_given_flags(const TrainFlags& f, Json& config) {
    if (!f.lr.empty()) config["lr_g"] = config["lr_d"] = parse_like(0.0, f.lr, "--lr");
    for (auto& [key, def] : f.defaults.items())
        if (f.given(key)) {
            ZG_CHECK(config.contains(key), flag_of(key), " is not a flag of model '",
                     config.at("model").get<std::string>(), "'");
            config[key] = parse_like(def, f.values.at(key), flag_of(key));
        }
    if (f.given("loss")) apply_loss_recipe(f, config);
}

// The trainer's own range checks (each model checks its own flags when it is built).
void check_trainer_flags(Json& config) {
    Json& every = config.at("sample_every");  // a number of steps, or auto
    if (every.is_string() && every != "auto")
        every = parse_like(int64_t(0), every.get<std::string>(), "--sample-every");
    for (const char* key : {"steps", "epochs", "batch_size", "threads", "sample_every",
                            "checkpoint_every", "log_every", "n", "health_window"})
        if (config.contains(key) && config[key].is_number())
            ZG_CHECK(config[key].get<int64_t>() >= 0, flag_of(key), " must not be negative");
    ZG_CHECK(config.at("batch_size").get<int64_t>() > 0, "--batch-size must be positive");
    // OpenMP takes an int, and thousands of threads on a few cores only thrash.
    const int64_t threads = config.at("threads").get<int64_t>();
    ZG_CHECK(threads <= 1024, "--threads ", threads,
             " is more than 1024; give the number of cores to use (0: all of them)");
    // A model that plans its own length (progan's --total-kimg) takes neither.
    ZG_CHECK(config.contains("total_kimg") || config.at("steps").get<int64_t>() > 0 ||
                 config.at("epochs").get<int64_t>() > 0,
             "give --steps or --epochs a positive value");
    const double minutes = config.at("minutes").get<double>();
    ZG_CHECK(std::isfinite(minutes) && minutes >= 0, "--minutes must be ≥ 0, got ", minutes);
    const double ema = config.at("ema").get<double>();
    ZG_CHECK(ema >= 0 && ema < 1, "--ema must be in [0, 1), got ", ema);
}

}  // namespace

std::string default_run_dir(const std::string& kind, const std::string& data) {
    char stamp[32];
    std::time_t t = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
    std::string name = fs::path(data).filename().string();
    if (name.empty()) name = "data";
    return "runs/" + kind + "-" + name + "-" + stamp;
}

Command add_train_command(CLI::App& app) {
    auto f = std::make_shared<TrainFlags>();
    auto* cmd = f->cmd = app.add_subcommand("train", "Train a zoo model (see 'zoograd models')");
    add_device_flag(cmd);
    cmd->add_option("model", f->model,
                    "Model to train, or 'classifier': the feature network of 'zoograd eval' "
                    "(takes --data, --data-root, --epochs, --batch-size, --seed, --threads, "
                    "--image-size, --out; saved in $ZOOGRAD_CACHE unless --out)")
        ->capture_default_str();
    cmd->add_option("--out", f->out,
                    "Run directory (default runs/MODEL-DATA-YYYYmmdd-HHMMSS); an existing "
                    "non-empty one is refused, never overwritten");
    cmd->add_option("--resume", f->resume,
                    "Continue this run (its directory, or its latest checkpoint file) with its "
                    "config; only --steps, --epochs, "
                    "--threads and the --*-every cadences may change");
    cmd->add_option("--lr", f->lr, "Learning rate of both G and D (sets --lr-g and --lr-d)");
    cmd->add_option("--config", f->config_file,
                    "Train from a JSON file of flags, such as a run's config.json (repeat a run "
                    "with --config runs/X/config.json --out other); flags given here win");
    // Every key of the trainer's and the models' defaults becomes a flag.
    f->defaults = zoo::common_defaults();
    std::map<std::string, std::string> helps = help_texts();
    // A key several models share shows the trainer's default, else the first model's (dcgan's).
    for (const auto& m : zoo::models()) {
        for (auto& [key, def] : m.defaults.items())
            if (!f->defaults.contains(key)) f->defaults[key] = def;
        helps.insert(m.help.begin(), m.help.end());
    }
    for (auto& [key, def] : f->defaults.items()) {
        auto it = helps.find(key);
        auto* opt =
            cmd->add_option(flag_of(key), f->values[key], it != helps.end() ? it->second : key);
        // A switch takes no value to mean true; CLI11 would fill a valueless option with its
        // default string, so a switch shows its default in `train MODEL --help` only.
        if (def.is_boolean())
            opt->expected(0, 1);
        else
            opt->default_str(def.dump());
    }
    cmd->footer(
        "The defaults above are the first model's. 'zoograd train MODEL --help' lists only "
        "the flags MODEL takes, with its own defaults.");
    return [f]() -> int {
        if (f->model == "classifier") return train_classifier(*f);
        ZG_CHECK(
            f->cmd->count("--resume") == 0 || !f->resume.empty(),
            "--resume needs the run directory to continue, e.g. --resume runs/dcgan-mnist-...");
        const bool resuming = !f->resume.empty();
        ZG_CHECK(!resuming || f->config_file.empty(),
                 "--config cannot be combined with --resume (a run continues with its own config)");
        const std::string resumed_dir = resuming ? resumed_run_dir(f->resume) : "";
        Json config = resuming                  ? resumed_config(*f, resumed_dir)
                      : !f->config_file.empty() ? config_from_file(*f)
                                                : zoo::default_config(f->model);
        apply_given_flags(*f, config);
        check_trainer_flags(config);
        const std::string dir = resuming ? resumed_dir
                                : f->out.empty()
                                    ? default_run_dir(config.at("model"), config.at("data"))
                                    : f->out;
        return zoo::train(config, dir, resuming);
    };
}

Command add_models_command(CLI::App& app) {
    app.add_subcommand("models", "List the zoo's models, each with its own flags");
    const CLI::App* train = app.get_subcommand("train");  // registered first: its descriptions
    return [train] {
        std::printf("%s", models_listing(*train).c_str());
        return 0;
    };
}

}  // namespace zg::tools
