/* gemm.cl: single-precision matrix multiply, perceptcl's own (no CLBlast).
 *   C[m,n] = alpha * sum_k op(A)[m,k] op(B)[k,n] + beta * C[m,n], row-major.
 * Inputs: A (m x k, or k x m when TRANS_A), B (k x n, or n x k when TRANS_B),
 *   each with a float offset and a row stride; C (m x n) read only when
 *   beta != 0 (so a NaN-poisoned C with beta = 0 is fully overwritten).
 * Output: C.
 * Compile-time parameters: TRANS_A, TRANS_B (0/1); WG_M x WG_N work-items per
 *   group (local size {WG_N, WG_M}); each item accumulates a WPT_M x WPT_N
 *   register block, rows tm + i*WG_M and columns tn + j*WG_N of the group's
 *   TILE_M x TILE_N tile (strided, so neighbouring items touch neighbouring
 *   addresses: coalesced on GPUs, vectorisable across items on CPU devices);
 *   TILE_K: depth of the local-memory panels of A and B.
 * Why: CLBlast's untuned SGEMM runs at ~4% of the cores on PoCL; a tiled
 *   kernel whose shape is chosen from the device's work-group limit runs
 *   everywhere, down to one item per group. Edges are zero-padded on load, so
 *   any m, n, k work; the k reduction runs in ascending order (deterministic).
 * The CPU path (packed panels, register-blocked micro-kernel) follows the
 * tiled kernel below; it is what PoCL runs. */
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef WG_M
#define WG_M 8
#endif
#ifndef WG_N
#define WG_N 8
#endif
#ifndef WPT_M
#define WPT_M 4
#endif
#ifndef WPT_N
#define WPT_N 4
#endif
#ifndef TILE_K
#define TILE_K 16
#endif
#define TILE_M (WG_M * WPT_M)
#define TILE_N (WG_N * WPT_N)
#define THREADS (WG_M * WG_N)

__kernel __attribute__((reqd_work_group_size(WG_N, WG_M, 1)))
void gemm(const int M, const int N, const int K, const float alpha,
          __global const float *A, const ulong a_off, const int lda,
          __global const float *B, const ulong b_off, const int ldb,
          const float beta, __global float *C, const ulong c_off, const int ldc)
{
    __local float As[TILE_K][TILE_M];
    __local float Bs[TILE_K][TILE_N];
    A += a_off;
    B += b_off;
    C += c_off;
    const int tn = get_local_id(0), tm = get_local_id(1);
    const int lid = tm * WG_N + tn;
    const int m0 = get_group_id(1) * TILE_M, n0 = get_group_id(0) * TILE_N;

    float acc[WPT_M][WPT_N];
    for (int i = 0; i < WPT_M; i++)
        for (int j = 0; j < WPT_N; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += TILE_K) {
        for (int e = lid; e < TILE_K * TILE_M; e += THREADS) {
#if TRANS_A
            const int kk = e / TILE_M, mm = e % TILE_M; /* stored k x m: m contiguous */
            const int gm = m0 + mm, gk = k0 + kk;
            As[kk][mm] = (gm < M && gk < K) ? A[gk * lda + gm] : 0.0f;
#else
            const int mm = e / TILE_K, kk = e % TILE_K; /* stored m x k: k contiguous */
            const int gm = m0 + mm, gk = k0 + kk;
            As[kk][mm] = (gm < M && gk < K) ? A[gm * lda + gk] : 0.0f;
#endif
        }
        for (int e = lid; e < TILE_K * TILE_N; e += THREADS) {
#if TRANS_B
            const int nn = e / TILE_K, kk = e % TILE_K; /* stored n x k */
            const int gn = n0 + nn, gk = k0 + kk;
            Bs[kk][nn] = (gn < N && gk < K) ? B[gn * ldb + gk] : 0.0f;
#else
            const int kk = e / TILE_N, nn = e % TILE_N; /* stored k x n */
            const int gn = n0 + nn, gk = k0 + kk;
            Bs[kk][nn] = (gn < N && gk < K) ? B[gk * ldb + gn] : 0.0f;
#endif
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TILE_K; kk++) {
            float a[WPT_M], b[WPT_N];
            for (int i = 0; i < WPT_M; i++) a[i] = As[kk][tm + i * WG_M];
            for (int j = 0; j < WPT_N; j++) b[j] = Bs[kk][tn + j * WG_N];
            for (int i = 0; i < WPT_M; i++)
                for (int j = 0; j < WPT_N; j++) acc[i][j] = mad(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < WPT_M; i++) {
        const int gm = m0 + tm + i * WG_M;
        if (gm >= M) continue;
        for (int j = 0; j < WPT_N; j++) {
            const int gn = n0 + tn + j * WG_N;
            if (gn >= N) continue;
            const float v = alpha * acc[i][j];
            C[gm * ldc + gn] = beta == 0.0f ? v : v + beta * C[gm * ldc + gn];
        }
    }
}

/* ---- The packed path (CPU devices) --------------------------------------
 * Operands are first packed into panels so that the micro-kernel's k loop
 * reads unit-stride memory and needs no bounds checks:
 *   Ap[mb][k][i] = op(A)[mb*MR + i][k]   (0 past M; MR rows per panel)
 *   Bp[nb][k][j] = op(B)[k][nb*NR + j]   (0 past N; NR columns per panel)
 * Transposed operands are handled by the packers (no transposed copy of a
 * whole matrix). gemm_packed: one item per MR x NR block of C (dimension 0
 * walks the row panels, so the items of a group share one B panel in cache)
 * and per k slice (dimension 2, split-K): MR x NR/16 float16 accumulators
 * in registers, one broadcast of A per row and NR/16 vector loads of B per
 * k. With one slice the epilogue writes C (alpha, beta) directly; with
 * several each slice writes its partial block and gemm_reduce adds the
 * slices in ascending order (deterministic, no atomics).
 * C addressing (the epilogue): element (m, n) lives at
 *   c[m*ldc + (n / period)*ldp + n % period]
 * which is plain row-major for period >= N, and lets a convolution write
 * NCHW outputs directly (n = image*P + pixel, period P, ldp = O*P). */
#ifndef MR
#define MR 8
#endif
#ifndef NR
#define NR 32
#endif
#ifndef A_STRIDED
#define A_STRIDED 0 /* 1: gemm_packed reads A in place (strides sm, sk) */
#endif
#define NV (NR / 16)

/* One item per (panel, k): it writes the panel's MR (NR) contiguous floats
 * for that k, so the stores are unit-stride; dimension 0 walks k. */
__kernel void pack_a(const int M, const int K, __global const float *A, const ulong a_off, const int lda,
                     __global float *Ap)
{
    const int k = get_global_id(0), mb = get_global_id(1);
    if (k >= K || mb * MR >= M) return;
    float v[MR];
    for (int i = 0; i < MR; i++) {
        const int m = mb * MR + i;
#if TRANS_A
        v[i] = m < M ? A[a_off + (size_t)k * lda + m] : 0.0f; /* stored k x m */
#else
        v[i] = m < M ? A[a_off + (size_t)m * lda + k] : 0.0f; /* stored m x k */
#endif
    }
    __global float *dst = Ap + ((size_t)mb * K + k) * MR;
    for (int i = 0; i < MR; i++) dst[i] = v[i];
}

__kernel void pack_b(const int N, const int K, __global const float *B, const ulong b_off, const int ldb,
                     __global float *Bp)
{
    const int k = get_global_id(0), nb = get_global_id(1);
    if (k >= K || nb * NR >= N) return;
    __global float *dst = Bp + ((size_t)nb * K + k) * NR;
#if TRANS_B
    for (int j = 0; j < NR; j++) {
        const int n = nb * NR + j;
        dst[j] = n < N ? B[b_off + (size_t)n * ldb + k] : 0.0f; /* stored n x k */
    }
#else
    __global const float *src = B + b_off + (size_t)k * ldb + nb * NR; /* stored k x n */
    if (nb * NR + NR <= N) {
        for (int v = 0; v < NR / 16; v++) vstore16(vload16(v, src), v, dst);
    } else {
        for (int j = 0; j < NR; j++) dst[j] = nb * NR + j < N ? src[j] : 0.0f;
    }
#endif
}

/* Stores one MR x NR block (values already scaled by alpha) at rows m0..,
 * columns n0.. of C with the period addressing above. A full block whose
 * columns lie in one period is stored with vector loads and stores. */
static void store_block(const int M, const int N, const int m0, const int n0, const float *out, const float beta,
                        __global float *C, const int ldc, const int period, const int ldp)
{
    int q = n0 / period, r = n0 % period;
    if (m0 + MR <= M && n0 + NR <= N && r + NR <= period) {
        __global float *base = C + (size_t)q * ldp + r + (size_t)m0 * ldc;
        for (int i = 0; i < MR; i++) {
            __global float *row = base + (size_t)i * ldc;
            for (int v = 0; v < NR / 16; v++) {
                float16 x = vload16(0, out + i * NR + v * 16);
                if (beta != 0.0f) x = fma((float16)(beta), vload16(v, row), x);
                vstore16(x, v, row);
            }
        }
        return;
    }
    size_t col[NR];
    for (int j = 0; j < NR; j++) {
        col[j] = (size_t)q * ldp + r;
        if (++r == period) r = 0, q++;
    }
    for (int i = 0; i < MR; i++) {
        if (m0 + i >= M) break;
        __global float *row = C + (size_t)(m0 + i) * ldc;
        for (int j = 0; j < NR && n0 + j < N; j++) {
            const float v = out[i * NR + j];
            row[col[j]] = beta == 0.0f ? v : fma(beta, row[col[j]], v);
        }
    }
}

/* The micro-kernel's registers are named variables, not arrays (PoCL keeps
 * private arrays in memory), and the updates use fma(), which maps to one
 * vfmadd on CPUs (mad() was compiled as a multiply and an add). */
#define ROWS_8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define ROWS_6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define ROWS_4(X) X(0) X(1) X(2) X(3)
#define ROWS_2(X) X(0) X(1)
#define ROWS_1(X) X(0)
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define ROWS CAT(ROWS_, MR)
#if NR == 32
#define DECL(i) float16 c##i##0 = (float16)(0.0f), c##i##1 = (float16)(0.0f);
#define UPDATE(i)                            \
    {                                        \
        const float16 av = (float16)(a[i]);  \
        c##i##0 = fma(av, b0, c##i##0);      \
        c##i##1 = fma(av, b1, c##i##1);      \
    }
#define SAVE(i) vstore16(c##i##0 * scale, 0, out + i * NR), vstore16(c##i##1 * scale, 0, out + i * NR + 16);
#define UPDATE_S(i)                                     \
    {                                                   \
        const float16 av = (float16)(a[(size_t)(i) * sm]); \
        c##i##0 = fma(av, b0, c##i##0);                 \
        c##i##1 = fma(av, b1, c##i##1);                 \
    }
#define LOAD_B const float16 b0 = vload16(0, b), b1 = vload16(1, b);
#elif NR == 16
#define UPDATE_S(i) c##i##0 = fma((float16)(a[(size_t)(i) * sm]), b0, c##i##0);
#define DECL(i) float16 c##i##0 = (float16)(0.0f);
#define UPDATE(i) c##i##0 = fma((float16)(a[i]), b0, c##i##0);
#define SAVE(i) vstore16(c##i##0 * scale, 0, out + i * NR);
#define LOAD_B const float16 b0 = vload16(0, b);
#else
#error "NR must be 16 or 32"
#endif

__kernel void gemm_packed(const int M, const int N, const int K, const int kbase, const int kslice, const float alpha,
                          __global const float *Ap, __global const float *Bp, const float beta, __global float *C,
                          const ulong c_off, const int ldc, const int period, const int ldp, const int split,
                          __global float *partial, const int sm, const int sk)
{
    const int mb = get_global_id(0), nb = get_global_id(1), ks = get_global_id(2);
    const int m0 = mb * MR, n0 = nb * NR;
    if (m0 >= M || n0 >= N) return;
    const int k0 = kbase + ks * kslice, k1 = min(K, k0 + kslice);
    __global const float *b = Bp + ((size_t)nb * K + k0) * NR;
    ROWS(DECL)
#if A_STRIDED
    /* A read in place: element (m, k) at Ap[m*sm + k*sk] (the host uses this
     * only when MR divides M, so every row read exists). */
    __global const float *a = Ap + (size_t)m0 * sm + (size_t)k0 * sk;
    const size_t step = sk;
    for (int k = k0; k < k1; k++) {
        LOAD_B
        ROWS(UPDATE_S)
        a += step;
        b += NR;
    }
#else
    __global const float *a = Ap + ((size_t)mb * K + k0) * MR;
    for (int k = k0; k < k1; k++) {
        LOAD_B
        ROWS(UPDATE)
        a += MR;
        b += NR;
    }
#endif
    float out[MR * NR];
    const float scale = split ? 1.0f : alpha;
    ROWS(SAVE)
    if (split) {
        /* Split-K: the raw slice sum, row-major M x N per slice. */
        __global float *p = partial + (size_t)ks * M * N;
        for (int i = 0; i < MR && m0 + i < M; i++)
            for (int j = 0; j < NR && n0 + j < N; j++) p[(size_t)(m0 + i) * N + n0 + j] = out[i * NR + j];
        return;
    }
    store_block(M, N, m0, n0, out, beta, C + c_off, ldc, period, ldp);
}

/* C = alpha * (sum of the slices, in ascending order) + beta C. */
__kernel void gemm_reduce(const int M, const int N, const int slices, const float alpha,
                          __global const float *partial, const float beta, __global float *C, const ulong c_off,
                          const int ldc, const int period, const int ldp)
{
    const int n = get_global_id(0), m = get_global_id(1);
    if (n >= N || m >= M) return;
    float s = 0.0f;
    for (int t = 0; t < slices; t++) s += partial[((size_t)t * M + m) * N + n];
    __global float *c = C + c_off + (size_t)m * ldc + (size_t)(n / period) * ldp + n % period;
    const float v = alpha * s;
    *c = beta == 0.0f ? v : v + beta * *c;
}
