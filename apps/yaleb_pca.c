/* PCA of the pixel baseline (yaleb.h): subspace iteration with a few extra
 * vectors, then Rayleigh-Ritz with a cyclic Jacobi eigensolver on the small
 * projected matrix. No LAPACK: the 2,414 x 2,304 case takes seconds. */
#include "yaleb.h"

#include "perceptcl/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXTRA = 8, ITERATIONS = 40 };

/* Modified Gram-Schmidt on the m columns of q (dims x m, column-major). */
static void orthonormalise(double *q, int dims, int m)
{
    for (int j = 0; j < m; j++) {
        double *v = q + (size_t)j * dims;
        for (int pass = 0; pass < 2; pass++) /* twice: "twice is enough" (Kahan) */
            for (int i = 0; i < j; i++) {
                const double *u = q + (size_t)i * dims;
                double dot = 0;
                for (int d = 0; d < dims; d++) dot += u[d] * v[d];
                for (int d = 0; d < dims; d++) v[d] -= dot * u[d];
            }
        double norm = 0;
        for (int d = 0; d < dims; d++) norm += v[d] * v[d];
        norm = sqrt(norm);
        for (int d = 0; d < dims; d++) v[d] = norm > 0 ? v[d] / norm : (d == j % dims);
    }
}

/* Eigen-decomposition of the symmetric m x m matrix a (destroyed): values
 * on the diagonal of a, vectors in the columns of v (row-major m x m). */
static void jacobi(double *a, double *v, int m)
{
    for (int i = 0; i < m * m; i++) v[i] = (i / m == i % m);
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, total = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) *(i == j ? &total : &off) += a[i * m + j] * a[i * m + j];
        if (off <= 1e-30 * (total + off)) return;
        for (int p = 0; p < m; p++)
            for (int q = p + 1; q < m; q++) {
                double apq = a[p * m + q];
                if (apq == 0) continue;
                double theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < m; k++) { /* columns p, q */
                    double akp = a[k * m + p], akq = a[k * m + q];
                    a[k * m + p] = c * akp - s * akq, a[k * m + q] = s * akp + c * akq;
                }
                for (int k = 0; k < m; k++) { /* rows p, q */
                    double apk = a[p * m + k], aqk = a[q * m + k];
                    a[p * m + k] = c * apk - s * aqk, a[q * m + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < m; k++) {
                    double vkp = v[k * m + p], vkq = v[k * m + q];
                    v[k * m + p] = c * vkp - s * vkq, v[k * m + q] = s * vkp + c * vkq;
                }
            }
    }
}

/* z (dims x m) = X^T X q for centred X (n x dims). */
static void gram_times(const double *x, const double *mean, size_t n, int dims, const double *q, int m, double *z,
                       double *projection)
{
    memset(z, 0, (size_t)dims * m * sizeof *z);
    for (size_t r = 0; r < n; r++) {
        const double *row = x + r * (size_t)dims;
        for (int j = 0; j < m; j++) {
            const double *u = q + (size_t)j * dims;
            double dot = 0;
            for (int d = 0; d < dims; d++) dot += (row[d] - mean[d]) * u[d];
            projection[j] = dot;
        }
        for (int j = 0; j < m; j++) {
            double *w = z + (size_t)j * dims;
            for (int d = 0; d < dims; d++) w[d] += projection[j] * (row[d] - mean[d]);
        }
    }
}

int yaleb_pca(const double *x, size_t n, int dims, int k, uint64_t seed, double *out, double *variances,
              char *error, size_t error_size)
{
    if (k < 1 || k > dims || n < 2) {
        snprintf(error, error_size, "pca: %d components of %d features from %zu rows is not possible", k, dims, n);
        return 1;
    }
    int m = k + EXTRA < dims ? k + EXTRA : dims;
    double *mean = calloc((size_t)dims, sizeof *mean), *q = malloc((size_t)dims * m * sizeof *q);
    double *z = malloc((size_t)dims * m * sizeof *z), *small = malloc((size_t)m * m * sizeof *small);
    double *vectors = malloc((size_t)m * m * sizeof *vectors), *projection = malloc((size_t)m * sizeof *projection);
    int *order = malloc((size_t)m * sizeof *order);
    if (!mean || !q || !z || !small || !vectors || !projection || !order) {
        free(mean), free(q), free(z), free(small), free(vectors), free(projection), free(order);
        snprintf(error, error_size, "pca: out of memory for %zu rows of %d features", n, dims);
        return 1;
    }
    for (size_t r = 0; r < n; r++)
        for (int d = 0; d < dims; d++) mean[d] += x[r * (size_t)dims + d] / (double)n;
    for (size_t i = 0; i < (size_t)dims * m; i++) q[i] = (double)(pcl_rng_next(&seed) >> 11) * 0x1p-53 - 0.5;
    orthonormalise(q, dims, m);
    for (int it = 0; it < ITERATIONS; it++) {
        gram_times(x, mean, n, dims, q, m, z, projection);
        memcpy(q, z, (size_t)dims * m * sizeof *q);
        orthonormalise(q, dims, m);
    }
    /* Rayleigh-Ritz: small = Q^T (X^T X) Q / (n - 1), the covariance in the subspace. */
    gram_times(x, mean, n, dims, q, m, z, projection);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            double dot = 0;
            for (int d = 0; d < dims; d++) dot += q[(size_t)i * dims + d] * z[(size_t)j * dims + d];
            small[i * m + j] = dot / (double)(n - 1);
        }
    for (int i = 0; i < m; i++) /* symmetric up to rounding: make it exactly so */
        for (int j = i + 1; j < m; j++) small[i * m + j] = small[j * m + i] = (small[i * m + j] + small[j * m + i]) / 2;
    jacobi(small, vectors, m);
    for (int i = 0; i < m; i++) order[i] = i;
    for (int i = 1; i < m; i++) /* descending eigenvalues (insertion sort, m is small) */
        for (int j = i; j > 0 && small[order[j] * m + order[j]] > small[order[j - 1] * m + order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    /* Component c = Q v_c, its sign fixed so its largest entry is positive. */
    for (int c = 0; c < k; c++) {
        double *u = z + (size_t)c * dims, largest = 0;
        for (int d = 0; d < dims; d++) {
            u[d] = 0;
            for (int i = 0; i < m; i++) u[d] += q[(size_t)i * dims + d] * vectors[i * m + order[c]];
            if (fabs(u[d]) > fabs(largest)) largest = u[d];
        }
        if (largest < 0)
            for (int d = 0; d < dims; d++) u[d] = -u[d];
        variances[c] = small[order[c] * m + order[c]];
    }
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < k; c++) {
            double dot = 0;
            for (int d = 0; d < dims; d++) dot += (x[r * (size_t)dims + d] - mean[d]) * z[(size_t)c * dims + d];
            out[r * (size_t)k + c] = dot;
        }
    free(mean), free(q), free(z), free(small), free(vectors), free(projection), free(order);
    return 0;
}
