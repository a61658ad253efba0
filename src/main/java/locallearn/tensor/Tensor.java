package locallearn.tensor;

/**
 * A tensor: a shape and an element type ({@link DType}) over a block of device memory. Tensors are made by a backend
 * ({@code Backend.allocate}), belong to the innermost open {@link Scope} (or to the caller when
 * none is open) and give their memory back to the device's pool on {@link #close()}; a view
 * ({@link #view}) shares its owner's memory and lives as long as the owner.
 *
 * <p>Class labels are stored as float32 class indices (exact below 2^24), so labels need no
 * dtype of their own on either device.
 */
public final class Tensor implements AutoCloseable {
    private final Shape shape;
    private final DType dtype;
    private Storage storage;                           // a view reads its owner's
    private PooledAllocator<Storage> allocator;        // null for views
    private final Tensor owner;                        // this, or the tensor a view shares
    private boolean released;
    Scope scope;

    /** A float32 tensor. */
    public Tensor(Shape shape, Storage storage, PooledAllocator<? extends Storage> allocator) { this(shape, DType.F32, storage, allocator); }

    @SuppressWarnings("unchecked")
    public Tensor(Shape shape, DType dtype, Storage storage, PooledAllocator<? extends Storage> allocator) {
        if ((long) shape.numel() * dtype.bytes > storage.bytes)
            throw new IllegalArgumentException("tensor: shape " + shape + " of " + dtype + " needs " + (long) shape.numel() * dtype.bytes + " bytes, storage has " + storage.bytes);
        this.shape = shape;
        this.dtype = dtype;
        this.storage = storage;
        this.allocator = (PooledAllocator<Storage>) allocator;
        this.owner = this;
        Scope.adopt(this);
    }

    private Tensor(Shape shape, Tensor owner) {
        this.shape = shape;
        this.dtype = owner.dtype;
        this.storage = null; // storage() reads the owner's, which a rehome may change
        this.allocator = null;
        this.owner = owner;
    }

    public Shape shape() { return shape; }

    public DType dtype() { return dtype; }

    public int numel() { return shape.numel(); }

    public int dim(int i) { return shape.dim(i); }

    public int rank() { return shape.rank(); }

    /** The memory behind this tensor; throws if it was released. */
    public Storage storage() {
        if (owner.released) throw new IllegalStateException("tensor " + shape + " used after release");
        return owner.storage;
    }

    /**
     * Puts this tensor on {@code to}, a block of {@code pool} that already holds its values (another
     * device's copy), and returns the block it had, which the caller gives back to that block's
     * pool: how a backend with several devices moves a tensor and every reference to it keeps
     * working (a parameter, an optimizer's moment, a view made later). Not for views.
     */
    @SuppressWarnings("unchecked")
    public Storage rehome(Storage to, PooledAllocator<? extends Storage> pool) {
        if (owner != this) throw new IllegalStateException("rehome: " + this + " is a view");
        Storage old = storage();
        if ((long) shape.numel() * dtype.bytes > to.bytes)
            throw new IllegalArgumentException("rehome: " + this + " needs " + (long) shape.numel() * dtype.bytes + " bytes, the new block has " + to.bytes);
        storage = to;
        allocator = (PooledAllocator<Storage>) pool;
        return old;
    }

    public boolean isReleased() { return owner.released; }

    /** The same memory seen with another shape of the same element count. */
    public Tensor view(int... dims) {
        Shape s = new Shape(dims);
        if (s.numel() != shape.numel())
            throw new IllegalArgumentException("view: cannot view " + shape + " (" + shape.numel() + " elements) as " + s + " (" + s.numel() + ")");
        storage();
        return new Tensor(s, owner);
    }

    /**
     * The first elements of the same memory, seen with a shape of at most this tensor's element
     * count: a chunk buffer reused for a smaller last chunk.
     */
    public Tensor prefix(int... dims) {
        Shape s = new Shape(dims);
        if (s.numel() > shape.numel())
            throw new IllegalArgumentException("prefix: " + s + " (" + s.numel() + " elements) does not fit in " + shape + " (" + shape.numel() + ")");
        storage();
        return new Tensor(s, owner);
    }

    /** Returns the memory to the device's pool. Closing a view does nothing; closing twice is harmless. */
    @Override public void close() {
        if (owner != this || released) return;
        released = true;
        allocator.release(storage);
    }

    @Override public String toString() { return "Tensor" + shape + (dtype == DType.F32 ? "" : " " + dtype) + (owner.released ? " (released)" : ""); }
}
