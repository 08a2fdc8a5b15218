#!/usr/bin/env bash
# bad_json_cli.sh ZOOGRAD: a run directory whose config.json was edited into nonsense is refused
# with one `error:` line naming the file and the key, and exit code 1, never an abort (which
# exits 134 with "terminate called" from the JSON library).
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Each edit, then what the error must say: the file and the key.
cases=(
  '[]' 'config.json: the JSON is \[\], expected a JSON object'
  '{}' 'config.json: "model" is missing'
  '{"model": 3}' 'config.json: "model" is 3, expected text'
  '{"model": "dcgan", "batch_size": "abc"}' 'config.json: "batch_size" is "abc", expected an integer \(--batch-size\)'
  '{"model": "dcgan", "threads": "two"}' 'config.json: "threads" is "two", expected an integer'
  '{"model": "dcgan", "checkpoint_every": null}' 'config.json: "checkpoint_every" is null, expected an integer'
  '{"model": "dcgan", "batch_size": 2.5}' 'config.json: "batch_size" is 2.5, expected an integer'
)
for ((i = 0; i < ${#cases[@]}; i += 2)); do
  config=${cases[i]} expected=${cases[i + 1]}
  mkdir -p "$tmp/run$i"
  printf '%s\n' "$config" >"$tmp/run$i/config.json"
  out=$("$zoograd" train --resume "$tmp/run$i" 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "config.json $config: exit code $rc, expected 1: $out"
  grep -q '^error: ' <<<"$out" || fail "config.json $config: no error line: $out"
  grep -q 'terminate called' <<<"$out" && fail "config.json $config: aborted: $out"
  grep -Eq -- "$tmp/run$i/$expected" <<<"$out" || fail "config.json $config: the error does not say '$expected': $out"
done
echo "ok"
