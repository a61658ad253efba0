package locallearn.data;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Where a dataset's files come from: a folder, a {@code .tar.gz} archive as the dataset's authors
 * distribute it, or the sample embedded in the jar. A file {@code NAME} may also be stored as
 * {@code NAME.gz}; gzip is recognised by its magic bytes 0x1f 0x8b and undone here, so readers see
 * the plain bytes of each file.
 */
sealed interface Source permits Source.Folder, Source.Archive, Source.Embedded {

    /** One file's name (for messages: the path, or archive!/entry) and its plain contents. */
    record Blob(String file, byte[] bytes) {}

    /** The named files, keyed by the names asked for; a missing one is a DataException. */
    Map<String, Blob> read(Collection<String> names);

    /** What was read, for {@link Datasets.Split#source()}. */
    String describe();

    /** Does this source hold the file {@code name} (or {@code name.gz})? Cheap: no reading. */
    boolean has(String name);

    record Folder(Path dir) implements Source {
        @Override public String describe() { return dir.toString(); }

        @Override public boolean has(String name) {
            return Files.exists(dir.resolve(name)) || Files.exists(dir.resolve(name + ".gz"));
        }

        @Override public Map<String, Blob> read(Collection<String> names) {
            Map<String, Blob> out = new LinkedHashMap<>();
            for (String name : names) {
                Path p = dir.resolve(name);
                if (!Files.exists(p) && Files.exists(dir.resolve(name + ".gz"))) p = dir.resolve(name + ".gz");
                out.put(name, readFile(p));
            }
            return out;
        }

        static Blob readFile(Path p) {
            String file = p.toString();
            if (Files.isDirectory(p)) throw new DataException(file + ": is a directory, expected a file");
            if (!Files.exists(p)) throw new DataException(file + ": no such file");
            try {
                long size = Files.size(p);
                if (size > Bytes.MAX_ARRAY) throw new DataException(file + ": " + Bytes.human(size) + " is larger than one file this reader takes (2 GB)");
                return new Blob(file, gunzipIfNeeded(Files.readAllBytes(p), file));  // sized by the real size on disk
            } catch (IOException e) {
                throw Bytes.failure(file, e);
            }
        }
    }

    /** A .tar.gz archive; its entries are matched by their base name, whatever folder they are in. */
    record Archive(Path archive) implements Source {
        @Override public String describe() { return archive.toString(); }

        @Override public boolean has(String name) { return true; }  // known only after reading it

        @Override public Map<String, Blob> read(Collection<String> names) {
            return TarGz.read(archive, names);
        }
    }

    /** The Fashion-MNIST sample inside the jar (see NOTICE for how it was made). */
    record Embedded(String folder) implements Source {
        @Override public String describe() { return "embedded sample"; }

        @Override public boolean has(String name) {
            return Embedded.class.getResource(folder + name) != null || Embedded.class.getResource(folder + name + ".gz") != null;
        }

        @Override public Map<String, Blob> read(Collection<String> names) {
            Map<String, Blob> out = new LinkedHashMap<>();
            for (String name : names) {
                String path = folder + name;
                if (Embedded.class.getResource(path) == null) path += ".gz";
                String file = "embedded sample " + path;
                try (InputStream in = Embedded.class.getResourceAsStream(path)) {
                    if (in == null) throw new DataException(file + ": missing from the jar (a broken build?)");
                    out.put(name, new Blob(file, gunzipIfNeeded(in.readAllBytes(), file)));
                } catch (IOException e) {
                    throw Bytes.failure(file, e);
                }
            }
            return out;
        }
    }

    /** The plain bytes of a file that may be gzipped; a buffer grows only as inflated bytes arrive. */
    static byte[] gunzipIfNeeded(byte[] raw, String file) {
        if (!Bytes.isGzip(raw)) return raw;
        // gzip's trailer holds the plain size mod 2^32: a good first buffer when deflate could have made it
        long hint = raw.length >= 18 ? Bytes.u32le(raw, raw.length - 4) : 0;
        if (hint > Bytes.MAX_DEFLATE_RATIO * raw.length) hint = 0;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw), 1 << 16)) {
            byte[] plain = Bytes.readUpTo(in, Bytes.MAX_ARRAY, hint);
            if (plain.length == Bytes.MAX_ARRAY && in.read() >= 0)
                throw new DataException(file + ": inflates to more than 2 GB, larger than one file this reader takes");
            return plain;
        } catch (IOException e) {
            throw Bytes.failure(file, e);
        }
    }

    /** Opens a file as a stream, gunzipping when the magic says so (for streaming readers: SVHN). */
    static InputStream openMaybeGzip(Path p) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        in.mark(2);
        int b0 = in.read(), b1 = in.read();
        in.reset();
        return b0 == 0x1F && b1 == 0x8B ? new GZIPInputStream(in, 1 << 16) : in;
    }

    static List<String> withGz(Collection<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) { out.add(n); out.add(n + ".gz"); }
        return out;
    }
}
