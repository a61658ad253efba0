#!/usr/bin/env bash
# Compiles every kernels/*.cu to PTX for compute_80 (Ampere and newer, JIT-compiled by the driver
# for the card it runs on) into the folder given as $1. Without nvcc the build goes on and the
# CUDA backend reports "kernels not built". A kernel that does not compile fails the build.
set -euo pipefail
out=${1:?usage: kernels/build.sh OUTPUT_DIR}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do [ -x "$d/nvcc" ] && nvcc=$d/nvcc && break; done
if [ -z "$nvcc" ]; then
  echo "kernels: nvcc not found, CUDA kernels not built (install the CUDA toolkit to build them)"
  exit 0
fi
shopt -s nullglob
n=0
for cu in "$src"/*.cu; do
  ptx="$out/$(basename "${cu%.cu}").ptx"
  # rebuild only what changed: Maven runs this on every build
  if [ ! -f "$ptx" ] || [ "$cu" -nt "$ptx" ] || [ "$src/common.cuh" -nt "$ptx" ]; then
    "$nvcc" -ptx -arch=compute_80 -O3 -lineinfo -o "$ptx" "$cu"
    n=$((n + 1))
  fi
done
"$nvcc" --version | tail -1 > "$out/NVCC_VERSION"
echo "kernels: $n compiled to PTX with $("$nvcc" --version | grep -o 'release [0-9.]*')"
