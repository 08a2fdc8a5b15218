// safetensors reading and writing. The reader treats every file as hostile: the header length is
// checked against the real size before anything is allocated, the JSON header is parsed by a
// streaming (SAX) handler that accepts exactly the safetensors schema and stops at the first
// thing out of place, and the tensors' byte ranges must tile the data section exactly. So no
// input makes it allocate more than the input's own size, read out of bounds, or crash.
#include "engine/io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <vector>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace zg {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader/writer copies bytes as they are");

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit
// No real tensor has more dimensions (NumPy allows 64); the cap stops a header of "[0,0,0,...]"
// from growing into shape vectors many times its size.
constexpr size_t kMaxRank = 64;
constexpr const char* kReadable = "zoograd reads F32, F64 and I32";

// ---- dtypes ----

const char* st_dtype_name(DType t) {
    switch (t) {
        case DType::f32:
            return "F32";
        case DType::f64:
            return "F64";
        case DType::i32:
            return "I32";
    }
    return "?";
}

// The reference writer sorts by descending dtype alignment (its enum order: ... I32 < U32 < F32
// < F64 ...), then by name.
int st_dtype_rank(DType t) {
    switch (t) {
        case DType::f64:
            return 2;
        case DType::f32:
            return 1;
        case DType::i32:
            return 0;
    }
    return -1;
}

bool is_known_st_dtype(const std::string& s) {
    static const char* const known[] = {
        "BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16",     "BF16",
        "I32",  "U32", "F32", "F64",     "I64",     "U64",     "C64", "F4",  "F6_E2M3", "F6_E3M2"};
    return std::any_of(std::begin(known), std::end(known), [&](const char* k) { return s == k; });
}

// ---- error messages ----

// A name from the file, quoted for a message: control bytes escaped, long names cut short.
std::string quote(std::string_view s) {
    std::string out = "'";
    size_t n = std::min<size_t>(s.size(), 120);
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += (char)c;
        }
    }
    if (n < s.size()) out += "...";
    return out + "'";
}

template <class... Args>
[[noreturn]] void fail(const std::string& what, const Args&... args) {
    throw Error(detail::concat("safetensors ", quote(what), ": ", args...));
}

std::string sys_error() {
    return std::strerror(errno);
}

// ---- byte sources: the whole file in memory, or an open file read with pread ----

class Source {
public:
    virtual ~Source() = default;
    virtual uint64_t size() const = 0;
    // Copies [offset, offset + n) into dst; callers have checked it lies within size().
    virtual void read(uint64_t offset, void* dst, size_t n) = 0;
};

class MemorySource : public Source {
public:
    explicit MemorySource(std::string_view b) : b_(b) {}
    uint64_t size() const override { return b_.size(); }
    void read(uint64_t offset, void* dst, size_t n) override {
        if (n) std::memcpy(dst, b_.data() + offset, n);
    }

private:
    std::string_view b_;
};

class FileSource : public Source {
public:
    explicit FileSource(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block
        if (fd_ < 0) fail(path, "cannot open for reading: ", sys_error());
        struct stat st;
        std::string problem;
        if (::fstat(fd_, &st) != 0)
            problem = "cannot stat: " + sys_error();
        else if (!S_ISREG(st.st_mode))
            problem = "not a regular file (a directory or a device?)";
        if (!problem.empty()) {
            ::close(fd_);
            fail(path, problem);
        }
        size_ = (uint64_t)st.st_size;
    }
    ~FileSource() override {
        if (fd_ >= 0) ::close(fd_);
    }
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;
    uint64_t size() const override { return size_; }
    void read(uint64_t offset, void* dst, size_t n) override {
        char* p = static_cast<char*>(dst);
        while (n > 0) {
            ssize_t got = ::pread(fd_, p, std::min<size_t>(n, size_t(1) << 30), (off_t)offset);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail(path_, "read failed at byte ", offset, ": ", sys_error());
            if (got == 0)
                fail(path_, "file ended at byte ", offset,
                     " while reading (was it truncated while being read?)");
            p += got;
            offset += (uint64_t)got;
            n -= (size_t)got;
        }
    }

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

// ---- the header: a SAX handler that accepts exactly the safetensors schema ----

struct Entry {
    std::string name;
    DType dtype = DType::f32;
    Shape shape;
    uint64_t begin = 0, end = 0;
    uint64_t nbytes = 0;  // numel × element size, computed without overflow
};

using json = nlohmann::json;

class HeaderHandler : public nlohmann::json_sax<json> {
public:
    std::vector<Entry> entries;
    std::map<std::string, std::string> metadata;
    std::string error;          // set when a callback returns false
    size_t error_position = 0;  // for JSON syntax errors: chars read so far
    bool syntax_error = false;

    bool null() override { return value("null"); }
    bool boolean(bool) override { return value("a boolean"); }
    bool number_integer(number_integer_t v) override {
        if (v >= 0) return number_unsigned((number_unsigned_t)v);
        if (state_ == State::shape)
            return bad("tensor ", quote(cur_.name), ": negative dimension ", v, " in shape");
        if (state_ == State::offsets)
            return bad("tensor ", quote(cur_.name), ": negative value ", v, " in data_offsets");
        return value("a negative number");
    }
    bool number_unsigned(number_unsigned_t v) override {
        if (state_ == State::shape) {
            if (v > (uint64_t)std::numeric_limits<int64_t>::max())
                return bad("tensor ", quote(cur_.name), ": dimension ", v, " is too large");
            if (cur_.shape.size() == kMaxRank)
                return bad("tensor ", quote(cur_.name), ": shape has more than ", kMaxRank,
                           " dimensions");
            cur_.shape.push_back((int64_t)v);
            return true;
        }
        if (state_ == State::offsets) {
            if (offsets_.size() == 2)
                return bad("tensor ", quote(cur_.name),
                           ": data_offsets has more than 2 values; expected [begin, end]");
            offsets_.push_back(v);
            return true;
        }
        return value("a number");
    }
    bool number_float(number_float_t, const string_t& s) override {
        if (state_ == State::shape)
            return bad("tensor ", quote(cur_.name), ": dimension ", s,
                       " in shape is not a non-negative integer");
        if (state_ == State::offsets)
            return bad("tensor ", quote(cur_.name), ": data_offsets value ", s,
                       " is not a non-negative integer");
        return value("a non-integer number");
    }
    bool string(string_t& s) override {
        if (state_ == State::metadata) {
            metadata[key_] = s;
            return true;
        }
        if (state_ == State::tensor && key_ == "dtype") {
            if (s == "F32")
                cur_.dtype = DType::f32;
            else if (s == "F64")
                cur_.dtype = DType::f64;
            else if (s == "I32")
                cur_.dtype = DType::i32;
            else if (is_known_st_dtype(s))
                return bad("tensor ", quote(cur_.name), " has dtype ", s,
                           ", which zoograd does not read (", kReadable,
                           "; convert the tensor before saving)");
            else
                return bad("tensor ", quote(cur_.name), ": unknown dtype ", quote(s), " (",
                           kReadable, ")");
            return true;
        }
        return value("a string");
    }
    bool binary(binary_t&) override { return value("binary data"); }

    bool start_object(std::size_t) override {
        switch (state_) {
            case State::start:
                state_ = State::root;
                return true;
            case State::root:
                if (key_ == "__metadata__") {
                    state_ = State::metadata;
                } else {
                    state_ = State::tensor;
                    cur_ = Entry{};
                    cur_.name = key_;
                    seen_ = 0;
                }
                return true;
            default:
                return value("an object");
        }
    }
    bool key(string_t& k) override {
        switch (state_) {
            case State::root:
                if (!names_.insert(k).second)
                    return bad("duplicate key ", quote(k), " in the header");
                break;
            case State::metadata:
                if (metadata.count(k)) return bad("duplicate key ", quote(k), " in __metadata__");
                break;
            case State::tensor: {
                int bit = k == "dtype" ? 1 : k == "shape" ? 2 : k == "data_offsets" ? 4 : 0;
                if (!bit)
                    return bad("tensor ", quote(cur_.name), " has unexpected key ", quote(k),
                               " (expected exactly dtype, shape and data_offsets)");
                if (seen_ & bit)
                    return bad("tensor ", quote(cur_.name), " has duplicate key ", quote(k));
                seen_ |= bit;
                break;
            }
            default:
                return bad("unexpected key ", quote(k));
        }
        key_ = k;
        return true;
    }
    bool end_object() override {
        switch (state_) {
            case State::root:
                state_ = State::done;
                return true;
            case State::metadata:
                state_ = State::root;
                return true;
            case State::tensor:
                for (auto [bit, field] : {std::pair{1, "dtype"}, {2, "shape"}, {4, "data_offsets"}})
                    if (!(seen_ & bit))
                        return bad("tensor ", quote(cur_.name), " has no ", field,
                                   " (expected dtype, shape and data_offsets)");
                entries.push_back(std::move(cur_));
                state_ = State::root;
                return true;
            default:
                return bad("unexpected end of object");
        }
    }
    bool start_array(std::size_t) override {
        if (state_ == State::tensor && key_ == "shape") {
            state_ = State::shape;
            return true;
        }
        if (state_ == State::tensor && key_ == "data_offsets") {
            state_ = State::offsets;
            offsets_.clear();
            return true;
        }
        return value("an array");
    }
    bool end_array() override {
        if (state_ == State::shape) {
            state_ = State::tensor;
            return true;
        }
        if (state_ == State::offsets) {
            if (offsets_.size() != 2)
                return bad("tensor ", quote(cur_.name), ": data_offsets has ", offsets_.size(),
                           " values; expected [begin, end]");
            cur_.begin = offsets_[0];
            cur_.end = offsets_[1];
            state_ = State::tensor;
            return true;
        }
        return bad("unexpected end of array");
    }
    bool parse_error(std::size_t position, const std::string&,
                     const nlohmann::detail::exception& ex) override {
        syntax_error = true;
        error_position = position;
        // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 9: ".
        std::string msg = ex.what();
        size_t col = msg.find("column ");
        size_t colon = col == std::string::npos ? col : msg.find(": ", col);
        error = colon == std::string::npos ? msg : msg.substr(colon + 2);
        return false;
    }

private:
    enum class State { start, root, tensor, shape, offsets, metadata, done };
    State state_ = State::start;
    std::string key_;  // the key whose value comes next (root, tensor or metadata level)
    Entry cur_;
    int seen_ = 0;  // which of dtype/shape/data_offsets the current tensor has had
    std::vector<uint64_t> offsets_;
    std::set<std::string> names_;

    template <class... Args>
    bool bad(const Args&... args) {
        error = detail::concat(args...);
        return false;
    }
    // A value of the wrong kind (`kind`) where the schema wants something else.
    bool value(const char* kind) {
        switch (state_) {
            case State::start:
                return bad("the header must be a JSON object, found ", kind);
            case State::root:
                if (key_ == "__metadata__")
                    return bad("__metadata__ must be an object of strings, found ", kind);
                return bad("entry ", quote(key_),
                           " must be an object {dtype, shape, data_offsets}, found ", kind);
            case State::metadata:
                return bad("__metadata__ value ", quote(key_), " must be a string, found ", kind);
            case State::tensor:
                if (key_ == "dtype")
                    return bad("tensor ", quote(cur_.name), ": dtype must be a string, found ",
                               kind);
                return bad("tensor ", quote(cur_.name), ": ", key_, " must be an array, found ",
                           kind);
            case State::shape:
                return bad("tensor ", quote(cur_.name),
                           ": shape must hold non-negative integers, found ", kind);
            case State::offsets:
                return bad("tensor ", quote(cur_.name),
                           ": data_offsets must hold two non-negative integers, found ", kind);
            case State::done:
                break;
        }
        return bad("unexpected ", kind, " after the header object");
    }
};

// Byte count of a tensor, or an error if the shape's element count (or bytes) overflows. The
// product of the non-zero dimensions must fit too, since shape arithmetic elsewhere multiplies
// them in any order.
uint64_t checked_nbytes(const std::string& what, const Entry& e) {
    constexpr uint64_t kMax = (uint64_t)std::numeric_limits<int64_t>::max();
    uint64_t nonzero = 1;
    bool empty = false;
    for (int64_t d : e.shape) {
        if (d == 0) {
            empty = true;
            continue;
        }
        if ((uint64_t)d > kMax / nonzero)
            fail(what, "tensor ", quote(e.name), ": shape ", shape_str(e.shape),
                 " has too many elements (the count overflows)");
        nonzero *= (uint64_t)d;
    }
    if (empty) return 0;
    uint64_t size = dtype_size(e.dtype);
    if (nonzero > kMax / size)
        fail(what, "tensor ", quote(e.name), ": shape ", shape_str(e.shape),
             " is too large (its byte count overflows)");
    return nonzero * size;
}

SafetensorsFile read_safetensors(Source& src, const std::string& what) {
    const uint64_t size = src.size();
    if (size < 8)
        fail(what, "the file is ", size, " bytes, too short for the 8-byte header length ",
             "at byte 0 (truncated, or not a safetensors file)");
    unsigned char len[8];
    src.read(0, len, 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
    if (n > kMaxHeader)
        fail(what, "header length ", n, " (bytes 0-7) is over the ", kMaxHeader,
             "-byte limit (corrupt, or not a safetensors file)");
    if (n > size - 8)
        fail(what, "header length ", n,
             " (bytes 0-7) runs past the end of the file: ", "the header would end at byte ", 8 + n,
             " but the file is ", size, " bytes (truncated?)");
    if (n == 0) fail(what, "header length is 0 (bytes 0-7); expected a JSON object at byte 8");

    std::string header(n, '\0');
    src.read(8, header.data(), n);
    if (header[0] != '{') {
        char found[8];
        std::snprintf(found, sizeof found, "0x%02x", (unsigned)(unsigned char)header[0]);
        fail(what, "the header at byte 8 does not start with '{' (found byte ", found,
             "): not a safetensors file");
    }

    // JSON has no raw NUL bytes, and nlohmann's lexer would take one for the end of the input
    // (accepting "{}\0garbage"), so refuse them up front. Writers pad with spaces.
    if (size_t nul = header.find('\0'); nul != std::string::npos)
        fail(what, "the JSON header (bytes 8-", 8 + n - 1, ") has a NUL byte at byte ", 8 + nul,
             " (headers are padded with spaces, not NULs)");

    HeaderHandler h;
    bool ok = json::sax_parse(header, &h, json::input_format_t::json, /*strict=*/true);
    if (!ok) {
        if (h.syntax_error)
            fail(what, "the JSON header (bytes 8-", 8 + n - 1, ") is malformed near byte ",
                 8 + (h.error_position ? h.error_position - 1 : 0), ": ", h.error);
        fail(what, h.error);
    }

    // The tensors' [begin, end) ranges must tile the data section exactly: in order of begin,
    // each starts where the previous ended, and the last ends at the end of the file.
    const uint64_t data_start = 8 + n, data_size = size - data_start;
    auto file_range = [&](uint64_t b, uint64_t e) {
        return detail::concat("data bytes ", b, "-", e, ", file bytes ", data_start + b, "-",
                              data_start + e);
    };
    for (Entry& e : h.entries) {
        e.nbytes = checked_nbytes(what, e);
        if (e.end < e.begin)
            fail(what, "tensor ", quote(e.name), ": data_offsets [", e.begin, ", ", e.end,
                 "] end before they begin");
        if (e.end > data_size)
            fail(what, "tensor ", quote(e.name), ": data_offsets [", e.begin, ", ", e.end,
                 "] run past the end of the data section, which is ", data_size,
                 " bytes (file bytes ", data_start, "-", size, "; truncated?)");
        if (e.end - e.begin != e.nbytes)
            fail(what, "tensor ", quote(e.name), ": ", st_dtype_name(e.dtype), " shape ",
                 shape_str(e.shape), " needs ", e.nbytes, " bytes but data_offsets [", e.begin,
                 ", ", e.end, "] hold ", e.end - e.begin);
    }
    std::vector<const Entry*> order;
    for (const Entry& e : h.entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
    });
    uint64_t pos = 0;
    const Entry* prev = nullptr;
    for (const Entry* e : order) {
        if (e->begin > pos)
            fail(what, "no tensor covers ", file_range(pos, e->begin), " (a hole before tensor ",
                 quote(e->name), "); the offsets must cover the data section without gaps");
        if (e->begin < pos)
            fail(what, "tensor ", quote(e->name), " (", file_range(e->begin, e->end),
                 ") overlaps tensor ", quote(prev->name), " (", file_range(prev->begin, prev->end),
                 ")");
        pos = e->end;
        prev = e;
    }
    if (pos != data_size)
        fail(what, "no tensor covers ", file_range(pos, data_size),
             " at the end of the file (trailing bytes, or wrong data_offsets)");

    // Every check passed: the tensors' bytes add up to at most the file's size.
    SafetensorsFile out;
    out.metadata = std::move(h.metadata);
    for (const Entry& e : h.entries) {
        Tensor t = empty(e.shape, e.dtype);
        if (e.nbytes) src.read(data_start + e.begin, t.raw_data(), e.nbytes);
        out.tensors.emplace(e.name, std::move(t));
    }
    return out;
}

// ---- writing ----

struct Plan {
    std::string head;             // the 8-byte length and the padded JSON header
    std::vector<Tensor> tensors;  // contiguous, in file order
};

Plan plan_safetensors(const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata, const char* op,
                      const std::string& what) {
    std::vector<std::pair<std::string, Tensor>> items;
    for (const auto& [name, t] : tensors) {
        ZG_CHECK(name != "__metadata__", op, " ", quote(what),
                 ": '__metadata__' is reserved and cannot name a tensor");
        ZG_CHECK(t.defined(), op, " ", quote(what), ": tensor ", quote(name), " is undefined");
        ZG_CHECK(t.device() == Device::cpu, op, " ", quote(what), ": tensor ", quote(name),
                 " is on ", device_name(t.device()), "; copy it to the CPU first");
        items.emplace_back(name, t.detach().contiguous());
    }
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
        int ra = st_dtype_rank(a.second.dtype()), rb = st_dtype_rank(b.second.dtype());
        return ra != rb ? ra > rb : a.first < b.first;
    });

    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        auto& m = j["__metadata__"] = nlohmann::ordered_json::object();
        for (const auto& [k, v] : metadata) m[k] = v;
    }
    uint64_t offset = 0;
    Plan plan;
    for (auto& [name, t] : items) {
        uint64_t nbytes = (uint64_t)t.numel() * dtype_size(t.dtype());
        nlohmann::ordered_json info = nlohmann::ordered_json::object();
        info["dtype"] = st_dtype_name(t.dtype());
        info["shape"] = t.shape();
        info["data_offsets"] = {offset, offset + nbytes};
        j[name] = std::move(info);
        offset += nbytes;
        plan.tensors.push_back(std::move(t));
    }
    std::string header;
    try {
        header = j.dump();
    } catch (const nlohmann::json::exception& e) {
        throw Error(detail::concat(op, " ", quote(what),
                                   ": a tensor name or metadata string is not valid UTF-8 (",
                                   e.what(), ")"));
    }
    header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned
    uint64_t n = header.size();
    plan.head.resize(8);
    for (int i = 0; i < 8; ++i) plan.head[i] = (char)((n >> (8 * i)) & 0xff);
    plan.head += header;
    return plan;
}

size_t tensor_nbytes(const Tensor& t) {
    return (size_t)t.numel() * dtype_size(t.dtype());
}

}  // namespace

std::string to_safetensors(const std::map<std::string, Tensor>& tensors,
                           const std::map<std::string, std::string>& metadata) {
    Plan plan = plan_safetensors(tensors, metadata, "to_safetensors", "<memory>");
    size_t total = plan.head.size();
    for (const Tensor& t : plan.tensors) total += tensor_nbytes(t);
    std::string out;
    out.reserve(total);
    out += plan.head;
    for (const Tensor& t : plan.tensors)
        if (size_t nb = tensor_nbytes(t)) out.append(static_cast<const char*>(t.raw_data()), nb);
    return out;
}

SafetensorsFile from_safetensors(std::string_view bytes, const std::string& what) {
    MemorySource src(bytes);
    return read_safetensors(src, what);
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    Plan plan = plan_safetensors(tensors, metadata, "save_safetensors", path);
    std::vector<std::string_view> pieces{plan.head};
    for (const Tensor& t : plan.tensors)
        pieces.emplace_back(static_cast<const char*>(t.raw_data()), tensor_nbytes(t));
    write_file_atomically(path, pieces);
}

SafetensorsFile load_safetensors(const std::string& path) {
    FileSource src(path);
    return read_safetensors(src, path);
}

}  // namespace zg
