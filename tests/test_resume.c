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
 * and a weights-only load works.
 *
 * Shapes: the tensors of a model with conv, dense and batch normalisation
 * layers are saved with the shapes PyTorch documents for nn.Conv2d,
 * nn.Linear and nn.BatchNorm2d/1d (the optimizer's state and early
 * stopping's best copies shaped as their weight); a file of the earlier
 * layout (format perceptcl-train-1, every tensor n, c, h, w) still resumes
 * exactly; an entry of a wrong shape is refused naming it and both shapes. */
#include "perceptcl/checkpoint.h"
#include "perceptcl/image.h"
#include "perceptcl/layers.h"
#include "perceptcl/loss.h"
#include "perceptcl/model.h"
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
    OK(pcl_dense_create(ctx, IN, HID, PCL_GEMM_BACKEND_AUTO, &m->d1));
    OK(pcl_batchnorm_create(ctx, HID, 0.1f, 1e-5f, &m->bn));
    OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &m->act));
    OK(pcl_dense_create(ctx, HID, OUT, PCL_GEMM_BACKEND_AUTO, &m->d2));
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
    OK(pcl_loss_create(ctx, PCL_LOSS_KIND_MSE, BATCH, 1, OUT, NULL, &m->loss));
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

/* The tensors' device shapes as layers.h documents them: a vector (C) is
 * (1, C, 1, 1), a dense weight (out, in) is (out, in, 1, 1). */
static int device_shape(int ndim, const int64_t *shape, int64_t out[4])
{
    int64_t d[4] = {1, 1, 1, 1};
    if (ndim == 1) d[1] = shape[0];
    else if (ndim == 2) d[0] = shape[0], d[1] = shape[1];
    else memcpy(d, shape, sizeof d);
    memcpy(out, d, sizeof d);
    return 4;
}

/* Copies checkpoint from into to with metadata format replaced (when not
 * NULL), every tensor in its device shape when all_4d, and the tensor
 * called odd (when not NULL) given odd_shape instead. */
static void rewrite(const char *from, const char *to, const char *format, int all_4d, const char *odd, int odd_ndim,
                    const int64_t *odd_shape)
{
    pcl_checkpoint *in, *out;
    OK(pcl_checkpoint_read(from, &in));
    OK(pcl_checkpoint_create(&out));
    for (int i = 0; i < pcl_checkpoint_metadata_count(in); i++) {
        const char *key, *value;
        pcl_checkpoint_metadata_entry(in, i, &key, &value);
        OK(pcl_checkpoint_set_metadata(out, key, format && !strcmp(key, "format") ? format : value));
    }
    for (int i = 0; i < pcl_checkpoint_count(in); i++) {
        const char *name;
        int ndim;
        const int64_t *shape;
        const float *data;
        int64_t d4[4];
        OK(pcl_checkpoint_entry(in, i, &name, &ndim, &shape, &data));
        if (odd && !strcmp(name, odd)) OK(pcl_checkpoint_add(out, name, odd_ndim, odd_shape, data));
        else if (all_4d) OK(pcl_checkpoint_add(out, name, device_shape(ndim, shape, d4), d4, data));
        else OK(pcl_checkpoint_add(out, name, ndim, shape, data));
    }
    OK(pcl_checkpoint_write(out, to));
    pcl_checkpoint_destroy(in);
    pcl_checkpoint_destroy(out);
}

/* Copies checkpoint from into to with element 1 of the tensor called name
 * replaced by value. */
static void poison(const char *from, const char *to, const char *name, float value)
{
    pcl_checkpoint *in, *out;
    OK(pcl_checkpoint_read(from, &in));
    OK(pcl_checkpoint_create(&out));
    for (int i = 0; i < pcl_checkpoint_metadata_count(in); i++) {
        const char *key, *v;
        pcl_checkpoint_metadata_entry(in, i, &key, &v);
        OK(pcl_checkpoint_set_metadata(out, key, v));
    }
    int found = 0;
    for (int i = 0; i < pcl_checkpoint_count(in); i++) {
        const char *n;
        int ndim;
        const int64_t *shape;
        const float *data;
        OK(pcl_checkpoint_entry(in, i, &n, &ndim, &shape, &data));
        size_t count = 1;
        for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
        float *copy = malloc(count * sizeof(float));
        memcpy(copy, data, count * sizeof(float));
        if (!strcmp(n, name)) {
            ck_assert(count > 1);
            copy[1] = value;
            found = 1;
        }
        OK(pcl_checkpoint_add(out, n, ndim, shape, copy));
        free(copy);
    }
    ck_assert_msg(found, "no tensor %s", name);
    OK(pcl_checkpoint_write(out, to));
    pcl_checkpoint_destroy(in);
    pcl_checkpoint_destroy(out);
}

static void expect_shape(const pcl_checkpoint *ck, const char *name, int ndim, const int64_t *shape)
{
    OK(pcl_checkpoint_find(ck, name, ndim, shape, NULL));
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
    ck_assert_str_eq(pcl_checkpoint_metadata(ck, "format"), "perceptcl-train-2");
    /* nn.BatchNorm1d's running_var is (C), nn.Linear's weight (out, in). */
    expect_shape(ck, "1.running_var", 1, (int64_t[1]){HID});
    expect_shape(ck, "1.weight", 1, (int64_t[1]){HID}); /* gamma, by PyTorch's name */
    expect_shape(ck, adam ? "optimizer.3.weight.exp_avg_sq" : "optimizer.3.weight.momentum_buffer", 2,
                 (int64_t[2]){OUT, HID});
    expect_shape(ck, "best.3.weight", 2, (int64_t[2]){OUT, HID});
    pcl_checkpoint_destroy(ck);
    model_destroy(&c);

    /* The same checkpoint in the earlier layout (every tensor n, c, h, w,
     * format perceptcl-train-1) resumes to bitwise the same end. */
    char old_path[300];
    snprintf(old_path, sizeof old_path, "%s.old", path);
    rewrite(path, old_path, "perceptcl-train-1", 1, NULL, 0, NULL);
    OK(pcl_checkpoint_read(old_path, &ck));
    expect_shape(ck, "1.running_var", 4, (int64_t[4]){1, HID, 1, 1});
    pcl_checkpoint_destroy(ck);
    model e;
    model_create(&e, adam, 999);
    pcl_train_position pe = pcl_train_position_start(1);
    OK(pcl_train_load(old_path, e.weights, e.opt, e.stop, &pe));
    run(&e, &pe, total);
    snapshot(&e, resumed);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(!memcmp(&straight[i], &resumed[i], sizeof(float)), "old layout, element %zu: straight %.9g, "
                      "resumed %.9g", i, straight[i], resumed[i]);
    ck_assert(!memcmp(&pa, &pe, sizeof pa));
    model_destroy(&e);
    unlink(old_path);

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

/* A wrong shape is refused, naming the tensor and both shapes, and nothing
 * is loaded: in the current layout (a transposed weight, a vector in the
 * earlier 4-D shape, a best copy), and in the earlier one (a 1-D entry). */
START_TEST(test_wrong_shape)
{
    char path[256], bad[300];
    snprintf(path, sizeof path, "/tmp/pcl_test_shape_%ld.safetensors", (long)getpid());
    snprintf(bad, sizeof bad, "%s.bad", path);
    model a;
    model_create(&a, 1, 11);
    pcl_train_position pa = pcl_train_position_start(3);
    run(&a, &pa, 5); /* past an epoch's end: early stopping has best copies */
    OK(pcl_train_save(path, a.weights, a.opt, a.stop, &pa, "mse"));
    model_destroy(&a);
    static const struct {
        const char *format, *name;
        int all_4d, ndim;
        int64_t shape[4];
        const char *expected;
    } cases[] = {
        {NULL, "0.weight", 0, 2, {IN, HID}, "[16, 8]"},
        {NULL, "1.running_mean", 0, 4, {1, HID, 1, 1}, "[16]"},
        {NULL, "best.3.bias", 0, 2, {OUT, 1}, "[4]"},
        {"perceptcl-train-1", "optimizer.0.bias.exp_avg", 1, 1, {HID}, "[1, 16, 1, 1]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rewrite(path, bad, cases[k].format, cases[k].all_4d, cases[k].name, cases[k].ndim, cases[k].shape);
        model b;
        model_create(&b, 1, 999);
        pcl_train_position pb = pcl_train_position_start(1), pb0 = pb;
        size_t n = snapshot(&b, NULL);
        float *before = malloc(n * sizeof(float)), *after = malloc(n * sizeof(float));
        snapshot(&b, before);
        ck_assert_int_eq(pcl_train_load(bad, b.weights, b.opt, b.stop, &pb), PCL_ERR_FORMAT);
        char got[64], quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", cases[k].name);
        snprintf(got, sizeof got, "[%lld", (long long)cases[k].shape[0]);
        for (int d = 1; d < cases[k].ndim; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), ", %lld", (long long)cases[k].shape[d]);
        strcat(got, "]");
        const char *msg = pcl_last_error();
        ck_assert_msg(strstr(msg, bad) && strstr(msg, quoted) && strstr(msg, got) && strstr(msg, cases[k].expected),
                      "case %zu: %s", k, msg);
        snapshot(&b, after);
        ck_assert_msg(!memcmp(before, after, n * sizeof(float)), "case %zu: the model was changed", k);
        ck_assert(!memcmp(&pb, &pb0, sizeof pb));
        free(before);
        free(after);
        model_destroy(&b);
    }
    unlink(bad);
    unlink(path);
}
END_TEST

/* A checkpoint with a NaN or infinite value (a diverged run) in a weight, an
 * optimizer state or a best copy is refused, naming the tensor and the
 * element, and nothing is loaded. */
START_TEST(test_non_finite)
{
    char path[256], bad[300];
    snprintf(path, sizeof path, "/tmp/pcl_test_nan_%ld.safetensors", (long)getpid());
    snprintf(bad, sizeof bad, "%s.bad", path);
    model a;
    model_create(&a, 1, 11);
    pcl_train_position pa = pcl_train_position_start(3);
    run(&a, &pa, 5); /* past an epoch's end: early stopping has best copies */
    OK(pcl_train_save(path, a.weights, a.opt, a.stop, &pa, "mse"));
    model_destroy(&a);
    static const struct {
        const char *name;
        float value;
        const char *what;
    } cases[] = {
        {"0.weight", NAN, "'0.weight' element 1 is NaN"},
        {"optimizer.0.weight.exp_avg_sq", INFINITY, "'optimizer.0.weight.exp_avg_sq' element 1 is infinite"},
        {"best.3.bias", -INFINITY, "'best.3.bias' element 1 is infinite"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        poison(path, bad, cases[k].name, cases[k].value);
        model b;
        model_create(&b, 1, 999);
        pcl_train_position pb = pcl_train_position_start(1), pb0 = pb;
        size_t n = snapshot(&b, NULL);
        float *before = malloc(n * sizeof(float)), *after = malloc(n * sizeof(float));
        snapshot(&b, before);
        ck_assert_int_eq(pcl_train_load(bad, b.weights, b.opt, b.stop, &pb), PCL_ERR_FORMAT);
        const char *msg = pcl_last_error();
        ck_assert_msg(strstr(msg, bad) && strstr(msg, cases[k].what), "case %zu: %s", k, msg);
        snapshot(&b, after);
        ck_assert_msg(!memcmp(before, after, n * sizeof(float)), "case %zu: the model was changed", k);
        ck_assert(!memcmp(&pb, &pb0, sizeof pb));
        free(before);
        free(after);
        model_destroy(&b);
    }
    /* The unpoisoned file loads. */
    model c;
    model_create(&c, 1, 999);
    pcl_train_position pc = pcl_train_position_start(1);
    OK(pcl_train_load(path, c.weights, c.opt, c.stop, &pc));
    model_destroy(&c);
    unlink(bad);
    unlink(path);
}
END_TEST

/* The trainer's model (pcl_model: conv, batch normalisation, conv without
 * bias, flatten, dense, batch normalisation) saved with Adam and early
 * stopping: every entry has PyTorch's state_dict shape, as its documentation
 * gives it (nn.Conv2d weight (out, in, kh, kw), bias (out); nn.Linear weight
 * (out, in), bias (out); nn.BatchNorm2d/1d weight, bias, running_mean,
 * running_var (C)); Adam's exp_avg and exp_avg_sq and the best copies are
 * shaped as their weight. The file loads back into the same model. */
START_TEST(test_torch_shapes)
{
    enum { H = 5, W = 5, FLAT = 2 * H * (W - 2) };
    char path[256];
    snprintf(path, sizeof path, "/tmp/pcl_test_torch_%ld.safetensors", (long)getpid());
    pcl_model *m;
    pcl_layer *l;
    OK(pcl_model_create(ctx, &m));
    pcl_conv2d_config c0 = {.in_channels = 3, .out_channels = 4, .kernel_h = 3, .kernel_w = 3, .stride = 1,
                            .pad_h = 1, .pad_w = 1};
    OK(pcl_conv2d_create(ctx, &c0, &l));
    OK(pcl_model_add(m, l));
    OK(pcl_batchnorm_create(ctx, 4, 0.1f, 1e-5f, &l));
    OK(pcl_model_add(m, l));
    OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l));
    OK(pcl_model_add(m, l));
    pcl_conv2d_config c3 = {.in_channels = 4, .out_channels = 2, .kernel_h = 1, .kernel_w = 3, .stride = 1,
                            .no_bias = 1};
    OK(pcl_conv2d_create(ctx, &c3, &l));
    OK(pcl_model_add(m, l));
    OK(pcl_reshape_create(ctx, FLAT, 1, 1, &l));
    OK(pcl_model_add(m, l));
    OK(pcl_dense_create(ctx, FLAT, 6, PCL_GEMM_BACKEND_AUTO, &l));
    OK(pcl_model_add(m, l));
    OK(pcl_batchnorm_create(ctx, 6, 0.1f, 1e-5f, &l));
    OK(pcl_model_add(m, l));
    int out[4];
    OK(pcl_model_output_shape(m, (int[4]){2, 3, H, W}, out));
    ck_assert(out[0] == 2 && out[1] == 6 && out[2] == 1 && out[3] == 1);
    OK(pcl_model_init_weights(m, PCL_INIT_GAUSSIAN, 0.1, 7));
    pcl_optimizer *opt;
    pcl_adam_config ac = pcl_adam_config_default();
    OK(pcl_adam_create(ctx, &ac, &opt));
    OK(pcl_model_add_to_optimizer(m, opt));
    pcl_early_stop *stop;
    int improved, should_stop;
    OK(pcl_early_stop_create(3, 0.0, pcl_model_weights(m), &stop));
    OK(pcl_early_stop_update(stop, 0, 1.0, &improved, &should_stop));
    pcl_train_position pos = pcl_train_position_start(5);
    OK(pcl_train_save(path, pcl_model_weights(m), opt, stop, &pos, "mse"));

    static const struct {
        const char *name;
        int ndim;
        int64_t shape[4];
        int param; /* has optimizer state */
    } expected[] = {
        {"0.weight", 4, {4, 3, 3, 3}, 1},  {"0.bias", 1, {4}, 1},
        {"1.weight", 1, {4}, 1},           {"1.bias", 1, {4}, 1},
        {"1.running_mean", 1, {4}, 0},     {"1.running_var", 1, {4}, 0},
        {"3.weight", 4, {2, 4, 1, 3}, 1},  {"5.weight", 2, {6, FLAT}, 1},
        {"5.bias", 1, {6}, 1},             {"6.weight", 1, {6}, 1},
        {"6.bias", 1, {6}, 1},             {"6.running_mean", 1, {6}, 0},
        {"6.running_var", 1, {6}, 0},
    };
    const int count = (int)(sizeof expected / sizeof expected[0]);
    pcl_checkpoint *ck;
    OK(pcl_checkpoint_read(path, &ck));
    int tensors = 0;
    for (int i = 0; i < count; i++) {
        char name[128];
        expect_shape(ck, expected[i].name, expected[i].ndim, expected[i].shape);
        snprintf(name, sizeof name, "best.%s", expected[i].name);
        expect_shape(ck, name, expected[i].ndim, expected[i].shape);
        tensors += 2;
        if (expected[i].param) {
            snprintf(name, sizeof name, "optimizer.%s.exp_avg", expected[i].name);
            expect_shape(ck, name, expected[i].ndim, expected[i].shape);
            snprintf(name, sizeof name, "optimizer.%s.exp_avg_sq", expected[i].name);
            expect_shape(ck, name, expected[i].ndim, expected[i].shape);
            tensors += 2;
        }
    }
    ck_assert_int_eq(pcl_checkpoint_count(ck), tensors); /* nothing else (no "3.bias") */
    /* The weights the file holds are the model's, value for value. */
    pcl_train_weights *w = pcl_model_weights(m);
    ck_assert_int_eq(pcl_train_weights_count(w), count);
    for (int i = 0; i < count; i++) {
        const char *name;
        pcl_tensor *t;
        const float *data;
        OK(pcl_train_weights_entry(w, i, &name, &t));
        ck_assert_str_eq(name, expected[i].name);
        OK(pcl_checkpoint_find(ck, name, expected[i].ndim, expected[i].shape, &data));
        size_t n = pcl_tensor_count(t);
        float *host = malloc(n * sizeof(float));
        OK(pcl_tensor_download(t, host));
        ck_assert_msg(!memcmp(host, data, n * sizeof(float)), "%s differs", name);
        free(host);
    }
    /* A shape that does not hold the tensor's values is refused, naming it,
     * and adds nothing; the same on loading. */
    pcl_tensor *bias;
    OK(pcl_train_weights_entry(w, 1, NULL, &bias)); /* "0.bias", 4 values */
    const int before = pcl_checkpoint_count(ck);
    ck_assert_int_eq(pcl_checkpoint_add_tensor_shaped(ck, "extra", bias, 1, (int64_t[1]){5}), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(pcl_last_error(), "'extra'") && strstr(pcl_last_error(), "4 values"), "%s", pcl_last_error());
    ck_assert_int_eq(pcl_checkpoint_count(ck), before);
    ck_assert_int_eq(pcl_checkpoint_load_tensor_shaped(ck, "0.weight", bias, 4, (int64_t[4]){4, 3, 3, 3}),
                     PCL_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(pcl_last_error(), "'0.weight'") && strstr(pcl_last_error(), "4 values"), "%s",
                  pcl_last_error());
    pcl_checkpoint_destroy(ck);
    /* And it loads back. */
    pcl_train_position back;
    OK(pcl_train_load(path, pcl_model_weights(m), opt, stop, &back));
    ck_assert_uint_eq(back.seed, 5);
    pcl_early_stop_destroy(stop);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
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
    tcase_add_test(tc, test_wrong_shape);
    tcase_add_test(tc, test_non_finite);
    tcase_add_test(tc, test_torch_shapes);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(ctx);
    return failed ? 1 : 0;
}
