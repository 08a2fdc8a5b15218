// POSITIVE and NONNEGATIVE checks of number flags (commands.h), with messages a person reads.
#include <cmath>

#include "tools/cli/commands.h"

namespace zg::tools {

namespace {

// A check that `text` is a number for which `ok` holds; `want` says what it must be.
CLI::Validator number_check(bool (*ok)(double), const std::string& want, const std::string& name) {
    return CLI::Validator(
        [ok, want](std::string& text) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(text, v) || std::isnan(v))
                return "'" + text + "' is not a number";
            return ok(v) ? "" : "must be " + want + ", got " + text;
        },
        name);
}

}  // namespace

const CLI::Validator& positive() {
    static const CLI::Validator check =
        number_check([](double v) { return v > 0; }, "positive", "POSITIVE");
    return check;
}

const CLI::Validator& non_negative() {
    static const CLI::Validator check =
        number_check([](double v) { return v >= 0; }, "0 or more", "NONNEGATIVE");
    return check;
}

}  // namespace zg::tools
