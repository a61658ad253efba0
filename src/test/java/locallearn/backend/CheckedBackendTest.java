package locallearn.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.CudaBackend;
import org.junit.jupiter.api.Test;

/**
 * The boundary both twins share. Structurally: every op of Backend is a final method of
 * CheckedBackend, which both backends extend, so the checks and their messages are one piece of
 * code for both devices (EmulatedGpuTest also runs {@link BadArguments} on the CUDA backend and
 * compares its messages with the CPU's). Here, on the CPU: every bad call is rejected, and the
 * messages of the checks that had drifted between the two copies read as pinned below.
 */
class CheckedBackendTest {
    private static final Set<String> NOT_OPS = Set.of("name", "describe", "precision", "allocate", "memory", "resetPeakMemory", "openLane", "laneMemory", "synchronize", "close");

    @Test void everyOpIsAFinalCheckedMethodThatBothBackendsInherit() throws NoSuchMethodException {
        assertEquals(CheckedBackend.class, CpuBackend.class.getSuperclass());
        assertEquals(CheckedBackend.class, CudaBackend.class.getSuperclass());
        List<String> unchecked = new ArrayList<>();
        for (Method m : Backend.class.getDeclaredMethods()) { // the interface's op list, read once in a test
            if (m.isDefault() || NOT_OPS.contains(m.getName())) continue;
            Method checked = CheckedBackend.class.getDeclaredMethod(m.getName(), m.getParameterTypes());
            String impl = "do" + Character.toUpperCase(m.getName().charAt(0)) + m.getName().substring(1);
            Method device = CheckedBackend.class.getDeclaredMethod(impl, m.getParameterTypes());
            if (!Modifier.isFinal(checked.getModifiers()) || !Modifier.isAbstract(device.getModifiers()) || !Modifier.isProtected(device.getModifiers()))
                unchecked.add(m.getName());
        }
        assertEquals(List.of(), unchecked, "ops that are not a final check calling a protected abstract implementation");
    }

    @Test void theCpuRejectsEveryBadCall() {
        List<String> bad = new ArrayList<>();
        for (String line : BadArguments.messages(new CpuBackend()))
            if (line.endsWith(": no exception") || line.contains(": threw ")) bad.add(line);
        assertEquals(List.of(), bad, "calls not rejected with IllegalArgumentException");
    }

    /** The first line of BadArguments' output for {@code name}. */
    private static String message(List<String> lines, String name) {
        for (String l : lines) if (l.startsWith(name + ": ")) return l.substring(name.length() + 2);
        throw new AssertionError("no call named " + name);
    }

    @Test void theChecksThatDriftedNowReadTheSameEverywhere() {
        List<String> m = BadArguments.messages(new CpuBackend());
        // only the CUDA copy had it; on the CPU a (3, 0) logits failed later, on its first label
        assertEquals("countCorrect: logits (3, 0) has no classes", message(m, "countCorrect no classes"));
        // both copies had these: the same words on every device
        assertEquals("randomCropFlip: y (1, 1, 4, 4) shares x's memory; the crop cannot run in place", message(m, "randomCropFlip in place"));
        assertEquals("scale: x (3,) used after release", message(m, "scale released"));
        assertEquals("fill: x is null", message(m, "fill null"));
        assertEquals("batchNormForwardTrain: runningVar (2,) has 2 elements, expected 3 (one per channel)", message(m, "batchNormForwardTrain runningVar"));
        assertEquals("gemm: c (7,) too small for m=2 n=2 k=2 batch=2 strideC=4", message(m, "gemm c strided"));
        assertEquals("crossEntropyForward: logits (0, 10) is empty", message(m, "crossEntropyForward empty"));
        // the new ops and the optional shift
        assertEquals("channelSum: x (2, 3, 4) and weight (2, 3) differ in element count", message(m, "channelSum weight"));
        assertEquals("channelSum: out (4,) has 4 elements, expected 3 (one per channel of x (2, 3, 4))", message(m, "channelSum out"));
        assertEquals("multiply: a (3,) and out (2,) differ in element count", message(m, "multiply out"));
        assertEquals("multiply: a is BF16 and out is F32; an op's activations share one dtype (copy converts)", message(m, "multiply dtypes"));
        assertEquals("channelAffine: shift (2,) has 2 elements, expected 3 (one per channel of x (2, 3, 4))", message(m, "channelAffine shift"));
    }

    @Test void everyMessageStartsWithItsOpAndNoCallLeaks() {
        CpuBackend be = new CpuBackend();
        long before = be.memory().current();
        List<String> names = BadArguments.names(), lines = BadArguments.messages(be);
        assertEquals(names.size(), lines.size());
        for (int i = 0; i < names.size(); i++) {
            String op = names.get(i).split(" ")[0];
            assertTrue(lines.get(i).startsWith(names.get(i) + ": " + op + ": "), "the message names the op " + op + ": " + lines.get(i));
        }
        assertEquals(before, be.memory().current(), "each call's tensors went back to the pool with its scope");
    }
}
