/* perceptcl: the relative-similarity test of Bounliphone et al. (ICLR 2016,
 * arXiv 1511.04581) with the unbiased squared MMD: is sample Y or sample Z
 * closer to a reference sample X? The EL-VAE experiment (Snell et al. 2017,
 * sec. 4.1) picks its loss weight C with it. Formulas:
 * ../shared/docs/EXPERIMENTS.md sec. 1, after the authors' mmd.py
 * (MMD_3_Sample_Test, MMD_Diff_Var, grbf, kernelwidthPair).
 *
 *   pcl_mmd_options o = pcl_mmd_options_default();      (median-heuristic bandwidth)
 *   pcl_mmd_result r;
 *   pcl_mmd_relative_similarity(context, x, m, y, n, z, r_count, d, &o, &r);
 *   r.p_value < 0.05: Z is significantly closer to X than Y is.
 *
 * Samples are row-major float arrays (rows of d values: a flattened image).
 * Kernel k(a, b) = exp(-|a - b|^2 / (2 sigma^2)). The squared distances are
 * computed on the device in float32 (direct differences); each kernel value
 * and every sum are then taken in double on the host, in O(m + n + r)
 * memory (rows and columns of the kernel matrices are summed as they
 * arrive, one tile at a time; no matrix is kept).
 *
 * U-statistics (K_yy, K_zz, K_xx without their diagonals):
 *   u_xx = sum_{i != i'} k(x_i, x_i') / (m (m - 1)), u_yy, u_zz likewise,
 *   u_xy = sum_{i, j} k(x_i, y_j) / (m n),  u_xz likewise;
 *   MMD_u^2(X, Y) = u_xx + u_yy - 2 u_xy, MMD_u^2(X, Z) likewise;
 *   t = MMD_u^2(X, Y) - MMD_u^2(X, Z);
 *   Var(t) = 4 (m - 2) / (m (m - 1)) * zeta1 (MMD_Diff_Var, from the row and
 *   column sums); statistic = t / sqrt(Var); p = 0.5 erfc(t / sqrt(2 Var)):
 *   the probability, under "Y is at least as close to X as Z", of a t this
 *   large. A small p prefers Z, a p near 1 prefers Y.
 *
 * Bandwidth (options.sigma <= 0): the median heuristic of the reference
 * code: sigma_XY = sqrt(median of the non-zero |x_i - y_j|^2 / 2) over the
 * first min(median_rows, m) rows of X and as many of Y (the average of the
 * two middle values for an even count; 1 when every distance is 0),
 * sigma_XZ likewise, sigma = (sigma_XY + sigma_XZ) / 2. */
#ifndef PERCEPTCL_MMD_H
#define PERCEPTCL_MMD_H

#include "perceptcl/device.h"
#include "perceptcl/export.h"
#include "perceptcl/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_mmd_options {
    double sigma;      /* > 0: this bandwidth; <= 0: the median heuristic (default) */
    size_t median_rows; /* rows of each sample the heuristic looks at (default 1000, as the reference) */
} pcl_mmd_options;

PCL_API pcl_mmd_options pcl_mmd_options_default(void);

typedef struct pcl_mmd_result {
    double sigma;            /* the bandwidth used */
    double mmd2_xy, mmd2_xz; /* unbiased squared MMDs of Y and of Z to X */
    double t;                /* mmd2_xy - mmd2_xz */
    double variance;         /* Var(t), > 0 */
    double statistic;        /* t / sqrt(variance) */
    double p_value;          /* 0.5 erfc(t / sqrt(2 variance)) */
} pcl_mmd_result;

/* The test for x (m rows), y (n rows), z (r rows) of d values each: m >= 3,
 * n, r >= 2, d >= 1, every value finite (a NaN or infinity fails naming the
 * sample, row and column). A variance that comes out zero or negative (too
 * few or too similar rows: estimation noise; e.g. Y and Z each one image
 * repeated, as from two collapsed VAEs) fails with PCL_ERR_UNDEFINED naming
 * it, never a NaN: result then holds sigma, the two MMD^2 (defined), t and
 * the variance, with statistic and p_value 0 (no test). On other failures
 * result is not written. */
PCL_API pcl_status pcl_mmd_relative_similarity(pcl_context *context, const float *x, size_t m, const float *y,
                                               size_t n, const float *z, size_t r, size_t d,
                                               const pcl_mmd_options *options, pcl_mmd_result *result);

#ifdef __cplusplus
}
#endif
#endif
