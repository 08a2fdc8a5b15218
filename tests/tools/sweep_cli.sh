#!/usr/bin/env bash
# sweep_cli.sh ZOOGRAD: a tiny `zoograd sweep` on a tiny IDX set: 2 learning rates × 2 extras
# of a few-step dcgan, 2 runs at a time. The sound candidate is scored and ranked first; the one
# with lr 1e3 diverges, is marked so and ranked after it; the two with another model's flag are
# refused by `zoograd train` and listed as such, not counted as failures. Then one finished run
# is lost, and --resume trains that run alone; --random draws the same settings every time;
# --budget-minutes stops each run on its clock; a SIGINT stops a sweep with its run checkpointed.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 40
export ZOOGRAD_CACHE=$tmp/cache
cat >"$tmp/grid.json" <<'GRID'
{"arch": ["dcgan --nz 16 --ngf 8 --ndf 8 --batch-size 8 --n 4"],
 "lr": ["2e-4", "1e3 --optim-d sgd --optim-g sgd"],
 "extra": ["", "--labels 100"]}
GRID
"$zoograd" sweep --grid "$tmp/grid.json" --data mnist --data-root "$tmp/data" --budget-steps 10 \
  --jobs 2 --threads 1 --n 16 --out "$tmp/sweep" >"$tmp/log" 2>&1 || fail "sweep exited with $?: $(cat "$tmp/log")"
results=$tmp/sweep/results.jsonl
[ "$(wc -l <"$results")" -eq 4 ] || fail "results.jsonl: expected 4 runs: $(cat "$results")"
status() { grep "\"candidate\":\"$1" "$results" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'; }
[ "$(status c01-)" = ok ] || fail "the sound candidate is not ok: $(cat "$results")"
grep '"candidate":"c01-' "$results" | grep -q '"fid":' || fail "the sound candidate has no FID"
grep '"candidate":"c01-' "$results" | grep -q '"cpu_s_per_step":' || fail "no cost recorded"
[ "$(status c03-)" = diverged ] || fail "lr 1e3 is not marked diverged: $(cat "$results")"
for c in c02- c04-; do
  [ "$(status $c)" = skipped ] || fail "$c (another model's flag) is not skipped: $(cat "$results")"
done
grep '"candidate":"c02-' "$results" | grep -q 'labels' || fail "the skip does not name the flag"
md=$tmp/sweep/results.md
grep -q '^| 1 | c01-' "$md" || fail "the sound candidate is not ranked first: $(cat "$md")"
grep -q '^| 2 | c03-' "$md" || fail "the diverged candidate is not ranked after it: $(cat "$md")"
grep -q '^- c02-' "$md" || fail "the refused candidates are not listed apart: $(cat "$md")"
[ -s "$tmp/sweep/results.csv" ] || fail "no results.csv"

# One run's result and directory lost: --resume trains and scores that run only.
grep -v '"candidate":"c01-' "$results" >"$tmp/kept" && mv "$tmp/kept" "$results"
rm -rf "$tmp/sweep/runs/c01-"*
before=$(wc -l <"$tmp/sweep/runs/c03-"*.log)
"$zoograd" sweep --resume "$tmp/sweep" >"$tmp/log2" 2>&1 || fail "sweep --resume exited with $?: $(cat "$tmp/log2")"
grep -q "1 already done\|3 already done" "$tmp/log2" || fail "resume did not count the finished runs: $(cat "$tmp/log2")"
[ "$(wc -l <"$results")" -eq 4 ] || fail "after resume: expected 4 runs: $(cat "$results")"
[ "$(status c01-)" = ok ] || fail "the lost run was not trained again"
[ "$(wc -l <"$tmp/sweep/runs/c03-"*.log)" -eq "$before" ] || fail "resume trained the diverged run again"
# --random 2: two drawn settings of the one candidate, the same ones in a second sweep.
echo '{"arch": ["dcgan --nz 16 --ngf 8 --ndf 8 --batch-size 8"], "loss": ["wgan-gp"]}' >"$tmp/rnd.json"
for out in rnd1 rnd2; do
  "$zoograd" sweep --grid "$tmp/rnd.json" --random 2 --data mnist --data-root "$tmp/data" \
    --budget-steps 3 --threads 1 --n 16 --out "$tmp/$out" >"$tmp/log4" 2>&1 ||
    fail "sweep --random exited with $?: $(cat "$tmp/log4")"
done
drawn() { sed -n 's/.*"candidate":"\([^"]*\)".*"flags":\(\[[^]]*\]\).*/\1 \2/p' "$tmp/$1/results.jsonl" | sort; }
[ "$(drawn rnd1 | wc -l)" -eq 2 ] || fail "--random 2 did not give 2 runs: $(drawn rnd1)"
drawn rnd1 | grep -q -- '-r2 .*"--lr","[0-9.e-]*","--beta1","[0-9.e-]*","--n-critic","[15]","--reg-weight"' ||
  fail "a drawn setting lacks --lr, --beta1, --n-critic or the penalty's --reg-weight: $(drawn rnd1)"
[ "$(drawn rnd1)" = "$(drawn rnd2)" ] || fail "two sweeps drew different settings: $(drawn rnd1) / $(drawn rnd2)"

echo '{"arch": ["dcgan --nz 16 --ngf 8 --ndf 8 --batch-size 8"]}' >"$tmp/one.json"
# --budget-minutes: each run trains for that long (train --minutes) and records where it got.
"$zoograd" sweep --grid "$tmp/one.json" --data mnist --data-root "$tmp/data" --budget-minutes 0.02 \
  --threads 1 --n 16 --out "$tmp/timed" >"$tmp/log5" 2>&1 || fail "sweep --budget-minutes: $(cat "$tmp/log5")"
grep -q '"status":"ok"' "$tmp/timed/results.jsonl" || fail "the timed run: $(cat "$tmp/timed/results.jsonl")"
grep -q '"budget_reached"' "$tmp"/timed/runs/c01-*/config.json || fail "the timed run did not stop on its clock"

# SIGINT to the sweep alone reaches the run in flight, which saves a checkpoint; exit 130.
"$zoograd" sweep --grid "$tmp/one.json" --data mnist --data-root "$tmp/data" --budget-steps 100000 \
  --threads 1 --out "$tmp/long" >"$tmp/log3" 2>&1 &
sweep=$!
for ((i = 0; i < 300; ++i)); do
  ls "$tmp"/long/runs/c01-*/metrics.jsonl >/dev/null 2>&1 && break
  sleep 0.1
done
kill -INT $sweep
wait $sweep
code=$?
[ $code -eq 130 ] || fail "an interrupted sweep exited with $code: $(cat "$tmp/log3")"
ls "$tmp"/long/runs/c01-*/checkpoints/latest.safetensors >/dev/null 2>&1 ||
  fail "the interrupted run saved no checkpoint: $(cat "$tmp"/long/runs/c01-*.log)"
grep -q "zoograd sweep --resume $tmp/long" "$tmp/log3" || fail "no resume hint: $(cat "$tmp/log3")"
bash "$(dirname "$0")/expect_error.sh" "already holds a sweep" "$zoograd" sweep --grid "$tmp/grid.json" \
  --data mnist --out "$tmp/sweep" || fail "a second sweep into the same directory"
echo ok
