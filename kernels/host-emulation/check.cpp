// Host-emulation check of the CUDA kernels (see run.sh): each kernel against a plain double-precision loop.
#include "shim.h"
#include "../elementwise.cu"
#include "../batchnorm.cu"
#include "../pool.cu"
#include "../loss.cu"
#include "../similarity.cu"
#include "../featstd.cu"
#include "../gemm.cu"
#include "../conv.cu"
#include "../augment.cu"
#include <random>
#include <string>
std::mt19937 rng(1);
std::vector<float> U(size_t n, float lo = -1, float hi = 1) { std::uniform_real_distribution<float> d(lo, hi); std::vector<float> v(n); for (auto& x : v) x = d(rng); return v; }
int fails = 0;
void cmp(const char* what, const std::vector<float>& want, const std::vector<float>& got, double tol) {
    double me = 0; int bad = 0, first = -1;
    for (size_t i = 0; i < want.size(); i++) { double e = std::fabs((double) want[i] - got[i]); if (!(e <= tol * (1 + std::fabs(want[i])))) { if (first < 0) first = i; bad++; } if (e > me) me = e; }
    printf("%-4s %-50s max|err| %.2e%s", bad ? "FAIL" : "ok", what, me, bad ? "" : "\n");
    if (bad) { printf("  %d bad, first [%d] want %g got %g\n", bad, first, want[first], got[first]); fails++; }
}
void gemm_ref(bool ta, bool tb, int m, int n, int k, float al, const float* a, const float* b, float be, float* c) {
    for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) { double s = 0; for (int p = 0; p < k; p++) s += (double) (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]); c[i * n + j] = (float) (al * s + (be == 0 ? 0 : be * c[i * n + j])); }
}
void test_gemm() {
    int sz[][3] = {{1, 1, 1}, {7, 3, 129}, {129, 65, 33}, {64, 70, 17}};
    for (auto& s : sz) for (int t = 0; t < 4; t++) {
        int m = s[0], n = s[1], k = s[2]; bool ta = t & 1, tb = t & 2; float beta = t == 3 ? 0.5f : 0.f;
        auto a = U(m * k), b = U(k * n), c = U(m * n), c2 = c;
        if (beta == 0) for (auto& x : c2) x = NAN; // beta 0 must not read C
        gemm_ref(ta, tb, m, n, k, 1.5f, a.data(), b.data(), beta, c.data());
        launch((n + 63) / 64, (m + 63) / 64, 1, 256, [&] { gemm(ta, tb, m, n, k, 1.5f, a.data(), b.data(), beta, c2.data(), 0, 0, 0); });
        char buf[100]; snprintf(buf, 100, "gemm tA=%d tB=%d %dx%dx%d beta=%g", ta, tb, m, n, k, beta); cmp(buf, c, c2, 1e-5);
    }
    // batched, strides with gaps, A shared (stride 0)
    int m = 5, n = 7, k = 9, B = 3; long sa = 0, sb = k * n + 1, sc = m * n + 2;
    auto a = U(m * k), b = U(sb * B), c = U(sc * B), c2 = c;
    for (int i = 0; i < B; i++) gemm_ref(false, true, m, n, k, -0.5f, a.data(), b.data() + i * sb, 1.f, c.data() + i * sc);
    launch(1, 1, B, 256, [&] { gemm(0, 1, m, n, k, -0.5f, a.data(), b.data(), 1.f, c2.data(), sa, sb, sc); });
    cmp("gemm batch 3 tB strideA 0", c, c2, 1e-5);
}
void test_conv() {
    int geo[][9] = {{2, 3, 7, 7, 5, 3, 3, 1, 1}, {3, 4, 9, 8, 6, 5, 3, 2, 2}, {2, 3, 13, 11, 8, 1, 1, 2, 0}};
    for (auto& g : geo) {
        int B = g[0], C = g[1], H = g[2], W = g[3], K = g[4], kh = g[5], kw = g[6], st = g[7], pd = g[8];
        int oH = (H + 2 * pd - kh) / st + 1, oW = (W + 2 * pd - kw) / st + 1, P = oH * oW, ckk = C * kh * kw;
        auto x = U(B * C * H * W), w = U(K * ckk), dy = U(B * K * P);
        std::vector<float> y(B * K * P), dx(B * C * H * W, 0), dw(K * ckk, 0);
        for (int b = 0; b < B; b++) for (int o = 0; o < K; o++) for (int i = 0; i < oH; i++) for (int j = 0; j < oW; j++) {
            double s = 0;
            for (int c = 0; c < C; c++) for (int r = 0; r < kh; r++) for (int q = 0; q < kw; q++) {
                int h = i * st - pd + r, ww = j * st - pd + q; if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                s += (double) x[((b * C + c) * H + h) * W + ww] * w[((o * C + c) * kh + r) * kw + q];
                dx[((b * C + c) * H + h) * W + ww] += dy[((b * K + o) * oH + i) * oW + j] * w[((o * C + c) * kh + r) * kw + q];
                dw[((o * C + c) * kh + r) * kw + q] += dy[((b * K + o) * oH + i) * oW + j] * x[((b * C + c) * H + h) * W + ww];
            }
            y[((b * K + o) * oH + i) * oW + j] = s;
        }
        std::vector<float> col((size_t) B * ckk * P), y2(y.size()), dcol(col.size()), dx2(dx.size()), dw2(dw.size());
        launch(3, 1, 1, 256, [&] { im2col(x.data(), col.data(), B, C, H, W, kh, kw, st, pd, oH, oW); });
        launch((P + 63) / 64, (K + 63) / 64, B, 256, [&] { gemm(0, 0, K, P, ckk, 1.f, w.data(), col.data(), 0.f, y2.data(), 0, (long long) ckk * P, (long long) K * P); });
        cmp("conv fwd im2col+gemm", y, y2, 1e-5);
        launch((P + 63) / 64, (ckk + 63) / 64, B, 256, [&] { gemm(1, 0, ckk, P, K, 1.f, w.data(), dy.data(), 0.f, dcol.data(), 0, (long long) K * P, (long long) ckk * P); });
        launch(3, 1, 1, 256, [&] { col2im(dcol.data(), dx2.data(), B, C, H, W, kh, kw, st, pd, oH, oW); });
        cmp("conv bwd data gemm+col2im", dx, dx2, 1e-5);
        for (int b = 0; b < B; b++) launch((ckk + 63) / 64, (K + 63) / 64, 1, 256, [&] { gemm(0, 1, K, ckk, P, 1.f, dy.data() + (size_t) b * K * P, col.data() + (size_t) b * ckk * P, b == 0 ? 0.f : 1.f, dw2.data(), 0, 0, 0); });
        cmp("conv bwd filter per-image gemm", dw, dw2, 1e-5);
    }
}
void test_pool() {
    int geo[][10] = {{2, 3, 7, 7, 2, 2, 2, 2, 0, 0}, {2, 3, 9, 9, 3, 3, 2, 2, 1, 1}, {1, 2, 8, 8, 3, 3, 1, 1, 1, 1}, {3, 2, 5, 6, 5, 6, 1, 1, 2, 3}};
    for (auto& g : geo) {
        int B = g[0], C = g[1], H = g[2], W = g[3], kh = g[4], kw = g[5], sh = g[6], sw = g[7], ph = g[8], pw = g[9];
        int oH = (H + 2 * ph - kh) / sh + 1, oW = (W + 2 * pw - kw) / sw + 1;
        auto x = U(B * C * H * W), dy = U(B * C * oH * oW);
        std::vector<float> ym(dy.size()), ya(dy.size()), dxm(x.size(), 0), dxa(x.size(), 0);
        for (int pl = 0; pl < B * C; pl++) for (int i = 0; i < oH; i++) for (int j = 0; j < oW; j++) {
            int best = -1; float bv = -INFINITY; double s = 0;
            for (int r = 0; r < kh; r++) for (int q = 0; q < kw; q++) { int h = i * sh - ph + r, w = j * sw - pw + q; if (h < 0 || h >= H || w < 0 || w >= W) continue;
                float v = x[pl * H * W + h * W + w]; s += v; if (best < 0 || v > bv) { bv = v; best = h * W + w; }
                dxa[pl * H * W + h * W + w] += dy[(pl * oH + i) * oW + j] / (kh * kw); }
            ym[(pl * oH + i) * oW + j] = bv; ya[(pl * oH + i) * oW + j] = s / (kh * kw);
            dxm[pl * H * W + best] += dy[(pl * oH + i) * oW + j];
        }
        std::vector<float> ym2(ym.size()), ya2(ya.size()), dxm2(x.size()), dxa2(x.size());
        launch(2, 1, 1, 256, [&] { max_pool_forward(x.data(), ym2.data(), B, C, H, W, kh, kw, sh, sw, ph, pw, oH, oW); });
        launch(2, 1, 1, 256, [&] { avg_pool_forward(x.data(), ya2.data(), B, C, H, W, kh, kw, sh, sw, ph, pw, oH, oW); });
        launch(2, 1, 1, 256, [&] { max_pool_backward(x.data(), dy.data(), dxm2.data(), B, C, H, W, kh, kw, sh, sw, ph, pw, oH, oW); });
        launch(2, 1, 1, 256, [&] { avg_pool_backward(dy.data(), dxa2.data(), B, C, H, W, kh, kw, sh, sw, ph, pw, oH, oW); });
        cmp("max pool fwd", ym, ym2, 0); cmp("avg pool fwd", ya, ya2, 1e-6); cmp("max pool bwd", dxm, dxm2, 1e-6); cmp("avg pool bwd", dxa, dxa2, 1e-6);
    }
}
void test_reductions() {
    for (int n : {1, 1000, 5003}) {
        auto x = U(n); double s = 0; for (float v : x) s += v;
        std::vector<float> out = {0.25f};
        launch(1, 1, 1, 1024, [&] { sum(x.data(), n, out.data(), 1); });
        cmp("sum accumulate", {(float) (s + 0.25)}, out, 1e-5);
    }
    { int B = 129, K = 10; auto lg = U(B * K); std::vector<float> lab(B); int hits = 0;
      for (int b = 0; b < B; b++) { lab[b] = rng() % K; int best = 0; for (int k = 1; k < K; k++) if (lg[b * K + k] > lg[b * K + best]) best = k; hits += best == (int) lab[b]; }
      std::vector<float> out = {3}; launch(1, 1, 1, 1024, [&] { count_correct(lg.data(), lab.data(), B, K, out.data(), 1); });
      cmp("count_correct", {(float) hits + 3}, out, 0); }
    { int B = 3, C = 7, I = 129; auto dy = U(B * C * I); std::vector<float> want(C), got(C);
      for (int c = 0; c < C; c++) { double s = 0; for (int b = 0; b < B; b++) for (int i = 0; i < I; i++) s += dy[(b * C + c) * I + i]; want[c] = s; }
      launch(C, 1, 1, 512, [&] { bias_backward(dy.data(), got.data(), B, C, I, 0); }); cmp("bias_backward", want, got, 1e-5); }
}
void test_bn() {
    int B = 7, C = 3, I = 129, m = B * I; auto x = U(B * C * I, -2, 3), g = U(C, .5, 1.5), be = U(C), dy = U(B * C * I);
    std::vector<float> rm = U(C), rv = U(C, .5, 2), rm2 = rm, rv2 = rv, y(x.size()), y2(x.size()), sm(C), si(C), sm2(C), si2(C), dx(x.size()), dx2(x.size()), dg(C), db(C), dg2(C), db2(C);
    for (int c = 0; c < C; c++) {
        double s = 0, q = 0; for (int b = 0; b < B; b++) for (int i = 0; i < I; i++) s += x[(b * C + c) * I + i]; double mean = s / m;
        for (int b = 0; b < B; b++) for (int i = 0; i < I; i++) { double d = x[(b * C + c) * I + i] - mean; q += d * d; }
        double var = q / m, is = 1 / std::sqrt(var + 1e-5); sm[c] = mean; si[c] = is;
        rm[c] = 0.9 * rm[c] + 0.1 * mean; rv[c] = 0.9 * rv[c] + 0.1 * q / (m - 1);
        double sd = 0, sdx = 0;
        for (int b = 0; b < B; b++) for (int i = 0; i < I; i++) { int k = (b * C + c) * I + i; double xh = (x[k] - mean) * is; y[k] = xh * g[c] + be[c]; sd += dy[k]; sdx += dy[k] * xh; }
        for (int b = 0; b < B; b++) for (int i = 0; i < I; i++) { int k = (b * C + c) * I + i; double xh = (x[k] - mean) * is; dx[k] = g[c] * is / m * (m * dy[k] - sd - xh * sdx); }
        dg[c] = sdx; db[c] = sd;
    }
    launch(C, 1, 1, 512, [&] { batch_norm_forward_train(x.data(), g.data(), be.data(), rm2.data(), rv2.data(), 0.1f, 1e-5f, y2.data(), sm2.data(), si2.data(), B, C, I); });
    cmp("bn train y", y, y2, 1e-5); cmp("bn running mean", rm, rm2, 1e-6); cmp("bn running var", rv, rv2, 1e-5); cmp("bn save mean", sm, sm2, 1e-6); cmp("bn invstd", si, si2, 1e-5);
    launch(C, 1, 1, 512, [&] { batch_norm_backward(x.data(), dy.data(), g.data(), sm2.data(), si2.data(), dx2.data(), dg2.data(), db2.data(), B, C, I, 0); });
    cmp("bn bwd dx", dx, dx2, 1e-4); cmp("bn bwd dgamma", dg, dg2, 1e-5); cmp("bn bwd dbeta", db, db2, 1e-5);
}
void test_loss_sim_std() {
    for (auto bk : {std::pair{7, 3}, std::pair{129, 10}, std::pair{3, 1000}}) {
        int B = bk.first, K = bk.second; auto lg = U(B * K, -4, 4); std::vector<float> lab(B), p(B * K), p2(B * K), l(1), l2(1); double tot = 0;
        for (int b = 0; b < B; b++) { lab[b] = rng() % K; double mx = -1e30, s = 0; for (int k = 0; k < K; k++) mx = std::max(mx, (double) lg[b * K + k]);
            for (int k = 0; k < K; k++) s += std::exp(lg[b * K + k] - mx); for (int k = 0; k < K; k++) p[b * K + k] = std::exp(lg[b * K + k] - mx) / s; tot += std::log(s) - (lg[b * K + (int) lab[b]] - mx); }
        l[0] = tot / B;
        launch(1, 1, 1, 1024, [&] { cross_entropy_forward(lg.data(), lab.data(), l2.data(), p2.data(), B, K); });
        cmp("ce loss", l, l2, 1e-5); cmp("ce probs", p, p2, 1e-5);
    }
    for (auto bd : {std::pair{7, 129}, std::pair{129, 10}, std::pair{1, 3}, std::pair{5, 6}}) {
        int B = bd.first, D = bd.second; auto x = U(B * D), ds = U(B * B);
        if (B == 5) for (int j = 0; j < D; j++) x[2 * D + j] = 0.375f;
        std::vector<double> xn(B * D), xc(B * D), nr(B); std::vector<float> s(B * B), dx(B * D);
        for (int b = 0; b < B; b++) { double m = 0; for (int j = 0; j < D; j++) m += x[b * D + j]; m /= D; double q = 0;
            for (int j = 0; j < D; j++) { xc[b * D + j] = x[b * D + j] - m; q += xc[b * D + j] * xc[b * D + j]; } nr[b] = std::sqrt(q);
            for (int j = 0; j < D; j++) xn[b * D + j] = xc[b * D + j] / (1e-8 + nr[b]); }
        for (int i = 0; i < B; i++) for (int j = 0; j < B; j++) { double v = 0; for (int t = 0; t < D; t++) v += xn[i * D + t] * xn[j * D + t]; s[i * B + j] = std::min(1.0, std::max(-1.0, v)); }
        for (int i = 0; i < B; i++) {
            std::vector<double> dxn(D, 0); for (int j = 0; j < B; j++) for (int t = 0; t < D; t++) dxn[t] += (ds[i * B + j] + ds[j * B + i]) * xn[j * D + t];
            double e = 1e-8 + nr[i], dot = 0; for (int t = 0; t < D; t++) dot += dxn[t] * xc[i * D + t];
            double k = nr[i] > 0 ? dot / (e * e * nr[i]) : 0, mean = 0; std::vector<double> dxc(D);
            for (int t = 0; t < D; t++) { dxc[t] = dxn[t] / e - xc[i * D + t] * k; mean += dxc[t]; } mean /= D;
            for (int t = 0; t < D; t++) dx[i * D + t] = dxc[t] - mean;
        }
        std::vector<float> xc2(B * D), n2(B), xn2(B * D), s2(B * B), g2(B * B), dx2(B * D);
        launch(B, 1, 1, 512, [&] { similarity_normalize(x.data(), xc2.data(), n2.data(), xn2.data(), B, D); });
        launch((B + 63) / 64, (B + 63) / 64, 1, 256, [&] { gemm(0, 1, B, B, D, 1.f, xn2.data(), xn2.data(), 0.f, s2.data(), 0, 0, 0); });
        launch(1, 1, 1, 256, [&] { similarity_clamp(s2.data(), B * B); });
        cmp("similarity s", s, s2, 1e-5);
        launch(2, 1, 1, 256, [&] { similarity_backward_gram(s2.data(), ds.data(), n2.data(), g2.data(), B); });
        launch((D + 63) / 64, (B + 63) / 64, 1, 256, [&] { gemm(0, 0, B, D, B, 1.f, g2.data(), xc2.data(), 0.f, dx2.data(), 0, 0, 0); });
        launch(B, 1, 1, 512, [&] { similarity_backward_rows(xc2.data(), n2.data(), dx2.data(), B, D); });
        double mx = 1; for (float v : dx) mx = std::max(mx, (double) std::fabs(v));
        cmp("similarity backward dx (tol scaled by max)", dx, dx2, 1e-4 * mx);
    }
    for (auto d : {std::pair{21, 49}, std::pair{10, 2}, std::pair{19, 1024}}) {
        int M = d.first, I = d.second; auto x = U(M * I), dy = U(M); std::vector<float> y(M), dx(M * I);
        for (int m = 0; m < M; m++) { double s = 0, q = 0; for (int i = 0; i < I; i++) s += x[m * I + i]; double mean = s / I; for (int i = 0; i < I; i++) q += (x[m * I + i] - mean) * (x[m * I + i] - mean);
            y[m] = std::sqrt(q / (I - 1)); for (int i = 0; i < I; i++) dx[m * I + i] = dy[m] * (x[m * I + i] - mean) / ((I - 1) * y[m]); }
        std::vector<float> y2(M), dx2(M * I);
        launch((M + 7) / 8, 1, 1, 256, [&] { feature_map_std_forward(x.data(), y2.data(), M, I); });
        launch((M + 7) / 8, 1, 1, 256, [&] { feature_map_std_backward(x.data(), y2.data(), dy.data(), dx2.data(), M, I); });
        cmp("featstd fwd", y, y2, 1e-5); cmp("featstd bwd", dx, dx2, 1e-5);
    }
}
int main() { test_gemm(); test_conv(); test_pool(); test_reductions(); test_bn(); test_loss_sim_std(); printf("%d failures\n", fails); return fails != 0; }
