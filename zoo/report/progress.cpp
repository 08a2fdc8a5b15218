// The progress line of long work (progress.h).
#include "zoo/report/progress.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace zg::zoo {

ProgressLine::ProgressLine(std::string what, int64_t total, bool enabled)
    : what_(std::move(what)),
      total_(total),
      enabled_(enabled),
      tty_(::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

void ProgressLine::update(int64_t done, const std::string& detail) {
    if (!enabled_) return;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const bool last = done >= total_;
    const int64_t tenths = total_ > 0 ? done * 10 / total_ : 10;
    if (tty_ ? !last && s - last_draw_ < 0.2 : tenths <= tenths_shown_ && !last) return;
    if (!tty_ && last && tenths_shown_ > 10) return;  // the final line is already out
    last_draw_ = s;
    tenths_shown_ = last ? 11 : tenths;
    std::fprintf(stderr, "%s%s %lld/%lld (%.0f%%)%s%s  %.0f s%s", tty_ ? "\r" : "", what_.c_str(),
                 (long long)done, (long long)total_, total_ > 0 ? 100.0 * done / total_ : 100.0,
                 detail.empty() ? "" : "  ", detail.c_str(), s, tty_ ? "\033[K" : "\n");
    open_ = tty_;
}

void ProgressLine::finish() {
    if (open_) std::fprintf(stderr, "\n");
    open_ = false;
}

}  // namespace zg::zoo
