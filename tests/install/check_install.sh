#!/usr/bin/env bash
# Installs the built tree into a scratch prefix, then configures, builds and runs the example
# project of docs/WRITING_A_LAYER.md against it, as a user of `make install` would.
set -euo pipefail
build_dir=$1 source_dir=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$source_dir/docs/examples/custom_layer" -B "$scratch/build" \
      -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" -j2 | grep -E "error|warning" || true
"$scratch/build/custom_layer_example"
