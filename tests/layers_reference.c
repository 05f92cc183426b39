/* float64 references of the layers, straight from their definitions:
 * direct loops (no im2col, no GEMM), so they check the device code's
 * decomposition as well as its arithmetic. */
#include "layers_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ref_conv_setup(ref_conv *g)
{
    g->ho = (g->h + 2 * g->ph - g->kh) / g->s + 1;
    g->wo = (g->w + 2 * g->pw - g->kw) / g->s + 1;
}

/* The input index a padded position reads, or -1 for a zero. */
static long conv_src(const ref_conv *g, int n, int c, int ih, int iw)
{
    if (g->replicate) {
        ih = ih < 0 ? 0 : ih >= g->h ? g->h - 1 : ih;
        iw = iw < 0 ? 0 : iw >= g->w ? g->w - 1 : iw;
    } else if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) {
        return -1;
    }
    return (((long)n * g->c + c) * g->h + ih) * g->w + iw;
}

void ref_conv_forward(const ref_conv *g, const double *x, const double *w, const double *b, double *y)
{
    for (int n = 0; n < g->n; n++)
        for (int o = 0; o < g->o; o++)
            for (int i = 0; i < g->ho; i++)
                for (int j = 0; j < g->wo; j++) {
                    double sum = b ? b[o] : 0.0;
                    for (int c = 0; c < g->c; c++)
                        for (int u = 0; u < g->kh; u++)
                            for (int v = 0; v < g->kw; v++) {
                                long src = conv_src(g, n, c, i * g->s + u - g->ph, j * g->s + v - g->pw);
                                if (src >= 0) sum += w[((o * g->c + c) * g->kh + u) * g->kw + v] * x[src];
                            }
                    y[(((long)n * g->o + o) * g->ho + i) * g->wo + j] = sum;
                }
}

void ref_conv_backward(const ref_conv *g, const double *x, const double *w, const double *dy, double *dx,
                       double *dw, double *db)
{
    if (dx) memset(dx, 0, sizeof(double) * (size_t)g->n * g->c * g->h * g->w);
    for (int n = 0; n < g->n; n++)
        for (int o = 0; o < g->o; o++)
            for (int i = 0; i < g->ho; i++)
                for (int j = 0; j < g->wo; j++) {
                    double d = dy[(((long)n * g->o + o) * g->ho + i) * g->wo + j];
                    if (db) db[o] += d;
                    for (int c = 0; c < g->c; c++)
                        for (int u = 0; u < g->kh; u++)
                            for (int v = 0; v < g->kw; v++) {
                                long src = conv_src(g, n, c, i * g->s + u - g->ph, j * g->s + v - g->pw);
                                if (src < 0) continue;
                                long wi = ((o * g->c + c) * g->kh + u) * g->kw + v;
                                if (dw) dw[wi] += d * x[src];
                                if (dx) dx[src] += d * w[wi];
                            }
                }
}

void ref_dense_forward(int n, int in, int out, const double *x, const double *w, const double *b, double *y)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double sum = b ? b[o] : 0.0;
            for (int k = 0; k < in; k++) sum += w[(long)o * in + k] * x[(long)i * in + k];
            y[(long)i * out + o] = sum;
        }
}

void ref_dense_backward(int n, int in, int out, const double *x, const double *w, const double *dy, double *dx,
                        double *dw, double *db)
{
    if (dx) memset(dx, 0, sizeof(double) * (size_t)n * in);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double d = dy[(long)i * out + o];
            if (db) db[o] += d;
            for (int k = 0; k < in; k++) {
                if (dw) dw[(long)o * in + k] += d * x[(long)i * in + k];
                if (dx) dx[(long)i * in + k] += d * w[(long)o * in + k];
            }
        }
}

void ref_gemm(int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb,
              double beta, double *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(long)p * lda + i] : a[(long)i * lda + p];
                double bv = tb ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
                sum += av * bv;
            }
            c[(long)i * ldc + j] = alpha * sum + (beta != 0.0 ? beta * c[(long)i * ldc + j] : 0.0);
        }
}

void ref_upsample_forward(int planes, int h, int w, int f, const double *x, double *y)
{
    for (long p = 0; p < planes; p++)
        for (int i = 0; i < h * f; i++)
            for (int j = 0; j < w * f; j++) y[(p * h * f + i) * w * f + j] = x[(p * h + i / f) * w + j / f];
}

void ref_upsample_backward(int planes, int h, int w, int f, const double *dy, double *dx)
{
    memset(dx, 0, sizeof(double) * (size_t)planes * h * w);
    for (long p = 0; p < planes; p++)
        for (int i = 0; i < h * f; i++)
            for (int j = 0; j < w * f; j++) dx[(p * h + i / f) * w + j / f] += dy[(p * h * f + i) * w * f + j];
}

void ref_elementwise_forward(int kind, long count, const double *x, double *y)
{
    for (long i = 0; i < count; i++) {
        if (kind == 0) y[i] = x[i] > 0.0 ? x[i] : 0.0;
        else if (kind == 1) y[i] = tanh(x[i]);
        else y[i] = tanh(x[i]) > 0.0 ? 1.0 : -1.0;
    }
}

void ref_elementwise_surrogate(int kind, long count, const double *x, double *y)
{
    if (kind == 2) {
        for (long i = 0; i < count; i++) y[i] = tanh(x[i]);
        return;
    }
    ref_elementwise_forward(kind, count, x, y);
}

void ref_elementwise_backward(int kind, long count, const double *x, const double *dy, double *dx)
{
    for (long i = 0; i < count; i++) {
        if (kind == 0) {
            dx[i] = x[i] > 0.0 ? dy[i] : 0.0;
        } else {
            double t = tanh(x[i]);
            dx[i] = dy[i] * (1.0 - t * t);
        }
    }
}

static void bn_stats(int n, int c, int hw, const double *x, int ch, double *mean, double *var)
{
    double sum = 0.0, sq = 0.0, count = (double)n * hw;
    for (int i = 0; i < n; i++)
        for (int p = 0; p < hw; p++) sum += x[((long)i * c + ch) * hw + p];
    double m = sum / count;
    for (int i = 0; i < n; i++)
        for (int p = 0; p < hw; p++) {
            double d = x[((long)i * c + ch) * hw + p] - m;
            sq += d * d;
        }
    *mean = m;
    *var = sq / count;
}

void ref_batchnorm_forward_train(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                 const double *beta, double *y, double *mean, double *var)
{
    for (int ch = 0; ch < c; ch++) {
        double m, v;
        bn_stats(n, c, hw, x, ch, &m, &v);
        if (mean) mean[ch] = m;
        if (var) var[ch] = v;
        double r = 1.0 / sqrt(v + eps);
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                long k = ((long)i * c + ch) * hw + p;
                y[k] = gamma[ch] * (x[k] - m) * r + beta[ch];
            }
    }
}

void ref_batchnorm_backward_train(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                  const double *dy, double *dx, double *dgamma, double *dbeta)
{
    double count = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double m, v;
        bn_stats(n, c, hw, x, ch, &m, &v);
        double r = 1.0 / sqrt(v + eps), s1 = 0.0, s2 = 0.0;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                long k = ((long)i * c + ch) * hw + p;
                s1 += dy[k];
                s2 += dy[k] * (x[k] - m) * r; /* sum dy xhat */
            }
        if (dgamma) dgamma[ch] += s2;
        if (dbeta) dbeta[ch] += s1;
        if (!dx) continue;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                long k = ((long)i * c + ch) * hw + p;
                double xhat = (x[k] - m) * r;
                dx[k] = gamma[ch] * r * (dy[k] - s1 / count - xhat * s2 / count);
            }
    }
}

void ref_batchnorm_forward_eval(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                const double *beta, const double *mean, const double *var, double *y)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) {
                long k = ((long)i * c + ch) * hw + p;
                y[k] = gamma[ch] * (x[k] - mean[ch]) / sqrt(var[ch] + eps) + beta[ch];
            }
}

void ref_batchnorm_backward_eval(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                 const double *mean, const double *var, const double *dy, double *dx, double *dgamma,
                                 double *dbeta)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) {
                long k = ((long)i * c + ch) * hw + p;
                double r = 1.0 / sqrt(var[ch] + eps);
                if (dgamma) dgamma[ch] += dy[k] * (x[k] - mean[ch]) * r;
                if (dbeta) dbeta[ch] += dy[k];
                if (dx) dx[k] = gamma[ch] * r * dy[k];
            }
}

void ref_vae_forward(int n, int L, int sample, const double *x, const double *eps, double *z, double *kl)
{
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int j = 0; j < L; j++) {
            double mu = x[(long)i * 2 * L + j], lv = x[(long)i * 2 * L + L + j];
            z[(long)i * L + j] = sample ? mu + exp(0.5 * lv) * eps[(long)i * L + j] : mu;
            sum += mu * mu + exp(lv) - 1.0 - lv;
        }
        if (kl) kl[i] = 0.5 * sum;
    }
}

void ref_vae_backward(int n, int L, int sample, double kl_weight, const double *x, const double *eps,
                      const double *dz, double *dx)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < L; j++) {
            long mi = (long)i * 2 * L + j, li = mi + L, zi = (long)i * L + j;
            double mu = x[mi], lv = x[li];
            dx[mi] = dz[zi] + kl_weight * mu;
            dx[li] = (sample ? dz[zi] * eps[zi] * 0.5 * exp(0.5 * lv) : 0.0) + kl_weight * 0.5 * (exp(lv) - 1.0);
        }
}
