#!/usr/bin/python3
"""The PyTorch side of `make bench` for ProGAN: the training step of zoo/models/progan/progan.cpp
at one resolution, on the networks of tools/reference/progan_torch.py in float32, in Debian's
python3-torch (run with /usr/bin/python3).

The step is zoograd's (zoo/train/adversarial.cpp with --loss wgan-gp --reg gp+drift): G(z) once;
D on the real and the detached fake batch; the WGAN loss, the gradient penalty (lambda 10, target
1, on a per-example blend of real and fake, through a double backward) and the drift term
(0.001 E[D(x)^2]); D's backward and Adam; D on the fake batch again; G's gradients with
torch.autograd.grad; G's Adam. Adam lr 1e-3, betas (0, 0.99), eps 1e-8. The networks are at
their stable phase (alpha 1). Prints one JSON object.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from progan_torch import Discriminator, Generator  # noqa: E402


def bench(a):
    levels = int(math.log2(a.resolution)) - 1  # 4x4 is level 0

    def nf(stage):
        return min(a.fmap_base // (1 << stage), a.fmap_max)

    g, d = Generator(a.nz, 1, levels, nf), Discriminator(1, levels, nf)
    level = levels - 1
    # Only the layers the step uses are trained, as zoograd's optimizer skips unused ones.
    opt_args = dict(lr=1e-3, betas=(0.0, 0.99), eps=1e-8)
    opt_g = torch.optim.Adam(g.parameters(), **opt_args)
    opt_d = torch.optim.Adam(d.parameters(), **opt_args)
    n = a.batch_size
    real = torch.tanh(torch.randn(n, 1, a.resolution, a.resolution))
    g_params = list(g.parameters())

    def step():
        fake = g(torch.randn(n, a.nz), level, 1.0)
        d_real = d(real, level, 1.0)
        d_fake = d(fake.detach(), level, 1.0)
        loss = d_fake.mean() - d_real.mean()
        mix = torch.rand(n, 1, 1, 1)
        x = (mix * real + (1 - mix) * fake.detach()).requires_grad_()
        (gx,) = torch.autograd.grad(d(x, level, 1.0).sum(), x, create_graph=True)
        gp = ((gx.flatten(1).norm(dim=1) - 1) ** 2).mean()
        drift = (d_real * d_real).mean()
        opt_d.zero_grad(set_to_none=True)
        (loss + 10 * gp + 0.001 * drift).backward()
        opt_d.step()
        loss_g = -d(fake, level, 1.0).mean()
        grads = torch.autograd.grad(loss_g, g_params, allow_unused=True)
        for p, gr in zip(g_params, grads):
            p.grad = gr
        opt_g.step()

    for _ in range(a.warmup):
        step()
    times, cpu_times = [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu_times.append((time.process_time() - c0) * 1e3)
    med = statistics.median(times)
    return {"model": "progan", "resolution": a.resolution, "batch_size": n,
            "fmap_base": a.fmap_base, "fmap_max": a.fmap_max,
            "threads": torch.get_num_threads(), "steps": a.steps, "median_ms": med,
            "median_cpu_ms": statistics.median(cpu_times), "s_per_kimg": med / n,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, required=True, help="torch.set_num_threads")
    ap.add_argument("--resolution", type=int, default=32, help="image side (default 32)")
    ap.add_argument("--batch-size", type=int, default=32, help="images per step (default 32)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--nz", type=int, default=128, help="latent size (zoograd's default 128)")
    ap.add_argument("--fmap-base", type=int, default=256, help="zoograd's default 256")
    ap.add_argument("--fmap-max", type=int, default=128, help="zoograd's default 128")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(json.dumps({"torch_version": torch.__version__, "progan": bench(a)}, indent=2))


if __name__ == "__main__":
    main()
