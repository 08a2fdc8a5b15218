#!/usr/bin/env bash
# `zoograd bench dcgan --json` prints every key make bench reads, and its work per step is the
# derivation of docs/BENCHMARKS.md: 26.215 GFLOP at batch 64, so 0.8192 GFLOP at batch 2.
# `bench progan --json` prints the keys report.py reads, at the resolution asked for.
# Usage: bench_json.sh ZOOGRAD
set -euo pipefail
zg=${1:?usage: bench_json.sh ZOOGRAD}
out=$("$zg" bench dcgan --steps 1 --warmup 1 --batch-size 2 --threads 1 --json)
for key in model batch_size threads steps median_ms min_ms images_per_s gflop_per_step gflops \
           peak_alloc_bytes peak_rss_bytes; do
    grep -q "\"$key\":" <<<"$out" || { echo "missing key $key in: $out" >&2; exit 1; }
done
grep -q '"gflop_per_step": 0\.8192' <<<"$out" ||
    { echo "expected gflop_per_step 0.8192... at batch 2, got: $out" >&2; exit 1; }
sgemm=$("$zg" bench sgemm --size 128 --threads 1 --json)
grep -q '"gflops":' <<<"$sgemm" || { echo "bench sgemm --json has no gflops: $sgemm" >&2; exit 1; }
progan=$("$zg" bench progan --resolution 8 --steps 1 --warmup 0 --batch-size 4 --threads 1 --json)
for key in model resolution batch_size fmap_base fmap_max median_ms s_per_kimg; do
    grep -q "\"$key\":" <<<"$progan" || { echo "missing key $key in: $progan" >&2; exit 1; }
done
grep -q '"resolution": 8' <<<"$progan" || { echo "bench progan: not at 8x8: $progan" >&2; exit 1; }
echo "bench --json ok"
