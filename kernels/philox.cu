// Philox4x32-10 uniforms on the device (family "philox"): out[i] = Philox.uniform(seed, stream,
// offset + i). The selftest compares these bit for bit with Philox.java, which pins down the
// generator that dropout and augmentation rely on before their own checks run.
//
// Thread mapping: a grid-stride loop over the n outputs.
#include "common.cuh"

extern "C" __global__ void philox_uniforms(float* __restrict__ out, int n, long long seed, long long stream, long long offset) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        out[i] = philox_uniform(seed, stream, (uint64_t) (offset + i));
}
