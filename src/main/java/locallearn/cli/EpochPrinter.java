package locallearn.cli;

import java.io.PrintStream;
import java.util.List;
import locallearn.train.EpochMetrics;
import locallearn.train.TrainListener;

/** One line per epoch on stdout: train and test error, per-layer local losses and errors, speed, peak memory. */
final class EpochPrinter implements TrainListener {
    private final PrintStream out;
    private final PrintStream bar; // the progress bar's stream, cleared before printing; null without a bar
    private final boolean layers;  // false: the epoch's line alone (the reference's --no-print-stats)

    EpochPrinter(PrintStream out, PrintStream bar, boolean layers) {
        this.out = out;
        this.bar = bar;
        this.layers = layers;
    }

    @Override public void onEpoch(EpochMetrics m) {
        if (bar != null) bar.print("\r\033[K");
        StringBuilder b = new StringBuilder();
        // greedy layer-wise training: the output layer and all but one block do not train in an epoch (NaN)
        String train = Double.isNaN(m.trainLoss()) ? "train -" : String.format("train loss %.4f err %.2f%%", m.trainLoss(), 100 * m.trainError());
        b.append(String.format("epoch %d  lr %.2e  %s  test loss %.4f err %.2f%%  %.0f img/s  %.1fs  peak %s",
                m.epoch(), m.lr(), train, m.testLoss(), 100 * m.testError(), m.imagesPerSecond(), m.seconds(), bytes(m.peakBytes())));
        for (int i = 0; layers && i < m.layers().size(); i++) {
            if (Double.isNaN(m.layerLoss()[i])) {
                b.append(String.format("%n  %-22s not training", m.layers().get(i)));
                continue;
            }
            b.append(String.format("%n  %-22s local loss %.4f", m.layers().get(i), m.layerLoss()[i]));
            if (!Double.isNaN(m.layerError()[i])) b.append(String.format("  local err %.2f%%", 100 * m.layerError()[i]));
        }
        EpochMetrics.PipelineStats p = m.pipeline();
        if (p != null) {
            List<String> ranges = p.blockRanges();
            for (int s = 0; s < p.stages(); s++) {
                double busy = p.busySeconds()[s], idle = p.idleSeconds()[s];
                b.append(String.format("%n  stage %d on %s, blocks %-10s busy %.1fs  idle %.1fs (%.0f%%)  peak %s", s, p.devices().get(s), ranges.get(s), busy, idle,
                        100 * idle / Math.max(1e-9, busy + idle), bytes(p.peakBytes()[s])));
            }
        }
        out.println(b);
        out.flush();
    }

    static String bytes(long n) {
        if (n >= 1 << 30) return String.format("%.2f GiB", n / (double) (1 << 30));
        if (n >= 1 << 20) return String.format("%.1f MiB", n / (double) (1 << 20));
        return String.format("%.1f KiB", n / 1024.0);
    }
}
