package locallearn.backend;

import locallearn.config.Precision;
import locallearn.tensor.DType;
import locallearn.tensor.MemoryStats;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * The whole contract between the math and a device: every op the engine needs, on contiguous
 * row-major tensors of this backend. Arithmetic is float32; activations and their gradients may
 * be stored as bfloat16 ({@link DType}), widened on load and rounded on store, while parameters,
 * their gradients and optimizer state, batch-norm statistics, losses, the similarity matrix and
 * the feature-map std stay float32 ({@link CheckedBackend} says which argument may be which).
 * Outputs are passed in (allocated by the caller), so
 * a backend never decides lifetimes. Ops that produce a parameter gradient take
 * {@code accumulate}: true adds into the output, false overwrites it. Scalars that a kernel reads
 * on the device (a loss, its incoming gradient) are 1-element tensors, so a training step never
 * waits for the host; {@link #read} is the one place a number comes back.
 *
 * <p>Backends extend {@link CheckedBackend}, which checks every op's arguments once, with the
 * same messages on every device, before the device's implementation runs.
 *
 * <p>Every op has a plain-loop twin in {@code backend/cpu} and, for CUDA, a kernel of the same
 * name in {@code kernels/<family>.cu}. Shapes in the comments use B batch, C channels, H/W spatial,
 * D features, K classes, and "inner" for H*W (1 for fully connected tensors).
 */
public interface Backend extends AutoCloseable {

    /** "cpu" or "cuda". */
    String name();

    /** A human description: threads, device name, providers in use. */
    String describe();

    /** The arithmetic of gemm and the convolutions, fixed when the backend is opened: FP32, or TF32 (inputs rounded to 10 mantissa bits). */
    Precision precision();

    // ---- memory ----------------------------------------------------------------------------

    /** An uninitialised tensor of {@code dtype} from this device's pool, owned by the current scope. */
    Tensor allocate(Shape shape, DType dtype);

    default Tensor allocate(Shape shape) { return allocate(shape, DType.F32); }

    default Tensor allocate(int... dims) { return allocate(new Shape(dims)); }

    /** A tensor of {@code t}'s shape and dtype: an output or gradient that follows its input. */
    default Tensor allocateLike(Tensor t) { return allocate(t.shape(), t.dtype()); }

    default Tensor zeros(int... dims) {
        Tensor t = allocate(new Shape(dims));
        fill(t, 0f);
        return t;
    }

    MemoryStats memory();

    void resetPeakMemory();

    /** The calling thread's binding to a lane, undone by close (by the same thread). */
    interface Lane extends AutoCloseable {
        @Override void close();
    }

    /**
     * Makes the calling thread lane {@code lane} of {@code lanes}, a pipeline stage's share of
     * the device, until the returned binding is closed. Ops give the same results on a lane as
     * off one; tensors the thread allocates count for {@link #laneMemory}. On the CPU the lanes'
     * threads share the one pool of workers (an op's parts go to its own thread and to whichever
     * worker is idle, so a lane that waits lends its cores to the others); CUDA gives each lane a
     * stream of its own, so results one lane passes to another need {@link #handOff}.
     */
    Lane openLane(int lane, int lanes);

    /** What lane {@code lane}'s threads hold: live now, and the most since resetPeakMemory. */
    MemoryStats laneMemory(int lane);

    /**
     * The device lane {@code lane} of {@code lanes} runs on, as the epoch line and metrics.jsonl
     * name it: {@code "cpu"}, or {@code "cuda:N"} with N the GPU's ordinal, as --device lists it.
     */
    default String laneDevice(int lane, int lanes) { return name(); }

    /** A point in one thread's queued work that another thread's work is ordered after. */
    interface HandOff {
        /** The mark of work that is done when its ops return (the CPU's): nothing to wait for. */
        HandOff DONE = () -> {};

        /** Orders the calling thread's later ops after the work the hand-off marks. */
        void await();
    }

    /**
     * Marks the work the calling thread has queued so far (a pipeline stage, after its last write
     * to what it passes on); the thread that reads the results calls {@link HandOff#await} before
     * its first op. CUDA records an event on the producer's stream for the consumer's to wait on;
     * the CPU's ops are done when they return, so there is nothing to mark.
     */
    default HandOff handOff() { return HandOff.DONE; }

    /**
     * Puts {@code t}'s values on the calling thread's device, bit for bit, keeping the tensor
     * (every reference to it sees the new place): a pipeline stage on a GPU of its own takes in
     * what the stage before handed off, and its parameters. Nothing happens where t is already
     * there, which on a backend of one device is always.
     */
    default void moveHere(Tensor t) {}

    /** Copies host floats into {@code dst} (same element count), rounded to its dtype. */
    void write(Tensor dst, float[] src);

    /** Copies {@code src} to a new host array (widened to float); on a GPU this waits for the queued work. */
    float[] read(Tensor src);

    /** Waits until all queued work is done (timing, before reading allocator figures). */
    default void synchronize() {}

    @Override default void close() {}

    // ---- elementwise and reductions (family "elementwise") -----------------------------------

    void fill(Tensor x, float value);

    /** dst = src, converted when their dtypes differ (to bf16: rounded to nearest even). */
    void copy(Tensor src, Tensor dst);

    /**
     * dst[dstOffset + i] = src[srcOffset + i] for i &lt; count (flat element offsets; src and dst
     * distinct, sizes may differ): how a batch is worked through in chunks (a local block's sim
     * head) without tensors that start inside another one's memory.
     */
    void copyRange(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count);

    /** y += a * x */
    void axpy(float a, Tensor x, Tensor y);

    /** x *= a */
    void scale(Tensor x, float a);

    /** out[i] (+)= a[i] * b[i] (same element counts); out may be a or b. */
    void multiply(Tensor a, Tensor b, Tensor out, boolean accumulate);

    /** out[0] = sum of x (accumulate adds to out[0]). */
    void sum(Tensor x, Tensor out, boolean accumulate);

    /** out[0] (+)= number of rows b where argmax(logits[b, :]) == labels[b]; logits (B, K), labels (B). */
    void countCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate);

    /** y = x > 0 ? x : slope * x (ReLU is slope 0); may run in place (y == x). */
    void leakyReluForward(Tensor x, Tensor y, float slope);

    /**
     * dx = y > 0 ? dy : slope * dy, from the forward's output y (so the input need not be kept);
     * dx may be dy (in place: the tape hands the output's gradient on as the input's).
     */
    void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope);

    // ---- bias (family "elementwise") ----------------------------------------------------------

    /** y (B, C, inner) += bias[c] */
    void biasAdd(Tensor y, Tensor bias);

    /** dbias[c] (+)= sum over b and inner of dy (B, C, inner) */
    void biasBackward(Tensor dy, Tensor dbias, boolean accumulate);

    // ---- GEMM (family "gemm") -----------------------------------------------------------------

    /**
     * C = alpha * op(A) op(B) + beta * C for {@code batch} independent products whose operands
     * start every strideA, strideB, strideC elements; op(X) is X or its transpose; op(A) is
     * (m, k), op(B) is (k, n), C is (m, n), all row-major.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
              int batch, long strideA, long strideB, long strideC);

    default void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        gemm(transA, transB, m, n, k, alpha, a, b, beta, c, 1, 0, 0, 0);
    }

    // ---- convolution (family "conv") ----------------------------------------------------------

    /** y (B, K, oH, oW) = conv(x (B, C, H, W), w (K, C, kh, kw)), plus bias (K) when not null. */
    void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g);

    /** dx = conv2d's gradient with respect to its input, from dy and w. */
    void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g);

    /** dw (+)= gradient with respect to the weight, from x and dy; dbias too when not null. */
    void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate);

    // ---- batch norm (family "batchnorm") ------------------------------------------------------

    /**
     * Training-mode batch norm over x (B, C, inner) with batch statistics per channel (biased
     * variance for normalising); updates runningMean/runningVar with {@code momentum} (PyTorch's
     * 0.1) using the unbiased variance; saves mean and 1/sqrt(var + eps) per channel for backward.
     * y may be x (in place: a channel's statistics are complete before its first y is written).
     */
    void batchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                               float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd);

    /** Eval-mode batch norm with the running statistics. y may be x. */
    void batchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y);

    /** dx from dy; dgamma and dbeta (+)= their gradients. dx may be x (in place: each x is read before its dx is written). */
    void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                           Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate);

    /**
     * out[c] (+)= sum over b and inner of x[b, c, i] * weight[b, c, i] for x (B, C, inner), weight
     * of x's element count or null (then 1): the per-channel sums of batch norm's backward, summed
     * in its order (so sum(dy) and sum(dy * xhat) equal its dbeta and dgamma bit for bit). With
     * accumulate the sum is rounded to float and then added, as batch norm accumulates.
     */
    void channelSum(Tensor x, Tensor weight, Tensor out, boolean accumulate);

    // ---- dropout (family "dropout") -----------------------------------------------------------

    /**
     * y = x * mask / (1 - p) where mask is 0 with probability p. The mask is not stored: unit u
     * (element index divided by {@code inner}, so inner = H*W drops whole channels, inner = 1
     * single elements) is dropped when {@code Philox.uniform(seed, stream, u) < p}; backward
     * regenerates it.
     */
    void dropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int inner);

    void dropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int inner);

    // ---- pooling (family "pool") --------------------------------------------------------------

    void maxPoolForward(Tensor x, Tensor y, PoolGeom g);

    /** dx = dy routed to the first maximum of each window (recomputed from x), overwrites dx. */
    void maxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g);

    void avgPoolForward(Tensor x, Tensor y, PoolGeom g);

    void avgPoolBackward(Tensor dy, Tensor dx, PoolGeom g);

    // ---- losses (family "loss") ---------------------------------------------------------------

    /** loss[0] = mean over b of -log softmax(logits)[b, labels[b]]; probs (B, K) keeps the softmax for backward. */
    void crossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs);

    /** dlogits = dloss[0] * (probs - onehot(labels)) / B */
    void crossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits);

    /** loss[0] = mean of max(x,0) - x*t + log(1 + exp(-|x|)) over all elements (BCE with logits). */
    void bceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss);

    /** dlogits = dloss[0] * (sigmoid(x) - t) / n */
    void bceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits);

    /** loss[0] = mean of (a - b)^2 */
    void mseForward(Tensor a, Tensor b, Tensor loss);

    /** da = dloss[0] * 2 (a - b) / n */
    void mseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da);

    // ---- feedback alignment (family "fa") -----------------------------------------------------

    /**
     * The backward of the backprop-free pred loss, bceWithLogits(x w^T + b, t) through a
     * feedback-alignment layer (nn/LinearFA), in one op: with e (B, K) = dloss[0] (sigmoid(logits)
     * - targets) / (B K) the logits' gradient, dx (B, D) = e fb (overwritten), dw (K, D) (+)= e^T x
     * and db (K) (+)= the sum over b of e. logits and targets (B, K), x (B, D), fb (K, D) the
     * layer's fixed feedback matrix. dx, dw or db may be null (not computed); db only with dw.
     */
    void faBceBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor x, Tensor fb, Tensor dx, Tensor dw, Tensor db, boolean accumulate);

    // ---- similarity matrix (family "similarity") ----------------------------------------------

    /**
     * s (B, B) = clamp(xn xn^T, -1, 1) for x (B, D), where xn is each row centred by its mean and
     * divided by (1e-8 + its L2 norm), as the reference. Saves xc (B, D), the centred rows, and
     * norm (B), their L2 norms, for backward.
     */
    void similarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm);

    /**
     * dx from ds (B, B): the clamp passes gradient where -1 &lt;= s &lt;= 1 (as torch.clamp), then
     * back through the Gram product, the normalisation and the centring.
     */
    void similarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx);

    // ---- feature-map standard deviation (family "featstd") -------------------------------------

    /** y (B, C) = unbiased standard deviation over the inner elements of x (B, C, inner), like torch.std. */
    void featureMapStdForward(Tensor x, Tensor y);

    /** dx = dy * (x - mean) / ((inner - 1) * y), 0 where y is 0. */
    void featureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx);

    // ---- optimizers (family "optim") ----------------------------------------------------------

    /**
     * One Adam step as torch.optim.Adam, {@code step} counting from 1: g = grad + weightDecay * p,
     * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2; with vmax not null (AMSGrad) vmax = max(vmax, v)
     * is used instead of v; p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps).
     */
    void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                  float eps, float weightDecay, int step);

    /**
     * One SGD step as torch.optim.SGD with dampening 0: g = grad + weightDecay * p; with momentum
     * buf = momentum * buf + g (buf = g on the first step) and g = buf; p -= lr * g.
     */
    void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep);

    // ---- augmentation (family "augment") ------------------------------------------------------

    /**
     * In place, per channel: x (B, C, inner) = x * scale[c] + shift[c], or x * scale[c] when shift
     * is null. Normalising a batch on the device is scale = 1/std, shift = -mean/std (after the
     * crop, whose padding is black in pixel space, as the reference's torchvision pipeline).
     */
    void channelAffine(Tensor x, Tensor scale, Tensor shift);

    /**
     * Random crop with zero padding and optional horizontal flip, per image of x (B, C, H, W)
     * into y of the same shape. For image b: dy = floor(u0 * (2 pad + 1)) - pad, dx likewise from
     * u1, flip when u2 &lt; 0.5, with u0, u1, u2 = Philox.uniform(seed, stream, 3b + 0, 1, 2).
     * y[b, c, i, j] = x[b, c, i + dy, jj + dx] (0 outside), jj = flip ? W-1-j : j.
     */
    void randomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream);

    /**
     * Cutout in place: {@code holes} square holes of side {@code length} per image, set to 0 in
     * every channel. Hole k of image b has its centre (cy, cx) = (floor(u0 * H), floor(u1 * W))
     * with u0, u1 = Philox.uniform(seed, stream, 2(b * holes + k) + 0, 1) (one hole: 2b, 2b + 1),
     * rows cy - length/2 .. cy + length/2 - 1 (same for columns) clipped at the borders; holes
     * may overlap, as the reference's Cutout.
     */
    void cutout(Tensor x, int length, int holes, long seed, long stream);
}
