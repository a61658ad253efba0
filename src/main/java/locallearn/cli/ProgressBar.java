package locallearn.cli;

import java.io.PrintStream;
import locallearn.train.TrainListener;

/** A one-line progress bar on stderr, redrawn with \r at most ten times a second. */
final class ProgressBar implements TrainListener {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private long lastDraw;

    ProgressBar(PrintStream err) { this.err = err; }

    @Override public void onStep(int epoch, int batch, int batches, long images, double seconds) {
        long now = System.nanoTime();
        if (batch != batches && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        int filled = (int) ((long) WIDTH * batch / batches);
        double rate = images / Math.max(seconds, 1e-9);
        double eta = (batches - batch) * (seconds / batch);
        err.printf("\repoch %d [%s%s] %d/%d  %.0f img/s  eta %.0fs\033[K", epoch, "=".repeat(filled), " ".repeat(WIDTH - filled),
                batch, batches, rate, eta);
        err.flush();
    }
}
