/* SSIM / MS-SSIM loss + gradient throughput (the W1 and W2 workloads of
 * shared/docs/BASELINES.md).
 *   bench_ssim [w1|w2|custom BATCH H W SCALES MODE(valid|same)] [--reps R] [--iters I] [--forward]
 * w1: MS-SSIM, 32 x 96x96, same mode, 5 scales; w2: SSIM, 64 x 32x32, valid.
 * Each rep times I calls of pcl_ssim_run(values to host + gradient on device);
 * prints the median and range of images/s over R reps. --forward: values
 * only, no gradient (the W6 metric workloads). */
#include "perceptcl/ssim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
    int batch = 32, h = 96, w = 96, scales = 5, same = 1, reps = 7, iters = 20, forward = 0;
    const char *name = "w1";
    int i = 1;
    if (i < argc && !strcmp(argv[i], "w2")) {
        name = "w2";
        batch = 64;
        h = w = 32;
        scales = 1;
        same = 0;
        iters = 200;
        i++;
    } else if (i < argc && !strcmp(argv[i], "w1")) {
        i++;
    } else if (i + 5 < argc && !strcmp(argv[i], "custom")) {
        name = "custom";
        batch = atoi(argv[i + 1]);
        h = atoi(argv[i + 2]);
        w = atoi(argv[i + 3]);
        scales = atoi(argv[i + 4]);
        same = !strcmp(argv[i + 5], "same");
        i += 6;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--forward")) forward = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--reps")) reps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--iters")) iters = atoi(argv[++i]);
    }
    if (reps < 1 || reps > 100) reps = 7;
    pcl_context *ctx;
    if (pcl_context_create(NULL, &ctx) != PCL_OK) {
        fprintf(stderr, "bench_ssim: %s\n", pcl_last_error());
        return 1;
    }
    pcl_ssim_options o = pcl_ssim_options_default();
    o.mode = same ? PCL_SSIM_MODE_SAME : PCL_SSIM_MODE_VALID;
    o.scales = scales;
    o.data_range = 2.0;
    pcl_ssim *plan;
    if (pcl_ssim_create(ctx, batch, h, w, &o, &plan) != PCL_OK) {
        fprintf(stderr, "bench_ssim: %s\n", pcl_last_error());
        return 1;
    }
    const size_t n = (size_t)batch * h * w;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n), *values = malloc(sizeof(float) * batch);
    srand(1);
    for (size_t k = 0; k < n; k++) {
        x[k] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
        y[k] = 0.7f * x[k] + 0.3f * (2.0f * (float)rand() / (float)RAND_MAX - 1.0f);
    }
    cl_mem bx, by, bg;
    if (pcl_buffer_create(ctx, sizeof(float) * n, &bx) || pcl_buffer_create(ctx, sizeof(float) * n, &by) ||
        pcl_buffer_create(ctx, sizeof(float) * n, &bg) || pcl_buffer_write(ctx, bx, 0, sizeof(float) * n, x) ||
        pcl_buffer_write(ctx, by, 0, sizeof(float) * n, y)) {
        fprintf(stderr, "bench_ssim: %s\n", pcl_last_error());
        return 1;
    }
    cl_mem gout = forward ? NULL : bg;
    for (int k = 0; k < 3; k++) pcl_ssim_run(plan, bx, by, values, gout); /* warm-up */
    double *rate = malloc(sizeof(double) * reps);
    for (int r = 0; r < reps; r++) {
        const double t0 = now();
        for (int k = 0; k < iters; k++)
            if (pcl_ssim_run(plan, bx, by, values, gout) != PCL_OK) {
                fprintf(stderr, "bench_ssim: %s\n", pcl_last_error());
                return 1;
            }
        rate[r] = (double)batch * iters / (now() - t0);
    }
    qsort(rate, (size_t)reps, sizeof(double), cmp_double);
    printf("%s: %s %d x %dx%d (HxW), %s, %d scale(s), %s: %.1f images/s median (min %.1f, max %.1f; "
           "%d reps x %d calls) on %s\n",
           name, scales == 1 ? "SSIM" : "MS-SSIM", batch, h, w, same ? "same" : "valid", scales,
           forward ? "value only" : "loss+gradient", rate[reps / 2],
           rate[0], rate[reps - 1], reps, iters, pcl_context_device(ctx)->name);
    pcl_ssim_destroy(plan);
    pcl_buffer_release(bx);
    pcl_buffer_release(by);
    pcl_buffer_release(bg);
    pcl_context_destroy(ctx);
    free(rate);
    free(x);
    free(y);
    free(values);
    return 0;
}
