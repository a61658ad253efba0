package locallearn.backend.cpu;

import locallearn.backend.ConvAlgorithm;
import static locallearn.backend.cpu.Check.*;

import java.util.Random;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every backward op against central differences of its forward. Each check takes the scalar
 * L = sum(out * r) for a random r, so the analytic gradient is the backward op fed dy = r.
 *
 * <p>Tolerance: the forwards run in float, so a difference quotient with step h = 1e-2 carries a
 * rounding error of about eps_float * |L| / h (about 1e-5 for |L| of order 1) and a truncation
 * error O(h^2 f''') of order 1e-4 for these smooth functions; atol 2e-3 + rtol 1e-2 covers both
 * with margin, while a wrong factor or a missing term gives errors of order 1e-1 and fails.
 */
class BackwardFiniteDifferenceTest {
    static final float H = 1e-2f;
    static final double ATOL = 2e-3, RTOL = 1e-2;

    final CpuBackend be = new CpuBackend();
    final Random rnd = new Random(42);
    Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    @Test void leakyRelu() {
        int n = 37;
        float[] x = spread(rnd, n), r = rand(rnd, n);
        float slope = 0.01f;
        double[] num = numericGrad(x, H, xv -> {
            Tensor y = be.allocate(n);
            be.leakyReluForward(t(be, xv, n), y, slope);
            return dot(be.read(y), r);
        });
        Tensor y = be.allocate(n), dx = be.allocate(n);
        be.leakyReluForward(t(be, x, n), y, slope);
        be.leakyReluBackward(y, t(be, r, n), dx, slope);
        near("leakyReluBackward", num, be.read(dx), ATOL, RTOL);
    }

    @Test void bias() {
        int b = 3, c = 5, inner = 7;
        float[] y0 = rand(rnd, b * c * inner), bias = rand(rnd, c), r = rand(rnd, b * c * inner);
        double[] num = numericGrad(bias, H, bv -> {
            Tensor y = t(be, y0, b, c, inner);
            be.biasAdd(y, t(be, bv, c));
            return dot(be.read(y), r);
        });
        Tensor db = be.allocate(c);
        be.biasBackward(t(be, r, b, c, inner), db, false);
        near("biasBackward", num, be.read(db), ATOL, RTOL);
    }

    @Test void conv2dDataFilterAndBias() {
        for (ConvGeom g : new ConvGeom[] {new ConvGeom(2, 3, 5, 6, 4, 3, 3, 1, 1), new ConvGeom(1, 2, 7, 5, 3, 3, 2, 2, 0),
                new ConvGeom(3, 1, 4, 4, 2, 1, 1, 1, 0), new ConvGeom(2, 2, 6, 6, 3, 5, 5, 2, 2)})
            conv2dAgainstDifferences(be, g);
    }

    /**
     * The default's rule sends only layers of 64+ channels to Winograd, too big for differences
     * of every weight, so the 3x3 stride-1 geometries run again on a backend forced to Winograd
     * (F(2x2) on all three passes), pad 1 and pad 0.
     */
    @Test void conv2dDataFilterAndBiasThroughWinograd() {
        CpuBackend wino = new CpuBackend(ConvAlgorithm.WINOGRAD);
        for (ConvGeom g : new ConvGeom[] {new ConvGeom(2, 3, 5, 6, 4, 3, 3, 1, 1), new ConvGeom(1, 2, 7, 5, 3, 3, 3, 1, 0)}) {
            org.junit.jupiter.api.Assertions.assertSame(Winograd.F2, CpuBackend.winogradTile(g, ConvAlgorithm.WINOGRAD));
            conv2dAgainstDifferences(wino, g);
        }
    }

    private void conv2dAgainstDifferences(CpuBackend be, ConvGeom g) {
        {
            int xn = g.batch() * g.inC() * g.inH() * g.inW(), wn = g.outC() * g.inC() * g.kh() * g.kw();
            int yn = g.batch() * g.outC() * g.outH() * g.outW();
            int[] xd = {g.batch(), g.inC(), g.inH(), g.inW()}, wd = {g.outC(), g.inC(), g.kh(), g.kw()};
            int[] yd = {g.batch(), g.outC(), g.outH(), g.outW()};
            float[] x = rand(rnd, xn), w = rand(rnd, wn), bias = rand(rnd, g.outC()), r = rand(rnd, yn);
            ToDoubleFunctionOf3 f = (xv, wv, bv) -> {
                Tensor y = be.allocate(yd);
                be.conv2dForward(t(be, xv, xd), t(be, wv, wd), t(be, bv, g.outC()), y, g);
                return dot(be.read(y), r);
            };
            double[] nx = numericGrad(x, H, xv -> f.apply(xv, w, bias));
            double[] nw = numericGrad(w, H, wv -> f.apply(x, wv, bias));
            double[] nb = numericGrad(bias, H, bv -> f.apply(x, w, bv));
            Tensor dx = be.allocate(xd), dw = be.allocate(wd), db = be.allocate(g.outC());
            be.fill(dx, Float.NaN); // overwritten, never read
            be.conv2dBackwardData(t(be, r, yd), t(be, w, wd), dx, g);
            be.conv2dBackwardFilter(t(be, x, xd), t(be, r, yd), dw, db, g, false);
            near("conv2dBackwardData " + g, nx, be.read(dx), ATOL, RTOL);
            near("conv2dBackwardFilter dw " + g, nw, be.read(dw), ATOL, RTOL);
            near("conv2dBackwardFilter dbias " + g, nb, be.read(db), ATOL, RTOL);
        }
    }

    interface ToDoubleFunctionOf3 { double apply(float[] a, float[] b, float[] c); }

    @Test void batchNormTrain() {
        int b = 4, c = 3, inner = 5, n = b * c * inner;
        float[] x = rand(rnd, n), gamma = rand(rnd, c), beta = rand(rnd, c), r = rand(rnd, n);
        float eps = 1e-5f;
        ToDoubleFunctionOf3 f = (xv, gv, bv) -> {
            Tensor y = be.allocate(b, c, inner);
            be.batchNormForwardTrain(t(be, xv, b, c, inner), t(be, gv, c), t(be, bv, c), be.zeros(c), be.zeros(c), 0.1f, eps, y,
                    be.allocate(c), be.allocate(c));
            return dot(be.read(y), r);
        };
        double[] nx = numericGrad(x, H, xv -> f.apply(xv, gamma, beta));
        double[] ng = numericGrad(gamma, H, gv -> f.apply(x, gv, beta));
        double[] nb = numericGrad(beta, H, bv -> f.apply(x, gamma, bv));
        Tensor xt = t(be, x, b, c, inner), gt = t(be, gamma, c), mean = be.allocate(c), inv = be.allocate(c);
        be.batchNormForwardTrain(xt, gt, t(be, beta, c), be.zeros(c), be.zeros(c), 0.1f, eps, be.allocate(b, c, inner), mean, inv);
        Tensor dx = be.allocate(b, c, inner), dg = be.allocate(c), db = be.allocate(c);
        be.batchNormBackward(xt, t(be, r, b, c, inner), gt, mean, inv, dx, dg, db, false);
        near("batchNormBackward dx", nx, be.read(dx), ATOL, RTOL);
        near("batchNormBackward dgamma", ng, be.read(dg), ATOL, RTOL);
        near("batchNormBackward dbeta", nb, be.read(db), ATOL, RTOL);
    }

    @Test void dropoutElementsAndChannels() {
        for (int inner : new int[] {1, 6}) {
            int n = 4 * 3 * 6;
            float[] x = rand(rnd, n), r = rand(rnd, n);
            double[] num = numericGrad(x, H, xv -> {
                Tensor y = be.allocate(n);
                be.dropoutForward(t(be, xv, n), y, 0.3f, 7, 11, inner);
                return dot(be.read(y), r);
            });
            Tensor dx = be.allocate(n);
            be.dropoutBackward(t(be, r, n), dx, 0.3f, 7, 11, inner);
            near("dropoutBackward inner=" + inner, num, be.read(dx), ATOL, RTOL);
        }
    }

    @Test void maxAndAvgPool() {
        for (PoolGeom g : new PoolGeom[] {PoolGeom.square(2, 3, 6, 6, 2, 2), PoolGeom.square(1, 2, 7, 5, 3, 2),
                new PoolGeom(2, 2, 5, 7, 3, 3, 2, 1, 1, 1), new PoolGeom(1, 1, 4, 4, 4, 4, 4, 4, 0, 0)}) {
            int n = g.batch() * g.channels() * g.inH() * g.inW(), on = g.batch() * g.channels() * g.outH() * g.outW();
            int[] xd = {g.batch(), g.channels(), g.inH(), g.inW()}, yd = {g.batch(), g.channels(), g.outH(), g.outW()};
            float[] x = spread(rnd, n), r = rand(rnd, on);
            double[] nmax = numericGrad(x, H, xv -> {
                Tensor y = be.allocate(yd);
                be.maxPoolForward(t(be, xv, xd), y, g);
                return dot(be.read(y), r);
            });
            double[] navg = numericGrad(x, H, xv -> {
                Tensor y = be.allocate(yd);
                be.avgPoolForward(t(be, xv, xd), y, g);
                return dot(be.read(y), r);
            });
            Tensor dx = be.allocate(xd);
            be.maxPoolBackward(t(be, x, xd), t(be, r, yd), dx, g);
            near("maxPoolBackward " + g, nmax, be.read(dx), ATOL, RTOL);
            be.avgPoolBackward(t(be, r, yd), dx, g);
            near("avgPoolBackward " + g, navg, be.read(dx), ATOL, RTOL);
        }
    }

    @Test void crossEntropy() {
        int b = 5, k = 7;
        float[] x = rand(rnd, b * k), labels = {0, 6, 3, 3, 1};
        float dl = 1.7f;
        double[] num = numericGrad(x, H, xv -> {
            Tensor loss = be.allocate(1);
            be.crossEntropyForward(t(be, xv, b, k), t(be, labels, b), loss, be.allocate(b, k));
            return dl * be.read(loss)[0];
        });
        Tensor probs = be.allocate(b, k), dx = be.allocate(b, k);
        be.crossEntropyForward(t(be, x, b, k), t(be, labels, b), be.allocate(1), probs);
        be.crossEntropyBackward(probs, t(be, labels, b), t(be, new float[] {dl}, 1), dx);
        near("crossEntropyBackward", num, be.read(dx), ATOL, RTOL);
    }

    @Test void bceWithLogits() {
        int n = 13;
        float[] x = rand(rnd, n), tg = new float[n];
        for (int i = 0; i < n; i++) tg[i] = rnd.nextFloat();
        double[] num = numericGrad(x, H, xv -> {
            Tensor loss = be.allocate(1);
            be.bceWithLogitsForward(t(be, xv, n), t(be, tg, n), loss);
            return 0.5 * be.read(loss)[0];
        });
        Tensor dx = be.allocate(n);
        be.bceWithLogitsBackward(t(be, x, n), t(be, tg, n), t(be, new float[] {0.5f}, 1), dx);
        near("bceWithLogitsBackward", num, be.read(dx), ATOL, RTOL);
    }

    @Test void mse() {
        int n = 11;
        float[] a = rand(rnd, n), b = rand(rnd, n);
        double[] num = numericGrad(a, H, av -> {
            Tensor loss = be.allocate(1);
            be.mseForward(t(be, av, n), t(be, b, n), loss);
            return 3 * be.read(loss)[0];
        });
        Tensor da = be.allocate(n);
        be.mseBackward(t(be, a, n), t(be, b, n), t(be, new float[] {3}, 1), da);
        near("mseBackward", num, be.read(da), ATOL, RTOL);
    }

    @Test void similarity() {
        int b = 5, d = 7;
        float[] x = rand(rnd, b * d), r = rand(rnd, b * b);
        double[] num = numericGrad(x, H, xv -> {
            Tensor s = be.allocate(b, b);
            be.similarityForward(t(be, xv, b, d), s, be.allocate(b, d), be.allocate(b));
            return dot(be.read(s), r);
        });
        Tensor s = be.allocate(b, b), xc = be.allocate(b, d), norm = be.allocate(b), dx = be.allocate(b, d);
        be.similarityForward(t(be, x, b, d), s, xc, norm);
        be.similarityBackward(xc, norm, s, t(be, r, b, b), dx);
        near("similarityBackward", num, be.read(dx), ATOL, RTOL);
    }

    @Test void featureMapStd() {
        int b = 3, c = 4, h = 3, w = 5, n = b * c * h * w;
        float[] x = rand(rnd, n), r = rand(rnd, b * c);
        double[] num = numericGrad(x, H, xv -> {
            Tensor y = be.allocate(b, c);
            be.featureMapStdForward(t(be, xv, b, c, h, w), y);
            return dot(be.read(y), r);
        });
        Tensor xt = t(be, x, b, c, h, w), y = be.allocate(b, c), dx = be.allocate(b, c, h, w);
        be.featureMapStdForward(xt, y);
        be.featureMapStdBackward(xt, y, t(be, r, b, c), dx);
        near("featureMapStdBackward", num, be.read(dx), ATOL, RTOL);
    }
}
