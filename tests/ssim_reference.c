/* Float64 SSIM / MS-SSIM reference (see ssim_reference.h): every windowed sum
 * is a direct 11x11 loop with the clamp (same) or offset (valid) of README
 * section 3, and the adjoint is a literal scatter over the same loop. */
#include "ssim_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ref_gauss(int k)
{
    static double table[11];
    static int ready;
    if (!ready) { /* computed once; the tests are single-threaded */
        double sum = 0.0;
        for (int u = -5; u <= 5; u++) sum += exp(-(double)(u * u) / (2.0 * 1.5 * 1.5));
        for (int u = -5; u <= 5; u++) table[u + 5] = exp(-(double)(u * u) / (2.0 * 1.5 * 1.5)) / sum;
        ready = 1;
    }
    return table[k + 5];
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The image pixel read by map position (i, j), tap (u, v). */
static int pixel_index(int i, int j, int u, int v, int h, int w, int same)
{
    if (same) return clampi(i + u, 0, h - 1) * w + clampi(j + v, 0, w - 1);
    return (i + 5 + u) * w + (j + 5 + v);
}

typedef struct moments {
    double mx, my, sx2, sy2, sxy;
} moments;

static moments moments_at(const double *x, const double *y, int h, int w, int same, int i, int j)
{
    double ex = 0, ey = 0, exx = 0, eyy = 0, exy = 0;
    for (int u = -5; u <= 5; u++)
        for (int v = -5; v <= 5; v++) {
            const double g = ref_gauss(u) * ref_gauss(v);
            const int p = pixel_index(i, j, u, v, h, w, same);
            ex += g * x[p];
            ey += g * y[p];
            exx += g * x[p] * x[p];
            eyy += g * y[p] * y[p];
            exy += g * x[p] * y[p];
        }
    moments m = {ex, ey, exx - ex * ex, eyy - ey * ey, exy - ex * ey};
    return m;
}

void ref_downsample(const double *a, int h, int w, double *out)
{
    const int oh = (h + 1) / 2, ow = (w + 1) / 2;
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            const int r0 = 2 * i, r1 = 2 * i + 1 < h ? 2 * i + 1 : h - 1;
            const int c0 = 2 * j, c1 = 2 * j + 1 < w ? 2 * j + 1 : w - 1;
            out[i * ow + j] = (a[r0 * w + c0] + a[r1 * w + c0] + a[r0 * w + c1] + a[r1 * w + c1]) / 4.0;
        }
}

/* U = adjoint of D: coarse (ceil(h/2) x ceil(w/2)) onto fine h x w, added. */
static void upsample_add(const double *g, int h, int w, double *fine)
{
    const int oh = (h + 1) / 2, ow = (w + 1) / 2;
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    const int r = 2 * i + a < h ? 2 * i + a : h - 1;
                    const int c = 2 * j + b < w ? 2 * j + b : w - 1;
                    fine[r * w + c] += g[i * ow + j] / 4.0;
                }
}

/* Means of the cs, l and SSIM maps of one level; with dgrad, adds
 * d(mean of f)/dy to it, f = SSIM (f_is_ssim) or cs. */
static void level_terms(const double *x, const double *y, int h, int w, int same, double L, ref_ssim_level *out,
                        int f_is_ssim, double *dgrad)
{
    const double C1 = (0.01 * L) * (0.01 * L), C2 = (0.03 * L) * (0.03 * L);
    const int mh = same ? h : h - 10, mw = same ? w : w - 10;
    const double P = (double)mh * mw;
    double scs = 0, sl = 0, sss = 0;
    double *wa = NULL, *wb = NULL, *wc = NULL;
    if (dgrad) {
        wa = calloc((size_t)h * w, sizeof(double));
        wb = calloc((size_t)h * w, sizeof(double));
        wc = calloc((size_t)h * w, sizeof(double));
    }
    for (int i = 0; i < mh; i++)
        for (int j = 0; j < mw; j++) {
            const moments m = moments_at(x, y, h, w, same, i, j);
            const double A1 = 2 * m.mx * m.my + C1, B1 = m.mx * m.mx + m.my * m.my + C1;
            const double A2 = 2 * m.sxy + C2, B2 = m.sx2 + m.sy2 + C2;
            const double l = A1 / B1, cs = A2 / B2, s = l * cs;
            scs += cs;
            sl += l;
            sss += s;
            if (!dgrad) continue;
            double a, b, c;
            if (f_is_ssim) {
                a = cs * 2 * (m.mx * B1 - m.my * A1) / (B1 * B1) + l * 2 * (m.my * A2 - m.mx * B2) / (B2 * B2);
                b = -s / B2;
                c = 2 * l / B2;
            } else {
                a = 2 * (m.my * A2 - m.mx * B2) / (B2 * B2);
                b = -cs / B2;
                c = 2 / B2;
            }
            for (int u = -5; u <= 5; u++)
                for (int v = -5; v <= 5; v++) {
                    const double g = ref_gauss(u) * ref_gauss(v);
                    const int p = pixel_index(i, j, u, v, h, w, same);
                    wa[p] += g * a;
                    wb[p] += g * b;
                    wc[p] += g * c;
                }
        }
    out->height = h;
    out->width = w;
    out->map_height = mh;
    out->map_width = mw;
    out->cs = scs / P;
    out->luminance = sl / P;
    out->ssim = sss / P;
    if (dgrad) {
        for (int p = 0; p < h * w; p++) dgrad[p] += (wa[p] + 2 * y[p] * wb[p] + x[p] * wc[p]) / P;
        free(wa);
        free(wb);
        free(wc);
    }
}

void ref_ssim_maps(const double *x, const double *y, int h, int w, int same, double L, double *ssim_map,
                   double *stats)
{
    const double C1 = (0.01 * L) * (0.01 * L), C2 = (0.03 * L) * (0.03 * L);
    const int mh = same ? h : h - 10, mw = same ? w : w - 10, P = mh * mw;
    for (int i = 0; i < mh; i++)
        for (int j = 0; j < mw; j++) {
            const moments m = moments_at(x, y, h, w, same, i, j);
            const int q = i * mw + j;
            if (ssim_map)
                ssim_map[q] = (2 * m.mx * m.my + C1) / (m.mx * m.mx + m.my * m.my + C1) * (2 * m.sxy + C2) /
                              (m.sx2 + m.sy2 + C2);
            if (stats) {
                stats[q] = m.mx;
                stats[P + q] = m.my;
                stats[2 * P + q] = m.sx2;
                stats[3 * P + q] = m.sy2;
                stats[4 * P + q] = m.sxy;
            }
        }
}

int ref_ssim(const double *x, const double *y, int h, int w, int same, double L, int scales, const double *beta,
             double *value, ref_ssim_level *levels, double *grad)
{
    int hs[5], ws[5];
    hs[0] = h;
    ws[0] = w;
    for (int j = 1; j < scales; j++) {
        hs[j] = (hs[j - 1] + 1) / 2;
        ws[j] = (ws[j - 1] + 1) / 2;
    }
    if (!same && (hs[scales - 1] < 11 || ws[scales - 1] < 11)) return -1;
    double *lx[5], *ly[5], *dg[5] = {0};
    ref_ssim_level lev[5];
    for (int j = 0; j < scales; j++) {
        lx[j] = malloc(sizeof(double) * hs[j] * ws[j]);
        ly[j] = malloc(sizeof(double) * hs[j] * ws[j]);
        dg[j] = grad ? calloc((size_t)hs[j] * ws[j], sizeof(double)) : NULL;
        if (j == 0) {
            memcpy(lx[0], x, sizeof(double) * h * w);
            memcpy(ly[0], y, sizeof(double) * h * w);
        } else {
            ref_downsample(lx[j - 1], hs[j - 1], ws[j - 1], lx[j]);
            ref_downsample(ly[j - 1], hs[j - 1], ws[j - 1], ly[j]);
        }
        level_terms(lx[j], ly[j], hs[j], ws[j], same, L, &lev[j], j == scales - 1, dg[j]);
    }
    double t[5];
    for (int j = 0; j < scales; j++) t[j] = j == scales - 1 ? lev[j].ssim : lev[j].cs;
    if (scales == 1) {
        *value = t[0];
    } else {
        int positive = 1;
        for (int j = 0; j < scales; j++) positive = positive && t[j] > 0;
        double v = 1;
        for (int j = 0; j < scales; j++) v *= positive ? pow(t[j], beta[j]) : 0.0;
        *value = positive ? v : 0.0;
        if (grad) /* scale each level's dt_j by the product-rule factor */
            for (int j = 0; j < scales; j++) {
                double f = 0;
                if (positive) {
                    f = beta[j] * pow(t[j], beta[j] - 1);
                    for (int k = 0; k < scales; k++)
                        if (k != j) f *= pow(t[k], beta[k]);
                }
                for (int p = 0; p < hs[j] * ws[j]; p++) dg[j][p] *= f;
            }
    }
    if (grad) {
        for (int j = scales - 1; j >= 1; j--) upsample_add(dg[j], hs[j - 1], ws[j - 1], dg[j - 1]);
        memcpy(grad, dg[0], sizeof(double) * h * w);
    }
    if (levels)
        for (int j = 0; j < scales; j++) levels[j] = lev[j];
    for (int j = 0; j < scales; j++) {
        free(lx[j]);
        free(ly[j]);
        free(dg[j]);
    }
    return 0;
}
