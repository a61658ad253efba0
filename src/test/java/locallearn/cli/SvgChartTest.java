package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chart module: points where the scales put them, gaps for missing values, ticks and labels, and the memory chart drawn by it. */
class SvgChartTest {
    // a 600x320 chart's plot spans y 40 (top margin) to 268 (320 - 52 bottom margin) and starts at x 72
    private static final int W = 600, H = 320;

    @Test void aLogAxisPutsDecadesAtEqualSteps() {
        var s = new SvgChart.Series("lr", SvgChart.color(0), false, new double[] {1, 2, 3}, new double[] {1e-3, 1e-4, 2e-6});
        String svg = SvgChart.lines("lr", SvgChart.Axis.linear("epoch"), SvgChart.Axis.log("learning rate"), List.of(s), W, H);
        // decades 1e-6 to 1e-3 over 228 px: 1e-3 at the top, 1e-4 a third down
        assertTrue(svg.contains("cy=\"40.0\"") && svg.contains("cy=\"116.0\""), svg);
        for (String tick : List.of(">1e-6<", ">1e-5<", ">1e-4<", ">1e-3<")) assertTrue(svg.contains(tick), tick + " in " + svg);
    }

    @Test void linearTicksAreRoundAndStartAtZero() {
        var s = new SvgChart.Series("test", SvgChart.color(0), false, new double[] {1, 2, 3, 4}, new double[] {72, 50, 31, 20});
        String svg = SvgChart.lines("error", SvgChart.Axis.linear("epoch"), SvgChart.Axis.linear("error (%)"), List.of(s), W, H);
        for (String tick : List.of(">0<", ">20<", ">40<", ">60<", ">80<")) assertTrue(svg.contains(tick), tick);
        // 0..80 over 228 px: 20 % sits at 268 - 228/4
        assertTrue(svg.contains("cy=\"211.0\""), svg);
        assertTrue(svg.contains(">error (%)<") && svg.contains(">epoch<"), "axis labels");
        assertEquals(0.2, SvgChart.niceStep(0.13), 1e-12);
        assertEquals(5, SvgChart.niceStep(3.1), 1e-12);
        assertEquals(10, SvgChart.niceStep(10), 1e-12);
    }

    @Test void aMissingValueIsAGapNotAPoint() {
        var s = new SvgChart.Series("a <b>", SvgChart.color(1), true, new double[] {1, 2, 3, 4, 5}, new double[] {1, 2, Double.NaN, 4, 5});
        String svg = SvgChart.lines("gap", SvgChart.Axis.linear("epoch"), SvgChart.Axis.linear("loss (unitless)"), List.of(s), W, H);
        assertEquals(4, ReportCliTest.circles(svg, "a &lt;b&gt;"));
        assertEquals(2, ReportCliTest.count(svg, "<polyline"));
        assertEquals(3, ReportCliTest.count(svg, "stroke-dasharray"), "both pieces and the legend's line are dashed");
        assertTrue(svg.contains("stroke=\"#D55E00\""), "Okabe-Ito's second colour");
    }

    @Test void barsAreProportionalToTheirValues() {
        String svg = SvgChart.bars("speed", "images/s", List.of("local", "global"), List.of("#0072B2", "#D55E00"), new double[] {500, 1000}, W, 200);
        // the scale runs 0..1000; names of up to 6 characters leave 80 px on the left, 70 on the right: 450 px of plot
        assertTrue(svg.contains("width=\"225.0\"") && svg.contains("width=\"450.0\""), svg);
        assertTrue(svg.contains(">500<") && svg.contains(">1000<") && svg.contains(">images/s<"), svg);
    }

    @Test void benchMemoryDrawsItsChartWithTheModule(@TempDir Path dir) throws Exception {
        Path svg = dir.resolve("m.svg");
        TrainCliTest.Run r = TrainCliTest.run("bench-memory", "--model", "vgg6a", "--input", "3x16x16", "--batch", "2", "--mode", "global,pred", "--svg", svg.toString());
        assertEquals(0, r.code(), r.err());
        String text = Files.readString(svg);
        assertEquals(1, ReportCliTest.circles(text, "global"));
        assertEquals(1, ReportCliTest.circles(text, "pred"));
        assertTrue(text.contains(">vgg6a<") && text.contains(">peak activation (MiB)<") && text.contains(SvgChart.PALETTE.get(1)), text);
    }
}
