#!/usr/bin/env bash
# full_disk_cli.sh ZOOGRAD: a write that fails as on a full disk (ZG_FAIL_WRITE=N makes the N-th
# atomic file write fail with ENOSPC) stops training with an error naming the file and exit code
# 1, wherever it falls; every file already in the run directory is whole (no 0-byte grid, no cut
# config.json or metrics line, a checkpoint that loads), no temporary survives a resume, and
# --resume then finishes the run. A kill-like stale temporary is cleaned on resume too.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 16
args=(--data mnist --data-root "$tmp/data" --steps 6 --batch-size 8 --nz 16 --ngf 8 --ndf 8
      --threads 1 --n 4 --log-every 1 --sample-every 2 --checkpoint-every 2)
# The writes in order: config.json, real.png, then per 2 steps a grid, report.html, the numbered
# checkpoint and latest; failing writes 1 to 6 hits each kind of file once, 10 a later latest.
for n in 1 2 3 4 5 6 10; do
  run=$tmp/run$n
  out=$(ZG_FAIL_WRITE=$n "$zoograd" train dcgan "${args[@]}" --out "$run" 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "ZG_FAIL_WRITE=$n: exit code $rc, expected 1: $out"
  grep -q "^error: cannot write .*No space left on device" <<<"$out" ||
    fail "ZG_FAIL_WRITE=$n: no error naming the file: $out"
  for f in $(find "$run" -type f ! -name .lock); do
    [ -s "$f" ] || fail "ZG_FAIL_WRITE=$n: $f is empty"
  done
  if [ -f "$run/metrics.jsonl" ]; then
    awk '!/^\{.*\}$/ { exit 1 }' "$run/metrics.jsonl" || fail "ZG_FAIL_WRITE=$n: a cut metrics line"
  fi
  [ -z "$(find "$run" -name '*.tmp')" ] || fail "ZG_FAIL_WRITE=$n: temporaries left: $(find "$run" -name '*.tmp')"
  if [ -f "$run/checkpoints/latest.safetensors" ]; then
    "$zoograd" sample --checkpoint "$run" --n 2 --out "$tmp/s$n.npy" >/dev/null ||
      fail "ZG_FAIL_WRITE=$n: the last checkpoint does not load"
    : >"$run/checkpoints/latest.safetensors.tmp"  # what a kill mid-save leaves
    "$zoograd" train --resume "$run" >"$tmp/resume$n.log" 2>&1 ||
      fail "ZG_FAIL_WRITE=$n: --resume failed: $(cat "$tmp/resume$n.log")"
    [ -f "$run/checkpoints/step_000006.safetensors" ] || fail "ZG_FAIL_WRITE=$n: the resumed run did not finish"
    [ -z "$(find "$run" -name '*.tmp')" ] || fail "ZG_FAIL_WRITE=$n: a stale temporary survived the resume"
  fi
done
echo "ok"
