"""PyTorch peer for the DCGAN preset (issue 17): the network GanPresets.Dcgan builds (width 32, latent 100).

Generator: Linear(100 -> 7*7*64, no bias) BatchNorm1d LeakyReLU(0.2) -> 64x7x7 ->
ConvTranspose2d(64 -> 64, 4, stride 2, padding 1, no bias) BatchNorm2d LeakyReLU ->
ConvTranspose2d(64 -> 32, 4, stride 2, padding 1, no bias) BatchNorm2d LeakyReLU ->
Conv2d(32 -> 1, 3, padding 1) tanh. Discriminator: Conv2d(1 -> 32, 4, stride 2, padding 1) LeakyReLU
Dropout(0.3) Conv2d(32 -> 64, 4, stride 2, padding 1) LeakyReLU Dropout(0.3) Flatten Linear(3136 -> 1).
Adam(2e-4, betas (0.5, 0.999)) for each; binary cross-entropy on logits.

One step, as Strata's Gan.TrainStep: the discriminator on [generated (under no_grad), real] with
labels [0, 1]; then the generator on fresh latent vectors through the discriminator, whose parameters
are frozen for that backward pass (requires_grad off: PyTorch's best case, no discriminator weight
gradients computed), labels 1.

Trains on the first --samples training images in [-1, 1] (a warm-up epoch, then the median of one
shuffled epoch on each of three fresh pairs). Prints "torch gan-train <batch> <real images/s>".
Run it through bench/compare/run.sh, which sets the environment.
"""
import argparse
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from mlp_torch import find, read_idx  # noqa: E402


def build(latent, w):
    leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    g = nn.Sequential(
        nn.Linear(latent, 7 * 7 * 2 * w, bias=False), nn.BatchNorm1d(7 * 7 * 2 * w), leaky(),
        nn.Unflatten(1, (2 * w, 7, 7)),
        nn.ConvTranspose2d(2 * w, 2 * w, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * w), leaky(),
        nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), leaky(),
        nn.Conv2d(w, 1, 3, padding=1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, w, 4, stride=2, padding=1), leaky(), nn.Dropout(0.3),
        nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), leaky(), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1))
    return g, d


def epoch_rate(x, batch, latent, w):
    g, d = build(latent, w)
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    n = x.shape[0] - x.shape[0] % batch
    order = torch.randperm(x.shape[0])
    ones = torch.ones(batch, 1)
    d_labels = torch.cat([torch.zeros(batch, 1), ones])
    start = time.perf_counter()
    for b in range(0, n, batch):
        real = x[order[b:b + batch]]
        with torch.no_grad():
            fake = g(torch.randn(batch, latent))
        d_opt.zero_grad(set_to_none=True)
        bce(d(torch.cat([fake, real])), d_labels).backward()
        d_opt.step()
        for p in d.parameters():
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        bce(d(g(torch.randn(batch, latent))), ones).backward()
        g_opt.step()
        for p in d.parameters():
            p.requires_grad_(True)
    return n / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--samples", type=int, default=4096)
    ap.add_argument("--latent", type=int, default=100)
    ap.add_argument("--width", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx(find(args.data, "train-images-idx3-ubyte"))[:args.samples].astype("float32") / 127.5 - 1.0).unsqueeze(1)
    epoch_rate(x, args.batch, args.latent, args.width)  # warm-up
    rates = sorted(epoch_rate(x, args.batch, args.latent, args.width) for _ in range(3))
    print(f"torch gan-train {args.batch} {rates[1]:.0f} (runs {' '.join(f'{r:.0f}' for r in rates)})", flush=True)


if __name__ == "__main__":
    main()
