#pragma once
// A run named the way a user has it at hand: its directory (runs/dcgan-mnist-...) or one of its
// checkpoint files. `sample`, `interp`, `eval` and `train --resume` take either.
#include <string>

namespace zg::zoo {

// The checkpoint file `ref` names: ref itself when it is a file, RUN/checkpoints/
// latest.safetensors when it is a run directory. Throws naming what is missing.
std::string checkpoint_of(const std::string& ref);

// The run directory `ref` names: ref itself when it is a directory, or the run a checkpoint
// file belongs to (RUN/checkpoints/X.safetensors → RUN). Throws unless it holds config.json.
std::string run_dir_of(const std::string& ref);

}  // namespace zg::zoo
