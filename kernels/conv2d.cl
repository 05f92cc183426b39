/* conv2d.cl: the data movement around the GEMMs of a 2-D convolution.
 * Shapes: input x is n x C x H x W, output y is n x O x Ho x Wo, P = Ho*Wo,
 *   K = C*KH*KW; a chunk holds images n0 .. n0+nc-1.
 * im2col: col[r, i*P + p] (K rows, nc*P columns) = x[n0+i, c, oh*S+u-PH,
 *   ow*S+v-PW] with r = (c*KH + u)*KW + v; outside the image 0 (zero
 *   padding) or the nearest edge pixel (REPLICATE = 1).
 * col2im: dx[n0+i, c, ih, iw] = sum of dcol over every (r, p) that im2col
 *   read from that pixel, gathered (u, then the output rows, v, then the
 *   output columns: a fixed order, no atomics). With replicate padding an
 *   edge pixel gathers every padded position clamped onto it.
 * scatter_bias: y[n0+i, o, p] = t[o, i*P + p] + bias[o] (bias may be unused);
 * gather_dy: t[o, i*P + p] = dy[n0+i, o, p] (the GEMM layout of dy).
 * Compile-time parameters: REPLICATE (0/1).
 * Why: one GEMM per chunk of images (O x K times K x nc*P) keeps the
 *   matrices large enough for either GEMM backend. */
#ifndef REPLICATE
#define REPLICATE 0
#endif

__kernel void im2col(const int C, const int H, const int W, const int KH, const int KW, const int S, const int PH,
                     const int PW, const int Ho, const int Wo, const int n0, const int nc,
                     __global const float *x, __global float *col)
{
    const int j = get_global_id(0), r = get_global_id(1);
    const int P = Ho * Wo, cols = nc * P;
    if (j >= cols || r >= C * KH * KW) return;
    const int i = j / P, p = j % P, oh = p / Wo, ow = p % Wo;
    const int v = r % KW, u = (r / KW) % KH, c = r / (KW * KH);
    int ih = oh * S + u - PH, iw = ow * S + v - PW;
    float value;
#if REPLICATE
    ih = clamp(ih, 0, H - 1);
    iw = clamp(iw, 0, W - 1);
    value = x[(((size_t)(n0 + i) * C + c) * H + ih) * W + iw];
#else
    value = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[(((size_t)(n0 + i) * C + c) * H + ih) * W + iw] : 0.0f;
#endif
    col[(size_t)r * cols + j] = value;
}

/* The output positions o (in [*lo, *hi], empty when lo > hi) whose tap k
 * reads input position i along one axis. */
static void taps(const int i, const int size, const int k, const int S, const int pad, const int out, int *lo,
                 int *hi)
{
    const int t = i + pad - k; /* o*S == t reads i directly */
    *lo = 1;
    *hi = 0;
    if (t >= 0 && t % S == 0 && t / S < out) *lo = *hi = t / S;
#if REPLICATE
    /* Positions clamped onto an edge: o*S + k - pad <= 0 (i == 0) or
     * >= size - 1 (i == size - 1). */
    int a = out, b = -1;
    if (i == 0) {
        const int lim = pad - k; /* o*S <= lim */
        if (lim >= 0) {
            a = 0;
            b = min(lim / S, out - 1);
        }
    }
    if (i == size - 1) {
        const int need = size - 1 + pad - k; /* o*S >= need */
        const int first = need <= 0 ? 0 : (need + S - 1) / S;
        if (first < out) {
            a = min(a, first);
            b = out - 1;
        }
    }
    if (a <= b) {
        *lo = a;
        *hi = b;
    }
#endif
}

__kernel void col2im(const int C, const int H, const int W, const int KH, const int KW, const int S, const int PH,
                     const int PW, const int Ho, const int Wo, const int n0, const int nc,
                     __global const float *dcol, __global float *dx)
{
    const int iw = get_global_id(0), ih = get_global_id(1), plane = get_global_id(2);
    if (iw >= W || ih >= H || plane >= nc * C) return;
    const int i = plane / C, c = plane % C;
    const int P = Ho * Wo, cols = nc * P;
    float sum = 0.0f;
    for (int u = 0; u < KH; u++) {
        int oh_lo, oh_hi;
        taps(ih, H, u, S, PH, Ho, &oh_lo, &oh_hi);
        for (int oh = oh_lo; oh <= oh_hi; oh++) {
            for (int v = 0; v < KW; v++) {
                int ow_lo, ow_hi;
                taps(iw, W, v, S, PW, Wo, &ow_lo, &ow_hi);
                __global const float *row = dcol + (size_t)((c * KH + u) * KW + v) * cols + (size_t)i * P + oh * Wo;
                for (int ow = ow_lo; ow <= ow_hi; ow++) sum += row[ow];
            }
        }
    }
    dx[(((size_t)(n0 + i) * C + c) * H + ih) * W + iw] = sum;
}

__kernel void scatter_bias(const int O, const int P, const int n0, const int nc, const int has_bias,
                           __global const float *t, __global const float *bias, __global float *y)
{
    const int j = get_global_id(0), o = get_global_id(1);
    if (j >= nc * P || o >= O) return;
    const int i = j / P, p = j % P;
    const float b = has_bias ? bias[o] : 0.0f;
    y[((size_t)(n0 + i) * O + o) * P + p] = t[(size_t)o * nc * P + j] + b;
}

__kernel void gather_dy(const int O, const int P, const int n0, const int nc, __global const float *dy,
                        __global float *t)
{
    const int j = get_global_id(0), o = get_global_id(1);
    if (j >= nc * P || o >= O) return;
    const int i = j / P, p = j % P;
    t[(size_t)o * nc * P + j] = dy[((size_t)(n0 + i) * O + o) * P + p];
}
