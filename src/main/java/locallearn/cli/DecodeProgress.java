package locallearn.cli;

import java.io.PrintStream;
import locallearn.data.Datasets;

/**
 * The one-time decoding of an image folder on stderr: on a terminal redrawn in place with \r at
 * most ten times a second; into a log a line a minute and one when each phase ends, so a long
 * decode shows that it moves without filling the log.
 */
final class DecodeProgress implements Datasets.Progress {
    private final PrintStream err;
    private final boolean redraw;
    private final long everyNanos;
    private long last = System.nanoTime();

    DecodeProgress(PrintStream err, boolean redraw) {
        this.err = err;
        this.redraw = redraw;
        this.everyNanos = redraw ? 100_000_000L : 60_000_000_000L;
    }

    @Override public void decoded(String what, int done, int total) {
        long now = System.nanoTime();
        if (done != total && now - last < everyNanos) return;
        last = now;
        if (redraw) err.printf("\r%s: %d/%d images\033[K%s", what, done, total, done == total ? "\n" : "");
        else err.printf("%s: %d/%d images%n", what, done, total);
        err.flush();
    }
}
