#!/usr/bin/env bash
# report_browser.sh ZOOGRAD SHOTS: report.html in a real browser. Four tiny runs (dcgan
# stopped and resumed, mlpgan on ring8, progan growing 4 → 16, and a dcgan run killed while it
# trains, whose page must say it follows the run) and a tiny sweep write their reports; headless
# Chromium loads each, and the page must print nothing to the console, raise no error, and
# paint every chart it made (the page's #zg-status holds the counts: zoo/report/report_page.js).
# A screenshot of each goes to SHOTS/report_MODEL.png, to look at. Without Chromium the test is
# skipped (exit 77), except under CI=true, where it fails: `make test` installs Chromium
# (tools/deps.sh --test).
set -u
zoograd=$1
shots=$2
source "$(dirname "$0")/cli_checks.sh"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  [ "${CI:-}" = true ] && fail "Chromium is missing (CI=true): run tools/deps.sh --test"
  echo "skipped: Chromium is not installed (tools/deps.sh --test)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$shots"
make_idx_set "$tmp/data" 40
export ZOOGRAD_CACHE=$tmp/cache  # the sweep scores its runs: a tiny classifier of its own

tiny_dcgan=(--data mnist --data-root "$tmp/data" --batch-size 8 --nz 16 --ngf 8 --ndf 8
  --threads 1 --n 4 --log-every 1 --sample-every 2 --checkpoint-every 3)
"$zoograd" train dcgan "${tiny_dcgan[@]}" --steps 3 --out "$tmp/dcgan" >"$tmp/log" 2>&1 ||
  fail "train dcgan: $(cat "$tmp/log")"
"$zoograd" train --resume "$tmp/dcgan" --steps 6 >"$tmp/log" 2>&1 || fail "resume: $(cat "$tmp/log")"
"$zoograd" train mlpgan --data ring8 --steps 20 --log-every 5 --sample-every 10 --threads 1 \
  --out "$tmp/mlpgan" >"$tmp/log" 2>&1 || fail "train mlpgan: $(cat "$tmp/log")"
"$zoograd" train progan --data mnist --data-root "$tmp/data" --image-size 16 --nz 8 \
  --fmap-base 32 --fmap-max 8 --stable-kimg 0.016 --fade-kimg 0.016 --total-kimg 0.08 \
  --batch-sizes 4:8,16:4 --threads 1 --log-every 1 --n 4 --out "$tmp/progan" >"$tmp/log" 2>&1 ||
  fail "train progan: $(cat "$tmp/log")"

# open MODEL ARGS...: Chromium headless on MODEL's report; its own profile, so parallel tests
# and a user's browser do not meet. Virtual time lets the page's timers run before the dump.
open() {
  local run=$tmp/$1
  shift
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
    --enable-logging=stderr --v=0 --virtual-time-budget=3000 "$@" "file://$run/report.html"
}

# charts MODEL EXPECTED: the report of MODEL drew at least EXPECTED charts, all painted.
charts() {
  open "$1" --dump-dom >"$tmp/dom" 2>"$tmp/console" || fail "$1: Chromium exited with $?"
  local console
  console=$(grep 'CONSOLE' "$tmp/console")
  [ -z "$console" ] || fail "$1's report printed to the console: $console"
  local status
  status=$(grep -o '<div id="zg-status"[^>]*>' "$tmp/dom") || fail "$1: no #zg-status in the page"
  grep -q 'data-done="yes"' <<<"$status" || fail "$1: the page's script did not finish: $status"
  ! grep -q 'data-errors' <<<"$status" || fail "$1: the page raised errors: $status"
  local made drawn
  made=$(sed -n 's/.*data-charts="\([0-9]*\)".*/\1/p' <<<"$status")
  drawn=$(sed -n 's/.*data-drawn="\([0-9]*\)".*/\1/p' <<<"$status")
  [ "$made" -ge "$2" ] || fail "$1: $made charts, expected at least $2: $status"
  [ "$drawn" = "$made" ] || fail "$1: $drawn of $made charts painted: $status"
  open "$1" --window-size=1200,2400 --screenshot="$shots/report_$1.png" >/dev/null 2>&1 ||
    fail "$1: the screenshot failed"
  expect_png "$shots/report_$1.png" "1200 2400 3"
}

# dcgan: losses, D outputs, gradient norms. mlpgan: those and the samples over the modes.
# progan: losses, gradient norms, resolution and α.
charts dcgan 3
grep -q '"resumes":\[3\]' "$tmp/dcgan/report.html" || fail "the dcgan report does not mark the resume at step 3"
charts mlpgan 4
charts progan 4
grep -q '"fading":true' "$tmp/progan/report.html" || fail "the progan report has no fade phase"

# A sweep's report: quality against cost, and the runs per value of the axis that varies.
echo '{"arch": ["dcgan --nz 16 --ngf 8 --ndf 8 --batch-size 8"], "loss": ["ns", "lsgan"]}' >"$tmp/grid.json"
"$zoograd" sweep --grid "$tmp/grid.json" --data mnist --data-root "$tmp/data" --budget-steps 3 \
  --threads 1 --n 16 --out "$tmp/sweep" >"$tmp/log" 2>&1 || fail "sweep: $(cat "$tmp/log")"
charts sweep 2

# A run killed while it trains leaves a live page: it says it follows the run (its reload, 5 s
# on, falls after the 3 s of virtual time each load gets).
"$zoograd" train dcgan "${tiny_dcgan[@]}" --steps 100000 --out "$tmp/live" >"$tmp/log" 2>&1 &
trainer=$!
for ((i = 0; i < 300; ++i)); do
  grep -qs '"live":true' "$tmp/live/report.html" && break
  sleep 0.1
done
kill -9 $trainer
wait $trainer 2>/dev/null
grep -q '"live":true' "$tmp/live/report.html" || fail "no live report within 30 s: $(cat "$tmp/log")"
charts live 3
grep -q 'id="zg-state">training (this page reloads every 5 s)<' "$tmp/dom" ||
  fail "the live page does not say it follows the run: $(grep -o '<span id="zg-state">[^<]*' "$tmp/dom")"
echo ok
