"""PyTorch peer for Strata's SpamAssassin text models (Strata.Benchmarks text --presets lstm,gru).

The same network: nn.Embedding(20000, 64, padding_idx=0) -> bidirectional nn.LSTM / nn.GRU(64, 32,
batch_first=True) -> the two directions' final states -> Linear(64, 2). By default PyTorch runs all 400
steps of every row; with --packed it packs the sequences by length (pack_padded_sequence), which skips
the padding as Strata's mask does (Strata's recurrent GEMMs and cell math take only the kept rows of
each step). Cross-entropy, Adam(1e-3), batch 32, over 4,837 sequences of random token ids (the training
split's size) with lengths 30-400, post-padded to 400. Prints "torch text <cell> <samples/s>" (median of three epochs after
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

    def forward(self, x, lengths=None):
        e = self.emb(x)
        if lengths is not None:
            e = torch.nn.utils.rnn.pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(e)
        if isinstance(h, tuple):
            h = h[0]
        return self.out(torch.cat([h[0], h[1]], dim=1))


def epoch(model, opt, x, y, batch, lengths):
    for b in range(0, x.shape[0], batch):
        opt.zero_grad(set_to_none=True)
        lb = None if lengths is None else lengths[b:b + batch]
        torch.nn.functional.cross_entropy(model(x[b:b + batch], lb), y[b:b + batch]).backward()
        opt.step()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--packed", action="store_true")
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
    lens = lengths if a.packed else None
    epoch(model, opt, x, y, 32, lens)
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        epoch(model, opt, x, y, 32, lens)
        rates.append(n / (time.perf_counter() - start))
    rates.sort()
    print(f"torch text {a.cell}{' packed' if a.packed else ''} {rates[1]:.1f} (threads {a.threads})")


if __name__ == "__main__":
    main()
