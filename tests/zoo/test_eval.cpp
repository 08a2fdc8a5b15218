// The evaluation pipeline (zoo/eval/classifier.h, zoo/eval/evaluation.h) and the .npy reader, on
// small data the tests make themselves.
#include <cstdlib>
#include <fstream>

#include "nn/data/dataset.h"
#include "test_util.h"
#include "zoo/eval/evaluation.h"
#include "zoo/report/images.h"

using namespace zg;
using namespace zg::testing;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), (std::streamsize)bytes.size());
}

// A .npy file with this header dict and `data_bytes` bytes of data (format 1.0).
std::string npy_bytes(const std::string& dict, size_t data_bytes) {
    std::string header = dict;
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    return out + header + std::string(data_bytes, '\x07');
}

// A folder with one sub-folder per class of 8×8 RGB PNGs: class k lights quadrant k, plus a
// little per-image noise; n_per_class images each.
void write_quadrant_folder(const std::string& dir, int n_per_class) {
    Rng gen(5);
    for (int k = 0; k < 4; ++k) {
        Tensor lit = full({1, 3, 8, 8}, -0.8);
        const int64_t top = (k / 2) * 4, left = (k % 2) * 4;
        lit.slice(2, top, top + 4).slice(3, left, left + 4).copy_(full({1, 3, 4, 4}, 0.6));
        Tensor images =
            lit.expand({n_per_class, 3, 8, 8}) + uniform({n_per_class, 3, 8, 8}, 0, 0.3, &gen);
        zoo::save_images(images, dir + "/c" + std::to_string(k));
    }
}

}  // namespace

TEST_CASE("load_npy: float32 round trip, uint8, and corrupt files are clear errors") {
    TempDir tmp;
    Tensor x = randn({3, 1, 4, 5});
    zoo::save_npy(x, tmp / "x.npy");
    zoo::NpyArray a = zoo::load_npy(tmp / "x.npy");
    CHECK_FALSE(a.uint8);
    CHECK(a.data.shape() == x.shape());
    CHECK(a.data.to_vector<float>() == x.to_vector<float>());

    write_bytes(tmp / "u8.npy",
                npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", 6));
    zoo::NpyArray b = zoo::load_npy(tmp / "u8.npy");
    CHECK(b.uint8);
    CHECK(b.data.shape() == Shape{2, 3});
    CHECK(b.data.to_vector<float>() == std::vector<float>(6, 7.0f));

    write_bytes(tmp / "magic.npy", "PK\x03\x04 this is a zip file, not an array");
    CHECK(contains(error_of([&] { zoo::load_npy(tmp / "magic.npy"); }), "magic string"));
    write_bytes(tmp / "short.npy",
                npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20));
    CHECK(contains(error_of([&] { zoo::load_npy(tmp / "short.npy"); }),
                   "needs 24 bytes of data but the file holds 20"));
    write_bytes(tmp / "f8.npy",
                npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16));
    CHECK(contains(error_of([&] { zoo::load_npy(tmp / "f8.npy"); }), "dtype '<f8'"));
    write_bytes(tmp / "fortran.npy",
                npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16));
    CHECK(contains(error_of([&] { zoo::load_npy(tmp / "fortran.npy"); }), "Fortran"));
    std::string cut = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    write_bytes(tmp / "header.npy", cut.substr(0, 30));
    CHECK(contains(error_of([&] { zoo::load_npy(tmp / "header.npy"); }), "runs past the end"));
}

TEST_CASE("to_native_size undoes the 28 -> 32 padding and names both shapes otherwise") {
    Rng gen(1);
    Tensor digits = uniform({2, 1, 28, 28}, -1, 1, &gen);
    Tensor padded = nn::fit_images(digits, 32);
    REQUIRE(padded.shape() == Shape{2, 1, 32, 32});
    Tensor back = zoo::to_native_size(padded, {1, 28, 28});
    CHECK(back.to_vector<float>() == digits.to_vector<float>());
    CHECK(zoo::to_native_size(digits, {1, 28, 28}).shape() == digits.shape());
    std::string e = error_of([&] { zoo::to_native_size(zeros({2, 1, 64, 64}), {1, 28, 28}); });
    CHECK(contains(e, "[1, 64, 64]"));
    CHECK(contains(e, "[1, 28, 28]"));
    e = error_of([&] { zoo::to_native_size(zeros({2, 3, 32, 32}), {1, 28, 28}); });
    CHECK(contains(e, "[3, 32, 32]"));
}

TEST_CASE("file and string hashes are 64-bit FNV-1a") {
    // Published FNV-1a 64 test vectors.
    CHECK(zoo::string_hash("") == "cbf29ce484222325");
    CHECK(zoo::string_hash("a") == "af63dc4c8601ec8c");
    TempDir tmp;
    write_bytes(tmp / "a.txt", "a");
    CHECK(zoo::file_hash(tmp / "a.txt") == "af63dc4c8601ec8c");
}

TEST_CASE("evaluation on a tiny labelled folder: real images score better than noise") {
    TempDir tmp;
    const std::string cache = tmp / "cache";
    ::setenv("ZOOGRAD_CACHE", cache.c_str(), 1);
    write_quadrant_folder(tmp / "quads", 30);
    zoo::EvalOptions o;
    o.data = tmp / "quads";
    o.image_size = 8;
    o.classifier.epochs = 4;
    o.classifier.batch_size = 16;
    o.classifier.progress = false;
    o.classifier.image_size = 8;
    zoo::Evaluator ev(o);
    CHECK(ev.network().test_accuracy >= 0.9);  // four well separated classes
    CHECK(std::filesystem::exists(ev.network().path));
    CHECK(ev.network().hash == zoo::file_hash(ev.network().path));

    Tensor real = ev.data().train->examples();
    Rng gen(3);
    Tensor noise = uniform(real.shape(), -1, 1, &gen);
    nlohmann::json r = ev.evaluate(real), q = ev.evaluate(noise);
    CHECK(r.at("fid").get<double>() < q.at("fid").get<double>());
    CHECK(r.at("kid").get<double>() < q.at("kid").get<double>());
    CHECK(r.at("modes_covered").get<int64_t>() == 4);
    CHECK(contains(r.at("features").get<std::string>(), ev.network().hash));
    for (const char* key :
         {"dataset", "n", "features", "fid", "kid", "kid_std", "is", "is_std", "precision",
          "recall", "density", "coverage", "class_hist", "modes_covered", "mean_confidence"})
        CHECK_MESSAGE(r.contains(key), key);
    CHECK(contains(zoo::format_eval_table(r), "FID (zoograd-folder-"));

    // A second evaluator reuses the cached network instead of training again.
    zoo::Evaluator again(o);
    CHECK(again.network().hash == ev.network().hash);
    ::unsetenv("ZOOGRAD_CACHE");
}

TEST_CASE("a flat folder gets an autoencoder and the class metrics are left out, with why") {
    TempDir tmp;
    const std::string cache = tmp / "cache";
    ::setenv("ZOOGRAD_CACHE", cache.c_str(), 1);
    write_quadrant_folder(tmp / "quads", 6);
    // Flatten: move every image to the top folder.
    std::filesystem::create_directories(tmp / "flat");
    int i = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(tmp / "quads"))
        if (e.is_regular_file())
            std::filesystem::copy_file(e.path(), tmp / ("flat/" + std::to_string(i++) + ".png"));
    zoo::EvalOptions o;
    o.data = tmp / "flat";
    o.image_size = 8;
    o.reference = "train";  // the held-out tenth of 24 images is too small a reference
    o.classifier.epochs = 2;
    o.classifier.batch_size = 8;
    o.classifier.progress = false;
    zoo::Evaluator ev(o);
    CHECK(ev.network().net->num_classes == 0);
    nlohmann::json r = ev.evaluate(ev.data().train->examples());
    CHECK(r.at("class_hist").is_null());
    CHECK(r.at("is").is_null());
    CHECK(r.at("fid").is_number());
    CHECK(contains(r.at("note").get<std::string>(), "autoencoder"));
    ::unsetenv("ZOOGRAD_CACHE");
}

TEST_CASE("mixture samples are scored by modes and high-quality fraction") {
    const nn::MixtureSpec spec = nn::mixture_spec("ring8");
    std::vector<float> pts;
    for (int i = 0; i < 40; ++i) {  // 40 points on the first 4 centres exactly
        pts.push_back((float)spec.centers[i % 4][0]);
        pts.push_back((float)spec.centers[i % 4][1]);
    }
    nlohmann::json r = zoo::evaluate_mixture(from_vector(pts, {40, 2}), "ring8");
    CHECK(r.at("modes_covered").get<int64_t>() == 4);
    CHECK(r.at("high_quality").get<double>() == doctest::Approx(1.0));
    CHECK(contains(error_of([] { zoo::evaluate_mixture(zeros({4, 3}), "ring8"); }), "[N, 2]"));
}

TEST_CASE("the feature network's cache key follows the data, not only the set's name") {
    TempDir a{"zg_key_a"}, b{"zg_key_b"}, same_as_a{"zg_key_c"};
    write_tiny_mnist(a.path, 64);
    write_tiny_mnist(b.path, 32);  // other bytes in mnist/'s place
    write_tiny_mnist(same_as_a.path, 64);
    auto key = [](const TempDir& d) {
        return zoo::load_feature_data("mnist", d.path.string(), 28).key;
    };
    CHECK(key(a).starts_with("mnist-"));
    CHECK(key(a) == key(same_as_a));
    CHECK(key(a) != key(b));
}

TEST_CASE("load_npy: an empty array and dims whose product overflows 64 bits (found by fuzz_npy)") {
    TempDir tmp;
    const std::string empty = (tmp.path / "empty.npy").string();
    write_bytes(empty,
                npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1, 4, 4), }", 0));
    CHECK(zoo::load_npy(empty).data.numel() == 0);  // memcpy of no bytes into no buffer skipped
    const std::string huge = (tmp.path / "huge.npy").string();
    write_bytes(huge, npy_bytes("{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (17179869183, 99999999999, 99999999999), }",
                                16));
    CHECK_THROWS_WITH_AS(zoo::load_npy(huge), doctest::Contains("the array is too large"), Error);
}
