package locallearn.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * How long loading Fashion-MNIST takes, split into reading the files (disk, or page cache, and
 * gunzip) and decoding them into the training arrays (header checks, label checks, bytes to
 * floats), and how much of decoding is the conversion itself rather than the JVM obtaining 220 MB
 * of fresh memory for the arrays. Reported, not asserted: timings on a shared machine are no test.
 * Best of 2 runs (the first warms the JIT up).
 */
class LoadingSpeedTest {
    static final Path DEBIAN = Path.of("/usr/share/datasets/fashion-mnist");
    static final List<String> FILES = List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    @Test void decodingFashionMnistTakesLessThanReadingIt() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(DEBIAN), "skipped: no " + DEBIAN + " (apt-get install dataset-fashion-mnist)");
        long bestRaw = Long.MAX_VALUE, bestRead = Long.MAX_VALUE, bestDecode = Long.MAX_VALUE, bestConvert = Long.MAX_VALUE;
        float[] warm = new float[60000 * 784];  // touched once, so the loop below times the conversion alone
        long compressed = 0, plain = 0;
        for (int run = 0; run < 2; run++) {
            long t0 = System.nanoTime();
            compressed = 0;
            for (String f : FILES) compressed += Files.readAllBytes(DEBIAN.resolve(f + ".gz")).length;
            long t1 = System.nanoTime();
            Map<String, Source.Blob> blobs = new Source.Folder(DEBIAN).read(FILES);
            long t2 = System.nanoTime();
            Dataset train = Idx.read("fashion-mnist", 10, 28, 28, blobs.get(FILES.get(0)), blobs.get(FILES.get(1)), 0);
            Dataset test = Idx.read("fashion-mnist", 10, 28, 28, blobs.get(FILES.get(2)), blobs.get(FILES.get(3)), 0);
            long t3 = System.nanoTime();
            Bytes.toUnit(blobs.get(FILES.get(0)).bytes(), 16, warm, 0, warm.length);
            long t4 = System.nanoTime();
            assertEquals(70000, train.size() + test.size());
            assertArrayEquals(train.images(), warm);
            plain = 0;
            for (Source.Blob b : blobs.values()) plain += b.bytes().length;
            bestRaw = Math.min(bestRaw, t1 - t0);
            bestRead = Math.min(bestRead, t2 - t1);
            bestDecode = Math.min(bestDecode, t3 - t2);
            bestConvert = Math.min(bestConvert, t4 - t3);
        }
        System.out.printf("fashion-mnist full: reading %d compressed bytes %.0f ms; reading + gunzip to %d bytes %.0f ms;"
                        + " decoding into new float arrays %.0f ms, of which converting the 47 MB of train pixels into"
                        + " an already touched array %.0f ms; %d cores%n",
                compressed, bestRaw / 1e6, plain, bestRead / 1e6, bestDecode / 1e6, bestConvert / 1e6,
                Runtime.getRuntime().availableProcessors());
    }
}
