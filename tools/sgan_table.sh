#!/usr/bin/env bash
# The results table of docs/SGAN.md: sgan on MNIST against `--supervised-only` on the same
# labelled examples, for each number of labels and label seed.
#
#   tools/sgan_table.sh [ZOOGRAD] [OUT_DIR]     e.g. tools/sgan_table.sh build/zoograd runs/sgan
#   env: LABELS ("100 1000"), SEEDS label seeds ("1 2 3"), EPOCHS of each sgan run (8),
#        SUP_STEPS of each supervised-only run (2000), THREADS per run (1), JOBS in parallel (1)
# Each sgan run evaluates every half epoch, each supervised-only run every 250 steps, on the
# 10,000 test images. The table gives each run's last and best test accuracy; finished runs are
# kept (running it again only trains what is missing), ONLY_TABLE=1 prints what exists.
set -euo pipefail
ZG=$(realpath "${1:-build/zoograd}")
OUT=${2:-runs/sgan}
LABELS=${LABELS:-"100 1000"}
SEEDS=${SEEDS:-"1 2 3"}
EPOCHS=${EPOCHS:-8}
SUP_STEPS=${SUP_STEPS:-2000}
THREADS=${THREADS:-1}
JOBS=${JOBS:-1}
mkdir -p "$OUT"

# One run; a finished one (its last metrics line at the target step) is kept.
run_one() {
  local dir=$1 target=$2
  shift 2
  if [ -f "$dir/metrics.jsonl" ] && tail -n1 "$dir/metrics.jsonl" | grep -q "\"step\":$target[,}]"; then
    return 0
  fi
  if [ -f "$dir/checkpoints/latest.safetensors" ]; then
    "$ZG" train --resume "$dir" --steps "$target" >>"$dir.log" 2>&1
  else
    rm -rf "$dir"
    "$ZG" train sgan --data mnist --threads "$THREADS" --sample-every 0 --out "$dir" "$@" \
      >"$dir.log" 2>&1
  fi
}

# Blocks until fewer than JOBS runs are going.
wait_for_slot() {
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
}

if [ -z "${ONLY_TABLE:-}" ]; then
  for k in $LABELS; do
    for s in $SEEDS; do
      wait_for_slot
      # 60,000 / 64 = 937 steps per epoch; evaluated every half epoch.
      run_one "$OUT/sgan-l$k-s$s" $((EPOCHS * 937)) --labels "$k" --label-seed "$s" \
        --epochs "$EPOCHS" --eval-every 469 --checkpoint-every 469 --log-every 469 &
      wait_for_slot
      run_one "$OUT/sup-l$k-s$s" "$SUP_STEPS" --supervised-only --labels "$k" --label-seed "$s" \
        --steps "$SUP_STEPS" --eval-every 250 --checkpoint-every 0 --log-every 250 &
    done
  done
  wait
fi

# last and best test_acc of a run, in %, and the time of the run
acc() {
  local f="$1/metrics.jsonl"
  [ -f "$f" ] || {
    echo "- | - | -"
    return
  }
  jq -rs '[.[] | select(.test_acc != null)] as $e | if ($e | length) == 0 then "- | - | -" else
    "\($e[-1].test_acc * 10000 | round / 100)% at step \($e[-1].step) | \($e | map(.test_acc) | max * 10000 | round / 100)% | \($e[-1].time_s | round) s" end' "$f"
}
echo "| labels | label seed | sgan: last | sgan: best | sgan: time | supervised-only: last | supervised-only: best | supervised-only: time |"
echo "|---|---|---|---|---|---|---|---|"
for k in $LABELS; do
  for s in $SEEDS; do
    echo "| $k | $s | $(acc "$OUT/sgan-l$k-s$s") | $(acc "$OUT/sup-l$k-s$s") |"
  done
done
