#!/usr/bin/env bash
# train_sample_interp.sh ZOOGRAD: a few-step `zoograd train dcgan` on a tiny IDX set made here
# writes a complete run directory; `sample` from its checkpoint writes a grid, an array and a
# directory; `interp` writes a grid of rows × steps. Each takes the run directory in place of
# the checkpoint file, and so does `train --resume` (which refuses a checkpoint but the latest). A run without a G (sgan --supervised-only)
# prints no G scalars. With a --minutes budget shorter than the run, the ETA is the budget's. On
# a terminal (script(1) gives it one) the progress line is redrawn in place, with a bar and a
# percentage, every second even when --log-every is far off.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 16

"$zoograd" train dcgan --data mnist --data-root "$tmp/data" --steps 3 --batch-size 8 --nz 16 \
  --ngf 8 --ndf 8 --threads 1 --seed 5 --n 4 --log-every 1 --checkpoint-every 3 --out "$tmp/run" ||
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
grep -q '"loss_d":\[\[1,' "$run/report.html" || fail "report.html has no loss curve"

ck=$run/checkpoints/latest.safetensors
"$zoograd" sample --checkpoint "$ck" --n 5 --out "$tmp/grid.png" || fail "sample to .png"
expect_png "$tmp/grid.png" "104 70 1"  # 3 columns × 2 rows
"$zoograd" sample --checkpoint "$ck" --n 5 --out "$tmp/s.npy" || fail "sample to .npy"
expect_npy_images "$tmp/s.npy" "5,1,32,32"
"$zoograd" sample --checkpoint "$ck" --n 2 --out "$tmp/dir" || fail "sample to a directory"
expect_png_dir "$tmp/dir" 2 "32 32 1"
"$zoograd" interp --checkpoint "$ck" --rows 2 --per-row 4 --out "$tmp/interp.png" || fail "interp"
expect_png "$tmp/interp.png" "138 70 1"  # 4 per row × 2 rows
"$zoograd" interp --checkpoint "$ck" --rows 1 --per-row 3 --linear --out "$tmp/lin.npy" ||
  fail "interp --linear to .npy"
expect_npy_images "$tmp/lin.npy" "3,1,32,32"
"$zoograd" sample --checkpoint "$run" --n 5 --device cpu --out "$tmp/from_dir.npy" ||
  fail "sample --checkpoint RUN_DIR --device cpu"
cmp -s "$tmp/s.npy" "$tmp/from_dir.npy" || fail "sample from the run directory differs from its latest checkpoint"
"$zoograd" interp --checkpoint "$run" --rows 1 --per-row 3 --threads 1 --out "$tmp/i.png" ||
  fail "interp --checkpoint RUN_DIR --threads 1"
out=$("$zoograd" train --resume "$run/checkpoints/step_000003.safetensors" --steps 4 2>&1) &&
  fail "resume from an earlier checkpoint was accepted"
grep -q "continues from its latest checkpoint" <<<"$out" || fail "resume from step_000003: $out"
"$zoograd" train --resume "$ck" --steps 4 --threads 1 >"$tmp/resume.log" 2>&1 ||
  fail "train --resume LATEST_CHECKPOINT: $(cat "$tmp/resume.log")"
tail -n1 "$run/metrics.jsonl" | grep -Eq '"step":4[,}]' || fail "the resumed run did not reach step 4"

# The progress line shows only what the model reports: sgan --supervised-only trains no G.
"$zoograd" train sgan --supervised-only --data mnist --data-root "$tmp/data" --labels 10 \
  --steps 2 --batch-size 8 --ndf 8 --threads 1 --log-every 1 --sample-every 0 \
  --checkpoint-every 0 --out "$tmp/sup" >"$tmp/sup.log" 2>&1 || fail "sgan --supervised-only: $(cat "$tmp/sup.log")"
line=$(grep '^step 2/2' "$tmp/sup.log")
[[ $line == *loss_D* && $line != *loss_G* && $line != *"D(x)"* ]] ||
  fail "supervised-only progress line: $line"
# 2000 steps would take far longer than the budget of 0.01 minutes, which the ETA shows.
"$zoograd" train dcgan --data mnist --data-root "$tmp/data" --steps 2000 --minutes 0.01 \
  --batch-size 8 --nz 16 --ngf 8 --ndf 8 --threads 1 --log-every 1 --sample-every 0 \
  --checkpoint-every 0 --out "$tmp/budget" >"$tmp/budget.log" 2>&1 ||
  fail "train --minutes: $(cat "$tmp/budget.log")"
grep -q '^step 1/2000 .*ETA [0-9:]* (--minutes)' "$tmp/budget.log" ||
  fail "the ETA is not the --minutes budget's: $(head -n2 "$tmp/budget.log")"
script -qec "'$zoograd' train dcgan --data mnist --data-root '$tmp/data' --steps 100000 \
  --minutes 0.05 --batch-size 8 --nz 16 --ngf 8 --ndf 8 --threads 1 --log-every 1000000 \
  --sample-every 0 --checkpoint-every 0 --out '$tmp/tty'" /dev/null >"$tmp/tty.log" 2>&1 ||
  fail "train on a terminal: $(cat "$tmp/tty.log")"
redraws=$(grep -o $'\r\[[#.]*\] step [0-9]*/100000 ([0-9.]*%)' "$tmp/tty.log" | wc -l)
[ "$redraws" -ge 2 ] || fail "expected the progress line redrawn each second, got $redraws: $(cat -v "$tmp/tty.log")"
echo "ok"
