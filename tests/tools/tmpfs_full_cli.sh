#!/usr/bin/env bash
# tmpfs_full_cli.sh ZOOGRAD: a real full disk, beside full_disk_cli.sh's injected one. A run
# trains into a 1.5 MiB tmpfs until the disk fills; it must stop with exit code 1 and an error
# naming the file, leave every file whole (no 0-byte file, no cut metrics line, no temporary) and
# a last checkpoint that loads, and a copy of the run on a roomy disk must finish with --resume.
# Mounting needs root (CAP_SYS_ADMIN): where the machine refuses, the test is skipped (exit 77)
# and says why.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
disk=$tmp/disk
mkdir -p "$disk"
if ! mount -t tmpfs -o size=1536k tmpfs "$disk" 2>"$tmp/mount.err"; then
  echo "skipped: cannot mount a tmpfs here ($(cat "$tmp/mount.err")); the injected full disk of full_disk_cli.sh still runs"
  rm -rf "$tmp"
  exit 77
fi
trap 'umount "$disk"; rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 16
out=$("$zoograd" train dcgan --data mnist --data-root "$tmp/data" --steps 200 --batch-size 8 \
  --nz 16 --ngf 8 --ndf 8 --threads 1 --n 4 --log-every 1 --sample-every 2 --checkpoint-every 2 \
  --out "$disk/run" 2>&1)
rc=$?
[ "$rc" -eq 1 ] || fail "exit code $rc on a full disk, expected 1: $(tail -5 <<<"$out")"
grep -q "^error: .*No space left on device" <<<"$out" || fail "no error naming the file: $(tail -5 <<<"$out")"
grep -q 'terminate called' <<<"$out" && fail "aborted: $out"
for f in $(find "$disk/run" -type f ! -name .lock); do
  [ -s "$f" ] || fail "$f is empty"
done
awk '!/^\{.*\}$/ { print "cut line: " $0; exit 1 }' "$disk/run/metrics.jsonl" || fail "a cut metrics line"
[ -z "$(find "$disk/run" -name '*.tmp')" ] || fail "temporaries left: $(find "$disk/run" -name '*.tmp')"
[ -f "$disk/run/checkpoints/latest.safetensors" ] || fail "the full disk left no checkpoint at all"
"$zoograd" sample --checkpoint "$disk/run" --n 2 --out "$tmp/s.npy" >/dev/null || fail "the last checkpoint does not load"
cp -r "$disk/run" "$tmp/run"
rm -f "$tmp/run/.lock"
"$zoograd" train --resume "$tmp/run" >"$tmp/resume.log" 2>&1 || fail "--resume on a roomy disk failed: $(tail -5 "$tmp/resume.log")"
[ -f "$tmp/run/checkpoints/step_000200.safetensors" ] || fail "the resumed run did not finish"
echo "ok"
