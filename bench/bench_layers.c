/* bench_layers: conv2d and dense forward + backward on the device, with the
 * own GEMM kernel and with CLBlast, at the paper's shapes:
 *   SRCNN 9-5-5 (batch 128 of 33x33, valid: 1->64 9x9, 64->32 5x5, 32->1 5x5)
 *   dense 1024 -> 8192 at batch 64 (the first layer of the FC autoencoder)
 *   a square SGEMM (n^3) for reference.
 * FLOPs as in ../shared/docs/BASELINES.md: a step is 2 MACs forward, 2 MACs
 * weight gradient and 2 MACs input gradient (none for the network's first
 * layer). Each figure is the median of the timed repetitions after one
 * untimed warm-up (which also compiles the kernels).
 *   and, opt-in, all conv/dense layers of W4 (conv AE) and W5 (FC AE).
 * Set BENCH_KERNEL_ONLY=1 to time the packed GEMM micro-kernel alone.
 * Usage: bench_layers [--reps N] [--gemm N] [--only srcnn|dense|gemm|fcae|convae] [--split]
 *        (--split: forward, dW and dx of each layer apart;
 *        --stage NAME: the same for the layers whose name contains NAME)
 *        (device selection: PERCEPTCL_DEVICE / PERCEPTCL_PLATFORM) */
#include "nn/gemm.h"
#include "perceptcl/layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

typedef struct stage {
    pcl_layer *layer;
    pcl_tensor *x, *y, *dy, *dx;
    double macs;
    int first;
} stage;

static void stage_make(pcl_context *ctx, pcl_layer *layer, int n, int c, int h, int w, int first, double macs,
                       stage *s)
{
    int in[4] = {n, c, h, w}, out[4];
    CHECK(pcl_layer_output_shape(layer, in, out));
    s->layer = layer;
    s->first = first;
    s->macs = macs;
    CHECK(pcl_tensor_create(ctx, n, c, h, w, &s->x));
    CHECK(pcl_tensor_create(ctx, out[0], out[1], out[2], out[3], &s->y));
    CHECK(pcl_tensor_create(ctx, out[0], out[1], out[2], out[3], &s->dy));
    CHECK(pcl_tensor_create(ctx, n, c, h, w, &s->dx));
    CHECK(pcl_tensor_init_gaussian(s->x, 1.0, 1));
    CHECK(pcl_tensor_init_gaussian(s->dy, 1.0, 2));
    pcl_tensor *weight;
    CHECK(pcl_layer_param(layer, 0, &weight, NULL, NULL));
    CHECK(pcl_tensor_init_gaussian(weight, 0.001, 3));
}

static void stage_free(stage *s)
{
    pcl_tensor_destroy(s->x), pcl_tensor_destroy(s->y), pcl_tensor_destroy(s->dy), pcl_tensor_destroy(s->dx);
    pcl_layer_destroy(s->layer);
}

/* --split: each stage's forward, weight gradient (backward without dx) and
 * input gradient (backward with dx minus without) timed apart, medians. */
static int split_passes;
static const char *split_only; /* --stage NAME: only stages whose name contains NAME */

static void time_split(pcl_context *ctx, stage *stages, int count, int reps, const char *const *names)
{
    double *ts = calloc((size_t)reps * 3, sizeof *ts);
    for (int i = 0; i < count; i++) {
        stage *s = &stages[i];
        if (split_only && !strstr(names[i], split_only)) continue;
        for (int r = -1; r < reps; r++) {
            double t[4];
            CHECK(pcl_context_finish(ctx));
            t[0] = now();
            CHECK(pcl_layer_forward(s->layer, s->x, s->y));
            CHECK(pcl_context_finish(ctx));
            t[1] = now();
            CHECK(pcl_layer_backward(s->layer, s->x, s->y, s->dy, NULL));
            CHECK(pcl_context_finish(ctx));
            t[2] = now();
            if (!s->first) CHECK(pcl_layer_backward(s->layer, s->x, s->y, s->dy, s->dx));
            CHECK(pcl_context_finish(ctx));
            t[3] = now();
            if (r < 0) continue;
            ts[r] = t[1] - t[0];
            ts[reps + r] = t[2] - t[1];
            ts[2 * reps + r] = s->first ? 0.0 : (t[3] - t[2]) - (t[2] - t[1]);
        }
        double med[3];
        for (int k = 0; k < 3; k++) {
            qsort(ts + (size_t)k * reps, (size_t)reps, sizeof *ts, cmp_double);
            med[k] = ts[(size_t)k * reps + reps / 2];
        }
        printf("  %-20s forward %8.1f ms (%6.1f GFLOP/s)  dW %8.1f ms (%6.1f)  dx %8.1f ms (%6.1f)\n", names[i],
               med[0] * 1e3, 2 * s->macs / med[0] * 1e-9, med[1] * 1e3, 2 * s->macs / med[1] * 1e-9, med[2] * 1e3,
               med[2] > 0 ? 2 * s->macs / med[2] * 1e-9 : 0.0);
    }
    free(ts);
}

/* Median seconds of forward + backward over all stages. */
static double time_stages(pcl_context *ctx, stage *stages, int count, int reps, double *per_stage)
{
    double *t = calloc((size_t)reps, sizeof *t), *ts = calloc((size_t)reps * count, sizeof *ts);
    for (int r = -1; r < reps; r++) {
        double total = 0;
        for (int i = 0; i < count; i++) {
            stage *s = &stages[i];
            CHECK(pcl_context_finish(ctx));
            double t0 = now();
            CHECK(pcl_layer_forward(s->layer, s->x, s->y));
            CHECK(pcl_layer_backward(s->layer, s->x, s->y, s->dy, s->first ? NULL : s->dx));
            CHECK(pcl_context_finish(ctx));
            double dt = now() - t0;
            total += dt;
            if (r >= 0) ts[(size_t)i * reps + r] = dt;
        }
        if (r >= 0) t[r] = total;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    for (int i = 0; i < count; i++) {
        qsort(ts + (size_t)i * reps, (size_t)reps, sizeof *ts, cmp_double);
        per_stage[i] = ts[(size_t)i * reps + reps / 2];
    }
    double median = t[reps / 2];
    free(t), free(ts);
    return median;
}

static double step_flops(const stage *s)
{
    return 2.0 * s->macs * (s->first ? 2 : 3);
}

static void bench_srcnn(pcl_context *ctx, pcl_gemm_backend backend, int reps)
{
    const int n = 128;
    pcl_conv2d_config c1 = {1, 64, 9, 9, 1, 0, 0, PCL_PADDING_ZERO, 0, backend};
    pcl_conv2d_config c2 = {64, 32, 5, 5, 1, 0, 0, PCL_PADDING_ZERO, 0, backend};
    pcl_conv2d_config c3 = {32, 1, 5, 5, 1, 0, 0, PCL_PADDING_ZERO, 0, backend};
    pcl_layer *l1, *l2, *l3;
    CHECK(pcl_conv2d_create(ctx, &c1, &l1));
    CHECK(pcl_conv2d_create(ctx, &c2, &l2));
    CHECK(pcl_conv2d_create(ctx, &c3, &l3));
    stage s[3];
    stage_make(ctx, l1, n, 1, 33, 33, 1, (double)n * 64 * 25 * 25 * 81, &s[0]);
    stage_make(ctx, l2, n, 64, 25, 25, 0, (double)n * 32 * 21 * 21 * 64 * 25, &s[1]);
    stage_make(ctx, l3, n, 32, 21, 21, 0, (double)n * 1 * 17 * 17 * 32 * 25, &s[2]);
    const char *names[3] = {"1->64 9x9 ", "64->32 5x5", "32->1 5x5 "};
    if (split_passes) {
        time_split(ctx, s, 3, reps, names);
        for (int i = 0; i < 3; i++) stage_free(&s[i]);
        return;
    }
    double per[3];
    double t = time_stages(ctx, s, 3, reps, per);
    double flops = 0;
    for (int i = 0; i < 3; i++) flops += step_flops(&s[i]);
    for (int i = 0; i < 3; i++)
        printf("  srcnn %s %-7s fwd+bwd %8.2f ms  %7.1f GFLOP/s\n", names[i], pcl_gemm_backend_name(backend),
               per[i] * 1e3, step_flops(&s[i]) / per[i] * 1e-9);
    printf("SRCNN conv fwd+bwd, batch 128, %-7s: %8.1f ms/step  %7.1f GFLOP/s  %7.1f patches/s (convs only)\n",
           pcl_gemm_backend_name(backend), t * 1e3, flops / t * 1e-9, n / t);
    for (int i = 0; i < 3; i++) stage_free(&s[i]);
}

static void bench_dense(pcl_context *ctx, pcl_gemm_backend backend, int reps)
{
    const int n = 64;
    pcl_layer *l;
    CHECK(pcl_dense_create(ctx, 1024, 8192, backend, &l));
    stage s;
    stage_make(ctx, l, n, 1024, 1, 1, 0, (double)n * 1024 * 8192, &s);
    double per;
    double t = time_stages(ctx, &s, 1, reps, &per);
    printf("dense 1024->8192 fwd+bwd (with dx), batch 64, %-7s: %8.2f ms  %7.1f GFLOP/s\n",
           pcl_gemm_backend_name(backend), t * 1e3, step_flops(&s) / t * 1e-9);
    stage_free(&s);
}

/* W5's layers (BASELINES.md): the FC autoencoder 1024-8192-4096-2048-1024-512-256 and
 * back, batch 64, every dense layer forward + backward (no dx for the first). */
static void bench_fcae(pcl_context *ctx, pcl_gemm_backend backend, int reps)
{
    const int n = 64, widths[7] = {1024, 8192, 4096, 2048, 1024, 512, 256};
    stage s[12];
    char labels[12][32];
    const char *names[12];
    int count = 0;
    for (int dir = 0; dir < 2; dir++)
        for (int i = 0; i < 6; i++) {
            int a = dir ? widths[6 - i] : widths[i], b = dir ? widths[5 - i] : widths[i + 1];
            pcl_layer *l;
            CHECK(pcl_dense_create(ctx, a, b, backend, &l));
            stage_make(ctx, l, n, a, 1, 1, count == 0, (double)n * a * b, &s[count]);
            snprintf(labels[count], sizeof labels[count], "dense %d->%d", a, b);
            names[count] = labels[count];
            count++;
        }
    if (split_passes) {
        time_split(ctx, s, count, reps, names);
        for (int i = 0; i < count; i++) stage_free(&s[i]);
        return;
    }
    double per[12], flops = 0;
    double t = time_stages(ctx, s, count, reps, per);
    for (int i = 0; i < count; i++) flops += step_flops(&s[i]);
    printf("FC-AE dense layers fwd+bwd, batch 64, %-7s: %8.1f ms/step  %7.1f GFLOP/s  %7.1f images/s (dense only)\n",
           pcl_gemm_backend_name(backend), t * 1e3, flops / t * 1e-9, n / t);
    for (int i = 0; i < count; i++) stage_free(&s[i]);
}

/* W4's conv and FC layers (BASELINES.md): batch 64 of 1x96x96; encoder 5x5
 * stride-2 convs 1->128->256->512 (padding 2), FC 73728->128, decoder FC
 * 128->73728 and 5x5 convs 512->256 (24x24), 256->128 (48x48), 128->1
 * (96x96) on the upsampled maps (the upsampling itself is not timed). */
static void bench_convae(pcl_context *ctx, pcl_gemm_backend backend, int reps)
{
    const int n = 64;
    typedef struct { int c, o, hw, s; } cv;
    const cv convs[6] = {{1, 128, 96, 2}, {128, 256, 48, 2}, {256, 512, 24, 2},
                         {512, 256, 24, 1}, {256, 128, 48, 1}, {128, 1, 96, 1}};
    stage s[8];
    int count = 0;
    const char *names[8];
    for (int i = 0; i < 6; i++) {
        if (i == 3) { /* the FC bottleneck between encoder and decoder */
            pcl_layer *l;
            CHECK(pcl_dense_create(ctx, 512 * 12 * 12, 128, backend, &l));
            stage_make(ctx, l, n, 512, 12, 12, 0, (double)n * 73728 * 128, &s[count]);
            names[count++] = "fc 73728->128";
            CHECK(pcl_dense_create(ctx, 128, 512 * 12 * 12, backend, &l));
            stage_make(ctx, l, n, 128, 1, 1, 0, (double)n * 73728 * 128, &s[count]);
            names[count++] = "fc 128->73728";
        }
        pcl_conv2d_config c = {convs[i].c, convs[i].o, 5, 5, convs[i].s, 2, 2, PCL_PADDING_ZERO, 0, backend};
        pcl_layer *l;
        CHECK(pcl_conv2d_create(ctx, &c, &l));
        int out = convs[i].hw / convs[i].s;
        stage_make(ctx, l, n, convs[i].c, convs[i].hw, convs[i].hw, i == 0,
                   (double)n * convs[i].o * out * out * convs[i].c * 25, &s[count]);
        static const char *conv_names[6] = {"conv 1->128 s2", "conv 128->256 s2", "conv 256->512 s2",
                                            "conv 512->256", "conv 256->128", "conv 128->1"};
        names[count++] = conv_names[i];
    }
    double per[8], flops = 0;
    if (split_passes) {
        time_split(ctx, s, count, reps, names);
        for (int i = 0; i < count; i++) stage_free(&s[i]);
        return;
    }
    double t = time_stages(ctx, s, count, reps, per);
    for (int i = 0; i < count; i++) {
        flops += step_flops(&s[i]);
        printf("  conv-AE %-17s %-7s fwd+bwd %9.1f ms  %7.1f GFLOP/s\n", names[i], pcl_gemm_backend_name(backend),
               per[i] * 1e3, step_flops(&s[i]) / per[i] * 1e-9);
    }
    printf("conv-AE conv+FC fwd+bwd, batch 64, %-7s: %8.1f ms/step  %7.1f GFLOP/s  %7.2f images/s (layers only)\n",
           pcl_gemm_backend_name(backend), t * 1e3, flops / t * 1e-9, n / t);
    for (int i = 0; i < count; i++) stage_free(&s[i]);
}

static void bench_gemm(pcl_context *ctx, pcl_gemm_backend backend, int size, int reps)
{
    size_t bytes = (size_t)size * size * sizeof(float);
    pcl_tensor *a, *b, *c;
    CHECK(pcl_tensor_create(ctx, 1, 1, size, size, &a));
    CHECK(pcl_tensor_create(ctx, 1, 1, size, size, &b));
    CHECK(pcl_tensor_create(ctx, 1, 1, size, size, &c));
    (void)bytes;
    CHECK(pcl_tensor_init_gaussian(a, 1.0, 1));
    CHECK(pcl_tensor_init_gaussian(b, 1.0, 2));
    double *t = calloc((size_t)reps, sizeof *t);
    /* The packed micro-kernel alone (operands packed once, untimed). */
    int kernel_only = backend == PCL_GEMM_BACKEND_OWN && getenv("BENCH_KERNEL_ONLY");
    cl_mem ap = NULL, bp = NULL;
    if (kernel_only) {
        CHECK(pcl_buffer_create(ctx, pcl_gemm_packed_a_floats(size, size) * 4, &ap));
        CHECK(pcl_buffer_create(ctx, pcl_gemm_packed_b_floats(size, size) * 4, &bp));
        CHECK(pcl_gemm_pack_a(ctx, 0, size, size, a->mem, 0, size, ap));
        CHECK(pcl_gemm_pack_b(ctx, 0, size, size, b->mem, 0, size, bp));
    }
    for (int r = -1; r < reps; r++) {
        CHECK(pcl_context_finish(ctx));
        double t0 = now();
        if (kernel_only)
            CHECK(pcl_gemm_packed(ctx, NULL, size, size, size, 1.0f, ap, bp, 0.0f, c->mem, 0, size, 0, 0));
        else
            CHECK(pcl_gemm(ctx, backend, 0, 0, size, size, size, 1.0f, a->mem, 0, size, b->mem, 0, size, 0.0f,
                           c->mem, 0, size));
        CHECK(pcl_context_finish(ctx));
        if (r >= 0) t[r] = now() - t0;
    }
    if (ap) pcl_buffer_release(ap), pcl_buffer_release(bp);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("sgemm %d^3 %-7s: %8.2f ms  %7.1f GFLOP/s (median of %d)\n", size, pcl_gemm_backend_name(backend),
           t[reps / 2] * 1e3, 2.0 * size * size * (double)size / t[reps / 2] * 1e-9, reps);
    free(t);
    pcl_tensor_destroy(a), pcl_tensor_destroy(b), pcl_tensor_destroy(c);
}

int main(int argc, char **argv)
{
    int reps = 5, gemm_size = 1024;
    const char *only = NULL, *backend_name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gemm") && i + 1 < argc) gemm_size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend_name = argv[++i];
        else if (!strcmp(argv[i], "--split")) split_passes = 1;
        else if (!strcmp(argv[i], "--stage") && i + 1 < argc) split_passes = 1, split_only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--reps N] [--gemm N] [--only srcnn|dense|gemm|fcae|convae] [--backend own|clblast] [--split] [--stage NAME]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    pcl_context *ctx;
    CHECK(pcl_context_create(NULL, &ctx));
    printf("device: %s (%s)\n", pcl_context_device(ctx)->name, pcl_context_device(ctx)->platform_name);
    printf("auto backend here: %s\n", pcl_gemm_backend_name(pcl_gemm_resolve(ctx, PCL_GEMM_BACKEND_AUTO)));
    pcl_gemm_backend backends[2] = {PCL_GEMM_BACKEND_OWN, PCL_GEMM_BACKEND_CLBLAST};
    for (int k = 0; k < 2; k++) {
        if (backend_name && strcmp(backend_name, pcl_gemm_backend_name(backends[k]))) continue;
        if (!only || !strcmp(only, "gemm")) bench_gemm(ctx, backends[k], gemm_size, reps);
        if (!only || !strcmp(only, "srcnn")) bench_srcnn(ctx, backends[k], reps);
        if (!only || !strcmp(only, "dense")) bench_dense(ctx, backends[k], reps);
        /* The whole-network shapes are opt-in (W4 is ~1.8 TFLOP per step). */
        if (only && !strcmp(only, "fcae")) bench_fcae(ctx, backends[k], reps);
        if (only && !strcmp(only, "convae")) bench_convae(ctx, backends[k], reps);
    }
    pcl_context_destroy(ctx);
    return 0;
}
