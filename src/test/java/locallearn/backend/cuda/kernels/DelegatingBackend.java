package locallearn.backend.cuda.kernels;

import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.tensor.MemoryStats;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/** A backend that forwards every op to another; a test overrides one op to plant a fault. */
class DelegatingBackend implements Backend {
    final Backend inner;

    DelegatingBackend(Backend inner) { this.inner = inner; }

    @Override public String name() { return "delegating"; }
    @Override public String describe() { return "delegating to " + inner.describe(); }
    @Override public locallearn.config.Precision precision() { return inner.precision(); }
    @Override public Tensor allocate(Shape shape, locallearn.tensor.DType dtype) { return inner.allocate(shape, dtype); }
    @Override public MemoryStats memory() { return inner.memory(); }
    @Override public void resetPeakMemory() { inner.resetPeakMemory(); }
    @Override public Lane openLane(int lane, int lanes) { return inner.openLane(lane, lanes); }
    @Override public MemoryStats laneMemory(int lane) { return inner.laneMemory(lane); }
    @Override public HandOff handOff() { return inner.handOff(); }

    @Override public void moveHere(Tensor t) { inner.moveHere(t); }
    @Override public void write(Tensor dst, float[] src) { inner.write(dst, src); }
    @Override public float[] read(Tensor src) { return inner.read(src); }
    @Override public void fill(Tensor x, float value) { inner.fill(x, value); }
    @Override public void copy(Tensor src, Tensor dst) { inner.copy(src, dst); }
    @Override public void copyRange(Tensor src, int so, Tensor dst, int d, int count) { inner.copyRange(src, so, dst, d, count); }
    @Override public void axpy(float a, Tensor x, Tensor y) { inner.axpy(a, x, y); }
    @Override public void scale(Tensor x, float a) { inner.scale(x, a); }
    @Override public void multiply(Tensor a, Tensor b, Tensor out, boolean accumulate) { inner.multiply(a, b, out, accumulate); }
    @Override public void channelSum(Tensor x, Tensor weight, Tensor out, boolean accumulate) { inner.channelSum(x, weight, out, accumulate); }
    @Override public void sum(Tensor x, Tensor out, boolean accumulate) { inner.sum(x, out, accumulate); }
    @Override public void countCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate) { inner.countCorrect(logits, labels, out, accumulate); }
    @Override public void leakyReluForward(Tensor x, Tensor y, float slope) { inner.leakyReluForward(x, y, slope); }
    @Override public void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) { inner.leakyReluBackward(y, dy, dx, slope); }
    @Override public void biasAdd(Tensor y, Tensor bias) { inner.biasAdd(y, bias); }
    @Override public void biasBackward(Tensor dy, Tensor dbias, boolean accumulate) { inner.biasBackward(dy, dbias, accumulate); }
    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                               int batch, long strideA, long strideB, long strideC) {
        inner.gemm(transA, transB, m, n, k, alpha, a, b, beta, c, batch, strideA, strideB, strideC);
    }
    @Override public void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g) { inner.conv2dForward(x, w, bias, y, g); }
    @Override public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g) { inner.conv2dBackwardData(dy, w, dx, g); }
    @Override public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate) {
        inner.conv2dBackwardFilter(x, dy, dw, dbias, g, accumulate);
    }
    @Override public void batchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        inner.batchNormForwardTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
    }
    @Override public void batchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) {
        inner.batchNormForwardEval(x, gamma, beta, runningMean, runningVar, eps, y);
    }
    @Override public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                            Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate) {
        inner.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate);
    }
    @Override public void dropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int in) { inner.dropoutForward(x, y, p, seed, stream, in); }
    @Override public void dropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int in) { inner.dropoutBackward(dy, dx, p, seed, stream, in); }
    @Override public void maxPoolForward(Tensor x, Tensor y, PoolGeom g) { inner.maxPoolForward(x, y, g); }
    @Override public void maxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g) { inner.maxPoolBackward(x, dy, dx, g); }
    @Override public void avgPoolForward(Tensor x, Tensor y, PoolGeom g) { inner.avgPoolForward(x, y, g); }
    @Override public void avgPoolBackward(Tensor dy, Tensor dx, PoolGeom g) { inner.avgPoolBackward(dy, dx, g); }
    @Override public void crossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs) { inner.crossEntropyForward(logits, labels, loss, probs); }
    @Override public void crossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits) { inner.crossEntropyBackward(probs, labels, dloss, dlogits); }
    @Override public void bceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss) { inner.bceWithLogitsForward(logits, targets, loss); }
    @Override public void bceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits) { inner.bceWithLogitsBackward(logits, targets, dloss, dlogits); }
    @Override public void faBceBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor x, Tensor fb, Tensor dx, Tensor dw, Tensor db, boolean accumulate) {
        inner.faBceBackward(logits, targets, dloss, x, fb, dx, dw, db, accumulate);
    }
    @Override public void mseForward(Tensor a, Tensor b, Tensor loss) { inner.mseForward(a, b, loss); }
    @Override public void mseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da) { inner.mseBackward(a, b, dloss, da); }
    @Override public void similarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm) { inner.similarityForward(x, s, xc, norm); }
    @Override public void similarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx) { inner.similarityBackward(xc, norm, s, ds, dx); }
    @Override public void featureMapStdForward(Tensor x, Tensor y) { inner.featureMapStdForward(x, y); }
    @Override public void featureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx) { inner.featureMapStdBackward(x, y, dy, dx); }
    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                                   float eps, float weightDecay, int step) {
        inner.adamStep(param, grad, m, v, vmax, lr, beta1, beta2, eps, weightDecay, step);
    }
    @Override public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep) {
        inner.sgdStep(param, grad, momentumBuf, lr, momentum, weightDecay, firstStep);
    }
    @Override public void channelAffine(Tensor x, Tensor scale, Tensor shift) { inner.channelAffine(x, scale, shift); }
    @Override public void randomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream) { inner.randomCropFlip(x, y, pad, flip, seed, stream); }
    @Override public void cutout(Tensor x, int length, int holes, long seed, long stream) { inner.cutout(x, length, holes, seed, stream); }
}
