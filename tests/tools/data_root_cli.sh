#!/usr/bin/env bash
# data_root_cli.sh ZOOGRAD: `--data mnist` without --data-root, run from a directory with no
# data/ (nn/data/data_root.h): $ZOOGRAD_DATA is found and the per-user folder too, and
# config.json records the folder found; a --data folder that does not exist is named as such.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/store" 16
mkdir -p "$tmp/elsewhere" "$tmp/xdg/zoograd"
cp -r "$tmp/store/mnist" "$tmp/xdg/zoograd/"
cd "$tmp/elsewhere" || fail "cd"
train() {
  "$zoograd" train dcgan --data mnist --steps 1 --batch-size 8 --nz 16 --ngf 8 --ndf 8 \
    --threads 1 --sample-every 0 --checkpoint-every 0 "$@"
}

ZOOGRAD_DATA=$tmp/store train --out "$tmp/a" >"$tmp/a.log" 2>&1 ||
  fail "train with ZOOGRAD_DATA: $(cat "$tmp/a.log")"
grep -q "\"data_root\": \"$tmp/store\"" "$tmp/a/config.json" ||
  fail "config.json does not record the data root found: $(grep data_root "$tmp/a/config.json")"

# Without ZOOGRAD_DATA the source tree's data/ comes before the per-user folder; only when it
# has no mnist/ is the per-user one the answer.
(unset ZOOGRAD_DATA; XDG_DATA_HOME=$tmp/xdg train --out "$tmp/b") >"$tmp/b.log" 2>&1 ||
  fail "train with XDG_DATA_HOME: $(cat "$tmp/b.log")"
root=$(sed -n 's/.*"data_root": "\(.*\)".*/\1/p' "$tmp/b/config.json")
if [ ! -d "$root/mnist" ]; then fail "config.json's data_root $root has no mnist/"; fi
if [ "$root" != "$tmp/xdg/zoograd" ] && [[ "$root" != */data ]]; then
  fail "found $root, which is neither the source tree's data/ nor the per-user folder"
fi

out=$("$zoograd" train dcgan --data "$tmp/no/such/folder" --out "$tmp/c" 2>&1) &&
  fail "a missing --data folder was accepted"
grep -q "no/such/folder: the folder does not exist" <<<"$out" || fail "missing folder: $out"
echo "ok"
