package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import locallearn.backend.ConvAlgorithm;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.Precision;
import locallearn.config.ModelInput;
import org.junit.jupiter.api.Test;

/**
 * The point of local learning, measured with the allocator's exact accounting: a local step
 * keeps one block's activations at a time, global backprop keeps all of them. The figures depend
 * only on what a step allocates, not on timing. Issue 5's targets, predsim / global peak
 * activation at batch 128 with the default (sliced) step: vgg16 <= 0.27, vgg19 <= 0.22 (measured
 * 2026-11-27: 0.231 and 0.209; two minutes for the four steps on 2 cores). Issue 3's targets at
 * batch 32: vgg8b <= 0.6, vgg11b <= 0.45 (measured 0.299 and 0.218). Not at a tiny batch: there
 * the sliced step's weight-sized buffers (the encoder's gradient and its x*xhat twin, the sim
 * head's gradient) outweigh the activations, e.g. vgg8b at batch 2 gives 0.68.
 *
 * <p>Since 2026-12-01 global backprop updates each layer as soon as its gradients are final
 * (Tape.whenBackwardPasses), so it no longer holds every parameter gradient at its peak: the same
 * local bytes divide by a smaller global peak (vgg16 0.249, vgg19 0.229, vgg8b 0.439, vgg11b 0.312
 * at the batches above). vgg19's bound moved from 0.22 to 0.24 for that reason alone; the
 * reference implementation's own ratio there is about 0.25.
 *
 * <p>Issue 12's target: in bf16 the peak activation is at most 0.55 of fp32's for vgg8b and vgg16
 * at batch 128, global and predsim (measured 0.505, 0.516, 0.531, 0.512): activations and their
 * gradients halve, parameter gradients stay float32. The test runs vgg16, the tighter of the two
 * (its parameter gradients weigh more against its activations), whose fp32 steps the ratio tests
 * above already took; vgg8b's four steps would add minutes, and bench-memory gives its figures.
 */
class MemoryTest {
    private static final Map<String, Bench.Result> RESULTS = new ConcurrentHashMap<>();

    private static Bench.Result bench(String model, String mode, int batch) { return bench(model, mode, batch, Precision.FP32); }

    private static Bench.Result bench(String model, String mode, int batch, Precision precision) {
        return RESULTS.computeIfAbsent(model + " " + mode + " " + batch + " " + precision, k -> {
            try (var be = new CpuBackend(ConvAlgorithm.AUTO, precision)) {
                return Bench.run(be, Bench.config(model, mode, batch).withPrecision(precision), new ModelInput(3, 32, 32, 10), 0, 1);
            }
        });
    }

    private static void assertRatio(String model, int batch, double max) {
        Bench.Result local = bench(model, "predsim", batch), global = bench(model, "global", batch);
        double ratio = (double) local.peakActivationBytes() / global.peakActivationBytes();
        System.out.printf("MemoryTest %s batch %d: predsim %d / global %d = %.4f (at most %.2f)%n", model, batch,
                local.peakActivationBytes(), global.peakActivationBytes(), ratio, max);
        assertTrue(ratio <= max, model + " batch " + batch + ": predsim activation " + local.peakActivationBytes() + " / global "
                + global.peakActivationBytes() + " = " + ratio + ", at most " + max);
    }

    @Test void vgg16AtBatch128KeepsAtMost27HundredthsOfGlobalActivations() { assertRatio("vgg16", 128, 0.27); }

    @Test void vgg19AtBatch128KeepsAtMost24HundredthsOfGlobalActivations() { assertRatio("vgg19", 128, 0.24); }

    @Test void vgg8bAtBatch32KeepsAtMostSixTenthsOfGlobalActivations() { assertRatio("vgg8b", 32, 0.6); }

    @Test void vgg11bAtBatch32KeepsAtMost45HundredthsOfGlobalActivations() { assertRatio("vgg11b", 32, 0.45); }

    @Test void vgg16InBf16KeepsAtMost55HundredthsOfFp32ActivationsAtBatch128() {
        for (String mode : new String[] {"global", "predsim"}) {
            long fp32 = bench("vgg16", mode, 128).peakActivationBytes(), bf16 = bench("vgg16", mode, 128, Precision.BF16).peakActivationBytes();
            double ratio = (double) bf16 / fp32;
            System.out.printf("MemoryTest vgg16 %s batch 128: bf16 %d / fp32 %d = %.4f (at most 0.55)%n", mode, bf16, fp32, ratio);
            assertTrue(ratio <= 0.55, "vgg16 " + mode + ": bf16 activation " + bf16 + " / fp32 " + fp32 + " = " + ratio + ", at most 0.55");
        }
    }
}
