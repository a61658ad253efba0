// Dropout and channel dropout with a regenerated mask (Backend family "dropout").
// Unit u = element / inner (inner = 1: single elements; inner = H*W: whole channels) is dropped
// when Philox.uniform(seed, stream, u) < p, exactly as the CPU backend, so both devices drop the
// same units. Kept units are multiplied by `keepScale` = 1 / (1 - p), computed once on the host
// like the CPU does, so results match bit for bit. No mask is stored: backward draws it again.
//
// Thread mapping: a grid-stride loop over elements; each thread computes its unit's Philox block
// (10 rounds of integer multiplies, cheaper than a mask read from memory). A body over the
// storage type T of x and y (common.cuh).
#include "common.cuh"

template <class T> __device__ __forceinline__ void dropout_body(const T* __restrict__ x, T* __restrict__ y, int n, float p,
                                                                float keepScale, long long seed, long long stream, int inner) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        bool drop = philox_uniform(seed, stream, (uint64_t) (i / inner)) < p;
        st(y, i, drop ? 0.0f : ld(x, i) * keepScale);
    }
}

// y = x * keepScale where the unit is kept, else 0; the backward is the same map on dy.
#define DROPOUT_PARAMS(T, x, y) const T* __restrict__ x, T* __restrict__ y, int n, float p, float keepScale, long long seed, long long stream, int inner
extern "C" __global__ void dropout_forward(DROPOUT_PARAMS(float, x, y)) { dropout_body(x, y, n, p, keepScale, seed, stream, inner); }
extern "C" __global__ void dropout_forward_bf16(DROPOUT_PARAMS(bf16, x, y)) { dropout_body(x, y, n, p, keepScale, seed, stream, inner); }
extern "C" __global__ void dropout_backward(DROPOUT_PARAMS(float, dy, dx)) { dropout_body(dy, dx, n, p, keepScale, seed, stream, inner); }
extern "C" __global__ void dropout_backward_bf16(DROPOUT_PARAMS(bf16, dy, dx)) { dropout_body(dy, dx, n, p, keepScale, seed, stream, inner); }
