#!/usr/bin/env python3
"""A PyTorch re-implementation of OpenAI's improved-gan MNIST script
(mnist_svhn_cifar10/train_mnist_feature_matching.py), used to check zoograd's improved_gan
against the original training curve on this machine (docs/IMPROVED_GAN.md).

Same model, losses, data-dependent init, Adam (eps inside the square root, as OpenAI's
adam_updates) and zero-started weight average (a <- a + 0.0001 (p - a)) as the Theano script.

    /usr/bin/python3 tools/reference/improved_gan_torch.py --data data/mnist --epochs 3
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(root, split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    y = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def lse(x):
    return torch.logsumexp(x, dim=1)


class WNDense(torch.nn.Module):
    """OpenAI's nn.DenseLayer: W = theta * scale / ||theta|| (per output unit)."""

    def __init__(self, n_in, n_out, train_scale):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.randn(n_in, n_out) * 0.1)
        self.scale = torch.nn.Parameter(torch.ones(n_out), requires_grad=train_scale)
        self.b = torch.nn.Parameter(torch.zeros(n_out))

    def forward(self, x, init=False):
        a = x @ (self.theta * (self.scale / self.theta.pow(2).sum(0).sqrt()))
        if init:
            with torch.no_grad():
                m = a.mean(0)
                a = a - m
                s = a.pow(2).mean(0).sqrt()
                a = a / s
                self.scale.div_(s)
                self.b.copy_(-m / s)
            return a
        return a + self.b


class D(torch.nn.Module):
    def __init__(self):
        super().__init__()
        sizes = [784, 1000, 500, 250, 250, 250]
        self.hidden = torch.nn.ModuleList(
            [WNDense(a, b, False) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = WNDense(250, 10, True)

    def features(self, x, init=False):
        h = x + 0.3 * torch.randn_like(x)
        for i, l in enumerate(self.hidden):
            if i > 0:
                h = h + 0.5 * torch.randn_like(h)
            h = F.relu(l(h, init))
        return h

    def forward(self, x, init=False, noise=True):
        if not noise:
            h = x
            for l in self.hidden:
                h = F.relu(l(h))
            return self.out(h)
        h = self.features(x, init)
        return self.out(h + 0.5 * torch.randn_like(h), init)


class G(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(100, 500, bias=False)
        self.fc2 = torch.nn.Linear(500, 500, bias=False)
        for l in (self.fc1, self.fc2):
            torch.nn.init.xavier_uniform_(l.weight)
        self.b1 = torch.nn.Parameter(torch.zeros(500))
        self.b2 = torch.nn.Parameter(torch.zeros(500))
        self.out = torch.nn.Linear(500, 784)
        torch.nn.init.xavier_uniform_(self.out.weight)
        torch.nn.init.zeros_(self.out.bias)
        self.out_scale = torch.nn.Parameter(torch.ones(784))

    @staticmethod
    def bn(h, b):
        m = h.mean(0)
        c = h - m
        return c / (c.pow(2).mean(0) + 1e-6).sqrt() + b

    def forward(self, n):
        z = torch.rand(n, 100)
        h = F.softplus(self.bn(self.fc1(z), self.b1))
        h = F.softplus(self.bn(self.fc2(h), self.b2))
        w = self.out.weight * (self.out_scale / (1e-6 + self.out.weight.pow(2).sum(1)).sqrt())[:, None]
        return torch.sigmoid(h @ w.t() + self.out.bias)


class OpenAIAdam:
    """nn.adam_updates: eps inside the square root."""

    def __init__(self, params, lr, b1=0.5, b2=0.999):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.b1, self.b2, self.t = lr, b1, b2, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self, grads):
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            mh = m / (1 - self.b1 ** self.t)
            vh = v / (1 - self.b2 ** self.t)
            p.sub_(self.lr * mh / (vh + 1e-8).sqrt())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    x, y = load(args.data, "train")
    tx, ty = load(args.data, "test")
    perm = torch.tensor(rng.permutation(len(x)))
    x, y = x[perm], y[perm]
    per = args.labels // 10
    lab = torch.cat([torch.nonzero(y == k)[:per, 0] for k in range(10)])
    xl, yl = x[lab], y[lab]

    d, g = D(), G()
    d(x[:500], init=True)
    dparams = [p for p in d.parameters() if p.requires_grad]
    avg = [torch.zeros_like(p) for p in dparams]
    opt_d = OpenAIAdam(dparams, 0.003)
    opt_g = OpenAIAdam(list(g.parameters()), 0.003)
    n_batches = len(x) // 100
    for epoch in range(args.epochs):
        t0 = time.time()
        order_l = torch.cat([torch.tensor(rng.permutation(len(xl))) for _ in range(len(x) // len(xl))])
        u1 = torch.tensor(rng.permutation(len(x)))
        u2 = torch.tensor(rng.permutation(len(x)))
        for t in range(n_batches):
            sl = order_l[t * 100:(t + 1) * 100]
            xlab, ylab = xl[sl], yl[sl]
            xunl = x[u1[t * 100:(t + 1) * 100]]
            fake = g(100).detach()
            ol, ou, of = d(xlab), d(xunl), d(fake)
            loss_lab = F.cross_entropy(ol, ylab)
            lu, lf = lse(ou), lse(of)
            loss_unl = -0.5 * lu.mean() + 0.5 * F.softplus(lu).mean() + 0.5 * F.softplus(lf).mean()
            grads = torch.autograd.grad(loss_lab + loss_unl, dparams)
            opt_d.step(grads)
            with torch.no_grad():
                for a, p in zip(avg, dparams):
                    a.add_(0.0001 * (p - a))
            xunl2 = x[u2[t * 100:(t + 1) * 100]]
            m_real = d.features(xunl2).mean(0).detach()
            m_fake = d.features(g(100)).mean(0)
            loss_gen = (m_fake - m_real).pow(2).mean()
            opt_g.step(torch.autograd.grad(loss_gen, list(g.parameters())))
        with torch.no_grad():
            live = (d(tx, noise=False).argmax(1) == ty).float().mean().item()
            saved = [p.clone() for p in dparams]
            for p, a in zip(dparams, avg):
                p.copy_(a)
            averaged = (d(tx, noise=False).argmax(1) == ty).float().mean().item()
            for p, s in zip(dparams, saved):
                p.copy_(s)
        d_fake = torch.sigmoid(lf).mean().item()  # D(G(z)) = Z/(Z+1) on the last fake batch
        print(f"epoch {epoch + 1}  {time.time() - t0:.0f} s  loss_lab {loss_lab.item():.4f}  "
              f"loss_unl {loss_unl.item():.4f}  loss_gen {loss_gen.item():.3f}  "
              f"D(G(z)) {d_fake:.3f}  test_acc_live {live:.4f}  test_acc_avg {averaged:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
