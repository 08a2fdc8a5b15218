// Atomic whole-file writes (atomic_file.h).
#include "engine/io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "engine/error.h"

namespace zg {
namespace {

// Closes an fd on scope exit unless released.
struct FdGuard {
    int fd = -1;
    ~FdGuard() {
        if (fd >= 0) ::close(fd);
    }
};

std::string parent_dir(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// ZG_FAIL_WRITE=N: whether this call, counted from 1, is the one to fail.
bool injected_failure() {
    static const long fail_at = [] {
        const char* v = std::getenv("ZG_FAIL_WRITE");
        return v ? std::atol(v) : 0L;
    }();
    static std::atomic<long> calls{0};
    return fail_at > 0 && ++calls == fail_at;
}

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
    throw WriteError("cannot write " + path + ": " + what + ": " + std::strerror(err) + " (" +
                     path + " is left as it was" + (err == ENOSPC ? "; free some disk space" : "") +
                     ")");
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
    const char* p = bytes.data();
    size_t n = bytes.size();
    while (n > 0) {
        const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail(path, "writing its temporary", errno);
        p += w;
        n -= (size_t)w;
    }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces) {
    const std::string tmp = path + ".tmp";
    FdGuard f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f.fd < 0) fail(path, "cannot create " + tmp, errno);
    try {
        if (injected_failure()) fail(path, "writing its temporary (ZG_FAIL_WRITE)", ENOSPC);
        for (std::string_view piece : pieces) write_all(f.fd, piece, path);
        if (::fsync(f.fd) != 0) fail(path, "fsync of its temporary", errno);
        const int fd = f.fd;
        f.fd = -1;
        if (::close(fd) != 0) fail(path, "closing its temporary", errno);
        if (::rename(tmp.c_str(), path.c_str()) != 0) fail(path, "renaming " + tmp, errno);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    // The rename is durable once the directory entry is on disk.
    const std::string dir = parent_dir(path);
    FdGuard d;
    d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d.fd < 0 || ::fsync(d.fd) != 0)
        throw WriteError(path + " was written, but syncing its directory " + dir +
                         " failed: " + std::strerror(errno));
}

}  // namespace zg
