package locallearn.tensor;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class ScopeAndAllocatorTest {

    static final class HeapStorage extends Storage {
        HeapStorage(long bytes) { super(bytes); }
    }

    static final class CountingAllocator extends PooledAllocator<HeapStorage> {
        int created, destroyed;

        @Override protected HeapStorage create(long bytes) { created++; return new HeapStorage(bytes); }

        @Override protected void destroy(HeapStorage s) { destroyed++; }
    }

    final CountingAllocator alloc = new CountingAllocator();

    Tensor tensor(int... dims) {
        Shape s = new Shape(dims);
        return new Tensor(s, alloc.acquire(4L * s.numel()), alloc);
    }

    /** Lane by lane on this thread: what lane 1 released goes back to lane 1 first, though lane 0's block was pooled later. */
    @Test void aPooledBlockGoesFirstToTheLaneThatReleasedIt() {
        try {
            PooledAllocator.enterLane(1);
            HeapStorage ofLane1 = alloc.acquire(64);
            PooledAllocator.enterLane(0);
            HeapStorage ofLane0 = alloc.acquire(64);
            PooledAllocator.enterLane(1);
            alloc.release(ofLane1);
            PooledAllocator.enterLane(0);
            alloc.release(ofLane0); // the most recent in the pool
            PooledAllocator.enterLane(1);
            assertSame(ofLane1, alloc.acquire(64), "lane 1 gets its own block back, not the most recent");
            PooledAllocator.enterLane(2);
            assertSame(ofLane0, alloc.acquire(64), "a lane with none of its own takes the most recent");
            assertEquals(2, alloc.created);
        } finally {
            PooledAllocator.leaveLane();
        }
    }

    @Test void accountingCountsExactBytesOfLiveTensors() {
        Tensor a = tensor(3, 5);      // 60 bytes
        Tensor b = tensor(7);         // 28 bytes
        assertEquals(new MemoryStats(88, 88, 88), alloc.stats());
        a.close();
        assertEquals(new MemoryStats(28, 88, 88), alloc.stats());
        Tensor c = tensor(5, 3);      // same size as a: served from the pool
        assertEquals(2, alloc.created);
        assertEquals(new MemoryStats(88, 88, 88), alloc.stats());
        b.close();
        c.close();
        alloc.resetPeak();
        assertEquals(new MemoryStats(0, 0, 88), alloc.stats());
        alloc.trim();
        assertEquals(new MemoryStats(0, 0, 0), alloc.stats());
        assertEquals(2, alloc.destroyed);
    }

    @Test void closingAScopeReleasesWhatItOwnsButNotWhatItKept() {
        Tensor outer = tensor(4);
        Tensor kept;
        try (Scope s = Scope.open()) {
            Tensor tmp = tensor(10);
            kept = s.keep(tensor(2));
            assertEquals(2, s.size() + 1); // tmp only, kept moved out
            assertFalse(tmp.isReleased());
        }
        assertFalse(kept.isReleased());
        assertFalse(outer.isReleased());
        assertEquals(16 + 8, alloc.stats().current());
    }

    @Test void nestedScopesHandKeptTensorsToTheirParent() {
        try (Scope outer = Scope.open()) {
            Tensor t;
            try (Scope inner = Scope.open()) {
                t = inner.keep(tensor(3));
            }
            assertFalse(t.isReleased());
            assertEquals(1, outer.size());
        }
        assertEquals(0, alloc.stats().current());
    }

    @Test void useAfterReleaseNamesTheTensor() {
        Tensor t = tensor(2, 3);
        t.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, t::storage);
        assertTrue(e.getMessage().contains("(2, 3)"), e.getMessage());
        // the pooled block now serves another tensor; the stale handle must still refuse
        Tensor u = tensor(3, 2);
        assertSame(u.storage(), u.storage());
        assertThrows(IllegalStateException.class, t::storage);
    }

    @Test void viewSharesMemoryAndChecksElementCount() {
        Tensor t = tensor(2, 3, 4);
        Tensor v = t.view(6, 4);
        assertSame(t.storage(), v.storage());
        v.close(); // a view does not own memory
        assertFalse(t.isReleased());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.view(5, 5));
        assertTrue(e.getMessage().contains("(2, 3, 4)") && e.getMessage().contains("(5, 5)"), e.getMessage());
    }

    /** A tensor put on another pool's block (another device's) keeps working: views made before see the new block, closing gives it to the new pool. */
    @Test void aRehomedTensorLivesOnItsNewBlockAndPool() {
        CountingAllocator other = new CountingAllocator();
        Tensor t = tensor(2, 3);
        Tensor before = t.view(6);
        Storage old = t.rehome(other.acquire(24), other);
        assertNotSame(old, t.storage());
        assertSame(t.storage(), before.storage());
        alloc.release((HeapStorage) old);
        assertEquals(0, alloc.stats().current());
        assertEquals(24, other.stats().current());
        t.close();
        assertEquals(0, other.stats().current());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> tensor(4).view(2, 2).rehome(other.acquire(16), other));
        assertTrue(e.getMessage().contains("is a view"), e.getMessage());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class, () -> tensor(8).rehome(other.acquire(16), other));
        assertTrue(small.getMessage().contains("needs 32 bytes"), small.getMessage());
    }

    @Test void negativeSizesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Shape(2, -1));
        assertTrue(e.getMessage().contains("negative"));
    }
}
