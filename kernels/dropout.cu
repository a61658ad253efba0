// Dropout and channel dropout with a regenerated mask (Backend family "dropout").
// Unit u = element / inner (inner = 1: single elements; inner = H*W: whole channels) is dropped
// when Philox.uniform(seed, stream, u) < p, exactly as the CPU backend, so both devices drop the
// same units. Kept units are multiplied by `keepScale` = 1 / (1 - p), computed once on the host
// like the CPU does, so results match bit for bit. No mask is stored: backward draws it again.
//
// Thread mapping: a grid-stride loop over elements; each thread computes its unit's Philox block
// (10 rounds of integer multiplies, cheaper than a mask read from memory).
#include "common.cuh"

extern "C" __global__ void dropout_forward(const float* __restrict__ x, float* __restrict__ y, int n, float p,
                                           float keepScale, long long seed, long long stream, int inner) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        bool drop = philox_uniform(seed, stream, (uint64_t) (i / inner)) < p;
        y[i] = drop ? 0.0f : x[i] * keepScale;
    }
}

extern "C" __global__ void dropout_backward(const float* __restrict__ dy, float* __restrict__ dx, int n, float p,
                                            float keepScale, long long seed, long long stream, int inner) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        bool drop = philox_uniform(seed, stream, (uint64_t) (i / inner)) < p;
        dx[i] = drop ? 0.0f : dy[i] * keepScale;
    }
}
