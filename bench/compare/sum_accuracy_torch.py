"""PyTorch's float32 sum and mean error against float64 on the data that
`Strata.Benchmarks summation-accuracy` writes (raw little-endian float32 files).

Usage: /usr/bin/python3 bench/compare/sum_accuracy_torch.py [folder]   (default /tmp/strata-sum)
"""
import sys
from pathlib import Path

import torch

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/strata-sum")
torch.set_num_threads(1)
print(f"torch {torch.__version__}, 1 thread")
print("| data | PyTorch: sum | PyTorch: mean |")
print("| --- | ---: | ---: |")
for path in sorted(folder.glob("*.f32")):
    x = torch.from_numpy(__import__("numpy").fromfile(path, dtype="<f4"))
    name = path.stem
    if name.startswith("columns_"):
        rows, cols = (int(v) for v in name.split("_")[1].split("x"))
        m = x.reshape(rows, cols)
        exact = m.double().sum(0)
        worst = ((m.sum(0).double() - exact).abs() / exact.abs()).max().item()
        print(f"| {name} (worst column) | {worst:.1e} | |")
    else:
        exact = x.double().sum()
        s = (x.sum().double() - exact).abs() / exact.abs()
        exact_mean = exact / x.numel()
        mean = (x.mean().double() - exact_mean).abs() / exact_mean.abs()
        print(f"| {name} | {s.item():.1e} | {mean.item():.1e} |")
