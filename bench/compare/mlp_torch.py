"""PyTorch peer for Strata's MLP benchmark (bench/compare/run.sh runs both).

The seed MLP on MNIST: Flatten(28x28) -> Linear(784,128) -> ReLU -> Linear(128,64) -> ReLU ->
Linear(64,10), Adam(1e-3), cross-entropy on logits (softmax folded into the loss, PyTorch's usual
form of Keras' softmax + sparse categorical cross-entropy). One shuffled epoch over the 60,000
training images per batch size, then inference over the 10,000 test images at batch 1,000.
Prints one line per figure: "torch <what> <batch> <samples/s>".

Run with Debian's interpreter and an unhandicapped OpenBLAS:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
      /usr/bin/python3 bench/compare/mlp_torch.py --threads 1 --data data/mnist
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, f"{path}: not an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(folder, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}(.gz) in {folder}")


def train_rates(build, x, y, batch):
    """Training samples/s of one shuffled epoch (Adam 1e-3, cross-entropy on logits) on each of three
    fresh models, after a warm-up epoch on a throwaway one, as the Strata benchmark does: the rates
    sorted, so that the median is [1] (this machine is a shared VM), and the last trained model."""
    n = x.shape[0]
    warm = build()
    warm_opt = torch.optim.Adam(warm.parameters(), lr=1e-3)
    for b in range(0, n, batch):
        warm_opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(warm(x[b:b + batch]), y[b:b + batch]).backward()
        warm_opt.step()
    rates = []
    for _ in range(3):
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        order = torch.randperm(n)
        start = time.perf_counter()
        for b in range(0, n, batch):
            idx = order[b:b + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        rates.append(n / (time.perf_counter() - start))
    return sorted(rates), model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x = torch.from_numpy(read_idx(find(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0)
    y = torch.from_numpy(read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64))
    tx = torch.from_numpy(read_idx(find(args.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0)
    ty = torch.from_numpy(read_idx(find(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64))
    n = x.shape[0]

    def build():
        return torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(784, 128), torch.nn.ReLU(),
            torch.nn.Linear(128, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 10))

    for batch in [int(b) for b in args.batches.split(",")]:
        rates, model = train_rates(build, x, y, batch)
        print(f"torch train {batch} {rates[1]:.0f} (runs {' '.join(f'{r:.0f}' for r in rates)})", flush=True)

        # Inference: the best of three passes over the test set (the Strata benchmark does the same).
        model.eval()
        with torch.no_grad():
            model(tx[:1000])  # warm
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                outs = [model(tx[b:b + 1000]) for b in range(0, tx.shape[0], 1000)]
                best = min(best, time.perf_counter() - start)
            secs = best
            correct = (torch.cat(outs).argmax(1) == ty).sum().item()
        print(f"torch infer-after-{batch} 1000 {tx.shape[0] / secs:.0f} accuracy {correct / tx.shape[0]:.4f}", flush=True)


if __name__ == "__main__":
    main()
