#!/usr/bin/python3
"""ProGAN's networks in PyTorch, written from the recipe of the official code
(tkarras/progressive_growing_of_gans, networks.py G_paper / D_paper): equalized learning rate
(weights N(0, 1) scaled at run time by gain / sqrt(fan_in), biases unscaled), pixel norm,
minibatch standard deviation (groups as the official code: sample n in group n mod N/G), and the
fade-in between resolutions by alpha. The state-dict names are zoograd's
(zoo/models/progan/networks.h), so the same weights load into both.

Used by tools/fixtures/gen_progan_fixtures.py; no training loop here.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SLOPE = 0.2


class EqConv(nn.Module):
    def __init__(self, cin, cout, k, gain):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin * k * k)
        self.pad = k // 2

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)


class EqDense(nn.Module):
    def __init__(self, cin, cout, gain):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin)

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias)


class Fn(nn.Module):  # a parameter-free step, so Sequential indices match zoograd's
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


def pixel_norm(x, eps=1e-8):
    return x * torch.rsqrt((x * x).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x, group=4):
    n, c, h, w = x.shape
    g = min(group, n)
    y = x.reshape(g, -1, c, h, w)
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt((y * y).mean(dim=0) + 1e-8)       # [n/g, c, h, w]
    y = y.mean(dim=[1, 2, 3]).reshape(-1, 1, 1, 1)   # [n/g, 1, 1, 1]
    return torch.cat([x, y.repeat(g, 1, h, w)], dim=1)


def lrelu():
    return Fn(lambda x: F.leaky_relu(x, SLOPE))


def pn():
    return Fn(pixel_norm)


class Generator(nn.Module):
    def __init__(self, nz, channels, levels, nf):
        super().__init__()
        n0 = nf(1)
        self.blocks = [nn.Sequential(
            pn(), EqDense(nz, n0 * 16, math.sqrt(2) / 4), Fn(lambda x: x.view(x.shape[0], -1, 4, 4)),
            lrelu(), pn(), EqConv(n0, n0, 3, math.sqrt(2)), lrelu(), pn())]
        for l in range(1, levels):
            self.blocks.append(nn.Sequential(
                Fn(lambda x: F.interpolate(x, scale_factor=2, mode="nearest")),
                EqConv(nf(l), nf(l + 1), 3, math.sqrt(2)), lrelu(), pn(),
                EqConv(nf(l + 1), nf(l + 1), 3, math.sqrt(2)), lrelu(), pn()))
        self.to_rgb = [nn.Sequential(EqConv(nf(l + 1), channels, 1, 1.0)) for l in range(levels)]
        for l in range(levels):
            r = 4 << l
            self.add_module(f"block{r}", self.blocks[l])
            self.add_module(f"to_rgb{r}", self.to_rgb[l])

    def forward(self, z, level, alpha):
        h = self.blocks[0](z)
        low = None
        for l in range(1, level + 1):
            if l == level and alpha < 1:
                low = F.interpolate(self.to_rgb[l - 1](h), scale_factor=2, mode="nearest")
            h = self.blocks[l](h)
        out = self.to_rgb[level](h)
        return out if low is None else low + (out - low) * alpha


class Discriminator(nn.Module):
    def __init__(self, channels, levels, nf, group=4):
        super().__init__()
        g = math.sqrt(2)
        self.from_rgb = [nn.Sequential(EqConv(channels, nf(l + 1), 1, g), lrelu()) for l in range(levels)]
        n0 = nf(1)
        self.blocks = [nn.Sequential(
            Fn(lambda x: minibatch_stddev(x, group)), EqConv(n0 + 1, n0, 3, g), lrelu(),
            Fn(lambda x: x.flatten(1)), EqDense(n0 * 16, nf(0), g), lrelu(), EqDense(nf(0), 1, 1.0))]
        for l in range(1, levels):
            self.blocks.append(nn.Sequential(
                EqConv(nf(l + 1), nf(l + 1), 3, g), lrelu(), EqConv(nf(l + 1), nf(l), 3, g), lrelu(),
                Fn(lambda x: F.avg_pool2d(x, 2))))
        for l in range(levels):
            r = 4 << l
            self.add_module(f"from_rgb{r}", self.from_rgb[l])
            self.add_module(f"block{r}", self.blocks[l])

    def forward(self, x, level, alpha):
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.blocks[level](h)
            if alpha < 1:
                low = self.from_rgb[level - 1](F.avg_pool2d(x, 2))
                h = low + (h - low) * alpha
        for l in range(level - 1, 0, -1):
            h = self.blocks[l](h)
        return self.blocks[0](h).reshape(-1)
