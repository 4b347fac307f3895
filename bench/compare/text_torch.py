"""PyTorch peer for Strata's SpamAssassin text models (Strata.Benchmarks text --presets lstm,gru).

The same network and the same work per step: nn.Embedding(20000, 64, padding_idx=0) ->
bidirectional nn.LSTM / nn.GRU(64, 32, batch_first=True) over all 400 steps (Strata's masked steps
are computed too, then skipped, so neither side packs) -> the two directions' final states ->
Linear(64, 2), cross-entropy, Adam(1e-3), batch 32, over 4,837 sequences of token ids (the training
split's size; post-padded to 400). Prints "torch text <cell> <samples/s>" (median of three epochs after
a warm-up epoch).
"""
import argparse
import time

import torch


class Net(torch.nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.emb = torch.nn.Embedding(20000, 64, padding_idx=0)
        rnn = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.rnn = rnn(64, 32, batch_first=True, bidirectional=True)
        self.out = torch.nn.Linear(64, 2)

    def forward(self, x):
        _, h = self.rnn(self.emb(x))
        if isinstance(h, tuple):
            h = h[0]
        return self.out(torch.cat([h[0], h[1]], dim=1))


def epoch(model, opt, x, y, batch):
    for b in range(0, x.shape[0], batch):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x[b:b + batch]), y[b:b + batch]).backward()
        opt.step()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    n, steps = 4837, 400
    lengths = torch.randint(30, steps + 1, (n,))
    x = torch.randint(2, 20000, (n, steps))
    x[torch.arange(steps)[None, :] >= lengths[:, None]] = 0
    y = torch.randint(0, 2, (n,))
    model = Net(a.cell)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch(model, opt, x, y, 32)
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        epoch(model, opt, x, y, 32)
        rates.append(n / (time.perf_counter() - start))
    rates.sort()
    print(f"torch text {a.cell} {rates[1]:.1f} (threads {a.threads})")


if __name__ == "__main__":
    main()
