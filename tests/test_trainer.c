/* The shared training loop (trainer.h), on problems whose answers are known:
 *
 * - gradient scale and sign: one plain SGD step of a 1x1 convolution (2
 *   channels in and out, so SSIM's per-channel mean is exercised) with each
 *   loss kind (msssim-l1 with alpha 0.5, set through the config); the update and the reported loss against a float64 chain (the
 *   loss's float64 reference gradient, times -1/(n C) or 1/n, through the
 *   convolution by hand);
 * - it learns: a 3x3 convolution learning a fixed 3x3 filter (exactly
 *   representable, so the optimum loss is 0) with each loss, Adam with a
 *   learning-rate schedule set from on_epoch; the validation
 *   loss must fall below 5% of the identity predictor's loss, computed in
 *   float64 from the problem;
 * - the same seed gives bitwise the same weights and optimizer state; another
 *   seed does not;
 * - resume after whole epochs, mid-epoch (max_steps), and after a run
 *   killed mid-epoch that saved a checkpoint every step (checkpoint_seconds)
 *   and after a stop request (a signal handler's flag, mid-epoch and at an
 *   epoch's last batch) is bitwise the same as a straight run, also with a VAE sampler (noise
 *   per step) and a partial last batch; the CSV log holds one line per epoch
 *   with the straight run's losses;
 * - early stopping on a constructed plateau (a learning rate too small to
 *   change a float32 weight) stops after patience epochs, keeps epoch 0 as
 *   the best, and a resume of the stopped run does nothing;
 * - a loss kind outside the enum, and an msssim-l1 alpha outside [0, 1],
 *   are refused;
 * - evaluation over records of several sizes (batched by equal shapes)
 *   against float64;
 * - a NaN in a training or validation record stops the run with an error
 *   naming the epoch and step (or the validation records) and the record;
 *   so does a loss that overflows (a learning rate of 1e30). */
#include "perceptcl/checkpoint.h"
#include "perceptcl/image.h"
#include "perceptcl/layers.h"
#include "perceptcl/model.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/trainer.h"
#include "ssim_reference.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"

#define OK(call) ck_assert_msg((call) == PCL_OK, "%s", pcl_last_error())

static pcl_context *ctx;
static const pcl_loss_kind loss_kinds[] = {PCL_LOSS_KIND_MSE, PCL_LOSS_KIND_MAE, PCL_LOSS_KIND_SSIM, PCL_LOSS_KIND_MSSSIM,
                                           PCL_LOSS_KIND_MSSSIM_L1};
enum { LOSS_KINDS = sizeof loss_kinds / sizeof loss_kinds[0] };
static const double ms_beta[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};

static double uniform(uint64_t *s) { return (double)(pcl_rng_next(s) >> 11) * 0x1.0p-53; }

static pcl_ssim_options ssim_options(void)
{
    pcl_ssim_options o = pcl_ssim_options_default();
    o.mode = PCL_SSIM_MODE_SAME; /* small images */
    o.data_range = 1.0;
    return o;
}

/* The kinds loss.h computes per channel (SSIM is defined on one channel). */
static int per_channel_kind(pcl_loss_kind kind)
{
    return kind == PCL_LOSS_KIND_SSIM || kind == PCL_LOSS_KIND_MSSSIM || kind == PCL_LOSS_KIND_MSSSIM_L1;
}

/* msssim-l1's alpha in the trainer's config and in ref_loss. */
static double mix_alpha = 0.84;

/* float64 per-image loss of one channel (what the trainer minimises) and
 * d loss / d y; msssim-l1 with alpha mix_alpha and L = 1. */
static double ref_loss(pcl_loss_kind kind, const double *t, const double *y, int h, int w, double *grad)
{
    const int p = h * w;
    if (kind == PCL_LOSS_KIND_MSE || kind == PCL_LOSS_KIND_MAE) {
        const int mse = kind == PCL_LOSS_KIND_MSE;
        double sum = 0;
        for (int i = 0; i < p; i++) {
            double d = y[i] - t[i];
            sum += mse ? d * d : fabs(d);
            if (grad) grad[i] = (mse ? 2 * d : (d > 0) - (d < 0)) / p;
        }
        return sum / p;
    }
    const int ms = kind != PCL_LOSS_KIND_SSIM;
    double value;
    ck_assert(ref_ssim(t, y, h, w, 1, 1.0, ms ? 5 : 1, ms_beta, &value, NULL, grad) == 0);
    if (kind != PCL_LOSS_KIND_MSSSIM_L1) {
        if (grad)
            for (int i = 0; i < p; i++) grad[i] = -grad[i];
        return 1 - value;
    }
    const double alpha = mix_alpha;
    double l1 = 0;
    for (int i = 0; i < p; i++) {
        const double d = y[i] - t[i];
        l1 += fabs(d);
        if (grad) grad[i] = -alpha * grad[i] + (1 - alpha) * ((d > 0) - (d < 0)) / p;
    }
    return alpha * (1 - value) + (1 - alpha) * l1 / p;
}

static pcl_trainer_config quiet_config(pcl_loss_kind loss)
{
    static pcl_ssim_options o;
    o = ssim_options();
    pcl_trainer_config c = pcl_trainer_config_default();
    ck_assert(c.msssim_l1_alpha == 0.84); /* Zhao et al.'s */
    c.loss = loss;
    c.msssim_l1_alpha = mix_alpha;
    c.ssim_options = &o;
    c.progress_mode = PCL_PROGRESS_MODE_OFF;
    return c;
}

/* ---- gradient scale and sign ---------------------------------------------- */

enum { GC = 2, GH = 12, GW = 12, GN = 3 };

START_TEST(test_gradient_scale)
{
    const pcl_loss_kind kind = loss_kinds[_i];
    const char *name = pcl_loss_kind_name(kind);
    static float xs[GN * GC * GH * GW], ts[GN * GC * GH * GW];
    uint64_t r = 17;
    for (int i = 0; i < GN * GC * GH * GW; i++) xs[i] = (float)(0.1 + 0.8 * uniform(&r));
    for (int i = 0; i < GN * GC * GH * GW; i++) ts[i] = (float)(0.1 + 0.8 * uniform(&r));
    pcl_array_source arrays = {xs, ts, GN, {GC, GH, GW}, {GC, GH, GW}};
    pcl_data_source src = pcl_data_source_from_arrays(&arrays);

    pcl_model *m;
    OK(pcl_model_create(ctx, &m));
    pcl_layer *conv;
    pcl_conv2d_config cc = {GC, GC, 1, 1, 1, 0, 0, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO};
    OK(pcl_conv2d_create(ctx, &cc, &conv));
    OK(pcl_model_add(m, conv));
    float w0[GC * GC] = {0.9f, 0.2f, -0.1f, 0.7f}, b0[GC] = {0.05f, -0.02f}, w1[GC * GC], b1[GC];
    pcl_tensor *wt, *bt;
    OK(pcl_layer_param(conv, 0, &wt, NULL, NULL));
    OK(pcl_layer_param(conv, 1, &bt, NULL, NULL));
    OK(pcl_tensor_upload(wt, w0));
    OK(pcl_tensor_upload(bt, b0));
    const double lr = 0.1;
    pcl_optimizer *opt;
    pcl_sgd_config sc = pcl_sgd_config_default();
    sc.learning_rate = lr;
    OK(pcl_sgd_create(ctx, &sc, &opt));
    mix_alpha = 0.5; /* not the default: the config's alpha reaches the loss */
    pcl_trainer_config c = quiet_config(kind);
    c.batch = GN;
    c.epochs = 1;
    pcl_trainer *tr;
    OK(pcl_trainer_create(m, opt, &c, &tr));
    pcl_trainer_result res;
    OK(pcl_trainer_run(tr, &src, NULL, &res));
    ck_assert_int_eq(res.steps, 1);
    OK(pcl_tensor_download(wt, w1));
    OK(pcl_tensor_download(bt, b1));

    /* float64: y = w x + b per pixel, batch loss (1/n) sum_i per-image loss,
     * an image's loss the mean over channels for ssim/msssim (C images to
     * loss.h) and over all c*h*w pixels for mse/mae. */
    const int per_channel = per_channel_kind(kind);
    const int P = GH * GW;
    double gw[GC * GC] = {0}, gb[GC] = {0}, total = 0;
    double y[GC * GH * GW], t[GC * GH * GW], g[GC * GH * GW];
    for (int n = 0; n < GN; n++) {
        const float *x = xs + n * GC * P;
        for (int o = 0; o < GC; o++)
            for (int p = 0; p < P; p++) {
                double v = b0[o];
                for (int k = 0; k < GC; k++) v += (double)w0[o * GC + k] * x[k * P + p];
                y[o * P + p] = v;
                t[o * P + p] = ts[n * GC * P + o * P + p];
            }
        if (per_channel) {
            for (int o = 0; o < GC; o++) {
                total += ref_loss(kind, t + o * P, y + o * P, GH, GW, g + o * P) / GC / GN;
                for (int p = 0; p < P; p++) g[o * P + p] /= GC * GN;
            }
        } else {
            total += ref_loss(kind, t, y, GC * GH, GW, g) / GN; /* one image of c*h*w pixels */
            for (int p = 0; p < GC * P; p++) g[p] /= GN;
        }
        for (int o = 0; o < GC; o++)
            for (int p = 0; p < P; p++) {
                gb[o] += g[o * P + p];
                for (int k = 0; k < GC; k++) gw[o * GC + k] += g[o * P + p] * x[k * P + p];
            }
    }
    ck_assert_msg(fabs(res.train_loss - total) <= 1e-5 * fabs(total) + 1e-7, "%s: loss %.9g, float64 %.9g", name,
                  res.train_loss, total);
    /* the update -lr g against float64; float32 error of a sum of 432 terms
     * and of the loss gradient: 1e-3 relative to the largest component */
    double scale = 0;
    for (int i = 0; i < GC * GC; i++) scale = fmax(scale, fabs(lr * gw[i]));
    for (int i = 0; i < GC; i++) scale = fmax(scale, fabs(lr * gb[i]));
    ck_assert(scale > 1e-4);
    for (int i = 0; i < GC * GC; i++)
        ck_assert_msg(fabs((w1[i] - w0[i]) - (-lr * gw[i])) <= 1e-3 * scale + 1e-7,
                      "%s: weight %d moved by %.9g, float64 %.9g", name, i, w1[i] - w0[i], -lr * gw[i]);
    for (int i = 0; i < GC; i++)
        ck_assert_msg(fabs((b1[i] - b0[i]) - (-lr * gb[i])) <= 1e-3 * scale + 1e-7,
                      "%s: bias %d moved by %.9g, float64 %.9g", name, i, b1[i] - b0[i], -lr * gb[i]);
    mix_alpha = 0.84;
    pcl_trainer_destroy(tr);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
}
END_TEST

/* ---- a filter to learn ------------------------------------------------------ */

enum { FH = 16, FW = 16, FP = FH * FW, NTRAIN = 40, NVAL = 8 };
static const double filter[9] = {0.05, 0.10, 0.00, 0.10, 0.45, 0.15, 0.00, 0.10, 0.05};
static float f_x[(NTRAIN + NVAL) * FP], f_t[(NTRAIN + NVAL) * FP];

static void make_filter_data(void)
{
    uint64_t r = 4242;
    for (int s = 0; s < NTRAIN + NVAL; s++) {
        float *x = f_x + s * FP, *t = f_t + s * FP;
        /* smooth blobs plus texture, in [0, 1] */
        double cx = uniform(&r) * FW, cy = uniform(&r) * FH, rad = 3 + 4 * uniform(&r), base = 0.2 * uniform(&r);
        for (int i = 0; i < FH; i++)
            for (int j = 0; j < FW; j++) {
                double d2 = (i - cy) * (i - cy) + (j - cx) * (j - cx);
                x[i * FW + j] = (float)(base + 0.5 * exp(-d2 / (2 * rad * rad)) + 0.3 * uniform(&r));
            }
        for (int i = 0; i < FH; i++)
            for (int j = 0; j < FW; j++) {
                double v = 0;
                for (int u = -1; u <= 1; u++)
                    for (int q = -1; q <= 1; q++) {
                        int ii = i + u, jj = j + q;
                        if (ii >= 0 && ii < FH && jj >= 0 && jj < FW) v += filter[(u + 1) * 3 + q + 1] * x[ii * FW + jj];
                    }
                t[i * FW + j] = (float)v;
            }
    }
}

/* Adam with its default betas at learning rate lr. */
static pcl_optimizer *adam_at(double lr)
{
    pcl_optimizer *opt;
    pcl_adam_config ac = pcl_adam_config_default();
    ac.learning_rate = lr;
    OK(pcl_adam_create(ctx, &ac, &opt));
    return opt;
}

/* The first 16 training targets negated: training toward them takes the
 * filter away from the validation targets'. */
static const float *negated_targets(void)
{
    static float negated[16 * FP];
    for (int i = 0; i < 16 * FP; i++) negated[i] = -f_t[i];
    return negated;
}

static pcl_model *filter_model(uint64_t seed)
{
    pcl_model *m;
    OK(pcl_model_create(ctx, &m));
    pcl_layer *conv;
    pcl_conv2d_config cc = {1, 1, 3, 3, 1, 1, 1, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO};
    OK(pcl_conv2d_create(ctx, &cc, &conv));
    OK(pcl_model_add(m, conv));
    OK(pcl_model_init_weights(m, PCL_INIT_XAVIER_UNIFORM, 0, seed));
    return m;
}

/* A schedule through on_epoch: lr = 0.05 for 30 epochs, then * 0.8 per epoch, a function
 * of the epoch as trainer.h asks (Adam's fixed step would otherwise keep the
 * weights jittering around the optimum). */
static int schedule_calls;
static pcl_status schedule(void *user, const pcl_trainer_epoch *epoch)
{
    schedule_calls++;
    ck_assert(isfinite(epoch->train_loss) && isfinite(epoch->validation_loss));
    const double done = (double)(epoch->epoch + 1);
    return pcl_optimizer_set_learning_rate(user, done < 30 ? 0.05 : 0.05 * pow(0.8, done - 29));
}

START_TEST(test_learns)
{
    const pcl_loss_kind kind = loss_kinds[_i];
    const char *name = pcl_loss_kind_name(kind);
    pcl_array_source train_a = {f_x, f_t, NTRAIN, {1, FH, FW}, {1, FH, FW}};
    pcl_array_source val_a = {f_x + NTRAIN * FP, f_t + NTRAIN * FP, NVAL, {1, FH, FW}, {1, FH, FW}};
    pcl_data_source train = pcl_data_source_from_arrays(&train_a), val = pcl_data_source_from_arrays(&val_a);
    /* the identity predictor's validation loss, float64 */
    double baseline = 0;
    for (int s = 0; s < NVAL; s++) {
        double x[FP], t[FP];
        for (int p = 0; p < FP; p++) x[p] = val_a.inputs[s * FP + p], t[p] = val_a.targets[s * FP + p];
        baseline += ref_loss(kind, t, x, FH, FW, NULL) / NVAL;
    }
    ck_assert(baseline > 0);

    pcl_model *m = filter_model(3);
    pcl_optimizer *opt = adam_at(0.05);
    pcl_trainer_config c = quiet_config(kind);
    c.batch = 8;
    c.epochs = 60;
    c.seed = 1;
    c.restore_best = 1;
    c.on_epoch = schedule;
    c.user = opt;
    schedule_calls = 0;
    pcl_trainer *tr;
    OK(pcl_trainer_create(m, opt, &c, &tr));
    double before;
    OK(pcl_trainer_evaluate(tr, &val, &before));
    pcl_trainer_result res;
    OK(pcl_trainer_run(tr, &train, &val, &res));
    ck_assert_int_eq(res.epochs, 60);
    ck_assert_int_eq(res.steps, 60 * 5);
    ck_assert_int_eq(schedule_calls, 60);
    double after;
    OK(pcl_trainer_evaluate(tr, &val, &after));
    ck_assert_msg(isfinite(after) && after < 0.05 * baseline,
                  "%s: validation loss %g (start %g) not below 5%% of the identity predictor's %g", name, after, before,
                  baseline);
    /* restore_best: the model holds the best epoch's weights */
    ck_assert_msg(after == res.best_validation_loss, "%s: evaluate %.9g, best %.9g", name, after,
                  res.best_validation_loss);
    fprintf(stderr, "%-6s validation loss %.3g -> %.3g (identity predictor %.3g), best epoch %lld\n", name, before,
            after, baseline, (long long)res.best_epoch);
    pcl_trainer_destroy(tr);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
}
END_TEST

/* ---- reproducibility and resume ---------------------------------------------- */

/* Model 0: conv, batch norm, ReLU, conv. Model 1: flatten, dense, VAE
 * sampler, dense, reshape (noise drawn per step). */
static pcl_model *deep_model(int kind, uint64_t seed)
{
    pcl_model *m;
    OK(pcl_model_create(ctx, &m));
    pcl_layer *l;
    if (kind == 0) {
        pcl_conv2d_config c1 = {1, 4, 3, 3, 1, 1, 1, PCL_PADDING_REPLICATE, 0, PCL_GEMM_BACKEND_AUTO};
        OK(pcl_conv2d_create(ctx, &c1, &l));
        OK(pcl_model_add(m, l));
        OK(pcl_batchnorm_create(ctx, 4, 0.1f, 1e-5f, &l));
        OK(pcl_model_add(m, l));
        OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l));
        OK(pcl_model_add(m, l));
        pcl_conv2d_config c2 = {4, 1, 3, 3, 1, 1, 1, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO};
        OK(pcl_conv2d_create(ctx, &c2, &l));
        OK(pcl_model_add(m, l));
        OK(pcl_model_set_lr_multiplier(m, 3, 0.1));
    } else {
        OK(pcl_reshape_create(ctx, FP, 1, 1, &l));
        OK(pcl_model_add(m, l));
        OK(pcl_dense_create(ctx, FP, 8, PCL_GEMM_BACKEND_AUTO, &l));
        OK(pcl_model_add(m, l));
        OK(pcl_vae_sampler_create(ctx, 4, &l));
        OK(pcl_model_add(m, l));
        OK(pcl_dense_create(ctx, 4, FP, PCL_GEMM_BACKEND_AUTO, &l));
        OK(pcl_model_add(m, l));
        OK(pcl_reshape_create(ctx, 1, FH, FW, &l));
        OK(pcl_model_add(m, l));
        pcl_model_set_kl_weight(m, 0.01);
    }
    OK(pcl_model_init_weights(m, PCL_INIT_HE_NORMAL, 0, seed));
    return m;
}

typedef struct run_spec {
    int kind;
    uint64_t seed, init_seed;
    int64_t epochs, max_steps;
    const char *checkpoint, *resume, *log;
    double checkpoint_seconds;
    int64_t kill_at_step; /* > 0: the data source fails there, as a killed process stops */
    int64_t stop_at_step; /* > 0: the stop request is set while that step's batch is read */
} run_spec;

/* An array source whose training batch of step kill_at_step fails, or that
 * sets the stop request (as a signal handler would) at step stop_at_step. */
typedef struct stopping_source {
    pcl_data_source inner;
    int64_t calls, kill_at_step, stop_at_step;
    volatile sig_atomic_t stop;
} stopping_source;

static pcl_status stopping_fill(void *user, const size_t *indices, size_t n, uint64_t seed, float *inputs,
                              float *targets)
{
    stopping_source *k = user;
    if (k->calls == k->stop_at_step) k->stop = 1;
    if (k->calls++ == k->kill_at_step) return PCL_ERR_IO;
    return k->inner.fill(k->inner.user, indices, n, seed, inputs, targets);
}

/* Trains and returns every weight and optimizer state float (malloc'd);
 * NULL for a run killed as spec->kill_at_step asks (checked to fail). */
static float *train_run(const run_spec *spec, size_t *count, pcl_trainer_result *res)
{
    pcl_array_source train_a = {f_x, f_t, 22, {1, FH, FW}, {1, FH, FW}}; /* batches 8, 8, 6 */
    pcl_array_source val_a = {f_x + NTRAIN * FP, f_t + NTRAIN * FP, NVAL, {1, FH, FW}, {1, FH, FW}};
    pcl_data_source train = pcl_data_source_from_arrays(&train_a), val = pcl_data_source_from_arrays(&val_a);
    stopping_source stopping = {train, 0, spec->kill_at_step > 0 ? spec->kill_at_step : -1,
                            spec->stop_at_step > 0 ? spec->stop_at_step : -1, 0};
    if (spec->kill_at_step > 0 || spec->stop_at_step > 0) train.fill = stopping_fill, train.user = &stopping;
    pcl_model *m = deep_model(spec->kind, spec->init_seed);
    pcl_optimizer *opt = adam_at(0.01);
    pcl_trainer_config c = quiet_config(PCL_LOSS_KIND_MSE);
    c.batch = 8;
    c.validation_batch = 3; /* 3, 3, 2 */
    c.epochs = spec->epochs;
    c.max_steps = spec->max_steps;
    c.seed = spec->seed;
    c.checkpoint_path = spec->checkpoint;
    c.resume_path = spec->resume;
    c.log_path = spec->log;
    c.checkpoint_seconds = spec->checkpoint_seconds;
    c.stop_request = &stopping.stop;
    pcl_trainer *tr;
    OK(pcl_trainer_create(m, opt, &c, &tr));
    if (spec->kill_at_step > 0) {
        ck_assert_int_eq(pcl_trainer_run(tr, &train, &val, res), PCL_ERR_IO);
        pcl_trainer_destroy(tr);
        pcl_optimizer_destroy(opt);
        pcl_model_destroy(m);
        return NULL;
    }
    OK(pcl_trainer_run(tr, &train, &val, res));
    ck_assert_int_eq(res->interrupted, spec->stop_at_step > 0);
    size_t n = 0;
    pcl_train_weights *w = pcl_model_weights(m);
    for (int pass = 0; pass < 2; pass++) {
        float *out = pass ? malloc(n * sizeof *out) : NULL;
        size_t k = 0;
        for (int i = 0; i < pcl_train_weights_count(w); i++) {
            pcl_tensor *t;
            OK(pcl_train_weights_entry(w, i, NULL, &t));
            if (out) OK(pcl_tensor_download(t, out + k));
            k += pcl_tensor_count(t);
        }
        for (int i = 0; i < pcl_optimizer_param_count(opt); i++)
            for (int s = 0; s < pcl_optimizer_state_count(opt); s++) {
                pcl_tensor *t;
                OK(pcl_optimizer_state(opt, i, s, &t, NULL));
                if (out) OK(pcl_tensor_download(t, out + k));
                k += pcl_tensor_count(t);
            }
        n = k;
        if (out) {
            for (size_t i = 0; i < n; i++) ck_assert_msg(isfinite(out[i]), "value %zu not finite", i);
            *count = n;
            pcl_trainer_destroy(tr);
            pcl_optimizer_destroy(opt);
            pcl_model_destroy(m);
            return out;
        }
    }
    return NULL;
}

static void path_for(char *path, size_t size, const char *what)
{
    snprintf(path, size, "/tmp/pcl_test_trainer_%ld_%s", (long)getpid(), what);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    int lines = 0, ch;
    while ((ch = fgetc(f)) != EOF) lines += ch == '\n';
    fclose(f);
    return lines;
}

START_TEST(test_same_seed)
{
    const int kind = _i;
    size_t n1, n2, n3;
    pcl_trainer_result r1, r2, r3;
    run_spec s = {kind, 7, 11, 3, 0, NULL, NULL, NULL, 0.0, 0, 0};
    float *a = train_run(&s, &n1, &r1);
    float *b = train_run(&s, &n2, &r2);
    s.seed = 8;
    float *c = train_run(&s, &n3, &r3);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(!memcmp(a, b, n1 * sizeof *a), "same seed, different weights");
    ck_assert_msg(memcmp(a, c, n1 * sizeof *a), "another seed gave the same weights");
    ck_assert(r1.best_validation_loss == r2.best_validation_loss && r1.steps == 9 && r1.epochs == 3);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* The first four fields of every line of a CSV log (epoch, step, training
 * and validation loss: what a resume must repeat; not the rate and time). */
static void log_losses(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    char line[512];
    out[0] = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        for (int commas = 0; *p && commas < 4; p++) commas += *p == ',';
        const size_t used = strlen(out);
        snprintf(out + used, size - used, "%.*s\n", (int)(p - line), line);
    }
    fclose(f);
}

/* Resume after whole epochs (mode 0), after --max-steps mid-epoch (1),
 * after a run killed mid-epoch that saved every step (2: checkpoint_seconds
 * tiny; without the mid-epoch saves its state would be the last epoch's),
 * and after a stop request mid-epoch (3) and at an epoch's last batch (4:
 * the run ends after that epoch's validation and state). */
START_TEST(test_resume)
{
    const int kind = _i / 5, mode = _i % 5;
    char ck_straight[256], ck_split[256], log_straight[256], log_split[256];
    path_for(ck_straight, sizeof ck_straight, "straight.safetensors");
    path_for(ck_split, sizeof ck_split, "split.safetensors");
    path_for(log_straight, sizeof log_straight, "straight.csv");
    path_for(log_split, sizeof log_split, "split.csv");
    unlink(log_straight);
    unlink(log_split);
    size_t n1, n2;
    pcl_trainer_result r1, r2;
    run_spec straight = {kind, 5, 11, 4, 0, ck_straight, NULL, log_straight, 0.0, 0, 0};
    float *a = train_run(&straight, &n1, &r1);
    /* first part: 2 epochs; 4 steps (mid-epoch 1 of 3 batches); killed at step 5 (epoch 1, batch 2);
     * a stop requested during step 4 (saved after it: 5 steps) or step 5 (6 steps, epoch 1's last) */
    static const int64_t steps_done[] = {6, 4, 5, 5, 6};
    run_spec first = {kind, 5, 11, mode == 0 ? 2 : 4, mode == 1 ? 4 : 0, ck_split, NULL, log_split,
                      mode == 2 ? 1e-9 : 0.0, mode == 2 ? 5 : 0, mode == 3 ? 4 : mode == 4 ? 5 : 0};
    free(train_run(&first, &n2, &r2));
    ck_assert_int_eq(r2.steps, steps_done[mode]);
    const double first_seconds = r2.elapsed_seconds;
    ck_assert_msg(mode == 2 || first_seconds > 0, "elapsed %g", first_seconds);
    pcl_checkpoint *saved;
    OK(pcl_checkpoint_read(ck_split, &saved));
    char step_text[32];
    snprintf(step_text, sizeof step_text, "%lld", (long long)steps_done[mode]);
    ck_assert_str_eq(pcl_checkpoint_metadata(saved, "step"), step_text);
    pcl_checkpoint_destroy(saved);
    /* second part: other initial weights and another seed in the config,
     * both replaced by the checkpoint's */
    run_spec second = {kind, 99, 12345, 4, 0, ck_split, ck_split, log_split, 0.0, 0, 0};
    float *b = train_run(&second, &n2, &r2);
    ck_assert_uint_eq(n1, n2);
    for (size_t i = 0; i < n1; i++)
        ck_assert_msg(!memcmp(&a[i], &b[i], sizeof *a), "value %zu: straight %.9g, resumed %.9g", i, a[i], b[i]);
    ck_assert_int_eq(r2.steps, 12);
    /* the training time of both parts: the second adds to the first's saved one */
    ck_assert_msg(r2.elapsed_seconds > first_seconds, "elapsed %g after %g", r2.elapsed_seconds, first_seconds);
    ck_assert_int_eq(r2.epochs, 4);
    ck_assert(r1.best_validation_loss == r2.best_validation_loss);
    ck_assert_int_eq(r1.best_epoch, r2.best_epoch);
    ck_assert(r1.validation_loss == r2.validation_loss);
    /* the log: a header and one line per epoch over both parts, the losses
     * those of the straight run (an epoch split by the resume included) */
    ck_assert_int_eq(count_lines(log_split), 1 + 4);
    char losses_straight[2048], losses_split[2048];
    log_losses(log_straight, losses_straight, sizeof losses_straight);
    log_losses(log_split, losses_split, sizeof losses_split);
    ck_assert_str_eq(losses_split, losses_straight);
    /* the checkpoints hold the same position */
    pcl_checkpoint *c1, *c2;
    OK(pcl_checkpoint_read(ck_straight, &c1));
    OK(pcl_checkpoint_read(ck_split, &c2));
    const char *keys[] = {"seed", "epoch", "batch", "step", "rng", "loss", "optimizer_steps", "early_stop_best"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        ck_assert_str_eq(pcl_checkpoint_metadata(c1, keys[k]), pcl_checkpoint_metadata(c2, keys[k]));
    pcl_checkpoint_destroy(c1);
    pcl_checkpoint_destroy(c2);
    free(a);
    free(b);
    unlink(ck_straight);
    unlink(ck_split);
    unlink(log_straight);
    unlink(log_split);
}
END_TEST

/* A state records its run's loss, batch and recipe: a resume of another
 * configuration is refused before anything is loaded, naming every
 * mismatch; the same configuration with more epochs resumes. */
START_TEST(test_resume_refuses_another_run)
{
    char ck[256];
    path_for(ck, sizeof ck, "recipe.safetensors");
    pcl_array_source train_a = {f_x, f_t, 16, {1, FH, FW}, {1, FH, FW}};
    pcl_data_source train = pcl_data_source_from_arrays(&train_a);
    for (int pass = 0; pass < 3; pass++) {
        pcl_model *m = deep_model(0, 5);
        pcl_optimizer *opt;
        pcl_sgd_config sc = pcl_sgd_config_default();
        OK(pcl_sgd_create(ctx, &sc, &opt));
        pcl_trainer_config c = quiet_config(pass == 1 ? PCL_LOSS_KIND_MAE : PCL_LOSS_KIND_MSE);
        c.batch = pass == 1 ? 4 : 8;
        c.epochs = pass == 2 ? 2 : 1;
        c.recipe = pass == 1 ? "{\"scale\": 2, \"extra\": true}" : "{\"scale\": 4, \"data\": [\"a\"]}";
        c.checkpoint_path = ck;
        c.resume_path = pass ? ck : NULL;
        pcl_trainer *tr;
        OK(pcl_trainer_create(m, opt, &c, &tr));
        pcl_trainer_result res;
        if (pass == 1) {
            ck_assert_int_eq(pcl_trainer_check_resume(&c, ck), PCL_ERR_INVALID_ARGUMENT);
            ck_assert_int_eq(pcl_trainer_run(tr, &train, NULL, &res), PCL_ERR_INVALID_ARGUMENT);
            static const char *const named[] = {"loss mse (this run: mae)", "batch 8 (this run: 4)",
                                                "scale 4 (this run: 2)", "data [\"a\"] (this run: none)",
                                                "extra none (this run: true)"};
            for (int k = 0; k < 5; k++)
                ck_assert_msg(strstr(pcl_last_error(), named[k]), "'%s' not in %s", named[k], pcl_last_error());
            ck_assert_int_eq(res.steps, 0);
        } else {
            OK(pcl_trainer_run(tr, &train, NULL, &res));
            ck_assert_int_eq(res.steps, pass == 2 ? 4 : 2);
        }
        pcl_trainer_destroy(tr);
        pcl_optimizer_destroy(opt);
        pcl_model_destroy(m);
    }
    unlink(ck);
}
END_TEST

/* ---- early stopping ---------------------------------------------------------- */

START_TEST(test_early_stop)
{
    char ck[256], log[256], svg[256];
    path_for(ck, sizeof ck, "plateau.safetensors");
    path_for(log, sizeof log, "plateau.csv");
    path_for(svg, sizeof svg, "plateau.svg");
    unlink(log);
    pcl_array_source train_a = {f_x, f_t, 16, {1, FH, FW}, {1, FH, FW}};
    pcl_array_source val_a = {f_x + NTRAIN * FP, f_t + NTRAIN * FP, NVAL, {1, FH, FW}, {1, FH, FW}};
    pcl_data_source train = pcl_data_source_from_arrays(&train_a), val = pcl_data_source_from_arrays(&val_a);
    for (int pass = 0; pass < 2; pass++) {
        pcl_model *m = filter_model(3);
        /* a plateau: the step is far below half an ulp of every weight, so
         * no weight changes and the validation loss stays the same */
        pcl_optimizer *opt;
        pcl_sgd_config sc = pcl_sgd_config_default();
        sc.learning_rate = 1e-30;
        OK(pcl_sgd_create(ctx, &sc, &opt));
        pcl_trainer_config c = quiet_config(PCL_LOSS_KIND_MSE);
        c.batch = 8;
        c.epochs = 50;
        c.patience = 3;
        c.checkpoint_path = ck;
        c.resume_path = pass ? ck : NULL; /* pass 1: resume the stopped run */
        c.log_path = log;
        c.curve_path = svg;
        pcl_trainer *tr;
        OK(pcl_trainer_create(m, opt, &c, &tr));
        pcl_trainer_result res;
        OK(pcl_trainer_run(tr, &train, &val, &res));
        ck_assert(res.stopped_early);
        ck_assert_int_eq(res.epochs, 4); /* epoch 0 the best, 1..3 without improvement */
        ck_assert_int_eq(res.steps, 8);
        ck_assert_int_eq(res.best_epoch, 0);
        if (pass == 0) ck_assert(res.validation_loss == res.best_validation_loss);
        ck_assert_int_eq(count_lines(log), 1 + 4); /* the resume added nothing */
        pcl_trainer_destroy(tr);
        pcl_optimizer_destroy(opt);
        pcl_model_destroy(m);
    }
    FILE *f = fopen(svg, "r");
    ck_assert_msg(f != NULL, "no loss curve");
    char head[64] = {0};
    ck_assert(fread(head, 1, sizeof head - 1, f) > 0);
    fclose(f);
    ck_assert_msg(strstr(head, "<svg") || strstr(head, "<?xml"), "%s", head);
    /* patience without validation is refused */
    pcl_model *m = filter_model(3);
    pcl_optimizer *opt;
    pcl_sgd_config sc = pcl_sgd_config_default();
    OK(pcl_sgd_create(ctx, &sc, &opt));
    pcl_trainer_config c = quiet_config(PCL_LOSS_KIND_MSE);
    c.patience = 2;
    pcl_trainer *tr;
    OK(pcl_trainer_create(m, opt, &c, &tr));
    ck_assert_int_eq(pcl_trainer_run(tr, &train, NULL, NULL), PCL_ERR_INVALID_ARGUMENT);
    pcl_trainer_destroy(tr);
    /* a kind outside the enum is refused; an msssim-l1 alpha outside [0, 1]
     * by the first step, before any update */
    c = quiet_config((pcl_loss_kind)5);
    tr = (pcl_trainer *)1;
    ck_assert_int_eq(pcl_trainer_create(m, opt, &c, &tr), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(tr);
    c = quiet_config(PCL_LOSS_KIND_MSSSIM_L1);
    c.msssim_l1_alpha = 1.5;
    OK(pcl_trainer_create(m, opt, &c, &tr));
    pcl_trainer_result res = {.steps = -1};
    ck_assert_int_eq(pcl_trainer_run(tr, &train, NULL, &res), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "alpha"));
    ck_assert_int_eq(res.steps, 0);
    pcl_trainer_destroy(tr);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
    unlink(ck);
    unlink(log);
    unlink(svg);
}
END_TEST

/* The model's validation loss, evaluated now, is the best epoch's: its weights are back. */
static void ck_holds_best(pcl_trainer *tr, const pcl_data_source *val, double best, const char *what)
{
    double now;
    OK(pcl_trainer_evaluate(tr, val, &now));
    ck_assert_msg(now == best, "%s: the model's validation loss %.9g, the best epoch's %.9g", what, now, best);
}

/* Early stopping keeps the best weights, also when a resume finds the run
 * already stopped: training toward the negated targets makes every epoch
 * after the first worse on validation, so the last weights are not the best. */
START_TEST(test_early_stop_keeps_best)
{
    char ck[256];
    path_for(ck, sizeof ck, "worse.safetensors");
    const float *negated = negated_targets();
    pcl_array_source train_a = {f_x, negated, 16, {1, FH, FW}, {1, FH, FW}};
    pcl_array_source val_a = {f_x + NTRAIN * FP, f_t + NTRAIN * FP, NVAL, {1, FH, FW}, {1, FH, FW}};
    pcl_data_source train = pcl_data_source_from_arrays(&train_a), val = pcl_data_source_from_arrays(&val_a);
    double best = NAN;
    for (int pass = 0; pass < 2; pass++) {
        pcl_model *m = filter_model(3);
        pcl_optimizer *opt = adam_at(0.05);
        pcl_trainer_config c = quiet_config(PCL_LOSS_KIND_MSE);
        c.batch = 8;
        c.epochs = 50;
        c.patience = 2;
        c.restore_best = 1;
        c.checkpoint_path = ck;
        c.resume_path = pass ? ck : NULL; /* pass 1: resume the stopped run */
        pcl_trainer *tr;
        OK(pcl_trainer_create(m, opt, &c, &tr));
        pcl_trainer_result res;
        OK(pcl_trainer_run(tr, &train, &val, &res));
        ck_assert(res.stopped_early && !res.interrupted);
        ck_assert_int_eq(res.epochs, 3); /* epoch 0 the best, 1 and 2 worse */
        ck_assert_int_eq(res.best_epoch, 0);
        if (pass == 0) {
            best = res.best_validation_loss;
            ck_assert_msg(res.validation_loss > best, "last %.9g, best %.9g: the test's premise", res.validation_loss,
                          best);
        }
        ck_holds_best(tr, &val, best, pass ? "after the resume" : "after the run");
        pcl_trainer_destroy(tr);
        pcl_optimizer_destroy(opt);
        pcl_model_destroy(m);
    }
    unlink(ck);
}
END_TEST

/* A stop request (SIGTERM) seen after the run's last step interrupts nothing:
 * the run is complete, with its best weights. Cases: the last epoch's last
 * step (a best epoch before it), max_steps, the epoch early stopping ends. */
START_TEST(test_stop_at_last_step)
{
    const int which = _i;
    const float *negated = negated_targets();
    /* cases 0 and 2 train away from the validation targets (best epoch 0) */
    pcl_array_source train_a = {f_x, which == 1 ? f_t : negated, 16, {1, FH, FW}, {1, FH, FW}}; /* 2 batches */
    pcl_array_source val_a = {f_x + NTRAIN * FP, f_t + NTRAIN * FP, NVAL, {1, FH, FW}, {1, FH, FW}};
    pcl_data_source val = pcl_data_source_from_arrays(&val_a);
    stopping_source stopping = {pcl_data_source_from_arrays(&train_a), 0, -1, 0, 0};
    pcl_data_source train = stopping.inner;
    train.fill = stopping_fill, train.user = &stopping;
    pcl_model *m = filter_model(3);
    pcl_optimizer *opt = adam_at(0.05);
    pcl_trainer_config c = quiet_config(PCL_LOSS_KIND_MSE);
    c.batch = 8;
    c.epochs = which == 0 ? 3 : 50;
    c.max_steps = which == 1 ? 3 : 0;
    c.patience = which == 2 ? 2 : 0;
    c.restore_best = 1;
    c.stop_request = &stopping.stop;
    const int64_t last = which == 1 ? 3 : 6; /* the run's last step, counted from 1 */
    stopping.stop_at_step = last - 1;        /* the fill calls count from 0 */
    pcl_trainer *tr;
    OK(pcl_trainer_create(m, opt, &c, &tr));
    pcl_trainer_result res;
    OK(pcl_trainer_run(tr, &train, &val, &res));
    ck_assert_int_eq(stopping.stop, 1);
    ck_assert_int_eq(res.steps, last);
    ck_assert_msg(!res.interrupted, "case %d: a stop at the last step reported as an interruption", which);
    ck_assert_int_eq(res.stopped_early, which == 2);
    if (which != 1) {
        ck_assert_int_eq(res.epochs, 3);
        ck_assert(res.validation_loss > res.best_validation_loss); /* the premise: the last epoch is not the best */
        ck_holds_best(tr, &val, res.best_validation_loss, which ? "early stopping's epoch" : "the last epoch");
    }
    pcl_trainer_destroy(tr);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
}
END_TEST

/* ---- evaluation over records of several sizes --------------------------------- */

/* Records 0..2 are 16x16, 3..4 the top-left 12x10 of records 3..4. */
static void shaped_size(size_t index, int *h, int *w)
{
    *h = index < 3 ? FH : 12;
    *w = index < 3 ? FW : 10;
}

static pcl_status shaped_shape(void *user, size_t index, int input[3], int target[3])
{
    (void)user;
    input[0] = target[0] = 1;
    shaped_size(index, &input[1], &input[2]);
    target[1] = input[1], target[2] = input[2];
    return PCL_OK;
}

static pcl_status shaped_fill(void *user, const size_t *indices, size_t n, uint64_t seed, float *inputs,
                              float *targets)
{
    (void)user, (void)seed;
    for (size_t k = 0; k < n; k++) {
        int h, w;
        shaped_size(indices[k], &h, &w);
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                inputs[(k * h + i) * w + j] = f_x[indices[k] * FP + i * FW + j];
                targets[(k * h + i) * w + j] = f_t[indices[k] * FP + i * FW + j];
            }
    }
    return PCL_OK;
}

START_TEST(test_evaluate_shapes)
{
    /* An identity convolution (centre tap 1) reproduces its input exactly,
     * so the loss is the identity predictor's, computed here in float64. */
    pcl_model *m = filter_model(3);
    float identity[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, zero = 0;
    pcl_tensor *w, *b;
    OK(pcl_layer_param(pcl_model_layer(m, 0), 0, &w, NULL, NULL));
    OK(pcl_layer_param(pcl_model_layer(m, 0), 1, &b, NULL, NULL));
    OK(pcl_tensor_upload(w, identity));
    OK(pcl_tensor_upload(b, &zero));
    pcl_data_source src = {5, {0, 0, 0}, {0, 0, 0}, shaped_fill, shaped_shape, NULL};
    for (int l = 0; l < 2; l++) {
        pcl_optimizer *opt;
        pcl_sgd_config sc = pcl_sgd_config_default();
        OK(pcl_sgd_create(ctx, &sc, &opt));
        pcl_trainer_config c = quiet_config(loss_kinds[l * 2]); /* mse, ssim */
        c.batch = 2;
        pcl_trainer *tr;
        OK(pcl_trainer_create(m, opt, &c, &tr));
        double loss, expected = 0;
        OK(pcl_trainer_evaluate(tr, &src, &loss));
        for (size_t r = 0; r < 5; r++) {
            int h, wd;
            shaped_size(r, &h, &wd);
            double x[FP], t[FP];
            for (int i = 0; i < h; i++)
                for (int j = 0; j < wd; j++) {
                    x[i * wd + j] = f_x[r * FP + i * FW + j];
                    t[i * wd + j] = f_t[r * FP + i * FW + j];
                }
            expected += ref_loss(loss_kinds[l * 2], t, x, h, wd, NULL) / 5;
        }
        ck_assert_msg(fabs(loss - expected) <= 1e-5 * expected, "%s: %.9g, float64 %.9g",
                      pcl_loss_kind_name(loss_kinds[l * 2]), loss,
                      expected);
        /* a training source may not have per-record shapes */
        ck_assert_int_eq(pcl_trainer_run(tr, &src, NULL, NULL), PCL_ERR_INVALID_ARGUMENT);
        pcl_trainer_destroy(tr);
        pcl_optimizer_destroy(opt);
    }
    pcl_model_destroy(m);
}
END_TEST

/* ---- NaN ------------------------------------------------------------------- */

START_TEST(test_nan)
{
    const int in_validation = _i == 1, diverge = _i == 2;
    char ck[256];
    path_for(ck, sizeof ck, "nan.safetensors");
    unlink(ck);
    static float x[24 * FP];
    memcpy(x, f_x, sizeof x);
    pcl_array_source train_a = {in_validation ? f_x : x, f_t, 24, {1, FH, FW}, {1, FH, FW}};
    pcl_array_source val_a = {in_validation ? x : f_x, f_t, 24, {1, FH, FW}, {1, FH, FW}};
    if (!diverge) x[13 * FP + 100] = NAN; /* record 13 */
    pcl_data_source train = pcl_data_source_from_arrays(&train_a), val = pcl_data_source_from_arrays(&val_a);
    pcl_model *m = filter_model(3);
    pcl_optimizer *opt;
    pcl_sgd_config sc = pcl_sgd_config_default();
    if (diverge) sc.learning_rate = 1e30; /* the first step throws the weights to ~1e29 */
    OK(pcl_sgd_create(ctx, &sc, &opt));
    pcl_trainer_config c = quiet_config(diverge ? PCL_LOSS_KIND_MSE : PCL_LOSS_KIND_SSIM);
    c.batch = 8;
    c.epochs = 2;
    c.checkpoint_path = ck;
    pcl_trainer *tr;
    OK(pcl_trainer_create(m, opt, &c, &tr));
    pcl_trainer_result res;
    ck_assert_int_eq(pcl_trainer_run(tr, &train, &val, &res), PCL_ERR_UNDEFINED);
    const char *msg = pcl_last_error();
    fprintf(stderr, "expected error: %s\n", msg);
    if (diverge) {
        ck_assert_msg(strstr(msg, "epoch 0, step 1 ") && (strstr(msg, "NaN") || strstr(msg, "infinite")), "%s", msg);
        ck_assert_int_eq(res.steps, 1);
    } else if (in_validation) {
        ck_assert_msg(strstr(msg, "validation after epoch 0") && strstr(msg, "records 8..15") && strstr(msg, "NaN"),
                      "%s", msg);
        ck_assert_int_eq(res.steps, 3);
    } else {
        /* the batch holding record 13 fails before its optimizer step */
        ck_assert_msg(strstr(msg, "epoch 0, step") && strstr(msg, "NaN"), "%s", msg);
        ck_assert(res.steps < 3);
    }
    ck_assert_msg(access(ck, F_OK) != 0, "a checkpoint was written for a failed epoch");
    pcl_trainer_destroy(tr);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
}
END_TEST

int main(void)
{
    pcl_status status = pcl_context_create(NULL, &ctx);
    if (status != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 77;
    }
    make_filter_data();
    Suite *suite = suite_create("trainer");
    TCase *tc = tcase_create("trainer");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_gradient_scale, 0, LOSS_KINDS);
#ifndef PCL_TEST_SMALL /* the oclgrind suite: one step per loss (trainer.cl's kernels); the rest is slow there */
    tcase_add_loop_test(tc, test_learns, 0, LOSS_KINDS);
    tcase_add_loop_test(tc, test_same_seed, 0, 2);
    tcase_add_loop_test(tc, test_resume, 0, 10);
    tcase_add_test(tc, test_resume_refuses_another_run);
    tcase_add_test(tc, test_early_stop);
    tcase_add_test(tc, test_early_stop_keeps_best);
    tcase_add_loop_test(tc, test_stop_at_last_step, 0, 3);
    tcase_add_test(tc, test_evaluate_shapes);
    tcase_add_loop_test(tc, test_nan, 0, 3);
#endif
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(ctx);
    return failed ? 1 : 0;
}
