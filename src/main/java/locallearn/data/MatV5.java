package locallearn.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.InflaterInputStream;

/**
 * Just enough of the MATLAB level 5 MAT-file format ("MAT-File Format", MathWorks, the v5/v6/v7
 * layout; not v7.3, which is HDF5) to read real numeric arrays by name, as SVHN's .mat files hold
 * them: a 128-byte header, then data elements, each an 8-byte tag (type, byte count) or a 4-byte
 * "small element" tag with its data packed in. A variable is an miMATRIX element (array flags,
 * dimensions, name, real part), at the top level often wrapped in an miCOMPRESSED element (zlib).
 *
 * <p>Streaming: the file is read once, front to back, and variables not asked for are skipped
 * without keeping them. Every byte count is checked against the bytes left in its enclosing
 * element, and array data is read with a buffer that grows only as bytes arrive.
 *
 * <p>Hand-written rather than MFL (us.hebi.matlab.mat:mfl-core 0.5.15, the newest): MFL allocates
 * the arrays for a variable's dimensions and name at the sizes their tags claim before reading a
 * byte of them, with no hook to bound those (a 304-byte file whose name tag claims 2 GB allocates
 * 2 GB; one whose data tag claims 1.5 GB, 1.5 GB off-heap), and it calls sun.misc.Unsafe, which
 * JDK 25 warns about on stderr on every run.
 */
final class MatV5 {
    static final int MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6,
            MI_SINGLE = 7, MI_DOUBLE = 9, MI_INT64 = 12, MI_UINT64 = 13, MI_MATRIX = 14, MI_COMPRESSED = 15;
    static final int MX_DOUBLE = 6, MX_UINT64 = 15, MX_UINT8 = 9;

    private MatV5() {}

    /** A real numeric array: its MATLAB class, dimensions, storage type and raw data in the file's byte order. */
    record Matrix(String name, int mxClass, long[] dims, int dataType, boolean bigEndian, byte[] data) {
        long count() { return data.length / typeSize(dataType); }

        /** Element i as a double, whatever integer or float type stores it. */
        double get(int i) {
            int s = typeSize(dataType), o = i * s;
            long bits = 0;
            for (int k = 0; k < s; k++) {
                int b = data[o + (bigEndian ? k : s - 1 - k)] & 0xFF;
                bits = (bits << 8) | b;
            }
            return switch (dataType) {
                case MI_INT8 -> (byte) bits;
                case MI_UINT8, MI_UINT16, MI_UINT32 -> bits;
                case MI_INT16 -> (short) bits;
                case MI_INT32 -> (int) bits;
                case MI_INT64 -> bits;
                case MI_UINT64 -> bits >= 0 ? bits : Math.pow(2, 64) + bits;
                case MI_SINGLE -> Float.intBitsToFloat((int) bits);
                case MI_DOUBLE -> Double.longBitsToDouble(bits);
                default -> throw new IllegalStateException("type " + dataType);
            };
        }
    }

    static int typeSize(int type) {
        return switch (type) {
            case MI_INT8, MI_UINT8 -> 1;
            case MI_INT16, MI_UINT16 -> 2;
            case MI_INT32, MI_UINT32, MI_SINGLE -> 4;
            case MI_DOUBLE, MI_INT64, MI_UINT64 -> 8;
            default -> 0;
        };
    }

    /** Reads the variables named in {@code wanted} from a MAT file of {@code length} bytes. */
    static Map<String, Matrix> read(InputStream in, long length, String file, Set<String> wanted) throws IOException {
        Cursor top = new Cursor(in, length, file, false);
        byte[] header = top.bytes(128, "the 128-byte MAT-file header");
        String text = new String(header, 0, 116, StandardCharsets.ISO_8859_1);
        if (text.startsWith("MATLAB 7.3"))
            throw new DataException(file + ": is a MATLAB 7.3 (HDF5) MAT-file; this reader takes the v5/v7 format SVHN is distributed in");
        if (!text.startsWith("MATLAB 5.0 MAT-file"))
            throw new DataException(file + ": not a MATLAB 5 MAT-file (its header does not start with \"MATLAB 5.0 MAT-file\")");
        boolean big;
        if (header[126] == 'I' && header[127] == 'M') big = false;
        else if (header[126] == 'M' && header[127] == 'I') big = true;
        else throw new DataException(file + ": MAT-file header has no endian indicator (bytes 126-127 are not IM or MI)");
        top.big = big;

        Map<String, Matrix> out = new LinkedHashMap<>();
        while (top.left() > 0 && out.size() < wanted.size()) {
            long at = top.position();
            if (top.left() < 8) throw new DataException(file + ": " + top.left() + " stray bytes at the end");
            int type = top.u32(), n = top.u32();
            if ((type >>> 16) != 0) throw new DataException(file + ": unexpected small data element at the top level, byte " + at);
            long size = Integer.toUnsignedLong(n);
            if (size > top.left())
                throw new DataException(file + ": element at byte " + at + " claims " + size + " bytes, the file has " + top.left() + " left");
            if (type == MI_COMPRESSED) {
                Cursor packed = top.sub(size);
                Cursor inner = new Cursor(new InflaterInputStream(packed.asStream(), new java.util.zip.Inflater(), 1 << 16),
                        Long.MAX_VALUE, file + " (compressed element at byte " + at + ")", big);
                inner.hintBound = Bytes.MAX_DEFLATE_RATIO * size;  // what these compressed bytes can inflate to
                int innerType = inner.u32();
                long innerSize = Integer.toUnsignedLong(inner.u32());
                if (innerType != MI_MATRIX)
                    throw new DataException(inner.file + ": holds data type " + innerType + ", expected a matrix (14)");
                Matrix m = matrix(inner.sub(innerSize), wanted);
                if (m != null) out.put(m.name(), m);
                packed.skipRest();
            } else if (type == MI_MATRIX) {
                Cursor element = top.sub(size);
                Matrix m = matrix(element, wanted);
                if (m != null) out.put(m.name(), m);
                element.skipRest();
            } else {
                top.skip(size);
            }
            // no padding here: a top-level miMATRIX counts its padded sub-elements, and MATLAB and
            // scipy write compressed elements back to back
        }
        return out;
    }

    /** Parses one miMATRIX body; returns null for a variable that is not wanted (the caller skips it). */
    private static Matrix matrix(Cursor c, Set<String> wanted) throws IOException {
        if (c.left() == 0) return null;  // MATLAB writes empty arrays as an element of 0 bytes
        Cursor flags = c.element(MI_UINT32, "array flags");
        int word = flags.u32();
        int mxClass = word & 0xFF;
        boolean complex = (word & 0x0800) != 0;
        Cursor dimsEl = c.element(MI_INT32, "dimensions");
        if (dimsEl.left() < 8 || dimsEl.left() % 4 != 0 || dimsEl.left() > 4 * 32)
            throw new DataException(c.file + ": dimensions element of " + dimsEl.left() + " bytes");
        long[] dims = new long[(int) (dimsEl.left() / 4)];
        long count = 1;
        for (int i = 0; i < dims.length; i++) {
            dims[i] = dimsEl.u32();
            if (dims[i] < 0) throw new DataException(c.file + ": dimension " + i + " is " + dims[i]);
            try {
                count = Math.multiplyExact(count, dims[i]);
            } catch (ArithmeticException e) {
                count = Long.MAX_VALUE;  // reported below as more than 2^63 values
            }
        }
        Cursor nameEl = c.element(MI_INT8, "array name");
        String name = new String(nameEl.bytes((int) nameEl.left(), "the array name"), StandardCharsets.ISO_8859_1);
        if (!wanted.contains(name)) return null;
        String what = c.file + ": variable " + name;
        if (mxClass < MX_DOUBLE || mxClass > MX_UINT64)
            throw new DataException(what + " is not a numeric array (MATLAB class " + mxClass + ")");
        if (complex) throw new DataException(what + " is complex, expected real numbers");
        int[] tag = c.tag("real part");
        int size = typeSize(tag[0]);
        if (size == 0) throw new DataException(what + ": real part has data type " + tag[0] + ", not a number type");
        long bytes = Integer.toUnsignedLong(tag[1]);
        if (count == Long.MAX_VALUE || bytes != count * size)
            throw new DataException(what + ": dimensions " + dimsText(dims) + " need " + (count == Long.MAX_VALUE ? "more than 2^63" : count)
                    + " values, the data holds " + bytes + " bytes of " + size + "-byte values");
        if (bytes > Bytes.MAX_ARRAY) throw new DataException(what + ": " + Bytes.human(bytes) + " of data, more than this reader takes (2 GB)");
        byte[] data = c.small != null ? c.small : c.bytesGrowing(bytes, what);
        return new Matrix(name, mxClass, dims, tag[0], c.big, data);
    }

    static String dimsText(long[] dims) {
        StringBuilder s = new StringBuilder();
        for (long d : dims) s.append(s.isEmpty() ? "" : "x").append(d);
        return s.toString();
    }

    static long pad8(long n) { return (n + 7) / 8 * 8; }

    /**
     * A position in a stream with a budget of bytes it may still read: the enclosing element's
     * size. Reading past the budget or the stream's end is a DataException naming the file.
     */
    private static final class Cursor {
        final InputStream in;
        final String file;
        boolean big;
        long budget, position;
        /** The most bytes this stream can really deliver: first buffers are never sized past it. */
        long hintBound;
        /** The data of the last small element read by {@link #tag}, or null. */
        byte[] small;
        private final Cursor parent;

        Cursor(InputStream in, long budget, String file, boolean big) { this(in, budget, file, big, null); }

        private Cursor(InputStream in, long budget, String file, boolean big, Cursor parent) {
            this.in = in; this.budget = budget; this.file = file; this.big = big; this.parent = parent;
            this.hintBound = parent != null ? parent.hintBound : budget;
        }

        long left() { return budget; }

        long position() { return position; }

        /** A child cursor over the next {@code n} bytes; reading through it advances this one. */
        Cursor sub(long n) {
            if (n > budget) throw new DataException(file + ": element at byte " + position + " claims " + n + " bytes, only " + budget + " left");
            return new Cursor(in, n, file, big, this);
        }

        private void consumed(long n) {
            budget -= n;
            position += n;
            if (parent != null) parent.consumed(n);
        }

        byte[] bytes(int n, String what) throws IOException {
            if (n > budget) throw new DataException(file + ": " + what + " needs " + n + " bytes, only " + budget + " left");
            byte[] b = in.readNBytes(n);
            consumed(b.length);
            if (b.length < n) throw new DataException(file + ": cut short in " + what + " (" + b.length + " of " + n + " bytes)");
            return b;
        }

        byte[] bytesGrowing(long n, String what) throws IOException {
            if (n > budget) throw new DataException(what + ": data needs " + n + " bytes, its element has " + budget + " left");
            byte[] b = Bytes.readUpTo(in, n, Math.min(n, hintBound));
            consumed(b.length);
            if (b.length < n) throw new DataException(what + ": data is cut short (" + b.length + " of " + n + " bytes)");
            skip(pad8(n) - n <= budget ? pad8(n) - n : budget);
            return b;
        }

        int u32() throws IOException {
            byte[] b = bytes(4, "a 4-byte field");
            return big ? (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF)
                       : (b[3] & 0xFF) << 24 | (b[2] & 0xFF) << 16 | (b[1] & 0xFF) << 8 | (b[0] & 0xFF);
        }

        /**
         * Reads a data element's tag: returns {type, byte count}. A small element (byte count in the
         * upper half of the first word) also reads its packed data into {@link #small}.
         */
        int[] tag(String what) throws IOException {
            int first = u32();
            small = null;
            if ((first >>> 16) != 0) {
                int n = first >>> 16, type = first & 0xFFFF;
                if (n > 4) throw new DataException(file + ": small element for " + what + " claims " + n + " bytes (at most 4)");
                byte[] packed = bytes(4, what);
                small = java.util.Arrays.copyOf(packed, n);
                return new int[] {type, n};
            }
            return new int[] {first, u32()};
        }

        /** The next sub-element, which must have the given type, as a cursor over its (padded) data. */
        Cursor element(int type, String what) throws IOException {
            int[] t = tag(what);
            if (t[0] != type) throw new DataException(file + ": " + what + " has data type " + t[0] + ", expected " + type);
            if (small != null) return new Cursor(new java.io.ByteArrayInputStream(small), small.length, file, big, null);
            long n = Integer.toUnsignedLong(t[1]);
            if (pad8(n) > budget) throw new DataException(file + ": " + what + " claims " + n + " bytes, only " + budget + " left");
            byte[] data = bytes((int) n, what);
            skip(pad8(n) - n);
            return new Cursor(new java.io.ByteArrayInputStream(data), n, file, big, null);
        }

        void skip(long n) throws IOException {
            if (n > budget) throw new DataException(file + ": cannot skip " + n + " bytes, only " + budget + " left");
            long done = 0;
            byte[] scratch = new byte[(int) Math.min(1 << 16, Math.max(1, n))];
            while (done < n) {
                int r = in.read(scratch, 0, (int) Math.min(scratch.length, n - done));
                if (r < 0) { consumed(done); throw new DataException(file + ": cut short (file ends inside an element)"); }
                done += r;
            }
            consumed(n);
        }

        void skipRest() throws IOException { skip(budget); }

        /** This cursor's remaining bytes as a stream that ends at the budget (for the inflater). */
        InputStream asStream() {
            Cursor self = this;
            return new InputStream() {
                @Override public int read() throws IOException {
                    if (self.budget == 0) return -1;
                    int b = in.read();
                    if (b >= 0) self.consumed(1);
                    return b;
                }

                @Override public int read(byte[] b, int off, int len) throws IOException {
                    if (self.budget == 0) return -1;
                    int r = in.read(b, off, (int) Math.min(len, self.budget));
                    if (r > 0) self.consumed(r);
                    return r;
                }
            };
        }
    }
}
