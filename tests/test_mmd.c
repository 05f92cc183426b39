/* The relative-similarity MMD test (perceptcl/mmd.h) against: values of an
 * independent transcription of the authors' mmd.py on a tiny set (computed
 * in Python doubles, the script in the comment); a float64 C reference in
 * matrix form (the reference code's expressions, full kernel matrices and
 * their products) on random sets; direct double sums across many tiles;
 * samples from the reference distribution against shifted ones; and the
 * refusals (too few rows, a NaN, a variance that is not positive); the
 * perceptcl mmd command. Built with PCL_TEST_SMALL for the oclgrind suite:
 * all but the many-tile and command tests. */
#include "perceptcl/image.h"
#include "perceptcl/mmd.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h" /* pcl_random_uniform */

#include "check_run.h"
#include "json_get.h"
#include "run_perceptcl.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pcl_context *context;

/* ---- float64 reference in the reference code's matrix form --------------- */

static double sq_distance(const float *a, const float *b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* kernelwidthPair on the first rows of a and b. */
static double ref_width(const float *a, int na, const float *b, int nb, int d)
{
    double *h = malloc((size_t)na * nb * sizeof *h);
    int count = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            double v = sq_distance(a + (size_t)i * d, b + (size_t)j * d, d);
            if (v != 0) h[count++] = v;
        }
    qsort(h, (size_t)count, sizeof *h, compare);
    double median = count == 0 ? 0 : count % 2 ? h[count / 2] : 0.5 * (h[count / 2 - 1] + h[count / 2]);
    free(h);
    return median > 0 ? sqrt(median / 2) : 1.0;
}

/* grbf: the kernel matrix (rows of a by rows of b), diagonal zeroed if asked. */
static double *ref_kernel(const float *a, int na, const float *b, int nb, int d, double sigma, int zero_diagonal)
{
    double *k = malloc((size_t)na * nb * sizeof *k);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            k[i * nb + j] = zero_diagonal && i == j ? 0
                                                    : exp(-sq_distance(a + (size_t)i * d, b + (size_t)j * d, d) /
                                                          (2 * sigma * sigma));
    return k;
}

static double total(const double *k, int rows, int cols)
{
    double s = 0;
    for (int i = 0; i < rows * cols; i++) s += k[i];
    return s;
}

/* sum of the entries of op(A) op(B), op a transpose when asked; A is ar x ac. */
static double product_total(const double *A, int ar, int ac, int ta, const double *B, int br, int bc, int tb)
{
    int rows = ta ? ac : ar, inner = ta ? ar : ac, cols = tb ? br : bc;
    ck_assert_int_eq(inner, tb ? bc : br);
    double s = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            for (int q = 0; q < inner; q++)
                s += (ta ? A[q * ac + i] : A[i * ac + q]) * (tb ? B[j * bc + q] : B[q * bc + j]);
    return s;
}

typedef struct reference {
    double sigma, mmd2_xy, mmd2_xz, t, variance, scale;
} reference;

static reference ref_test(const float *x, int m, const float *y, int n, const float *z, int r, int d, double sigma)
{
    reference out;
    if (sigma <= 0) {
        int siz = m < 1000 ? m : 1000;
        sigma = (ref_width(x, siz, y, n < siz ? n : siz, d) + ref_width(x, siz, z, r < siz ? r : siz, d)) / 2;
    }
    double *Kyy = ref_kernel(y, n, y, n, d, sigma, 1), *Kzz = ref_kernel(z, r, z, r, d, sigma, 1);
    double *Kxy = ref_kernel(x, m, y, n, d, sigma, 0), *Kxz = ref_kernel(x, m, z, r, d, sigma, 0);
    double *Kxx = ref_kernel(x, m, x, m, d, sigma, 1);
    double u_yy = total(Kyy, n, n) / (n * (n - 1.0)), u_zz = total(Kzz, r, r) / (r * (r - 1.0));
    double u_xy = total(Kxy, m, n) / ((double)m * n), u_xz = total(Kxz, m, r) / ((double)m * r);
    double u_xx = total(Kxx, m, m) / (m * (m - 1.0));
    double M = m, N = n, R = r;
    double t1 = product_total(Kyy, n, n, 1, Kyy, n, n, 0) / (N * N * N) - u_yy * u_yy;
    double t2 = product_total(Kxy, m, n, 1, Kxy, m, n, 0) / (N * N * M) - u_xy * u_xy;
    double t3 = product_total(Kxy, m, n, 0, Kxy, m, n, 1) / (N * M * M) - u_xy * u_xy;
    double t4 = product_total(Kzz, r, r, 1, Kzz, r, r, 0) / (R * R * R) - u_zz * u_zz;
    double t5 = product_total(Kxz, m, r, 0, Kxz, m, r, 1) / (R * M * M) - u_xz * u_xz;
    double t6 = product_total(Kxz, m, r, 1, Kxz, m, r, 0) / (R * R * M) - u_xz * u_xz;
    double t7 = product_total(Kyy, n, n, 0, Kxy, m, n, 1) / (N * N * M) - u_yy * u_xy;
    double t8 = product_total(Kxy, m, n, 1, Kxz, m, r, 0) / (N * M * R) - u_xz * u_xy;
    double t9 = product_total(Kzz, r, r, 0, Kxz, m, r, 1) / (R * R * M) - u_zz * u_xz;
    double zeta1 = t1 + t2 + t3 + t4 + t5 + t6 - 2 * (t7 + t8 + t9);
    out.sigma = sigma;
    out.variance = 4.0 * (m - 2) / (M * (m - 1)) * zeta1;
    out.mmd2_xy = u_xx + u_yy - 2 * u_xy;
    out.mmd2_xz = u_xx + u_zz - 2 * u_xz;
    out.t = u_yy - 2 * u_xy - u_zz + 2 * u_xz;
    /* The size of the products zeta1 is made of (each term is a mean of
     * products of kernel values minus a product of means): the scale of its
     * float32 error below. */
    out.scale = 4.0 * (m - 2) / (M * (m - 1)) * 16 * pow(fmax(fmax(u_yy, u_zz), fmax(u_xy, u_xz)), 2);
    free(Kyy), free(Kzz), free(Kxy), free(Kxz), free(Kxx);
    return out;
}

static float *gaussian(int rows, int d, double shift, uint64_t seed)
{
    float *v = malloc((size_t)rows * d * sizeof *v);
    uint64_t state = seed;
    for (int i = 0; i < rows * d; i++) {
        /* Box-Muller from the project's generator. */
        double u1 = pcl_random_uniform(&state), u2 = pcl_random_uniform(&state);
        v[i] = (float)(shift + sqrt(-2 * log(1 - u1)) * cos(2 * M_PI * u2));
    }
    return v;
}

/* ---- tests ------------------------------------------------------------------ */

/* 2-D points; the values from tests/mmd_reference.py, a transcription of
 * mmd.py in plain Python doubles (MMD_3_Sample_Test, computeMMDs=True):
 *   X = [[0,0],[1,0],[0,2],[1,1]], Y = [[.5,0],[1,2],[0,1]], Z = [[3,0],[2,2],[0,3],[2.5,1]]
 *   sigma = 1:  MMD^2(X,Y) = -0.3043755106678423, MMD^2(X,Z) = 0.30346220018480824,
 *               t = -0.6078377108526505, Var = 0.047605971491647844, p = 0.9973305790114217
 *   median:     sigma = 1.1441228056353687, t = -0.6027437371769439,
 *               Var = 0.055788234152768935, p = 0.9946429332609155
 * Every coordinate and squared distance is exact in float32, so the device's
 * distances are exact and only double rounding remains: 1e-12. */
START_TEST(tiny_set_matches_the_reference_code)
{
    const float x[] = {0, 0, 1, 0, 0, 2, 1, 1}, y[] = {0.5f, 0, 1, 2, 0, 1}, z[] = {3, 0, 2, 2, 0, 3, 2.5f, 1};
    pcl_mmd_options o = pcl_mmd_options_default();
    o.sigma = 1.0;
    pcl_mmd_result r;
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, 4, y, 3, z, 4, 2, &o, &r), PCL_OK);
    ck_assert_double_eq_tol(r.mmd2_xy, -0.3043755106678423, 1e-12);
    ck_assert_double_eq_tol(r.mmd2_xz, 0.30346220018480824, 1e-12);
    ck_assert_double_eq_tol(r.t, -0.6078377108526505, 1e-12);
    ck_assert_double_eq_tol(r.variance, 0.047605971491647844, 1e-12);
    ck_assert_double_eq_tol(r.statistic, -2.785844841144306, 1e-10);
    ck_assert_double_eq_tol(r.p_value, 0.9973305790114217, 1e-12);
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, 4, y, 3, z, 4, 2, NULL, &r), PCL_OK);
    ck_assert_double_eq_tol(r.sigma, 1.1441228056353687, 1e-12);
    ck_assert_double_eq_tol(r.t, -0.6027437371769439, 1e-12);
    ck_assert_double_eq_tol(r.variance, 0.055788234152768935, 1e-12);
    ck_assert_double_eq_tol(r.p_value, 0.9946429332609155, 1e-12);
}
END_TEST

/* Random sets against the float64 matrix-form reference. Tolerances from
 * float32: a distance of d = 50 squared differences carries a relative error
 * below (d + 3) 2^-24 < 4e-6, so each kernel value one below 4e-6 D / (2
 * sigma^2) < 4e-5 (D / 2 sigma^2 < 10 here), and so do the U-statistics
 * (means of kernel values <= 1): t and the MMDs within 2e-4; zeta1's terms
 * are products of two such means, its error within 2 x 4e-5 of the scale. */
START_TEST(random_sets_match_the_float64_reference)
{
    const int m = 40, n = 30, r = 35, d = 50;
    float *x = gaussian(m, d, 0, 1), *y = gaussian(n, d, 0.1, 2), *z = gaussian(r, d, 0.3, 3);
    for (int pass = 0; pass < 2; pass++) {
        pcl_mmd_options o = pcl_mmd_options_default();
        o.sigma = pass ? 7.5 : 0.0;
        reference want = ref_test(x, m, y, n, z, r, d, o.sigma);
        pcl_mmd_result got;
        ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, m, y, n, z, r, d, &o, &got), PCL_OK);
        ck_assert_double_eq_tol(got.sigma, want.sigma, 4e-6 * want.sigma);
        ck_assert_double_eq_tol(got.mmd2_xy, want.mmd2_xy, 2e-4);
        ck_assert_double_eq_tol(got.mmd2_xz, want.mmd2_xz, 2e-4);
        ck_assert_double_eq_tol(got.t, want.t, 2e-4);
        ck_assert_msg(want.variance > 0 && fabs(got.variance - want.variance) <= 8e-5 * want.scale,
                      "variance %g, reference %g (scale %g)", got.variance, want.variance, want.scale);
        double statistic = want.t / sqrt(want.variance);
        ck_assert_double_eq_tol(got.statistic, statistic, 1e-2 * fmax(1, fabs(statistic)));
        ck_assert(isfinite(got.p_value) && got.p_value >= 0 && got.p_value <= 1);
        ck_assert_double_eq_tol(got.p_value, 0.5 * erfc(statistic / sqrt(2)), 5e-3);
    }
    free(x), free(y), free(z);
}
END_TEST

/* X of 4,200 rows against 1,000-row Y and Z, d = 1: X against itself takes
 * five tiles of the device's 2^22 distances (998 rows each), X against Y two
 * (4,194 rows, then 6): compared with direct double sums. */
START_TEST(many_tiles_sum_as_one)
{
    const int m = 4200, n = 1000, r = 1000;
    float *x = gaussian(m, 1, 0, 4), *y = gaussian(n, 1, 0, 5), *z = gaussian(r, 1, 1, 6);
    pcl_mmd_options o = pcl_mmd_options_default();
    o.sigma = 0.8;
    pcl_mmd_result got;
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, m, y, n, z, r, 1, &o, &got), PCL_OK);
    const double inverse = 1 / (2 * 0.8 * 0.8);
    double xx = 0, yy = 0, xy = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            if (i != j) xx += exp(-pow((double)x[i] - x[j], 2) * inverse);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j) yy += exp(-pow((double)y[i] - y[j], 2) * inverse);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) xy += exp(-pow((double)x[i] - y[j], 2) * inverse);
    double mmd2_xy = xx / ((double)m * (m - 1)) + yy / ((double)n * (n - 1)) - 2 * xy / ((double)m * n);
    /* d = 1: one squared difference, relative error 2^-24: far below 1e-6. */
    ck_assert_double_eq_tol(got.mmd2_xy, mmd2_xy, 1e-6);
    ck_assert_msg(got.p_value > 0.99, "p %g: Y is the reference's distribution, Z is shifted by 1", got.p_value);
    free(x), free(y), free(z);
}
END_TEST

/* A sample of the reference's distribution is preferred to a shifted one,
 * whichever place it takes. */
START_TEST(the_same_distribution_beats_a_shifted_one)
{
    const int rows = 150, d = 8;
    float *x = gaussian(rows, d, 0, 11), *same = gaussian(rows, d, 0, 12), *shifted = gaussian(rows, d, 0.6, 13);
    pcl_mmd_result a, b;
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, rows, same, rows, shifted, rows, d, NULL, &a), PCL_OK);
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, rows, shifted, rows, same, rows, d, NULL, &b), PCL_OK);
    ck_assert_msg(a.mmd2_xy < a.mmd2_xz && a.t < 0 && a.p_value > 0.99, "t %g p %g", a.t, a.p_value);
    ck_assert_msg(b.t > 0 && b.p_value < 0.01, "swapped: t %g p %g", b.t, b.p_value);
    ck_assert_double_eq_tol(a.t, -b.t, 1e-12);
    free(x), free(same), free(shifted);
}
END_TEST

START_TEST(refusals_name_the_problem)
{
    const float x[] = {1, 0, 2}, y[] = {0, 3}, z[] = {3, 3};
    pcl_mmd_options o = pcl_mmd_options_default();
    o.sigma = 1.0;
    pcl_mmd_result r = {.p_value = 42};
    /* X = {1, 0, 2}, Y = {0, 3}, Z = {3, 3}, sigma 1: the reference code's Var is -0.2507. The
     * two MMD^2 are still given (the U-statistics summed in double below), the test is not. */
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, 3, y, 2, z, 2, 1, &o, &r), PCL_ERR_UNDEFINED);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "not positive"));
    {
        double kxx = 0, kyy = 0, kzz = 0, kxy = 0, kxz = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                if (i != j) kxx += exp(-(x[i] - x[j]) * (x[i] - x[j]) / 2.0);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                if (i != j) kyy += exp(-(y[i] - y[j]) * (y[i] - y[j]) / 2.0);
                if (i != j) kzz += exp(-(z[i] - z[j]) * (z[i] - z[j]) / 2.0);
            }
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) {
                kxy += exp(-(x[i] - y[j]) * (x[i] - y[j]) / 2.0);
                kxz += exp(-(x[i] - z[j]) * (x[i] - z[j]) / 2.0);
            }
        ck_assert_double_eq_tol(r.mmd2_xy, kxx / 6 + kyy / 2 - 2 * kxy / 6, 1e-6);
        ck_assert_double_eq_tol(r.mmd2_xz, kxx / 6 + kzz / 2 - 2 * kxz / 6, 1e-6);
        ck_assert_double_eq_tol(r.variance, -0.2507, 1e-4);
        ck_assert(r.statistic == 0 && r.p_value == 0 && r.sigma == 1.0);
    }
    r.p_value = 42;
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, 2, y, 2, z, 2, 1, &o, &r), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "sample x has 2 rows, needs >= 3"));
    const float bad[] = {0, 1, 2, NAN, 4, 5};
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, 3, bad, 6, z, 2, 1, &o, &r), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "sample y row 3 column 0"));
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, x, 3, y, 2, z, 2, 0, &o, &r), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_double_eq(r.p_value, 42);
}
END_TEST

/* Writes count 3 x 2 gray PNGs of seeded noise (values 0..255 - shift, plus shift). */
static void write_folder(const char *dir, int count, int shift, uint64_t seed, float *rows)
{
    enum { W = 3, H = 2 };
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    uint64_t state = seed;
    for (int i = 0; i < count; i++) {
        pcl_image *image = NULL;
        ck_assert_int_eq(pcl_image_create(&image, W, H, 1), PCL_OK);
        for (int p = 0; p < W * H; p++) {
            image->data[p] = (float)(shift + pcl_rng_below(&state, (uint64_t)(256 - shift)));
            rows[i * W * H + p] = (float)(image->data[p] / 255.0);
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%03d.png", dir, i);
        ck_assert_int_eq(pcl_image_write_png(path, image), PCL_OK);
        pcl_image_destroy(image);
    }
}

/* perceptcl mmd on three folders gives the library's result on the same
 * rows (pixels / 255); bad folders: one line, exit 1. */
START_TEST(command_matches_the_library)
{
    char work[] = "/tmp/pcl_mmd_XXXXXX", dir[3][128], out[4096], err[4096];
    ck_assert_ptr_nonnull(mkdtemp(work));
    static float rows[3][40 * 6];
    const int counts[3] = {40, 30, 30}, shifts[3] = {0, 0, 60};
    for (int i = 0; i < 3; i++) {
        snprintf(dir[i], sizeof dir[i], "%s/%c", work, "rab"[i]);
        write_folder(dir[i], counts[i], shifts[i], 100 + (uint64_t)i, rows[i]);
    }
    char args[1024];
    snprintf(args, sizeof args, "mmd %s %s %s --json", dir[0], dir[1], dir[2]);
    ck_assert_msg(pcl_test_run_perceptcl(work, args, out, sizeof out, err, sizeof err) == 0, "%s", err);
    json_error_t error;
    json_t *doc = json_loads(out, 0, &error);
    ck_assert_msg(doc != NULL, "%s", out);
    pcl_mmd_result want;
    ck_assert_int_eq(pcl_mmd_relative_similarity(context, rows[0], 40, rows[1], 30, rows[2], 30, 6, NULL, &want),
                     PCL_OK);
    ck_assert_double_eq_tol(json_member_number(doc, "sigma", NAN), want.sigma, 1e-12);
    ck_assert_double_eq_tol(json_member_number(doc, "t", NAN), want.t, 1e-12);
    ck_assert_double_eq_tol(json_member_number(doc, "p_value", NAN), want.p_value, 1e-12);
    ck_assert_msg(want.p_value > 0.95, "A (same noise) should be closer: p %g", want.p_value);
    ck_assert_int_eq((int)json_member_number(doc, "width", NAN), 3);
    json_decref(doc);
    /* Another image size in B; too few images; a missing folder. */
    pcl_image *big = NULL;
    ck_assert_int_eq(pcl_image_create(&big, 4, 2, 1), PCL_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/zzz.png", dir[2]);
    ck_assert_int_eq(pcl_image_write_png(path, big), PCL_OK);
    pcl_image_destroy(big);
    snprintf(args, sizeof args, "mmd %s %s %s", dir[0], dir[1], dir[2]);
    ck_assert_int_eq(pcl_test_run_perceptcl(work, args, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "zzz.png") || strstr(err, "4x2"), "%s", err);
    ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
    snprintf(args, sizeof args, "mmd %s %s %s --limit 2", dir[0], dir[1], dir[1]);
    ck_assert_int_eq(pcl_test_run_perceptcl(work, args, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "2 images, the test needs >= 3"), "%s", err);
    snprintf(args, sizeof args, "mmd %s/none %s %s", work, dir[1], dir[1]);
    ck_assert_int_eq(pcl_test_run_perceptcl(work, args, out, sizeof out, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "none"));
    ck_assert_int_eq(pcl_test_run_perceptcl(work, "mmd a b", out, sizeof out, err, sizeof err), 2);
    snprintf(args, sizeof args, "rm -rf %s", work);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

int main(void)
{
    if (pcl_context_create(NULL, &context) != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 1;
    }
    Suite *suite = suite_create("mmd");
    TCase *tc = tcase_create("mmd");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, tiny_set_matches_the_reference_code);
    tcase_add_test(tc, random_sets_match_the_float64_reference);
#ifndef PCL_TEST_SMALL /* the oclgrind suite: 17 M distances and a child process are too slow on the simulator */
    tcase_add_test(tc, many_tiles_sum_as_one);
#endif
    tcase_add_test(tc, the_same_distribution_beats_a_shifted_one);
    tcase_add_test(tc, refusals_name_the_problem);
#ifndef PCL_TEST_SMALL
    tcase_add_test(tc, command_matches_the_library);
#endif
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(context);
    return failed == 0 ? 0 : 1;
}
