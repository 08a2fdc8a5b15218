#!/usr/bin/env bash
# The tables of docs/PROGAN.md: ProGAN against DCGAN, and ProGAN's ablation, each run trained for
# the same wall-clock budget, one run at a time (alone on the machine: the budget is the
# measurement), then scored by `zoograd eval` on N samples of its EMA generator and of its raw G.
#
#   tools/progan_table.sh ZOOGRAD OUT_DIR RUN...
#   e.g. tools/progan_table.sh build/zoograd ~/runs/progan progan-mnist-s2 dcgan-mnist-s2
#   env: MINUTES per run (30), THREADS (2), N samples scored (10000)
#
# A RUN is MODEL-DATA-sSEED[-VARIANT]: dcgan-mnist-s2, progan-fashion-s1, progan-mnist-s1-nombstd.
# The variants are ProGAN's ablation: noprog (--progressive false: trained at 32x32 from the
# start), nombstd (--mbstd false), nopn (--pixel-norm false), noeqlr (--equalized-lr false).
# Runs go in the order given: alternate the models, as the protocol does. A run already scored
# is kept; one cut short (a session that ended) continues with --resume, its clock with it.
# Each run's directory, log and scores are under OUT_DIR; the table rows (the columns of
# docs/PROGAN.md; eval already gives KID ×10³) are printed at the end for every RUN. Needs jq.
set -euo pipefail
ZG=$(realpath "$1")
OUT=$2
shift 2
MINUTES=${MINUTES:-30}
THREADS=${THREADS:-2}
N=${N:-10000}
mkdir -p "$OUT"

flags_of() { # flags_of RUN: the train command line of a run's name
  local model data seed variant
  IFS=- read -r model data seed variant <<<"$1"
  local f=(train "$model" --data "$data" --seed "${seed#s}" --minutes "$MINUTES" --threads "$THREADS")
  case $model in
    dcgan) f+=(--ema 0.999 --epochs 1000) ;;    # the clock ends it, as --total-kimg 1000 does ProGAN
    progan) f+=(--total-kimg 1000) ;;
    *) echo "unknown model in $1" >&2; exit 1 ;;
  esac
  case ${variant:-} in
    "") ;;
    noprog) f+=(--progressive false) ;;
    nombstd) f+=(--mbstd false) ;;
    nopn) f+=(--pixel-norm false) ;;
    noeqlr) f+=(--equalized-lr false) ;;
    *) echo "unknown variant in $1" >&2; exit 1 ;;
  esac
  printf '%s\n' "${f[@]}"
}

for run in "$@"; do
  dir=$OUT/$run
  mapfile -t cmd < <(flags_of "$run")
  if ! jq -e .budget_reached "$dir/config.json" >/dev/null 2>&1; then
    echo "$(date -u +%T) training $run: zoograd ${cmd[*]}"
    if [ -f "$dir/config.json" ]; then
      "$ZG" train --resume "$dir" >>"$dir.log" 2>&1
    else
      rm -rf "$dir"
      "$ZG" "${cmd[@]}" --out "$dir" >"$dir.log" 2>&1
    fi
  fi
  for kind in ema raw; do
    [ -s "$dir.eval-$kind.json" ] && continue
    echo "$(date -u +%T) scoring $run ($kind)"
    ema_flag=()
    [ $kind = raw ] || ema_flag=(--ema)
    "$ZG" eval --samples "$dir" "${ema_flag[@]}" --n "$N" --json \
      --threads "$THREADS" >"$dir.eval-$kind.json.tmp" 2>"$dir.eval-$kind.err"
    mv "$dir.eval-$kind.json.tmp" "$dir.eval-$kind.json"
  done
done

echo "| model | seed | steps | images shown | where it ended | FID (EMA) | KID ×10³ | modes | precision | recall | FID (raw G) |"
echo "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
for run in "$@"; do
  dir=$OUT/$run
  IFS=- read -r model data seed variant <<<"$run"
  # Where the clock stopped the run: the step, and for ProGAN its images, resolution and α.
  reached=$(jq -c .budget_reached "$dir/config.json")
  step=$(jq -r .step <<<"$reached")
  if [ "$model" = progan ]; then
    images="$(jq -r '.kimg | round' <<<"$reached") k"
    where=$(jq -r '"\(.resolution)×\(.resolution)" + (if .alpha < 1 then ", α \(.alpha * 100 | round / 100)" else "" end)' <<<"$reached")
  else
    images="$(jq -r --argjson s "$step" '$s * .batch_size / 1000 | round' "$dir/config.json") k"
    where="32×32"
  fi
  ema=$dir.eval-ema.json raw=$dir.eval-raw.json
  printf '| %s | %s | %s | %s | %s | %.2f | %.1f | %s | %.3f | %.3f | %.2f |\n' \
    "$model${variant:+ ($variant)}" "${seed#s}" "$step" "$images" "$where" "$(jq .fid "$ema")" \
    "$(jq .kid "$ema")" "$(jq .modes_covered "$ema")" "$(jq .precision "$ema")" \
    "$(jq .recall "$ema")" "$(jq .fid "$raw")"
done
