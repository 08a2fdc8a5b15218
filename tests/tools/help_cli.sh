#!/usr/bin/env bash
# help_cli.sh ZOOGRAD: `zoograd train MODEL --help` lists only MODEL's flags, grouped, with its
# own defaults and types (the feature classifier its own few); `zoograd models` lists every trainable model (classifier included)
# with its own flags; `zoograd train --help` points to the per-model help.
set -u
zoograd=$1
source "$(dirname "$0")/cli_checks.sh"
# The help on one line with single spaces, so a wrapped description still matches.
flat() { tr '\n' ' ' | tr -s ' '; }

mlp=$("$zoograd" train mlpgan --help) || fail "train mlpgan --help exited with $?"
for group in "Run and data:" "mlpgan's own:" "Loss, optimizer and regularization" \
  "ganhacks switches" "Evaluation, logging and checkpoints:"; do
  grep -qF "$group" <<<"$mlp" || fail "train mlpgan --help has no group '$group': $mlp"
done
flat <<<"$mlp" | grep -qE -- '--batch-size INT [^[]*\[default: 256\]' ||
  fail "mlpgan's own batch size default is not shown: $mlp"
flat <<<"$mlp" | grep -qE -- '--lr-g FLOAT [^[]*\[default: 0\.001\]' ||
  fail "mlpgan's own learning rate is not shown: $mlp"
grep -q -- "--ngf" <<<"$mlp" && fail "mlpgan's help lists dcgan's --ngf: $mlp"
[ "$("$zoograd" train dcgan --help)" != "$mlp" ] || fail "dcgan and mlpgan have the same help"

pro=$("$zoograd" train progan --help) || fail "train progan --help exited with $?"
flat <<<"$pro" | grep -qE -- '--total-kimg FLOAT [^[]*\[default: 240' ||
  fail "progan's --total-kimg is not shown with its default: $pro"
flat <<<"$pro" | grep -qE -- '--fmap-base INT' || fail "progan's --fmap-base is not shown: $pro"

# The feature classifier is no GAN: its help lists its own few flags, not the GAN runs' 80.
cls=$("$zoograd" train classifier --help) || fail "train classifier --help exited with $?"
flat <<<"$cls" | grep -qE -- '--epochs INT [^[]*\[default: 4\]' ||
  fail "the classifier's --epochs default (4) is not shown: $cls"
for flag in --data --data-root --batch-size --seed --threads --image-size --out; do
  grep -q -- "^  $flag " <<<"$cls" || fail "train classifier --help lacks $flag: $cls"
done
[ "$(grep -c '^  --' <<<"$cls")" -eq 8 ] || fail "train classifier --help lists other flags: $cls"

models=$("$zoograd" models) || fail "models exited with $?"
for m in dcgan progan sgan improved_gan mlpgan classifier; do
  grep -q "^$m: " <<<"$models" || fail "zoograd models does not list $m: $models"
done
flat <<<"$models" | grep -qE -- '--fmap-base INT progan: feature maps' ||
  fail "zoograd models does not describe progan's flags: $models"

"$zoograd" train --help | flat | grep -qF "'zoograd train MODEL --help' lists only the flags" ||
  fail "train --help does not point to the per-model help"
bash "$(dirname "$0")/expect_error.sh" "unknown model 'stylegan'" "$zoograd" train stylegan --help ||
  fail "train stylegan --help"
echo "ok"
