#!/usr/bin/env bash
# eval_cli.sh ZOOGRAD: `zoograd eval` end to end on a tiny IDX set made here: a two-step DCGAN
# run is scored with --json (a tiny classifier trained into a private $ZOOGRAD_CACHE, reused
# on the second call), scored from a PNG grid cut by --grid, scored again without --data (the
# run's own data set), and its checkpoint is refused for another data set.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_idx_set "$tmp/data" 40  # its images serve as the test split too
export ZOOGRAD_CACHE=$tmp/cache

"$zoograd" train dcgan --data mnist --data-root "$tmp/data" --steps 2 --batch-size 8 --nz 16 \
  --ngf 8 --ndf 8 --threads 1 --out "$tmp/run" >/dev/null || fail "train exited with $?"
out=$("$zoograd" eval --data mnist --data-root "$tmp/data" --samples "$tmp/run" --n 20 \
  --classifier-epochs 1 --json 2>/dev/null) || fail "eval exited with $?: $out"
for key in dataset n features fid kid kid_std is is_std precision recall density coverage \
  class_hist modes_covered mean_confidence; do
  grep -q "\"$key\":" <<<"$out" || fail "eval --json has no key $key: $out"
done
grep -q '"n":20' <<<"$out" || fail "expected 20 samples: $out"
hash=$(ls "$tmp/cache"/classifier-mnist-*.safetensors >/dev/null && sed -n 's/.*fnv1a64:\([0-9a-f]*\).*/\1/p' <<<"$out")
[ -n "$hash" ] || fail "no classifier hash in the output: $out"
table=$("$zoograd" eval --data mnist --data-root "$tmp/data" --samples real:test --n 20 2>&1) ||
  fail "eval of real:test exited with $?: $table"
grep -q "FID (zoograd-mnist features)" <<<"$table" || fail "table without the FID label: $table"
grep -q "$hash" <<<"$table" || fail "the cached classifier was not reused: $table"
grep -q "training the classifier" <<<"$table" && fail "trained the classifier again: $table"

# A PNG grid of samples, as `sample --out grid.png` writes it (16: 4 rows of 4), is cut into
# its cells by --grid.
"$zoograd" sample --checkpoint "$tmp/run" --n 16 --out "$tmp/grid.png" >/dev/null ||
  fail "sample to a grid"
cells=$("$zoograd" eval --data mnist --data-root "$tmp/data" --samples "$tmp/grid.png" --grid 4x4 \
  --n 16 --json 2>/dev/null) || fail "eval of a 4x4 grid: $cells"
grep -q '"n":16' <<<"$cells" || fail "a 4x4 grid is not 16 samples: $cells"

# Without --data a run brings its own data set, found where the run found it.
bare=$("$zoograd" eval --samples "$tmp/run" --n 20 --json 2>"$tmp/eval.log") || fail "eval without --data: $bare"
grep -q '"dataset":"mnist"' <<<"$bare" || fail "eval without --data did not score against mnist: $bare"
# Its progress went to stderr as plain lines: the samples drawn, their features, the metrics.
for line in "drawing samples 20/20 (100%)" "sample features 20/20 (100%)" "computing FID, KID"; do
  grep -qF "$line" "$tmp/eval.log" || fail "no progress line '$line': $(cat "$tmp/eval.log")"
done
! LC_ALL=C grep -q $'[\r\033]' "$tmp/eval.log" || fail "escape codes in eval's log: $(od -c "$tmp/eval.log" | head)"
bash "$(dirname "$0")/expect_error.sh" "only a checkpoint or a run directory as --samples brings its own" \
  "$zoograd" eval --samples real:test || fail "eval without --data of a reference set"
# The reference features are cached by the images' hash: another set in mnist/'s place (one
# test byte changed) gets its own instead of reusing MNIST's.
cp -r "$tmp/data" "$tmp/other"
printf '\xff' | dd of="$tmp/other/mnist/t10k-images-idx3-ubyte" bs=1 seek=400 conv=notrunc 2>/dev/null
before=$(ls "$tmp/cache" | grep -c '^reference-mnist-.*-test-')
self=$("$zoograd" eval --data mnist --data-root "$tmp/other" --samples real:test --n 20 --json 2>/dev/null) ||
  fail "eval of the other set: $self"
after=$(ls "$tmp/cache" | grep -c '^reference-mnist-.*-test-')
[ "$after" -eq $((before + 1)) ] || fail "the other set reused a cached reference ($before → $after files)"
# A cached reference cut short (a full disk, a kill in an old version) is rebuilt, not fatal.
for f in "$tmp/cache"/reference-mnist-*-test-*; do head -c 100 "$f" >"$f.cut" && mv "$f.cut" "$f"; done
again=$("$zoograd" eval --data mnist --data-root "$tmp/other" --samples real:test --n 20 --json 2>"$tmp/cut.log") ||
  fail "eval with a cut cache file: $(cat "$tmp/cut.log")"
grep -q "is unreadable" "$tmp/cut.log" || fail "no warning about the cut cache file: $(cat "$tmp/cut.log")"
[ "$again" = "$self" ] || fail "the rebuilt reference scores differently: $self vs $again"
bash "$(dirname "$0")/expect_error.sh" "trained on 'mnist', not on --data 'fashion'" \
  "$zoograd" eval --data fashion --samples "$tmp/run" || fail "checkpoint of another data set"
echo "ok"
