#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace zg {

// The one error type of zoograd: what failed, where, and what to do about it. Thrown for every
// user mistake (wrong shapes, bad files, misuse of autograd); the CLI prints its message.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}
}  // namespace detail

}  // namespace zg

// ZG_CHECK(cond, "op: ", a, " expected ", b): throws zg::Error with the pieces streamed together.
#define ZG_CHECK(cond, ...)                                                \
    do {                                                                   \
        if (!(cond)) throw ::zg::Error(::zg::detail::concat(__VA_ARGS__)); \
    } while (0)
