// Batch normalisation over x (B, C, inner) with per-channel statistics (Backend family "batchnorm").
//
// Thread mapping:
//   batch_norm_forward_train, batch_norm_backward: one block of 1024 threads per channel c; its
//     threads stride over the B * inner elements of the channel (a full block per SM keeps enough
//     loads in flight: there are only as many blocks as channels). Statistics are two-pass (mean first, then the sum of
//     squared deviations) for accuracy, reduced with block_sum in a fixed order: deterministic and
//     atomics-free, and the block then normalises its own channel with the statistics in registers.
//   batch_norm_forward_eval: a grid-stride loop over elements, statistics from the running buffers.
//   channel_sum: batch_norm_backward's sums alone, with its mapping (a 1024-thread block per
//     channel) and so its summation order.
// x, y, dy and dx are activations of storage type T (common.cuh); parameters, running and saved
// statistics and their gradients are float in both variants.
#include "common.cuh"

// Element j of channel c, j = b * inner + i.
__device__ __forceinline__ long long bn_index(int j, int c, int C, int inner) {
    int b = j / inner, i = j - b * inner;
    return ((long long) b * C + c) * inner + i;
}

// y = (x - mean) * invstd * gamma + beta with batch statistics (biased variance); running stats
// updated with momentum and the unbiased variance (as PyTorch); saves mean and invstd per channel.
// y may be x: the block has read its whole channel (block_sum waits for every thread) before any write.
template <class T>
__device__ __forceinline__ void batch_norm_forward_train_body(const T* x, const float* __restrict__ gamma,
        const float* __restrict__ beta, float* runningMean, float* runningVar, float momentum, float eps,
        T* y, float* saveMean, float* saveInvStd, int B, int C, int inner) {
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int m = B * inner;
    float s = 0.0f;
    for (int j = threadIdx.x; j < m; j += blockDim.x) s += ld(x, bn_index(j, c, C, inner));
    float mean = block_sum(s, scratch) / m;
    float q = 0.0f;
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        float d = ld(x, bn_index(j, c, C, inner)) - mean;
        q += d * d;
    }
    float var = block_sum(q, scratch) / m;
    float invstd = 1.0f / sqrtf(var + eps);
    if (threadIdx.x == 0) {
        float unbiased = m > 1 ? var * m / (m - 1) : var;
        runningMean[c] = (1.0f - momentum) * runningMean[c] + momentum * mean;
        runningVar[c] = (1.0f - momentum) * runningVar[c] + momentum * unbiased;
        saveMean[c] = mean;
        saveInvStd[c] = invstd;
    }
    float g = gamma[c] * invstd, bt = beta[c];
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        long long k = bn_index(j, c, C, inner);
        st(y, k, (ld(x, k) - mean) * g + bt);
    }
}
#define BN_TRAIN_PARAMS(T) const T* x, const float* __restrict__ gamma, const float* __restrict__ beta, float* runningMean, float* runningVar, \
        float momentum, float eps, T* y, float* saveMean, float* saveInvStd, int B, int C, int inner
#define BN_TRAIN_ARGS x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, B, C, inner
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) batch_norm_forward_train(BN_TRAIN_PARAMS(float)) {
    batch_norm_forward_train_body(BN_TRAIN_ARGS);
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) batch_norm_forward_train_bf16(BN_TRAIN_PARAMS(bf16)) {
    batch_norm_forward_train_body(BN_TRAIN_ARGS);
}

// y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta
// y may be x: each element is read once, by the thread that writes it.
template <class T>
__device__ __forceinline__ void batch_norm_forward_eval_body(const T* x, const float* __restrict__ gamma,
        const float* __restrict__ beta, const float* __restrict__ runningMean, const float* __restrict__ runningVar,
        float eps, T* y, int B, int C, int inner) {
    int n = B * C * inner;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int c = (i / inner) % C;
        float a = gamma[c] * (1.0f / sqrtf(runningVar[c] + eps));
        st(y, i, (ld(x, i) - runningMean[c]) * a + beta[c]);
    }
}
#define BN_EVAL_PARAMS(T) const T* x, const float* __restrict__ gamma, const float* __restrict__ beta, const float* __restrict__ runningMean, \
        const float* __restrict__ runningVar, float eps, T* y, int B, int C, int inner
#define BN_EVAL_ARGS x, gamma, beta, runningMean, runningVar, eps, y, B, C, inner
extern "C" __global__ void batch_norm_forward_eval(BN_EVAL_PARAMS(float)) { batch_norm_forward_eval_body(BN_EVAL_ARGS); }
extern "C" __global__ void batch_norm_forward_eval_bf16(BN_EVAL_PARAMS(bf16)) { batch_norm_forward_eval_body(BN_EVAL_ARGS); }

// With xhat = (x - mean) * invstd over the m = B * inner elements of a channel:
// dbeta (+)= sum dy, dgamma (+)= sum dy * xhat, dx = gamma * invstd / m * (m dy - sum dy - xhat sum dy xhat).
template <class T>
__device__ __forceinline__ void batch_norm_backward_body(const T* x, const T* __restrict__ dy,
        const float* __restrict__ gamma, const float* __restrict__ saveMean, const float* __restrict__ saveInvStd,
        T* dx, float* dgamma, float* dbeta, int B, int C, int inner, int accumulate) {
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int m = B * inner;
    float mean = saveMean[c], invstd = saveInvStd[c];
    float sd = 0.0f, sdx = 0.0f;
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        long long k = bn_index(j, c, C, inner);
        float g = ld(dy, k);
        sd += g;
        sdx += g * (ld(x, k) - mean) * invstd;
    }
    sd = block_sum(sd, scratch);
    sdx = block_sum(sdx, scratch);
    if (threadIdx.x == 0) {
        dbeta[c] = accumulate ? dbeta[c] + sd : sd;
        dgamma[c] = accumulate ? dgamma[c] + sdx : sdx;
    }
    float f = gamma[c] * invstd / m, meanD = sd, meanDx = sdx;
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        long long k = bn_index(j, c, C, inner);
        float xhat = (ld(x, k) - mean) * invstd;
        st(dx, k, f * (m * ld(dy, k) - meanD - xhat * meanDx));
    }
}
#define BN_BACKWARD_PARAMS(T) const T* x, const T* __restrict__ dy, const float* __restrict__ gamma, const float* __restrict__ saveMean, \
        const float* __restrict__ saveInvStd, T* dx, float* dgamma, float* dbeta, int B, int C, int inner, int accumulate
#define BN_BACKWARD_ARGS x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, B, C, inner, accumulate
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) batch_norm_backward(BN_BACKWARD_PARAMS(float)) { batch_norm_backward_body(BN_BACKWARD_ARGS); }
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) batch_norm_backward_bf16(BN_BACKWARD_PARAMS(bf16)) { batch_norm_backward_body(BN_BACKWARD_ARGS); }

// out[c] (+)= sum over the channel's m = B * inner elements of x (times w when w is not null):
// batch_norm_backward's sums with the same thread mapping, strides and block_sum, so sum(dy) and
// sum(dy * xhat) come out as its dbeta and dgamma with mean 0 and invstd 1, bit for bit (there its
// product dy * xhat is rounded before the add, as __fmul_rn does here).
template <class T>
__device__ __forceinline__ void channel_sum_body(const T* __restrict__ x, const T* __restrict__ w, float* out, int B, int C, int inner, int accumulate) {
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int m = B * inner;
    float s = 0.0f;
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        long long k = bn_index(j, c, C, inner);
        s += w ? __fmul_rn(ld(x, k), ld(w, k)) : ld(x, k);
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[c] = accumulate ? out[c] + s : s;
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) channel_sum(const float* __restrict__ x, const float* __restrict__ w,
        float* out, int B, int C, int inner, int accumulate) {
    channel_sum_body(x, w, out, B, C, inner, accumulate);
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) channel_sum_bf16(const bf16* __restrict__ x, const bf16* __restrict__ w,
        float* out, int B, int C, int inner, int accumulate) {
    channel_sum_body(x, w, out, B, C, inner, accumulate);
}
