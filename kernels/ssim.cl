/* ssim.cl: SSIM and MS-SSIM, forward and exact gradient (shared/golden/README.md).
 *
 * A batch of N images of H x W, up to 5 pyramid levels. Every kernel covers
 * every level and image in one launch, so one SSIM or MS-SSIM evaluation is a
 * handful of launches (PoCL's launch cost is tens of microseconds):
 *   ssim_pyramid  levels 2..M of x and y (2x2 mean, odd edge replicated);
 *                 one work-group per image walks the levels in order.
 *   ssim_forward  one work-group per (tile of TILE x TILE map positions, image):
 *                 loads the tile and a 5-pixel halo of x and y into local
 *                 memory, blurs the five moments (x, y, xx, yy, xy) along rows
 *                 then columns, forms the luminance / cs / SSIM maps, writes the
 *                 gradient coefficient maps a, b, c (README section 7) and the
 *                 tile's sums of cs, l and SSIM (rows summed in order, then a
 *                 fixed pairwise tree: the order never depends on the
 *                 work-group size).
 *   ssim_reduce   one work-item per image: compensated sums of the tile sums,
 *                 the terms t_j, the value, and the product-rule factor of
 *                 every level (already divided by the map size); any t_j <= 0
 *                 of MS-SSIM gives value 0 and factors 0.
 *   ssim_backward one work-group per (tile of TILE x TILE pixels, image): the
 *                 adjoint window of a, b, c (valid: full correlation; same:
 *                 scatter then fold the clamped padding back onto the edge),
 *                 combined as factor * (W'a + 2 y W'b + x W'c).
 *   ssim_combine  full resolution: adds U^(j-1) of every coarser level's
 *                 gradient (U = adjoint of the 2x2 mean) to level 1.
 *   ssim_fused    SSIM only, when one tile holds the whole map: forward, mean
 *                 and gradient in one work-group per image, one launch.
 * Inputs: x, y (N*H*W). Level table `lv` (LV_STRIDE ints per level, filled by
 * src/ssim.c). Outputs: values, terms, gradient.
 * Compile-time parameters: TILE (map positions per tile side, power of two),
 * SAME (1: replicate padding, 0: valid), G0..G5 the window taps g(0)..g(5) and
 * CM0..CM5 the edge sums sum_{u=-5}^{-m} g(u), all computed on the host in
 * double. Work-groups are one-dimensional of any size (loops stride by it).
 * No atomics: every result is written by exactly one work-item. */

#define LV_STRIDE 16
#define LV_H 0
#define LV_W 1
#define LV_MH 2
#define LV_MW 3
#define LV_TX 4      /* map tiles across */
#define LV_TBASE 5   /* first map tile of this level */
#define LV_PTX 6     /* pixel tiles across */
#define LV_PBASE 7   /* first pixel tile of this level */
#define LV_POFF 8    /* offset of the level in the pyramid buffers (per batch) */
#define LV_COFF 9    /* offset of the level in the coefficient buffer (per batch) */

#if SAME
#define OFF 0
#else
#define OFF 5
#endif
#define HALO (TILE + 10)

/* Window taps as a function of k = 0..10 (u = k - 5). */
#define TAPS_DOT(src, base, step)                                                                   \
    (G5 * ((src)[(base)] + (src)[(base) + 10 * (step)]) + G4 * ((src)[(base) + (step)] + (src)[(base) + 9 * (step)]) + \
     G3 * ((src)[(base) + 2 * (step)] + (src)[(base) + 8 * (step)]) +                                 \
     G2 * ((src)[(base) + 3 * (step)] + (src)[(base) + 7 * (step)]) +                                 \
     G1 * ((src)[(base) + 4 * (step)] + (src)[(base) + 6 * (step)]) + G0 * (src)[(base) + 5 * (step)])

static int find_level(__global const int *lv, int nlevels, int tile, int base_field)
{
    int j = 0;
    while (j + 1 < nlevels && tile >= lv[(j + 1) * LV_STRIDE + base_field]) j++;
    return j;
}

static float edge_sum(int m)
{
    /* sum_{u=-5}^{-m} g(u), m = 0..5 */
    switch (m) {
    case 0: return CM0;
    case 1: return CM1;
    case 2: return CM2;
    case 3: return CM3;
    case 4: return CM4;
    case 5: return CM5;
    default: return 0.0f;
    }
}

static float tap(int k)
{
    switch (k < 5 ? 5 - k : k - 5) {
    case 0: return G0;
    case 1: return G1;
    case 2: return G2;
    case 3: return G3;
    case 4: return G4;
    default: return G5;
    }
}

/* Weight of map index i on pixel r (length n) in same mode, for an edge pixel
 * r == 0 or r == n-1: the taps that the clamp folded onto it. */
static float edge_weight(int i, int r, int n)
{
    if (i < 0 || i >= n) return 0.0f;
    if (n == 1) return 1.0f;
    if (r == 0) return i <= 5 ? edge_sum(i) : 0.0f;
    return n - 1 - i <= 5 ? edge_sum(n - 1 - i) : 0.0f;
}

/* The SSIM quantities at one position from its five moments. */
typedef struct maps {
    float l, cs, ssim, a, b, c;
} maps;

/* The moments arrive shifted by per-tile offsets ox, oy (E[x - ox] ...):
 * variances are shift-invariant and lose far less to cancellation when the
 * shift is near the local mean (8-bit data: E[x^2] ~ 1e4 against C2 ~ 58). */
static maps ssim_maps_at(float sx, float sy, float exx, float eyy, float exy, float ox, float oy, float C1, float C2,
                         int f_is_ssim)
{
    maps m;
    const float sx2 = exx - sx * sx, sy2 = eyy - sy * sy, sxy = exy - sx * sy;
    const float mx = sx + ox, my = sy + oy;
    float A1 = 2.0f * mx * my + C1, B1 = mx * mx + my * my + C1;
    float A2 = 2.0f * sxy + C2, B2 = sx2 + sy2 + C2;
    m.l = A1 / B1;
    m.cs = A2 / B2;
    m.ssim = m.l * m.cs;
    float dcs = 2.0f * (my * A2 - mx * B2) / (B2 * B2);
    if (f_is_ssim) {
        m.a = m.cs * 2.0f * (mx * B1 - my * A1) / (B1 * B1) + m.l * dcs;
        m.b = -m.ssim / B2;
        m.c = 2.0f * m.l / B2;
    } else {
        m.a = dcs;
        m.b = -m.cs / B2;
        m.c = 2.0f / B2;
    }
    return m;
}

__kernel void ssim_pyramid(__global const float *x, __global const float *y, __global float *px, __global float *py,
                           __global const int *lv, const int nlevels)
{
    const int n = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    for (int j = 1; j < nlevels; j++) {
        const int h = lv[j * LV_STRIDE + LV_H], w = lv[j * LV_STRIDE + LV_W];
        const int ph = lv[(j - 1) * LV_STRIDE + LV_H], pw = lv[(j - 1) * LV_STRIDE + LV_W];
        __global const float *sx, *sy;
        if (j == 1) {
            sx = x + (size_t)n * ph * pw;
            sy = y + (size_t)n * ph * pw;
        } else {
            const size_t o = (size_t)lv[(j - 1) * LV_STRIDE + LV_POFF] + (size_t)n * ph * pw;
            sx = px + o;
            sy = py + o;
        }
        const size_t o = (size_t)lv[j * LV_STRIDE + LV_POFF] + (size_t)n * h * w;
        __global float *dx = px + o, *dy = py + o;
        for (int r = 0; r < h; r++) {
            const int r0 = 2 * r, r1 = min(2 * r + 1, ph - 1);
            for (int c = lid; c < w; c += ls) {
                const int c0 = 2 * c, c1 = min(2 * c + 1, pw - 1);
                dx[r * w + c] = (sx[r0 * pw + c0] + sx[r1 * pw + c0] + sx[r0 * pw + c1] + sx[r1 * pw + c1]) * 0.25f;
                dy[r * w + c] = (sy[r0 * pw + c0] + sy[r1 * pw + c0] + sy[r0 * pw + c1] + sy[r1 * pw + c1]) * 0.25f;
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
}

/* Sums v[0..rows-1][0..cols-1] (row stride TILE) in an order fixed by the
 * shape alone: each row in order, then a pairwise tree over TILE rows. */
static float tile_sum(__local float *v, __local float *rs, int rows, int cols, int lid, int ls)
{
    for (int r = lid; r < TILE; r += ls) {
        float s = 0.0f;
        if (r < rows)
            for (int c = 0; c < cols; c++) s += v[r * TILE + c];
        rs[r] = s;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = TILE / 2; span >= 1; span /= 2) {
        for (int i = lid; i < span; i += ls) rs[i] += rs[i + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float s = rs[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return s;
}

/* Blurs the five moments of the tile whose inputs (rows+10 x cols+10) are in
 * lx, ly into mom[5][TILE*TILE] via the row pass hs[5][HALO*TILE]. */
static void tile_moments(__local const float *lx, __local const float *ly, __local float *hs, int rows, int cols,
                         int lid, int ls)
{
    const int plane = HALO * TILE;
    for (int r = 0; r < rows + 10; r++) {
        for (int c = lid; c < cols; c += ls) {
            const int b = r * HALO + c;
            float sx = 0.0f, sy = 0.0f, sxx = 0.0f, syy = 0.0f, sxy = 0.0f;
#define HTAP(k, g)                                                       \
    {                                                                    \
        const float vx = lx[b + (k)], vy = ly[b + (k)];                  \
        const float gx = (g) * vx, gy = (g) * vy;                        \
        sx += gx;                                                        \
        sy += gy;                                                        \
        sxx += gx * vx;                                                  \
        syy += gy * vy;                                                  \
        sxy += gx * vy;                                                  \
    }
            HTAP(0, G5) HTAP(1, G4) HTAP(2, G3) HTAP(3, G2) HTAP(4, G1) HTAP(5, G0)
            HTAP(6, G1) HTAP(7, G2) HTAP(8, G3) HTAP(9, G4) HTAP(10, G5)
#undef HTAP
            hs[r * TILE + c] = sx;
            hs[plane + r * TILE + c] = sy;
            hs[2 * plane + r * TILE + c] = sxx;
            hs[3 * plane + r * TILE + c] = syy;
            hs[4 * plane + r * TILE + c] = sxy;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* Loads rows+10 x cols+10 input pixels starting at image position (ir, ic). */
static void load_tile(__global const float *img, int h, int w, int ir, int ic, int rows, int cols, float off,
                      __local float *dst, int lid, int ls)
{
    for (int r = 0; r < rows + 10; r++) {
        const int sr = clamp(ir + r, 0, h - 1);
        for (int c = lid; c < cols + 10; c += ls) {
            const int sc = clamp(ic + c, 0, w - 1);
            dst[r * HALO + c] = img[sr * w + sc] - off;
        }
        barrier(CLK_LOCAL_MEM_FENCE); /* per row: PoCL then vectorises across work-items */
    }
}

__kernel void ssim_forward(__global const float *x, __global const float *y, __global const float *px,
                           __global const float *py, __global const int *lv, const int nlevels, const int total_tiles,
                           const float C1, const float C2, __global float *partials, __global float *coeff,
                           __global float *dbg, __local float *lx, __local float *ly, __local float *hs,
                           __local float *rs)
{
    /* Local arrays come as arguments (lx, ly: HALO*HALO; hs: 5*HALO*TILE;
     * rs: TILE): PoCL 3.1 on 2 threads corrupted kernel-scope __local arrays
     * between concurrently running work-groups. */
    const int t = get_group_id(0), n = get_group_id(1), lid = get_local_id(0), ls = get_local_size(0);
    const int j = find_level(lv, nlevels, t, LV_TBASE);
    __global const int *L = lv + j * LV_STRIDE;
    const int h = L[LV_H], w = L[LV_W], mh = L[LV_MH], mw = L[LV_MW];
    const int tt = t - L[LV_TBASE], r0 = (tt / L[LV_TX]) * TILE, c0 = (tt % L[LV_TX]) * TILE;
    const int rows = min(TILE, mh - r0), cols = min(TILE, mw - c0);
    const int f_is_ssim = (j == nlevels - 1);
    __global const float *sx, *sy;
    if (j == 0) {
        sx = x + (size_t)n * h * w;
        sy = y + (size_t)n * h * w;
    } else {
        const size_t o = (size_t)L[LV_POFF] + (size_t)n * h * w;
        sx = px + o;
        sy = py + o;
    }
    /* Offsets: the pixel at the centre of the tile (see ssim_maps_at). */
    const int oc = clamp(r0 + OFF + rows / 2, 0, h - 1) * w + clamp(c0 + OFF + cols / 2, 0, w - 1);
    const float ox = sx[oc], oy = sy[oc];
    load_tile(sx, h, w, r0 + OFF - 5, c0 + OFF - 5, rows, cols, ox, lx, lid, ls);
    load_tile(sy, h, w, r0 + OFF - 5, c0 + OFF - 5, rows, cols, oy, ly, lid, ls);
    barrier(CLK_LOCAL_MEM_FENCE);
    tile_moments(lx, ly, hs, rows, cols, lid, ls);

    /* Column pass, maps; cs, l, SSIM go to lx, ly, hs (free now: row stride TILE). */
    const int plane = HALO * TILE, mplane = mh * mw;
    __global float *co = coeff ? coeff + (size_t)L[LV_COFF] + (size_t)n * 3 * mplane : 0;
    __global float *dm = (dbg && j == 0) ? dbg + (size_t)n * 6 * mplane : 0;
    for (int r = 0; r < rows; r++) {
        for (int c = lid; c < cols; c += ls) {
            const int b = r * TILE + c;
            const float mx = TAPS_DOT(hs, b, TILE), my = TAPS_DOT(hs, plane + b, TILE);
            const float exx = TAPS_DOT(hs, 2 * plane + b, TILE), eyy = TAPS_DOT(hs, 3 * plane + b, TILE);
            const float exy = TAPS_DOT(hs, 4 * plane + b, TILE);
            const maps m = ssim_maps_at(mx, my, exx, eyy, exy, ox, oy, C1, C2, f_is_ssim);
            const int p = (r0 + r) * mw + c0 + c;
            if (co) {
                co[p] = m.a;
                co[mplane + p] = m.b;
                co[2 * mplane + p] = m.c;
            }
            if (dm) {
                dm[p] = m.ssim;
                dm[mplane + p] = mx + ox;
                dm[2 * mplane + p] = my + oy;
                dm[3 * mplane + p] = exx - mx * mx;
                dm[4 * mplane + p] = eyy - my * my;
                dm[5 * mplane + p] = exy - mx * my;
            }
            /* lx, ly (the inputs) are free after the row pass; hs is still read. */
            lx[b] = m.cs;
            ly[b] = m.l;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    /* SSIM = l * cs, recomputed exactly as in ssim_maps_at. */
    for (int r = 0; r < rows; r++)
        for (int c = lid; c < cols; c += ls) hs[r * TILE + c] = ly[r * TILE + c] * lx[r * TILE + c];
    barrier(CLK_LOCAL_MEM_FENCE);
    const float s_cs = tile_sum(lx, rs, rows, cols, lid, ls);
    const float s_l = tile_sum(ly, rs, rows, cols, lid, ls);
    const float s_ssim = tile_sum(hs, rs, rows, cols, lid, ls);
    if (lid == 0) {
        __global float *o = partials + ((size_t)n * total_tiles + t) * 3;
        o[0] = s_cs;
        o[1] = s_l;
        o[2] = s_ssim;
    }
}

/* One work-item per image. terms: [N][nlevels][3] means of (cs, l, SSIM);
 * factor: [N][nlevels] d value / d t_j divided by the map size. */
__kernel void ssim_reduce(__global const float *partials, __global const int *lv, const int nlevels,
                          const int total_tiles, const int batch, const float b0, const float b1, const float b2,
                          const float b3, const float b4, __global float *terms, __global float *values,
                          __global float *factor)
{
    const int n = get_global_id(0);
    if (n >= batch) return;
    float t[5], beta[5] = {b0, b1, b2, b3, b4};
    for (int j = 0; j < nlevels; j++) {
        __global const int *L = lv + j * LV_STRIDE;
        const int first = L[LV_TBASE], last = (j + 1 < nlevels) ? lv[(j + 1) * LV_STRIDE + LV_TBASE] : total_tiles;
        const float count = (float)(L[LV_MH] * L[LV_MW]);
        for (int q = 0; q < 3; q++) {
            /* Kahan: the tile sums arrive in a fixed order. */
            float s = 0.0f, comp = 0.0f;
            for (int i = first; i < last; i++) {
                const float v = partials[((size_t)n * total_tiles + i) * 3 + q] - comp;
                const float u = s + v;
                comp = (u - s) - v;
                s = u;
            }
            terms[((size_t)n * nlevels + j) * 3 + q] = s / count;
        }
        t[j] = terms[((size_t)n * nlevels + j) * 3 + (j == nlevels - 1 ? 2 : 0)];
    }
    if (nlevels == 1) {
        values[n] = t[0];
        factor[n] = 1.0f / (float)(lv[LV_MH] * lv[LV_MW]);
        return;
    }
    int positive = 1;
    for (int j = 0; j < nlevels; j++) positive = positive && (t[j] > 0.0f);
    float value = 1.0f;
    for (int j = 0; j < nlevels; j++) value *= positive ? pow(t[j], beta[j]) : 0.0f;
    values[n] = positive ? value : 0.0f;
    for (int j = 0; j < nlevels; j++) {
        float f = 0.0f;
        if (positive) {
            f = beta[j] * pow(t[j], beta[j] - 1.0f);
            for (int k = 0; k < nlevels; k++)
                if (k != j) f *= pow(t[k], beta[k]);
            f /= (float)(lv[j * LV_STRIDE + LV_MH] * lv[j * LV_STRIDE + LV_MW]);
        }
        factor[(size_t)n * nlevels + j] = f;
    }
}

/* Adjoint window along one axis: the weight of map index i (local index k of
 * 0..10 around the output) on output pixel r of a length-n axis. */
static float adj_weight(int k, int i, int r, int n)
{
#if SAME
    if (r == 0 || r == n - 1) return edge_weight(i, r, n);
#endif
    return tap(k);
}

__kernel void ssim_backward(__global const float *x, __global const float *y, __global const float *px,
                            __global const float *py, __global const int *lv, const int nlevels,
                            __global const float *coeff, __global const float *factor, __global float *grad,
                            __global float *dlev, __local float *la, __local float *vs)
{
    /* la: 3*HALO*HALO, vs: 3*HALO*TILE floats (see ssim_forward). */
    const int t = get_group_id(0), n = get_group_id(1), lid = get_local_id(0), ls = get_local_size(0);
    const int j = find_level(lv, nlevels, t, LV_PBASE);
    __global const int *L = lv + j * LV_STRIDE;
    const int h = L[LV_H], w = L[LV_W], mh = L[LV_MH], mw = L[LV_MW];
    const int tt = t - L[LV_PBASE], r0 = (tt / L[LV_PTX]) * TILE, c0 = (tt % L[LV_PTX]) * TILE;
    const int rows = min(TILE, h - r0), cols = min(TILE, w - c0);
    const int mplane = mh * mw;
    const float s = factor[(size_t)n * nlevels + j];
    __global const float *co = coeff + (size_t)L[LV_COFF] + (size_t)n * 3 * mplane;
    /* Map indices mi0 .. mi0 + rows + 9 (zero outside the map). */
    const int mi0 = r0 - OFF - 5, mj0 = c0 - OFF - 5;
    for (int q = 0; q < 3; q++)
        for (int r = 0; r < rows + 10; r++) {
            const int i = mi0 + r;
            for (int c = lid; c < cols + 10; c += ls) {
                const int jj = mj0 + c;
                la[q * HALO * HALO + r * HALO + c] =
                    (i >= 0 && i < mh && jj >= 0 && jj < mw) ? co[q * mplane + i * mw + jj] : 0.0f;
            }
        }
    barrier(CLK_LOCAL_MEM_FENCE);
    /* Column pass: vs[q][r][c] = sum_k K(i, r) la[q][r + k][c]. */
    for (int r = 0; r < rows; r++) {
        const int ra = r0 + r;
#if SAME
        const int edge = (ra == 0 || ra == h - 1);
#else
        const int edge = 0;
#endif
        for (int c = lid; c < cols + 10; c += ls) {
            for (int q = 0; q < 3; q++) {
                __local const float *src = la + q * HALO * HALO;
                float v;
                if (!edge) {
                    v = TAPS_DOT(src, r * HALO + c, HALO);
                } else {
                    v = 0.0f;
                    for (int k = 0; k < 11; k++) v += adj_weight(k, mi0 + r + k, ra, mh) * src[(r + k) * HALO + c];
                }
                vs[q * HALO * TILE + r * HALO + c] = v;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    __global const float *sx, *sy;
    __global float *out;
    if (j == 0) {
        sx = x + (size_t)n * h * w;
        sy = y + (size_t)n * h * w;
        out = grad + (size_t)n * h * w;
    } else {
        const size_t o = (size_t)L[LV_POFF] + (size_t)n * h * w;
        sx = px + o;
        sy = py + o;
        out = dlev + o;
    }
    for (int r = 0; r < rows; r++) {
        for (int c = lid; c < cols; c += ls) {
            const int ca = c0 + c;
#if SAME
            const int edge = (ca == 0 || ca == w - 1);
#else
            const int edge = 0;
#endif
            float wv[3];
            for (int q = 0; q < 3; q++) {
                __local const float *src = vs + q * HALO * TILE + r * HALO;
                float v;
                if (!edge) {
                    v = TAPS_DOT(src, c, 1);
                } else {
                    v = 0.0f;
                    for (int k = 0; k < 11; k++) v += adj_weight(k, mj0 + c + k, ca, mw) * src[c + k];
                }
                wv[q] = v;
            }
            const int p = (r0 + r) * w + ca;
            out[p] = s * (wv[0] + 2.0f * sy[p] * wv[1] + sx[p] * wv[2]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* grad[n][r][c] += sum_{j >= 1} U^j(dlev_j) at level 1, Horner from the
 * coarsest level. U: coarse value / 4 onto the 2x2 block; a row or column
 * that the odd-size rule appended lands on the last real one (factor 2). */
__kernel void ssim_combine(__global float *grad, __global const float *dlev, __global const int *lv, const int nlevels,
                           const int batch)
{
    const int c = get_global_id(0), r = get_global_id(1), n = get_global_id(2);
    const int h = lv[LV_H], w = lv[LV_W];
    if (c >= w || r >= h || n >= batch) return;
    int rr[5], cc[5];
    float f[5];
    rr[0] = r;
    cc[0] = c;
    for (int j = 1; j < nlevels; j++) {
        const int ph = lv[(j - 1) * LV_STRIDE + LV_H], pw = lv[(j - 1) * LV_STRIDE + LV_W];
        const float fr = (rr[j - 1] == ph - 1 && (ph & 1)) ? 2.0f : 1.0f;
        const float fc = (cc[j - 1] == pw - 1 && (pw & 1)) ? 2.0f : 1.0f;
        f[j] = 0.25f * fr * fc;
        rr[j] = rr[j - 1] >> 1;
        cc[j] = cc[j - 1] >> 1;
    }
    float acc = 0.0f;
    for (int j = nlevels - 1; j >= 1; j--) {
        const int lh = lv[j * LV_STRIDE + LV_H], lw = lv[j * LV_STRIDE + LV_W];
        const float d = dlev[(size_t)lv[j * LV_STRIDE + LV_POFF] + (size_t)n * lh * lw + rr[j] * lw + cc[j]];
        acc = f[j] * (d + acc);
    }
    grad[((size_t)n * h + r) * w + c] += acc;
}
