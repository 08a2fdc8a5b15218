#!/usr/bin/env bash
# `zoograd trace dcgan`: its table lists D's first convolution (im2col of the 32×32 batch, then
# one GEMM) with the DCGAN shapes, its forward/backward counts match the nodes of the DOT file
# it wrote, and graphviz accepts that file. The total op count is not pinned: fused kernels
# change it. Without graphviz's `dot` the test is skipped (exit 77), except under CI=true,
# where it fails: `make test` installs graphviz (tools/deps.sh --test).
# Usage: trace_cli.sh ZOOGRAD
set -euo pipefail
zg=${1:?usage: trace_cli.sh ZOOGRAD}
if ! command -v dot >/dev/null 2>&1; then
    if [[ "${CI:-}" == true ]]; then
        echo "graphviz's dot is missing (CI=true): run tools/deps.sh --test" >&2
        exit 1
    fi
    echo "skipped: graphviz's dot is not installed (tools/deps.sh --test)"
    exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$("$zg" trace dcgan --batch-size 2 --threads 1 --dot "$dir/step.dot")
fail() { echo "$1" >&2; echo "$out" >&2; exit 1; }

# D's first layer: 1→64 channels, 4×4 kernel, stride 2 on 32×32 → 16×16. im2col turns the
# [2, 1, 32, 32] batch into 16 rows of 2·16·16 = 512 columns; the GEMM gives [64, 512]. (Its
# im2col is recorded only when D's input needs a gradient: G's step, on G's images.)
grep -Eq '^ +[0-9]+  forward   im2col +\[16, 512\] ' <<<"$out" || fail "no im2col [16, 512]"
grep -Eq '^ +[0-9]+  forward   matmul +\[64, 512\] +1\.05M ' <<<"$out" ||
    fail "no matmul [64, 512] of 2·64·512·16 = 1.05M FLOPs"
grep -Eq '^ +[0-9]+  backward  matmul +\[64, 512\] ' <<<"$out" || fail "no backward of that GEMM"
grep -Eq '^matmul +forward +[0-9]+ ' <<<"$out" || fail "no summary row for matmul"

count_line='^([0-9]+) forward ops recorded \(graph nodes\), ([0-9]+) backward functions ran \(on ([0-9]+) nodes\)$'
[[ $(grep -E "$count_line" <<<"$out") =~ $count_line ]] || fail "no count line"
forward=${BASH_REMATCH[1]} backward=${BASH_REMATCH[2]} ran_on=${BASH_REMATCH[3]}
ops=$(grep -Ec '^  op[0-9]+ \[shape=box, style="solid|filled"' "$dir/step.dot")
ran=$(grep -Ec '^  op[0-9]+ \[shape=box, style="filled"' "$dir/step.dot")
[[ "$forward" -eq "$ops" ]] || fail "$forward forward ops, but $ops op nodes in the DOT file"
[[ "$ran_on" -eq "$ran" ]] || fail "backward ran on $ran_on nodes, but $ran filled DOT nodes"
[[ "$backward" -ge "$ran_on" ]] || fail "$backward backward functions on $ran_on nodes"
[[ "$forward" -gt 0 && "$backward" -gt 0 ]] || fail "an empty trace"
# The table has one line per event.
lines=$(grep -Ec '^ +[0-9]+  (forward|backward) ' <<<"$out")
[[ "$lines" -eq $((forward + backward)) ]] || fail "$lines event lines for $forward+$backward"

grep -q 'leaf[0-9]* \[shape=ellipse, label="D.main.0.weight' "$dir/step.dot" ||
    fail "D's first weight is not a named leaf"
dot -Tsvg "$dir/step.dot" >/dev/null
[[ -s "$dir/step.svg" ]] || fail "no SVG beside the DOT file"
echo "trace ok: $forward forward ops, $backward backward functions"
