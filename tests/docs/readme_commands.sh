#!/usr/bin/env bash
# readme_commands.sh ZOOGRAD SOURCE_DIR MIN_LINES: runs every `./build/zoograd ...` line of the
# README's ```sh blocks, in order, on a tiny data set made here, so the README's commands cannot
# drift from the CLI. Fails if a line exits non-zero or if it finds fewer than MIN_LINES lines.
# `make ...` lines are not run. What is changed to make the lines small and self-contained:
#   --data mnist             also gets --data-root of the tiny IDX set (40 images)
#   --data path/to/images    becomes a folder of 16 PNGs sampled from a setup run
#   train                    --epochs N is dropped for --steps 2 (also added where none is
#                            given), with --batch-size 8 --threads 1 --n 4
#   eval                     gets --n 20 --classifier-epochs 1 ($ZOOGRAD_CACHE is private)
#   runs/<run>               the first mnist run the README's lines made
#   netG.safetensors         tests/fixtures/dcgan_netG_32.safetensors, a pytorch/examples netG,
#                            so its architecture flags become the fixture's (32 px, nz 16,
#                            ngf 8, 1 channel)
#   samples.npy              20 samples of the setup run
set -u
zoograd=$1
source_dir=$(cd "$2" && pwd)
min_lines=$3
source "$source_dir/tests/tools/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZOOGRAD_CACHE=$tmp/cache
make_idx_set "$tmp/data" 40

# The README's lines, continuation lines joined and trailing comments dropped.
mapfile -t lines < <(awk '
  /^```sh/ { inblock = 1; next }
  /^```/ { inblock = 0; next }
  inblock {
    line = cont $0; cont = ""
    if (line ~ /\\$/) { sub(/\\$/, "", line); cont = line; next }
    gsub(/[[:space:]]+/, " ", line)
    if (line ~ /^\.\/build\/zoograd /) { sub(/[[:space:]]+#.*$/, "", line); print line }
  }' "$source_dir/README.md")
[ "${#lines[@]}" -ge "$min_lines" ] ||
  fail "${#lines[@]} zoograd lines in README.md's sh blocks, expected at least $min_lines"

# Setup (not README lines): a run whose samples stand in for the user's images and arrays.
cd "$tmp"
"$zoograd" train dcgan --data mnist --data-root "$tmp/data" --steps 1 --batch-size 8 --nz 16 \
  --ngf 8 --ndf 8 --threads 1 --n 4 --out "$tmp/setup" >/dev/null || fail "setup run"
"$zoograd" sample --checkpoint "$tmp/setup/checkpoints/latest.safetensors" --n 16 \
  --out "$tmp/images" >/dev/null || fail "setup: sampling the image folder"
"$zoograd" sample --checkpoint "$tmp/setup/checkpoints/latest.safetensors" --n 20 \
  --out samples.npy >/dev/null || fail "setup: sampling samples.npy"
cp "$source_dir/tests/fixtures/dcgan_netG_32.safetensors" netG.safetensors

for line in "${lines[@]}"; do
  cmd=${line#./build/zoograd }
  cmd=${cmd//--data mnist/--data mnist --data-root $tmp/data}
  cmd=${cmd//--data path\/to\/images/--data $tmp/images}
  cmd=${cmd//--image-size 64 --nz 100 --ngf 64 --channels 3/--image-size 32 --nz 16 --ngf 8 --channels 1}
  if [[ $cmd == *"<run>"* ]]; then
    run=$(ls -d runs/dcgan-mnist-* 2>/dev/null | head -n1)
    [ -n "$run" ] || fail "'$line' needs a run, but no README line made an mnist run before it"
    cmd=${cmd//runs\/<run>/$run}
  fi
  read -ra args <<<"$cmd"
  case ${args[0]} in
    train)
      kept=()
      for ((i = 0; i < ${#args[@]}; ++i)); do
        if [ "${args[i]}" = --epochs ]; then ((++i)); else kept+=("${args[i]}"); fi
      done
      args=("${kept[@]}" --steps 2 --batch-size 8 --threads 1 --n 4) ;;
    eval) args+=(--n 20 --classifier-epochs 1) ;;
  esac
  out=$("$zoograd" "${args[@]}" 2>&1) || fail "README line '$line' (run as: zoograd ${args[*]}) exited with $?: $out"
done
echo "ok: ${#lines[@]} README lines ran"
