#!/usr/bin/env bash
# The toy benchmark of docs/LOSSES.md: mlpgan on ring8 and grid25 under each loss, without and
# with its usual regularizer, for a fixed number of steps and several seeds; each run's samples
# are scored by `zoograd eval` (modes captured, fraction of high-quality samples, zoo/eval/metrics.h).
#
#   tools/toy_table.sh [ZOOGRAD] [OUT_DIR]     e.g. tools/toy_table.sh build/zoograd runs/toy
#   env: STEPS (default 8000), SEEDS ("1 2 3"), N samples scored (2000), DATASETS ("ring8 grid25"),
#        THREADS per run (1), JOBS runs in parallel (2), FLAGS added to every run
#        ("--lr 1e-3 --lr-decay linear": see docs/LOSSES.md for why)
# Prints a Markdown table (per configuration: modes and high-quality % per seed, and their mean)
# and leaves every run directory, log and score under OUT_DIR. Finished runs are kept: running
# it again only trains what is missing; ONLY_TABLE=1 prints the table of what exists ("-" for
# runs not done).
set -euo pipefail
ZG=$(realpath "${1:-build/zoograd}")
OUT=${2:-runs/toy-table}
STEPS=${STEPS:-8000}
SEEDS=${SEEDS:-"1 2 3"}
N=${N:-2000}
DATASETS=${DATASETS:-"ring8 grid25"}
THREADS=${THREADS:-1}
JOBS=${JOBS:-2}
FLAGS=${FLAGS:-"--lr 1e-3 --lr-decay linear"}
mkdir -p "$OUT"

# name|flags: each loss without a regularizer and with its usual one (R1, Mescheder et al. 2018,
# for the BCE, least-squares and hinge losses). WGAN keeps its weight clipping and WGAN-GP its
# gradient penalty (without it, it would be an unconstrained critic); both take 5 critic steps.
CONFIGS=(
  "minimax|--loss minimax"            "minimax+r1|--loss minimax --reg r1"
  "ns|--loss ns"                      "ns+r1|--loss ns --reg r1"
  "lsgan|--loss lsgan"                "lsgan+r1|--loss lsgan --reg r1"
  "hinge|--loss hinge"                "hinge+r1|--loss hinge --reg r1"
  "rsgan|--loss rsgan"                "rsgan+r1|--loss rsgan --reg r1"
  "ragan|--loss ragan"                "ragan+r1|--loss ragan --reg r1"
  "ralsgan|--loss ralsgan"            "ralsgan+r1|--loss ralsgan --reg r1"
  "wgan (clip)|--loss wgan --n-critic 5"
  "wgan-gp|--loss wgan-gp --n-critic 5"
)

slug() { echo "$1" | tr -c 'a-zA-Z0-9\n' '_'; }

# One run: train, sample N points, score them.
run_one() {
  local data=$1 name=$2 flags=$3 seed=$4
  local dir="$OUT/$data-$(slug "$name")-$seed"
  [ -f "$dir/score.json" ] && return 0
  rm -rf "$dir"
  # shellcheck disable=SC2086
  "$ZG" train mlpgan --data "$data" --steps "$STEPS" --seed "$seed" --threads "$THREADS" \
    --sample-every 0 --checkpoint-every 0 --log-every 500 --out "$dir" $FLAGS $flags >"$dir.log" 2>&1
  "$ZG" sample --checkpoint "$dir/checkpoints/latest.safetensors" --n "$N" --seed 7 \
    --out "$dir/samples.npy" >>"$dir.log" 2>&1
  "$ZG" eval --data "$data" --samples "$dir/samples.npy" --json >"$dir/score.json.tmp"
  mv "$dir/score.json.tmp" "$dir/score.json"
}

for data in $DATASETS; do
  [ -n "${ONLY_TABLE:-}" ] && break
  for cfg in "${CONFIGS[@]}"; do
    for seed in $SEEDS; do
      while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
      run_one "$data" "${cfg%%|*}" "${cfg#*|}" "$seed" &
    done
  done
done
wait

header="| configuration |"
rule="|---|"
for data in $DATASETS; do
  header+=" $data modes | $data high quality |"
  rule+="---|---|"
done
echo "$header"
echo "$rule"
for cfg in "${CONFIGS[@]}"; do
  name=${cfg%%|*}
  row="| \`${cfg#*|}\` |"
  for data in $DATASETS; do
    modes="" hq="" msum=0 hsum=0 k=0 total="?"
    for seed in $SEEDS; do
      f="$OUT/$data-$(slug "$name")-$seed/score.json"
      if [ ! -f "$f" ]; then
        modes+="${modes:+, }-"
        hq+="${hq:+, }-"
        continue
      fi
      m=$(jq -r '.modes_covered' "$f")
      h=$(jq -r '.high_quality * 100' "$f")
      total=$(jq -r '.modes_total' "$f")
      modes+="${modes:+, }$m"
      hq+="${hq:+, }$(printf '%.0f' "$h")"
      msum=$(echo "$msum + $m" | bc -l)
      hsum=$(echo "$hsum + $h" | bc -l)
      k=$((k + 1))
    done
    if [ "$k" -gt 0 ]; then
      row+=" $modes of $total (mean $(printf '%.1f' "$(echo "$msum / $k" | bc -l)")) |"
      row+=" $hq % (mean $(printf '%.0f' "$(echo "$hsum / $k" | bc -l)") %) |"
    else
      row+=" $modes | $hq |"
    fi
  done
  echo "$row"
done
