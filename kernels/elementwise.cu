// Elementwise ops, activations, bias and whole-tensor reductions (Backend family "elementwise").
// Fill and copy need no kernel: the Java side uses cuMemsetD32Async and a device-to-device copy.
//
// Thread mapping:
//   axpy, scale, multiply, leaky_relu_*, bias_add: a grid-stride loop over the elements, one element per step.
//   sum, count_correct: ONE block of 1024 threads strides over the whole input and reduces with
//     block_sum, so the result is deterministic and no second pass or atomics are needed (these
//     run on losses and per-batch counters, small inputs).
//   bias_backward: one block per channel; its threads stride over the B * inner elements of that
//     channel and reduce in a fixed order (deterministic, no atomics).
#include "common.cuh"

#define GRID_STRIDE(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// y += a * x
extern "C" __global__ void axpy(int n, float a, const float* __restrict__ x, float* __restrict__ y) {
    GRID_STRIDE(i, n) y[i] += a * x[i];
}

// x *= a
extern "C" __global__ void scale(int n, float* x, float a) {
    GRID_STRIDE(i, n) x[i] *= a;
}

// out (+)= a * b; out may be a or b. The multiply and the add are rounded separately, as in Java
// (__fmul_rn keeps nvcc from fusing them), so the result is the CPU twin's bit for bit.
extern "C" __global__ void multiply(int n, const float* a, const float* b, float* out, int accumulate) {
    GRID_STRIDE(i, n) {
        float p = __fmul_rn(a[i], b[i]);
        out[i] = accumulate ? __fadd_rn(out[i], p) : p;
    }
}

// out[0] (+)= sum of x; launched as one block.
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) sum(const float* __restrict__ x, int n, float* out, int accumulate) {
    __shared__ float scratch[32];
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[0] = accumulate ? out[0] + s : s;
}

// out[0] (+)= rows whose first maximal logit is at the label; logits (B, K), labels (B) as floats.
// One block; a thread per row at a time.
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) count_correct(const float* __restrict__ logits, const float* __restrict__ labels,
                                         int B, int K, float* out, int accumulate) {
    __shared__ float scratch[32];
    float hits = 0.0f;
    for (int b = threadIdx.x; b < B; b += blockDim.x) {
        const float* row = logits + (long long) b * K;
        int best = 0;
        float bestv = row[0];
        for (int k = 1; k < K; k++) {
            if (row[k] > bestv) { bestv = row[k]; best = k; }
        }
        if (best == (int) labels[b]) hits += 1.0f;
    }
    hits = block_sum(hits, scratch);
    if (threadIdx.x == 0) out[0] = accumulate ? out[0] + hits : hits;
}

// y = x > 0 ? x : slope * x (in place allowed)
extern "C" __global__ void leaky_relu_forward(int n, const float* x, float* y, float slope) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = v > 0.0f ? v : slope * v;
    }
}

// dx = y > 0 ? dy : slope * dy
extern "C" __global__ void leaky_relu_backward(int n, const float* __restrict__ y, const float* dy, float* dx, float slope) {
    GRID_STRIDE(i, n) {
        float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : slope * g;
    }
}

// y (B, C, inner) += bias[c]
extern "C" __global__ void bias_add(float* y, const float* __restrict__ bias, int B, int C, int inner) {
    int n = B * C * inner;
    GRID_STRIDE(i, n) y[i] += bias[(i / inner) % C];
}

// dbias[c] (+)= sum over b and inner of dy (B, C, inner); grid = C blocks.
extern "C" __global__ void __launch_bounds__(ROW_THREADS) bias_backward(const float* __restrict__ dy, float* dbias, int B, int C, int inner, int accumulate) {
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int m = B * inner;
    float s = 0.0f;
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        int b = j / inner, i = j - b * inner;
        s += dy[((long long) b * C + c) * inner + i];
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) dbias[c] = accumulate ? dbias[c] + s : s;
}
