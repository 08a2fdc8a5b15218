// The run directory's lock (run_lock.h).
#include "zoo/train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "engine/error.h"

namespace zg::zoo {

RunLock::RunLock(const std::string& dir) {
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/" + file_name;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ZG_CHECK(fd_ >= 0, path, ": cannot open the run's lock file: ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char pid[32] = {};
        const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
        ::close(fd_);
        fd_ = -1;
        ZG_CHECK(err == EWOULDBLOCK, path, ": cannot lock the run: ", std::strerror(err));
        throw Error(dir + " is in use by another zoograd process" +
                    (n > 0 ? " (pid " + std::string(pid, n) + ")" : std::string()) +
                    ": wait for it to finish or stop it, or train into another --out");
    }
    // Whoever holds the lock writes its pid, for the message above.
    const std::string mine = std::to_string(::getpid());
    const bool recorded = ::ftruncate(fd_, 0) == 0 &&
                          ::pwrite(fd_, mine.data(), mine.size(), 0) == (ssize_t)mine.size();
    (void)recorded;  // the pid is only for the message; the lock itself is held
}

RunLock::~RunLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace zg::zoo
