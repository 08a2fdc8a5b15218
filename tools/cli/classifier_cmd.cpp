// `zoograd train classifier --data mnist|fashion|PATH`: the feature network of `zoograd eval`
// (zoo/eval/classifier.h), trained with the engine and saved where eval looks for it.
#include <omp.h>

#include <map>

#include "tools/cli/commands.h"
#include "zoo/eval/classifier.h"

namespace zg::tools {

int train_classifier_command(const std::map<std::string, std::string>& flags) {
    zoo::ClassifierOptions o;
    int64_t threads = 0;
    auto integer = [](const std::string& flag, const std::string& text) {
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        ZG_CHECK(used == text.size() && used > 0, flag, ": expected an integer, got '", text, "'");
        ZG_CHECK(v >= 0, flag, " must not be negative, got ", v);
        return (int64_t)v;
    };
    for (auto& [key, value] : flags) {
        if (key == "data")
            o.data = value;
        else if (key == "data_root")
            o.data_root = value;
        else if (key == "out")
            o.out = value;
        else if (key == "epochs")
            o.epochs = integer("--epochs", value);
        else if (key == "batch_size")
            o.batch_size = integer("--batch-size", value);
        else if (key == "seed")
            o.seed = (uint64_t)integer("--seed", value);
        else if (key == "threads")
            threads = integer("--threads", value);
        else if (key == "image_size")
            o.image_size = integer("--image-size", value);
        else
            throw Error("--" + key +
                        " is not a flag of 'train classifier' (it takes --data, "
                        "--data-root, --epochs, --batch-size, --seed, --threads, --image-size, "
                        "--out)");
    }
    if (threads > 0) omp_set_num_threads((int)threads);
    zoo::FeatureData data = zoo::load_feature_data(o.data, o.data_root, o.image_size);
    zoo::train_classifier(o, data);
    return 0;
}

}  // namespace zg::tools
