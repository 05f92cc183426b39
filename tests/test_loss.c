/* pcl_loss by name: MSE and MAE against float64 sums, their gradients
 * against the hand-derived 2(y - x)/P and sign(y - x)/P (sign(0) = 0), the
 * "ssim" / "msssim" names against the float64 SSIM reference, bitwise
 * determinism across work-group limits, unknown names refused. */
#include "perceptcl/loss.h"
#include "ssim_reference.h"

#include <check.h>
#include <math.h>
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

static void run(const char *name, const float *x, const float *y, float *values, float *grad)
{
    pcl_ssim_options o = pcl_ssim_options_default();
    o.mode = PCL_SSIM_SAME;
    pcl_loss *loss;
    ck_assert_msg(pcl_loss_create(ctx, name, B, H, W, &o, &loss) == PCL_OK, "%s", pcl_last_error());
    const size_t n = (size_t)B * H * W;
    cl_mem bx, by, bg;
    ck_assert_int_eq(pcl_buffer_create(ctx, 4 * n, &bx), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(ctx, 4 * n, &by), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(ctx, 4 * n, &bg), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(ctx, bx, 0, 4 * n, x), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(ctx, by, 0, 4 * n, y), PCL_OK);
    ck_assert_msg(pcl_loss_run(loss, bx, by, values, bg) == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(pcl_buffer_read(ctx, bg, 0, 4 * n, grad), PCL_OK);
    ck_assert_int_eq(pcl_loss_higher_is_better(loss), !strcmp(name, "ssim") || !strcmp(name, "msssim"));
    pcl_buffer_release(bx);
    pcl_buffer_release(by);
    pcl_buffer_release(bg);
    pcl_loss_destroy(loss);
}

START_TEST(pixel_losses)
{
    static float x[B * H * W], y[B * H * W], g[B * H * W], v[B];
    make(x, y);
    const double P = H * W;
    for (int abs_ = 0; abs_ <= 1; abs_++) {
        run(abs_ ? "mae" : "mse", x, y, v, g);
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
        run(abs_ ? "mae" : "mse", x, y, v2, g2);
        pcl_context_set_work_group_limit(ctx, 0);
        ck_assert(!memcmp(v, v2, sizeof v) && !memcmp(g, g2, sizeof g));
    }
}
END_TEST

START_TEST(ssim_by_name)
{
    static float x[B * H * W], y[B * H * W], g[B * H * W], v[B];
    make(x, y);
    for (int i = 0; i < B * H * W; i++) y[i] = 0.6f * x[i] + 0.4f * y[i]; /* positive terms */
    static double dx[H * W], dy[H * W], rg[H * W];
    const double beta[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
    for (int ms = 0; ms <= 1; ms++) {
        run(ms ? "msssim" : "ssim", x, y, v, g);
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

START_TEST(unknown_name)
{
    pcl_loss *loss = (pcl_loss *)1;
    ck_assert_int_eq(pcl_loss_create(ctx, "psnr", 1, 8, 8, NULL, &loss), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(loss);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "psnr"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("device");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pixel_losses);
    tcase_add_test(tc, ssim_by_name);
    tcase_add_test(tc, unknown_name);
    suite_add_tcase(s, tc);
    int failed = pcl_check_run(s, 0);
    return failed ? 1 : 0;
}
