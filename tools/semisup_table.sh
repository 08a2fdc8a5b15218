#!/usr/bin/env bash
# The results tables of docs/SGAN.md and docs/IMPROVED_GAN.md: a semi-supervised model on MNIST
# against `--supervised-only` (the same D trained on the same labelled examples alone), for each
# number of labels and label seed.
#
#   tools/semisup_table.sh MODEL [ZOOGRAD] [OUT_DIR]
#       e.g. tools/semisup_table.sh sgan build/zoograd runs/sgan
#            tools/semisup_table.sh improved_gan build/zoograd runs/improved_gan
#   env: LABELS ("100 1000"), SEEDS label seeds ("1 2 3"), EPOCHS of each GAN run (sgan 8,
#        improved_gan 100), SUP_STEPS of each supervised-only run (sgan 2000, improved_gan
#        3000), THREADS per run (1), JOBS in parallel (1)
# sgan is evaluated every half epoch, improved_gan every epoch, supervised-only every 250 steps,
# on the 10,000 test images. The table gives each run's last and best test accuracy and a mean
# ± standard deviation row per number of labels; finished runs are kept, interrupted ones
# resumed (running it again only trains what is missing), ONLY_TABLE=1 prints what exists.
set -euo pipefail
MODEL=${1:?usage: tools/semisup_table.sh sgan|improved_gan [ZOOGRAD] [OUT_DIR]}
ZG=$(realpath "${2:-build/zoograd}")
OUT=${3:-runs/$MODEL}
case "$MODEL" in
  # steps per epoch = 60,000 / batch size; GAN evaluations and checkpoints every EVAL steps
  sgan) PER_EPOCH=937 EVAL=469 SAMPLE=0 EPOCHS=${EPOCHS:-8} SUP_STEPS=${SUP_STEPS:-2000} ;;
  improved_gan) PER_EPOCH=600 EVAL=600 SAMPLE=6000 EPOCHS=${EPOCHS:-100} SUP_STEPS=${SUP_STEPS:-3000} ;;
  *)
    echo "semisup_table.sh: MODEL must be sgan or improved_gan, got '$MODEL'" >&2
    exit 2
    ;;
esac
LABELS=${LABELS:-"100 1000"}
SEEDS=${SEEDS:-"1 2 3"}
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
    "$ZG" train "$MODEL" --data mnist --threads "$THREADS" --out "$dir" "$@" >"$dir.log" 2>&1
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
      run_one "$OUT/$MODEL-l$k-s$s" $((EPOCHS * PER_EPOCH)) --labels "$k" --label-seed "$s" \
        --epochs "$EPOCHS" --eval-every $EVAL --checkpoint-every $EVAL --log-every $EVAL \
        --sample-every $SAMPLE &
      wait_for_slot
      run_one "$OUT/sup-l$k-s$s" "$SUP_STEPS" --supervised-only --labels "$k" --label-seed "$s" \
        --steps "$SUP_STEPS" --eval-every 250 --checkpoint-every 0 --log-every 250 \
        --sample-every 0 &
    done
  done
  wait
fi

# "last | best | time" of a run's test_acc, in %; the GAN's at its epoch, the baseline's at its
# step (its "epochs" count the unlabelled loader it does not use).
acc() {
  local f="$1/metrics.jsonl" at=$2
  [ -f "$f" ] || {
    echo "- | - | -"
    return
  }
  jq -rs --arg at "$at" '[.[] | select(.test_acc != null)] as $e | def pct: . * 10000 | round / 100;
    if ($e | length) == 0 then "- | - | -" else
    ($e | max_by(.test_acc)) as $b |
    "\($e[-1].test_acc | pct)% at \($at) \($e[-1][$at] * 10 | round / 10) | \($b.test_acc | pct)% at \($at) \($b[$at] * 10 | round / 10) | \($e[-1].time_s | round) s" end' "$f"
}
# The last test_acc of a run in %, or nothing.
last_acc() {
  [ -f "$1/metrics.jsonl" ] || return 0
  jq -rs '[.[] | select(.test_acc != null)] | if length > 0 then .[-1].test_acc * 100 else empty end' \
    "$1/metrics.jsonl"
}
# "mean% ± std%" (sample standard deviation) of the numbers on stdin.
mean_std() {
  awk '{ x[NR] = $1; s += $1 } END {
    if (NR == 0) { print "-"; exit }
    m = s / NR; v = 0; for (i = 1; i <= NR; ++i) v += (x[i] - m) ^ 2
    if (NR > 1) printf "%.2f%% ± %.2f%% (%d seeds)", m, sqrt(v / (NR - 1)), NR
    else printf "%.2f%% (1 seed)", m }'
}

echo "| labels | label seed | $MODEL: last | $MODEL: best | $MODEL: time | supervised-only: last | supervised-only: best | supervised-only: time |"
echo "|---|---|---|---|---|---|---|---|"
for k in $LABELS; do
  for s in $SEEDS; do
    echo "| $k | $s | $(acc "$OUT/$MODEL-l$k-s$s" epoch) | $(acc "$OUT/sup-l$k-s$s" step) |"
  done
  gan=$(for s in $SEEDS; do last_acc "$OUT/$MODEL-l$k-s$s"; done | mean_std)
  sup=$(for s in $SEEDS; do last_acc "$OUT/sup-l$k-s$s"; done | mean_std)
  echo "| $k | mean ± std of last | $gan | | | $sup | | |"
done
