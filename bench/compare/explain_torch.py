"""PyTorch peer for the explanation benchmark (issue 18): integrated gradients with 64 steps over the
first 100 MNIST test digits on the shipped classifier (data/mnist/classifier.strata: its weights are
read from the file, so both sides explain the same function), written as PyTorch users write it
without Captum (not packaged for Debian): the target class is the predicted one, the baseline zeros,
the midpoint rule, one forward + backward to the input per step of the whole batch, plus f(x) and
f(baseline); and Grad-CAM on the last convolution (a forward hook keeps its output, autograd.grad
gives its gradient). Times are the median of 5 repeats after two warm-ups. Run it through
bench/compare/run.sh, which sets the environment.
Prints "torch explain-ig <ms>", "torch explain-saliency64 <ms>" and "torch explain-gradcam <ms>".
"""
import argparse
import json
import os
import struct
import sys
import time
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from mlp_torch import find, read_idx  # noqa: E402


def load_weights(path):
    blob = zipfile.ZipFile(path).read("model.weights.safetensors")
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name.split("/", 1)[1]] = np.frombuffer(blob[8 + n + start:8 + n + end], dtype=np.float32).reshape(info["shape"]).copy()
    return out


class Cnn(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 32, 3)
        self.c2 = torch.nn.Conv2d(32, 64, 3)
        self.d1 = torch.nn.Linear(1600, 64)
        self.d2 = torch.nn.Linear(64, 10)
        with torch.no_grad():
            # Strata: kernels [kh, kw, in, out], dense [in, out], NHWC flatten.
            self.c1.weight.copy_(torch.from_numpy(w["conv2d_2/kernel"].transpose(3, 2, 0, 1).copy()))
            self.c1.bias.copy_(torch.from_numpy(w["conv2d_2/bias"]))
            self.c2.weight.copy_(torch.from_numpy(w["conv2d_3/kernel"].transpose(3, 2, 0, 1).copy()))
            self.c2.bias.copy_(torch.from_numpy(w["conv2d_3/bias"]))
            self.d1.weight.copy_(torch.from_numpy(w["dense_2/kernel"].T.copy()))
            self.d1.bias.copy_(torch.from_numpy(w["dense_2/bias"]))
            self.d2.weight.copy_(torch.from_numpy(w["dense_3/kernel"].T.copy()))
            self.d2.bias.copy_(torch.from_numpy(w["dense_3/bias"]))
        self.kept = None

    def forward(self, x):
        h = torch.max_pool2d(torch.relu(self.c1(x)), 2)
        a = torch.relu(self.c2(h))
        self.kept = a
        h = torch.max_pool2d(a, 2).permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return torch.softmax(self.d2(torch.relu(self.d1(h))), dim=1)


def median_ms(run):
    run()
    run()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--steps", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Cnn(load_weights(os.path.join(args.data, "classifier.strata"))).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.from_numpy(read_idx(find(args.data, "t10k-images-idx3-ubyte"))[:args.batch].astype("float32") / 255.0).unsqueeze(1)

    def score(inp, targets):
        return model(inp).gather(1, targets[:, None]).sum()

    def ig():
        with torch.no_grad():
            targets = model(x).argmax(1)
        baseline = torch.zeros_like(x)
        total = torch.zeros_like(x)
        for k in range(args.steps):
            point = (baseline + (k + 0.5) / args.steps * (x - baseline)).requires_grad_(True)
            total += torch.autograd.grad(score(point, targets), point)[0]
        attributions = (x - baseline) * total / args.steps
        with torch.no_grad():
            diff = model(x).gather(1, targets[:, None]) - model(baseline).gather(1, targets[:, None])
        return attributions, diff

    def saliency64():
        targets = torch.zeros(args.batch, dtype=torch.int64)
        for _ in range(args.steps):
            point = x.clone().requires_grad_(True)
            torch.autograd.grad(score(point, targets), point)

    def gradcam():
        targets = torch.zeros(args.batch, dtype=torch.int64)
        s = score(x.clone().requires_grad_(True), targets)  # autograd.grad stops at the layer: no input gradient
        a = model.kept
        g = torch.autograd.grad(s, a)[0]
        return torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1))

    attributions, diff = ig()
    error = ((attributions.sum(dim=(1, 2, 3)) - diff[:, 0]).abs() / diff[:, 0].abs()).numpy()
    print(f"torch explain-ig {median_ms(ig):.1f} (completeness error median {np.median(error):.2e}, max {error.max():.2e})", flush=True)
    print(f"torch explain-saliency64 {median_ms(saliency64):.1f}", flush=True)
    print(f"torch explain-gradcam {median_ms(gradcam):.2f}", flush=True)


if __name__ == "__main__":
    main()
