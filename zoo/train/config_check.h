#pragma once
// The one door for run configs read from files: a run's config.json (--resume), a --config file
// and the config a checkpoint carries (sample, interp, eval, resume). Each value is held against
// the kind of its flag's default, so a hand edit or a corrupt file is an error naming the file
// and the key; past this door the trainer and the models read typed values and can trust them.
#include <string>

#include "engine/io/json_reader.h"
#include "nn/checkpoint.h"
#include "zoo/gan.h"

namespace zg::zoo {

// `value` (the key `key` of some file) as the flag whose default is `def` takes it: true or
// false, an integer (1e3 becomes 1000; 2.5 is refused), a number or text; --sample-every takes
// an integer or "auto", and keys ending in "seed" a non-negative integer.
Json checked_value(const JsonReader& value, const Json& def, const std::string& key);

// A run config read from `source` (named in messages): a JSON object whose "model" names a zoo
// model, every flag of that model of its default's kind (a flag the model gained after the run
// was saved takes its default), and what the run records about itself (channels, num_classes)
// well formed. Keys that are no flag are kept as they are.
Json checked_run_config(const Json& config, const std::string& source);

// The config a training checkpoint carries, checked as above; channels is required (sample
// and eval rebuild G from it).
Json checkpoint_config(const nn::Checkpoint& ck, const std::string& path);

}  // namespace zg::zoo
