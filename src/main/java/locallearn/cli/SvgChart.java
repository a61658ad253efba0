package locallearn.cli;

import java.util.List;
import java.util.Locale;

/**
 * A small line chart as SVG text, for the memory-versus-depth study: one line per series over
 * categorical x positions. Hand-written because a plotting library would be the largest
 * dependency of the project for one picture.
 */
final class SvgChart {
    record Series(String name, String color, double[] values) {}

    private SvgChart() {}

    static String lines(String title, String xLabel, String yLabel, List<String> xs, List<Series> series) {
        int w = 720, h = 420, left = 80, right = 170, top = 50, bottom = 70;
        int pw = w - left - right, ph = h - top - bottom;
        double max = 0;
        for (Series s : series) for (double v : s.values()) if (Double.isFinite(v)) max = Math.max(max, v);
        double step = niceStep(max / 5);
        double yMax = Math.max(step, Math.ceil(max / step) * step);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">%n",
                w, h, w, h));
        b.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">%s</text>%n", left, escape(title)));
        for (double y = 0; y <= yMax + 1e-9; y += step) {
            double py = top + ph - y / yMax * ph;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", left, left + pw, py, py));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", left - 8, py + 4, trim(y)));
        }
        double dx = xs.size() > 1 ? (double) pw / (xs.size() - 1) : 0;
        for (int i = 0; i < xs.size(); i++) {
            double px = left + i * dx;
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, top + ph + 20, escape(xs.get(i))));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", left + pw / 2, h - 18, escape(xLabel)));
        b.append(String.format(Locale.ROOT, "<text transform=\"translate(22 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>%n", top + ph / 2, escape(yLabel)));
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", left, left + pw, top + ph, top + ph));
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", left, left, top, top + ph));
        for (int si = 0; si < series.size(); si++) {
            Series s = series.get(si);
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < s.values().length; i++) {
                if (!Double.isFinite(s.values()[i])) continue;
                double px = left + i * dx, py = top + ph - s.values()[i] / yMax * ph;
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
                b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>%n", px, py, s.color()));
            }
            // series after the second are dashed: one that coincides with an earlier one (greedy and
            // predsim) still shows
            String dash = si >= 2 ? " stroke-dasharray=\"7 5\"" : "";
            b.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s/>%n", pts.toString().trim(), s.color(), dash));
            int ly = top + 10 + si * 22;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"%s/>%n", left + pw + 20, left + pw + 44, ly, ly, s.color(), dash));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", left + pw + 50, ly + 4, escape(s.name())));
        }
        return b.append("</svg>\n").toString();
    }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double niceStep(double raw) {
        if (!(raw > 0)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) if (m * p >= raw) return m * p;
        return 10 * p;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
