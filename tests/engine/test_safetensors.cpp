// safetensors: round trips, the exact bytes the reference writer produces, a file written by
// Python's rules (tools/fixtures/check_safetensors.py), atomic saves, and a zg::Error with a
// useful message for every kind of malformed file.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/tensor.h"

using namespace zg;
namespace fs = std::filesystem;

namespace {

// An 8-byte little-endian length, then the header, then the data: a file built by hand.
std::string st_file(const std::string& header, const std::string& data = "") {
    std::string out(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[i] = (char)((n >> (8 * i)) & 0xff);
    return out + header + data;
}

std::string le_u64(uint64_t n) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = (char)((n >> (8 * i)) & 0xff);
    return out;
}

// The message of the zg::Error that reading `bytes` throws, or "" if it reads fine. Any other
// exception escapes and fails the test.
std::string error_of(std::string_view bytes, const std::string& what = "bad.safetensors") {
    try {
        from_safetensors(bytes, what);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// Reading `bytes` throws a zg::Error naming the source and containing every one of `parts`.
void check_error(std::string_view bytes, std::initializer_list<std::string> parts) {
    std::string msg = error_of(bytes);
    CHECK_MESSAGE(!msg.empty(), "expected an error, but the file loaded");
    CHECK_MESSAGE(msg.find("bad.safetensors") != std::string::npos, "no file name in: ", msg);
    for (const std::string& p : parts)
        CHECK_MESSAGE(msg.find(p) != std::string::npos, "expected '", p, "' in: ", msg);
}

// A file with one F32 tensor "t" of `shape` whose data is `nbytes` zero bytes.
std::string one_tensor(const std::string& shape, const std::string& offsets, size_t nbytes,
                       const std::string& dtype = "F32") {
    return st_file(R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" +
                       offsets + "}}",
                   std::string(nbytes, '\0'));
}

bool same_bytes(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    Tensor ca = a.contiguous(), cb = b.contiguous();
    size_t n = (size_t)a.numel() * dtype_size(a.dtype());
    return n == 0 || std::memcmp(ca.raw_data(), cb.raw_data(), n) == 0;
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// A fresh directory for this test process, removed at the end of the test case.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("zg_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int c = 0;
        return c;
    }
};

std::map<std::string, Tensor> sample_tensors() {
    return {
        {"w", from_vector<float>({1.5f, -2.f, 0.f, -0.f, 3.25f, 1e-40f}, {2, 3})},
        {"d", from_vector<double>({0.1, -1.0 / 3.0, 1e300, 5e-324}, {4})},
        {"i", from_vector<int32_t>(
                  {7, -7, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()},
                  {2, 2})},
        {"scalar", scalar(0.75)},
        {"empty", empty({0, 5}, DType::f64)},
    };
}

}  // namespace

TEST_CASE("safetensors: f32, f64 and i32 tensors with metadata round trip bit for bit") {
    auto tensors = sample_tensors();
    tensors["special"] = from_vector<float>(
        {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
         std::numeric_limits<float>::quiet_NaN()},
        {3});
    std::map<std::string, std::string> meta = {
        {"format", "pt"}, {"note", "ζ \"quoted\"\n\ttabs"}, {"empty", ""}};
    SafetensorsFile f = from_safetensors(to_safetensors(tensors, meta));
    CHECK(f.metadata == meta);
    REQUIRE(f.tensors.size() == tensors.size());
    for (const auto& [name, t] : tensors) {
        INFO("tensor ", name);
        REQUIRE(f.tensors.count(name));
        const Tensor& u = f.tensors.at(name);
        CHECK(same_bytes(t, u));
        CHECK(u.is_contiguous());
        CHECK(u.device() == Device::cpu);
        CHECK_FALSE(u.requires_grad());
    }
}

TEST_CASE("safetensors: 0-d and zero-size tensors round trip") {
    std::map<std::string, Tensor> tensors = {
        {"s32", scalar(2.5)},
        {"s64", scalar(-1.25, DType::f64)},
        {"si", scalar(9, DType::i32)},
        {"z1", empty({0}, DType::f32)},
        {"z2", empty({3, 0, 2}, DType::i32)},
    };
    std::string bytes = to_safetensors(tensors);
    CHECK(bytes.find(R"("s32":{"dtype":"F32","shape":[],)") != std::string::npos);
    CHECK(bytes.find(R"("z2":{"dtype":"I32","shape":[3,0,2],)") != std::string::npos);
    SafetensorsFile f = from_safetensors(bytes);
    CHECK(f.metadata.empty());
    CHECK(f.tensors.at("s32").dim() == 0);
    CHECK(f.tensors.at("s32").item<float>() == 2.5f);
    CHECK(f.tensors.at("s64").item<double>() == -1.25);
    CHECK(f.tensors.at("si").item<int32_t>() == 9);
    CHECK(f.tensors.at("z1").shape() == Shape{0});
    CHECK(f.tensors.at("z2").shape() == Shape{3, 0, 2});
    CHECK(f.tensors.at("z2").dtype() == DType::i32);

    // No tensors at all is a valid file too: "{}" padded to 8 bytes.
    CHECK(to_safetensors({}) == le_u64(8) + "{}      ");
    CHECK(from_safetensors(le_u64(8) + "{}      ").tensors.empty());
}

TEST_CASE("safetensors: non-contiguous tensors are saved packed row-major") {
    Tensor base = from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
    Tensor tr = base.t();  // [[0, 3], [1, 4], [2, 5]]
    REQUIRE_FALSE(tr.is_contiguous());
    Tensor col = base.slice(1, 1, 2);  // [[1], [4]]: a strided view with an offset
    Tensor bcast = from_vector<int32_t>({8, 9}, {2}).expand({3, 2});
    std::string bytes = to_safetensors({{"tr", tr}, {"col", col}, {"bcast", bcast}});
    CHECK(bytes.find(R"("tr":{"dtype":"F32","shape":[3,2],)") != std::string::npos);

    SafetensorsFile f = from_safetensors(bytes);
    CHECK(f.tensors.at("tr").to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
    CHECK(f.tensors.at("col").to_vector<float>() == std::vector<float>{1, 4});
    CHECK(f.tensors.at("bcast").to_vector<int32_t>() == std::vector<int32_t>{8, 9, 8, 9, 8, 9});
    CHECK(f.tensors.at("bcast").shape() == Shape{3, 2});
    // The data section holds exactly the packed elements: 6*4 + 6*4 + 2*4 bytes after the
    // header, and the transposed tensor's bytes appear in row-major order of the view.
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | (unsigned char)bytes[i];
    CHECK(bytes.size() == 8 + n + 24 + 24 + 8);
    std::vector<float> packed = {0, 3, 1, 4, 2, 5};
    CHECK(bytes.find(std::string(reinterpret_cast<const char*>(packed.data()), 24)) !=
          std::string::npos);
}

TEST_CASE("safetensors: a tiny file has exactly the reference writer's bytes") {
    // One F32 tensor "attn0" of shape [1, 1, 2, 3] holding 0..5: the JSON is 65 bytes, padded
    // with 7 spaces to 72 so that the data starts at byte 80, a multiple of 8.
    Tensor t = from_vector<float>({0, 1, 2, 3, 4, 5}, {1, 1, 2, 3});
    std::string bytes = to_safetensors({{"attn0", t}});
    const std::string json = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
    REQUIRE(json.size() == 65);
    const unsigned char data[24] = {0, 0, 0,  0,  0, 0, 128, 63, 0, 0, 0,   64,
                                    0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64};
    std::string expected = le_u64(72) + json + std::string(7, ' ') +
                           std::string(reinterpret_cast<const char*>(data), 24);
    CHECK(bytes.substr(0, 8) == le_u64(72));                // header length field
    CHECK(bytes.substr(8, 65) == json);                     // compact JSON
    CHECK(bytes.substr(8 + 65, 7) == std::string(7, ' '));  // padding to 8-byte alignment
    CHECK(bytes.substr(80) == expected.substr(80));         // little-endian float data
    CHECK(bytes == expected);

    // Metadata comes first in the header; this 35-byte JSON gets 5 spaces of padding.
    std::string meta = to_safetensors({}, {{"framework", "pt"}});
    CHECK(meta == le_u64(40) + R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' '));
}

TEST_CASE("safetensors: the writer orders tensors F64, F32, I32, then by name") {
    std::map<std::string, Tensor> tensors = {
        {"a_i32", scalar(1, DType::i32)}, {"b_f32", scalar(1)},
        {"c_f64", scalar(1, DType::f64)}, {"a_f32", scalar(1)},
        {"z_f64", scalar(1, DType::f64)},
    };
    std::string bytes = to_safetensors(tensors);
    std::vector<std::string> order = {"c_f64", "z_f64", "a_f32", "b_f32", "a_i32"};
    size_t last = 0;
    uint64_t offset = 0;
    for (const std::string& name : order) {
        size_t at = bytes.find("\"" + name + "\"");
        INFO("tensor ", name);
        REQUIRE(at != std::string::npos);
        CHECK(at > last);
        last = at;
        uint64_t size = name.find("f64") != std::string::npos ? 8 : 4;
        std::string offs = "\"data_offsets\":[" + std::to_string(offset) + "," +
                           std::to_string(offset + size) + "]";
        CHECK(bytes.compare(bytes.find(offs, at), offs.size(), offs) == 0);
        CHECK(bytes.find(offs, at) < bytes.find("}", at));
        offset += size;
    }
}

TEST_CASE("safetensors: reads the reference file written by Python's rules, and writes it back") {
    std::string path = std::string(ZG_FIXTURES) + "/reference.safetensors";
    SafetensorsFile f = load_safetensors(path);
    CHECK(f.metadata ==
          std::map<std::string, std::string>{{"format", "pt"}, {"note", "zoograd reference ζ"}});
    REQUIRE(f.tensors.size() == 6);
    const Tensor& var = f.tensors.at("bn.running_var");
    CHECK(var.dtype() == DType::f64);
    CHECK(var.to_vector<double>() == std::vector<double>{0.1, 1.0 / 3.0, 2.5});
    const Tensor& w = f.tensors.at("conv.weight");
    CHECK(w.dtype() == DType::f32);
    CHECK(w.shape() == Shape{2, 1, 2, 2});
    std::vector<float> wv;
    for (int i = 0; i < 8; ++i) wv.push_back(((float)i - 3.5f) / 4.f);
    CHECK(w.to_vector<float>() == wv);
    CHECK(f.tensors.at("empty").shape() == Shape{0, 3});
    CHECK(f.tensors.at("scale").dim() == 0);
    CHECK(f.tensors.at("scale").item<float>() == 0.5f);
    CHECK(f.tensors.at("labels").to_vector<int32_t>() ==
          std::vector<int32_t>{0, -1, std::numeric_limits<int32_t>::max(),
                               std::numeric_limits<int32_t>::min(), 7});
    CHECK(f.tensors.at("step").dim() == 0);
    CHECK(f.tensors.at("step").item<int32_t>() == 42);

    // zoograd's writer lays the same tensors out byte for byte as the Python script does.
    CHECK(to_safetensors(f.tensors, f.metadata) == read_file(path));
}

TEST_CASE("safetensors: the reader accepts any tensor order and an unpadded header") {
    float b[2] = {1.f, 2.f};
    int32_t a[1] = {-3};
    std::string data = std::string(reinterpret_cast<const char*>(b), 8) +
                       std::string(reinterpret_cast<const char*>(a), 4);
    std::string header =
        R"({"a":{"data_offsets":[8,12],"shape":[1],"dtype":"I32"},)"
        R"("__metadata__":{"k":"v"},"b":{"shape":[2],"dtype":"F32","data_offsets":[0,8]}})";
    SafetensorsFile f = from_safetensors(st_file(header, data));
    CHECK(f.tensors.at("a").to_vector<int32_t>() == std::vector<int32_t>{-3});
    CHECK(f.tensors.at("b").to_vector<float>() == std::vector<float>{1.f, 2.f});
    CHECK(f.metadata.at("k") == "v");
    // JSON whitespace inside and after the header is fine.
    SafetensorsFile g =
        from_safetensors(st_file("{ \"b\" : {\"dtype\":\"F32\",\"shape\":[ 2 ],"
                                 "\"data_offsets\":[0, 8]}\n}\t ",
                                 data.substr(0, 8)));
    CHECK(g.tensors.at("b").to_vector<float>() == std::vector<float>{1.f, 2.f});
}

TEST_CASE("safetensors: every truncation of a valid file is an error") {
    auto tensors = sample_tensors();
    std::string good = to_safetensors(tensors, {{"a", "b"}});
    REQUIRE(from_safetensors(good).tensors.size() == tensors.size());
    for (size_t len = 0; len < good.size(); ++len) {
        INFO("truncated to ", len, " of ", good.size(), " bytes");
        std::string msg = error_of(std::string_view(good).substr(0, len));
        CHECK_FALSE(msg.empty());
    }
    // And so is any extra byte at the end.
    check_error(good + "x", {"no tensor covers", "at the end of the file"});
}

TEST_CASE("safetensors: single-byte corruptions give zg::Error or a clean load") {
    std::string good = to_safetensors(sample_tensors(), {{"a", "b"}});
    const unsigned char values[] = {0x00, 0x20, 0x22, 0x30, 0x39, 0x5b, 0x7b, 0x7d, 0xff};
    int errors = 0;
    for (size_t i = 0; i < good.size(); ++i)
        for (unsigned char v : values) {
            std::string bad = good;
            bad[i] = (char)v;
            try {
                from_safetensors(bad);
            } catch (const Error&) {
                ++errors;
            }
        }
    CHECK(errors > 0);
}

TEST_CASE("safetensors: a bad header length is caught before allocating") {
    check_error("", {"0 bytes", "too short"});
    check_error(std::string("\x10\0\0", 3), {"3 bytes", "too short"});
    // Lengths far larger than the file, or than the 100 MB limit, must not be allocated.
    check_error(le_u64(std::numeric_limits<uint64_t>::max()) + "{}", {"100000000", "limit"});
    check_error(le_u64(1ull << 62) + "{}", {"limit"});
    check_error(le_u64(100'000'001) + "{}", {"limit"});
    check_error(le_u64(100'000'000) + "{}", {"past the end", "100000008", "10 bytes"});
    check_error(le_u64(3) + "{}", {"header length 3", "past the end"});
    check_error(le_u64(0) + "{}", {"header length is 0"});
}

TEST_CASE("safetensors: a malformed JSON header is an error naming the byte") {
    check_error(st_file("[]      "), {"does not start with '{'", "byte 8"});
    check_error(st_file("  {}    "), {"does not start with '{'"});
    check_error(st_file(R"({"t":{"dtype":"F32",)"), {"malformed", "unexpected end of input"});
    check_error(st_file(R"({"t" 1})"), {"malformed", "near byte 13"});
    check_error(st_file("{}  {}  "), {"malformed"});
    check_error(st_file(std::string("{}\0\0\0\0\0\0", 8)), {"NUL byte at byte 10"});
    check_error(st_file(std::string("{\"a\0\":1}", 8)), {"NUL byte at byte 11"});
    check_error(st_file("{\"\xff\":1}"), {"malformed"});   // not UTF-8
    check_error(st_file("{\"a\xc3\":1}"), {"malformed"});  // truncated UTF-8 sequence
}

TEST_CASE("safetensors: missing, extra and duplicate keys are errors") {
    const std::string z = std::string(4, '\0');
    check_error(st_file(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", z), {"'t'", "no dtype"});
    check_error(st_file(R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", z), {"'t'", "no shape"});
    check_error(st_file(R"({"t":{"dtype":"F32","shape":[1]}})", z), {"'t'", "no data_offsets"});
    check_error(st_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", z),
                {"'t'", "unexpected key 'x'"});
    check_error(
        st_file(R"({"t":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", z),
        {"'t'", "duplicate key 'dtype'"});
    check_error(st_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        z + z),
                {"duplicate key 't'"});
    check_error(st_file(R"({"t":[1]})"), {"'t'", "must be an object"});
    check_error(st_file(R"({"t":"F32"})"), {"'t'", "must be an object", "string"});
    check_error(st_file(R"({"t":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", z),
                {"dtype must be a string"});
    check_error(st_file(R"({"t":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", z),
                {"shape must be an array"});
    check_error(st_file(R"({"__metadata__":{"k":1}})"), {"__metadata__ value 'k'", "string"});
    check_error(st_file(R"({"__metadata__":{"k":{"x":"y"}}})"), {"__metadata__ value 'k'"});
    check_error(st_file(R"({"__metadata__":["k"]})"), {"__metadata__ must be an object"});
    check_error(st_file(R"({"__metadata__":{"k":"a","k":"b"}})"), {"duplicate key 'k'"});
    check_error(st_file(R"({"__metadata__":{},"__metadata__":{}})"),
                {"duplicate key '__metadata__'"});
}

TEST_CASE("safetensors: unsupported dtypes are named, with the ones zoograd reads") {
    for (std::string dt : {"F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3"}) {
        INFO("dtype ", dt);
        check_error(one_tensor("[2]", "[0,16]", 16, dt),
                    {"'t'", "dtype " + dt, "does not read", "F32, F64 and I32"});
    }
    check_error(one_tensor("[2]", "[0,8]", 8, "float32"),
                {"unknown dtype 'float32'", "F32, F64 and I32"});
}

TEST_CASE("safetensors: bad shapes are errors") {
    check_error(one_tensor("[-2]", "[0,8]", 8), {"'t'", "negative dimension -2"});
    check_error(one_tensor("[2.0]", "[0,8]", 8), {"'t'", "dimension 2.0", "non-negative integer"});
    check_error(one_tensor("[1e1]", "[0,40]", 40), {"non-negative integer"});
    check_error(one_tensor("[\"2\"]", "[0,8]", 8), {"shape must hold non-negative integers"});
    check_error(one_tensor("[[2]]", "[0,8]", 8), {"shape must hold non-negative integers"});
    check_error(one_tensor("[null]", "[0,8]", 8), {"shape must hold non-negative integers"});
    check_error(one_tensor("[true]", "[0,8]", 8), {"shape must hold non-negative integers"});
    // At most 64 dimensions.
    std::string rank64 = "[";
    for (int i = 0; i < 64; ++i) rank64 += i ? ",1" : "1";
    CHECK(from_safetensors(one_tensor(rank64 + "]", "[0,4]", 4)).tensors.at("t").dim() == 64);
    check_error(one_tensor(rank64 + ",1]", "[0,4]", 4), {"more than 64 dimensions"});
    // Too large for int64, then element counts and byte counts that overflow.
    check_error(one_tensor("[9223372036854775808]", "[0,0]", 0), {"dimension", "too large"});
    check_error(one_tensor("[18446744073709551616]", "[0,0]", 0), {"non-negative integer"});
    check_error(one_tensor("[4294967296,4294967296]", "[0,0]", 0), {"shape", "overflows"});
    check_error(one_tensor("[3037000500,3037000500]", "[0,0]", 0), {"shape", "overflows"});
    check_error(one_tensor("[4611686018427387904]", "[0,0]", 0), {"byte count overflows"});
    check_error(one_tensor("[0,4294967296,4294967296]", "[0,0]", 0), {"overflows"});
    // Huge but consistent claims are refused by the offsets check, before any allocation.
    check_error(one_tensor("[1000000000000]", "[0,4000000000000]", 8), {"run past the end"});
    // A zero-size tensor with large other dimensions is fine.
    CHECK(from_safetensors(one_tensor("[0,1000000000000]", "[0,0]", 0)).tensors.at("t").numel() ==
          0);
}

TEST_CASE("safetensors: offsets must match the sizes and tile the data section") {
    check_error(one_tensor("[2]", "[0,4]", 4), {"'t'", "needs 8 bytes", "[0, 4] hold 4"});
    check_error(one_tensor("[2]", "[0,8]", 4), {"'t'", "run past the end", "4 bytes"});
    check_error(one_tensor("[2]", "[8,0]", 8), {"'t'", "end before they begin"});
    check_error(one_tensor("[2]", "[4,12]", 12), {"no tensor covers data bytes 0-4"});
    check_error(one_tensor("[2]", "[0,8]", 12), {"no tensor covers data bytes 8-12", "at the end"});
    check_error(one_tensor("[2]", "[0,8,8]", 8), {"more than 2 values"});
    check_error(one_tensor("[2]", "[8]", 8), {"has 1 values"});
    check_error(one_tensor("[2]", "[-1,7]", 8), {"negative value -1"});
    check_error(one_tensor("[2]", "[0.0,8]", 8), {"non-negative integer"});
    check_error(one_tensor("[2]", "[0,18446744073709551615]", 8), {"'t'"});
    check_error(one_tensor("[2]", "{\"a\":0}", 8), {"data_offsets must be an array"});
    // Two tensors that overlap, and two that leave a hole between them.
    const std::string two = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":)";
    check_error(st_file(two + "[4,12]}}", std::string(12, '\0')),
                {"'b'", "overlaps tensor 'a'", "data bytes 4-12"});
    check_error(st_file(two + "[0,8]}}", std::string(8, '\0')), {"overlaps"});
    check_error(st_file(two + "[12,20]}}", std::string(20, '\0')),
                {"no tensor covers data bytes 8-12", "hole before tensor 'b'"});
    // Zero-size tensors may sit anywhere, even at the very end.
    std::string ok =
        R"({"e":{"dtype":"F64","shape":[0],"data_offsets":[8,8]},)" + two.substr(1) + "[8,16]}}";
    CHECK(from_safetensors(st_file(ok, std::string(16, '\0'))).tensors.size() == 3);
}

TEST_CASE("safetensors: errors name the source and file-level byte offsets") {
    std::string msg = error_of(one_tensor("[2]", "[0,8]", 4), "weights/g.safetensors");
    CHECK(msg.find("'weights/g.safetensors'") != std::string::npos);
    // The data section of this file starts at byte 8 + header length.
    std::string file = one_tensor("[2]", "[4,12]", 12);
    uint64_t n = file.size() - 8 - 12;
    check_error(file, {"file bytes " + std::to_string(8 + n) + "-" + std::to_string(8 + n + 4)});
    // Long or binary names are cut short and escaped in messages.
    std::string name(500, 'x');
    std::string m2 = error_of(st_file("{\"" + name + "\\u0001\":1}"));
    CHECK(m2.find(std::string(120, 'x') + "...") != std::string::npos);
    CHECK(m2.size() < 400);
    CHECK(error_of(st_file("{\"a\\u0001\":1}")).find("'a\\x01'") != std::string::npos);
}

TEST_CASE("safetensors: loading a missing or unreadable file names the path") {
    TempDir dir;
    std::string missing = (dir.path / "nope.safetensors").string();
    try {
        load_safetensors(missing);
        FAIL("no error");
    } catch (const Error& e) {
        std::string msg = e.what();
        CHECK(msg.find(missing) != std::string::npos);
        CHECK(msg.find("No such file") != std::string::npos);
    }
    CHECK_THROWS_WITH_AS(load_safetensors(dir.path.string()),
                         doctest::Contains("not a regular file"), Error);
    std::string corrupt = (dir.path / "corrupt.safetensors").string();
    std::ofstream(corrupt, std::ios::binary) << le_u64(1000) << "{}";
    CHECK_THROWS_WITH_AS(load_safetensors(corrupt), doctest::Contains(corrupt.c_str()), Error);
    std::ofstream(corrupt, std::ios::binary) << one_tensor("[2]", "[0,8]", 4);
    CHECK_THROWS_WITH_AS(load_safetensors(corrupt), doctest::Contains("run past the end"), Error);
}

TEST_CASE("safetensors: save_safetensors and load_safetensors round trip through a file") {
    TempDir dir;
    std::string path = (dir.path / "m.safetensors").string();
    auto tensors = sample_tensors();
    save_safetensors(path, tensors, {{"step", "12"}});
    CHECK(read_file(path) == to_safetensors(tensors, {{"step", "12"}}));
    SafetensorsFile f = load_safetensors(path);
    CHECK(f.metadata.at("step") == "12");
    for (const auto& [name, t] : tensors) CHECK(same_bytes(t, f.tensors.at(name)));
    // A relative path (directory ".") works too.
    fs::path cwd = fs::current_path();
    fs::current_path(dir.path);
    save_safetensors("rel.safetensors", {{"x", scalar(1)}});
    fs::current_path(cwd);
    CHECK(load_safetensors((dir.path / "rel.safetensors").string()).tensors.size() == 1);
}

TEST_CASE("safetensors: save_safetensors is atomic") {
    TempDir dir;
    std::string path = (dir.path / "ckpt.safetensors").string();
    save_safetensors(path, {{"a", scalar(1)}});
    CHECK_FALSE(fs::exists(path + ".tmp"));

    // Saving over an existing file replaces it, and leaves no temporary behind.
    save_safetensors(path, {{"b", from_vector<float>({1, 2, 3}, {3})}});
    CHECK_FALSE(fs::exists(path + ".tmp"));
    SafetensorsFile f = load_safetensors(path);
    CHECK(f.tensors.size() == 1);
    CHECK(f.tensors.at("b").to_vector<float>() == std::vector<float>{1, 2, 3});
    const std::string old = read_file(path);

    // When the temporary cannot be created, saving throws and the old file is intact. (A
    // directory in the way works even as root, whom file permissions do not stop.)
    fs::create_directory(path + ".tmp");
    CHECK_THROWS_WITH_AS(save_safetensors(path, {{"c", scalar(2)}}),
                         doctest::Contains("cannot create"), Error);
    CHECK(read_file(path) == old);
    CHECK(fs::is_directory(path + ".tmp"));
    fs::remove(path + ".tmp");

    // An unwritable directory: the same.
    if (::geteuid() != 0) {
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        CHECK_THROWS_AS(save_safetensors(path, {{"c", scalar(2)}}), Error);
        fs::permissions(dir.path, fs::perms::owner_all);
        CHECK(read_file(path) == old);
        CHECK_FALSE(fs::exists(path + ".tmp"));
    } else {
        MESSAGE("running as root: skipping the chmod-based unwritable-directory check");
    }

    // A directory that does not exist.
    CHECK_THROWS_WITH_AS(
        save_safetensors((dir.path / "no" / "such.safetensors").string(), {{"a", scalar(1)}}),
        doctest::Contains("No such file"), Error);
}

TEST_CASE("safetensors: the writer rejects what it cannot write") {
    CHECK_THROWS_WITH_AS(to_safetensors({{"__metadata__", scalar(1)}}),
                         doctest::Contains("reserved"), Error);
    CHECK_THROWS_WITH_AS(to_safetensors({{"t", Tensor()}}), doctest::Contains("undefined"), Error);
    CHECK_THROWS_WITH_AS(to_safetensors({{"bad\xff", scalar(1)}}),
                         doctest::Contains("not valid UTF-8"), Error);
    CHECK_THROWS_WITH_AS(to_safetensors({}, {{"k", "\xc3"}}), doctest::Contains("not valid UTF-8"),
                         Error);
}

TEST_CASE("safetensors: loaded tensors are fresh copies that do not require grad") {
    Tensor w = from_vector<float>({1, 2}, {2});
    w.requires_grad_();
    std::string bytes = to_safetensors({{"w", w}});
    SafetensorsFile f = from_safetensors(bytes);
    Tensor u = f.tensors.at("w");
    CHECK_FALSE(u.requires_grad());
    CHECK(u.is_leaf());
    CHECK_FALSE(u.storage_ptr() == w.storage_ptr());
    SafetensorsFile g = from_safetensors(bytes);
    CHECK_FALSE(g.tensors.at("w").storage_ptr() == u.storage_ptr());
    u.fill_(5.0);
    CHECK(w.to_vector<float>() == std::vector<float>{1, 2});
    CHECK(g.tensors.at("w").to_vector<float>() == std::vector<float>{1, 2});
}
