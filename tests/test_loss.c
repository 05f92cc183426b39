/* pcl_loss by kind: MSE and MAE against float64 sums, their gradients
 * against the hand-derived 2(y - x)/P and sign(y - x)/P (sign(0) = 0), ssim /
 * msssim against the float64 SSIM reference, msssim-l1 (Zhao et al.'s mix)
 * against the float64 MS-SSIM reference plus a float64 L1, its gradient
 * against that reference's and against central finite differences of the
 * float64 value, alpha 1 and 0 bitwise 1 - MS-SSIM and MAE, bitwise
 * determinism across work-group limits, kind names round-tripped, unknown
 * names and kinds refused. */
#include "perceptcl/loss.h"
#include "ssim_reference.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

static pcl_context *ctx;
static void setup(void) { ck_assert_msg(pcl_context_create(NULL, &ctx) == PCL_OK, "no device: %s", pcl_last_error()); }
static void teardown(void) { pcl_context_destroy(ctx); }

enum { B = 3, H = 37, W = 29 };

static void make(float *x, float *y)
{
    unsigned s = 7;
    for (int i = 0; i < B * H * W; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) & 0xffff) / 65535.0f;
        s = s * 1103515245u + 12345u;
        y[i] = (i % 17 == 0) ? x[i] : (float)((s >> 8) & 0xffff) / 65535.0f; /* some exact ties */
    }
}

/* Runs kind with options o (NULL: same mode, L = 1, alpha 0.84). */
static void run_with(pcl_loss_kind kind, const pcl_loss_options *o, const float *x, const float *y, float *values,
                     float *grad)
{
    pcl_loss_options d = pcl_loss_options_default();
    d.ssim.mode = PCL_SSIM_MODE_SAME;
    pcl_loss *loss;
    ck_assert_msg(pcl_loss_create(ctx, kind, B, H, W, o ? o : &d, &loss) == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(pcl_loss_get_kind(loss), kind);
    const size_t n = (size_t)B * H * W;
    cl_mem bx, by, bg;
    ck_assert_int_eq(pcl_buffer_create(ctx, 4 * n, &bx), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(ctx, 4 * n, &by), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(ctx, 4 * n, &bg), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(ctx, bx, 0, 4 * n, x), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(ctx, by, 0, 4 * n, y), PCL_OK);
    for (size_t i = 0; i < n; i++) grad[i] = NAN; /* poisoned: an element left unwritten shows */
    ck_assert_int_eq(pcl_buffer_write(ctx, bg, 0, 4 * n, grad), PCL_OK);
    ck_assert_msg(pcl_loss_run(loss, bx, by, values, bg) == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(pcl_buffer_read(ctx, bg, 0, 4 * n, grad), PCL_OK);
    pcl_buffer_release(bx);
    pcl_buffer_release(by);
    pcl_buffer_release(bg);
    pcl_loss_destroy(loss);
}

static void run(pcl_loss_kind kind, const float *x, const float *y, float *values, float *grad)
{
    run_with(kind, NULL, x, y, values, grad);
}

START_TEST(pixel_losses)
{
    static float x[B * H * W], y[B * H * W], g[B * H * W], v[B];
    make(x, y);
    const double P = H * W;
    for (int abs_ = 0; abs_ <= 1; abs_++) {
        run(abs_ ? PCL_LOSS_KIND_MAE : PCL_LOSS_KIND_MSE, x, y, v, g);
        for (int b = 0; b < B; b++) {
            double s = 0;
            for (int i = 0; i < H * W; i++) {
                const double d = (double)y[b * H * W + i] - x[b * H * W + i];
                s += abs_ ? fabs(d) : d * d;
                const double want = abs_ ? (d > 0 ? 1 : d < 0 ? -1 : 0) / P : 2 * d / P;
                ck_assert_msg(fabs(g[b * H * W + i] - want) <= 1e-6 * fabs(want), "grad %d: %g vs %g", i,
                              g[b * H * W + i], want);
                if (d == 0) ck_assert(g[b * H * W + i] == 0.0f);
            }
            s /= P;
            /* float32 sums of <= 17 terms per lane and a 64-lane tree */
            ck_assert_msg(isfinite(v[b]) && fabs(v[b] - s) <= 1e-6 * s, "%s image %d: %.9g vs %.9g",
                          abs_ ? "mae" : "mse", b, v[b], s);
        }
        /* the same bits on a small work-group limit */
        static float g2[B * H * W], v2[B];
        pcl_context_set_work_group_limit(ctx, 3);
        run(abs_ ? PCL_LOSS_KIND_MAE : PCL_LOSS_KIND_MSE, x, y, v2, g2);
        pcl_context_set_work_group_limit(ctx, 0);
        ck_assert(!memcmp(v, v2, sizeof v) && !memcmp(g, g2, sizeof g));
    }
}
END_TEST

START_TEST(ssim_kinds)
{
    static float x[B * H * W], y[B * H * W], g[B * H * W], v[B];
    make(x, y);
    for (int i = 0; i < B * H * W; i++) y[i] = 0.6f * x[i] + 0.4f * y[i]; /* positive terms */
    static double dx[H * W], dy[H * W], rg[H * W];
    const double beta[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
    for (int ms = 0; ms <= 1; ms++) {
        run(ms ? PCL_LOSS_KIND_MSSSIM : PCL_LOSS_KIND_SSIM, x, y, v, g);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < H * W; i++) {
                dx[i] = x[b * H * W + i];
                dy[i] = y[b * H * W + i];
            }
            double rv;
            ck_assert_int_eq(ref_ssim(dx, dy, H, W, 1, 1.0, ms ? 5 : 1, beta, &rv, NULL, rg), 0);
            ck_assert_msg(fabs(v[b] - rv) <= 3e-5, "%s: %.9g vs %.9g", ms ? "msssim" : "ssim", v[b], rv);
            double gmax = 0, dmax = 0;
            for (int i = 0; i < H * W; i++) {
                gmax = fmax(gmax, fabs(rg[i]));
                dmax = fmax(dmax, fabs(g[b * H * W + i] - rg[i]));
            }
            ck_assert(dmax <= 2e-3 * gmax + 1e-2 / (H * W));
        }
    }
}
END_TEST

static const double standard_beta[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};

/* float64 MS-SSIM (same mode, standard exponents) of one H x W image and
 * mean |y - x|; ms_grad (may be NULL) receives d MS-SSIM / dy. */
static void ref_parts(const double *x, const double *y, double L, double *ms, double *mae, double *ms_grad)
{
    ck_assert_int_eq(ref_ssim(x, y, H, W, 1, L, 5, standard_beta, ms, NULL, ms_grad), 0);
    double s = 0;
    for (int i = 0; i < H * W; i++) s += fabs(y[i] - x[i]);
    *mae = s / (H * W);
}

/* float64 msssim-l1 as loss.h defines it: alpha (1 - MS-SSIM) + (1 - alpha) mean|y - x| / L. */
static double ref_msssim_l1(const double *x, const double *y, double L, double alpha)
{
    double ms, mae;
    ref_parts(x, y, L, &ms, &mae, NULL);
    return alpha * (1 - ms) + (1 - alpha) * mae / L;
}

START_TEST(msssim_l1)
{
    static float x[B * H * W], y[B * H * W], g[B * H * W], v[B], g2[B * H * W], v2[B];
    static double dx[H * W], dy[H * W], rg[H * W];
    const double P = H * W;
    const double ranges[2] = {1.0, 2.0}, alphas[2] = {0.84, 0.5};
    for (int c = 0; c < 2; c++) {
        const double L = ranges[c], alpha = alphas[c];
        make(x, y);
        for (int i = 0; i < B * H * W; i++) { /* positive MS-SSIM terms, data on [0, L] */
            y[i] = (float)L * (0.6f * x[i] + 0.4f * y[i]);
            x[i] = (float)L * x[i];
        }
        pcl_loss_options o = pcl_loss_options_default();
        ck_assert(o.msssim_l1_alpha == 0.84);
        o.ssim.mode = PCL_SSIM_MODE_SAME;
        o.ssim.data_range = L;
        o.msssim_l1_alpha = alpha;
        run_with(PCL_LOSS_KIND_MSSSIM_L1, &o, x, y, v, g);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < H * W; i++) {
                dx[i] = x[b * H * W + i];
                dy[i] = y[b * H * W + i];
            }
            double ms, mae;
            ref_parts(dx, dy, L, &ms, &mae, rg);
            const double want = alpha * (1 - ms) + (1 - alpha) * mae / L;
            /* MS-SSIM to 3e-5 (as msssim), the float32 MAE to 1e-6 relative */
            ck_assert_msg(fabs(v[b] - want) <= alpha * 3e-5 + 1e-6 * want, "L %g image %d: %.9g vs float64 %.9g", L, b,
                          v[b], want);
            /* the gradient against the float64 one: MS-SSIM's part with
             * msssim's tolerance, the L1 part (1 - alpha) sign(y - x) / (L P) */
            double gmax = 0, dmax = 0;
            for (int i = 0; i < H * W; i++) gmax = fmax(gmax, fabs(rg[i]));
            const double tol = alpha * (2e-3 * gmax + 1e-2 / (L * P)) + 1e-6 * (1 - alpha) / (L * P);
            for (int i = 0; i < H * W; i++) {
                const double d = dy[i] - dx[i];
                const double want_g = -alpha * rg[i] + (1 - alpha) * ((d > 0) - (d < 0)) / (L * P);
                dmax = fmax(dmax, fabs(g[b * H * W + i] - want_g));
            }
            ck_assert_msg(dmax <= tol, "L %g image %d: gradient off by %g (tolerance %g)", L, b, dmax, tol);
            /* central differences of the float64 value at pixels away from
             * |y - x| = 0 (step 1e-6 L: |y - x| stays on one side) */
            int checked = 0;
            for (int k = 0; k < 60 && checked < 8; k++) {
                const int i = (k * 131 + 17 * b + 5) % (H * W);
                if (fabs(dy[i] - dx[i]) < 1e-3 * L) continue;
                const double h = 1e-6 * L, keep = dy[i];
                dy[i] = keep + h;
                const double up = ref_msssim_l1(dx, dy, L, alpha);
                dy[i] = keep - h;
                const double down = ref_msssim_l1(dx, dy, L, alpha);
                dy[i] = keep;
                const double fd = (up - down) / (2 * h);
                ck_assert_msg(fabs(g[b * H * W + i] - fd) <= tol + 1e-6 * fabs(fd),
                              "L %g image %d pixel %d: gradient %.9g, finite difference %.9g", L, b, i,
                              g[b * H * W + i], fd);
                checked++;
            }
            ck_assert_int_eq(checked, 8);
        }
        /* the same bits on a small work-group limit */
        pcl_context_set_work_group_limit(ctx, 3);
        run_with(PCL_LOSS_KIND_MSSSIM_L1, &o, x, y, v2, g2);
        pcl_context_set_work_group_limit(ctx, 0);
        ck_assert(!memcmp(v, v2, sizeof v) && !memcmp(g, g2, sizeof g));
    }
}
END_TEST

/* alpha 1 is 1 - MS-SSIM and alpha 0 is MAE (L = 1), value and gradient to
 * the bit; an alpha outside [0, 1] is refused. */
START_TEST(msssim_l1_ends)
{
    static float x[B * H * W], y[B * H * W], g[B * H * W], v[B], g2[B * H * W], v2[B];
    make(x, y); /* some exact ties, for MAE's sign(0) = 0 */
    pcl_loss_options o = pcl_loss_options_default();
    o.ssim.mode = PCL_SSIM_MODE_SAME;
    o.msssim_l1_alpha = 0.0;
    run_with(PCL_LOSS_KIND_MSSSIM_L1, &o, x, y, v, g);
    run(PCL_LOSS_KIND_MAE, x, y, v2, g2);
    for (int b = 0; b < B; b++) ck_assert_msg(v[b] == v2[b], "alpha 0 image %d: %.9g, mae %.9g", b, v[b], v2[b]);
    for (int i = 0; i < B * H * W; i++) ck_assert_msg(g[i] == g2[i], "alpha 0 grad %d: %g, mae %g", i, g[i], g2[i]);

    for (int i = 0; i < B * H * W; i++) y[i] = 0.6f * x[i] + 0.4f * y[i]; /* positive terms */
    o.msssim_l1_alpha = 1.0;
    run_with(PCL_LOSS_KIND_MSSSIM_L1, &o, x, y, v, g);
    run(PCL_LOSS_KIND_MSSSIM, x, y, v2, g2);
    for (int b = 0; b < B; b++)
        ck_assert_msg(v[b] == 1.0f - v2[b] && v2[b] > 0.0f, "alpha 1 image %d: %.9g, msssim %.9g", b, v[b], v2[b]);
    for (int i = 0; i < B * H * W; i++) ck_assert_msg(g[i] == -g2[i], "alpha 1 grad %d: %g, msssim %g", i, g[i], g2[i]);

    const double bad[3] = {-0.01, 1.5, NAN};
    for (int k = 0; k < 3; k++) {
        o.msssim_l1_alpha = bad[k];
        pcl_loss *loss = (pcl_loss *)1;
        ck_assert_int_eq(pcl_loss_create(ctx, PCL_LOSS_KIND_MSSSIM_L1, B, H, W, &o, &loss), PCL_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_null(loss);
        ck_assert_ptr_nonnull(strstr(pcl_last_error(), "alpha"));
    }
    /* ignored by the other kinds */
    pcl_loss *loss = NULL;
    ck_assert_int_eq(pcl_loss_create(ctx, PCL_LOSS_KIND_MSE, B, H, W, &o, &loss), PCL_OK);
    pcl_loss_destroy(loss);
}
END_TEST

START_TEST(kind_names)
{
    static const char *const names[5] = {"mse", "mae", "ssim", "msssim", "msssim-l1"};
    static const int higher[5] = {0, 0, 1, 1, 0}, ssim_based[5] = {0, 0, 1, 1, 1};
    for (int k = 0; k < 5; k++) {
        const pcl_loss_kind kind = (pcl_loss_kind)k;
        ck_assert_str_eq(pcl_loss_kind_name(kind), names[k]); /* model files store these strings */
        pcl_loss_kind parsed = k ? PCL_LOSS_KIND_MSE : PCL_LOSS_KIND_MAE;
        ck_assert_int_eq(pcl_loss_kind_parse(names[k], &parsed), PCL_OK);
        ck_assert_int_eq(parsed, kind);
        ck_assert_int_eq(pcl_loss_kind_higher_is_better(kind), higher[k]);
        ck_assert_int_eq(pcl_loss_kind_uses_ssim(kind), ssim_based[k]);
        ck_assert(pcl_loss_kind_training_loss(kind, 0.25) == (higher[k] ? 0.75 : 0.25));
    }
    static const char *const unknown[] = {"psnr", "MSE", "msssim-l2", "msssim_l1", "", "mse "};
    for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
        pcl_loss_kind kind = PCL_LOSS_KIND_SSIM;
        ck_assert_int_eq(pcl_loss_kind_parse(unknown[u], &kind), PCL_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(kind, PCL_LOSS_KIND_SSIM);
        char quoted[32];
        snprintf(quoted, sizeof quoted, "'%s'", unknown[u]);
        ck_assert_ptr_nonnull(strstr(pcl_last_error(), quoted));
        ck_assert_ptr_nonnull(strstr(pcl_last_error(), "mse, mae, ssim, msssim, msssim-l1"));
    }
    pcl_loss_kind kind = PCL_LOSS_KIND_SSIM;
    ck_assert_int_eq(pcl_loss_kind_parse(NULL, &kind), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(kind, PCL_LOSS_KIND_SSIM);
    ck_assert_int_eq(pcl_loss_kind_parse("mse", NULL), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(pcl_loss_kind_name((pcl_loss_kind)5), "");
    ck_assert_str_eq(pcl_loss_kind_name((pcl_loss_kind)-1), "");
    pcl_loss *loss = (pcl_loss *)1;
    ck_assert_int_eq(pcl_loss_create(ctx, (pcl_loss_kind)5, 1, 8, 8, NULL, &loss), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(loss);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("device");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pixel_losses);
    tcase_add_test(tc, ssim_kinds);
    tcase_add_test(tc, msssim_l1);
    tcase_add_test(tc, msssim_l1_ends);
    tcase_add_test(tc, kind_names);
    suite_add_tcase(s, tc);
    int failed = pcl_check_run(s, 0);
    return failed ? 1 : 0;
}
