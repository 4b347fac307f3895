"""PyTorch peer for the seed CNN (issue 4): Conv2d(1->32, 3x3) ReLU MaxPool(2) Conv2d(32->64, 3x3) ReLU
MaxPool(2) Flatten Linear(1600->64) ReLU Linear(64->10), Adam(1e-3), cross-entropy on logits.

Trains on the first --samples training images (per batch size: a warm-up epoch, then the median of
one shuffled epoch on each of three fresh models) and times inference over the 10,000 test images
at batch 1,000 (best of 3). Run it through bench/compare/run.sh, which sets the environment.
Prints "torch cnn-train <batch> <samples/s>" and "torch cnn-infer 1000 <samples/s>".

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
      /usr/bin/python3 bench/compare/cnn_torch.py --threads 1
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from mlp_torch import find, read_idx, train_rates  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--samples", type=int, default=60000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx(find(args.data, "train-images-idx3-ubyte"))[:args.samples].astype("float32") / 255.0).unsqueeze(1)
    y = torch.from_numpy(read_idx(find(args.data, "train-labels-idx1-ubyte"))[:args.samples].astype("int64"))
    tx = torch.from_numpy(read_idx(find(args.data, "t10k-images-idx3-ubyte")).astype("float32") / 255.0).unsqueeze(1)
    n = x.shape[0]

    def build():
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(1600, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))

    for batch in [int(b) for b in args.batches.split(",")]:
        rates, model = train_rates(build, x, y, batch)
        print(f"torch cnn-train {batch} {rates[1]:.0f} (runs {' '.join(f'{r:.0f}' for r in rates)})", flush=True)

    model.eval()
    with torch.no_grad():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for b in range(0, tx.shape[0], 1000):
                model(tx[b:b + 1000])
            best = min(best, time.perf_counter() - start)
    print(f"torch cnn-infer 1000 {tx.shape[0] / best:.0f}", flush=True)


if __name__ == "__main__":
    main()
