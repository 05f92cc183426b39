/* --resume continues a run exactly: a tiny model (dense 8->16, batch
 * normalisation, ReLU, dense 16->4, MSE loss from loss.h) trained with seeded
 * shuffling, mini-batches, a validation pass per epoch and early stopping
 * for N steps straight, against N/2 steps, a checkpoint written with
 * pcl_train_save, every object destroyed, a fresh model built with other
 * initial weights, pcl_train_load, and the N/2 remaining steps. The final
 * weights, batch normalisation's running statistics, the optimizer's state,
 * the best weights of early stopping and the position must be bitwise equal
 * (SGD with momentum and Adam; a split mid-epoch and one at an epoch's end).
 * Also: the loss goes down (the loop trains), a checkpoint for another
 * optimizer or with a missing tensor is refused without touching the model,
 * and a weights-only load works. */
#include "perceptcl/checkpoint.h"
#include "perceptcl/image.h"
#include "perceptcl/layers.h"
#include "perceptcl/loss.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/train.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"

enum { IN = 8, HID = 16, OUT = 4, NS = 24, NV = 6, BATCH = 6 };

static pcl_context *ctx;
static float data_x[NS * IN], data_t[NS * OUT], val_x[NV * IN], val_t[NV * OUT];

typedef struct model {
    pcl_layer *d1, *bn, *act, *d2;
    pcl_tensor *x, *h1, *h2, *h3, *y, *t, *dy, *dh3, *dh2, *dh1;
    pcl_loss *loss;
    pcl_train_weights *weights;
    pcl_optimizer *opt;
    pcl_early_stop *stop;
} model;

static pcl_tensor *tensor(int n, int c)
{
    pcl_tensor *t;
    ck_assert_msg(pcl_tensor_create(ctx, n, c, 1, 1, &t) == PCL_OK, "%s", pcl_last_error());
    return t;
}

#define OK(call) ck_assert_msg((call) == PCL_OK, "%s", pcl_last_error())

static void model_create(model *m, int adam, uint64_t init_seed)
{
    OK(pcl_dense_create(ctx, IN, HID, PCL_GEMM_AUTO, &m->d1));
    OK(pcl_batchnorm_create(ctx, HID, 0.1f, 1e-5f, &m->bn));
    OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &m->act));
    OK(pcl_dense_create(ctx, HID, OUT, PCL_GEMM_AUTO, &m->d2));
    pcl_tensor *w;
    OK(pcl_layer_param(m->d1, 0, &w, NULL, NULL));
    OK(pcl_tensor_init_he_normal(w, IN, init_seed));
    OK(pcl_layer_param(m->d2, 0, &w, NULL, NULL));
    OK(pcl_tensor_init_xavier_uniform(w, HID, OUT, init_seed + 1));
    m->x = tensor(BATCH, IN);
    m->h1 = tensor(BATCH, HID);
    m->h2 = tensor(BATCH, HID);
    m->h3 = tensor(BATCH, HID);
    m->y = tensor(BATCH, OUT);
    m->t = tensor(BATCH, OUT);
    m->dy = tensor(BATCH, OUT);
    m->dh3 = tensor(BATCH, HID);
    m->dh2 = tensor(BATCH, HID);
    m->dh1 = tensor(BATCH, HID);
    OK(pcl_loss_create(ctx, "mse", BATCH, 1, OUT, NULL, &m->loss));
    OK(pcl_train_weights_create(&m->weights));
    OK(pcl_train_weights_add_layer(m->weights, m->d1, "0"));
    OK(pcl_train_weights_add_layer(m->weights, m->bn, "1"));
    OK(pcl_train_weights_add_layer(m->weights, m->d2, "3"));
    if (adam) {
        pcl_adam_config c = pcl_adam_config_default();
        c.learning_rate = 0.01;
        OK(pcl_adam_create(ctx, &c, &m->opt));
    } else {
        pcl_sgd_config c = {0.05, 0.9, 0.0, 1e-4, 0};
        OK(pcl_sgd_create(ctx, &c, &m->opt));
    }
    OK(pcl_optimizer_add_layer(m->opt, m->d1, "0", 1.0));
    OK(pcl_optimizer_add_layer(m->opt, m->bn, "1", 1.0));
    OK(pcl_optimizer_add_layer(m->opt, m->d2, "3", 0.1)); /* SRCNN-style smaller rate on the last layer */
    OK(pcl_early_stop_create(2, 0.0, m->weights, &m->stop));
}

static void model_destroy(model *m)
{
    pcl_early_stop_destroy(m->stop);
    pcl_optimizer_destroy(m->opt);
    pcl_train_weights_destroy(m->weights);
    pcl_loss_destroy(m->loss);
    pcl_tensor *ts[] = {m->x, m->h1, m->h2, m->h3, m->y, m->t, m->dy, m->dh3, m->dh2, m->dh1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) pcl_tensor_destroy(ts[i]);
    pcl_layer_destroy(m->d1);
    pcl_layer_destroy(m->bn);
    pcl_layer_destroy(m->act);
    pcl_layer_destroy(m->d2);
    memset(m, 0, sizeof *m);
}

/* Forward of one batch; returns the mean loss. */
static double forward(model *m, const float *x, const float *t)
{
    float values[BATCH];
    OK(pcl_tensor_upload(m->x, x));
    OK(pcl_tensor_upload(m->t, t));
    OK(pcl_layer_forward(m->d1, m->x, m->h1));
    OK(pcl_layer_forward(m->bn, m->h1, m->h2));
    OK(pcl_layer_forward(m->act, m->h2, m->h3));
    OK(pcl_layer_forward(m->d2, m->h3, m->y));
    OK(pcl_loss_run(m->loss, m->t->mem, m->y->mem, values, m->dy->mem));
    double sum = 0;
    for (int i = 0; i < BATCH; i++) {
        ck_assert_msg(isfinite(values[i]), "loss %d not finite", i);
        sum += values[i];
    }
    return sum / BATCH;
}

static double train_step(model *m, const size_t *idx)
{
    float x[BATCH * IN], t[BATCH * OUT];
    for (int b = 0; b < BATCH; b++) {
        memcpy(x + b * IN, data_x + idx[b] * IN, IN * sizeof(float));
        memcpy(t + b * OUT, data_t + idx[b] * OUT, OUT * sizeof(float));
    }
    double loss = forward(m, x, t);
    OK(pcl_optimizer_zero_grad(m->opt));
    OK(pcl_layer_backward(m->d2, m->h3, m->y, m->dy, m->dh3));
    OK(pcl_layer_backward(m->act, m->h2, m->h3, m->dh3, m->dh2));
    OK(pcl_layer_backward(m->bn, m->h1, m->h2, m->dh2, m->dh1));
    OK(pcl_layer_backward(m->d1, m->x, m->h1, m->dh1, NULL));
    OK(pcl_optimizer_step(m->opt));
    return loss;
}

static double validate(model *m)
{
    pcl_layer_set_training(m->bn, 0);
    double loss = forward(m, val_x, val_t);
    pcl_layer_set_training(m->bn, 1);
    return loss;
}

/* Trains from *pos until step == until (whole epochs end with a validation
 * and early-stopping update). Returns the last epoch's mean train loss. */
static double run(model *m, pcl_train_position *pos, int64_t until)
{
    size_t order[NS];
    const int64_t batches = (int64_t)pcl_train_batch_count(NS, BATCH, 1);
    double epoch_loss = NAN;
    while (pos->step < until) {
        pcl_train_epoch_order(pos, order, NS);
        double sum = 0;
        for (; pos->batch < batches && pos->step < until; pos->batch++, pos->step++)
            sum += train_step(m, order + pos->batch * BATCH);
        if (pos->batch == batches) {
            int improved, should_stop;
            OK(pcl_early_stop_update(m->stop, pos->epoch, validate(m), &improved, &should_stop));
            epoch_loss = sum / (double)batches;
            pcl_train_next_epoch(pos);
        }
    }
    return epoch_loss;
}

/* Everything that must match, downloaded in a fixed order. */
static size_t snapshot(model *m, float *out)
{
    size_t n = 0;
    for (int i = 0; i < pcl_train_weights_count(m->weights); i++) {
        pcl_tensor *t;
        OK(pcl_train_weights_entry(m->weights, i, NULL, &t));
        if (out) OK(pcl_tensor_download(t, out + n));
        n += pcl_tensor_count(t);
    }
    for (int i = 0; i < pcl_optimizer_param_count(m->opt); i++)
        for (int s = 0; s < pcl_optimizer_state_count(m->opt); s++) {
            pcl_tensor *t;
            OK(pcl_optimizer_state(m->opt, i, s, &t, NULL));
            if (out) OK(pcl_tensor_download(t, out + n));
            n += pcl_tensor_count(t);
        }
    /* The best weights: restore them into the model and read them back. */
    if (out) {
        OK(pcl_early_stop_restore(m->stop));
        for (int i = 0; i < pcl_train_weights_count(m->weights); i++) {
            pcl_tensor *t;
            OK(pcl_train_weights_entry(m->weights, i, NULL, &t));
            OK(pcl_tensor_download(t, out + n));
            n += pcl_tensor_count(t);
        }
    } else {
        for (int i = 0; i < pcl_train_weights_count(m->weights); i++) {
            pcl_tensor *t;
            OK(pcl_train_weights_entry(m->weights, i, NULL, &t));
            n += pcl_tensor_count(t);
        }
    }
    return n;
}

static void make_data(void)
{
    uint64_t r = 5;
    for (int i = 0; i < NS * IN; i++) data_x[i] = (float)((double)(pcl_rng_next(&r) >> 11) * 0x1.0p-53 * 2 - 1);
    for (int i = 0; i < NV * IN; i++) val_x[i] = (float)((double)(pcl_rng_next(&r) >> 11) * 0x1.0p-53 * 2 - 1);
    /* Targets: a fixed smooth function of the inputs, so there is something to learn. */
    for (int s = 0; s < NS + NV; s++) {
        const float *x = s < NS ? data_x + s * IN : val_x + (s - NS) * IN;
        float *t = s < NS ? data_t + s * OUT : val_t + (s - NS) * OUT;
        for (int o = 0; o < OUT; o++) {
            double v = 0;
            for (int i = 0; i < IN; i++) v += sin(0.7 * (o + 1) + i) * x[i];
            t[o] = (float)tanh(v);
        }
    }
}

static const struct {
    int adam;
    int64_t total, split;
} resume_cases[] = {
    {0, 20, 10}, /* 4 batches an epoch: split mid-epoch 2 */
    {1, 20, 10},
    {1, 24, 12}, /* split at an epoch's end */
};

START_TEST(test_resume)
{
    const int adam = resume_cases[_i].adam;
    const int64_t total = resume_cases[_i].total, split = resume_cases[_i].split;
    char path[256];
    snprintf(path, sizeof path, "/tmp/pcl_test_resume_%ld.safetensors", (long)getpid());

    model a;
    model_create(&a, adam, 11);
    pcl_train_position pa = pcl_train_position_start(2017);
    double first = validate(&a);
    run(&a, &pa, total);
    double last = validate(&a);
    ck_assert_msg(last < 0.8 * first, "validation loss %g -> %g: the loop does not train", first, last);
    size_t n = snapshot(&a, NULL);
    float *straight = malloc(n * sizeof(float)), *resumed = malloc(n * sizeof(float));
    snapshot(&a, straight);
    for (size_t i = 0; i < n; i++) ck_assert_msg(!isnan(straight[i]), "NaN at %zu", i);
    int64_t best_epoch = pcl_early_stop_best_epoch(a.stop);
    double best = pcl_early_stop_best(a.stop);
    model_destroy(&a);

    model b;
    model_create(&b, adam, 11);
    pcl_train_position pb = pcl_train_position_start(2017);
    run(&b, &pb, split);
    OK(pcl_train_save(path, b.weights, b.opt, b.stop, &pb, "mse"));
    model_destroy(&b);

    model c;
    model_create(&c, adam, 999); /* other initial weights: the load must replace them */
    pcl_train_position pc = pcl_train_position_start(1);
    OK(pcl_train_load(path, c.weights, c.opt, c.stop, &pc));
    ck_assert_int_eq(pc.step, split);
    ck_assert_uint_eq(pc.seed, 2017);
    ck_assert_uint_eq(pcl_optimizer_steps(c.opt), (uint64_t)split);
    run(&c, &pc, total);
    ck_assert_uint_eq(snapshot(&c, NULL), n);
    snapshot(&c, resumed);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(!memcmp(&straight[i], &resumed[i], sizeof(float)), "element %zu: straight %.9g, resumed %.9g",
                      i, straight[i], resumed[i]);
    ck_assert(!memcmp(&pa, &pc, sizeof pa));
    ck_assert_int_eq(pcl_early_stop_best_epoch(c.stop), best_epoch);
    ck_assert(pcl_early_stop_best(c.stop) == best);

    /* The checkpoint's metadata says what it holds. */
    pcl_checkpoint *ck;
    OK(pcl_checkpoint_read(path, &ck));
    ck_assert_str_eq(pcl_checkpoint_metadata(ck, "optimizer"), adam ? "adam" : "sgd");
    ck_assert_str_eq(pcl_checkpoint_metadata(ck, "loss"), "mse");
    ck_assert_str_eq(pcl_checkpoint_metadata(ck, "format"), "perceptcl-train-1");
    int64_t shape[4] = {1, HID, 1, 1};
    OK(pcl_checkpoint_find(ck, "1.running_var", 4, shape, NULL));
    OK(pcl_checkpoint_find(ck, adam ? "optimizer.3.weight.exp_avg_sq" : "optimizer.3.weight.momentum_buffer", 4,
                           (int64_t[4]){OUT, HID, 1, 1}, NULL));
    pcl_checkpoint_destroy(ck);
    model_destroy(&c);

    /* Another optimizer: refused, and the model is left as it was. */
    model d;
    model_create(&d, !adam, 11);
    size_t nd = snapshot(&d, NULL);
    float *before = malloc(nd * sizeof(float)), *after = malloc(nd * sizeof(float));
    snapshot(&d, before);
    ck_assert_int_eq(pcl_train_load(path, d.weights, d.opt, d.stop, NULL), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), path) && strstr(pcl_last_error(), "optimizer"), "%s", pcl_last_error());
    snapshot(&d, after);
    ck_assert(!memcmp(before, after, nd * sizeof(float)));
    /* Weights only (an inference app): fine. */
    OK(pcl_train_load(path, d.weights, NULL, NULL, NULL));
    /* A model with an extra tensor the file lacks: refused, untouched. */
    pcl_tensor *extra = tensor(1, 3);
    OK(pcl_train_weights_add(d.weights, "9.weight", extra));
    pcl_tensor *w0;
    OK(pcl_train_weights_entry(d.weights, 0, NULL, &w0));
    float w0_before[HID * IN], w0_after[HID * IN];
    OK(pcl_tensor_fill(w0, 0.5f));
    OK(pcl_tensor_download(w0, w0_before));
    ck_assert_int_eq(pcl_train_load(path, d.weights, NULL, NULL, NULL), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "9.weight"), "%s", pcl_last_error());
    OK(pcl_tensor_download(w0, w0_after));
    ck_assert(!memcmp(w0_before, w0_after, sizeof w0_before));
    pcl_tensor_destroy(extra);
    model_destroy(&d);
    free(before);
    free(after);
    free(straight);
    free(resumed);
    unlink(path);
}
END_TEST

int main(void)
{
    pcl_status status = pcl_context_create(NULL, &ctx);
    if (status != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 77; /* meson: skipped */
    }
    make_data();
    Suite *suite = suite_create("resume");
    TCase *tc = tcase_create("resume");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_resume, 0, (int)(sizeof resume_cases / sizeof resume_cases[0]));
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(ctx);
    return failed ? 1 : 0;
}
