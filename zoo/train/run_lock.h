#pragma once
// An exclusive lock on a run directory for the life of a training process: a second `train`
// on the same --out or --resume is refused with the first one's pid, instead of the two
// interleaving one run's files. The lock is flock(2) on RUN/.lock, so the kernel drops it when
// the process ends in any way (kill -9 included) and a stale lock file never blocks a resume.
#include <string>

namespace zg::zoo {

class RunLock {
public:
    // Creates `dir` if needed and takes its lock; throws a zg::Error naming the process that
    // holds it.
    explicit RunLock(const std::string& dir);
    ~RunLock();
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;

    // The lock file's name inside a run directory (not part of the run: an otherwise empty
    // directory with only this file in it counts as empty).
    static constexpr const char* file_name = ".lock";

private:
    int fd_ = -1;
};

}  // namespace zg::zoo
