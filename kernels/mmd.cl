/* mmd.cl: squared Euclidean distances between rows, for the kernel sums of
 * the relative-similarity MMD test (src/metrics/mmd.c).
 * Inputs: a (rows of d floats, from row a_start), b (b_rows rows of d floats).
 * Output: out[i][j] = sum_k (a[a_start + i][k] - b[j][k])^2 for i < a_rows
 *   (the tile), j < b_rows.
 * Why: the test's sums are O((m + n + r)^2 d) work; the device does the d
 *   part, the host turns each distance into a Gaussian kernel value and
 *   accumulates in double. Differences are squared directly (not |a|^2 + |b|^2
 *   - 2 a.b) so that close rows keep their small distance; four partial sums
 *   shorten float32's accumulation chains. */
__kernel void mmd_squared_distances(const int d, const int a_start, const int a_rows, const int b_rows,
                                    __global const float *a, __global const float *b, __global float *out)
{
    const int j = get_global_id(0), i = get_global_id(1);
    if (j >= b_rows || i >= a_rows) return;
    __global const float *x = a + (size_t)(a_start + i) * d, *y = b + (size_t)j * d;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    int k = 0;
    for (; k + 4 <= d; k += 4) {
        const float e0 = x[k] - y[k], e1 = x[k + 1] - y[k + 1], e2 = x[k + 2] - y[k + 2], e3 = x[k + 3] - y[k + 3];
        s0 += e0 * e0, s1 += e1 * e1, s2 += e2 * e2, s3 += e3 * e3;
    }
    for (; k < d; k++) {
        const float e = x[k] - y[k];
        s0 += e * e;
    }
    out[(size_t)i * b_rows + j] = (s0 + s1) + (s2 + s3);
}
