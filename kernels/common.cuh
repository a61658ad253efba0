// Shared device helpers for every kernel family: bfloat16 loads and stores, the Philox4x32-10
// generator (the twin of backend/Philox.java, bit for bit) and warp/block sum reductions.
//
// Reductions here are deterministic: a block always adds its values in the same tree order for a
// given blockDim, so a kernel that reduces in one block gives the same bits run to run (no atomics).
#pragma once
#include <stdint.h>
#ifdef __CUDACC__
#include <cuda_bf16.h>   // the emulated driver, compiling these files as C++, defines its own __nv_bfloat16
#endif

// ---- storage types ------------------------------------------------------------------------------
// A tensor holds float (F32) or bf16 (BF16) elements; arithmetic is always float. A kernel that
// reads or writes activations is a template body over their storage type T that loads with ld
// (bf16 widened to float, exactly) and stores with st (float rounded to the nearest bf16, ties to
// even, NaN kept: __float2bfloat16_rn), so a bf16 op is its float op on widened inputs with each
// output rounded once where it is stored, as the CPU twin (backend/cpu/Bf16.java) computes it.
// Parameters, their gradients and optimizer state, statistics and losses stay float* in every
// variant: where CheckedBackend pins a tensor to F32.
//
// Naming rule of the extern "C" entry points: the float instantiation has the op's name, the bf16
// one the name and "_bf16" (axpy, axpy_bf16); CudaBackend picks by the dtype of the op's
// activations. A body with two type parameters (gemm: operands, C) names a mixed instantiation by
// both, operands first: gemm_bf16_f32 takes bf16 A and B and a float C.
typedef __nv_bfloat16 bf16;

__device__ __forceinline__ float ld(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float ld(const bf16* p, long long i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void st(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void st(bf16* p, long long i, float v) { p[i] = __float2bfloat16_rn(v); }

// ---- Philox4x32-10 ------------------------------------------------------------------------------
// Layout as Philox.java: key = (seed low, seed high); counter = (block low, block high, stream low,
// stream high); the number for `index` is lane index % 4 of block index / 4.

// hi and lo words of a 32 x 32-bit product; host code too, so the generator can be checked on a CPU
__host__ __device__ __forceinline__ uint32_t mulhi32(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return (uint32_t) (((uint64_t) a * b) >> 32);
#endif
}

__host__ __device__ __forceinline__ uint4 philox_block(uint64_t seed, uint64_t stream, uint64_t block) {
    uint32_t c0 = (uint32_t) block, c1 = (uint32_t) (block >> 32);
    uint32_t c2 = (uint32_t) stream, c3 = (uint32_t) (stream >> 32);
    uint32_t k0 = (uint32_t) seed, k1 = (uint32_t) (seed >> 32);
    #pragma unroll
    for (int round = 0; round < 10; round++) {
        uint32_t hi0 = mulhi32(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint32_t hi1 = mulhi32(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    return make_uint4(c0, c1, c2, c3);
}

__host__ __device__ __forceinline__ uint32_t philox_bits(uint64_t seed, uint64_t stream, uint64_t index) {
    uint4 b = philox_block(seed, stream, index >> 2);
    switch (index & 3) {
        case 0: return b.x;
        case 1: return b.y;
        case 2: return b.z;
        default: return b.w;
    }
}

// Uniform in [0, 1) with 24 bits: (bits >>> 8) * 2^-24, exact in float as in Java.
__host__ __device__ __forceinline__ float philox_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    return (float) (philox_bits(seed, stream, index) >> 8) * 0x1.0p-24f;
}

// ---- TF32 ---------------------------------------------------------------------------------------
// x rounded to TF32 (10 mantissa bits): to nearest, ties away from zero, as PTX cvt.rna.tf32.f32 and
// CUTLASS's round_half_ulp_truncate; half a TF32 ulp added to the bits, the 13 low bits cleared.
// Infinities and NaN pass unchanged. Bit for bit the CPU twin's Tf32.round.
__device__ __forceinline__ float tf32_round(float x) {
    uint32_t bits = __float_as_uint(x);
    if ((bits & 0x7f800000u) == 0x7f800000u) return x;
    return __uint_as_float((bits + 0x1000u) & 0xffffe000u);
}

// ---- launch shapes ------------------------------------------------------------------------------
// Block sizes the Java side (CudaBackend.REDUCE_THREADS, ROW_THREADS) launches with; the kernels
// declare them in __launch_bounds__ so the driver's JIT keeps their registers within budget.
#define REDUCE_THREADS 1024   // single-block reductions (sum, count_correct, the loss forwards) and batch norm
#define ROW_THREADS 512       // one block per row or channel: bias_backward, similarity rows

// ---- reductions ---------------------------------------------------------------------------------

__device__ __forceinline__ float warp_sum(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 floats of shared memory; the call synchronises the block, so it may be called
// several times in a row with the same scratch.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();                        // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}
