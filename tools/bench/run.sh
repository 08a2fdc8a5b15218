#!/usr/bin/env bash
# `make bench`: zoograd beside PyTorch and beside the machine's sgemm peak, all measured in this
# one run, then one table of ratios (tools/bench/report.py). Usage: run.sh BUILD_DIR THREADS
# BENCH_STEPS (default 20) sets the timed DCGAN steps of both.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR THREADS}
threads=${2:?usage: run.sh BUILD_DIR THREADS}
here=$(cd "$(dirname "$0")" && pwd)
out=$build/bench
mkdir -p "$out"
rm -f "$out"/*.json "$out"/load.txt
zg=$build/zoograd
steps=${BENCH_STEPS:-20}

# zoograd, OpenBLAS (the OpenMP build) and PyTorch all run on libgomp, whose idle threads spin
# by default. On a machine busier than its core count a spinning thread burns the time slice
# its partner needs (a 2-thread DCGAN step ran 5x slower), so there both sides wait passively.
if [[ -z "${OMP_WAIT_POLICY:-}" ]] &&
   awk -v n="$(nproc)" '{ exit !($1 > n) }' /proc/loadavg; then
    export OMP_WAIT_POLICY=passive
    echo "== load above $(nproc) cores: OMP_WAIT_POLICY=passive for zoograd and PyTorch alike"
fi

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
cut -d' ' -f1 /proc/loadavg >"$out/load.txt"
echo "== zoograd bench sgemm ($threads threads)"
"$zg" bench sgemm --threads "$threads" --json >"$out/sgemm.json"
echo "== zoograd bench dcgan ($threads threads)"
"$zg" bench dcgan --threads "$threads" --steps "$steps" --json >"$out/dcgan.json"
echo "== zoograd bench ops ($threads threads)"
"$zg" bench ops --threads "$threads" --json >"$out/ops.json"
# ProGAN at each resolution of an MNIST run, with its default batch size there (progan's
# --batch-sizes 4:64,8:64,16:32,32:32).
progan_sizes="4:64 8:64 16:32 32:32"
for rb in $progan_sizes; do
    echo "== zoograd bench progan ${rb%:*}x${rb%:*}, batch ${rb#*:} ($threads threads)"
    "$zg" bench progan --threads "$threads" --resolution "${rb%:*}" --batch-size "${rb#*:}" \
        --steps "$steps" --json >"$out/progan${rb%:*}.json"
done

# PyTorch (Debian's python3-torch) links libblas.so.3, whatever BLAS the alternatives system
# selects; with the reference BLAS it runs several times slower, which would flatter zoograd.
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    preload=""
    selected=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null |
               sed -n 's/^Value: *//p')
    if [[ "$selected" == *openblas* ]]; then
        echo "== libblas.so.3 -> $selected (OpenBLAS: PyTorch runs at its best)"
    else
        ob=$(ls /usr/lib/x86_64-linux-gnu/openblas-*/libblas.so.3 2>/dev/null | head -n1 || true)
        echo "!! WARNING: libblas.so.3 is '${selected:-unknown}', not OpenBLAS." >&2
        if [[ -n "$ob" ]]; then
            echo "!! Running PyTorch with LD_PRELOAD=$ob so it uses OpenBLAS." >&2
            preload=$ob
        else
            echo "!! No OpenBLAS libblas found: PyTorch's figures below are NOT its best." >&2
        fi
    fi
    flop=$(/usr/bin/python3 -c "import json; print(json.load(open('$out/dcgan.json'))['gflop_per_step'])")
    echo "== PyTorch (tools/bench/torch_dcgan.py, $threads threads)"
    LD_PRELOAD=$preload /usr/bin/python3 "$here/torch_dcgan.py" --threads "$threads" \
        --steps "$steps" --gflop-per-step "$flop" >"$out/torch.json"
    for rb in $progan_sizes; do
        echo "== PyTorch progan ${rb%:*}x${rb%:*} (tools/bench/torch_progan.py, $threads threads)"
        LD_PRELOAD=$preload /usr/bin/python3 "$here/torch_progan.py" --threads "$threads" \
            --resolution "${rb%:*}" --batch-size "${rb#*:}" --steps "$steps" \
            >"$out/torch_progan${rb%:*}.json"
    done
else
    echo "== PyTorch is not installed (make deps-torch installs python3-torch): zoograd only"
fi
cut -d' ' -f1 /proc/loadavg >>"$out/load.txt"
echo
python3 "$here/report.py" "$out"
