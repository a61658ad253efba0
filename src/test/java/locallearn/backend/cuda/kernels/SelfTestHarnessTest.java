package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import locallearn.backend.Backend;
import locallearn.backend.SelfTest;
import locallearn.backend.cpu.CpuBackend;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The selftest itself, on the CPU (no GPU needed): it must cover every op of Backend, pass when
 * both sides agree, catch a planted one-element error with its index and values, and keep going
 * past an op that throws. The GPU runs of it are only as good as these properties.
 */
class SelfTestHarnessTest {
    final SelfTest test = new SelfTest(3);
    final CpuBackend cpu = new CpuBackend();

    @Test void everyBackendOpHasACase() {
        Set<String> covered = new TreeSet<>();
        test.run(cpu, cpu, op -> { covered.add(op); return false; }, l -> {});
        covered.remove("allocator");
        Set<String> ops = new TreeSet<>();
        for (var m : Backend.class.getDeclaredMethods()) // the interface's op list, read once in a test
            if (!m.isDefault() && !Set.of("name", "describe", "precision", "allocate", "memory", "resetPeakMemory", "openLane", "laneMemory", "write", "read", "synchronize", "close").contains(m.getName()))
                ops.add(m.getName());
        ops.removeAll(covered);
        assertEquals(Set.of(), ops, "Backend ops without a selftest case");
    }

    @Test void theCpuAgreesWithItselfExactly() {
        List<SelfTest.Line> lines = test.run(cpu, new CpuBackend(), op -> true, l -> {});
        assertEquals(test.size() + 1, lines.size(), "every case and the allocator line");
        assertEquals("allocator", lines.get(lines.size() - 1).op());
        List<String> bad = lines.stream().filter(l -> !l.ok()).map(SelfTest.Line::format).toList();
        assertTrue(bad.isEmpty(), String.join("\n", bad));
        // the CPU is deterministic, so every error is exactly 0
        for (SelfTest.Line l : lines) assertEquals(0.0, l.maxAbsError(), l.format());
    }

    @Test void aPlantedErrorIsReportedWithItsIndexAndValues() {
        // axpy that gets one element of (1, 129) wrong by 0.01, far beyond its 1e-6 tolerance
        Backend faulty = new DelegatingBackend(new CpuBackend()) {
            @Override public void axpy(float a, Tensor x, Tensor y) {
                inner.axpy(a, x, y);
                if (y.numel() == 129) {
                    float[] v = inner.read(y);
                    v[100] += 0.01f;
                    inner.write(y, v);
                }
            }
        };
        List<SelfTest.Line> lines = test.run(cpu, faulty, op -> op.equals("axpy") || op.equals("scale"), l -> {});
        List<SelfTest.Line> failed = lines.stream().filter(l -> !l.ok()).toList();
        assertEquals(1, failed.size(), "only the (129,) axpy case fails: " + lines);
        assertEquals(3 + 3 + 1, lines.size(), "three axpy, three scale cases and the allocator line");
        SelfTest.Line f = failed.get(0);
        assertEquals("axpy", f.op());
        assertEquals(0.01, f.maxAbsError(), 1e-6);
        assertTrue(f.detail().startsWith("y: 1 of 129 beyond tol; [100] expected "), f.detail());
        assertTrue(f.format().startsWith("FAIL axpy"), f.format());
    }

    @Test void memoryAnOpLeavesAllocatedIsReported() {
        // fill that also allocates 4 bytes on another thread, where no scope is open, and never releases them
        Backend leaky = new DelegatingBackend(new CpuBackend()) {
            @Override public void fill(Tensor x, float value) {
                inner.fill(x, value);
                if (x.numel() == 7) {
                    Thread t = new Thread(() -> inner.allocate(1));
                    t.start();
                    try {
                        t.join();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        };
        List<SelfTest.Line> lines = test.run(cpu, leaky, op -> op.equals("fill"), l -> {});
        SelfTest.Line memory = lines.get(lines.size() - 1);
        assertFalse(memory.ok(), memory.format());
        assertEquals("4 bytes still allocated on delegating", memory.detail());
    }

    @Test void anOpThatThrowsFailsAloneAndTheOthersStillRun() {
        Backend broken = new DelegatingBackend(new CpuBackend()) {
            @Override public void scale(Tensor x, float a) { throw new IllegalStateException("kernel fault\nsecond line"); }
        };
        List<SelfTest.Line> seen = new ArrayList<>();
        List<SelfTest.Line> lines = test.run(cpu, broken, op -> op.equals("scale") || op.equals("copy"), seen::add);
        assertEquals(lines, seen, "each line reaches the sink as it is known");
        assertTrue(lines.get(lines.size() - 1).ok(), "a throwing op leaks nothing: its scope released the inputs");
        assertTrue(lines.stream().filter(l -> l.op().equals("copy")).allMatch(SelfTest.Line::ok));
        List<SelfTest.Line> scale = lines.stream().filter(l -> l.op().equals("scale")).toList();
        assertEquals(3, scale.size());
        for (SelfTest.Line l : scale) {
            assertFalse(l.ok());
            assertEquals("delegating threw IllegalStateException: kernel fault second line", l.detail(), "one line");
        }
    }
}
