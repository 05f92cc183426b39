/* bench_train: whole training steps of the paper's networks, the W3a, W4a, W4b
 * and W5a workloads of ../shared/docs/BASELINES.md (PyTorch's versions:
 * ../shared/bench/torch_ref/run.py and models.py), built with the public
 * model / layer / loss / optimizer API:
 *   W3a  SRCNN 9-5-5 (valid), 128 x 33x33 -> 17x17, SGD lr 1e-3 m 0.9, MSE
 *   W4a  conv AE, 64 x 96x96 in [-1, 1], Adam lr 1e-3, MSE
 *   W4b  the same with 1 - MS-SSIM (same mode, L = 2, standard weights)
 *   W5a  FC AE 1024-8192-...-256 (tanh + sign bottleneck, straight-through),
 *        64 x 32x32 in [-1, 1], SGD lr 1e-2 m 0.9 wd 5e-5, MSE
 * The steps are the trainer's own (pcl_trainer_run, src/train/trainer.c, as the
 * apps train): the source holds one batch, so every epoch is one step:
 * batch upload, forward, the loss by name (its values read to the host, where
 * the trainer checks them), backward, optimizer step. A step's time is the
 * time between two epoch callbacks; the loss read-back of a step waits for the
 * previous step's update, so in steady state that interval is one whole step.
 * The batch is fixed and synthetic (blurred noise stretched to the range, as
 * run.py's smooth_images). Untimed warm-up steps (PyTorch's counts), then the
 * median / min / max of the timed steps.
 * FLOPs as torch_ref/flops.py: 2 (3 sum MACs - first layer's MACs) + optimizer
 * FLOPs per parameter (SGD m 4, +2 with weight decay; Adam 13) + loss.
 * Sanity check: every step's loss must be finite (else exit 1); the first,
 * last and lowest are printed (--json: every step's). The conv AE's weights
 * (W4a, W4b) are drawn as PyTorch's defaults (PCL_INIT_TORCH_DEFAULT), as
 * run.py leaves them: from He-normal weights W4a's first Adam step (lr 1e-3)
 * saturates the output tanh and the loss stays at ~1.07, in PyTorch as here
 * (bench/RESULTS.md, "W4a's loss").
 * Usage: bench_train [--only W3a,W4a,W4b,W5a] [--reps N] [--json] [--bucket-mb M]
 *        (--json: one JSON object per workload on stdout, the text on stderr;
 *         device selection: PERCEPTCL_DEVICE / PERCEPTCL_PLATFORM)
 * Under mpirun -np N (comm.h) the same global batch is split over the ranks
 * (the trainer's data-parallel mode, --bucket-mb: its gradient buckets);
 * rank 0 prints, rates are global images per second, and "exchange" is the
 * median step's share of host time in the gradient exchange. */
#include "perceptcl/architectures.h"
#include "perceptcl/comm.h"
#include "perceptcl/layers.h"
#include "perceptcl/loss.h"
#include "perceptcl/model.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

/* ---- the networks: the tables of architectures.h, with their MACs ---------- */

typedef struct net {
    pcl_model *model;
    double macs, first_macs; /* forward MACs of the batch; those of the first conv/dense */
} net;

/* Builds arch and counts its forward MACs for a batch of n (arch_macs). */
static void net_build(pcl_context *ctx, const pcl_architecture *arch, int n, net *out)
{
    CHECK(pcl_model_build_architecture(ctx, arch, &out->model));
    CHECK(arch_macs(arch, n, &out->macs, &out->first_macs));
}

/* ---- FLOPs (torch_ref/flops.py) ----------------------------------------- */

static void ssim_counts(double h, double w, int same, double *fwd, double *bwd)
{
    const double horiz = same ? (h + 10) * w : h * (w - 10);
    const double map = same ? h * w : (h - 10) * (w - 10);
    const double blur = 5.0 * 2 * 11 * (horiz + map);
    *fwd = 3 * h * w + blur + 18 * map;
    *bwd = floor(3 * blur / 5) + 36 * map + 5 * h * w;
}

/* FLOPs of one batch's loss, forward + backward. */
static double loss_flops(pcl_loss_kind loss, int n, int h, int w)
{
    if (loss == PCL_LOSS_KIND_MSE) return n * 5.0 * h * w;
    double fwd = 0, bwd = 0; /* msssim, same mode, 5 levels */
    for (int j = 0; j < 5; j++) {
        double f, b;
        ssim_counts(h, w, 1, &f, &b);
        fwd += f, bwd += b;
        if (j < 4) {
            bwd += (double)h * w;
            h = (h + 1) / 2, w = (w + 1) / 2;
            fwd += 8.0 * h * w;
        }
    }
    return n * (fwd + bwd);
}

/* ---- synthetic data (run.py smooth_images) ------------------------------ */

/* n images of h x w: uniform noise, 5x5 box blur with replicated edges, each
 * image stretched to [lo, hi]. */
static float *smooth_images(int n, int h, int w, float lo, float hi, uint64_t seed)
{
    float *noise = malloc(sizeof(float) * (size_t)n * h * w), *out = malloc(sizeof(float) * (size_t)n * h * w);
    if (!noise || !out) {
        fprintf(stderr, "bench_train: out of memory\n");
        exit(1);
    }
    uint64_t state = seed;
    for (size_t i = 0; i < (size_t)n * h * w; i++) noise[i] = (float)pcl_random_uniform(&state);
    for (int k = 0; k < n; k++) {
        const float *src = noise + (size_t)k * h * w;
        float *dst = out + (size_t)k * h * w, mn = INFINITY, mx = -INFINITY;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float s = 0;
                for (int u = -2; u <= 2; u++)
                    for (int v = -2; v <= 2; v++) {
                        const int y = i + u < 0 ? 0 : i + u >= h ? h - 1 : i + u;
                        const int x = j + v < 0 ? 0 : j + v >= w ? w - 1 : j + v;
                        s += src[y * w + x];
                    }
                dst[i * w + j] = s / 25;
                mn = fminf(mn, s / 25), mx = fmaxf(mx, s / 25);
            }
        for (int i = 0; i < h * w; i++) dst[i] = lo + (hi - lo) * (dst[i] - mn) / (mx - mn);
    }
    free(noise);
    return out;
}

/* ---- the workloads ------------------------------------------------------- */

typedef struct workload {
    const char *name, *what, *unit;
    int warmup, reps;
} workload;

static const workload workloads[] = {
    {"W3a", "SRCNN 9-5-5 train step, 128 x 33x33 -> 17x17, SGD m=0.9, MSE", "patches/s", 3, 20},
    {"W4a", "conv AE train step, 64 x 96x96, Adam, MSE", "images/s", 2, 10},
    {"W4b", "conv AE train step, 64 x 96x96, Adam, 1 - MS-SSIM (same, 5 scales)", "images/s", 2, 10},
    {"W5a", "FC AE train step, 64 x 1024, SGD m=0.9 wd=5e-5, MSE", "images/s", 3, 20},
};

typedef struct bench {
    pcl_model *model;
    pcl_optimizer *opt;
    float *x, *target; /* the batch on the host (target == x for autoencoders) */
    int batch, in[4], out[4];
    pcl_loss_kind loss;
    double flops;
    /* filled by the epoch callback: the end time and loss of each step */
    double *end, *loss_of;
    int steps_done;
} bench;

static void bench_setup(pcl_context *ctx, const workload *wl, bench *b)
{
    memset(b, 0, sizeof *b);
    net n = {NULL, 0, 0};
    float *hx, *ht;
    int th, tw;
    double opt_flops_per_param;
    const int srcnn = !strcmp(wl->name, "W3a"), conv = wl->name[1] == '4';
    b->batch = srcnn ? 128 : 64;
    const int ih = srcnn ? 33 : conv ? 96 : 32, iw = ih;
    if (srcnn) {
        /* models.py SRCNN: 9x9 1->64, ReLU, 5x5 64->32, ReLU, 5x5 32->1, no
         * padding (pcl_arch_srcnn_955); Gaussian init std 0.001. */
        net_build(ctx, &pcl_arch_srcnn_955, b->batch, &n);
        CHECK(pcl_model_init_weights(n.model, PCL_INIT_GAUSSIAN, 1e-3, 1));
        hx = smooth_images(b->batch, ih, iw, 0.0f, 1.0f, 3);
        th = tw = 17;
        ht = malloc(sizeof(float) * (size_t)b->batch * th * tw);
        for (int k = 0; k < b->batch; k++) /* the centre 17x17 of the input, as run.py */
            for (int i = 0; i < th; i++)
                memcpy(ht + ((size_t)k * th + i) * tw, hx + ((size_t)k * ih + i + 8) * iw + 8, sizeof(float) * tw);
        pcl_sgd_config c = {1e-3, 0.9, 0.0, 0.0, 0};
        CHECK(pcl_sgd_create(ctx, &c, &b->opt));
        opt_flops_per_param = 4;
    } else {
        th = ih, tw = iw;
        /* models.py ConvAE (pcl_arch_conv_ae_96: 5x5 stride-2 convs 1->128->256->512,
         * FC 73728->128 + tanh; FC 128->73728 + ReLU, three times 2x nearest
         * upsampling + 5x5 conv, tanh output) and FCAE (pcl_arch_fc_binary_ae:
         * dense 1024-...-256 ReLU, tanh + sign straight-through, the mirror, tanh) */
        net_build(ctx, conv ? &pcl_arch_conv_ae_96 : &pcl_arch_fc_binary_ae, b->batch, &n);
        /* The conv AE: PyTorch's default init, as run.py keeps it (weights
         * and biases U(+-1/sqrt(fan_in))); from He-normal weights its first
         * Adam step saturates the output tanh on both sides (RESULTS.md,
         * "W4a's loss"). The FC AE: He normal (it trains from it with SGD).
         * The step's time does not depend on the values. */
        CHECK(pcl_model_init_weights(n.model, conv ? PCL_INIT_TORCH_DEFAULT : PCL_INIT_HE_NORMAL, 0, 1));
        hx = smooth_images(b->batch, th, tw, -1.0f, 1.0f, conv ? 4 : 5);
        ht = hx; /* autoencoders: the target is the input */
        if (conv) {
            pcl_adam_config c = pcl_adam_config_default();
            CHECK(pcl_adam_create(ctx, &c, &b->opt));
            opt_flops_per_param = 13;
        } else {
            pcl_sgd_config c = {1e-2, 0.9, 0.0, 5e-5, 0};
            CHECK(pcl_sgd_create(ctx, &c, &b->opt));
            opt_flops_per_param = 6;
        }
    }
    b->model = n.model;
    int in[4] = {b->batch, 1, ih, iw}, out[4];
    CHECK(pcl_model_output_shape(b->model, in, out));
    if (out[1] != 1 || out[2] != th || out[3] != tw) {
        fprintf(stderr, "bench_train: %s gives %dx%dx%d, expected 1x%dx%d\n", wl->name, out[1], out[2], out[3], th, tw);
        exit(1);
    }
    CHECK(pcl_model_add_to_optimizer(b->model, b->opt));
    memcpy(b->in, in, sizeof in);
    memcpy(b->out, out, sizeof out);
    b->x = hx;
    b->target = ht;
    const pcl_loss_kind loss = b->loss = !strcmp(wl->name, "W4b") ? PCL_LOSS_KIND_MSSSIM : PCL_LOSS_KIND_MSE;
    b->flops = 2 * (3 * n.macs - n.first_macs) + opt_flops_per_param * (double)pcl_model_param_floats(b->model) +
               loss_flops(loss, b->batch, th, tw);
}

static void bench_free(bench *b)
{
    pcl_optimizer_destroy(b->opt);
    pcl_model_destroy(b->model);
    if (b->target != b->x) free(b->target);
    free(b->x), free(b->end), free(b->loss_of);
}

static pcl_comm *job;       /* mpirun's ranks, or one process */
static size_t bucket_bytes; /* 0: the trainer's default */
static double exchange_seconds;

static pcl_status record_step(void *user, const pcl_trainer_epoch *epoch)
{
    bench *b = user;
    b->end[b->steps_done] = now();
    b->loss_of[b->steps_done++] = epoch->train_loss;
    return PCL_OK;
}

/* Runs steps training steps through the trainer; t[s] = step s's time. */
static void run_steps(bench *b, int steps, double *t)
{
    pcl_ssim_options so = pcl_ssim_options_default();
    so.mode = PCL_SSIM_MODE_SAME; /* ssim_torch.ms_ssim(t, o, 2.0, "same") */
    so.data_range = 2.0;
    pcl_trainer_config config = pcl_trainer_config_default();
    config.loss = b->loss;
    config.ssim_options = &so;
    config.batch = (size_t)b->batch;
    config.epochs = steps; /* one batch per epoch */
    config.progress_mode = PCL_PROGRESS_MODE_OFF;
    config.on_epoch = record_step;
    config.user = b;
    config.comm = job;
    config.bucket_bytes = bucket_bytes;
    pcl_array_source arrays = {b->x, b->target, (size_t)b->batch, {b->in[1], b->in[2], b->in[3]},
                               {b->out[1], b->out[2], b->out[3]}};
    pcl_data_source source = pcl_data_source_from_arrays(&arrays);
    pcl_trainer *trainer;
    b->end = malloc(sizeof(double) * (size_t)steps);
    b->loss_of = malloc(sizeof(double) * (size_t)steps);
    CHECK(pcl_trainer_create(b->model, b->opt, &config, &trainer));
    const double start = now();
    pcl_trainer_result result;
    CHECK(pcl_trainer_run(trainer, &source, NULL, &result));
    exchange_seconds = result.exchange_seconds;
    pcl_trainer_destroy(trainer);
    for (int k = 0; k < steps; k++) t[k] = b->end[k] - (k ? b->end[k - 1] : start);
}

static int run_workload(pcl_context *ctx, const workload *wl, int reps, int json)
{
    bench b;
    bench_setup(ctx, wl, &b);
    const int steps = wl->warmup + reps;
    double *all = malloc(sizeof(double) * (size_t)steps), *t = all + wl->warmup;
    run_steps(&b, steps, all);
    const double *loss = b.loss_of;
    for (int s = 0; s < steps; s++)
        if (!isfinite(loss[s])) {
            fprintf(stderr, "bench_train: %s: the loss of step %d is %g\n", wl->name, s + 1, loss[s]);
            return 1;
        }
    double total = 0.0; /* the whole run, warm-up included */
    for (int s = 0; s < steps; s++) total += all[s];
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    const double med = t[reps / 2];
    const int decreased = loss[steps - 1] < loss[0];
    int lowest = 0;
    for (int s = 1; s < steps; s++)
        if (loss[s] < loss[lowest]) lowest = s;
    if (pcl_comm_rank(job) != 0) { /* rank 0 reports */
        free(all);
        bench_free(&b);
        return 0;
    }
    FILE *text = json ? stderr : stdout;
    if (pcl_comm_size(job) > 1)
        fprintf(text, "%d ranks: %.1f s of the run's %.1f s in gradient exchanges (rank 0)\n", pcl_comm_size(job),
                exchange_seconds, total);
    fprintf(text, "%-4s %10.2f %-9s (min %.2f, max %.2f; median step %.1f ms) %7.2f GFLOP/s  loss %.6g -> %.6g (%s; lowest %.6g at step %d)  %s\n",
            wl->name, b.batch / med, wl->unit, b.batch / t[reps - 1], b.batch / t[0], med * 1e3, b.flops / med * 1e-9,
            loss[0], loss[steps - 1], decreased ? "decreasing" : "NOT decreasing", loss[lowest], lowest + 1, wl->what);
    fflush(text);
    if (json) {
        printf("{\"name\": \"%s\", \"what\": \"%s\", \"unit\": \"%s\", \"batch\": %d, \"warmup\": %d, \"reps\": %d, "
               "\"median_s\": %.6f, \"min_s\": %.6f, \"max_s\": %.6f, \"rate_median\": %.4f, \"rate_min\": %.4f, "
               "\"rate_max\": %.4f, \"flops_per_step\": %.0f, \"gflops_median\": %.4f, \"first_loss\": %.8g, "
               "\"last_loss\": %.8g, \"loss_decreased\": %s, \"losses\": [",
               wl->name, wl->what, wl->unit, b.batch, wl->warmup, reps, med, t[0], t[reps - 1], b.batch / med,
               b.batch / t[reps - 1], b.batch / t[0], b.flops, b.flops / med * 1e-9, loss[0], loss[steps - 1],
               decreased ? "true" : "false");
        for (int s = 0; s < steps; s++) printf("%s%.8g", s ? ", " : "", loss[s]);
        printf("]}\n");
        fflush(stdout);
    }
    free(all);
    bench_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(pcl_comm_open(&argc, &argv, &job));
    const char *only = NULL;
    int reps = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--only")) only = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--reps")) reps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--bucket-mb")) bucket_bytes = (size_t)(atof(argv[++i]) * 1048576.0);
        else {
            fprintf(stderr, "usage: bench_train [--only W3a,W4a,W4b,W5a] [--reps N] [--json] [--bucket-mb M]\n");
            return 2;
        }
    }
    if (reps < 0 || reps > 1000) {
        fprintf(stderr, "bench_train: --reps must be 1..1000\n");
        return 2;
    }
    pcl_context *ctx;
    pcl_device_selection selection = {0};
    selection.local_rank = pcl_comm_local_rank(job);
    CHECK(pcl_context_create(&selection, &ctx));
    if (pcl_comm_rank(job) == 0) fprintf(json ? stderr : stdout, "device: %s\n", pcl_context_device(ctx)->name);
    int status = 0, ran = 0;
    for (size_t k = 0; k < sizeof workloads / sizeof workloads[0] && !status; k++) {
        const workload *wl = &workloads[k];
        if (only) { /* exact names in a comma-separated list */
            const char *p = strstr(only, wl->name);
            const size_t len = strlen(wl->name);
            while (p && !((p == only || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))) p = strstr(p + 1, wl->name);
            if (!p) continue;
        }
        status = run_workload(ctx, wl, reps ? reps : wl->reps, json);
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "bench_train: no workload named in --only %s (W3a, W4a, W4b, W5a)\n", only);
        status = 2;
    }
    pcl_context_destroy(ctx);
    pcl_comm_close(job);
    return status;
}
