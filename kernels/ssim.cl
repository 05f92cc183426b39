/* ssim.cl: SSIM and MS-SSIM, forward and exact gradient (shared/golden/README.md).
 *
 * One kernel, ssim_fused, does a whole evaluation in one launch: a
 * work-group takes one image at a time and walks every phase in order, with
 * barriers between phases (global memory fence: each image's scratch and
 * each work-group's slot are touched by that work-group only). The slot (the
 * level-1 input, coefficient planes, level gradients, sums) is reused image
 * after image so that it stays in cache; per-image scratch keeps the offsets
 * and the levels >= 2 that the host may read back. (ssim_step_*, at the end:
 * the same steps as separate launches, for small batches of large images.)
 * Work-items split each
 * phase by rows or by strips of 16 columns; every strip is computed with
 * float16 vectors, so the code is vectorised explicitly on a CPU (no
 * reliance on the implementation's work-item-loop vectoriser) and is plain
 * vector arithmetic on a GPU. Rows of the scratch start on whole vectors:
 * windows at other offsets are cut from two aligned vectors by shuffle2
 * (PoCL splits an unaligned vload16 into pieces).
 *   prep      every level's input, shifted by a per-image offset (x - ox,
 *             y - oy, the centre pixel: less float32 cancellation in
 *             E[x^2] - E[x]^2 on 8-bit data) and padded by replicated edges
 *             (same mode: 5 rows above and below; both modes: 16 columns on
 *             the left, whole strips plus 32 on the right), so the window
 *             never needs a bounds check. Level j+1 is the 2x2 mean of level j (odd
 *             sizes: the replicated padding supplies the extra row/column).
 *   forward   per (level, strip): the 11-tap row pass of the five moments
 *             (x, y, xx, yy, xy) for one input row at a time into a ring of
 *             the last 11 rows (stored twice, so every window is contiguous),
 *             the column pass from the ring, the maps l, cs, SSIM, the
 *             gradient coefficients a', b, c (README section 7, for the
 *             shifted moments) written inside a zero border, and the
 *             strip's sums of cs, l, SSIM (lanes by blocks of 32 rows, then a
 *             fixed tree over lanes).
 *   reduce    work-item 0: per-level sums over strips in order (compensated),
 *             terms t_j, the value, and d value / d t_j over the map size;
 *             any t_j <= 0 of MS-SSIM gives value 0 and factors 0.
 *   backward  coarsest level first, per strip: the adjoint window (full
 *             correlation over the zero border; same mode folds the clamped
 *             padding onto the edge pixels) of a', b, c, combined as
 *             factor * (W'a' + 2 y' W'b + x' W'c), plus the 2x2-mean adjoint
 *             of the next coarser level's gradient.
 * Inputs: x, y (N*H*W). Level table `lv` (LV_STRIDE ints per level, filled by
 * src/metrics/ssim.c; offsets are within one image's scratch for the padded inputs of
 * levels >= 2, within one slot for everything else). Outputs: terms
 * [N][levels][3] (means of cs, l, SSIM), values [N], factor [N][levels],
 * grad (N*H*W, when want_grad), dbg (level-1 SSIM map and statistics, when
 * not NULL).
 * Compile-time parameters: SAME (1: replicate padding, 0: valid), ONE_DIV
 * (1: one division per map position, see forward_strip), G0..G5 the
 * window taps g(0)..g(5) and CM0..CM5 the edge sums sum_{u=-5}^{-m} g(u), all
 * computed on the host in double. Work-groups are one-dimensional of any size
 * (loops stride by it); results never depend on it. No atomics: every result
 * is written by exactly one work-item, and sums have a fixed order. */

#define LV_STRIDE 16
#define LV_H 0
#define LV_W 1
#define LV_MH 2
#define LV_MW 3
#define LV_NSF 4   /* forward strips: ceil(MW / 16) */
#define LV_NSB 5   /* backward strips: ceil(W / 16) */
#define LV_PW 6    /* row stride of the padded inputs (multiple of 16) */
#define LV_PH 7    /* rows of the padded inputs */
#define LV_POFF 8  /* padded x' at POFF, y' at POFF + PH * PW */
#define LV_CW 9    /* row stride of the coefficient planes */
#define LV_CH 10   /* rows of a coefficient plane: MH + 20 */
#define LV_COFF 11 /* planes a', b, c (CH * CW each) */
#define LV_GW 12   /* row stride of the level gradient (levels >= 2) */
#define LV_GOFF 13 /* level gradient, H rows */
#define LV_SOFF 14 /* strip sums: NSF * 3 */

/* Pixel row r sits at row r + OFF of the padded input. */
#if SAME
#define OFF 5
#else
#define OFF 0
#endif

/* Symmetric 11-tap sum of v(0) .. v(10). */
#define SYM11(v)                                                                                             \
    (G5 * (v(0) + v(10)) + G4 * (v(1) + v(9)) + G3 * (v(2) + v(8)) + G2 * (v(3) + v(7)) + G1 * (v(4) + v(6)) + \
     G0 * v(5))

static float16 lanes16(void) { return (float16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }

/* Lanes below `limit` of v, the others 0. */
static float16 keep_below(float16 v, int limit)
{
    return select((float16)(0.0f), v, isless(lanes16(), (float16)((float)limit)));
}

/* Sum of the 16 lanes in a fixed tree. */
static float lane_sum(float16 v)
{
    const float8 a = v.lo + v.hi;
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    return c.x + c.y;
}

/* Whole-vector access at addresses that are multiples of 16 floats (every
 * row of the scratch layout starts on one; buffers are aligned to at least
 * the largest built-in type): one vector instruction, where vload16 may be
 * split into pieces. Windows at other offsets are cut from two such vectors. */
#define LDA16(p) (*(__global const float16 *)(p))
#define STA16(p, v) (*(__global float16 *)(p) = (v))
#define SH(a, b, k)                                                                                                  \
    shuffle2((a), (b),                                                                                               \
             (uint16)((k), (k) + 1, (k) + 2, (k) + 3, (k) + 4, (k) + 5, (k) + 6, (k) + 7, (k) + 8, (k) + 9, (k) + 10, \
                      (k) + 11, (k) + 12, (k) + 13, (k) + 14, (k) + 15))

/* Stores the first `count` lanes of v (1..16) at p. */
static void store_lanes(float16 v, int count, __global float *p)
{
    if (count >= 16) {
        vstore16(v, 0, p);
        return;
    }
    float t[16];
    vstore16(v, 0, t);
    for (int k = 0; k < count; k++) p[k] = t[k];
}

/* Padded input layout: pixel (r, c) of a level at row r + OFF, column
 * c + 16 (16: every pixel row starts on a whole vector), edges replicated
 * all round (the clamp of same mode; in valid mode only the right and
 * bottom padding is ever read, by whole strips and the odd-size rule). */
#define PL 16
#define BF (PL - OFF)

/* Level 1: padded row R of x - o (source row clamped), one vector at a time. */
static void prep_first(__global const float *x, float o, __global float *p, int h, int w, int pw, int ph, int lid,
                       int ls)
{
    const float16 lane = lanes16();
    for (int R = lid; R < ph; R += ls) {
        __global const float *s = x + (size_t)clamp(R - OFF, 0, h - 1) * w;
        __global float *d = p + R * pw;
        const float left = s[0] - o, right = s[w - 1] - o;
        for (int C0 = 0; C0 < pw; C0 += 16) {
            const int c = C0 - PL; /* pixel column of lane 0 */
            float16 v;
            if (c < 0)
                v = (float16)(left);
            else if (c >= w)
                v = (float16)(right);
            else {
                if (c + 16 <= w)
                    v = (w % 16 == 0) ? LDA16(s + c) : vload16(0, s + c); /* aligned rows when w % 16 == 0 */
                else {
                    float t[16];
                    for (int k = 0; k < 16; k++) t[k] = s[min(c + k, w - 1)];
                    v = vload16(0, t);
                }
                v = select(v - o, (float16)(right), isgreaterequal(lane, (float16)((float)(w - c))));
            }
            STA16(d + C0, v);
        }
    }
}

/* Level j+1 (h x w) from the padded level j (stride spw): 2x2 means of
 * columns 2c, 2c+1 (padded 2c + 16 ...: two whole vectors per 16 pixels) and
 * rows 2r, 2r+1; the replicated padding of level j is the odd-size rule. */
__constant uint16 EVEN = (uint16)(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
__constant uint16 ODD = (uint16)(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);

static float16 mean4(float16 a0, float16 a1, float16 b0, float16 b1)
{
    /* (x[r0][c0] + x[r1][c0] + x[r0][c1] + x[r1][c1]) / 4 */
    return (shuffle2(a0, a1, EVEN) + shuffle2(b0, b1, EVEN) + shuffle2(a0, a1, ODD) + shuffle2(b0, b1, ODD)) * 0.25f;
}

static void prep_next(__global const float *s, int spw, __global float *p, int h, int w, int pw, int ph, int lid,
                      int ls)
{
    const float16 lane = lanes16();
    for (int R = lid; R < ph; R += ls) {
        const int r = clamp(R - OFF, 0, h - 1);
        __global const float *s0 = s + (2 * r + OFF) * spw + PL, *s1 = s0 + spw; /* pixel column 0 */
        __global float *d = p + R * pw;
        /* pixels 0 and w-1, by the same operations as the vector lanes */
        const float left = (s0[0] + s1[0] + s0[1] + s1[1]) * 0.25f;
        const int e = 2 * (w - 1);
        const float right = (s0[e] + s1[e] + s0[e + 1] + s1[e + 1]) * 0.25f;
        for (int C0 = 0; C0 < pw; C0 += 16) {
            const int c = C0 - PL;
            float16 v;
            if (c < 0)
                v = (float16)(left);
            else if (c >= w)
                v = (float16)(right);
            else {
                __global const float *q0 = s0 + 2 * c, *q1 = s1 + 2 * c;
                v = mean4(LDA16(q0), LDA16(q0 + 16), LDA16(q1), LDA16(q1 + 16));
                v = select(v, (float16)(right), isgreaterequal(lane, (float16)((float)(w - c))));
            }
            STA16(d + C0, v);
        }
    }
}

/* Forward of one strip (16 map columns from c0) of one level. */
static void forward_strip(__global const float *pin, __global float *slot, __global const int *L, int c0, float ox, float oy, float C1, float C2,
                          int f_is_ssim, int want_grad, __global float *sums, __global float *dm)
{
    const int mh = L[LV_MH], mw = L[LV_MW], pw = L[LV_PW], cw = L[LV_CW], ch = L[LV_CH];
    __global const float *px = pin + L[LV_POFF] + c0, *py = px + L[LV_PH] * pw;
    __global float *ca = slot + L[LV_COFF] + 10 * cw + 16 + c0, *cb = ca + ch * cw, *cc = cb + ch * cw;
    const int valid = mw - c0;
    float16 rx[22], ry[22], rxx[22], ryy[22], rxy[22];
    float16 acc[3] = {0.0f, 0.0f, 0.0f}, blk[3] = {0.0f, 0.0f, 0.0f};
    for (int R = 0; R < mh + 10; R++) {
        /* Row pass of input row R into ring slots R % 11 and R % 11 + 11. */
        /* Map column m0 + lane, tap k reads pixel m0 + lane + k - OFF: padded
         * column m0 + BF + k + lane, cut from the vectors at m0, +16, +32. */
        __global const float *prx = px + R * pw, *pry = py + R * pw;
        const float16 x0 = LDA16(prx), x1 = LDA16(prx + 16), x2 = LDA16(prx + 32);
        const float16 y0 = LDA16(pry), y1 = LDA16(pry + 16), y2 = LDA16(pry + 32);
        float16 hx = 0.0f, hy = 0.0f, hxx = 0.0f, hyy = 0.0f, hxy = 0.0f;
#define HTAP(k, g)                                                    \
    {                                                                 \
        const float16 vx = BF + (k) <= 16 ? SH(x0, x1, BF + (k)) : SH(x1, x2, BF + (k)-16); \
        const float16 vy = BF + (k) <= 16 ? SH(y0, y1, BF + (k)) : SH(y1, y2, BF + (k)-16); \
        const float16 gx = (g) * vx, gy = (g) * vy;                   \
        hx += gx;                                                     \
        hy += gy;                                                     \
        hxx += gx * vx;                                               \
        hyy += gy * vy;                                               \
        hxy += gx * vy;                                               \
    }
        HTAP(0, G5) HTAP(1, G4) HTAP(2, G3) HTAP(3, G2) HTAP(4, G1) HTAP(5, G0)
        HTAP(6, G1) HTAP(7, G2) HTAP(8, G3) HTAP(9, G4) HTAP(10, G5)
#undef HTAP
        const int s = R % 11;
        rx[s] = rx[s + 11] = hx;
        ry[s] = ry[s + 11] = hy;
        rxx[s] = rxx[s + 11] = hxx;
        ryy[s] = ryy[s + 11] = hyy;
        rxy[s] = rxy[s + 11] = hxy;
        if (R < 10) continue;
        /* Column pass: map row i = R - 10 from ring rows i .. i+10. */
        const int i = R - 10, b = i % 11;
#define RX(k) rx[b + (k)]
#define RY(k) ry[b + (k)]
#define RXX(k) rxx[b + (k)]
#define RYY(k) ryy[b + (k)]
#define RXY(k) rxy[b + (k)]
        const float16 sx = SYM11(RX), sy = SYM11(RY), exx = SYM11(RXX), eyy = SYM11(RYY), exy = SYM11(RXY);
#undef RX
#undef RY
#undef RXX
#undef RYY
#undef RXY
        const float16 sx2 = exx - sx * sx, sy2 = eyy - sy * sy, sxy = exy - sx * sy;
        const float16 mx = sx + ox, my = sy + oy;
        const float16 A1 = 2.0f * mx * my + C1, B1 = mx * mx + my * my + C1;
        const float16 A2 = 2.0f * sxy + C2, B2 = sx2 + sy2 + C2;
        /* A vector division costs ~10 multiplies: one per position where the
         * data range keeps B1 * B2 a normal float (ONE_DIV, set by the host),
         * two otherwise. */
#if ONE_DIV
        const float16 iB12 = 1.0f / (B1 * B2), iB1 = B2 * iB12, iB2 = B1 * iB12;
#else
        const float16 iB1 = 1.0f / B1, iB2 = 1.0f / B2;
#endif
        const float16 l = A1 * iB1, cs = A2 * iB2, ssim = l * cs;
        if (want_grad) {
            /* f = SSIM (last level) or cs; b = df/d sigma_y^2, c = df/d sigma_xy,
             * a' = df/d mu_y - 2 mu_y' b - mu_x' c (shifted moments). */
            float16 fa, fb, fc;
            if (f_is_ssim) {
                fb = -ssim * iB2;
                fc = 2.0f * l * iB2;
                fa = cs * 2.0f * (mx - my * l) * iB1 - 2.0f * sy * fb - sx * fc;
            } else {
                fb = -cs * iB2;
                fc = 2.0f * iB2;
                fa = -2.0f * sy * fb - sx * fc;
            }
            /* Lanes past the map stay 0: they are the zero border. */
            STA16(ca + i * cw, keep_below(fa, valid));
            STA16(cb + i * cw, keep_below(fb, valid));
            STA16(cc + i * cw, keep_below(fc, valid));
        }
        if (dm) {
            const int plane = mh * mw, n = min(valid, 16);
            __global float *o = dm + i * mw + c0;
            store_lanes(ssim, n, o);
            store_lanes(mx, n, o + plane);
            store_lanes(my, n, o + 2 * plane);
            store_lanes(sx2, n, o + 3 * plane);
            store_lanes(sy2, n, o + 4 * plane);
            store_lanes(sxy, n, o + 5 * plane);
        }
        blk[0] += keep_below(cs, valid);
        blk[1] += keep_below(l, valid);
        blk[2] += keep_below(ssim, valid);
        if ((i & 31) == 31 || i == mh - 1) {
            for (int q = 0; q < 3; q++) {
                acc[q] += blk[q];
                blk[q] = 0.0f;
            }
        }
    }
    for (int q = 0; q < 3; q++) sums[q] = lane_sum(acc[q]);
}

/* Backward of one strip (16 pixel columns from c0) of level j. */
static void backward_strip(__global const float *pin, __global const float *slot, __global const int *L, __global const int *Lc, int c0, float f,
                           __global float *out, int out_stride, int aligned_out)
{
    const int h = L[LV_H], w = L[LV_W], mh = L[LV_MH], pw = L[LV_PW], cw = L[LV_CW], ch = L[LV_CH];
    __global const float *ca = slot + L[LV_COFF] + c0, *cb = ca + ch * cw, *cc = cb + ch * cw;
    __global const float *px = pin + L[LV_POFF] + OFF * pw + PL + c0, *py = px + L[LV_PH] * pw;
    float16 ra[22], rb[22], rc[22];
    /* The lanes of pixels 0 and w-1 (same mode): the clamp's folded taps. */
#if SAME
    const int first = c0 == 0, last = c0 <= w - 1 && w - 1 < c0 + 16;
#endif
    const float16 lane = lanes16();
    /* Coarser level: its gradient, 1/4 per pixel of each 2x2 block; the
     * odd-size rule appended a copy of the last row/column: twice the weight. */
    __global const float *gc = Lc ? slot + Lc[LV_GOFF] + c0 / 2 : 0;
    const int gcw = Lc ? Lc[LV_GW] : 0;
    const float16 fcol = select((float16)(0.25f), (float16)(0.5f),
                                isequal(lane, (float16)((float)(w - 1 - c0))) & (int16)(-(w & 1)));
    const uint16 UP = (uint16)(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    /* Output row r reads coefficient rows r + OFF .. r + OFF + 10. */
    for (int R = OFF; R < h + OFF + 10; R++) {
        float16 ha = 0.0f, hb = 0.0f, hc = 0.0f;
        if (R >= 10 && R < mh + 10) { /* rows outside are the zero border */
            __global const float *pa = ca + R * cw, *pb = cb + R * cw, *pc = cc + R * cw;
            /* Map column i sits at coefficient column i + 16: pixel c0 + lane
             * reads columns c0 + BASE + k + lane, k = 0..10. */
#define BASE (OFF + 6)
            const float16 a0 = LDA16(pa), a1 = LDA16(pa + 16), a2 = LDA16(pa + 32);
            const float16 b0 = LDA16(pb), b1 = LDA16(pb + 16), b2 = LDA16(pb + 32);
            const float16 e0 = LDA16(pc), e1 = LDA16(pc + 16), e2 = LDA16(pc + 32);
#define VA(k) (BASE + (k) <= 16 ? SH(a0, a1, BASE + (k)) : SH(a1, a2, BASE + (k)-16))
#define VB(k) (BASE + (k) <= 16 ? SH(b0, b1, BASE + (k)) : SH(b1, b2, BASE + (k)-16))
#define VC(k) (BASE + (k) <= 16 ? SH(e0, e1, BASE + (k)) : SH(e1, e2, BASE + (k)-16))
            ha = SYM11(VA);
            hb = SYM11(VB);
            hc = SYM11(VC);
#undef VA
#undef VB
#undef VC
#undef BASE
#if SAME
            if (first || last) {
                /* Pixel 0 gathers map columns 0..5 with weights CM0..CM5,
                 * pixel w-1 columns w-1..w-6 (the zero border covers short
                 * rows); a 1-pixel row gathers its single column whole. */
                __global const float *qa = pa - c0 + 16, *qb = pb - c0 + 16, *qc = pc - c0 + 16;
#define FOLD(q, i0, d) \
    (w == 1 ? (q)[0] : CM0 * (q)[i0] + CM1 * (q)[(i0) + (d)] + CM2 * (q)[(i0) + 2 * (d)] + CM3 * (q)[(i0) + 3 * (d)] + \
                           CM4 * (q)[(i0) + 4 * (d)] + CM5 * (q)[(i0) + 5 * (d)])
                if (first) {
                    const int16 at = isequal(lane, (float16)(0.0f));
                    ha = select(ha, (float16)(FOLD(qa, 0, 1)), at);
                    hb = select(hb, (float16)(FOLD(qb, 0, 1)), at);
                    hc = select(hc, (float16)(FOLD(qc, 0, 1)), at);
                }
                if (last) {
                    const int16 at = isequal(lane, (float16)((float)(w - 1 - c0)));
                    ha = select(ha, (float16)(FOLD(qa, w - 1, -1)), at);
                    hb = select(hb, (float16)(FOLD(qb, w - 1, -1)), at);
                    hc = select(hc, (float16)(FOLD(qc, w - 1, -1)), at);
                }
#undef FOLD
            }
#endif
        }
        const int s = R % 11;
        ra[s] = ra[s + 11] = ha;
        rb[s] = rb[s + 11] = hb;
        rc[s] = rc[s + 11] = hc;
        if (R < OFF + 10) continue;
        const int r = R - OFF - 10, b = (r + OFF) % 11;
        float16 za, zb, zc;
        if (SAME && r == 0) { /* map rows 0..5 at ring rows 5..10 (h == 1: row 0 whole) */
            const float c0w = h == 1 ? 1.0f : CM0;
#define FOLD0(q) (c0w * q[b + 5] + CM1 * q[b + 6] + CM2 * q[b + 7] + CM3 * q[b + 8] + CM4 * q[b + 9] + CM5 * q[b + 10])
            za = FOLD0(ra);
            zb = FOLD0(rb);
            zc = FOLD0(rc);
#undef FOLD0
        } else if (SAME && r == h - 1) { /* map rows h-1..h-6 at ring rows 5..0 */
#define FOLD1(q) (CM0 * q[b + 5] + CM1 * q[b + 4] + CM2 * q[b + 3] + CM3 * q[b + 2] + CM4 * q[b + 1] + CM5 * q[b])
            za = FOLD1(ra);
            zb = FOLD1(rb);
            zc = FOLD1(rc);
#undef FOLD1
        } else {
#define RA(k) ra[b + (k)]
#define RB(k) rb[b + (k)]
#define RC(k) rc[b + (k)]
            za = SYM11(RA);
            zb = SYM11(RB);
            zc = SYM11(RC);
#undef RA
#undef RB
#undef RC
        }
        const float16 xv = LDA16(px + r * pw), yv = LDA16(py + r * pw);
        float16 g = f * (za + 2.0f * yv * zb + xv * zc);
        if (gc) {
            const float16 up = shuffle(*(__global const float8 *)(gc + (r / 2) * gcw), UP);
            const float frow = (r == h - 1 && (h & 1)) ? 2.0f : 1.0f;
            g += (frow * fcol) * up;
        }
        if (aligned_out)
            STA16(out + r * out_stride + c0, g);
        else
            store_lanes(g, w - c0, out + r * out_stride + c0);
    }
}

/* Step 1: every level's padded input (level 1 in the slot, levels >= 2 per
 * image); work-items share rows. Ends with a barrier per level. */
static void prep_image(__global const float *xn, __global const float *yn, float ox, float oy, __global float *img,
                       __global float *slot, __global const int *lv, int nlevels, int lid, int ls)
{
    for (int j = 0; j < nlevels; j++) {
        __global const int *L = lv + j * LV_STRIDE;
        const int lh = L[LV_H], lw = L[LV_W], pw = L[LV_PW], ph = L[LV_PH];
        __global float *pxj = (j ? img : slot) + L[LV_POFF], *pyj = pxj + ph * pw;
        if (j == 0) {
            prep_first(xn, ox, pxj, lh, lw, pw, ph, lid, ls);
            prep_first(yn, oy, pyj, lh, lw, pw, ph, lid, ls);
        } else {
            __global const int *P = L - LV_STRIDE;
            __global const float *sx = (j > 1 ? img : slot) + P[LV_POFF], *sy = sx + P[LV_PH] * P[LV_PW];
            prep_next(sx, P[LV_PW], pxj, lh, lw, pw, ph, lid, ls);
            prep_next(sy, P[LV_PW], pyj, lh, lw, pw, ph, lid, ls);
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
}

/* Step 3 (one work-item): terms, value and the factors d value / d t_j over
 * the map size, from the strip sums in the slot. */
static void reduce_image(__global const float *slot, __global const int *lv, int nlevels, int n, float b0, float b1,
                         float b2, float b3, float b4, __global float *terms, __global float *values,
                         __global float *factor)
{
    float t[5], beta[5] = {b0, b1, b2, b3, b4};
    for (int j = 0; j < nlevels; j++) {
        __global const int *L = lv + j * LV_STRIDE;
        const float count = (float)(L[LV_MH] * L[LV_MW]);
        for (int q = 0; q < 3; q++) {
            float s = 0.0f, comp = 0.0f; /* Kahan, strips in order */
            for (int i = 0; i < L[LV_NSF]; i++) {
                const float v = slot[L[LV_SOFF] + 3 * i + q] - comp;
                const float u = s + v;
                comp = (u - s) - v;
                s = u;
            }
            terms[((size_t)n * nlevels + j) * 3 + q] = s / count;
            if (q == (j == nlevels - 1 ? 2 : 0)) t[j] = s / count;
        }
    }
    if (nlevels == 1) {
        values[n] = t[0];
        factor[n] = 1.0f / (float)(lv[LV_MH] * lv[LV_MW]);
    } else {
        int positive = 1;
        for (int j = 0; j < nlevels; j++) positive = positive && (t[j] > 0.0f);
        float value = 1.0f;
        for (int j = 0; j < nlevels; j++) value *= positive ? pow(t[j], beta[j]) : 0.0f;
        values[n] = positive ? value : 0.0f;
        /* d value / d t_j = beta_j value / t_j (all t_j > 0): five pow
         * calls instead of thirty. */
        for (int j = 0; j < nlevels; j++) {
            float fj = 0.0f;
            if (positive)
                fj = beta[j] * value / t[j] / (float)(lv[j * LV_STRIDE + LV_MH] * lv[j * LV_STRIDE + LV_MW]);
            factor[(size_t)n * nlevels + j] = fj;
        }
    }
}

__kernel void ssim_fused(__global const float *x, __global const float *y, __global float *images,
                         __global float *slots, __global const int *lv, const int nlevels, const int batch,
                         const int image_stride, const int slot_stride, const float C1, const float C2,
                         const float b0, const float b1, const float b2, const float b3, const float b4,
                         const int want_grad, __global float *terms, __global float *values, __global float *factor,
                         __global float *grad, __global float *dbg)
{
    /* Work-group g takes images g, g + G, ... in turn, reusing its slot (the
     * level-1 input, coefficient planes, level gradients and sums), which so
     * stays in cache; what the host reads back later (offsets, levels >= 2)
     * stays per image. Each image is processed the same way whatever G. */
    const int lid = get_local_id(0), ls = get_local_size(0), h = lv[LV_H], w = lv[LV_W];
    __global float *slot = slots + (size_t)get_group_id(0) * slot_stride;
    for (int n = get_group_id(0); n < batch; n += get_num_groups(0)) {
        __global const float *xn = x + (size_t)n * h * w, *yn = y + (size_t)n * h * w;
        __global float *img = images + (size_t)n * image_stride;
        /* Offsets: the centre pixel (img[0], img[1] keep them for the host). */
        const float ox = xn[(h / 2) * w + w / 2], oy = yn[(h / 2) * w + w / 2];
        if (lid == 0) {
            img[0] = ox;
            img[1] = oy;
        }

        prep_image(xn, yn, ox, oy, img, slot, lv, nlevels, lid, ls);

        /* forward: (level, strip) pairs shared out */
        int total = 0;
        for (int j = 0; j < nlevels; j++) total += lv[j * LV_STRIDE + LV_NSF];
        for (int t = lid; t < total; t += ls) {
            int j = 0, s = t;
            while (s >= lv[j * LV_STRIDE + LV_NSF]) s -= lv[(j++) * LV_STRIDE + LV_NSF];
            __global const int *L = lv + j * LV_STRIDE;
            __global float *dm = (dbg && j == 0) ? dbg + (size_t)n * 6 * L[LV_MH] * L[LV_MW] : 0;
            forward_strip(j ? img : slot, slot, L, 16 * s, ox, oy, C1, C2, j == nlevels - 1, want_grad,
                          slot + L[LV_SOFF] + 3 * s, dm);
        }
        barrier(CLK_GLOBAL_MEM_FENCE);

        /* reduce */
        if (lid == 0) reduce_image(slot, lv, nlevels, n, b0, b1, b2, b3, b4, terms, values, factor);
        barrier(CLK_GLOBAL_MEM_FENCE);

        /* backward, coarsest level first (want_grad is uniform) */
        for (int j = want_grad ? nlevels - 1 : -1; j >= 0; j--) {
            __global const int *L = lv + j * LV_STRIDE;
            const float f = factor[(size_t)n * nlevels + j];
            __global float *out = j ? slot + L[LV_GOFF] : grad + (size_t)n * h * w;
            const int stride = j ? L[LV_GW] : w;
            for (int s = lid; s < L[LV_NSB]; s += ls)
                backward_strip(j ? img : slot, slot, L, j + 1 < nlevels ? L + LV_STRIDE : 0, 16 * s, f, out, stride,
                               j > 0 || (w % 16 == 0));
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
    }
}

/* The phased schedule, for batches smaller than the number of compute units:
 * the steps of ssim_fused as separate launches (prep, forward, reduce, then
 * backward once per level, coarsest first), so that the strips of one image
 * run on several work-groups. One slot per image. The per-strip work is the
 * same code as in ssim_fused: the results are bit-identical. */
__kernel void ssim_step_prep(__global const float *x, __global const float *y, __global float *images,
                             __global float *slots, __global const int *lv, const int nlevels,
                             const int image_stride, const int slot_stride)
{
    const int n = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0), h = lv[LV_H], w = lv[LV_W];
    __global const float *xn = x + (size_t)n * h * w, *yn = y + (size_t)n * h * w;
    __global float *img = images + (size_t)n * image_stride;
    const float ox = xn[(h / 2) * w + w / 2], oy = yn[(h / 2) * w + w / 2];
    if (lid == 0) {
        img[0] = ox;
        img[1] = oy;
    }
    prep_image(xn, yn, ox, oy, img, slots + (size_t)n * slot_stride, lv, nlevels, lid, ls);
}

/* One work-item per (strip of any level, image). */
__kernel void ssim_step_forward(__global float *images, __global float *slots, __global const int *lv,
                                const int nlevels, const int batch, const int image_stride, const int slot_stride,
                                const float C1, const float C2, const int want_grad, __global float *dbg)
{
    const int t = get_global_id(0), n = get_global_id(1);
    int total = 0;
    for (int j = 0; j < nlevels; j++) total += lv[j * LV_STRIDE + LV_NSF];
    if (t >= total || n >= batch) return;
    int j = 0, s = t;
    while (s >= lv[j * LV_STRIDE + LV_NSF]) s -= lv[(j++) * LV_STRIDE + LV_NSF];
    __global const int *L = lv + j * LV_STRIDE;
    __global float *img = images + (size_t)n * image_stride, *slot = slots + (size_t)n * slot_stride;
    __global float *dm = (dbg && j == 0) ? dbg + (size_t)n * 6 * L[LV_MH] * L[LV_MW] : 0;
    forward_strip(j ? img : slot, slot, L, 16 * s, img[0], img[1], C1, C2, j == nlevels - 1, want_grad,
                  slot + L[LV_SOFF] + 3 * s, dm);
}

__kernel void ssim_step_reduce(__global const float *slots, __global const int *lv, const int nlevels,
                               const int batch, const int slot_stride, const float b0, const float b1,
                               const float b2, const float b3, const float b4, __global float *terms,
                               __global float *values, __global float *factor)
{
    const int n = get_global_id(0);
    if (n < batch)
        reduce_image(slots + (size_t)n * slot_stride, lv, nlevels, n, b0, b1, b2, b3, b4, terms, values, factor);
}

/* Level j: one work-item per (strip, image). */
__kernel void ssim_step_backward(__global float *images, __global float *slots, __global const int *lv,
                                 const int nlevels, const int j, const int batch, const int image_stride,
                                 const int slot_stride, __global const float *factor, __global float *grad)
{
    const int s = get_global_id(0), n = get_global_id(1);
    __global const int *L = lv + j * LV_STRIDE;
    if (s >= L[LV_NSB] || n >= batch) return;
    const int h = lv[LV_H], w = lv[LV_W];
    __global float *img = images + (size_t)n * image_stride, *slot = slots + (size_t)n * slot_stride;
    __global float *out = j ? slot + L[LV_GOFF] : grad + (size_t)n * h * w;
    backward_strip(j ? img : slot, slot, L, j + 1 < nlevels ? L + LV_STRIDE : 0, 16 * s,
                   factor[(size_t)n * nlevels + j], out, j ? L[LV_GW] : w, j > 0 || (w % 16 == 0));
}
