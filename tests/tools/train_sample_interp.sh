#!/usr/bin/env bash
# train_sample_interp.sh ZOOGRAD: a few-step `zoograd train dcgan` on a tiny IDX set made here
# writes a complete run directory; `sample` from its checkpoint writes a grid, an array and a
# directory; `interp` writes a grid of rows × steps. A run without a G (sgan --supervised-only)
# prints no G scalars.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 16

"$zoograd" train dcgan --data mnist --data-root "$tmp/data" --steps 3 --batch-size 8 --nz 16 \
  --ngf 8 --ndf 8 --threads 1 --seed 5 --n-samples 4 --log-every 1 --checkpoint-every 3 --out "$tmp/run" ||
  fail "train exited with $?"
run=$tmp/run
for f in config.json metrics.jsonl report.html checkpoints/latest.safetensors \
  checkpoints/step_000003.safetensors; do
  [ -s "$run/$f" ] || fail "the run directory has no $f"
done
expect_png "$run/samples/step_000003.png" "138 36 1"  # one row of 4: 32 px, 2 px borders
grep -Eq '"seed": *5([^0-9]|$)' "$run/config.json" || fail "config.json does not hold the seed: $(cat "$run/config.json")"
[ "$(wc -l <"$run/metrics.jsonl")" -eq 3 ] || fail "metrics.jsonl: expected 3 lines (--log-every 1)"
tail -n1 "$run/metrics.jsonl" | grep -Eq '^\{.*"loss_d":.*"step":3[,}]' ||
  fail "metrics.jsonl's last line: $(tail -n1 "$run/metrics.jsonl")"
grep -q '<svg' "$run/report.html" || fail "report.html has no loss curve"

ck=$run/checkpoints/latest.safetensors
"$zoograd" sample --checkpoint "$ck" --n 5 --out "$tmp/grid.png" || fail "sample to .png"
expect_png "$tmp/grid.png" "104 70 1"  # 3 columns × 2 rows
"$zoograd" sample --checkpoint "$ck" --n 5 --out "$tmp/s.npy" || fail "sample to .npy"
expect_npy_images "$tmp/s.npy" "5,1,32,32"
"$zoograd" sample --checkpoint "$ck" --n 2 --out "$tmp/dir" || fail "sample to a directory"
expect_png_dir "$tmp/dir" 2 "32 32 1"
"$zoograd" interp --checkpoint "$ck" --rows 2 --steps 4 --out "$tmp/interp.png" || fail "interp"
expect_png "$tmp/interp.png" "138 70 1"  # 4 steps × 2 rows
"$zoograd" interp --checkpoint "$ck" --rows 1 --steps 3 --linear --out "$tmp/lin.npy" ||
  fail "interp --linear to .npy"
expect_npy_images "$tmp/lin.npy" "3,1,32,32"

# The progress line shows only what the model reports: sgan --supervised-only trains no G.
"$zoograd" train sgan --supervised-only --data mnist --data-root "$tmp/data" --labels 10 \
  --steps 2 --batch-size 8 --ndf 8 --threads 1 --log-every 1 --sample-every 0 \
  --checkpoint-every 0 --out "$tmp/sup" >"$tmp/sup.log" 2>&1 || fail "sgan --supervised-only: $(cat "$tmp/sup.log")"
line=$(grep '^step 2/2' "$tmp/sup.log")
[[ $line == *loss_D* && $line != *loss_G* && $line != *"D(x)"* ]] ||
  fail "supervised-only progress line: $line"
echo "ok"
