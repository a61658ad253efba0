// Fallback GEMM (Backend family "gemm"), used when cuBLAS cannot be loaded, when the selftest
// asks for our own kernels, and for bf16 operands: C = alpha op(A) op(B) + beta C, row-major,
// op(X) = X or X^T, op(A) (m, k), op(B) (k, n), C (m, n), `batch` products whose operands start
// every strideA / strideB / strideC elements (blockIdx.z picks the product). beta = 0 never reads
// C, as BLAS (C may hold uninitialised memory). tf32 != 0 rounds every element of op(A) and op(B)
// to TF32 as it is staged (tf32_round: nearest, ties away, as cvt.rna.tf32.f32 and the CPU twin's
// Tf32.round), before alpha, and sums in float: the arithmetic of a tensor-core TF32 GEMM,
// summation order aside. The fallback convolution is im2col + this kernel, so it rounds x, w and
// dy the same way.
//
// Precision: a body over the operands' storage type T (A and B share one, as CheckedBackend
// requires) and C's type TC: bf16 operands are widened as they are staged, the sums are float,
// and C is rounded once when it is stored. Entries (common.cuh's naming rule): gemm (float),
// gemm_bf16 (all bf16), gemm_bf16_f32 (a weight gradient: bf16 operands, float C), gemm_f32_bf16.
//
// Thread mapping: a 64 x 64 tile of C per block of 256 threads; each thread owns a 4 x 4 set of
// outputs at rows ty + 16 r and columns tx + 16 c (strided, so a warp reads 16 consecutive shared
// words). The k dimension is walked in 16-wide slices, staged
// through shared memory: As[kk][i] = op(A)[i0 + i][k0 + kk], Bs[kk][j] = op(B)[k0 + kk][j0 + j].
// Each of the two loads is laid out so that consecutive threads read consecutive addresses of
// the operand in global memory, whatever its transposition.
#include "common.cuh"

#define TM 64
#define TN 64
#define TK 16

template <class T, class TC>
__device__ __forceinline__ void gemm_body(int transA, int transB, int m, int n, int k, float alpha,
        const T* __restrict__ A, const T* __restrict__ Bm, float beta, TC* __restrict__ Cm,
        long long strideA, long long strideB, long long strideC, int tf32) {
    __shared__ float As[TK][TM + 1];   // +1: the stores of a warp spread over the banks
    __shared__ float Bs[TK][TN + 1];
    const T* a = A + strideA * blockIdx.z;
    const T* b = Bm + strideB * blockIdx.z;
    TC* c = Cm + strideC * blockIdx.z;
    int i0 = blockIdx.y * TM, j0 = blockIdx.x * TN;
    int t = threadIdx.x, tx = t % 16, ty = t / 16;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += TK) {
        #pragma unroll
        for (int l = 0; l < 4; l++) {
            int e = t + 256 * l;                  // 0 .. 1023 over the 16 x 64 slice
            int kk, i;
            if (transA) { i = e % TM; kk = e / TM; }   // A is (k, m): i is contiguous
            else { kk = e % TK; i = e / TK; }          // A is (m, k): kk is contiguous
            int gi = i0 + i, gk = k0 + kk;
            float v = 0.0f;
            if (gi < m && gk < k) v = transA ? ld(a, (long long) gk * m + gi) : ld(a, (long long) gi * k + gk);
            As[kk][i] = tf32 ? tf32_round(v) : v;
            int j;
            if (transB) { kk = e % TK; j = e / TK; }   // B is (n, k): kk is contiguous
            else { j = e % TN; kk = e / TN; }          // B is (k, n): j is contiguous
            int gj = j0 + j;
            gk = k0 + kk;
            v = 0.0f;
            if (gj < n && gk < k) v = transB ? ld(b, (long long) gj * k + gk) : ld(b, (long long) gk * n + gj);
            Bs[kk][j] = tf32 ? tf32_round(v) : v;
        }
        __syncthreads();
        #pragma unroll
        for (int kk = 0; kk < TK; kk++) {
            float ar[4], br[4];
            #pragma unroll
            for (int r = 0; r < 4; r++) ar[r] = As[kk][ty + 16 * r];
            #pragma unroll
            for (int q = 0; q < 4; q++) br[q] = Bs[kk][tx + 16 * q];
            #pragma unroll
            for (int r = 0; r < 4; r++)
                #pragma unroll
                for (int q = 0; q < 4; q++) acc[r][q] += ar[r] * br[q];
        }
        __syncthreads();
    }
    #pragma unroll
    for (int r = 0; r < 4; r++) {
        int gi = i0 + ty + 16 * r;
        if (gi >= m) continue;
        #pragma unroll
        for (int q = 0; q < 4; q++) {
            int gj = j0 + tx + 16 * q;
            if (gj >= n) continue;
            long long o = (long long) gi * n + gj;
            st(c, o, beta == 0.0f ? alpha * acc[r][q] : alpha * acc[r][q] + beta * ld(c, o));
        }
    }
}

#define GEMM_PARAMS(T, TC) int transA, int transB, int m, int n, int k, float alpha, const T* __restrict__ A, const T* __restrict__ Bm, \
        float beta, TC* __restrict__ Cm, long long strideA, long long strideB, long long strideC, int tf32
#define GEMM_ARGS transA, transB, m, n, k, alpha, A, Bm, beta, Cm, strideA, strideB, strideC, tf32
extern "C" __global__ void __launch_bounds__(256) gemm(GEMM_PARAMS(float, float)) { gemm_body(GEMM_ARGS); }
extern "C" __global__ void __launch_bounds__(256) gemm_bf16(GEMM_PARAMS(bf16, bf16)) { gemm_body(GEMM_ARGS); }
extern "C" __global__ void __launch_bounds__(256) gemm_bf16_f32(GEMM_PARAMS(bf16, float)) { gemm_body(GEMM_ARGS); }
extern "C" __global__ void __launch_bounds__(256) gemm_f32_bf16(GEMM_PARAMS(float, bf16)) { gemm_body(GEMM_ARGS); }
