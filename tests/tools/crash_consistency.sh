#!/usr/bin/env bash
# crash_consistency.sh ZOOGRAD [KILLS]: kill -9 a tiny training run at seeded random moments,
# resume it each time, and check that nothing promised was lost: every numbered checkpoint of
# the cadence exists, metrics.jsonl logs each step once with no line cut, no temporary is left,
# and the final weights are exactly those of a run never killed. (label slow)
set -u
zoograd=$1
kills=${2:-12}
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 32
steps=40
args=(--data mnist --data-root "$tmp/data" --steps $steps --batch-size 8 --nz 16 --ngf 8 --ndf 8
      --threads 1 --seed 3 --n 4 --log-every 1 --sample-every 5 --checkpoint-every 5)
"$zoograd" train dcgan "${args[@]}" --out "$tmp/whole" >/dev/null 2>&1 || fail "the reference run"
# The whole run's length in seconds sets the range of the kill moments.
start=$(date +%s%N)
"$zoograd" train dcgan "${args[@]}" --out "$tmp/timing" >/dev/null 2>&1
span_ms=$((($(date +%s%N) - start) / 1000000))
RANDOM=17
killed=0
for ((k = 0; k < kills; ++k)); do
  if [ -f "$tmp/run/config.json" ]; then
    "$zoograd" train --resume "$tmp/run" >>"$tmp/log" 2>&1 &
  else
    "$zoograd" train dcgan "${args[@]}" --out "$tmp/run" >>"$tmp/log" 2>&1 &
  fi
  pid=$!
  sleep "$(awk -v r=$RANDOM -v s="$span_ms" 'BEGIN { printf "%.3f", r / 32768 * s / 1000 }')"
  kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
  wait "$pid" 2>/dev/null
done
"$zoograd" train --resume "$tmp/run" >>"$tmp/log" 2>&1 || fail "the last resume: $(tail -5 "$tmp/log")"
echo "killed $killed of $kills attempts"
for ((s = 5; s <= steps; s += 5)); do
  f=$(printf '%s/run/checkpoints/step_%06d.safetensors' "$tmp" $s)
  [ -s "$f" ] || fail "the numbered checkpoint of step $s is missing"
done
awk '!/^\{.*\}$/ { print "cut line: " $0; exit 1 }' "$tmp/run/metrics.jsonl" || fail "a cut metrics line"
logged=$(grep -Ev '"(warning|resumed)"' "$tmp/run/metrics.jsonl" | sed -n 's/.*"step":\([0-9]*\).*/\1/p' | tr '\n' ' ')
[ "$logged" = "$(seq -s ' ' 1 $steps) " ] || fail "metrics.jsonl steps are not 1..$steps once each: $logged"
[ -z "$(find "$tmp/run" -name '*.tmp')" ] || fail "temporaries left: $(find "$tmp/run" -name '*.tmp')"
"$zoograd" sample --checkpoint "$tmp/whole" --n 4 --out "$tmp/a.npy" >/dev/null
"$zoograd" sample --checkpoint "$tmp/run" --n 4 --out "$tmp/b.npy" >/dev/null
cmp -s "$tmp/a.npy" "$tmp/b.npy" || fail "the killed and resumed run does not end with the same weights"
echo "ok"
