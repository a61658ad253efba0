package locallearn.data;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
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

    /**
     * The named files, keyed by the names asked for; a missing one is a DataException. With
     * {@code gunzip} false, gzipped files come as they are (for readers that bound the inflating).
     */
    Map<String, Blob> read(Collection<String> names, boolean gunzip);

    default Map<String, Blob> read(Collection<String> names) { return read(names, true); }

    /** What was read, for {@link Datasets.Split#source()}. */
    String describe();

    record Folder(Path dir) implements Source {
        @Override public String describe() { return dir.toString(); }

        /** Does this folder hold the file {@code name} (or {@code name.gz})? Cheap: no reading. */
        boolean has(String name) {
            return Files.exists(dir.resolve(name)) || Files.exists(dir.resolve(name + ".gz"));
        }

        @Override public Map<String, Blob> read(Collection<String> names, boolean gunzip) {
            Map<String, Blob> out = new LinkedHashMap<>();
            for (String name : names) {
                Path p = dir.resolve(name);
                if (!Files.exists(p) && Files.exists(dir.resolve(name + ".gz"))) p = dir.resolve(name + ".gz");
                if (!Files.exists(p)) throw new DataException(p + ": no such file (nor " + name + ".gz)");
                out.put(name, readFile(p, gunzip));
            }
            return out;
        }

        static Blob readFile(Path p, boolean gunzip) {
            String file = p.toString();
            if (Files.isDirectory(p)) throw new DataException(file + ": is a directory, expected a file");
            if (!Files.exists(p)) throw new DataException(file + ": no such file");
            try {
                long size = Files.size(p);
                if (size > Bytes.MAX_ARRAY) throw new DataException(file + ": " + Bytes.human(size) + " is larger than one file this reader takes (2 GB)");
                byte[] raw = Files.readAllBytes(p);  // sized by the real size on disk
                return new Blob(file, gunzip ? gunzipIfNeeded(raw, file) : raw);
            } catch (IOException e) {
                throw Bytes.failure(file, e);
            }
        }
    }

    /** A .tar.gz archive; its entries are matched by their base name, whatever folder they are in. */
    record Archive(Path archive) implements Source {
        @Override public String describe() { return archive.toString(); }

        @Override public Map<String, Blob> read(Collection<String> names, boolean gunzip) {
            return TarGz.read(archive, names, gunzip);
        }
    }

    /** The Fashion-MNIST sample inside the jar (see NOTICE for how it was made). */
    record Embedded(String folder) implements Source {
        @Override public String describe() { return "embedded sample"; }

        @Override public Map<String, Blob> read(Collection<String> names, boolean gunzip) {
            Map<String, Blob> out = new LinkedHashMap<>();
            for (String name : names) {
                String path = folder + name;
                if (Embedded.class.getResource(path) == null) path += ".gz";
                String file = "embedded sample " + path;
                try (InputStream in = Embedded.class.getResourceAsStream(path)) {
                    if (in == null) throw new DataException(file + ": missing from the jar (a broken build?)");
                    byte[] raw = in.readAllBytes();
                    out.put(name, new Blob(file, gunzip ? gunzipIfNeeded(raw, file) : raw));
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
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw), 1 << 16)) {
            byte[] plain = Bytes.readUpTo(in, Bytes.MAX_ARRAY, Bytes.gzipSizeHint(raw));
            if (plain.length == Bytes.MAX_ARRAY && in.read() >= 0)
                throw new DataException(file + ": inflates to more than 2 GB, larger than one file this reader takes");
            return plain;
        } catch (IOException e) {
            throw Bytes.failure(file, e);
        }
    }

}
