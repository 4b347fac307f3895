#!/usr/bin/env bash
# Strata vs PyTorch on the seed MLP (MNIST), same machine, same run, 1 and 2 threads.
# Needs Debian's python3-torch (apt-get install python3-torch) and the .NET SDK.
# Usage: bench/compare/run.sh [threads...]   (default: 1 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=("${@:-1 2}")
[ $# -eq 0 ] && threads=(1 2)
dotnet build -c Release bench/Strata.Benchmarks -v q --nologo >/dev/null
B=bench/Strata.Benchmarks/bin/Release/net10.0/Strata.Benchmarks.dll
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
echo "torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), dotnet $(dotnet --version)"
for t in "${threads[@]}"; do
  echo "## threads $t"
  # The workplace pins OpenBLAS to its AVX2 kernel at half speed; both peers run without that.
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" \
    /usr/bin/python3 bench/compare/mlp_torch.py --threads "$t" --data data/mnist
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dotnet "$B" mlp --threads "$t" --data data/mnist
done
