#pragma once
// A config key's command-line flag: "n_critic" → "--n-critic". Messages name flags through it,
// so they match what `zoograd train` accepts.
#include <string>

namespace zg::zoo {

inline std::string flag_of(const std::string& key) {
    std::string f = "--" + key;
    for (char& ch : f)
        if (ch == '_') ch = '-';
    return f;
}

}  // namespace zg::zoo
