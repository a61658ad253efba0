#!/usr/bin/env bash
# Runs the kernels of ../*.cu on the CPU, without a GPU, against plain double-precision loops:
# g++ compiles them with shim.h, which maps each CUDA thread to a std::thread, __syncthreads to a
# block barrier and warp shuffles to a per-warp exchange. Slow (a thread per CUDA thread, a few
# minutes on two cores) but it checks the index math, tiling and reductions of gemm, im2col/col2im,
# pooling, batchnorm, cross-entropy, similarity and featstd before a GPU is at hand. Prints one
# line per check; exit code 1 on any failure. Not part of `mvn test` (too slow); the GPU-side
# proof is `./locallearn selftest`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 -O1 -w -pthread -I"$here" -o "$out/check" "$here/check.cpp"
(cd "$here" && "$out/check")
