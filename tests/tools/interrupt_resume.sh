#!/usr/bin/env bash
# interrupt_resume.sh ZOOGRAD: SIGINT (Ctrl-C) during `zoograd train` saves a checkpoint and
# exits with 130 (SIGTERM 143, SIGHUP 129, checked at the end); `--resume` continues from there, and the result is the same as training the
# same number of steps in one go (their samples are bit-identical). A run made before an option
# existed resumes with that option's default.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 16
flags=(dcgan --data mnist --data-root "$tmp/data" --batch-size 8 --nz 16 --ngf 8 --ndf 8
  --threads 1 --seed 7 --log-every 1 --sample-every 0 --checkpoint-every 0 --n 4)

"$zoograd" train "${flags[@]}" --steps 100000 --out "$tmp/run" >"$tmp/log" 2>&1 &
pid=$!
# Interrupt once the training loop runs (the first metrics line), not while it starts up.
for ((i = 0; i < 600; ++i)); do
  [ -s "$tmp/run/metrics.jsonl" ] && break
  kill -0 "$pid" 2>/dev/null || fail "training ended early: $(cat "$tmp/log")"
  sleep 0.05
done
[ -s "$tmp/run/metrics.jsonl" ] || fail "no training step after 30 s: $(cat "$tmp/log")"
kill -INT "$pid"
wait "$pid"
status=$?
pid=
[ "$status" -eq 130 ] || fail "exit code $status after SIGINT, expected 130: $(cat "$tmp/log")"
step=$(sed -n 's/^interrupted at step \([0-9]*\); checkpoint saved.*/\1/p' "$tmp/log")
[ -n "$step" ] || fail "no 'interrupted at step N; checkpoint saved' line: $(cat "$tmp/log")"
[ -s "$tmp/run/checkpoints/latest.safetensors" ] || fail "no checkpoints/latest.safetensors"

target=$((step + 2))
"$zoograd" train --resume "$tmp/run" --steps "$target" >"$tmp/log2" 2>&1 ||
  fail "resume exited with $?: $(cat "$tmp/log2")"
grep -q '^resuming dcgan' "$tmp/log2" || fail "resume did not say it resumed: $(cat "$tmp/log2")"
tail -n1 "$tmp/run/metrics.jsonl" | grep -Eq "\"step\":$target[,}]" ||
  fail "metrics.jsonl does not end at step $target: $(tail -n1 "$tmp/run/metrics.jsonl")"

# A run saved before an option existed (its config.json lacks the key) resumes with the
# option's default instead of failing on the missing key.
cp -r "$tmp/run" "$tmp/older"
grep -q '"lr_decay"' "$tmp/older/config.json" || fail "config.json has no lr_decay key"
sed -i '/"lr_decay"/d' "$tmp/older/config.json"
"$zoograd" train --resume "$tmp/older" --steps $((target + 1)) >"$tmp/log3" 2>&1 ||
  fail "resuming a run whose config.json lacks lr_decay exited with $?: $(cat "$tmp/log3")"

"$zoograd" train "${flags[@]}" --steps "$target" --out "$tmp/straight" >/dev/null ||
  fail "the uninterrupted run failed"
for r in run straight; do
  "$zoograd" sample --checkpoint "$tmp/$r/checkpoints/latest.safetensors" --n 4 --seed 1 \
    --out "$tmp/$r.npy" >/dev/null || fail "sample from $r"
done
cmp -s "$tmp/run.npy" "$tmp/straight.npy" ||
  fail "interrupted at step $step and resumed to $target differs from $target steps in one go"
# SIGTERM (kill) and SIGHUP (a closed terminal or ssh session) save a checkpoint too, each
# with the exit code a shell reports for that signal.
for sig in TERM:143 HUP:129; do
  name=${sig%:*} code=${sig#*:}
  "$zoograd" train "${flags[@]}" --steps 100000 --out "$tmp/$name" >"$tmp/$name.log" 2>&1 &
  pid=$!
  for ((i = 0; i < 600; ++i)); do
    [ -s "$tmp/$name/metrics.jsonl" ] && break
    sleep 0.05
  done
  kill -"$name" "$pid"
  wait "$pid"
  status=$?
  pid=
  [ "$status" -eq "$code" ] || fail "exit code $status after SIG$name, expected $code: $(cat "$tmp/$name.log")"
  grep -q "checkpoint saved (SIG$name)" "$tmp/$name.log" || fail "no checkpoint line after SIG$name: $(cat "$tmp/$name.log")"
  [ -s "$tmp/$name/checkpoints/latest.safetensors" ] || fail "no checkpoint after SIG$name"
done
echo "ok: interrupted at step $step, resumed to $target, identical to an uninterrupted run; SIGTERM and SIGHUP save too"
