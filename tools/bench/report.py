#!/usr/bin/env python3
"""The table of `make bench`: reads sgemm.json, dcgan.json, ops.json and progan<R>.json
(zoograd bench ...) and, when PyTorch ran, torch.json (tools/bench/torch_dcgan.py) and
torch_progan<R>.json (tools/bench/torch_progan.py) from one directory, all measured in the same
run, and prints ratios and the issue's targets. Usage: report.py DIR
"""
import glob
import json
import os
import sys


def load(d, name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    d = sys.argv[1]
    sgemm, zg, ops, torch = (load(d, n) for n in ("sgemm.json", "dcgan.json", "ops.json",
                                                  "torch.json"))
    peak = sgemm["gflops"]
    tz = torch["dcgan"] if torch else None
    print(f"sgemm peak (OpenBLAS {sgemm['size']}^3, {sgemm['threads']} threads): "
          f"{peak:.1f} GFLOP/s\nBLAS: {sgemm['blas']}")
    print(f"DCGAN 32x32x1, batch {zg['batch_size']}, {zg['threads']} threads, "
          f"{zg['gflop_per_step']:.2f} GFLOP/step; PyTorch: "
          + (f"{torch['torch_version']}, {tz['threads']} threads" if torch else "not installed"))
    print(f"OMP_WAIT_POLICY: {os.environ.get('OMP_WAIT_POLICY', 'unset (libgomp spins)')}")
    print()
    w = "{:<32}{:>12}{:>12}{:>18}"
    print(w.format("DCGAN training step", "zoograd", "PyTorch", "zoograd/PyTorch"))
    rows = [
        ("median ms/step", zg["median_ms"], tz and tz["median_ms"], ".1f"),
        ("min ms/step", zg["min_ms"], tz and tz["min_ms"], ".1f"),
        ("images/s", zg["images_per_s"], tz and tz["images_per_s"], ".0f"),
        ("GFLOP/s", zg["gflops"], tz and tz["gflops"], ".1f"),
        ("fraction of sgemm peak", zg["gflops"] / peak, tz and tz["gflops"] / peak, ".1%"),
        ("peak RSS MB", zg["peak_rss_bytes"] / 1e6, tz and tz["peak_rss_bytes"] / 1e6, ".0f"),
    ]
    for name, a, b, spec in rows:
        print(w.format(name, fmt(a, spec), fmt(b, spec), fmt(ratio(a, b), ".2f")))
    print(w.format("CPU ms/step (all threads)", fmt(zg["median_cpu_ms"], ".1f"),
                   fmt(tz and tz["median_cpu_ms"], ".1f"),
                   fmt(ratio(zg["median_cpu_ms"], tz and tz["median_cpu_ms"]), ".2f")))
    print(w.format("allocator peak MB", fmt(zg["peak_alloc_bytes"] / 1e6, ".0f"), "-", ""))
    print(w.format("OS allocations after warm-up", zg["os_allocations_after_warmup"], "-", ""))
    print()

    tops = {r["name"]: r for r in torch["ops"]} if torch and "ops" in torch else {}
    w = "{:<22}{:>10}{:>10}{:>10}{:>11}{:>11}  {}"
    print(w.format("op (median ms)", "zoograd", "PyTorch", "zg/PT", "zg %peak", "PT %peak",
                   "shape"))
    for r in ops["ops"]:
        t = tops.get(r["name"])
        pz = r["gflops"] / peak if "gflops" in r else None
        pt = t["gflops"] / peak if t and "gflops" in t else None
        print(w.format(r["name"], fmt(r["median_ms"], ".3f"), fmt(t and t["median_ms"], ".3f"),
                       fmt(ratio(r["median_ms"], t and t["median_ms"]), ".2f"), fmt(pz, ".1%"),
                       fmt(pt, ".1%"), r["shape"]))
    print()

    # ProGAN's step at each resolution, in seconds per thousand images (= ms per image).
    progan = sorted((load(d, os.path.basename(p))
                     for p in glob.glob(os.path.join(d, "progan*.json"))),
                    key=lambda r: r["resolution"])
    if progan:
        w = "{:<42}{:>12}{:>12}{:>18}"
        print(w.format(f"ProGAN step, s per kimg (fmap {progan[0]['fmap_base']}/"
                       f"{progan[0]['fmap_max']})", "zoograd", "PyTorch", "zoograd/PyTorch"))
        for r in progan:
            t = load(d, f"torch_progan{r['resolution']}.json")
            t = t and t["progan"]
            print(w.format(f"{r['resolution']}x{r['resolution']}, batch {r['batch_size']}",
                           fmt(r["s_per_kimg"], ".2f"), fmt(t and t["s_per_kimg"], ".2f"),
                           fmt(ratio(r["s_per_kimg"], t and t["s_per_kimg"]), ".2f")))
        print()

    # The targets, each a ratio from this run.
    gemm_fracs = [r["gflops"] / peak for r in ops["ops"] if r["name"].startswith("gemm_conv")]
    # (name, met, detail, depends on timing)
    checks = [("whole step >= 60% of the sgemm peak", zg["gflops"] / peak >= 0.60,
               f"{zg['gflops'] / peak:.1%}", True),
              ("large-conv GEMMs >= 75% of the sgemm peak", min(gemm_fracs) >= 0.75,
               ", ".join(f"{f:.1%}" for f in gemm_fracs), True),
              ("no OS allocation after warm-up", zg["os_allocations_after_warmup"] == 0,
               str(zg["os_allocations_after_warmup"]), False)]
    if tz:
        checks += [("not slower than PyTorch", zg["median_ms"] <= tz["median_ms"],
                    f"{tz['median_ms'] / zg['median_ms']:.2f}x PyTorch's speed", True),
                   ("peak RSS <= PyTorch's", zg["peak_rss_bytes"] <= tz["peak_rss_bytes"],
                    f"{zg['peak_rss_bytes'] / 1e6:.0f} MB vs {tz['peak_rss_bytes'] / 1e6:.0f} MB",
                    False)]
    # Other processes take the cores in turns with both sides, so neither the absolute times nor
    # the ratios can be trusted when the load exceeded the core count during the run.
    loads = [float(v) for v in open(os.path.join(d, "load.txt")).read().split()]
    busy = max(loads) > os.cpu_count()
    for name, ok, detail, timed in checks:
        verdict = "unreliable" if busy and timed else "met" if ok else "MISSED"
        print(f"  [{verdict}] {name}: {detail}")
    if busy:
        print(f"\n!! The machine was busy during this run (load {max(loads):.1f} on "
              f"{os.cpu_count()} cores): the times and ratios above do not measure zoograd or "
              f"PyTorch. Rerun `make bench` on a quiet machine.")


if __name__ == "__main__":
    main()
