#!/usr/bin/env bash
# bad_json_cli.sh ZOOGRAD: a run directory whose config.json was edited into nonsense is refused
# with one `error:` line and exit code 1, never an abort (which exits 134 with "terminate
# called" from the JSON library).
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for config in '[]' '{}' '{"model": 3}' '{"model": "dcgan", "batch_size": "abc"}' \
  '{"model": "dcgan", "threads": "two"}' '{"model": "dcgan", "checkpoint_every": null}'; do
  n=$((n + 1))
  mkdir -p "$tmp/run$n"
  printf '%s\n' "$config" >"$tmp/run$n/config.json"
  out=$("$zoograd" train --resume "$tmp/run$n" 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "config.json $config: exit code $rc, expected 1: $out"
  grep -q '^error: ' <<<"$out" || fail "config.json $config: no error line: $out"
  grep -q 'terminate called' <<<"$out" && fail "config.json $config: aborted: $out"
done
echo "ok"
