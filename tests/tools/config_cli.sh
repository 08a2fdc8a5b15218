#!/usr/bin/env bash
# config_cli.sh ZOOGRAD: `train --config FILE` repeats a run from its config.json (flags given
# on the command line win), and a file with an unknown key, a value of the wrong kind or
# another model is refused by name.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 16
"$zoograd" train dcgan --data mnist --data-root "$tmp/data" --steps 2 --batch-size 8 --nz 16 \
  --ngf 8 --ndf 8 --threads 1 --seed 9 --sample-every 0 --out "$tmp/a" >/dev/null || fail "first run"
"$zoograd" train --config "$tmp/a/config.json" --steps 3 --out "$tmp/b" >"$tmp/b.log" 2>&1 ||
  fail "train --config: $(cat "$tmp/b.log")"
for kv in '"seed": 9' '"nz": 16' '"ndf": 8' '"steps": 3'; do
  grep -q "$kv" "$tmp/b/config.json" || fail "the repeated run's config.json lacks $kv: $(cat "$tmp/b/config.json")"
done
tail -n1 "$tmp/b/metrics.jsonl" | grep -Eq '"step":3[,}]' || fail "the repeated run did not train 3 steps"

expect() { bash "$(dirname "$0")/expect_error.sh" "$@" >/dev/null || fail "expected '$1' from: ${*:2}"; }
printf '{"model": "dcgan", "ndf": "wide"}' >"$tmp/kind.json"
expect "kind.json: \"ndf\" is \"wide\", expected an integer \\(--ndf\\)" "$zoograd" train --config "$tmp/kind.json" --out "$tmp/c"
printf '{"model": "dcgan", "bogus": 1}' >"$tmp/key.json"
expect "'bogus' is not a flag of model 'dcgan'" "$zoograd" train --config "$tmp/key.json" --out "$tmp/d"
expect "trains 'dcgan', not 'mlpgan'" "$zoograd" train mlpgan --config "$tmp/a/config.json" --out "$tmp/e"
expect "--config cannot be combined with --resume" "$zoograd" train --resume "$tmp/a" --config "$tmp/a/config.json"
echo "ok"
