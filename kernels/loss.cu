// Losses and their gradients (Backend family "loss"). Losses are written to a 1-element device
// tensor and backward reads the incoming gradient dloss[0] from the device, so a training step
// never waits for the host.
//
// Thread mapping:
//   cross_entropy_forward: ONE block of 1024 threads; a warp per row at a time (softmax with the
//     row maximum subtracted, warp shuffles for max and sum), per-warp loss partials reduced with
//     block_sum: the mean is deterministic without atomics.
//   bce_with_logits_forward, mse_forward: ONE block striding over all elements, block_sum.
//   every backward: a grid-stride loop over elements.
// Logits, their gradients and mse's inputs are activations of storage type T (common.cuh); labels,
// targets, probs and the losses are float in both variants.
#include "common.cuh"

#define GRID_STRIDE(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

__device__ __forceinline__ float warp_max(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// loss[0] = mean over b of -log softmax(logits)[b, labels[b]]; probs (B, K) keeps the softmax.
template <class T>
__device__ __forceinline__ void cross_entropy_forward_body(const T* __restrict__ logits, const float* __restrict__ labels,
                                                           float* loss, float* __restrict__ probs, int B, int K) {
    __shared__ float scratch[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    float total = 0.0f;
    for (int b = warp; b < B; b += warps) {
        const T* row = logits + (long long) b * K;
        float* prow = probs + (long long) b * K;
        float mx = -INFINITY;
        for (int k = lane; k < K; k += 32) mx = fmaxf(mx, ld(row, k));
        mx = warp_max(mx);
        float se = 0.0f;
        for (int k = lane; k < K; k += 32) {
            float e = expf(ld(row, k) - mx);
            prow[k] = e;
            se += e;
        }
        se = warp_sum(se);
        float inv = 1.0f / se;
        for (int k = lane; k < K; k += 32) prow[k] *= inv;
        int label = (int) labels[b];
        // -log p[label] = log(sum) - (x[label] - max); an out-of-range label gives NaN, not a stray read
        if (lane == 0) total += (label >= 0 && label < K) ? logf(se) - (ld(row, label) - mx) : NAN;
    }
    total = block_sum(total, scratch);
    if (threadIdx.x == 0) loss[0] = total / B;
}
#define CE_FORWARD_PARAMS(T) const T* __restrict__ logits, const float* __restrict__ labels, float* loss, float* __restrict__ probs, int B, int K
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) cross_entropy_forward(CE_FORWARD_PARAMS(float)) {
    cross_entropy_forward_body(logits, labels, loss, probs, B, K);
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) cross_entropy_forward_bf16(CE_FORWARD_PARAMS(bf16)) {
    cross_entropy_forward_body(logits, labels, loss, probs, B, K);
}

// dlogits = dloss[0] * (probs - onehot(labels)) / B
template <class T>
__device__ __forceinline__ void cross_entropy_backward_body(const float* __restrict__ probs, const float* __restrict__ labels,
                                                            const float* __restrict__ dloss, T* __restrict__ dlogits, int B, int K) {
    float f = dloss[0] / B;
    GRID_STRIDE(i, B * K) {
        int b = i / K, k = i - b * K;
        float t = (int) labels[b] == k ? 1.0f : 0.0f;
        st(dlogits, i, f * (probs[i] - t));
    }
}
#define CE_BACKWARD_PARAMS(T) const float* __restrict__ probs, const float* __restrict__ labels, const float* __restrict__ dloss, \
        T* __restrict__ dlogits, int B, int K
extern "C" __global__ void cross_entropy_backward(CE_BACKWARD_PARAMS(float)) { cross_entropy_backward_body(probs, labels, dloss, dlogits, B, K); }
extern "C" __global__ void cross_entropy_backward_bf16(CE_BACKWARD_PARAMS(bf16)) { cross_entropy_backward_body(probs, labels, dloss, dlogits, B, K); }

// loss[0] = mean of max(x, 0) - x t + log(1 + exp(-|x|)), the stable form of BCE with logits.
template <class T>
__device__ __forceinline__ void bce_with_logits_forward_body(const T* __restrict__ logits, const float* __restrict__ targets, float* loss, int n) {
    __shared__ float scratch[32];
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float x = ld(logits, i);
        s += fmaxf(x, 0.0f) - x * targets[i] + log1pf(expf(-fabsf(x)));
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) loss[0] = s / n;
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) bce_with_logits_forward(const float* __restrict__ logits, const float* __restrict__ targets,
                                                   float* loss, int n) {
    bce_with_logits_forward_body(logits, targets, loss, n);
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) bce_with_logits_forward_bf16(const bf16* __restrict__ logits, const float* __restrict__ targets,
                                                   float* loss, int n) {
    bce_with_logits_forward_body(logits, targets, loss, n);
}

// dlogits = dloss[0] * (sigmoid(x) - t) / n
template <class T>
__device__ __forceinline__ void bce_with_logits_backward_body(const T* __restrict__ logits, const float* __restrict__ targets,
                                                              const float* __restrict__ dloss, T* __restrict__ dlogits, int n) {
    float f = dloss[0] / n;
    GRID_STRIDE(i, n) {
        float sig = 1.0f / (1.0f + expf(-ld(logits, i)));
        st(dlogits, i, f * (sig - targets[i]));
    }
}
#define BCE_BACKWARD_PARAMS(T) const T* __restrict__ logits, const float* __restrict__ targets, const float* __restrict__ dloss, \
        T* __restrict__ dlogits, int n
extern "C" __global__ void bce_with_logits_backward(BCE_BACKWARD_PARAMS(float)) { bce_with_logits_backward_body(logits, targets, dloss, dlogits, n); }
extern "C" __global__ void bce_with_logits_backward_bf16(BCE_BACKWARD_PARAMS(bf16)) { bce_with_logits_backward_body(logits, targets, dloss, dlogits, n); }

// loss[0] = mean of (a - b)^2
template <class T> __device__ __forceinline__ void mse_forward_body(const T* __restrict__ a, const T* __restrict__ b, float* loss, int n) {
    __shared__ float scratch[32];
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float d = ld(a, i) - ld(b, i);
        s += d * d;
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) loss[0] = s / n;
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) mse_forward(const float* __restrict__ a, const float* __restrict__ b, float* loss, int n) {
    mse_forward_body(a, b, loss, n);
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) mse_forward_bf16(const bf16* __restrict__ a, const bf16* __restrict__ b, float* loss, int n) {
    mse_forward_body(a, b, loss, n);
}

// da = dloss[0] * 2 (a - b) / n
template <class T>
__device__ __forceinline__ void mse_backward_body(const T* __restrict__ a, const T* __restrict__ b, const float* __restrict__ dloss, T* __restrict__ da, int n) {
    float f = 2.0f * dloss[0] / n;
    GRID_STRIDE(i, n) st(da, i, f * (ld(a, i) - ld(b, i)));
}
extern "C" __global__ void mse_backward(const float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ dloss, float* __restrict__ da, int n) {
    mse_backward_body(a, b, dloss, da, n);
}
extern "C" __global__ void mse_backward_bf16(const bf16* __restrict__ a, const bf16* __restrict__ b, const float* __restrict__ dloss, bf16* __restrict__ da, int n) {
    mse_backward_body(a, b, dloss, da, n);
}
