package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.near;
import static locallearn.backend.cpu.Check.rand;

import java.util.Random;
import locallearn.backend.ConvGeom;
import org.junit.jupiter.api.Test;

/**
 * The one-output-channel filter gradient (a window sum) against the im2col + GEMM path. Both sum
 * B*oH*oW products of terms in [-1, 1] in float in different orders, so they differ by rounding
 * of order sqrt(n) eps |terms|, below 1e-4 for n up to about 10^4 here; an indexing error gives
 * errors of order 1.
 */
class OneChannelFilterTest {
    @Test void windowSumMatchesIm2colGemm() {
        Random rnd = new Random(8);
        ConvGeom[] geoms = {new ConvGeom(3, 5, 13, 7, 1, 3, 3, 1, 1), new ConvGeom(2, 4, 8, 8, 1, 3, 3, 1, 0), new ConvGeom(1, 3, 5, 9, 1, 3, 3, 2, 1),
                new ConvGeom(2, 2, 6, 6, 1, 5, 5, 2, 2), new ConvGeom(1, 3, 1, 1, 1, 3, 3, 1, 1), new ConvGeom(4, 7, 32, 32, 1, 3, 3, 1, 1),
                new ConvGeom(2, 3, 9, 9, 1, 1, 1, 1, 0)};
        for (ConvGeom g : geoms)
            for (boolean acc : new boolean[] {false, true}) {
                float[] x = rand(rnd, g.batch() * g.inC() * g.inH() * g.inW()), dy = rand(rnd, g.batch() * g.outH() * g.outW());
                int wn = g.inC() * g.kh() * g.kw();
                float[] start = acc ? rand(rnd, wn) : new float[wn];
                float[] want = start.clone(), got = start.clone(), db = new float[1], db2 = new float[1];
                Conv.backwardFilterGemm(x, dy, want, db, g, acc, false);
                Conv.backwardFilter(x, dy, got, db2, g, acc, false);
                double[] w = new double[wn];
                for (int i = 0; i < wn; i++) w[i] = want[i];
                near("one-channel filter gradient " + g + " accumulate=" + acc, w, got, 1e-4, 1e-4);
                near("one-channel bias gradient " + g, new double[] {db[0]}, db2, 1e-6, 1e-6);
            }
    }
}
