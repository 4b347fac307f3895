#!/usr/bin/env bash
# Strata vs PyTorch on the seed MLP and the seed CNN (MNIST), same machine, same run, 1 and 2 threads.
# Needs Debian's python3-torch (apt-get install python3-torch) and the .NET SDK.
# Usage: bench/compare/run.sh [mlp|cnn|rnn|gan|explain|all] [threads...]   (default: all 1 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
what="${1:-all}"
shift || true
threads=("$@")
[ ${#threads[@]} -eq 0 ] && threads=(1 2)
# PyTorch at its best: Debian's python3-torch runs on whatever libblas.so.3 the alternatives select,
# the reference BLAS (about 10x slower) on a new machine. Install OpenBLAS when it is missing and refuse
# to report a ratio against the reference BLAS.
blas() { readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true; }
if [[ "$(blas)" != *openblas* ]]; then
  if command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
    echo "compare: libblas.so.3 is $(blas); installing libopenblas0-pthread" >&2
    apt-get install -y -qq libopenblas0-pthread >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libopenblas0-pthread >/dev/null 2>&1; } || true
  fi
  if [[ "$(blas)" != *openblas* ]]; then
    echo "compare: libblas.so.3 is '$(blas)', not OpenBLAS: PyTorch would run on the reference BLAS (about 10x slower)." >&2
    echo "compare: install libopenblas0-pthread (as root: apt-get install libopenblas0-pthread); no ratio reported." >&2
    exit 2
  fi
fi
dotnet build -c Release bench/Strata.Benchmarks -v q --nologo >/dev/null
B=bench/Strata.Benchmarks/bin/Release/net10.0/Strata.Benchmarks.dll
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
echo "blas: $(blas)"
echo "torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), dotnet $(dotnet --version)"
# The workplace pins OpenBLAS to its AVX2 kernel at half speed; both peers run without that. PyTorch's
# large per-op buffers go through glibc malloc, which by default returns them to the kernel with
# munmap and faults them back in on every step (a third of its CNN time at batch 128 on this VM,
# most of it system time); the MALLOC_* settings keep them in the heap, PyTorch's best case.
peer_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE MALLOC_MMAP_THRESHOLD_=1000000000
  MALLOC_TRIM_THRESHOLD_=10000000000 MALLOC_TOP_PAD_=1000000000)
for t in "${threads[@]}"; do
  echo "## threads $t"
  pin=(OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t")
  if [ "$what" = mlp ] || [ "$what" = all ]; then
    "${peer_env[@]}" "${pin[@]}" /usr/bin/python3 bench/compare/mlp_torch.py --threads "$t" --data data/mnist
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dotnet "$B" mlp --threads "$t" --data data/mnist
  fi
  if [ "$what" = cnn ] || [ "$what" = all ]; then
    # Both train on all 60,000 training images (per batch size: a warm-up epoch, then three timed epochs).
    "${peer_env[@]}" "${pin[@]}" /usr/bin/python3 bench/compare/cnn_torch.py --threads "$t" --data data/mnist --samples 60000
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dotnet "$B" cnn --threads "$t" --data data/mnist
  fi
  if [ "$what" = rnn ] || [ "$what" = all ]; then
    # LSTM and GRU at batch 64, 100 steps, 128 inputs, 256 units (the issue's standard shape).
    for cell in lstm gru; do
      "${peer_env[@]}" "${pin[@]}" /usr/bin/python3 bench/compare/rnn_torch.py --cell "$cell" --threads "$t"
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dotnet "$B" rnn --cell "$cell" --threads "$t"
    done
  fi
  if [ "$what" = gan ] || [ "$what" = all ]; then
    # The DCGAN preset (width 32, latent 100) at batch 64 on the first 4,096 training images.
    "${peer_env[@]}" "${pin[@]}" /usr/bin/python3 bench/compare/gan_torch.py --threads "$t" --data data/mnist
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dotnet "$B" gan --threads "$t"
  fi
  if [ "$what" = explain ] || [ "$what" = all ]; then
    # Integrated gradients (64 steps) and Grad-CAM over the first 100 test digits, the shipped classifier.
    "${peer_env[@]}" "${pin[@]}" /usr/bin/python3 bench/compare/explain_torch.py --threads "$t" --data data/mnist
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dotnet "$B" explain --threads "$t"
  fi
done
