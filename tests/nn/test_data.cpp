#include <doctest/doctest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "nn/data/data_root.h"
#include "nn/data/dataloader.h"
#include "test_util.h"

using namespace zg;
using namespace zg::nn;
namespace fs = std::filesystem;
using zg::testing::TempDir;

namespace {

// An IDX file of unsigned bytes with the given dims; values i % 256.
std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims) {
    std::vector<uint8_t> b = {0, 0, 0x08, (uint8_t)dims.size()};
    size_t n = 1;
    for (uint32_t d : dims) {
        for (int s = 24; s >= 0; s -= 8) b.push_back((d >> s) & 0xff);
        n *= d;
    }
    for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(i % 256));
    return b;
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary).write((const char*)bytes.data(), bytes.size());
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), (unsigned)bytes.size());
    gzclose(f);
}

// Says "(no error)" rather than "" when f throws nothing, so failure messages show it.
std::string error_of(const std::function<void()>& f) {
    return zg::testing::error_of(f, "(no error)");
}

// A tiny MNIST-layout directory: n images of 28×28 and labels i % 10.
void write_mnist_like(const TempDir& dir, int n, bool gz) {
    auto images = idx_bytes({(uint32_t)n, 28, 28});
    std::vector<uint8_t> labels = {0, 0, 0x08, 1, 0, 0, 0, (uint8_t)n};
    for (int i = 0; i < n; ++i) labels.push_back(uint8_t(i % 10));
    auto write = gz ? write_gz : write_file;
    const std::string ext = gz ? ".gz" : "";
    write(dir / ("train-images-idx3-ubyte" + ext), images);
    write(dir / ("train-labels-idx1-ubyte" + ext), labels);
}

}  // namespace

TEST_CASE("IDX: plain and gzip files read the same, pixels map to [-1, 1]") {
    TempDir plain, packed;
    write_mnist_like(plain, 12, false);
    write_mnist_like(packed, 12, true);
    auto a = load_idx_dataset(plain.path.string(), true, "mnist");
    auto b = load_idx_dataset(packed.path.string(), true, "mnist");
    CHECK(a->size() == 12);
    CHECK(a->example_shape() == Shape{1, 28, 28});
    CHECK(a->examples().to_vector<float>() == b->examples().to_vector<float>());
    auto px = a->examples().to_vector<float>();
    CHECK(px[0] == -1.0f);                    // byte 0
    CHECK(px[255] == doctest::Approx(1.0f));  // byte 255
    CHECK(a->labels().to_vector<int32_t>()[11] == 1);
}

TEST_CASE("IDX: corrupt files give errors that name the file and the problem") {
    TempDir d;
    auto good = idx_bytes({3, 4, 4});
    auto bad_magic = good;
    bad_magic[0] = 7;
    write_file(d / "magic", bad_magic);
    CHECK(error_of([&] { read_idx(d / "magic"); }).find("magic number") != std::string::npos);
    auto bad_type = good;
    bad_type[2] = 0x0D;  // float elements
    write_file(d / "type", bad_type);
    CHECK(error_of([&] { read_idx(d / "type"); }).find("element type") != std::string::npos);
    // Every truncation is an error, never a crash or a short read taken as data.
    for (size_t len = 0; len < good.size(); ++len) {
        write_file(d / "cut", std::vector<uint8_t>(good.begin(), good.begin() + len));
        std::string e = error_of([&] { read_idx(d / "cut"); });
        CHECK_MESSAGE(e.find(d / "cut") != std::string::npos, "length ", len, ": ", e);
    }
    auto longer = good;
    longer.push_back(1);
    write_file(d / "long", longer);
    CHECK(error_of([&] { read_idx(d / "long"); }).find("trailing data") != std::string::npos);
    // A gzip stream cut short is reported as corrupt.
    write_gz(d / "whole.gz", good);
    std::ifstream in(d / "whole.gz", std::ios::binary);
    std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), {});
    write_file(d / "cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2));
    CHECK(error_of([&] { read_idx(d / "cut.gz"); }).find("cut.gz") != std::string::npos);
    CHECK(error_of([&] { read_idx(d / "missing"); }).find("cannot open") != std::string::npos);
}

TEST_CASE("load_dataset: missing named data says to run make data, unknown names are listed") {
    TempDir d;
    std::string e = error_of([&] { load_dataset("mnist", true, 32, 0, d.path.string()); });
    CHECK(e.find("make data") != std::string::npos);
    e = error_of([&] { load_dataset("no-such-set", true, 32); });
    CHECK(e.find("mnist, fashion, ring8, grid25") != std::string::npos);
}

namespace {
// Sets (or, for nullptr, unsets) an environment variable for one scope.
struct ScopedEnv {
    std::string name;
    std::optional<std::string> old;
    ScopedEnv(const char* n, const char* value) : name(n) {
        if (const char* o = std::getenv(n)) old = o;
        value ? setenv(n, value, 1) : unsetenv(n);
    }
    ~ScopedEnv() { old ? setenv(name.c_str(), old->c_str(), 1) : unsetenv(name.c_str()); }
};
}  // namespace

TEST_CASE("find_data_root: --data-root as given, else ZOOGRAD_DATA, ./data, the source tree, XDG") {
    TempDir d;
    fs::create_directories(d / "env/mnist");
    ScopedEnv data("ZOOGRAD_DATA", (d / "env").c_str());
    ScopedEnv xdg("XDG_DATA_HOME", (d / "xdg").c_str());
    // The order of the places, and where each comes from.
    std::vector<DataRootCandidate> c = data_root_candidates();
    REQUIRE(c.size() == 4);
    CHECK(c[0].path == (d.path / "env").string());
    CHECK(c[1].path == "data");
    CHECK(fs::path(c[2].path).filename() == "data");
    CHECK(fs::exists(fs::path(c[2].path).parent_path() / "CMakeLists.txt"));  // the source tree
    CHECK(c[3].path == (d.path / "xdg/zoograd").string());
    // A given root is used as it is; otherwise the first place that has the set.
    CHECK(find_data_root("/given", "mnist") == "/given");
    CHECK(find_data_root("", "mnist") == (d.path / "env").string());
    // A set found nowhere: the error lists every place and says how to fetch it.
    const std::string e = error_of([] { find_data_root("", "no-such-set"); });
    for (const DataRootCandidate& p : c) CHECK_MESSAGE(e.find(p.path) != std::string::npos, p.path);
    CHECK(e.find("make data") != std::string::npos);
    CHECK(e.find("ZOOGRAD_DATA") != std::string::npos);
    // Without XDG_DATA_HOME the per-user place is under HOME.
    ScopedEnv no_xdg("XDG_DATA_HOME", nullptr);
    ScopedEnv home("HOME", d.path.c_str());
    CHECK(data_root_candidates().back().path == (d.path / ".local/share/zoograd").string());
}

TEST_CASE("load_dataset: a --data path that does not exist is named as a missing folder") {
    const std::string e = error_of([] { load_dataset("no/such/folder", true, 32); });
    CHECK(e.find("no/such/folder: the folder does not exist") != std::string::npos);
}

TEST_CASE("fit_images: 28x28 digits are padded to 32 with the background value") {
    TempDir d;
    fs::create_directories(d / "mnist");
    auto raw = idx_bytes({2, 28, 28});
    write_file(d / "mnist/train-images-idx3-ubyte", raw);
    write_file(d / "mnist/train-labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0, 2, 3, 4});
    auto ds = load_dataset("mnist", true, 32, 0, d.path.string());
    CHECK(ds->example_shape() == Shape{1, 32, 32});
    Tensor img = ds->examples().select(0, 0).select(0, 0);
    CHECK(img.select(0, 0).to_vector<float>() == std::vector<float>(32, -1.0f));  // pad row
    CHECK(img.select(0, 2).select(0, 2).item<float>() == -1.0f);  // first pixel, byte 0
    auto big = load_dataset("mnist", true, 64, 0, d.path.string());
    CHECK(big->example_shape() == Shape{1, 64, 64});
}

TEST_CASE("2-D mixtures: modes where the papers put them, with the right spread") {
    auto ring = make_mixture("ring8", 20000, 5);
    CHECK(ring->num_classes() == 8);
    auto x = ring->examples().to_vector<float>();
    auto m = ring->labels().to_vector<int32_t>();
    auto spec = mixture_spec("ring8");
    double sq = 0;
    for (size_t i = 0; i < m.size(); ++i) {
        double dx = x[2 * i] - spec.centers[m[i]][0], dy = x[2 * i + 1] - spec.centers[m[i]][1];
        sq += dx * dx + dy * dy;
    }
    CHECK(std::sqrt(sq / (2.0 * m.size())) == doctest::Approx(0.02).epsilon(0.03));
    CHECK(mixture_spec("grid25").centers.size() == 25);
    CHECK_THROWS_AS(mixture_spec("ring9"), Error);
}

TEST_CASE("image folders: classes from sub-folders, resize and crop, bad images named") {
    TempDir d;
    fs::create_directories(d / "cats");
    fs::create_directories(d / "dogs");
    std::vector<uint8_t> rgb(40 * 20 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 7);
    stbi_write_png((d / "cats/a.png").c_str(), 40, 20, 3, rgb.data(), 40 * 3);
    stbi_write_bmp((d / "dogs/b.bmp").c_str(), 40, 20, 3, rgb.data());
    stbi_write_png((d / "dogs/c.png").c_str(), 40, 20, 3, rgb.data(), 40 * 3);
    auto ds = load_image_folder(d.path.string(), 16, 3);
    CHECK(ds->size() == 3);
    CHECK(ds->num_classes() == 2);
    CHECK(ds->example_shape() == Shape{3, 16, 16});
    CHECK(ds->labels().to_vector<int32_t>() == std::vector<int32_t>{0, 1, 1});
    auto gray = load_image_folder(d.path.string(), 8, 1);
    CHECK(gray->example_shape() == Shape{1, 8, 8});
    // A file that does not decode is named in the error.
    write_file(d / "dogs/broken.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
    std::string e = error_of([&] { load_image_folder(d.path.string(), 16, 3); });
    CHECK(e.find("broken.png") != std::string::npos);
    TempDir empty_dir;
    CHECK(error_of([&] { load_image_folder(empty_dir.path.string(), 16, 3); }).find("no images") !=
          std::string::npos);
    CHECK(error_of([&] { load_image_folder(d / "nope", 16, 3); }).find("no such directory") !=
          std::string::npos);
}

TEST_CASE("image folders: hidden entries are skipped, an empty class folder is refused") {
    TempDir d;
    std::vector<uint8_t> rgb(8 * 8 * 3, 128);
    // A flat folder with a notebook's hidden checkpoint folder and macOS's ._ files beside it:
    // read as the flat folder it is, not as one class of hidden images.
    fs::create_directories(d / ".ipynb_checkpoints");
    stbi_write_png((d / ".ipynb_checkpoints/x.png").c_str(), 8, 8, 3, rgb.data(), 8 * 3);
    for (const char* f : {"a.png", "b.png", "._a.png"})
        stbi_write_png((d / f).c_str(), 8, 8, 3, rgb.data(), 8 * 3);
    auto flat = load_image_folder(d.path.string(), 8, 3);
    CHECK(flat->size() == 2);
    CHECK(flat->num_classes() == 0);
    // An empty class folder would be a class with no images.
    TempDir c;
    fs::create_directories(c / "cats");
    fs::create_directories(c / "dogs");
    stbi_write_png((c / "cats/a.png").c_str(), 8, 8, 3, rgb.data(), 8 * 3);
    const std::string e = error_of([&] { load_image_folder(c.path.string(), 8, 3); });
    CHECK(e.find("dogs: an empty class folder") != std::string::npos);
}

TEST_CASE("DataLoader: each epoch is a permutation, reproducible from (seed, epoch)") {
    auto ds = make_mixture("ring8", 100, 1);
    DataLoader a(ds, 10, true, true, 42), b(ds, 10, true, true, 42, false);
    CHECK(a.batches_per_epoch() == 10);
    std::vector<float> first_epoch, second_epoch;
    for (int i = 0; i < 20; ++i) {
        Batch x = a.next(), y = b.next();
        CHECK(x.x.to_vector<float>() == y.x.to_vector<float>());  // prefetch changes nothing
        auto v = x.labels.to_vector<int32_t>();
        (i < 10 ? first_epoch : second_epoch)
            .insert((i < 10 ? first_epoch : second_epoch).end(), v.begin(), v.end());
    }
    CHECK(a.state().epoch == 2);
    CHECK(first_epoch != second_epoch);  // reshuffled
    // Every example once per epoch: compare label histograms with the data set's.
    std::vector<int> want(8), got(8);
    for (int32_t l : ds->labels().to_vector<int32_t>()) ++want[l];
    for (float l : first_epoch) ++got[(int)l];
    CHECK(got == want);
}

TEST_CASE("DataLoader: restoring the state resumes the exact batch sequence") {
    auto ds = make_mixture("grid25", 64, 3);
    DataLoader a(ds, 8, true, true, 7);
    for (int i = 0; i < 11; ++i) a.next();
    LoaderState s = a.state();
    CHECK(s.epoch == 1);
    CHECK(s.offset == 3 * 8);
    std::vector<float> expected = a.next().x.to_vector<float>();
    DataLoader b(ds, 8, true, true, 7);
    b.next();  // a prefetch is pending for the old position and must be dropped
    b.set_state(s);
    CHECK(b.next().x.to_vector<float>() == expected);
    CHECK_THROWS_AS(b.set_state({0, 64}), Error);
    CHECK_THROWS_AS(b.set_state({0, 60}), Error);  // drop_last: no full batch of 8 fits there
}

TEST_CASE("DataLoader: a new batch size continues from the same example") {
    auto ds = make_mixture("grid25", 64, 3);
    DataLoader whole(ds, 8, true, true, 7, /*prefetch=*/false);
    std::vector<float> order;  // the first two epochs' examples in the loader's order
    for (int i = 0; i < 16; ++i) {
        const std::vector<float> v = whole.next().x.to_vector<float>();
        order.insert(order.end(), v.begin(), v.end());
    }
    const size_t row = 2;  // grid25 points are [x, y]
    DataLoader a(ds, 8, true, true, 7);
    for (int i = 0; i < 3; ++i) a.next();  // examples 0..23, with a batch of 8 prefetched
    a.set_batch_size(16);
    CHECK(a.state().offset == 24);
    std::vector<float> b = a.next().x.to_vector<float>();
    CHECK(std::vector<float>(order.begin() + 24 * row, order.begin() + 40 * row) == b);
    b = a.next().x.to_vector<float>();  // 40..55
    CHECK(std::vector<float>(order.begin() + 40 * row, order.begin() + 56 * row) == b);
    // 56..63 cannot fill a batch of 16 with drop_last: the next epoch begins.
    CHECK(a.state().epoch == 1);
    CHECK(a.state().offset == 0);
    b = a.next().x.to_vector<float>();
    CHECK(std::vector<float>(order.begin() + 64 * row, order.begin() + 80 * row) == b);
    CHECK_THROWS_AS(a.set_batch_size(65), Error);
}

TEST_CASE("DataLoader: drop_last, a short last batch, and bad batch sizes") {
    auto ds = make_mixture("ring8", 25, 1);
    DataLoader keep(ds, 10, false, false);
    CHECK(keep.batches_per_epoch() == 3);
    keep.next();
    keep.next();
    CHECK(keep.next().x.size(0) == 5);
    CHECK(DataLoader(ds, 10, false, true).batches_per_epoch() == 2);
    CHECK_THROWS_AS(DataLoader(ds, 0), Error);
    CHECK(error_of([&] { DataLoader(ds, 26); }).find("--batch-size") != std::string::npos);
}
