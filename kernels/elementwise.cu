// Elementwise ops, activations, bias and whole-tensor reductions (Backend family "elementwise").
// Fill and copy need no kernel: the Java side uses cuMemsetD32Async / cuMemsetD16Async and a
// device-to-device copy; a copy between dtypes is convert.
//
// Thread mapping:
//   axpy, scale, multiply, leaky_relu_*, bias_add, convert: a grid-stride loop over the elements, one element per step.
//   sum, count_correct: ONE block of 1024 threads strides over the whole input and reduces with
//     block_sum, so the result is deterministic and no second pass or atomics are needed (these
//     run on losses and per-batch counters, small inputs).
//   bias_backward: one block per channel; its threads stride over the B * inner elements of that
//     channel and reduce in a fixed order (deterministic, no atomics).
// Each op is a body over the activations' storage type T (common.cuh: ld, st, the naming rule).
#include "common.cuh"

#define GRID_STRIDE(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// y += a * x
template <class T> __device__ __forceinline__ void axpy_body(int n, float a, const T* __restrict__ x, T* __restrict__ y) {
    GRID_STRIDE(i, n) st(y, i, ld(y, i) + a * ld(x, i));
}
extern "C" __global__ void axpy(int n, float a, const float* __restrict__ x, float* __restrict__ y) { axpy_body(n, a, x, y); }
extern "C" __global__ void axpy_bf16(int n, float a, const bf16* __restrict__ x, bf16* __restrict__ y) { axpy_body(n, a, x, y); }

// x *= a
template <class T> __device__ __forceinline__ void scale_body(int n, T* x, float a) {
    GRID_STRIDE(i, n) st(x, i, ld(x, i) * a);
}
extern "C" __global__ void scale(int n, float* x, float a) { scale_body(n, x, a); }
extern "C" __global__ void scale_bf16(int n, bf16* x, float a) { scale_body(n, x, a); }

// out (+)= a * b; out may be a or b. The multiply and the add are rounded separately, as in Java
// (__fmul_rn keeps nvcc from fusing them), so the result is the CPU twin's bit for bit.
template <class T> __device__ __forceinline__ void multiply_body(int n, const T* a, const T* b, T* out, int accumulate) {
    GRID_STRIDE(i, n) {
        float p = __fmul_rn(ld(a, i), ld(b, i));
        st(out, i, accumulate ? __fadd_rn(ld(out, i), p) : p);
    }
}
extern "C" __global__ void multiply(int n, const float* a, const float* b, float* out, int accumulate) { multiply_body(n, a, b, out, accumulate); }
extern "C" __global__ void multiply_bf16(int n, const bf16* a, const bf16* b, bf16* out, int accumulate) { multiply_body(n, a, b, out, accumulate); }

// out[0] (+)= sum of x; launched as one block.
template <class T> __device__ __forceinline__ void sum_body(const T* __restrict__ x, int n, float* out, int accumulate) {
    __shared__ float scratch[32];
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += ld(x, i);
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[0] = accumulate ? out[0] + s : s;
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) sum(const float* __restrict__ x, int n, float* out, int accumulate) {
    sum_body(x, n, out, accumulate);
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) sum_bf16(const bf16* __restrict__ x, int n, float* out, int accumulate) {
    sum_body(x, n, out, accumulate);
}

// out[0] (+)= rows whose first maximal logit is at the label; logits (B, K), labels (B) as floats.
// One block; a thread per row at a time.
template <class T> __device__ __forceinline__ void count_correct_body(const T* __restrict__ logits, const float* __restrict__ labels,
                                                                      int B, int K, float* out, int accumulate) {
    __shared__ float scratch[32];
    float hits = 0.0f;
    for (int b = threadIdx.x; b < B; b += blockDim.x) {
        const T* row = logits + (long long) b * K;
        int best = 0;
        float bestv = ld(row, 0);
        for (int k = 1; k < K; k++) {
            float v = ld(row, k);
            if (v > bestv) { bestv = v; best = k; }
        }
        if (best == (int) labels[b]) hits += 1.0f;
    }
    hits = block_sum(hits, scratch);
    if (threadIdx.x == 0) out[0] = accumulate ? out[0] + hits : hits;
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) count_correct(const float* __restrict__ logits, const float* __restrict__ labels,
                                         int B, int K, float* out, int accumulate) {
    count_correct_body(logits, labels, B, K, out, accumulate);
}
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) count_correct_bf16(const bf16* __restrict__ logits, const float* __restrict__ labels,
                                         int B, int K, float* out, int accumulate) {
    count_correct_body(logits, labels, B, K, out, accumulate);
}

// y = x > 0 ? x : slope * x (in place allowed)
template <class T> __device__ __forceinline__ void leaky_relu_forward_body(int n, const T* x, T* y, float slope) {
    GRID_STRIDE(i, n) {
        float v = ld(x, i);
        st(y, i, v > 0.0f ? v : slope * v);
    }
}
extern "C" __global__ void leaky_relu_forward(int n, const float* x, float* y, float slope) { leaky_relu_forward_body(n, x, y, slope); }
extern "C" __global__ void leaky_relu_forward_bf16(int n, const bf16* x, bf16* y, float slope) { leaky_relu_forward_body(n, x, y, slope); }

// dx = y > 0 ? dy : slope * dy
template <class T> __device__ __forceinline__ void leaky_relu_backward_body(int n, const T* __restrict__ y, const T* dy, T* dx, float slope) {
    GRID_STRIDE(i, n) {
        float g = ld(dy, i);
        st(dx, i, ld(y, i) > 0.0f ? g : slope * g);
    }
}
extern "C" __global__ void leaky_relu_backward(int n, const float* __restrict__ y, const float* dy, float* dx, float slope) {
    leaky_relu_backward_body(n, y, dy, dx, slope);
}
extern "C" __global__ void leaky_relu_backward_bf16(int n, const bf16* __restrict__ y, const bf16* dy, bf16* dx, float slope) {
    leaky_relu_backward_body(n, y, dy, dx, slope);
}

// y (B, C, inner) += bias[c]
template <class T> __device__ __forceinline__ void bias_add_body(T* y, const float* __restrict__ bias, int B, int C, int inner) {
    int n = B * C * inner;
    GRID_STRIDE(i, n) st(y, i, ld(y, i) + bias[(i / inner) % C]);
}
extern "C" __global__ void bias_add(float* y, const float* __restrict__ bias, int B, int C, int inner) { bias_add_body(y, bias, B, C, inner); }
extern "C" __global__ void bias_add_bf16(bf16* y, const float* __restrict__ bias, int B, int C, int inner) { bias_add_body(y, bias, B, C, inner); }

// dbias[c] (+)= sum over b and inner of dy (B, C, inner); grid = C blocks.
template <class T> __device__ __forceinline__ void bias_backward_body(const T* __restrict__ dy, float* dbias, int B, int C, int inner, int accumulate) {
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int m = B * inner;
    float s = 0.0f;
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        int b = j / inner, i = j - b * inner;
        s += ld(dy, ((long long) b * C + c) * inner + i);
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) dbias[c] = accumulate ? dbias[c] + s : s;
}
extern "C" __global__ void __launch_bounds__(ROW_THREADS) bias_backward(const float* __restrict__ dy, float* dbias, int B, int C, int inner, int accumulate) {
    bias_backward_body(dy, dbias, B, C, inner, accumulate);
}
extern "C" __global__ void __launch_bounds__(ROW_THREADS) bias_backward_bf16(const bf16* __restrict__ dy, float* dbias, int B, int C, int inner, int accumulate) {
    bias_backward_body(dy, dbias, B, C, inner, accumulate);
}

// dst = src in the other dtype: a copy between an F32 and a BF16 tensor (widening is exact,
// narrowing rounds to nearest even).
template <class S, class D> __device__ __forceinline__ void convert_body(const S* __restrict__ src, D* __restrict__ dst, int n) {
    GRID_STRIDE(i, n) st(dst, i, ld(src, i));
}
extern "C" __global__ void convert_f32_bf16(const float* __restrict__ src, bf16* __restrict__ dst, int n) { convert_body(src, dst, n); }
extern "C" __global__ void convert_bf16_f32(const bf16* __restrict__ src, float* __restrict__ dst, int n) { convert_body(src, dst, n); }
