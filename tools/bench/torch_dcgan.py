#!/usr/bin/python3
"""The PyTorch side of `make bench`: the DCGAN training step of zoo/models/dcgan/dcgan.cpp and the op
rows of `zoograd bench ops`, in Debian's python3-torch (run with /usr/bin/python3).

Networks are pytorch/examples' DCGAN at 32x32 (one block shorter than at 64x64), logits and
BCE-with-logits, Adam(2e-4, betas (0.5, 0.999)), batch 64, nz 100, ngf = ndf = 64. The step
is zoograd's: G(z) once; D on the real and the detached fake batch; D's loss backward and Adam;
D on the fake batch again; G's gradients with torch.autograd.grad (D's weight gradients are not
computed); G's Adam. Prints one JSON object: {"dcgan": {...}, "ops": [...]}.
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def generator(nz, ngf, nc):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


def discriminator(ndf, nc):
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False))


def init_weights(m):  # pytorch/examples' weights_init
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def bench_dcgan(a):
    nz, ngf, ndf, nc, n = 100, 64, 64, 1, a.batch_size
    g, d = generator(nz, ngf, nc), discriminator(ndf, nc)
    g.apply(init_weights)
    d.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.tanh(torch.randn(n, nc, 32, 32))
    ones, zeros = torch.ones(n), torch.zeros(n)
    g_params = list(g.parameters())

    def step():
        fake = g(torch.randn(n, nz, 1, 1))
        d_real = d(real).view(-1)
        d_fake = d(fake.detach()).view(-1)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, ones) +
                  F.binary_cross_entropy_with_logits(d_fake, zeros))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(d(fake).view(-1), ones)
        for p, gr in zip(g_params, torch.autograd.grad(loss_g, g_params)):
            p.grad = gr
        opt_g.step()
        return loss_d.item(), loss_g.item()

    for _ in range(a.warmup):
        step()
    times, cpu_times = [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu_times.append((time.process_time() - c0) * 1e3)
    med = statistics.median(times)
    return {"model": "dcgan", "batch_size": n, "threads": torch.get_num_threads(),
            "steps": a.steps, "median_ms": med, "min_ms": min(times),
            "median_cpu_ms": statistics.median(cpu_times),
            "images_per_s": n * 1e3 / med, "gflop_per_step": a.gflop_per_step,
            "gflops": a.gflop_per_step * 1e3 / med, "peak_rss_bytes": peak_rss_bytes()}


def time_median(setup, fn, min_reps=5, budget_ms=400):
    t, total = [], 0.0
    while len(t) < min_reps or total < budget_ms:
        setup()
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
        total += t[-1]
    return statistics.median(t)


def op_rows():
    """The rows of `zoograd bench ops` (tools/cli/bench_cmd.cpp), same names and shapes."""
    rows, state = [], {}

    def param(*s):
        return (torch.randn(*s) * 0.02).requires_grad_()

    x = torch.randn(64, 64, 16, 16, requires_grad=True)
    w, dy = param(128, 64, 4, 4), torch.randn(64, 128, 8, 8)
    f = 2.0 * 64 * 128 * 64 * 64 * 16

    def conv_fwd(x=x, w=w):
        with torch.no_grad():
            F.conv2d(x, w, None, 2, 1)

    def conv_setup(x=x, w=w):
        state["conv"] = F.conv2d(x, w, None, 2, 1)
    rows.append(("conv2d_fwd", f, lambda: None, conv_fwd))
    rows.append(("conv2d_bwd", 2 * f, conv_setup,
                 lambda x=x, w=w, dy=dy: torch.autograd.grad(state["conv"], (x, w), dy)))

    xt = torch.randn(64, 256, 4, 4, requires_grad=True)
    wt, dyt = param(256, 128, 4, 4), torch.randn(64, 128, 8, 8)
    ft = 2.0 * 64 * 256 * 16 * 128 * 16

    def convt_fwd():
        with torch.no_grad():
            F.conv_transpose2d(xt, wt, None, 2, 1)

    def convt_setup():
        state["convt"] = F.conv_transpose2d(xt, wt, None, 2, 1)
    rows.append(("conv_transpose2d_fwd", ft, lambda: None, convt_fwd))
    rows.append(("conv_transpose2d_bwd", 2 * ft, convt_setup,
                 lambda: torch.autograd.grad(state["convt"], (xt, wt), dyt)))

    wg, cols, dyg = torch.randn(128, 1024), torch.randn(1024, 4096), torch.randn(128, 4096)
    fg = 2.0 * 128 * 1024 * 4096
    rows.append(("gemm_conv_fwd", fg, lambda: None, lambda: torch.mm(wg, cols)))
    rows.append(("gemm_conv_wgrad", fg, lambda: None, lambda: torch.mm(dyg, cols.t())))

    xb = torch.randn(64, 128, 8, 8, requires_grad=True)
    gamma, beta = torch.ones(128, requires_grad=True), torch.zeros(128, requires_grad=True)
    rm, rv, dyb = torch.zeros(128), torch.ones(128), torch.randn(64, 128, 8, 8)

    def bn_fwd():
        with torch.no_grad():
            F.batch_norm(xb, rm, rv, gamma, beta, True)

    def bn_setup():
        state["bn"] = F.batch_norm(xb, rm, rv, gamma, beta, True)
    rows.append(("batch_norm_fwd", 0, lambda: None, bn_fwd))
    rows.append(("batch_norm_bwd", 0, bn_setup,
                 lambda: torch.autograd.grad(state["bn"], (xb, gamma, beta), dyb)))

    xl, wl = torch.randn(64, 1024, requires_grad=True), param(1024, 1024)
    bl, dyl = torch.zeros(1024, requires_grad=True), torch.randn(64, 1024)
    rows.append(("linear_fwd_bwd", 3 * 2.0 * 64 * 1024 * 1024, lambda: None,
                 lambda: torch.autograd.grad(F.linear(xl, wl, bl), (xl, wl, bl), dyl)))

    xe, dye = torch.randn(64, 64, 16, 16, requires_grad=True), torch.randn(64, 64, 16, 16)
    rows.append(("leaky_relu_fwd_bwd", 0, lambda: None,
                 lambda: torch.autograd.grad(F.leaky_relu(xe, 0.2), (xe,), dye)))

    shapes = [(100, 256, 4, 4), (256,), (256,), (256, 128, 4, 4), (128,), (128,),
              (128, 64, 4, 4), (64,), (64,), (64, 1, 4, 4)]
    ps = [param(*s) for s in shapes]
    for p in ps:
        p.grad = torch.randn_like(p)
    opt = torch.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999))
    rows.append(("adam_step", 0, lambda: None, opt.step))

    out = []
    for name, flop, setup, fn in rows:
        setup()
        fn()  # warm-up
        ms = time_median(setup, fn)
        row = {"name": name, "median_ms": ms}
        if flop:
            row["gflops"] = flop / 1e6 / ms
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, required=True, help="torch.set_num_threads (required: "
                    "Debian's build may default to 1)")
    ap.add_argument("--steps", type=int, default=20, help="timed DCGAN steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--batch-size", type=int, default=64, help="images per step (default 64)")
    ap.add_argument("--gflop-per-step", type=float, default=26.2,
                    help="the step's work for GFLOP/s (zoograd bench dcgan prints it)")
    ap.add_argument("--no-ops", action="store_true", help="skip the per-op rows")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    result = {"torch_version": torch.__version__, "dcgan": bench_dcgan(a)}
    if not a.no_ops:
        result["ops"] = op_rows()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
