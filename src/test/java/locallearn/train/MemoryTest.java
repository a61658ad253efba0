package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import locallearn.backend.cpu.CpuBackend;
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
 */
class MemoryTest {
    private static Bench.Result bench(String model, String mode, int batch) {
        try (var be = new CpuBackend()) {
            return Bench.run(be, Bench.config(model, mode, batch), new ModelInput(3, 32, 32, 10), 0, 1);
        }
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

    @Test void vgg19AtBatch128KeepsAtMost22HundredthsOfGlobalActivations() { assertRatio("vgg19", 128, 0.22); }

    @Test void vgg8bAtBatch32KeepsAtMostSixTenthsOfGlobalActivations() { assertRatio("vgg8b", 32, 0.6); }

    @Test void vgg11bAtBatch32KeepsAtMost45HundredthsOfGlobalActivations() { assertRatio("vgg11b", 32, 0.45); }
}
