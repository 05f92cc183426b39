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
 * Compile-time parameters: REPLICATE (0/1); MR, NR (the packed path below).
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

/* ---- The packed path (CPU devices; src/gemm.h, kernels/gemm.cl) ----------
 * Convolution operands written straight into the GEMM's packed panels, so
 * that no im2col matrix is transposed or copied again (MR rows / NR columns
 * per panel, zero past the edges). Column index j = i*P + p runs over the
 * chunk's images i and output pixels p; tap index r = (c*KH + u)*KW + v.
 *   im2col_b    forward B:   Bp[j / NR][r][j % NR] = col[r, j]
 *   im2col_bt   dW B:        Bp[r / NR][j][r % NR] = col[r, j]  (col^T)
 *   wflip_a     dx A when the input gradient is itself a convolution
 *               (stride 1, zero padding): of dy with the flipped W^T
 *   dy_a        dW A:        Ap[o / MR][j][o % MR] = dy[n0+i, o, p]
 *   dy_b        dx B:        Bp[j / NR][o][j % NR] = dy[n0+i, o, p]
 *   fill_bias   y[n, o, p] = bias[o] (the forward GEMM then adds with beta 1)
 * Each item writes MR or NR contiguous floats. */
#ifndef MR
#define MR 8
#endif
#ifndef NR
#define NR 32
#endif

static float tap(__global const float *x, const int C, const int H, const int W, const int n, const int c,
                 int ih, int iw)
{
#if REPLICATE
    ih = clamp(ih, 0, H - 1);
    iw = clamp(iw, 0, W - 1);
    return x[(((size_t)n * C + c) * H + ih) * W + iw];
#else
    return (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[(((size_t)n * C + c) * H + ih) * W + iw] : 0.0f;
#endif
}

/* im2col_b: one item per (tap r, output row oh, image i): it copies the
 * row's Wo taps to consecutive panel columns (a jump to the next panel every
 * NR columns). Per-item integer divisions are amortised over the row; the
 * inner loop has only increments (PoCL does not vectorise these copies
 * across items, so the per-element work is what counts). */
__kernel void im2col_b(const int C, const int H, const int W, const int KH, const int KW, const int S, const int PH,
                       const int PW, const int Ho, const int Wo, const int n0, const int nc,
                       __global const float *x, __global float *Bp)
{
    const int r = get_global_id(0), oh = get_global_id(1), i = get_global_id(2);
    const int K = C * KH * KW;
    if (r >= K || oh >= Ho || i >= nc) return;
    const int v = r % KW, u = (r / KW) % KH, c = r / (KW * KH);
    const int ih = oh * S + u - PH;
    int j = (i * Ho + oh) * Wo;
    __global float *dst = Bp + ((size_t)(j / NR) * K + r) * NR + j % NR;
    int lane = j % NR;
    const size_t panel_step = (size_t)K * NR - NR;
    const int row_ok = ih >= 0 && ih < H;
    __global const float *src = x + (((size_t)(n0 + i) * C + c) * H + clamp(ih, 0, H - 1)) * W;
    int iw = v - PW;
    for (int ow = 0; ow < Wo; ow++, iw += S) {
#if REPLICATE
        *dst = src[clamp(iw, 0, W - 1)];
#else
        *dst = (row_ok && iw >= 0 && iw < W) ? src[iw] : 0.0f;
#endif
        dst++;
        if (++lane == NR) lane = 0, dst += panel_step;
    }
#if REPLICATE
    (void)row_ok;
#endif
}

/* im2col_bt: one item per (tap panel rb, output row oh, image i): for each
 * output column of the row, the panel's NR taps (contiguous stores), with
 * the taps' offsets decoded once per item. */
__kernel void im2col_bt(const int C, const int H, const int W, const int KH, const int KW, const int S, const int PH,
                        const int PW, const int Ho, const int Wo, const int n0, const int nc,
                        __global const float *x, __global float *Bp)
{
    const int rb = get_global_id(0), oh = get_global_id(1), i = get_global_id(2);
    const int P = Ho * Wo, cols = nc * P, K = C * KH * KW;
    if (rb * NR >= K || oh >= Ho || i >= nc) return;
    int off[NR], ihs[NR], vs[NR];
    {
        int r = rb * NR, v = r % KW, u = (r / KW) % KH, c = r / (KW * KH);
        for (int t = 0; t < NR; t++) {
            const int ih = oh * S + u - PH;
            const int ok = r < K && ih >= 0 && ih < H;
#if REPLICATE
            off[t] = (c * H + clamp(ih, 0, H - 1)) * W;
            ihs[t] = r < K;
#else
            off[t] = ok ? (c * H + ih) * W : 0;
            ihs[t] = ok;
#endif
            vs[t] = v - PW;
            r++;
            if (++v == KW) {
                v = 0;
                if (++u == KH) u = 0, c++;
            }
        }
    }
    __global const float *img = x + (size_t)(n0 + i) * C * H * W;
    const int j0 = i * P + oh * Wo;
    __global float *dst = Bp + ((size_t)rb * cols + j0) * NR;
    for (int ow = 0; ow < Wo; ow++, dst += NR) {
        const int base = ow * S;
        for (int t = 0; t < NR; t++) {
            const int iw = base + vs[t];
#if REPLICATE
            dst[t] = ihs[t] ? img[off[t] + clamp(iw, 0, W - 1)] : 0.0f;
#else
            dst[t] = (ihs[t] && iw >= 0 && iw < W) ? img[off[t] + iw] : 0.0f;
#endif
        }
    }
}

/* wflip_a: the packed A of the input gradient computed as a convolution of
 * dy (stride 1, zero padding): A[c, r'] with r' = (o*KH + u)*KW + v holds
 * W[o, c, KH-1-u, KW-1-v]; Ap[c / MR][r'][c % MR], 0 past C. */
__kernel void wflip_a(const int O, const int C, const int KH, const int KW, __global const float *w,
                      __global float *Ap)
{
    const int rr = get_global_id(0), cb = get_global_id(1);
    const int K2 = O * KH * KW;
    if (rr >= K2 || cb * MR >= C) return;
    const int v = rr % KW, u = (rr / KW) % KH, o = rr / (KW * KH);
    __global float *dst = Ap + ((size_t)cb * K2 + rr) * MR;
    for (int t = 0; t < MR; t++) {
        const int c = cb * MR + t;
        dst[t] = c < C ? w[(((size_t)o * C + c) * KH + (KH - 1 - u)) * KW + (KW - 1 - v)] : 0.0f;
    }
}

__kernel void dy_a(const int O, const int P, const int n0, const int nc, __global const float *dy,
                   __global float *Ap)
{
    const int p = get_global_id(0), ob = get_global_id(1);
    const int cols = nc * P;
    if (p >= P || ob * MR >= O) return;
    for (int i = 0; i < nc; i++) {
        __global const float *src = dy + ((size_t)(n0 + i) * O + ob * MR) * P + p;
        __global float *dst = Ap + ((size_t)ob * cols + i * P + p) * MR;
        for (int t = 0; t < MR; t++) dst[t] = ob * MR + t < O ? src[(size_t)t * P] : 0.0f;
    }
}

__kernel void dy_b(const int O, const int P, const int n0, const int nc, __global const float *dy,
                   __global float *Bp)
{
    const int o = get_global_id(0), nb = get_global_id(1);
    const int cols = nc * P;
    if (o >= O || nb * NR >= cols) return;
    int j = nb * NR, i = j / P, p = j % P;
    __global float *dst = Bp + ((size_t)nb * O + o) * NR;
    for (int t = 0; t < NR; t++) {
        dst[t] = j < cols ? dy[((size_t)(n0 + i) * O + o) * P + p] : 0.0f;
        j++;
        if (++p == P) p = 0, i++;
    }
}

__kernel void fill_bias(const ulong total, const int O, const int P, __global const float *bias, __global float *y)
{
    const size_t e = get_global_id(0);
    if (e >= total) return;
    y[e] = bias[(e / P) % O];
}
