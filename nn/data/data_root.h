#pragma once
// Where the named data sets (mnist/, fashion/) are found. `--data-root DIR` names the place; when
// it is not given, zoograd looks where the data is usually put, so `--data mnist` works from
// any directory once `make data` has run:
//   1. $ZOOGRAD_DATA (where tools/data.sh writes when it is set),
//   2. ./data (the current directory's),
//   3. the data/ folder of the source tree zoograd was built from (where `make data` writes),
//   4. $XDG_DATA_HOME/zoograd, or ~/.local/share/zoograd (a per-user place for the data).
#include <string>
#include <vector>

namespace zg::nn {

// The places searched for a data set, in order, each with what it comes from (for errors and
// docs): {"$ZOOGRAD_DATA", "/srv/data"}, {"./data", "data"}, ...; unset ones are left out.
struct DataRootCandidate {
    std::string origin;  // "$ZOOGRAD_DATA", "./data", "the source tree", "$XDG_DATA_HOME/zoograd"
    std::string path;
};
std::vector<DataRootCandidate> data_root_candidates();

// Whether the data set `name` lives under a data root (mnist and fashion do; ring8, grid25 and
// image folders do not).
bool uses_data_root(const std::string& name);

// The directory holding the folder `name` (e.g. "mnist"): `given` itself when it is not empty
// (the user chose it; a missing set there is reported by the loader), else the first candidate
// that has `name`/ in it. Throws when none has, naming every place looked and how to fetch it.
std::string find_data_root(const std::string& given, const std::string& name);

}  // namespace zg::nn
