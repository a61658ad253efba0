// Feedback alignment (Backend family "fa"): the backward of the backprop-free pred loss,
// bce_with_logits(x w^T + b, t), through a feedback-alignment layer, in one launch. With
// e (B, K) = dloss[0] (sigmoid(z) - t) / (B K), the logits' gradient, never stored:
//   dx (B, D)  = e fb         (fb (K, D) the layer's fixed random matrix; overwritten)
//   dw (K, D) (+)= e^T x
//   db (K)    (+)= sum over b of e
// CPU twin: backend/cpu/FeedbackAlignment.java. It replaces bce_with_logits_backward, two GEMMs
// and bias_backward (four launches and a (B, K) tensor); CudaBackend.doFaBceBackward says which
// shapes still take that path.
//
// Thread mapping: blockIdx.z is the output (0: dx, 1: dw), blockIdx.y a 64-row tile of it (rows
// of the batch for dx, of the projection for dw; tiles past its rows return), blockIdx.x a
// 64-column tile of D. 256 threads, each owning 4 x 4 outputs at rows ty + 16 r, columns
// tx + 16 c, as gemm.cu. The contraction (K for dx, B for dw) is walked in 16-wide slices staged
// through shared memory; e is computed as its slice is loaded, from logits and targets, with
// consecutive threads on consecutive addresses (for dx the slice is 64 rows of K, contiguous in
// k; for dw it is 16 rows of B, contiguous in the projection index). The dw blocks of column
// tile 0 also sum db for their rows: four partial sums per row over b = q, q + 4, ..., added in
// a fixed order. Every output is summed by one thread in a fixed order: deterministic.
//
// Precision: the body is a template over the storage type A of the tensors that come from the
// step's activations (logits, x, dx); targets, fb, dw, db and dloss stay float (CheckedBackend
// pins them to F32), and every sum is in float. fa_bce_backward instantiates it for float,
// fa_bce_backward_bf16 for bf16 (common.cuh's ld and st).
#include "common.cuh"

#define FA_TILE 64
#define FA_TK 16
#define FA_THREADS 256

// e = f (sigmoid(z) - t), as bce_with_logits_backward computes it
__device__ __forceinline__ float fa_logit_grad(float z, float t, float f) { return f * (1.0f / (1.0f + expf(-z)) - t); }

template <class A>
__device__ __forceinline__ void fa_bce_backward_tile(const A* __restrict__ logits, const float* __restrict__ targets, const float* __restrict__ dloss,
        const A* __restrict__ x, const float* __restrict__ fb, A* __restrict__ dx, float* __restrict__ dw, float* __restrict__ db,
        int accumulate, int B, int K, int D) {
    __shared__ float Es[FA_TK][FA_TILE + 1];   // Es[kk][i] = e at (output row i0 + i, contraction k0 + kk); +1 spreads the banks
    __shared__ float Rs[FA_TK][FA_TILE + 1];   // Rs[kk][j] = fb or x at (k0 + kk, j0 + j)
    __shared__ float partial[4][FA_TILE];
    bool forDx = blockIdx.z == 0;
    int rows = forDx ? B : K, inner = forDx ? K : B;
    int i0 = blockIdx.y * FA_TILE, j0 = blockIdx.x * FA_TILE;
    if (i0 >= rows || (forDx ? dx == nullptr : dw == nullptr)) return;   // uniform over the block
    float f = dloss[0] / (B * K);
    int t = threadIdx.x, tx = t % 16, ty = t / 16;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < inner; k0 += FA_TK) {
        #pragma unroll
        for (int l = 0; l < 4; l++) {
            int el = t + FA_THREADS * l;      // 0 .. 1023 over the 16 x 64 slice
            int kk, i;
            if (forDx) { kk = el % FA_TK; i = el / FA_TK; }   // e (B, K) row i0 + i: k contiguous
            else { i = el % FA_TILE; kk = el / FA_TILE; }      // e^T: row k0 + kk of e, the projection contiguous
            int gi = i0 + i, gk = k0 + kk;
            float v = 0.0f;
            if (gi < rows && gk < inner) {
                long long o = forDx ? (long long) gi * K + gk : (long long) gk * K + gi;
                v = fa_logit_grad(ld(logits, o), targets[o], f);
            }
            Es[kk][i] = v;
            int j = el % FA_TILE;
            kk = el / FA_TILE;
            int gj = j0 + j;
            gk = k0 + kk;
            v = 0.0f;
            if (gj < D && gk < inner) {
                long long o = (long long) gk * D + gj;
                v = forDx ? fb[o] : ld(x, o);
            }
            Rs[kk][j] = v;
        }
        __syncthreads();
        #pragma unroll
        for (int kk = 0; kk < FA_TK; kk++) {
            float er[4], rr[4];
            #pragma unroll
            for (int r = 0; r < 4; r++) er[r] = Es[kk][ty + 16 * r];
            #pragma unroll
            for (int q = 0; q < 4; q++) rr[q] = Rs[kk][tx + 16 * q];
            #pragma unroll
            for (int r = 0; r < 4; r++)
                #pragma unroll
                for (int q = 0; q < 4; q++) acc[r][q] += er[r] * rr[q];
        }
        __syncthreads();
    }
    #pragma unroll
    for (int r = 0; r < 4; r++) {
        int gi = i0 + ty + 16 * r;
        if (gi >= rows) continue;
        #pragma unroll
        for (int q = 0; q < 4; q++) {
            int gj = j0 + tx + 16 * q;
            if (gj >= D) continue;
            long long o = (long long) gi * D + gj;
            if (forDx) st(dx, o, acc[r][q]);
            else dw[o] = accumulate ? dw[o] + acc[r][q] : acc[r][q];
        }
    }
    if (forDx || db == nullptr || blockIdx.x != 0) return;   // uniform: db is summed by the dw blocks of column tile 0
    int i = t % FA_TILE, q = t / FA_TILE;
    float s = 0.0f;
    if (i0 + i < K)
        for (int b = q; b < B; b += 4) {
            long long o = (long long) b * K + i0 + i;
            s += fa_logit_grad(ld(logits, o), targets[o], f);
        }
    partial[q][i] = s;
    __syncthreads();
    if (t < FA_TILE && i0 + t < K) {
        float v = ((partial[0][t] + partial[1][t]) + partial[2][t]) + partial[3][t];
        db[i0 + t] = accumulate ? db[i0 + t] + v : v;
    }
}

// grid ((D + 63) / 64, (max(B, K) + 63) / 64, 2), block 256
extern "C" __global__ void __launch_bounds__(FA_THREADS) fa_bce_backward(const float* __restrict__ logits, const float* __restrict__ targets,
        const float* __restrict__ dloss, const float* __restrict__ x, const float* __restrict__ fb, float* __restrict__ dx,
        float* __restrict__ dw, float* __restrict__ db, int accumulate, int B, int K, int D) {
    fa_bce_backward_tile<float>(logits, targets, dloss, x, fb, dx, dw, db, accumulate, B, K, D);
}
extern "C" __global__ void __launch_bounds__(FA_THREADS) fa_bce_backward_bf16(const bf16* __restrict__ logits, const float* __restrict__ targets,
        const float* __restrict__ dloss, const bf16* __restrict__ x, const float* __restrict__ fb, bf16* __restrict__ dx,
        float* __restrict__ dw, float* __restrict__ db, int accumulate, int B, int K, int D) {
    fa_bce_backward_tile<bf16>(logits, targets, dloss, x, fb, dx, dw, db, accumulate, B, K, D);
}
