#!/usr/bin/env bash
# progan_cli.sh ZOOGRAD: `zoograd train progan` on a tiny IDX set grows 4 → 8 → 16 and logs its
# phase; `sample` draws at the resolution reached, and `--resolution` below it, refusing one
# above it.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 40

"$zoograd" train progan --data mnist --data-root "$tmp/data" --image-size 16 --nz 8 \
  --fmap-base 32 --fmap-max 8 --stable-kimg 0.016 --fade-kimg 0.016 --total-kimg 0.08 \
  --batch-sizes 4:8,16:4 --threads 1 --log-every 1 --n 4 --out "$tmp/run" >"$tmp/log" 2>&1 ||
  fail "train progan exited with $?: $(cat "$tmp/log")"
grep -q 'resolution 16' "$tmp/log" || fail "the progress line shows no resolution 16: $(tail -3 "$tmp/log")"
grep -q '"alpha":0\.[0-9]' "$tmp/run/metrics.jsonl" || fail "metrics.jsonl logs no fade"
ck=$tmp/run/checkpoints/latest.safetensors
"$zoograd" sample --checkpoint "$ck" --ema --n 4 --out "$tmp/full.npy" >/dev/null || fail "sample"
expect_npy_shape() { [ "$(npy_shape "$1")" = "$2" ] || fail "$1 is $(npy_shape "$1"), expected $2"; }
expect_npy_shape "$tmp/full.npy" "4,1,16,16"
"$zoograd" sample --checkpoint "$ck" --resolution 8 --n 4 --out "$tmp/eight.npy" >/dev/null ||
  fail "sample --resolution 8"
expect_npy_shape "$tmp/eight.npy" "4,1,8,8"
bash "$(dirname "$0")/expect_error.sh" "has reached 16×16" "$zoograd" sample --checkpoint "$ck" \
  --resolution 32 --out "$tmp/x.npy" || fail "--resolution above the reached one"
bash "$(dirname "$0")/expect_error.sh" "no resolution 12" "$zoograd" sample --checkpoint "$ck" \
  --resolution 12 --out "$tmp/x.npy" || fail "--resolution that is not a power of two"
echo ok
