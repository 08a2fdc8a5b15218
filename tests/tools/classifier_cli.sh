#!/usr/bin/env bash
# classifier_cli.sh ZOOGRAD: `zoograd train classifier` on a tiny IDX set writes the feature
# network to --out and, with stderr going to a file, logs plain progress lines: no carriage
# returns or terminal escape codes in the log.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 40
"$zoograd" train classifier --data mnist --data-root "$tmp/data" --epochs 1 --batch-size 4 \
  --threads 1 --out "$tmp/net.safetensors" >"$tmp/out" 2>"$tmp/log" ||
  fail "train classifier exited with $?: $(cat "$tmp/log")"
[ -s "$tmp/net.safetensors" ] || fail "no feature network written"
grep -q "step 10/10" "$tmp/log" || fail "no final progress line: $(cat "$tmp/log")"
! LC_ALL=C grep -q $'[\r\033]' "$tmp/log" || fail "escape codes in the log: $(od -c "$tmp/log" | head)"
echo ok
