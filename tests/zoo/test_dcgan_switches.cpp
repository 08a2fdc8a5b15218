// The DCGAN architecture switches (zoo/models/dcgan/networks.h): each builds the layers it names,
// with the shapes it should, the nets still map z to images and images to logits, the defaults keep
// pytorch/examples' state-dict names, and meaningless values are rejected naming the flag.
#include <doctest/doctest.h>

#include "test_util.h"
#include "zoo/models/dcgan/networks.h"

using namespace zg;
using namespace zg::zoo;

namespace {

// The layer types of a Sequential, in order.
std::vector<std::string> types(const nn::Sequential& s) {
    std::vector<std::string> t;
    for (size_t i = 0; i < s.size(); ++i) t.push_back(s[i]->type_name());
    return t;
}

int count(const std::vector<std::string>& v, const std::string& what) {
    return (int)std::count(v.begin(), v.end(), what);
}

DcganConfig tiny() {
    DcganConfig c;
    c.nz = 6;
    c.ngf = 4;
    c.ndf = 4;
    return c;
}

// G and D of c run: z → [N, 1, 32, 32] in [-1, 1] → [N].
void check_runs(const DcganConfig& c) {
    Rng gen(3);
    DcganGenerator g(c, &gen);
    DcganDiscriminator d(c, &gen);
    Tensor img = g(randn({4, c.nz}, &gen));
    REQUIRE(img.shape() == Shape{4, c.channels, 32, 32});
    CHECK(amax(abs(img)).item<float>() <= 1.0f);
    CHECK(d(img).shape() == Shape{4});
    CHECK(d.features(img).shape() == Shape{4, d.feature_size});
}

}  // namespace

TEST_CASE("dcgan switches: the defaults are pytorch/examples' layers and names") {
    DcganGenerator g(tiny());
    DcganDiscriminator d(tiny());
    CHECK(types(*g.main) == std::vector<std::string>{"ConvTranspose2d", "BatchNorm2d", "ReLU",
                                                     "ConvTranspose2d", "BatchNorm2d", "ReLU",
                                                     "ConvTranspose2d", "BatchNorm2d", "ReLU",
                                                     "ConvTranspose2d", "Tanh"});
    CHECK(types(*d.main) == std::vector<std::string>{"Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d",
                                                     "LeakyReLU", "Conv2d", "BatchNorm2d",
                                                     "LeakyReLU", "Conv2d"});
    CHECK(g.state_dict().count("main.9.weight"));
    CHECK(d.state_dict().count("main.8.weight"));
    CHECK(d.feature_size == 16 * 16);  // 4·ndf channels at 4×4
    // The config round trip: dcgan_arch_defaults() read back is the default config.
    const DcganConfig from = dcgan_config_from(dcgan_arch_defaults(), 1);
    const DcganConfig def;
    CHECK(from.norm_g == def.norm_g);
    CHECK(from.upsample == def.upsample);
    CHECK(from.spectral_norm == def.spectral_norm);
    CHECK(from.minibatch_disc == def.minibatch_disc);
    const nlohmann::json defaults = dcgan_arch_defaults();
    for (auto& [key, value] : defaults.items()) CHECK_MESSAGE(dcgan_arch_help().count(key), key);
}

TEST_CASE("dcgan switches: --norm-g / --norm-d pick the normalization layer") {
    const std::pair<const char*, const char*> kinds[] = {
        {"instance", "InstanceNorm2d"}, {"layer", "LayerNorm"}, {"pixel", "PixelNorm"}};
    for (auto [flag, type] : kinds) {
        CAPTURE(flag);
        DcganConfig c = tiny();
        c.norm_g = flag;
        DcganGenerator g(c);
        CHECK(count(types(*g.main), type) == 3);
        CHECK(count(types(*g.main), "BatchNorm2d") == 0);
        check_runs(c);
        if (std::string(flag) != "pixel") {
            c = tiny();
            c.norm_d = flag;
            DcganDiscriminator d(c);
            CHECK(count(types(*d.main), type) == 2);
            check_runs(c);
        }
    }
    DcganConfig c = tiny();
    c.norm_g = c.norm_d = "none";
    DcganGenerator g(c);
    DcganDiscriminator d(c);
    CHECK(types(*g.main).size() == 8);  // 4 convs, 3 ReLUs, Tanh
    CHECK(types(*d.main).size() == 7);  // 4 convs, 3 LeakyReLUs
    CHECK(count(types(*d.main), "BatchNorm2d") == 0);
    // LayerNorm normalizes each block's [C, H, W].
    c = tiny();
    c.norm_g = "layer";
    DcganGenerator gl(c);
    CHECK(gl.main->operator[](1)->parameter("weight").shape() == Shape{16, 4, 4});
    check_runs(c);
}

TEST_CASE("dcgan switches: --upsample, --downsample and --g-act") {
    DcganConfig c = tiny();
    c.upsample = "pixelshuffle";
    DcganGenerator ps(c);
    CHECK(count(types(*ps.main), "PixelShuffle") == 3);
    CHECK(count(types(*ps.main), "ConvTranspose2d") == 1);  // the 1×1 → 4×4 projection
    // conv to 4× the output channels, then 2×2 pixels: 16 → 8·4 channels in the first block
    CHECK(ps.main->operator[](3)->parameter("weight").shape() == Shape{32, 16, 3, 3});
    check_runs(c);

    c = tiny();
    c.upsample = "nearest";
    DcganGenerator nn_(c);
    CHECK(count(types(*nn_.main), "Upsample") == 3);
    CHECK(nn_.main->operator[](4)->parameter("weight").shape() == Shape{8, 16, 3, 3});
    check_runs(c);

    c = tiny();
    c.downsample = "avgpool";
    DcganDiscriminator d(c);
    CHECK(count(types(*d.main), "AvgPool2d") == 3);
    CHECK(count(types(*d.main), "MaxPool2d") == 0);
    CHECK(d.main->operator[](0)->parameter("weight").shape() == Shape{4, 1, 3, 3});
    check_runs(c);

    c = tiny();
    c.g_act = "leaky";
    DcganGenerator lg(c);
    CHECK(count(types(*lg.main), "LeakyReLU") == 3);
    CHECK(count(types(*lg.main), "ReLU") == 0);
    check_runs(c);
}

TEST_CASE("dcgan switches: --g-noise and --g-dropout (active when sampling too)") {
    DcganConfig c = tiny();
    c.g_noise = 0.1;
    c.g_dropout = 0.5;
    Rng gen(1);
    DcganGenerator g(c, &gen);
    CHECK(count(types(*g.main), "GaussianNoise") == 3);
    CHECK(count(types(*g.main), "Dropout") == 3);
    check_runs(c);
    // Dropout stays on in eval mode: the same z gives different images; the noise does not.
    Tensor z = randn({2, c.nz}, &gen);
    g.eval();
    CHECK(amax(abs(g(z) - g(z))).item<float>() > 0);
    c.g_dropout = 0;
    DcganGenerator quiet(c, &gen);
    quiet.eval();
    CHECK(amax(abs(quiet(z) - quiet(z))).item<float>() == 0);
}

TEST_CASE("dcgan switches: --minibatch-disc and --spectral-norm") {
    DcganConfig c = tiny();
    c.minibatch_disc = true;
    DcganDiscriminator d(c);
    const auto t = types(*d.main);
    REQUIRE(t.size() >= 3);
    CHECK(t[t.size() - 2] == "MinibatchDiscrimination");
    CHECK(t.back() == "Linear");
    CHECK(d.feature_size == 16 * 16 + 100);
    CHECK(d.main->operator[](t.size() - 2)->parameter("T").shape() == Shape{256, 500});
    check_runs(c);

    c = tiny();
    c.spectral_norm = "d";
    DcganDiscriminator sd(c);
    DcganGenerator sg(c);
    CHECK(sd.state_dict().count("main.0.weight_orig"));
    CHECK(sd.state_dict().count("main.0.weight_u"));
    CHECK(sg.state_dict().count("main.0.weight"));  // G untouched
    check_runs(c);
    c.spectral_norm = "both";
    DcganGenerator sg2(c);
    CHECK(sg2.state_dict().count("main.0.weight_orig"));
    check_runs(c);
}

TEST_CASE("dcgan switches: bad values and meaningless combinations are rejected") {
    auto error = [](auto set) {
        DcganConfig c = tiny();
        set(c);
        return zg::testing::error_of([&] { DcganGenerator g(c); });
    };
    using zg::testing::contains;
    CHECK(contains(error([](DcganConfig& c) { c.norm_g = "group"; }), "--norm-g"));
    CHECK(contains(error([](DcganConfig& c) { c.norm_d = "pixel"; }), "--norm-d pixel"));
    CHECK(contains(error([](DcganConfig& c) { c.upsample = "bilinear"; }), "--upsample"));
    CHECK(contains(error([](DcganConfig& c) { c.downsample = "maxpool"; }), "--downsample"));
    CHECK(contains(error([](DcganConfig& c) { c.g_act = "tanh"; }), "--g-act"));
    CHECK(contains(error([](DcganConfig& c) { c.spectral_norm = "x"; }), "--spectral-norm"));
    CHECK(contains(error([](DcganConfig& c) { c.g_dropout = 1; }), "--g-dropout"));
    CHECK(contains(error([](DcganConfig& c) { c.g_noise = -1; }), "--g-noise"));
    CHECK(contains(error([](DcganConfig& c) {
                       c.minibatch_disc = true;
                       c.norm_d = "instance";
                   }),
                   "--minibatch-disc"));
    nlohmann::json j = dcgan_arch_defaults();
    j["upsample"] = "cubic";
    CHECK(contains(zg::testing::error_of([&] { dcgan_config_from(j, 1); }), "--upsample"));
}
