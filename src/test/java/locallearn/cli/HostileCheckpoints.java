package locallearn.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import locallearn.train.SafeTensors;

/** Damaged copies of a good checkpoint, each in its own folder under {@code dir}, as a user might hand them to a command. */
final class HostileCheckpoints {
    private HostileCheckpoints() {}

    static List<Path> of(Path good, Path dir) throws IOException {
        byte[] bytes = Files.readAllBytes(good);
        Path truncated = write(dir.resolve("truncated"), Arrays.copyOf(bytes, bytes.length * 3 / 5));
        // an F16 tensor where F32 belongs: the header's first dtype, same length, so nothing else moves
        String header = new String(bytes, 0, 4096, StandardCharsets.ISO_8859_1);
        int at = header.indexOf("\"dtype\":\"F32\"");
        byte[] f16 = bytes.clone();
        f16[at + "\"dtype\":\"F".length() + 1] = '6';
        f16[at + "\"dtype\":\"F".length()] = '1';
        Path wrongDtype = write(dir.resolve("wrong-dtype"), f16);
        SafeTensors.Contents c = SafeTensors.read(good);
        var tensors = new LinkedHashMap<>(c.tensors());
        tensors.remove(tensors.keySet().iterator().next());
        Path missing = dir.resolve("missing-tensor").resolve("checkpoint.safetensors");
        SafeTensors.write(missing, tensors, c.metadata());
        var garbageMeta = new LinkedHashMap<>(c.metadata());
        garbageMeta.put("loss", "garbage");
        Path garbage = dir.resolve("garbage-metadata").resolve("checkpoint.safetensors");
        SafeTensors.write(garbage, c.tensors(), garbageMeta);
        // a header of 100,000 nested arrays, and one that claims more bytes than the file has
        byte[] deep = ("[".repeat(100_000) + "]".repeat(100_000)).getBytes(StandardCharsets.US_ASCII);
        Path nested = write(dir.resolve("nested"), withHeader(deep.length, deep));
        Path huge = write(dir.resolve("huge-length"), withHeader(Long.MAX_VALUE / 2, "{}".getBytes(StandardCharsets.US_ASCII)));
        return List.of(truncated, wrongDtype, missing, garbage, nested, huge);
    }

    /** A safetensors file: the little-endian header length {@code declared}, then {@code header}. */
    private static byte[] withHeader(long declared, byte[] header) {
        var b = java.nio.ByteBuffer.allocate(8 + header.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return b.putLong(declared).put(header).array();
    }

    private static Path write(Path folder, byte[] b) throws IOException {
        Files.createDirectories(folder);
        return Files.write(folder.resolve("checkpoint.safetensors"), b);
    }
}
