// Fused optimizer updates (Backend family "optim"), one read and one write of each state tensor
// per step. The bias corrections are computed once on the host exactly as the CPU twin does
// (stepSize = lr / (1 - b1^step), bc2Sqrt = sqrt(1 - b2^step), in double, rounded to float).
//
// Thread mapping: a grid-stride loop over parameters, one element per step.
#include "common.cuh"

// Adam / AMSGrad as torch.optim.Adam: g = grad + wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// AMSGrad (vmax not null) uses vmax = max(vmax, v) in place of v;
// p -= stepSize m / (sqrt(v) / bc2Sqrt + eps), the arithmetic order of torch and the CPU twin.
extern "C" __global__ void adam_step(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ m,
                                     float* __restrict__ v, float* __restrict__ vmax, int n, float stepSize, float beta1,
                                     float beta2, float eps, float weightDecay, float bc2Sqrt) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        float pi = p[i];
        float g = grad[i] + weightDecay * pi;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        if (vmax != nullptr) {
            vi = fmaxf(vmax[i], vi);
            vmax[i] = vi;
        }
        p[i] = pi - stepSize * mi / (sqrtf(vi) / bc2Sqrt + eps);
    }
}

// SGD as torch.optim.SGD with dampening 0: g = grad + wd p; with a momentum buffer
// buf = momentum buf + g (buf = g on the first step), g = buf; p -= lr g.
extern "C" __global__ void sgd_step(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ buf,
                                    int n, float lr, float momentum, float weightDecay, int firstStep) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        float pi = p[i];
        float g = grad[i] + weightDecay * pi;
        if (buf != nullptr) {
            g = firstStep ? g : momentum * buf[i] + g;
            buf[i] = g;
        }
        p[i] = pi - lr * g;
    }
}
