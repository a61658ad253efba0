package locallearn.cli;

import static locallearn.cli.SvgChart.escape;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import locallearn.train.EpochMetrics;

/**
 * The report of one or several runs as one self-contained HTML page (inline SVG and CSS, no
 * network): error per epoch with one line per run, the learning rate, speed and peak memory
 * bars, the configurations side by side with the rows that differ marked, and each run's local
 * losses and errors per block. A live page (train --report) reloads itself while its run trains.
 */
final class ReportPage {
    private static final int W = 600, H = 320;
    /** Configuration rows in this order first, then the rest as the first run lists them. */
    private static final List<String> FIRST = List.of("model", "dataset", "mode", "loss", "precision", "device", "data", "train_images",
            "test_images", "epochs", "batch_size", "lr", "lr_decay_milestones", "lr_decay_fact", "optim");
    private static final Set<String> HIDDEN = Set.of("format");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);

    private ReportPage() {}

    /** The page for {@code runs} as of {@code now}; runs without a readable epoch appear only among the skipped. */
    static String render(List<RecordedRun> runs, Instant now, boolean live) {
        List<RecordedRun> shown = runs.stream().filter(r -> !r.epochs().isEmpty()).toList();
        StringBuilder b = new StringBuilder();
        String title = "locallearn report: " + String.join(", ", runs.stream().map(RecordedRun::name).toList());
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(escape(title)).append("</title>\n<style>\n")
                .append("body{font-family:sans-serif;font-size:14px;margin:12px 16px;color:#222}h1{font-size:20px;margin:0 0 6px}")
                .append("h2{font-size:16px;margin:18px 0 6px}.grid{display:grid;grid-template-columns:repeat(2,").append(W).append("px);gap:8px}")
                .append(".runs{margin:0;padding:0;list-style:none}.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px}")
                .append("table{border-collapse:collapse}td{max-width:440px;overflow-wrap:anywhere}th,td{border:1px solid #bbb;padding:2px 8px;text-align:left}thead th{background:#eee}")
                .append("tr.differs th,tr.differs td{background:#ffe8a8;font-weight:bold}tr.result td{font-weight:bold}.note{color:#555}.wide{grid-column:1/-1}\n")
                .append("</style></head><body>\n<h1>").append(escape(title)).append("</h1>\n<ul class=\"runs\">\n");
        for (RecordedRun r : runs) b.append(runLine(r, shown.indexOf(r), now));
        b.append("</ul>\n");
        if (!shown.isEmpty()) {
            b.append("<div class=\"grid\">\n").append(errorChart(shown)).append(lrChart(shown)).append(speedBars(shown)).append(memoryBars(shown))
                    .append("</div>\n");
            b.append(configTable(shown));
            b.append("<h2>Local losses and errors per block</h2>\n<div class=\"grid\">\n");
            for (RecordedRun r : shown) b.append(blockCharts(r));
            b.append("</div>\n");
        }
        List<String> skipped = runs.stream().flatMap(r -> r.skipped().stream()).toList();
        if (!skipped.isEmpty()) {
            b.append("<h2>Skipped</h2>\n<ul id=\"skipped\">\n");
            for (String s : skipped) b.append("<li>").append(escape(s)).append("</li>\n");
            b.append("</ul>\n");
        }
        b.append("<p class=\"note\">Written ").append(TIME.format(now)).append(" by locallearn report.</p>\n");
        if (live && shown.size() == 1 && shown.getFirst().state(now) != RecordedRun.State.ENDED) b.append(reloadScript(shown.getFirst()));
        return b.append("</body></html>\n").toString();
    }

    /** A run's name in its colour (none for a run without epochs, which has no lines), its folder, and how far it got. */
    private static String runLine(RecordedRun r, int color, Instant now) {
        String state = switch (r.state(now)) {
            case ENDED -> "ended " + TIME.format(r.runFile().ended()) + " (" + r.runFile().outcome() + ")";
            case TRAINING -> "training: last epoch written " + TIME.format(r.lastEpochWritten());
            case SILENT -> r.epochs().isEmpty() ? "no epoch to show" + (r.runFile() != null ? " (started " + TIME.format(r.runFile().started()) + ")" : "")
                    : silent(r.lastEpochWritten(), r.silentAfter());
        };
        String swatch = color < 0 ? "#fff" : SvgChart.color(color);
        return "<li><span class=\"swatch\" style=\"background:" + swatch + "\"></span><b>" + escape(r.name()) + "</b> ("
                + escape(r.dir().toString()) + "): " + r.epochs().size() + (r.epochs().size() == 1 ? " epoch" : " epochs")
                + ", <span class=\"state\">" + escape(state) + "</span></li>\n";
    }

    private static String silent(Instant last, Duration after) {
        return "stopped: no epoch since " + (last == null ? "it started" : TIME.format(last)) + ", more than " + minutes(after)
                + " (killed, or its machine went away?)";
    }

    private static String minutes(Duration d) { return d.toMinutes() >= 1 ? d.toMinutes() + " min" : d.toSeconds() + " s"; }

    private static String errorChart(List<RecordedRun> runs) {
        List<SvgChart.Series> s = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            List<EpochMetrics> e = runs.get(i).epochs();
            s.add(new SvgChart.Series(runs.get(i).name() + " test", SvgChart.color(i), false, epochs(e), values(e, m -> 100 * m.testError())));
            s.add(new SvgChart.Series(runs.get(i).name() + " train", SvgChart.color(i), true, epochs(e), values(e, m -> 100 * m.trainError())));
        }
        return SvgChart.lines("Test and train error per epoch (train dashed)", SvgChart.Axis.linear("epoch"), SvgChart.Axis.linear("error (%)"), s, W, H);
    }

    private static String lrChart(List<RecordedRun> runs) {
        List<SvgChart.Series> s = new ArrayList<>();
        // runs of one schedule coincide: every other one dashed, so both show
        for (int i = 0; i < runs.size(); i++) {
            List<EpochMetrics> e = runs.get(i).epochs();
            s.add(new SvgChart.Series(runs.get(i).name(), SvgChart.color(i), i % 2 == 1, epochs(e), values(e, EpochMetrics::lr)));
        }
        return SvgChart.lines("Learning rate schedule", SvgChart.Axis.linear("epoch"), SvgChart.Axis.log("learning rate (log scale)"), s, W, H);
    }

    private static String speedBars(List<RecordedRun> runs) {
        double[] v = new double[runs.size()];
        for (int i = 0; i < v.length; i++) v[i] = runs.get(i).epochs().stream().mapToDouble(EpochMetrics::imagesPerSecond).filter(Double::isFinite).average().orElse(Double.NaN);
        return bars("Training speed (mean over epochs)", "images/s", runs, v);
    }

    private static String memoryBars(List<RecordedRun> runs) {
        double[] v = new double[runs.size()];
        for (int i = 0; i < v.length; i++) {
            long peak = runs.get(i).epochs().stream().mapToLong(EpochMetrics::peakBytes).max().orElse(-1);
            v[i] = peak >= 0 ? peak / 1048576.0 : Double.NaN;
        }
        return bars("Peak memory (the allocator's, largest epoch)", "MiB", runs, v);
    }

    private static String bars(String title, String unit, List<RecordedRun> runs, double[] v) {
        List<String> colors = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) colors.add(SvgChart.color(i));
        int h = Math.clamp(110 + 44L * runs.size(), 170, H);
        return SvgChart.bars(title, unit, runs.stream().map(RecordedRun::name).toList(), colors, v, W, h);
    }

    private static String configTable(List<RecordedRun> runs) {
        Set<String> keys = new LinkedHashSet<>();
        for (String k : FIRST) if (k.equals("precision") || runs.stream().anyMatch(r -> r.config().containsKey(k))) keys.add(k);
        for (RecordedRun r : runs) for (String k : r.config().keySet()) if (!HIDDEN.contains(k)) keys.add(k);
        StringBuilder b = new StringBuilder("<h2>Configuration").append(runs.size() > 1 ? " (rows that differ between the runs are marked)" : "")
                .append("</h2>\n<table id=\"config\"><thead><tr><th>setting</th>");
        for (int i = 0; i < runs.size(); i++)
            b.append("<th><span class=\"swatch\" style=\"background:").append(SvgChart.color(i)).append("\"></span>").append(escape(runs.get(i).name())).append("</th>");
        b.append("</tr></thead>\n<tbody>\n");
        b.append(row("result", "best test error", runs.stream().map(ReportPage::best).toList()));
        b.append(row("result", "last test error", runs.stream().map(r -> percent(r.last().testError()) + " (epoch " + r.last().epoch() + ")").toList()));
        for (String k : keys) {
            List<String> values = runs.stream().map(r -> Objects.requireNonNullElse(r.setting(k), "-")).toList();
            b.append(row(runs.size() > 1 && values.stream().distinct().count() > 1 ? "differs" : "same", k, values));
        }
        return b.append("</tbody></table>\n").toString();
    }

    private static String row(String cls, String key, List<String> values) {
        StringBuilder b = new StringBuilder("<tr class=\"").append(cls).append("\" data-key=\"").append(escape(key)).append("\"><th>").append(escape(key)).append("</th>");
        for (String v : values) b.append("<td>").append(escape(v)).append("</td>");
        return b.append("</tr>\n").toString();
    }

    private static String best(RecordedRun r) {
        EpochMetrics best = null;
        for (EpochMetrics m : r.epochs()) if (Double.isFinite(m.testError()) && (best == null || m.testError() < best.testError())) best = m;
        return best == null ? "-" : percent(best.testError()) + " (epoch " + best.epoch() + ")";
    }

    private static String percent(double e) { return Double.isFinite(e) ? String.format(Locale.ROOT, "%.2f %%", 100 * e) : "-"; }

    /** A run's local loss and local error per block, one line a block; a note where the run has none (global backprop, sim only). */
    private static String blockCharts(RecordedRun r) {
        List<EpochMetrics> e = r.epochs();
        List<String> blocks = r.last().layers();
        List<SvgChart.Series> loss = new ArrayList<>(), error = new ArrayList<>();
        boolean anyLoss = false, anyError = false;
        for (int j = 0; j < blocks.size(); j++) {
            int b = j;
            double[] l = values(e, m -> b < m.layerLoss().length ? m.layerLoss()[b] : Double.NaN);
            double[] err = values(e, m -> b < m.layerError().length ? 100 * m.layerError()[b] : Double.NaN);
            for (double v : l) anyLoss |= Double.isFinite(v) && v != 0;  // global backprop records 0 for every block
            for (double v : err) anyError |= Double.isFinite(v);
            // colours repeat after eight blocks: those lines are dashed
            loss.add(new SvgChart.Series(blocks.get(j), SvgChart.color(j), j >= SvgChart.PALETTE.size(), epochs(e), l));
            error.add(new SvgChart.Series(blocks.get(j), SvgChart.color(j), j >= SvgChart.PALETTE.size(), epochs(e), err));
        }
        if (!anyLoss) return "<p class=\"note wide\">" + escape(r.name()) + ": no local losses (global backprop trains the blocks through the output's loss).</p>\n";
        String lossChart = SvgChart.lines(r.name() + ": local loss per block", SvgChart.Axis.linear("epoch"), SvgChart.Axis.linear("local loss (unitless)"), loss, W, H - 40);
        String errorChart = anyError ? SvgChart.lines(r.name() + ": local error per block", SvgChart.Axis.linear("epoch"), SvgChart.Axis.linear("local error (%)"), error, W, H - 40)
                : "<p class=\"note\">" + escape(r.name()) + ": no local errors (the blocks have no prediction head).</p>\n";
        return lossChart + errorChart;
    }

    /**
     * Reloads the page while its run trains and stops once no epoch came for much longer than an
     * epoch takes (a killed run then no longer reloads forever); a run that ends writes a last
     * page without this script.
     */
    private static String reloadScript(RecordedRun r) {
        double seconds = Double.isFinite(r.last().seconds()) ? r.last().seconds() : 0;
        long every = Math.clamp(Math.round(seconds * 250), 2000, 30_000);  // a quarter of an epoch, 2 to 30 s
        return String.format(Locale.ROOT, """
                <script>
                const written = %d, silentAfter = %d, every = %d, since = Date.now() - written;
                if (since < silentAfter) setTimeout(() => location.reload(), every);
                else document.querySelector('.state').textContent = 'stopped: no epoch for ' + Math.round(since / 60000)
                    + ' min, more than %s (killed, or its machine went away?); this page no longer reloads';
                </script>
                """, r.lastEpochWritten().toEpochMilli(), r.silentAfter().toMillis(), every, minutes(r.silentAfter()));
    }

    private static double[] epochs(List<EpochMetrics> e) { return values(e, EpochMetrics::epoch); }

    private static double[] values(List<EpochMetrics> e, java.util.function.ToDoubleFunction<EpochMetrics> f) {
        return e.stream().mapToDouble(f).toArray();
    }
}
