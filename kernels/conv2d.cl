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

/* ---- The packed path (CPU devices; src/nn/gemm.h, kernels/gemm.cl) ----------
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

/* ---- Direct (implicit-GEMM) kernels: zero padding, stride ST -------------
 * The input is read in place (or from a zero-padded copy made by pad_copy),
 * with no im2col at all. Output pixels are indexed in the input's width:
 * q = oh*Wp + ow for ow < Wp (only ow < Wo are real outputs), so that for a
 * tap (c, u, v) the inputs of 16 consecutive q are 16 consecutive floats,
 * x[c][u*Wp + v + q]: one vector load. The Wp - Wo extra columns per row are
 * computed and dropped (1.1-1.3x extra work at the SRCNN and conv-AE
 * shapes), which costs less than writing and reading an im2col matrix.
 * With stride 1 a padded row's right padding is the next row's left padding
 * (both zero): rows are W + pw floats apart, so that only pw of the q per
 * row are dropped instead of 2 pw (kernel 5, pad 2 at 24 wide: 26 q per
 * row, not 28). Planes are `plane` floats apart (Hp rows and the last
 * row's right padding).
 * Stride ST > 1: pad_copy splits the padded input into ST x ST phase planes,
 * plane (c, a, b) holding xpad[c][ST*i + a][ST*j + b] (ceil(padded size /
 * ST) rows and columns; the rows share zero columns as above when every
 * phase row starts with some); tap (u, v) of output (oh, ow) is then element
 * (oh + u/ST, ow + v/ST) of plane (c, u%ST, v%ST), so the same q indexing and
 * unit-stride vector loads apply. ST = 1 is the plain padded input.
 * Reads past the end of the tensor (the last rows of the last image) go
 * through a bounds-checked path, so the kernels never read outside it
 * (dw_ot reads only the inputs of real outputs: the host checks the last).
 * Compile-time parameters: ST (stride), MR (output channels per item: 1, 2,
 * 4 or 8), MO x MT (dw_direct: output channels x taps per item), OVEC x
 * TAPS (dw_ot: 16-channel vectors x taps per item). */
#ifndef ST
#define ST 1
#endif
#define RW_8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define RW_4(X) X(0) X(1) X(2) X(3)
#define RW_2(X) X(0) X(1)
#define RW_1(X) X(0)
#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)

/* dst = the zero-padded src (planes = N*C of H x W, padded by ph, pw) as
 * ST x ST phase planes of rows Wq floats apart, planes `plane` floats apart
 * (see above; the host's direct_input chooses Wq and plane: with ST = 1,
 * Wq = W + pw; with ST > 1, ceil((W + 2pw) / ST) less the shared columns):
 * element e = i*Wq + j of plane (p, a, b) = padded[p][ST*i + a][ST*j + b],
 * 0 past the padded edge. One item per destination float; no division by
 * a run-time value. The caller zeroes the slack after the last plane. */
__kernel void pad_copy(const int planes, const int H, const int W, const int ph, const int pw, const int Wq,
                       const long plane, __global const float *src, const long src_off, __global float *dst)
{
    src += src_off; /* the first image copied (the host pads a batch in chunks) */
    const int w = get_global_id(0), h = get_global_id(1), pp = get_global_id(2);
    const long e = (long)h * Wq + w;
    if (w >= Wq || e >= plane || pp >= planes * ST * ST) return;
    const int p = pp / (ST * ST), a = pp / ST % ST, b = pp % ST;
    const int sh = ST * h + a - ph, sw = ST * w + b - pw;
    float v = 0.0f;
    if (sh >= 0 && sh < H && sw >= 0 && sw < W) v = src[((size_t)p * H + sh) * W + sw];
    dst[pp * plane + e] = v;
}

/* pad_copy for replicate padding: the same layout, each padded element the
 * nearest src pixel (so rows cannot share padding columns: the host passes
 * Wq = W + 2pw for ST = 1, and no shared columns for ST > 1). Elements past
 * the padded edge (the phase planes' rounding) repeat the edge too; only
 * unused outputs read them. One item per destination row (a copy loop
 * between two fills: one item per float with clamped, gathered reads took
 * 7% of an SRCNN forward on PoCL). */
__kernel void pad_replicate(const int planes, const int H, const int W, const int ph, const int pw, const int Wq,
                            const long plane, __global const float *src, const long src_off, __global float *dst)
{
    src += src_off;
    const int h = get_global_id(0), pp = get_global_id(1);
    const long e = (long)h * Wq;
    if (e >= plane || pp >= planes * ST * ST) return;
    const int p = pp / (ST * ST), a = pp / ST % ST, b = pp % ST;
    __global const float *s = src + ((size_t)p * H + clamp(ST * h + a - ph, 0, H - 1)) * W;
    __global float *d = dst + pp * plane + e;
    /* Columns w < lo read left of the image, w >= hi right of it. */
    const int end = (int)min((long)Wq, plane - e), last = W - 1 + pw - b;
    const int lo = min(pw > b ? (pw - b + ST - 1) / ST : 0, end), hi = clamp(last >= 0 ? last / ST + 1 : 0, lo, end);
    const float left = s[0], right = s[W - 1];
    for (int w = 0; w < lo; w++) d[w] = left;
    for (int w = lo; w < hi; w++) d[w] = s[ST * w + b - pw];
    for (int w = hi; w < end; w++) d[w] = right;
}

/* dx of a stride-ST convolution from its phases: dxq ([a*ST + b][n][c] planes
 * of Hd x Wd, the correlations of dy with wphase_a's weights) holds, for
 * phase (a, b), the padded input's gradient at (ST*i + a, ST*j + b); dx[n,
 * c, ih, iw] is that at (ih + ph, iw + pw), 0 where no tap reached. */
__kernel void unphase(const int planes, const int H, const int W, const int ph, const int pw, const int Hd,
                      const int Wd, __global const float *dxq, __global float *dx)
{
    const int iw = get_global_id(0), ih = get_global_id(1), plane = get_global_id(2);
    if (iw >= W || ih >= H || plane >= planes) return;
    const int y = ih + ph, x = iw + pw, i = y / ST, j = x / ST;
    float v = 0.0f;
    if (i < Hd && j < Wd)
        v = dxq[((size_t)((y % ST) * ST + x % ST) * planes + plane) * Hd * Wd + (size_t)i * Wd + j];
    dx[((size_t)plane * H + ih) * W + iw] = v;
}

/* wphase_a: the packed A of phase (a, b) of a stride-ST input gradient, a
 * stride-1 correlation of dy with the taps u = ST*u' + a, v = ST*v' + b of
 * the flipped W^T (TA = ceil((KH - a) / ST) x TB of them): row c, column
 * r' = (o*TA + t)*TB + s' holds W[o, c, ST*(TA-1-t) + a, ST*(TB-1-s') + b];
 * Ap[c / MR][r'][c % MR], 0 past C. */
__kernel void wphase_a(const int O, const int C, const int KH, const int KW, const int a, const int b,
                       __global const float *w, __global float *Ap)
{
    const int TA = (KH - a + ST - 1) / ST, TB = (KW - b + ST - 1) / ST;
    const int rr = get_global_id(0), cb = get_global_id(1);
    const int K2 = O * TA * TB;
    if (rr >= K2 || cb * MR >= C) return;
    const int sv = rr % TB, t = (rr / TB) % TA, o = rr / (TB * TA);
    const int u = ST * (TA - 1 - t) + a, v = ST * (TB - 1 - sv) + b;
    __global float *dst = Ap + ((size_t)cb * K2 + rr) * MR;
    for (int l = 0; l < MR; l++) {
        const int c = cb * MR + l;
        dst[l] = c < C ? w[(((size_t)o * C + c) * KH + u) * KW + v] : 0.0f;
    }
}

/* Ap[ob][r][t] = w[ob*MR + t][r] (0 past O): the weights in MR-row panels. */
__kernel void wpack_a(const int O, const int K, __global const float *w, __global float *Ap)
{
    const int r = get_global_id(0), ob = get_global_id(1);
    if (r >= K || ob * MR >= O) return;
    __global float *dst = Ap + ((size_t)ob * K + r) * MR;
    for (int t = 0; t < MR; t++) dst[t] = ob * MR + t < O ? w[(size_t)(ob * MR + t) * K + r] : 0.0f;
}

#ifndef DQ
#define DQ 2 /* float16 vectors of outputs per item (2, 3, 4 or 6): 16 DQ consecutive q */
#endif
#define QW (16 * DQ)
/* X(i, j) for the DQ vectors j of output row i (its own paste: PASTE is
 * already being expanded where these are used) */
#define QV_2(X, i) X(i, 0) X(i, 1)
#define QV_3(X, i) QV_2(X, i) X(i, 2)
#define QV_4(X, i) QV_3(X, i) X(i, 3)
#define QV_6(X, i) QV_4(X, i) X(i, 4) X(i, 5)
#define QPASTE_(a, b) a##b
#define QPASTE(a, b) QPASTE_(a, b)
#define FOR_QV(X, i) QPASTE(QV_, DQ)(X, i)
#define D_DECL1(i, j) float16 d##i##_##j = (float16)(0.0f);
#define D_DECL(i) FOR_QV(D_DECL1, i)
#define D_FMA1(i, j) d##i##_##j = fma(av, b##j, d##i##_##j);
#define D_UPD(i)                             \
    {                                        \
        const float16 av = (float16)(ap[i]); \
        FOR_QV(D_FMA1, i)                    \
    }
#define D_SAVE1(i, j) vstore16(d##i##_##j, 0, out + i * QW + 16 * j);
#define D_SAVE(i) FOR_QV(D_SAVE1, i)
#define D_LOADB1(i, j) const float16 b##j = vload16(0, xr + vo + 16 * j);
#define D_LOADB FOR_QV(D_LOADB1, 0)
#define D_LOADB_SAFE1(i, j) const float16 b##j = load16_safe(x, row + vo + 16 * j, total);
#define D_LOADB_SAFE FOR_QV(D_LOADB_SAFE1, 0)
#define D_ROWS PASTE(RW_, MR)

static float16 load16_safe(__global const float *x, const long idx, const long total)
{
    float v[16];
    for (int t = 0; t < 16; t++) v[t] = idx + t < total ? x[idx + t] : 0.0f;
    return vload16(0, v);
}

/* conv_direct: y[n, o, oh, ow] = beta y + bias[o] + sum_{c,u,v} A[o][(c*KH+u)*KW+v] x[n, c, ST*oh+u, ST*ow+v]
 * (valid correlation of the padded input, stored as C*ST*ST planes of rows
 * Wp floats apart: see above), A packed by wpack_a / wflip_a / wphase_a.
 * Ho x Wo outputs; relu != 0 (beta 0): each stored as relu_forward would
 * leave it (a conv2d + ReLU pair of a model in inference mode, one pass less);
 * x read from xoff floats into each image, y written from yoff.
 * One item per (MR output channels, QW consecutive q, image). */
__kernel void conv_direct(const int N, const int C, const long plane, const int Wp, const int Ho, const int Wo,
                          const int KH, const int KW, const int O, const long total, __global const float *x,
                          __global const float *Ap, const float beta, const int has_bias, __global const float *bias,
                          __global float *y, const long xoff, const ulong yoff, const int row_lo, const int row_hi,
                          const int relu)
{
    const int ob = get_global_id(0), qb = get_global_id(1), n = get_global_id(2);
    const int Q = Ho * Wp, K = C * KH * KW;
    const int q0 = qb * QW;
    if (ob * MR >= O || q0 >= Q || n >= N) return;
    /* This item's output rows oh0..oh1; tap row u reads input rows oh +
     * u/ST, and rows outside [row_lo, row_hi) (from xoff) hold only zeros:
     * the tap rows reading nothing else (u outside [u_lo, u_hi)) are skipped
     * (the zero padding of a 'same' conv or of dy in an input gradient;
     * outputs past Wo change, unused). A range, not a test per u: a branch
     * in the u loop made the stride-2 input gradient 2.2x slower on PoCL. */
    const int oh0 = q0 / Wp, oh1 = (q0 + QW - 1) / Wp;
    const int u_lo = clamp(ST * (row_lo - oh1), 0, KH), u_hi = clamp(ST * (row_hi - oh0), u_lo, KH);
    const long base = (long)n * C * ST * ST * plane + xoff + q0;
    __global const float *ap = Ap + (size_t)ob * K * MR;
    y += yoff;
    D_ROWS(D_DECL)
    /* A bound on the furthest read of this item: the last plane, tap row
     * (KH-1)/ST and column (KW-1)/ST, last lane. */
    const int safe =
        base + (long)(C * ST * ST - 1) * plane + (long)((KH - 1) / ST) * Wp + (KW - 1) / ST + QW - 1 < total;
    for (int c = 0; c < C; c++) {
        ap += u_lo * KW * MR;
        for (int u = u_lo; u < u_hi; u++) {
            /* plane (c, u%ST, 0), row u/ST; tap v adds plane (v%ST) and column v/ST */
            const long row = base + (long)(c * ST + u % ST) * ST * plane + (long)(u / ST) * Wp;
            if (safe) {
                __global const float *xr = x + row;
                for (int v = 0; v < KW; v++) {
                    const long vo = (v % ST) * plane + v / ST;
                    D_LOADB
                    D_ROWS(D_UPD)
                    ap += MR;
                }
            } else {
                for (int v = 0; v < KW; v++) {
                    const long vo = (v % ST) * plane + v / ST;
                    D_LOADB_SAFE
                    D_ROWS(D_UPD)
                    ap += MR;
                }
            }
        }
        ap += (KH - u_hi) * KW * MR;
    }
    float out[MR * QW];
    D_ROWS(D_SAVE)
    /* The QW values of q are runs of consecutive ow in one or more output
     * rows: stored run by run (no test per value), columns past Wo dropped. */
    const int P = Ho * Wo, rows = min(MR, O - ob * MR);
    __global float *yb = y + ((size_t)n * O + ob * MR) * P;
    int oh = oh0, ow = q0 - oh0 * Wp;
    for (int t = 0; t < QW && oh < Ho; oh++, ow = 0) {
        const int run = min(QW - t, Wp - ow), valid = clamp(Wo - ow, 0, run);
        for (int i = 0; i < rows; i++) {
            const float b = has_bias ? bias[ob * MR + i] : 0.0f;
            __global float *dst = yb + (size_t)i * P + oh * Wo + ow;
            const float *src = out + i * QW + t;
            if (relu) /* a ReLU layer's forward fused: relu_forward's expression on the same value */
                for (int j = 0; j < valid; j++) {
                    const float v = src[j] + b;
                    dst[j] = v > 0.0f ? v : 0.0f;
                }
            else if (beta == 0.0f)
                for (int j = 0; j < valid; j++) dst[j] = src[j] + b;
            else
                for (int j = 0; j < valid; j++) dst[j] = src[j] + b + beta * dst[j];
        }
        t += run;
    }
}

/* dyq[n][o][q] = dy[n0+n, o, oh, ow] for q = oh*Wp + ow with ow < Wo, else 0;
 * Qp (a multiple of 16) floats per (image, channel): dy in the q indexing.
 * One item per (ow < Wp, oh, image x channel): no division per element. */
__kernel void dy_q(const int O, const int Ho, const int Wo, const int Wp, const int Qp, const int n0, const int nc,
                   __global const float *dy, __global float *dyq)
{
    const int ow = get_global_id(0), oh = get_global_id(1), plane = get_global_id(2);
    const int q = oh * Wp + ow;
    if (ow >= Wp || q >= Qp || plane >= nc * O) return;
    float v = 0.0f;
    if (oh < Ho && ow < Wo) v = dy[((size_t)n0 * O + plane) * Ho * Wo + (size_t)oh * Wo + ow];
    dyq[(size_t)plane * Qp + q] = v;
}

/* dw_direct: dW[o][r] += sum over the chunk's images and q of
 * dyq[n][o][q] x[n0+n][off_r + q], r = (c*KH+u)*KW+v, off_r = the offset of
 * tap (u, v) in the ST x ST phase planes of channel c (ST = 1: c*plane + u*Wp + v):
 * MO x MT float16 accumulators along q, one vector load of dyq per channel
 * and of x per tap per 16 q; the 16 lanes are added in a fixed order at the
 * end (sum16: deterministic). One item per (MT taps, MO output channels). */
#ifndef MO
#define MO 4
#endif
#ifndef MT
#define MT 4
#endif
#define O_4(X, t) X(0, t) X(1, t) X(2, t) X(3, t)
#define O_2(X, t) X(0, t) X(1, t)
#define O_1(X, t) X(0, t)
#define T_8(Y) Y(0) Y(1) Y(2) Y(3) Y(4) Y(5) Y(6) Y(7)
#define T_4(Y) Y(0) Y(1) Y(2) Y(3)
#define FOR_O PASTE(O_, MO)
#define FOR_T PASTE(T_, MT)
#define W_DECL2(o, t) float16 e##o##_##t = (float16)(0.0f);
#define W_DECL(t) FOR_O(W_DECL2, t)
#define W_LOADX(t) const float16 xv##t = vload16(0, x + xo##t + q);
#define W_LOADX_SAFE(t) const float16 xv##t = load16_safe(x, xo##t + q, total);
#define W_UPD2(o, t) e##o##_##t = fma(dv##o, xv##t, e##o##_##t);
#define W_UPD(t) FOR_O(W_UPD2, t)
#define W_LOADD(o, t) const float16 dv##o = vload16(0, dq + (size_t)(o) * Qp + q);
/* Tap r0 + t's offset (-1 past K); (c, u, v) stepped from the first tap's
 * without further divisions. */
#define W_OFF(t)                                                                                    \
    long off##t = -1;                                                                              \
    if (r0 + t < K) off##t = ((long)(tc * ST + tu % ST) * ST + tv % ST) * plane + (long)(tu / ST) * Wp + tv / ST; \
    if (++tv == KW) {                                                                              \
        tv = 0;                                                                                    \
        if (++tu == KH) tu = 0, tc++;                                                              \
    }
#define W_XO(t) const long xo##t = base + (off##t < 0 ? 0 : off##t);
#define W_MAXOFF(t) maxoff = max(maxoff, off##t);
#define W_STORE2(o, t)                                                                 \
    if (ob * MO + o < O && r0 + t < K) {                                               \
        const float s = sum16(e##o##_##t);                                             \
        __global float *g = dw + (size_t)(ob * MO + o) * K + r0 + t;                   \
        *g = beta == 0.0f ? s : s + beta * *g;                                         \
    }
#define W_STORE(t) FOR_O(W_STORE2, t)

/* The 16 lanes of v added by halving (a fixed order: deterministic); a
 * handful of vector adds, where a scalar loop over the lanes cost as much
 * as the reduction over q at one image per launch. */
static float sum16(const float16 v)
{
    const float8 h = v.lo + v.hi;
    const float4 f = h.lo + h.hi;
    const float2 d = f.lo + f.hi;
    return d.x + d.y;
}

__kernel void dw_direct(const int C, const long plane, const int Wp, const int KH, const int KW, const int O, const int Qp,
                        const int n0, const int nc, const long total, __global const float *x,
                        __global const float *dyq, const float beta, __global float *dw)
{
    const int tb = get_global_id(0), ob = get_global_id(1);
    const int K = C * KH * KW, r0 = tb * MT;
    if (r0 >= K || ob * MO >= O) return;
    int tv = r0 % KW, tu = r0 / KW % KH, tc = r0 / (KW * KH);
    FOR_T(W_OFF)
    long maxoff = 0;
    FOR_T(W_MAXOFF)
    FOR_T(W_DECL)
    for (int n = 0; n < nc; n++) {
        const long base = (long)(n0 + n) * C * ST * ST * plane;
        FOR_T(W_XO)
        __global const float *dq = dyq + ((size_t)n * O + ob * MO) * Qp;
        /* q below qsafe: every x load of the block lies inside the tensor. */
        const long room = total - (base + maxoff) - 15;
        const int qsafe = room <= 0 ? 0 : (int)min((long)Qp, (room + 15) / 16 * 16);
        int q = 0;
        for (; q < qsafe; q += 16) {
            FOR_T(W_LOADX)
            /* dyq rows past O (ob*MO + o >= O) are not read: MO divides O. */
            FOR_O(W_LOADD, 0)
            FOR_T(W_UPD)
        }
        for (; q < Qp; q += 16) {
            FOR_T(W_LOADX_SAFE)
            FOR_O(W_LOADD, 0)
            FOR_T(W_UPD)
        }
    }
    FOR_T(W_STORE)
}

/* The weight gradient with output channels along the vector lanes, for O a
 * multiple of 16 * OVEC: dW[o][r] = sum over images n and outputs (oh, ow)
 * of dyt[n][oh*Wo + ow][o] x[n][off_r + oh*Wp + ow] (dyt: dy transposed so
 * that the O channels of one output are contiguous; written by dy_qt). One
 * item per (TAPS taps, 16 * OVEC channels, chunk of images): TAPS x OVEC
 * float16 accumulators, per output OVEC vector loads of dyt and TAPS scalar
 * loads of x broadcast (no lane sums at the end, no padding columns),
 * partial sums per chunk in part[chunk][r][o], added in a fixed order by
 * dw_sum: deterministic. Only inputs of valid outputs are read: the host
 * checks that they lie inside the tensor. */
#ifndef OVEC
#define OVEC 2
#endif
#ifndef TAPS
#define TAPS 12
#endif

/* dyt[n][p][o] = dy[n, o, p] (P = Ho*Wo outputs per image), and
 * sums[n*O + o] = the sum of dy[n, o] over the image (in p order: the conv
 * bias gradient's per-image part). One item per (16 channels, image)
 * walking the image in order: 16 input rows read in step, one vector
 * written per output. */
__kernel void dy_qt(const int O, const int P, const int N, __global const float *dy, __global float *dyt,
                    __global float *sums)
{
    const int ob = get_global_id(0), n = get_global_id(1);
    if (ob * 16 >= O || n >= N) return;
    const size_t s = (size_t)P;
    __global const float *src = dy + ((size_t)n * O + ob * 16) * s;
    __global float *dst = dyt + (size_t)n * P * O + ob * 16;
    float16 sum = (float16)(0.0f);
    for (int e = 0; e < P; e++, dst += O) {
        const float16 v = (float16)(src[e], src[s + e], src[2 * s + e], src[3 * s + e], src[4 * s + e],
                                    src[5 * s + e], src[6 * s + e], src[7 * s + e], src[8 * s + e], src[9 * s + e],
                                    src[10 * s + e], src[11 * s + e], src[12 * s + e], src[13 * s + e],
                                    src[14 * s + e], src[15 * s + e]);
        sum += v;
        vstore16(v, 0, dst);
    }
    vstore16(sum, 0, sums + (size_t)n * O + ob * 16);
}

__kernel void dw_ot(const int C, const long plane, const int Wp, const int KH, const int KW, const int O, const int Ho,
                    const int Wo, const int N, const int per_chunk, __global const float *x,
                    __global const float *dyt, __global float *part)
{
    const int tb = get_global_id(0), ob = get_global_id(1), chunk = get_global_id(2);
    const int K = C * KH * KW, r0 = tb * TAPS, n0 = chunk * per_chunk;
    if (r0 >= K || ob * 16 * OVEC >= O || n0 >= N) return;
    long off[TAPS];
    int tv = r0 % KW, tu = r0 / KW % KH, tc = r0 / (KW * KH);
#pragma unroll
    for (int t = 0; t < TAPS; t++) {
        off[t] = 0; /* taps past K read tap 0 again; not stored */
        if (r0 + t < K) off[t] = ((long)(tc * ST + tu % ST) * ST + tv % ST) * plane + (long)(tu / ST) * Wp + tv / ST;
        if (++tv == KW) {
            tv = 0;
            if (++tu == KH) tu = 0, tc++;
        }
    }
    float16 acc[TAPS][OVEC];
#pragma unroll
    for (int t = 0; t < TAPS; t++)
#pragma unroll
        for (int i = 0; i < OVEC; i++) acc[t][i] = (float16)(0.0f);
    const int n1 = min(N, n0 + per_chunk);
    for (int n = n0; n < n1; n++) {
        __global const float *dq = dyt + (size_t)n * Ho * Wo * O + ob * 16 * OVEC;
        for (int oh = 0; oh < Ho; oh++) {
            __global const float *xr = x + (long)n * C * ST * ST * plane + (long)oh * Wp;
            for (int ow = 0; ow < Wo; ow++, dq += O) {
                float16 dv[OVEC];
#pragma unroll
                for (int i = 0; i < OVEC; i++) dv[i] = vload16(i, dq);
#pragma unroll
                for (int t = 0; t < TAPS; t++) {
                    const float16 xv = (float16)(xr[off[t] + ow]);
#pragma unroll
                    for (int i = 0; i < OVEC; i++) acc[t][i] = fma(dv[i], xv, acc[t][i]);
                }
            }
        }
    }
    __global float *dst = part + ((size_t)chunk * K + r0) * O + ob * 16 * OVEC;
#pragma unroll
    for (int t = 0; t < TAPS; t++)
        if (r0 + t < K)
#pragma unroll
            for (int i = 0; i < OVEC; i++) vstore16(acc[t][i], i, dst + (size_t)t * O);
}

/* dw[o][r] = beta dw[o][r] + sum over the chunks of part[chunk][r][o], in
 * chunk order; one item per (tap r, 16 channels): vector loads along o. */
__kernel void dw_sum(const int O, const int K, const int chunks, __global const float *part, const float beta,
                     __global float *dw)
{
    const int r = get_global_id(0), ob = get_global_id(1);
    if (r >= K || ob * 16 >= O) return;
    float16 s = (float16)(0.0f);
    for (int c = 0; c < chunks; c++) s += vload16(0, part + ((size_t)c * K + r) * O + ob * 16);
    float out[16];
    vstore16(s, 0, out);
    for (int j = 0; j < 16; j++) {
        __global float *g = dw + (size_t)(ob * 16 + j) * K + r;
        *g = beta == 0.0f ? out[j] : out[j] + beta * *g;
    }
}
