#pragma once
// Every whole file zoograd writes (checkpoints, config.json, report.html, sample grids and
// arrays) goes through here, so a reader or a crash sees either the old file or the whole new
// one, and a full disk is an error naming the file instead of a file cut short.
#include <string>
#include <string_view>
#include <vector>

#include "engine/error.h"

namespace zg {

// A file that could not be written (a full disk, a missing or read-only directory): unlike an
// error in what was to be written, it stops a training run wherever it happens.
struct WriteError : Error {
    using Error::Error;
};

// Writes `pieces`, in order, to PATH.tmp, fsyncs it, renames it over PATH and fsyncs the
// directory. On any failure (a full disk, a missing directory) it throws a WriteError naming
// PATH and the system's reason, removes the temporary and leaves PATH as it was.
//
// For tests, the environment variable ZG_FAIL_WRITE=N makes the N-th call of the process fail
// as a full disk would (ENOSPC), so a test can check what a run leaves behind without a small
// file system to fill.
void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces);

}  // namespace zg
