package locallearn.cli;

import java.io.PrintStream;
import locallearn.data.Datasets;

/**
 * The one-time decoding of an image folder on stderr: redrawn in place with \r at most ten times
 * a second on a terminal, else a line at every tenth of the way, so a log shows it is moving.
 */
final class DecodeProgress implements Datasets.Progress {
    private final PrintStream err;
    private final boolean redraw;
    private long lastDraw;
    private int lastTenth = -1;

    DecodeProgress(PrintStream err, boolean redraw) {
        this.err = err;
        this.redraw = redraw;
    }

    @Override public void decoded(String what, int done, int total) {
        if (redraw) {
            long now = System.nanoTime();
            if (done != total && now - lastDraw < 100_000_000L) return;
            lastDraw = now;
            err.printf("\r%s: %d/%d images\033[K%s", what, done, total, done == total ? "\n" : "");
        } else {
            int tenth = (int) (10L * done / total);
            if (tenth == lastTenth) return;
            lastTenth = done == total ? -1 : tenth; // the next phase starts again from 0
            err.printf("%s: %d/%d images%n", what, done, total);
        }
        err.flush();
    }
}
