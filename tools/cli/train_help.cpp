// Per-model help for `zoograd train` and `zoograd models` (train_help.h).
#include "tools/cli/train_help.h"

#include <algorithm>
#include <map>

#include "zoo/eval/classifier.h"
#include "zoo/registry.h"
#include "zoo/train/adversarial.h"
#include "zoo/train/flag.h"
#include "zoo/train/trainer.h"

namespace zg::tools {
namespace {

using zoo::Json;

// The groups of the trainer's and the adversarial step's keys; a model's other keys are its own.
// Every adversarial key not listed under the loss and optimizer is a ganhacks switch.
const std::vector<std::string> run_keys = {"data",  "data_root", "out",     "resume",
                                           "steps", "epochs",    "minutes", "batch_size",
                                           "seed",  "threads",   "device"};
const std::vector<std::string> loss_keys = {
    "loss",    "reg", "reg_weight", "gp_center", "clip",  "n_critic", "optim_d",
    "optim_g", "lr",  "lr_g",       "lr_d",      "beta1", "beta2",    "lr_decay"};
const std::vector<std::string> logging_keys = {
    "sample_every", "checkpoint_every", "log_every",      "eval_every", "n",
    "ema",          "health_window",    "stop_on_failure"};

bool listed(const std::vector<std::string>& keys, const std::string& key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string type_of(const Json& def) {
    if (def.is_boolean()) return "BOOL";
    if (def.is_number_integer()) return "INT";
    if (def.is_number()) return "FLOAT";
    return "TEXT";
}

// A flag's line: name and type, then the description wrapped under it and the default.
std::string described_flag(const std::string& key, const Json* def, std::string desc) {
    const std::string flag = zoo::flag_of(key);
    std::string head = "  " + flag + (def ? " " + type_of(*def) : " TEXT");
    if (def) {
        const std::string shown = def->is_string() ? def->get<std::string>() : def->dump();
        desc += " [default: " + (shown.empty() ? "none" : shown) + "]";
    }
    // Descriptions start at column 30, wrapped at 100.
    std::string out = head;
    out += head.size() < 29 ? std::string(30 - head.size(), ' ') : "\n" + std::string(30, ' ');
    size_t col = 30;
    size_t at = 0;
    while (at < desc.size()) {
        size_t end = desc.find(' ', at);
        if (end == std::string::npos) end = desc.size();
        const std::string word = desc.substr(at, end - at);
        if (col > 30 && col + 1 + word.size() > 100) {
            out += "\n" + std::string(30, ' ');
            col = 30;
        } else if (col > 30) {
            out += ' ';
            ++col;
        }
        out += word;
        col += word.size();
        at = end + 1;
    }
    return out + "\n";
}

// The same with the train command's own description of the flag.
std::string flag_line(const CLI::App& train, const std::string& key, const Json* def) {
    const CLI::Option* opt = train.get_option_no_throw(zoo::flag_of(key));
    return described_flag(key, def, opt ? opt->get_description() : "");
}

std::string group(const CLI::App& train, const std::string& title,
                  const std::vector<std::pair<std::string, const Json*>>& flags) {
    if (flags.empty()) return "";
    std::string out = "\n" + title + ":\n";
    for (auto& [key, def] : flags) out += flag_line(train, key, def);
    return out;
}

// `train classifier`: the feature network of eval is no zoo model. Its flags are the few that
// zoo/eval/classifier.h's options take, with those options' defaults and descriptions of their
// own (the train command's speak of GAN runs).
std::string classifier_help() {
    const zoo::ClassifierOptions o;
    const Json data = o.data, data_root = o.data_root, epochs = o.epochs, batch_size = o.batch_size,
               seed = o.seed, threads = 0, image_size = o.image_size;
    return "zoograd train classifier: the feature network of 'zoograd eval' (FID, KID, precision "
           "and recall are computed on its features, docs/EVALUATION.md)\n\n"
           "Usage: zoograd train classifier [flags]\n"
           "eval trains it on first use when it is missing; this trains it ahead, or again.\n"
           "\nFlags:\n" +
           described_flag("data", &data, "Data set: mnist, fashion, or a folder of images") +
           described_flag("data_root", &data_root,
                          "Folder that holds mnist/ and fashion/ (searched as for 'zoograd "
                          "train' when not given)") +
           described_flag("epochs", &epochs,
                          "Training epochs (Adam, learning rate decayed linearly to 0)") +
           described_flag("batch_size", &batch_size, "Mini-batch size") +
           described_flag("seed", &seed, "Seed of the project RNG") +
           described_flag("threads", &threads, "OpenMP threads (0: all cores)") +
           described_flag("image_size", &image_size,
                          "Folders only: the side images are fitted to (mnist and fashion stay "
                          "28×28)") +
           described_flag("out", nullptr,
                          "The checkpoint file to write [default: the cache file eval reads, "
                          "under $ZOOGRAD_CACHE or ~/.cache/zoograd]");
}

}  // namespace

std::string model_help(const CLI::App& train, const std::string& model) {
    if (model == "classifier") return classifier_help();
    const zoo::ModelInfo& info = zoo::find_model(model);
    const Json config = zoo::default_config(model);
    const Json adversarial = zoo::adversarial_defaults();
    std::vector<std::pair<std::string, const Json*>> run, loss, hacks, logging, own;
    // Flags that are not config keys: where the run goes, the learning rate of both nets, the
    // device.
    for (const char* key : {"out", "resume", "config", "device"}) run.emplace_back(key, nullptr);
    if (config.contains("lr_g")) loss.emplace_back("lr", nullptr);
    for (auto& [key, def] : config.items()) {
        if (key == "model") continue;
        const std::pair<std::string, const Json*> flag{key, &def};
        if (listed(run_keys, key))
            run.push_back(flag);
        else if (listed(loss_keys, key))
            loss.push_back(flag);
        else if (listed(logging_keys, key))
            logging.push_back(flag);
        else if (adversarial.contains(key))
            hacks.push_back(flag);
        else
            own.push_back(flag);
    }
    std::string out = "zoograd train " + info.name + ": " + info.description +
                      "\n\nUsage: zoograd train " + info.name + " [flags]\n" +
                      "A switch (BOOL) is on as --flag alone, off as --flag false.\n";
    out += group(train, "Run and data", run);
    out += group(train, info.name + "'s own", own);
    out += group(train, "Loss, optimizer and regularization (docs/LOSSES.md)", loss);
    out += group(train, "ganhacks switches (docs/GANHACKS.md)", hacks);
    out += group(train, "Evaluation, logging and checkpoints", logging);
    return out;
}

std::string models_listing(const CLI::App& train) {
    const Json common = zoo::common_defaults(), adversarial = zoo::adversarial_defaults();
    std::string out;
    for (const zoo::ModelInfo& m : zoo::models()) {
        out += m.name + ": " + m.description + "\n";
        for (auto& [key, def] : m.defaults.items())
            if (!common.contains(key) && !adversarial.contains(key))
                out += flag_line(train, key, &def);
        out += "\n";
    }
    out +=
        "classifier: the feature network of 'zoograd eval', trained and cached on first use "
        "(or by 'zoograd train classifier'); takes --data, --data-root, --epochs, "
        "--batch-size, --seed, --threads, --image-size and --out\n\n"
        "'zoograd train MODEL --help' lists every flag MODEL takes, with its defaults; the "
        "adversarial models share the loss zoo (docs/LOSSES.md) and the ganhacks switches "
        "(docs/GANHACKS.md).\n";
    return out;
}

std::optional<std::string> model_help_request(const std::vector<std::string>& args) {
    if (args.size() < 3 || args[0] != "train" || args[1].starts_with("-")) return std::nullopt;
    for (const std::string& a : args)
        if (a == "--help" || a == "-h") return args[1];
    return std::nullopt;
}

}  // namespace zg::tools
