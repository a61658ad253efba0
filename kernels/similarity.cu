// The similarity matrix of the sim loss (Backend family "similarity"): for x (B, D),
// s = clamp(xn xn^T, -1, 1) with xn = xc / (1e-8 + |xc|), xc = x - rowmean(x), as the reference.
// The Gram product xn xn^T and, in backward, (dG + dG^T) xn go through the gemm (cuBLAS or the
// fallback kernel); these kernels do the row-wise parts around it.
//
// Forward:  similarity_normalize (one block per row: mean, xc, |xc|, xn), gemm, similarity_clamp.
// Backward: with dG = ds where -1 <= s <= 1 (torch.clamp passes the gradient inside the bounds),
//   dxn_i = sum_j (dG + dG^T)_ij xn_j = sum_j [(dG + dG^T)_ij / (eps + n_j)] xc_j,
//   so similarity_backward_gram writes that bracket as a (B, B) matrix, a gemm multiplies it by xc,
//   and similarity_backward_rows (one block per row) goes back through the normalisation
//   dxc = dxn / (eps + n) - xc (dxn . xc) / ((eps + n)^2 n) and the centring dx = dxc - mean(dxc).
// x, xc and dx have the activations' storage type T (common.cuh); xn and dxn, which only feed or
// leave the Gram products, and s, ds, norm and g are float, so a bf16 x is rounded only where the
// CPU twin rounds it: in xc and dx.
#include "common.cuh"

#define SIM_EPS 1e-8f

// xc = x - mean(x) per row, norm = |xc|, xn = xc / (eps + norm); grid = B blocks.
template <class T>
__device__ __forceinline__ void similarity_normalize_body(const T* __restrict__ x, T* __restrict__ xc, float* __restrict__ norm,
                                                          float* __restrict__ xn, int B, int D) {
    __shared__ float scratch[32];
    long long r = (long long) blockIdx.x * D;
    float s = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) s += ld(x, r + j);
    float mean = block_sum(s, scratch) / D;
    float q = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) {
        float c = ld(x, r + j) - mean;
        st(xc, r + j, c);
        q += c * c;
    }
    float nrm = sqrtf(block_sum(q, scratch));
    if (threadIdx.x == 0) norm[blockIdx.x] = nrm;
    float inv = 1.0f / (SIM_EPS + nrm);
    for (int j = threadIdx.x; j < D; j += blockDim.x) xn[r + j] = (ld(x, r + j) - mean) * inv;   // from xc before it was stored
}
#define SIM_NORMALIZE_PARAMS(T) const T* __restrict__ x, T* __restrict__ xc, float* __restrict__ norm, float* __restrict__ xn, int B, int D
extern "C" __global__ void __launch_bounds__(ROW_THREADS) similarity_normalize(SIM_NORMALIZE_PARAMS(float)) {
    similarity_normalize_body(x, xc, norm, xn, B, D);
}
extern "C" __global__ void __launch_bounds__(ROW_THREADS) similarity_normalize_bf16(SIM_NORMALIZE_PARAMS(bf16)) {
    similarity_normalize_body(x, xc, norm, xn, B, D);
}

// s = clamp(s, -1, 1) in place, over n elements.
extern "C" __global__ void similarity_clamp(float* s, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        s[i] = fminf(fmaxf(s[i], -1.0f), 1.0f);
}

// g[i, j] = (pass(i, j) ds[i, j] + pass(j, i) ds[j, i]) / (eps + norm[j]) over B * B elements.
extern "C" __global__ void similarity_backward_gram(const float* __restrict__ s, const float* __restrict__ ds,
                                                    const float* __restrict__ norm, float* __restrict__ g, int B) {
    int n = B * B;
    for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < n; k += blockDim.x * gridDim.x) {
        int i = k / B, j = k - i * B;
        int t = j * B + i;
        float a = (s[k] >= -1.0f && s[k] <= 1.0f) ? ds[k] : 0.0f;
        float b = (s[t] >= -1.0f && s[t] <= 1.0f) ? ds[t] : 0.0f;
        g[k] = (a + b) / (SIM_EPS + norm[j]);
    }
}

// dx (B, D) from dxn (B, D), back through the normalisation and the centring; dxn may be dx
// (float: in place). grid = B blocks.
template <class T>
__device__ __forceinline__ void similarity_backward_rows_body(const T* __restrict__ xc, const float* __restrict__ norm, const float* dxn,
                                                              T* dx, int B, int D) {
    __shared__ float scratch[32];
    long long r = (long long) blockIdx.x * D;
    float nrm = norm[blockIdx.x];
    float den = SIM_EPS + nrm;
    float dot = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) dot += dxn[r + j] * ld(xc, r + j);
    dot = block_sum(dot, scratch);
    // d|xc|/dxc = xc / |xc|; at |xc| = 0 the row is constant and that term is taken as 0
    float k = nrm > 0.0f ? dot / (den * den * nrm) : 0.0f;
    float s = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) s += dxn[r + j] / den - ld(xc, r + j) * k;
    float mean = block_sum(s, scratch) / D;
    for (int j = threadIdx.x; j < D; j += blockDim.x) st(dx, r + j, dxn[r + j] / den - ld(xc, r + j) * k - mean);
}
#define SIM_ROWS_PARAMS(T) const T* __restrict__ xc, const float* __restrict__ norm, const float* dxn, T* dx, int B, int D
extern "C" __global__ void __launch_bounds__(ROW_THREADS) similarity_backward_rows(SIM_ROWS_PARAMS(float)) {
    similarity_backward_rows_body(xc, norm, dxn, dx, B, D);
}
extern "C" __global__ void __launch_bounds__(ROW_THREADS) similarity_backward_rows_bf16(SIM_ROWS_PARAMS(bf16)) {
    similarity_backward_rows_body(xc, norm, dxn, dx, B, D);
}
