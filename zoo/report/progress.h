#pragma once
// A progress line for long work (the feature network's training, drawing samples, extracting
// features), on stderr: on a terminal one line redrawn in place at most five times a second;
// in a log, a plain line at every tenth of the work, with no carriage returns or escape codes.
// (The trainer's own progress line, with its losses and ETA, is in zoo/train/trainer.cpp.)
#include <chrono>
#include <cstdint>
#include <string>

namespace zg::zoo {

class ProgressLine {
public:
    // `what` names the work ("drawing samples"); `total` counts its items. A disabled line
    // prints nothing.
    ProgressLine(std::string what, int64_t total, bool enabled = true);
    ~ProgressLine() { finish(); }
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    // `done` of the total items so far; `detail` follows the count ("epoch 1.50  loss 0.031").
    void update(int64_t done, const std::string& detail = "");
    // Ends a redrawn line with a newline; called by the destructor too.
    void finish();

private:
    std::string what_;
    int64_t total_;
    bool enabled_, tty_, open_ = false;
    int64_t tenths_shown_ = 0;
    double last_draw_ = -1;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace zg::zoo
