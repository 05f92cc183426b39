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
 *   any m, n, k work; the k reduction runs in ascending order (deterministic). */
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

/* gemm_rows: the CPU-device variant (no local memory). Each item computes
 * RM rows x 16 columns of C with float16 accumulators: one 16-wide load of B
 * per k, broadcast scalars of A; B must not be transposed (the host
 * transposes it first). Columns past n use a bounds-checked tail. Same
 * ascending-k order as gemm. */
#ifndef RM
#define RM 4
#endif
#ifndef NDIM
#define NDIM 0 /* which NDRange dimension walks the columns */
#endif
__kernel void gemm_rows(const int M, const int N, const int K, const float alpha,
                        __global const float *A, const ulong a_off, const int lda,
                        __global const float *B, const ulong b_off, const int ldb,
                        const float beta, __global float *C, const ulong c_off, const int ldc)
{
    A += a_off;
    B += b_off;
    C += c_off;
    const int n0 = get_global_id(NDIM) * 16, m0 = get_global_id(1 - NDIM) * RM;
    if (n0 >= N || m0 >= M) return;
    float16 acc[RM];
    for (int i = 0; i < RM; i++) acc[i] = (float16)(0.0f);
    int rows[RM];
    for (int i = 0; i < RM; i++) rows[i] = min(m0 + i, M - 1); /* clamp: extra rows computed, not stored */
    if (n0 + 16 <= N) {
        for (int k = 0; k < K; k++) {
            const float16 b = vload16(0, B + (size_t)k * ldb + n0);
            for (int i = 0; i < RM; i++) {
#if TRANS_A
                const float a = A[(size_t)k * lda + rows[i]];
#else
                const float a = A[(size_t)rows[i] * lda + k];
#endif
                acc[i] = mad((float16)(a), b, acc[i]);
            }
        }
    } else {
        for (int k = 0; k < K; k++) {
            float bv[16];
            for (int j = 0; j < 16; j++) bv[j] = n0 + j < N ? B[(size_t)k * ldb + n0 + j] : 0.0f;
            const float16 b = vload16(0, bv);
            for (int i = 0; i < RM; i++) {
#if TRANS_A
                const float a = A[(size_t)k * lda + rows[i]];
#else
                const float a = A[(size_t)rows[i] * lda + k];
#endif
                acc[i] = mad((float16)(a), b, acc[i]);
            }
        }
    }
    for (int i = 0; i < RM; i++) {
        if (m0 + i >= M) break;
        float out[16];
        vstore16(acc[i] * alpha, 0, out);
        for (int j = 0; j < 16 && n0 + j < N; j++) {
            __global float *c = C + (size_t)(m0 + i) * ldc + n0 + j;
            *c = beta == 0.0f ? out[j] : out[j] + beta * *c;
        }
    }
}

/* transpose: dst (cols x rows) = src (rows x cols, row stride ld)^T, so that
 * gemm_rows can read a transposed B row by row. */
__kernel void transpose(const int rows, const int cols, __global const float *src, const ulong src_off,
                        const int ld, __global float *dst)
{
    const int c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows) return;
    dst[(size_t)c * rows + r] = src[src_off + (size_t)r * ld + c];
}
