package locallearn.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Charts as SVG text, for the memory-versus-depth study and the run report: line charts over a
 * numeric or categorical x axis (linear or logarithmic y), and horizontal bar charts; axes
 * labelled with their units, a legend, the Okabe-Ito palette. Hand-written because a plotting
 * library would be the largest dependency of the project for a few pictures. Each line is a
 * {@code <g class="series" data-series="NAME">} with one {@code <circle>} per point and each bar
 * a {@code <g class="bar" data-series="NAME">}, so a test can count what a browser rendered.
 */
final class SvgChart {
    /**
     * Okabe and Ito's eight colours, told apart with each common colour-vision deficiency;
     * yellow last because it is faint on white.
     */
    static final List<String> PALETTE = List.of("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442");

    private static final int CHAR_PX = 7;      // the width of an average character at font-size 12, for the margins
    private static final int MAX_NAME = 34;    // legend and bar names longer than this are cut (the full name is the tooltip)

    /** One line: points (x[i], y[i]); a point with a non-finite value (or one at or below zero on a log axis) is a gap. */
    record Series(String name, String color, boolean dashed, double[] x, double[] y) {}

    /** An axis: its label with the unit, and either category names (x only) or a linear or logarithmic scale. */
    record Axis(String label, List<String> categories, boolean log) {
        static Axis linear(String label) { return new Axis(label, null, false); }

        static Axis log(String label) { return new Axis(label, null, true); }

        static Axis categories(String label, List<String> names) { return new Axis(label, List.copyOf(names), false); }
    }

    private SvgChart() {}

    static String color(int i) { return PALETTE.get(i % PALETTE.size()); }

    /** Positions 0, 1, ... for a series over categorical x. */
    static double[] indices(int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = i;
        return x;
    }

    static String lines(String title, Axis xAxis, Axis yAxis, List<Series> series, int w, int h) {
        int legendW = Math.clamp(longest(series.stream().map(Series::name).toList()) * CHAR_PX + 50, 100, MAX_NAME * CHAR_PX + 50);
        int left = 72, right = legendW, top = 40, bottom = 52;
        int pw = w - left - right, ph = h - top - bottom;
        List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (Series s : series)
            for (int i = 0; i < s.y().length; i++)
                if (visible(s.y()[i], yAxis.log()) && Double.isFinite(s.x()[i])) {
                    xs.add(s.x()[i]);
                    ys.add(s.y()[i]);
                }
        Scale sx = xAxis.categories() != null ? Scale.categories(xAxis.categories().size()) : Scale.linear(xs, false, 8);
        Scale sy = yAxis.log() ? Scale.log(ys) : Scale.linear(ys, true, 5);
        StringBuilder b = open(title, w, h, left);
        for (double t : sy.ticks()) {
            double py = top + ph - sy.frac(t) * ph;
            b.append(f("<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", left, left + pw, py, py));
            b.append(f("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", left - 6, py + 4, sy.label(t)));
        }
        for (double t : sx.ticks()) {
            double px = left + sx.frac(t) * pw;
            String label = xAxis.categories() != null ? escape(xAxis.categories().get((int) t)) : sx.label(t);
            b.append(f("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", px, px, top + ph, top + ph + 4));
            b.append(f("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, top + ph + 18, label));
        }
        axes(b, xAxis.label(), yAxis.label(), left, top, pw, ph, h);
        for (int si = 0; si < series.size(); si++) {
            Series s = series.get(si);
            String dash = s.dashed() ? " stroke-dasharray=\"7 4\"" : "";
            b.append(f("<g class=\"series\" data-series=\"%s\"><title>%s</title>%n", escape(s.name()), escape(s.name())));
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i <= s.y().length; i++) {
                boolean in = i < s.y().length && visible(s.y()[i], yAxis.log()) && Double.isFinite(s.x()[i]);
                if (!in) {  // a gap or the end: draw the line so far
                    if (!pts.isEmpty())
                        b.append(f("<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s/>%n", pts.toString().trim(), s.color(), dash));
                    pts.setLength(0);
                    continue;
                }
                double px = left + sx.frac(s.x()[i]) * pw, py = top + ph - sy.frac(s.y()[i]) * ph;
                pts.append(f("%.1f,%.1f ", px, py));
                b.append(f("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n", px, py, s.color()));
            }
            b.append("</g>\n");
            int ly = top + 8 + si * 20;
            b.append(f("<g class=\"legend\"><line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"%s/>", left + pw + 14, left + pw + 38, ly, ly, s.color(), dash));
            b.append(f("<text x=\"%d\" y=\"%d\">%s</text></g>%n", left + pw + 44, ly + 4, escape(cut(s.name()))));
        }
        return b.append("</svg>\n").toString();
    }

    /** One horizontal bar per name, from zero; each bar's value is written at its end. */
    static String bars(String title, String valueLabel, List<String> names, List<String> colors, double[] values, int w, int h) {
        int left = Math.clamp(longest(names) * CHAR_PX + 16, 80, MAX_NAME * CHAR_PX + 16), right = 70, top = 40, bottom = 52;
        int pw = w - left - right, ph = h - top - bottom;
        List<Double> vs = new ArrayList<>();
        for (double v : values) if (Double.isFinite(v)) vs.add(v);
        Scale sv = Scale.linear(vs, true, 5);
        StringBuilder b = open(title, w, h, left);
        for (double t : sv.ticks()) {
            double px = left + sv.frac(t) * pw;
            b.append(f("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>%n", px, px, top, top + ph));
            b.append(f("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, top + ph + 18, sv.label(t)));
        }
        axes(b, valueLabel, null, left, top, pw, ph, h);
        double slot = (double) ph / Math.max(1, names.size()), bh = Math.min(36, slot * 0.7);
        for (int i = 0; i < names.size(); i++) {
            double y = top + i * slot + (slot - bh) / 2;
            b.append(f("<g class=\"bar\" data-series=\"%s\"><title>%s</title>", escape(names.get(i)), escape(names.get(i))));
            b.append(f("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", left - 6, y + bh / 2 + 4, escape(cut(names.get(i)))));
            if (Double.isFinite(values[i])) {
                double bw = sv.frac(values[i]) * pw;
                b.append(f("<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", left, y, bw, bh, colors.get(i)));
                b.append(f("<text x=\"%.1f\" y=\"%.1f\">%s</text>", left + bw + 5, y + bh / 2 + 4, number(values[i])));
            } else {
                b.append(f("<text x=\"%d\" y=\"%.1f\" fill=\"#666\">not recorded</text>", left + 5, y + bh / 2 + 4));
            }
            b.append("</g>\n");
        }
        return b.append("</svg>\n").toString();
    }

    private static StringBuilder open(String title, int w, int h, int left) {
        StringBuilder b = new StringBuilder();
        b.append(f("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\""
                + " role=\"img\" aria-label=\"%s\">%n", w, h, w, h, escape(title)));
        b.append(f("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        b.append(f("<text x=\"%d\" y=\"24\" font-size=\"14\" font-weight=\"bold\">%s</text>%n", left, escape(title)));
        return b;
    }

    private static void axes(StringBuilder b, String xLabel, String yLabel, int left, int top, int pw, int ph, int h) {
        b.append(f("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", left + pw / 2, h - 12, escape(xLabel)));
        if (yLabel != null)
            b.append(f("<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>%n", top + ph / 2, escape(yLabel)));
        b.append(f("<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", left, left + pw, top + ph, top + ph));
        b.append(f("<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", left, left, top, top + ph));
    }

    /** A range and its tick positions; {@code frac} maps a value to [0, 1] of the plot. */
    private record Scale(double min, double max, boolean log, double step, List<Double> ticks) {
        double frac(double v) {
            return log ? (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min)) : (v - min) / (max - min);
        }

        String label(double v) {
            if (log) {
                int e = (int) Math.round(Math.log10(v));
                return e >= 0 && e <= 4 ? String.valueOf((long) Math.pow(10, e)) : "1e" + e;
            }
            int decimals = step >= 1 ? 0 : (int) Math.ceil(-Math.log10(step) - 1e-9);
            return String.format(Locale.ROOT, "%." + decimals + "f", v);
        }

        /** Ticks at 1, 2 or 5 times a power of ten; from zero when {@code fromZero}; whole numbers when every value is one. */
        static Scale linear(List<Double> values, boolean fromZero, int ticks) {
            double lo = values.stream().mapToDouble(Double::doubleValue).min().orElse(0), hi = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
            if (fromZero) lo = Math.min(0, lo);
            if (hi <= lo) { lo -= fromZero && lo == 0 ? 0 : 0.5; hi = lo + 1; }
            double step = niceStep((hi - lo) / ticks);
            if (values.stream().allMatch(v -> v == Math.rint(v))) step = Math.max(1, step);
            double min = Math.floor(lo / step) * step, max = Math.ceil(hi / step) * step;
            List<Double> t = new ArrayList<>();
            for (long k = Math.round(min / step); k * step <= max + step * 1e-9; k++) t.add(k * step);
            return new Scale(min, max, false, step, t);
        }

        /** Whole decades around the positive values. */
        static Scale log(List<Double> values) {
            double lo = values.stream().mapToDouble(Double::doubleValue).min().orElse(1), hi = values.stream().mapToDouble(Double::doubleValue).max().orElse(10);
            int a = (int) Math.floor(Math.log10(lo) + 1e-9), c = (int) Math.ceil(Math.log10(hi) - 1e-9);
            if (c <= a) c = a + 1;
            List<Double> t = new ArrayList<>();
            for (int e = a; e <= c; e++) t.add(Math.pow(10, e));
            return new Scale(Math.pow(10, a), Math.pow(10, c), true, 0, t);
        }

        static Scale categories(int n) {
            List<Double> t = new ArrayList<>();
            for (int i = 0; i < n; i++) t.add((double) i);
            return n > 1 ? new Scale(0, n - 1, false, 1, t) : new Scale(-1, 1, false, 1, t);
        }
    }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double niceStep(double raw) {
        if (!(raw > 0)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) if (m * p >= raw * (1 - 1e-9)) return m * p;
        return 10 * p;
    }

    /** A bar's value: three significant digits for small numbers, whole numbers from 100 on. */
    static String number(double v) {
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f" : Math.abs(v) >= 10 ? "%.1f" : "%.2f", v);
    }

    private static boolean visible(double y, boolean log) { return Double.isFinite(y) && (!log || y > 0); }

    private static int longest(List<String> names) {
        return names.stream().mapToInt(n -> Math.min(n.length(), MAX_NAME)).max().orElse(0);
    }

    private static String cut(String s) { return s.length() <= MAX_NAME ? s : s.substring(0, MAX_NAME - 1) + "…"; }

    private static String f(String format, Object... args) { return String.format(Locale.ROOT, format, args); }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
