package locallearn.backend.cpu;

import locallearn.backend.PoolGeom;

/**
 * Family "pool": max and average pooling over (B, C, H, W), floor mode. Max pooling ignores the
 * padding (PyTorch pads with -inf); average pooling counts it in the divisor kh*kw
 * (count_include_pad). Windows are clipped to the input, never to the padded border: with
 * padding at most half the kernel and floor mode, every window lies inside the padded input.
 */
final class Pool {
    private Pool() {}

    /** Index into the image plane of the first maximum of window (oy, ox), -1 if the window holds only padding. */
    private static int argmax(float[] x, int plane, PoolGeom g, int oy, int ox) {
        int y0 = oy * g.sh() - g.ph(), x0 = ox * g.sw() - g.pw();
        int best = -1;
        float bv = Float.NEGATIVE_INFINITY;
        for (int i = Math.max(0, y0); i < Math.min(g.inH(), y0 + g.kh()); i++)
            for (int j = Math.max(0, x0); j < Math.min(g.inW(), x0 + g.kw()); j++) {
                float v = x[plane + i * g.inW() + j];
                if (best < 0 || v > bv || Float.isNaN(v) && !Float.isNaN(bv)) {
                    best = i * g.inW() + j;
                    bv = v;
                }
            }
        return best;
    }

    static void maxForward(float[] x, float[] y, PoolGeom g) {
        int oh = g.outH(), ow = g.outW(), planes = g.batch() * g.channels(), hw = g.inH() * g.inW();
        Parallel.range(planes, Math.max(1, CpuBackend.GRAIN / hw), 1, (pl0, pl1) -> {
            for (int pl = pl0; pl < pl1; pl++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int a = argmax(x, pl * hw, g, oy, ox);
                        y[(pl * oh + oy) * ow + ox] = a < 0 ? Float.NEGATIVE_INFINITY : x[pl * hw + a];
                    }
        });
    }

    static void maxBackward(float[] x, float[] dy, float[] dx, PoolGeom g) {
        int oh = g.outH(), ow = g.outW(), planes = g.batch() * g.channels(), hw = g.inH() * g.inW();
        java.util.Arrays.fill(dx, 0, planes * hw, 0f);
        Parallel.range(planes, Math.max(1, CpuBackend.GRAIN / hw), 1, (pl0, pl1) -> {
            for (int pl = pl0; pl < pl1; pl++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int a = argmax(x, pl * hw, g, oy, ox);
                        if (a >= 0) dx[pl * hw + a] += dy[(pl * oh + oy) * ow + ox];
                    }
        });
    }

    static void avgForward(float[] x, float[] y, PoolGeom g) {
        int oh = g.outH(), ow = g.outW(), planes = g.batch() * g.channels(), hw = g.inH() * g.inW();
        float inv = 1f / (g.kh() * g.kw());
        Parallel.range(planes, Math.max(1, CpuBackend.GRAIN / hw), 1, (pl0, pl1) -> {
            for (int pl = pl0; pl < pl1; pl++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int y0 = oy * g.sh() - g.ph(), x0 = ox * g.sw() - g.pw();
                        float s = 0;
                        for (int i = Math.max(0, y0); i < Math.min(g.inH(), y0 + g.kh()); i++)
                            for (int j = Math.max(0, x0); j < Math.min(g.inW(), x0 + g.kw()); j++) s += x[pl * hw + i * g.inW() + j];
                        y[(pl * oh + oy) * ow + ox] = s * inv;
                    }
        });
    }

    static void avgBackward(float[] dy, float[] dx, PoolGeom g) {
        int oh = g.outH(), ow = g.outW(), planes = g.batch() * g.channels(), hw = g.inH() * g.inW();
        float inv = 1f / (g.kh() * g.kw());
        java.util.Arrays.fill(dx, 0, planes * hw, 0f);
        Parallel.range(planes, Math.max(1, CpuBackend.GRAIN / hw), 1, (pl0, pl1) -> {
            for (int pl = pl0; pl < pl1; pl++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int y0 = oy * g.sh() - g.ph(), x0 = ox * g.sw() - g.pw();
                        float d = dy[(pl * oh + oy) * ow + ox] * inv;
                        for (int i = Math.max(0, y0); i < Math.min(g.inH(), y0 + g.kh()); i++)
                            for (int j = Math.max(0, x0); j < Math.min(g.inW(), x0 + g.kw()); j++) dx[pl * hw + i * g.inW() + j] += d;
                    }
        });
    }
}
