#include "zoo/registry.h"

namespace zg::zoo {

// Each model's registration function, defined beside it in zoo/models/<name>/<name>.cpp.
ModelInfo dcgan_model_info();
ModelInfo sgan_model_info();
ModelInfo improved_gan_model_info();
ModelInfo mlpgan_model_info();
ModelInfo acgan_model_info();
ModelInfo vaegan_model_info();
ModelInfo progan_model_info();

const std::vector<ModelInfo>& models() {
    // The order `zoograd models` lists them in. (Static registration objects would be dropped
    // by the linker from a static library, so the list is explicit.)
    static const std::vector<ModelInfo> all = {
        dcgan_model_info(), sgan_model_info(),   improved_gan_model_info(), mlpgan_model_info(),
        acgan_model_info(), vaegan_model_info(), progan_model_info(),
    };
    return all;
}

const ModelInfo& find_model(const std::string& name) {
    std::string known;
    for (const ModelInfo& m : models()) {
        if (m.name == name) return m;
        known += (known.empty() ? "" : ", ") + m.name;
    }
    throw Error("unknown model '" + name + "'; known models: " + known + " (see 'zoograd models')");
}

}  // namespace zg::zoo
