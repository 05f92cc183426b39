/* SSIM / MS-SSIM on random inputs against the float64 reference
 * (tests/ssim_reference.c): odd, non-square and minimum sizes, batches of
 * different images (one with negative MS-SSIM terms), both modes and
 * weightings; the reference gradient against central finite differences;
 * bitwise determinism across re-runs and work-group size limits; NaN fails.
 * Built twice: test_ssim_random (opencl suite) and, with PCL_TEST_SMALL,
 * test_ssim_small (oclgrind suite): smaller images, both schedules
 * (fused and per-step kernels) on any device. */
#include "perceptcl/ssim.h"
#include "ssim_reference.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

/* Gradient tolerance of the golden manifest (cases.json): 2e-3 of the
 * largest element plus 1e-2 / (L W H). Values: 3e-5. */
#define VALUE_TOL 3e-5
#define GRAD_REL 2e-3
#define GRAD_FLOOR 1e-2

static uint64_t rng_state;

static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* x: smooth-ish random image in [0, L]; y: x plus noise, clipped (or, with
 * invert, L - x, which makes the MS-SSIM terms negative). */
static void make_pair(float *x, float *y, int h, int w, double L, int invert)
{
    const double fx = 0.3 + uniform(), fy = 0.2 + uniform(), ph = 6.28 * uniform();
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double v = 0.5 + 0.3 * sin(fx * i + ph) * cos(fy * j) + 0.2 * (uniform() - 0.5);
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            double u = invert ? 1 - v : v + 0.15 * (uniform() - 0.5);
            u = u < 0 ? 0 : u > 1 ? 1 : u;
            x[i * w + j] = (float)(L * v);
            y[i * w + j] = (float)(L * u);
        }
}

typedef struct run_out {
    float *values; /* batch */
    float *grad;   /* batch*h*w */
} run_out;

static pcl_status device_run(pcl_context *ctx, const float *x, const float *y, int batch, int h, int w,
                             const pcl_ssim_options *o, run_out *out)
{
    pcl_ssim *plan = NULL;
    pcl_status st = pcl_ssim_create(ctx, batch, h, w, o, &plan);
    if (st != PCL_OK) return st;
    const size_t n = (size_t)batch * h * w;
    cl_mem bx, by, bg;
    ck_assert_int_eq(pcl_buffer_create(ctx, sizeof(float) * n, &bx), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(ctx, sizeof(float) * n, &by), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(ctx, sizeof(float) * n, &bg), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(ctx, bx, 0, sizeof(float) * n, x), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(ctx, by, 0, sizeof(float) * n, y), PCL_OK);
    out->values = malloc(sizeof(float) * batch);
    out->grad = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) out->grad[i] = NAN; /* poison: unwritten elements show */
    ck_assert_int_eq(pcl_buffer_write(ctx, bg, 0, sizeof(float) * n, out->grad), PCL_OK);
    st = pcl_ssim_run(plan, bx, by, out->values, bg);
    ck_assert_msg(st == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(pcl_buffer_read(ctx, bg, 0, sizeof(float) * n, out->grad), PCL_OK);
    pcl_buffer_release(bx);
    pcl_buffer_release(by);
    pcl_buffer_release(bg);
    pcl_ssim_destroy(plan);
    return PCL_OK;
}

static void free_out(run_out *o)
{
    free(o->values);
    free(o->grad);
}

static const double beta_std[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333}, beta_eq[5] = {1, 1, 1, 1, 1};

/* Device against the reference for one configuration, every image. */
static void compare_range(pcl_context *ctx, int batch, int h, int w, int same, int scales, int equal,
                          int invert_last, double L)
{
    const size_t n = (size_t)h * w;
    float *x = malloc(sizeof(float) * n * batch), *y = malloc(sizeof(float) * n * batch);
    for (int b = 0; b < batch; b++) make_pair(x + b * n, y + b * n, h, w, L, invert_last && b == batch - 1);
    pcl_ssim_options o = pcl_ssim_options_default();
    o.mode = same ? PCL_SSIM_MODE_SAME : PCL_SSIM_MODE_VALID;
    o.data_range = L;
    o.scales = scales;
    o.weights = equal ? PCL_SSIM_WEIGHTS_EQUAL : PCL_SSIM_WEIGHTS_STANDARD;
    run_out out;
    ck_assert_int_eq(device_run(ctx, x, y, batch, h, w, &o, &out), PCL_OK);
    double *dx = malloc(sizeof(double) * n), *dy = malloc(sizeof(double) * n), *rg = malloc(sizeof(double) * n);
    for (int b = 0; b < batch; b++) {
        for (size_t i = 0; i < n; i++) {
            dx[i] = x[b * n + i];
            dy[i] = y[b * n + i];
        }
        double rv;
        ck_assert_int_eq(ref_ssim(dx, dy, h, w, same, L, scales, equal ? beta_eq : beta_std, &rv, NULL, rg), 0);
        const float got = out.values[b];
        ck_assert_msg(isfinite(got) && fabs(got - rv) <= VALUE_TOL,
                      "%dx%d %s scales %d image %d: value %.9g, reference %.9g", w, h, same ? "same" : "valid",
                      scales, b, got, rv);
        double gmax = 0, dmax = 0;
        for (size_t i = 0; i < n; i++) {
            const float g = out.grad[b * n + i];
            ck_assert_msg(isfinite(g), "gradient element %zu of image %d is %g", i, b, g);
            gmax = fmax(gmax, fabs(rg[i]));
            dmax = fmax(dmax, fabs(g - rg[i]));
        }
        ck_assert_msg(dmax <= GRAD_REL * gmax + GRAD_FLOOR / (L * w * h),
                      "%dx%d %s scales %d image %d: gradient max |diff| %.3g, max |ref| %.3g", w, h,
                      same ? "same" : "valid", scales, b, dmax, gmax);
        if (scales > 1 && rv == 0.0)
            for (size_t i = 0; i < n; i++) ck_assert_msg(out.grad[b * n + i] == 0.0f, "zero-value image: nonzero gradient");
    }
    free(dx);
    free(dy);
    free(rg);
    free(x);
    free(y);
    free_out(&out);
}

static void compare(pcl_context *ctx, int batch, int h, int w, int same, int scales, int equal, int invert_last)
{
    compare_range(ctx, batch, h, w, same, scales, equal, invert_last, 1.0 + 254.0 * (h % 2)); /* L = 1 and 255 */
}

static pcl_context *ctx;

static void setup(void)
{
    ck_assert_msg(pcl_context_create(NULL, &ctx) == PCL_OK, "no device: %s", pcl_last_error());
    rng_state = 12345;
}

static void teardown(void) { pcl_context_destroy(ctx); }

START_TEST(minimum_sizes)
{
    compare(ctx, 1, 11, 11, 0, 1, 0, 0); /* valid SSIM, a 1x1 map */
    compare(ctx, 2, 1, 1, 1, 1, 0, 0);   /* same mode, 1x1 */
    compare(ctx, 2, 1, 1, 1, 5, 0, 0);
    compare(ctx, 2, 2, 3, 1, 1, 0, 0); /* 3 wide, 2 high */
    compare(ctx, 2, 2, 3, 1, 5, 1, 0);
    compare(ctx, 1, 161, 161, 0, 5, 0, 0); /* smallest valid MS-SSIM */
}
END_TEST

#ifdef PCL_TEST_SMALL
/* Every kernel path at sizes the simulator runs in seconds: both modes, both
 * weightings, SSIM and MS-SSIM (valid MS-SSIM needs 161x161), the
 * non-positive-term case, both division paths. */
START_TEST(small_cases)
{
    compare(ctx, 1, 11, 11, 0, 1, 0, 0);
    compare(ctx, 2, 2, 3, 1, 5, 1, 0);
    compare(ctx, 3, 23, 19, 1, 1, 0, 0);
    compare(ctx, 2, 20, 17, 0, 1, 1, 0);
    compare(ctx, 3, 21, 18, 1, 5, 0, 1); /* last image inverted: MS-SSIM 0, gradient 0 */
    compare(ctx, 1, 161, 161, 0, 5, 0, 0);
    compare_range(ctx, 2, 13, 17, 0, 1, 0, 0, 1e5); /* two divisions per position */
}
END_TEST

/* The per-step kernels (ssim_step_*) against the fused kernel, bit for bit. */
START_TEST(schedules_agree)
{
    const int batch = 2, h = 21, w = 35;
    const size_t n = (size_t)batch * h * w;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    for (int b = 0; b < batch; b++) make_pair(x + b * (size_t)h * w, y + b * (size_t)h * w, h, w, 1.0, 0);
    for (int scales = 1; scales <= 5; scales += 4) {
        pcl_ssim_options o = pcl_ssim_options_default();
        o.mode = PCL_SSIM_MODE_SAME;
        o.scales = scales;
        run_out fused, phased;
        setenv("PERCEPTCL_SSIM_SCHEDULE", "fused", 1);
        ck_assert_int_eq(device_run(ctx, x, y, batch, h, w, &o, &fused), PCL_OK);
        setenv("PERCEPTCL_SSIM_SCHEDULE", "phased", 1);
        ck_assert_int_eq(device_run(ctx, x, y, batch, h, w, &o, &phased), PCL_OK);
        unsetenv("PERCEPTCL_SSIM_SCHEDULE");
        ck_assert_msg(!memcmp(fused.values, phased.values, sizeof(float) * batch), "scales %d: values differ", scales);
        ck_assert_msg(!memcmp(fused.grad, phased.grad, sizeof(float) * n), "scales %d: gradients differ", scales);
        free_out(&fused);
        free_out(&phased);
    }
    free(x);
    free(y);
}
END_TEST
#endif

START_TEST(odd_non_square_batches)
{
    compare(ctx, 3, 23, 37, 1, 1, 0, 0);
    compare(ctx, 3, 23, 37, 0, 1, 0, 0);
    compare(ctx, 3, 45, 29, 1, 5, 0, 1); /* last image inverted: MS-SSIM 0, gradient 0 */
    compare(ctx, 3, 45, 29, 1, 5, 1, 0);
    compare(ctx, 2, 70, 33, 1, 5, 0, 0); /* several tiles per level */
    compare(ctx, 2, 165, 171, 0, 5, 1, 1);
}
END_TEST

/* Data ranges outside 1e-6 .. 1e4 take the kernel's two-division path
 * (ONE_DIV = 0 in kernels/ssim.cl). */
START_TEST(extreme_data_ranges)
{
    compare_range(ctx, 2, 23, 37, 1, 1, 0, 0, 1e5);
    compare_range(ctx, 2, 45, 29, 1, 5, 1, 0, 1e5);
    compare_range(ctx, 2, 23, 37, 0, 1, 0, 0, 1e-7);
    compare_range(ctx, 2, 45, 29, 1, 5, 0, 0, 1e-7);
}
END_TEST

START_TEST(undefined_sizes)
{
    pcl_ssim *plan = (pcl_ssim *)1;
    pcl_ssim_options o = pcl_ssim_options_default();
    o.scales = 5;
    ck_assert_int_eq(pcl_ssim_create(ctx, 1, 160, 300, &o, &plan), PCL_ERR_UNDEFINED);
    ck_assert_ptr_null(plan);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "161"));
    o.scales = 1;
    ck_assert_int_eq(pcl_ssim_create(ctx, 1, 10, 30, &o, &plan), PCL_ERR_UNDEFINED);
    o.scales = 3;
    ck_assert_int_eq(pcl_ssim_create(ctx, 1, 30, 30, &o, &plan), PCL_ERR_INVALID_ARGUMENT);
    o.scales = 1;
    o.data_range = 0;
    ck_assert_int_eq(pcl_ssim_create(ctx, 1, 30, 30, &o, &plan), PCL_ERR_INVALID_ARGUMENT);
}
END_TEST

/* Bitwise: two runs, and work-group limits 1 and 16 against the default. */
START_TEST(deterministic)
{
#ifdef PCL_TEST_SMALL
    const int batch = 2, h = 17, w = 19;
#else
    const int batch = 3, h = 67, w = 50;
#endif
    const size_t n = (size_t)batch * h * w;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    for (int b = 0; b < batch; b++) make_pair(x + b * (size_t)h * w, y + b * (size_t)h * w, h, w, 2.0, 0);
    for (int scales = 1; scales <= 5; scales += 4) {
        pcl_ssim_options o = pcl_ssim_options_default();
        o.mode = PCL_SSIM_MODE_SAME;
        o.scales = scales;
        o.data_range = 2.0;
        run_out a, b;
        ck_assert_int_eq(device_run(ctx, x, y, batch, h, w, &o, &a), PCL_OK);
        const size_t limits[] = {0, 1, 16};
        for (int k = 0; k < 3; k++) {
            pcl_context_set_work_group_limit(ctx, limits[k]);
            ck_assert_int_eq(device_run(ctx, x, y, batch, h, w, &o, &b), PCL_OK);
            ck_assert_msg(!memcmp(a.values, b.values, sizeof(float) * batch), "values differ (limit %zu)", limits[k]);
            ck_assert_msg(!memcmp(a.grad, b.grad, sizeof(float) * n), "gradients differ (limit %zu)", limits[k]);
            free_out(&b);
        }
        pcl_context_set_work_group_limit(ctx, 0);
        free_out(&a);
    }
    free(x);
    free(y);
}
END_TEST

/* An image's value and gradient do not depend on the batch around it: one
 * image alone (on a CPU, the per-step launches of src/metrics/ssim.c) against the
 * same image inside a batch of 5 (the fused kernel), bit for bit. */
START_TEST(batch_independent)
{
    const int sizes[2][2] = {{256, 260}, {270, 257}}; /* 256x256 or more: see src/metrics/ssim.c */
    for (int k = 0; k < 2; k++) {
        const int h = sizes[k][0], w = sizes[k][1], batch = 5;
        const size_t n = (size_t)h * w;
        float *x = malloc(sizeof(float) * n * batch), *y = malloc(sizeof(float) * n * batch);
        for (int b = 0; b < batch; b++) make_pair(x + b * n, y + b * n, h, w, 1.0, 0);
        pcl_ssim_options o = pcl_ssim_options_default();
        o.mode = k ? PCL_SSIM_MODE_VALID : PCL_SSIM_MODE_SAME;
        o.scales = k ? 1 : 5;
        run_out one, all;
        ck_assert_int_eq(device_run(ctx, x + 2 * n, y + 2 * n, 1, h, w, &o, &one), PCL_OK);
        ck_assert_int_eq(device_run(ctx, x, y, batch, h, w, &o, &all), PCL_OK);
        ck_assert_msg(!memcmp(one.values, all.values + 2, sizeof(float)), "%dx%d: value differs in a batch", w, h);
        ck_assert_msg(!memcmp(one.grad, all.grad + 2 * n, sizeof(float) * n), "%dx%d: gradient differs in a batch", w,
                      h);
        free_out(&one);
        free_out(&all);
        free(x);
        free(y);
    }
}
END_TEST

/* The reference gradient against central differences in float64. */
static void fd_check(int h, int w, int same, int scales, int equal)
{
    const size_t n = (size_t)h * w;
    float *fx = malloc(sizeof(float) * n), *fy = malloc(sizeof(float) * n);
    make_pair(fx, fy, h, w, 1.0, 0);
    double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n), *g = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) {
        x[i] = fx[i];
        y[i] = fy[i];
    }
    const double *beta = equal ? beta_eq : beta_std;
    double v;
    ck_assert_int_eq(ref_ssim(x, y, h, w, same, 1.0, scales, beta, &v, NULL, g), 0);
    double gmax = 0, dmax = 0;
    for (size_t i = 0; i < n; i++) {
        /* Richardson-extrapolated central differences: error O(e^4), so
         * the small C2 of L = 1 (large higher derivatives) does not matter. */
        const double e = 1e-4, keep = y[i];
        double d[2];
        for (int k = 0; k < 2; k++) {
            const double step = k ? e / 2 : e;
            double vp, vm;
            y[i] = keep + step;
            ref_ssim(x, y, h, w, same, 1.0, scales, beta, &vp, NULL, NULL);
            y[i] = keep - step;
            ref_ssim(x, y, h, w, same, 1.0, scales, beta, &vm, NULL, NULL);
            d[k] = (vp - vm) / (2 * step);
        }
        y[i] = keep;
        const double fd = (4 * d[1] - d[0]) / 3;
        gmax = fmax(gmax, fabs(g[i]));
        dmax = fmax(dmax, fabs(fd - g[i]));
    }
    /* rounding ~1e-16/e = 1e-12 */
    ck_assert_msg(dmax <= 1e-6 * gmax + 1e-9, "%dx%d scales %d: FD max |diff| %.3g, max |grad| %.3g", w, h, scales,
                  dmax, gmax);
    free(fx);
    free(fy);
    free(x);
    free(y);
    free(g);
}

START_TEST(reference_gradient_finite_differences)
{
    fd_check(13, 12, 0, 1, 0);
    fd_check(9, 7, 1, 1, 0);
    fd_check(9, 7, 1, 5, 0);
    fd_check(6, 11, 1, 5, 1);
    fd_check(3, 2, 1, 5, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ssim_random");
    TCase *tc = tcase_create("device");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
#ifdef PCL_TEST_SMALL
    tcase_add_test(tc, small_cases);
    tcase_add_test(tc, schedules_agree);
    tcase_add_test(tc, deterministic);
    suite_add_tcase(s, tc);
    return pcl_check_run(s, 0) ? 1 : 0;
#endif
    tcase_add_test(tc, minimum_sizes);
    tcase_add_test(tc, odd_non_square_batches);
    tcase_add_test(tc, extreme_data_ranges);
    tcase_add_test(tc, undefined_sizes);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, batch_independent);
    suite_add_tcase(s, tc);
    TCase *ref = tcase_create("reference");
    tcase_set_timeout(ref, 600);
    tcase_add_test(ref, reference_gradient_finite_differences);
    suite_add_tcase(s, ref);
    int failed = pcl_check_run(s, 0);
    return failed ? 1 : 0;
}
