#include <doctest/doctest.h>

#include <cmath>

#include "zoo/models/dcgan/networks.h"

using namespace zg;
using namespace zg::zoo;

TEST_CASE("dcgan 64x64: the pytorch/examples networks, parameter for parameter") {
    DcganConfig c{.image_size = 64, .nz = 100, .ngf = 64, .ndf = 64, .channels = 3};
    DcganGenerator g(c);
    DcganDiscriminator d(c);
    // Counts printed by PyTorch 1.13 for pytorch/examples' netG and netD (nz 100, 64 filters,
    // 3 channels).
    CHECK(g.num_parameters() == 3576704);
    CHECK(d.num_parameters() == 2765568);
    auto sd = g.state_dict();
    CHECK(sd.count("main.0.weight"));
    CHECK(sd.count("main.1.running_mean"));
    CHECK(sd.count("main.1.num_batches_tracked"));
    CHECK(sd.count("main.12.weight"));  // the last transposed conv, before Tanh (main.13)
    CHECK(d.state_dict().count("main.11.weight"));  // the last conv, before Sigmoid (main.12)
    Tensor img = g(randn({2, 100}));
    CHECK(img.shape() == Shape{2, 3, 64, 64});
    CHECK(d(img).shape() == Shape{2});
}

TEST_CASE("dcgan 32x32: one block shorter, nz -> 4 ngf at 4x4 -> 2 ngf -> ngf -> channels") {
    DcganConfig c;
    DcganGenerator g(c);
    DcganDiscriminator d(c);
    CHECK(g.main->operator[](0)->parameter("weight").shape() == Shape{100, 256, 4, 4});
    CHECK(g.main->operator[](3)->parameter("weight").shape() == Shape{256, 128, 4, 4});
    CHECK(g.main->operator[](9)->parameter("weight").shape() == Shape{64, 1, 4, 4});
    CHECK(d.main->operator[](8)->parameter("weight").shape() == Shape{1, 256, 4, 4});
    Tensor img = g(randn({3, 100, 1, 1}));
    CHECK(img.shape() == Shape{3, 1, 32, 32});
    CHECK(amax(abs(img)).item<float>() <= 1.0f);  // tanh output
    CHECK(d(img).shape() == Shape{3});
}

TEST_CASE("dcgan: weights_init as pytorch/examples, and clear errors") {
    Rng gen(1);
    DcganGenerator g(DcganConfig{}, &gen);
    Tensor w = g.main->operator[](3)->parameter("weight");
    CHECK(std::sqrt(var(w).item<double>()) == doctest::Approx(0.02).epsilon(0.05));
    Tensor bn = g.main->operator[](1)->parameter("weight");
    CHECK(mean(bn).item<double>() == doctest::Approx(1.0).epsilon(0.01));
    CHECK_THROWS_AS(DcganGenerator(DcganConfig{.image_size = 48}), Error);
    DcganDiscriminator d(DcganConfig{});
    CHECK_THROWS_AS(d(zeros({2, 3, 32, 32})), Error);
    CHECK_THROWS_AS(g(zeros({2, 50})), Error);
}
