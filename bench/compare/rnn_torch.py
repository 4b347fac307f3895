"""PyTorch peer for Strata's recurrent benchmark (Strata.Benchmarks rnn; bench/compare/run.sh rnn runs both).

The identical model: nn.LSTM or nn.GRU(inputs, units, batch_first=True) -> the last step's output ->
Linear(units, 10), cross-entropy on logits, Adam(1e-3), on fixed random data [batch * batches, steps,
inputs] with random labels; a warm-up epoch, then one epoch on each of three fresh models (median).
Prints "torch train-<cell> <batch> <samples/s>".

Run with Debian's interpreter and an unhandicapped OpenBLAS:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
      /usr/bin/python3 bench/compare/rnn_torch.py --cell lstm --threads 1
"""
import argparse
import time

import torch


class Net(torch.nn.Module):
    def __init__(self, cell, inputs, units):
        super().__init__()
        rnn = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.rnn = rnn(inputs, units, batch_first=True)
        self.out = torch.nn.Linear(units, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.out(y[:, -1])


def epoch(model, x, y, batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for b in range(0, x.shape[0], batch):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x[b:b + batch]), y[b:b + batch]).backward()
        opt.step()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--inputs", type=int, default=128)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--batches", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    n = a.batch * a.batches
    x = torch.rand(n, a.steps, a.inputs) * 2 - 1
    y = torch.randint(0, 10, (n,))
    epoch(Net(a.cell, a.inputs, a.units), x, y, a.batch)
    rates = []
    for _ in range(3):
        model = Net(a.cell, a.inputs, a.units)
        start = time.perf_counter()
        epoch(model, x, y, a.batch)
        rates.append(n / (time.perf_counter() - start))
    rates.sort()
    print(f"torch train-{a.cell} {a.batch} {rates[1]:.1f} (threads {a.threads}, {a.steps} steps, {a.inputs} inputs, {a.units} units)")


if __name__ == "__main__":
    main()
