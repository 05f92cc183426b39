/* The relative-similarity MMD test (perceptcl/mmd.h): squared distances on
 * the device (kernels/mmd.cl), kernel values and sums in double on the host,
 * one tile of rows at a time. */
#include "perceptcl/mmd.h"

#include "runtime/internal.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { TILE_FLOATS = 1 << 22 }; /* 16 MB of distances per launch */

pcl_mmd_options pcl_mmd_options_default(void) { return (pcl_mmd_options){0.0, 1000}; }

/* Receives each tile: rows first .. first + rows - 1 of a against every row of b. */
typedef pcl_status (*tile_visitor)(const float *tile, size_t first, size_t rows, size_t columns, void *user);

static pcl_status for_each_tile(pcl_context *context, size_t d, cl_mem a, size_t a_rows, cl_mem b, size_t b_rows,
                                tile_visitor visit, void *user)
{
    cl_kernel kernel;
    const char *name = "mmd_squared_distances";
    PCL_TRY(pcl_kernel_get(context, "mmd.cl", "", name, &kernel));
    size_t tile_rows = TILE_FLOATS / b_rows ? TILE_FLOATS / b_rows : 1;
    if (tile_rows > a_rows) tile_rows = a_rows;
    cl_mem out = NULL;
    float *host = malloc(tile_rows * b_rows * sizeof *host);
    if (!host) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "mmd: out of memory for a tile of %zu x %zu", tile_rows, b_rows);
    pcl_status status = pcl_buffer_create(context, tile_rows * b_rows * sizeof(float), &out);
    for (size_t first = 0; status == PCL_OK && first < a_rows; first += tile_rows) {
        size_t rows = a_rows - first < tile_rows ? a_rows - first : tile_rows;
        cl_int D = (cl_int)d, start = (cl_int)first, ar = (cl_int)rows, br = (cl_int)b_rows;
        const size_t global[2] = {b_rows, rows};
        status = pcl_kernel_set_args(kernel, name, 7, sizeof D, &D, sizeof start, &start, sizeof ar, &ar, sizeof br,
                                     &br, sizeof a, &a, sizeof b, &b, sizeof out, &out);
        if (status == PCL_OK) status = pcl_kernel_launch(context, kernel, name, 2, global, NULL);
        if (status == PCL_OK) status = pcl_buffer_read(context, out, 0, rows * b_rows * sizeof(float), host);
        if (status == PCL_OK) status = visit(host, first, rows, b_rows, user);
    }
    if (out) pcl_buffer_release(out);
    free(host);
    return status;
}

/* ---- the bandwidth: median of the non-zero cross distances ------------------ */

typedef struct collected {
    double *values;
    size_t count;
} collected;

static pcl_status collect_nonzero(const float *tile, size_t first, size_t rows, size_t columns, void *user)
{
    (void)first;
    collected *c = user;
    for (size_t i = 0; i < rows * columns; i++)
        if (tile[i] != 0.0f) c->values[c->count++] = tile[i];
    return PCL_OK;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* kernelwidthPair: sqrt(median / 2) of the non-zero squared distances, 1 if none. */
static pcl_status width(pcl_context *context, size_t d, cl_mem a, size_t a_rows, cl_mem b, size_t b_rows,
                        double *sigma)
{
    collected c = {malloc(a_rows * b_rows * sizeof(double)), 0};
    if (!c.values) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "mmd: out of memory for %zu distances", a_rows * b_rows);
    pcl_status status = for_each_tile(context, d, a, a_rows, b, b_rows, collect_nonzero, &c);
    if (status == PCL_OK) {
        qsort(c.values, c.count, sizeof *c.values, compare_doubles);
        size_t h = c.count / 2;
        double median = c.count == 0 ? 0.0 : c.count % 2 ? c.values[h] : 0.5 * (c.values[h - 1] + c.values[h]);
        *sigma = median > 0.0 ? sqrt(median / 2.0) : 1.0;
    }
    free(c.values);
    return status;
}

/* ---- kernel sums ------------------------------------------------------------ */

typedef struct kernel_sums {
    double inverse;     /* 1 / (2 sigma^2) */
    int zero_diagonal;  /* a against itself: k(a_i, a_i) left out */
    double *row, *col;  /* per-row and per-column sums, or NULL */
    double total;
} kernel_sums;

static pcl_status add_kernel_values(const float *tile, size_t first, size_t rows, size_t columns, void *user)
{
    kernel_sums *s = user;
    for (size_t i = 0; i < rows; i++) {
        double row = 0.0;
        for (size_t j = 0; j < columns; j++) {
            if (s->zero_diagonal && first + i == j) continue;
            double k = exp(-(double)tile[i * columns + j] * s->inverse);
            row += k;
            if (s->col) s->col[j] += k;
        }
        if (s->row) s->row[first + i] = row;
        s->total += row;
    }
    return PCL_OK;
}

static pcl_status sums(pcl_context *context, size_t d, double sigma, cl_mem a, size_t a_rows, cl_mem b,
                       size_t b_rows, int zero_diagonal, double *row, double *col, double *total)
{
    kernel_sums s = {1.0 / (2.0 * sigma * sigma), zero_diagonal, row, col, 0.0};
    if (col) memset(col, 0, b_rows * sizeof *col);
    PCL_TRY(for_each_tile(context, d, a, a_rows, b, b_rows, add_kernel_values, &s));
    *total = s.total;
    return PCL_OK;
}

static double sum_of_products(const double *a, const double *b, size_t count)
{
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) sum += a[i] * b[i];
    return sum;
}

/* ---- the test --------------------------------------------------------------- */

static pcl_status check_sample(const char *name, const float *values, size_t rows, size_t min_rows, size_t d)
{
    if (!values) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_mmd_relative_similarity: sample %s is NULL", name);
    if (rows < min_rows)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_mmd_relative_similarity: sample %s has %zu rows, needs >= %zu",
                        name, rows, min_rows);
    if (rows > INT_MAX || rows > SIZE_MAX / sizeof(float) / d)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_mmd_relative_similarity: sample %s: %zu rows of %zu too many",
                        name, rows, d);
    for (size_t i = 0; i < rows * d; i++)
        if (!isfinite(values[i]))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_mmd_relative_similarity: sample %s row %zu column %zu is %g",
                            name, i / d, i % d, (double)values[i]);
    return PCL_OK;
}

static pcl_status upload(pcl_context *context, const float *values, size_t rows, size_t d, cl_mem *mem)
{
    PCL_TRY(pcl_buffer_create(context, rows * d * sizeof(float), mem));
    return pcl_buffer_write(context, *mem, 0, rows * d * sizeof(float), values);
}

/* Everything but the device buffers: the row and column sums. */
typedef struct test_sums {
    double *ry, *rz, *axy, *axz, *bxy, *bxz;
    double xx, yy, zz, xy, xz;
} test_sums;

static pcl_status all_sums(pcl_context *context, size_t d, double sigma, cl_mem x, size_t m, cl_mem y, size_t n,
                           cl_mem z, size_t r, test_sums *s)
{
    PCL_TRY(sums(context, d, sigma, x, m, x, m, 1, NULL, NULL, &s->xx));
    PCL_TRY(sums(context, d, sigma, y, n, y, n, 1, s->ry, NULL, &s->yy));
    PCL_TRY(sums(context, d, sigma, z, r, z, r, 1, s->rz, NULL, &s->zz));
    PCL_TRY(sums(context, d, sigma, x, m, y, n, 0, s->axy, s->bxy, &s->xy));
    return sums(context, d, sigma, x, m, z, r, 0, s->axz, s->bxz, &s->xz);
}

/* MMD_3_Sample_Test and MMD_Diff_Var from the sums (mmd.h, EXPERIMENTS.md sec. 1). */
static pcl_status finish(const test_sums *s, double m, double n, double r, pcl_mmd_result *out)
{
    const double u_xx = s->xx / (m * (m - 1)), u_yy = s->yy / (n * (n - 1)), u_zz = s->zz / (r * (r - 1));
    const double u_xy = s->xy / (m * n), u_xz = s->xz / (m * r);
    const size_t M = (size_t)m, N = (size_t)n, R = (size_t)r;
    const double t1 = sum_of_products(s->ry, s->ry, N) / (n * n * n) - u_yy * u_yy;
    const double t2 = sum_of_products(s->axy, s->axy, M) / (n * n * m) - u_xy * u_xy;
    const double t3 = sum_of_products(s->bxy, s->bxy, N) / (n * m * m) - u_xy * u_xy;
    const double t4 = sum_of_products(s->rz, s->rz, R) / (r * r * r) - u_zz * u_zz;
    const double t5 = sum_of_products(s->bxz, s->bxz, R) / (r * m * m) - u_xz * u_xz;
    const double t6 = sum_of_products(s->axz, s->axz, M) / (r * r * m) - u_xz * u_xz;
    const double t7 = sum_of_products(s->ry, s->bxy, N) / (n * n * m) - u_yy * u_xy;
    const double t8 = sum_of_products(s->axy, s->axz, M) / (n * m * r) - u_xy * u_xz;
    const double t9 = sum_of_products(s->rz, s->bxz, R) / (r * r * m) - u_zz * u_xz;
    const double zeta1 = t1 + t2 + t3 + t4 + t5 + t6 - 2.0 * (t7 + t8 + t9);
    const double variance = 4.0 * (m - 2) / (m * (m - 1)) * zeta1;
    const double t = u_yy - 2.0 * u_xy - u_zz + 2.0 * u_xz;
    out->mmd2_xy = u_xx + u_yy - 2.0 * u_xy;
    out->mmd2_xz = u_xx + u_zz - 2.0 * u_xz;
    out->t = t;
    out->variance = variance;
    out->statistic = out->p_value = 0.0;
    if (!(variance > 0.0))
        return pcl_fail(PCL_ERR_UNDEFINED,
                        "pcl_mmd_relative_similarity: the variance of the statistic is %g (not positive: too few or "
                        "too alike rows for the estimate; t = %g)",
                        variance, t);
    out->statistic = t / sqrt(variance);
    out->p_value = 0.5 * erfc(t / sqrt(2.0 * variance));
    return PCL_OK;
}

pcl_status pcl_mmd_relative_similarity(pcl_context *context, const float *x, size_t m, const float *y, size_t n,
                                       const float *z, size_t r, size_t d, const pcl_mmd_options *options,
                                       pcl_mmd_result *result)
{
    if (!context || !result) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_mmd_relative_similarity: NULL argument");
    if (d < 1 || d > INT_MAX)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_mmd_relative_similarity: %zu values per row", d);
    PCL_TRY(check_sample("x", x, m, 3, d));
    PCL_TRY(check_sample("y", y, n, 2, d));
    PCL_TRY(check_sample("z", z, r, 2, d));
    pcl_mmd_options o = options ? *options : pcl_mmd_options_default();
    if (!isfinite(o.sigma) || (o.sigma <= 0.0 && o.median_rows < 1))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_mmd_relative_similarity: sigma %g, median rows %zu", o.sigma,
                        o.median_rows);
    cl_mem mx = NULL, my = NULL, mz = NULL;
    test_sums s = {malloc(n * sizeof(double)), malloc(r * sizeof(double)), malloc(m * sizeof(double)),
                   malloc(m * sizeof(double)), malloc(n * sizeof(double)), malloc(r * sizeof(double)), 0, 0, 0, 0, 0};
    pcl_status status = s.ry && s.rz && s.axy && s.axz && s.bxy && s.bxz
                            ? PCL_OK
                            : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_mmd_relative_similarity: out of memory");
    if (status == PCL_OK) status = upload(context, x, m, d, &mx);
    if (status == PCL_OK) status = upload(context, y, n, d, &my);
    if (status == PCL_OK) status = upload(context, z, r, d, &mz);
    pcl_mmd_result out = {0};
    out.sigma = o.sigma;
    if (status == PCL_OK && o.sigma <= 0.0) {
        /* The reference takes siz = min(1000, |X|) rows of X and "up to siz" of Y and Z. */
        size_t rows = m < o.median_rows ? m : o.median_rows;
        double sigma_xy = 0.0, sigma_xz = 0.0;
        status = width(context, d, mx, rows, my, n < rows ? n : rows, &sigma_xy);
        if (status == PCL_OK) status = width(context, d, mx, rows, mz, r < rows ? r : rows, &sigma_xz);
        out.sigma = 0.5 * (sigma_xy + sigma_xz);
    }
    if (status == PCL_OK) status = all_sums(context, d, out.sigma, mx, m, my, n, mz, r, &s);
    if (status == PCL_OK) {
        status = finish(&s, (double)m, (double)n, (double)r, &out);
        if (status == PCL_OK || status == PCL_ERR_UNDEFINED) *result = out;
    }
    cl_mem buffers[3] = {mx, my, mz};
    for (int i = 0; i < 3; i++)
        if (buffers[i]) pcl_buffer_release(buffers[i]);
    free(s.ry), free(s.rz), free(s.axy), free(s.axz), free(s.bxy), free(s.bxz);
    return status;
}
