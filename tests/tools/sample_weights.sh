#!/usr/bin/env bash
# sample_weights.sh ZOOGRAD NETG: `zoograd sample --weights` on a bare pytorch/examples netG
# state dict (tests/fixtures/dcgan_netG_32.safetensors: 32x32x1, nz 16, ngf 8) writes a grid,
# an array and a directory of the right shapes, and the same seed gives the same samples.
set -u
zoograd=$1
netg=$2
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

arch=(--weights "$netg" --model dcgan --image-size 32 --nz 16 --ngf 8 --channels 1)
"$zoograd" sample "${arch[@]}" --n 6 --seed 3 --out "$tmp/grid.png" || fail "sample to .png"
expect_png "$tmp/grid.png" "104 70 1"  # 3 columns × 2 rows of 32 px with 2 px borders
"$zoograd" sample "${arch[@]}" --n 6 --seed 3 --out "$tmp/a.npy" || fail "sample to .npy"
expect_npy_images "$tmp/a.npy" "6,1,32,32"
"$zoograd" sample "${arch[@]}" --n 6 --seed 3 --out "$tmp/b.npy" >/dev/null
cmp -s "$tmp/a.npy" "$tmp/b.npy" || fail "the same --seed gave different samples"
"$zoograd" sample "${arch[@]}" --n 6 --seed 4 --out "$tmp/c.npy" >/dev/null
cmp -s "$tmp/a.npy" "$tmp/c.npy" && fail "--seed 3 and --seed 4 gave the same samples"
"$zoograd" sample "${arch[@]}" --n 3 --out "$tmp/dir" || fail "sample to a directory"
expect_png_dir "$tmp/dir" 3 "32 32 1"
echo "ok"
