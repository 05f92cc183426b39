/* The shared training loop (trainer.h): mini-batches from a data source,
 * the loss (loss.h), backward, optimizer step; per epoch validation, early
 * stopping, log, curve and an atomic checkpoint that a resume continues
 * exactly. */
#include "perceptcl/trainer.h"

#include "perceptcl/loss.h"
#include "nn/layer_internal.h"
#include "train/grad_exchange.h"
#include "train/train_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A loss plan for one shape (recreated when the shape changes). */
typedef struct loss_slot {
    pcl_loss *loss;
    int images, height, width;
} loss_slot;

/* Device and host buffers for one batch shape. */
typedef struct batch_buffers {
    pcl_tensor *x, *t, *dy;
    float *hx, *ht, *values;
    size_t hx_cap, ht_cap, values_cap;
} batch_buffers;

struct pcl_trainer {
    pcl_model *model;
    pcl_optimizer *optimizer;
    pcl_trainer_config config;
    char *checkpoint_path, *resume_path, *log_path, *curve_path, *title, *recipe;
    pcl_loss_options loss_options;
    int per_channel;
    loss_slot train_loss, eval_loss;
    batch_buffers buf;
    cl_kernel k_scale, k_nonfinite;
    cl_mem flags; /* NONFINITE_CHUNKS ints */
    uint64_t seed; /* the run's (the saved one after a resume) */
    pcl_comm *comm;               /* NULL: one process */
    int rank, ranks;
    pcl_grad_exchange *exchange;  /* ranks > 1 */
    int grads_zero;               /* the last step left the gradients 0 */
    double saved_at;              /* when this run last wrote its checkpoint (or started) */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { NONFINITE_CHUNKS = 256 };

pcl_trainer_config pcl_trainer_config_default(void)
{
    pcl_trainer_config c;
    memset(&c, 0, sizeof c);
    c.loss = PCL_LOSS_KIND_MSE;
    c.msssim_l1_alpha = pcl_loss_options_default().msssim_l1_alpha;
    c.batch = 16;
    c.epochs = 1;
    c.progress_mode = PCL_PROGRESS_MODE_AUTO;
    c.progress_interval = 10.0;
    return c;
}

pcl_data_source pcl_data_source_from_arrays(const pcl_array_source *arrays);

static pcl_status array_fill(void *user, const size_t *indices, size_t n, uint64_t seed, float *inputs, float *targets)
{
    (void)seed;
    const pcl_array_source *a = user;
    const size_t in = (size_t)a->input[0] * a->input[1] * a->input[2];
    const size_t out = (size_t)a->target[0] * a->target[1] * a->target[2];
    for (size_t i = 0; i < n; i++) {
        if (indices[i] >= a->count)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "array source: record %zu of %zu", indices[i], a->count);
        memcpy(inputs + i * in, a->inputs + indices[i] * in, in * sizeof(float));
        memcpy(targets + i * out, a->targets + indices[i] * out, out * sizeof(float));
    }
    return PCL_OK;
}

pcl_data_source pcl_data_source_from_arrays(const pcl_array_source *arrays)
{
    pcl_data_source s;
    memset(&s, 0, sizeof s);
    if (!arrays) return s;
    s.count = arrays->count;
    memcpy(s.input, arrays->input, sizeof s.input);
    memcpy(s.target, arrays->target, sizeof s.target);
    s.fill = array_fill;
    s.user = (void *)arrays;
    return s;
}

static char *copy_string(const char *s, int *failed)
{
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) *failed = 1;
    return c;
}

void pcl_trainer_destroy(pcl_trainer *trainer)
{
    if (!trainer) return;
    pcl_buffer_release(trainer->flags);
    pcl_grad_exchange_destroy(trainer->exchange);
    pcl_loss_destroy(trainer->train_loss.loss);
    pcl_loss_destroy(trainer->eval_loss.loss);
    pcl_tensor_destroy(trainer->buf.x);
    pcl_tensor_destroy(trainer->buf.t);
    pcl_tensor_destroy(trainer->buf.dy);
    free(trainer->buf.hx);
    free(trainer->buf.ht);
    free(trainer->buf.values);
    free(trainer->checkpoint_path);
    free(trainer->resume_path);
    free(trainer->recipe);
    free(trainer->log_path);
    free(trainer->curve_path);
    free(trainer->title);
    free(trainer);
}

pcl_status pcl_trainer_create(pcl_model *model, pcl_optimizer *optimizer, const pcl_trainer_config *config,
                              pcl_trainer **trainer)
{
    if (!trainer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: trainer is NULL");
    *trainer = NULL;
    if (!model || !optimizer || !config)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: NULL model, optimizer or config");
    if (!*pcl_loss_kind_name(config->loss))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: unknown loss kind %d", (int)config->loss);
    if (config->batch < 1 || config->batch > INT_MAX)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: batch %zu is not in [1, %d]", config->batch,
                        INT_MAX);
    if (config->validation_batch > INT_MAX)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: validation batch %zu too large",
                        config->validation_batch);
    if (!(config->checkpoint_seconds >= 0))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: checkpoint_seconds %g: must be >= 0",
                        config->checkpoint_seconds);
    if (config->epochs < 0 || config->max_steps < 0 || config->patience < 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: epochs %lld, max_steps %lld, patience %d: "
                        "none may be negative", (long long)config->epochs, (long long)config->max_steps,
                        config->patience);
    if (!(config->min_delta >= 0) || !isfinite(config->min_delta))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: min_delta %g is not a finite value >= 0",
                        config->min_delta);
    if (pcl_model_layer_count(model) == 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_create: the model has no layers");
    if (pcl_optimizer_param_count(optimizer) == 0) PCL_TRY(pcl_model_add_to_optimizer(model, optimizer));

    pcl_trainer *t = calloc(1, sizeof *t);
    if (!t) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_trainer_create: out of memory");
    t->model = model;
    t->optimizer = optimizer;
    t->config = *config;
    int failed = 0;
    t->checkpoint_path = copy_string(config->checkpoint_path, &failed);
    t->resume_path = copy_string(config->resume_path, &failed);
    t->log_path = copy_string(config->log_path, &failed);
    t->curve_path = copy_string(config->curve_path, &failed);
    t->title = copy_string(config->title ? config->title : "training loss", &failed);
    t->recipe = copy_string(config->recipe, &failed);
    if (failed) {
        pcl_trainer_destroy(t);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_trainer_create: out of memory");
    }
    t->config.checkpoint_path = t->checkpoint_path;
    t->config.resume_path = t->resume_path;
    t->config.log_path = t->log_path;
    t->config.curve_path = t->curve_path;
    t->config.title = t->title;
    t->config.recipe = t->recipe;
    t->config.ssim_options = NULL;
    if (!t->config.progress_stream) t->config.progress_stream = stderr;
    if (!(t->config.progress_interval > 0)) t->config.progress_interval = 10.0;
    if (!t->config.validation_batch) t->config.validation_batch = t->config.batch;
    /* SSIM is defined on single-channel images: C channels are C images. The
     * pixel losses take an image's c*h*w values as one image. */
    t->per_channel = pcl_loss_kind_uses_ssim(config->loss);
    t->loss_options = pcl_loss_options_default();
    if (config->ssim_options) t->loss_options.ssim = *config->ssim_options;
    t->loss_options.msssim_l1_alpha = config->msssim_l1_alpha;
    t->seed = config->seed;
    t->comm = config->comm;
    t->rank = pcl_comm_rank(t->comm);
    t->ranks = pcl_comm_size(t->comm);
    if (t->rank != 0) {
        /* rank 0 alone writes files and shows progress */
        free(t->checkpoint_path), free(t->log_path), free(t->curve_path);
        t->checkpoint_path = t->log_path = t->curve_path = NULL;
        t->config.checkpoint_path = t->config.log_path = t->config.curve_path = NULL;
        t->config.progress_mode = PCL_PROGRESS_MODE_OFF;
    }
    pcl_status status = pcl_kernel_get(pcl_model_context(model), "trainer.cl", NULL, "scale", &t->k_scale);
    if (status == PCL_OK)
        status = pcl_kernel_get(pcl_model_context(model), "trainer.cl", NULL, "nonfinite_flags", &t->k_nonfinite);
    if (status == PCL_OK)
        status = pcl_buffer_create(pcl_model_context(model), NONFINITE_CHUNKS * sizeof(cl_int), &t->flags);
    if (status == PCL_OK && t->ranks > 1)
        status = pcl_grad_exchange_create(model, t->comm, config->bucket_bytes ? config->bucket_bytes : 4u << 20,
                                          &t->exchange);
    if (status != PCL_OK) {
        pcl_trainer_destroy(t);
        return status;
    }
    *trainer = t;
    return PCL_OK;
}

/* ---- one batch --------------------------------------------------------- */

static pcl_status ensure_tensor(pcl_context *ctx, pcl_tensor **t, int n, int c, int h, int w)
{
    if (*t && (*t)->n == n && (*t)->c == c && (*t)->h == h && (*t)->w == w) return PCL_OK;
    pcl_tensor_destroy(*t);
    *t = NULL;
    return pcl_tensor_create(ctx, n, c, h, w, t);
}

static pcl_status ensure_host(float **p, size_t *cap, size_t count)
{
    if (*cap >= count) return PCL_OK;
    float *q = realloc(*p, count * sizeof *q);
    if (!q) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "trainer: out of memory for %zu floats", count);
    *p = q;
    *cap = count;
    return PCL_OK;
}

static pcl_status ensure_loss(pcl_trainer *tr, loss_slot *slot, int images, int height, int width)
{
    if (slot->loss && slot->images == images && slot->height == height && slot->width == width) return PCL_OK;
    pcl_loss_destroy(slot->loss);
    slot->loss = NULL;
    PCL_TRY(pcl_loss_create(pcl_model_context(tr->model), tr->config.loss, images, height, width, &tr->loss_options,
                            &slot->loss));
    slot->images = images, slot->height = height, slot->width = width;
    return PCL_OK;
}

/* Fills and uploads a batch of n records with shapes in/tg. */
static pcl_status load_batch(pcl_trainer *tr, const pcl_data_source *src, const size_t *indices, size_t n,
                             uint64_t seed, const int in[3], const int tg[3], const char *where)
{
    pcl_context *ctx = pcl_model_context(tr->model);
    const size_t in_count = n * (size_t)in[0] * in[1] * in[2], tg_count = n * (size_t)tg[0] * tg[1] * tg[2];
    PCL_TRY(ensure_host(&tr->buf.hx, &tr->buf.hx_cap, in_count));
    PCL_TRY(ensure_host(&tr->buf.ht, &tr->buf.ht_cap, tg_count));
    PCL_TRY(ensure_tensor(ctx, &tr->buf.x, (int)n, in[0], in[1], in[2]));
    PCL_TRY(ensure_tensor(ctx, &tr->buf.t, (int)n, tg[0], tg[1], tg[2]));
    PCL_TRY(src->fill(src->user, indices, n, seed, tr->buf.hx, tr->buf.ht));
    /* A NaN or infinity in the data would only show up later as a NaN loss
     * (or, with MS-SSIM, not at all): name the record now. */
    for (int which = 0; which < 2; which++) {
        const float *p = which ? tr->buf.ht : tr->buf.hx;
        const size_t per = which ? tg_count / n : in_count / n;
        for (size_t i = 0; i < n * per; i++)
            if (!isfinite(p[i]))
                return pcl_fail(PCL_ERR_UNDEFINED, "%s: record %zu has %s %s at value %zu", where, indices[i / per],
                                which ? "a target" : "an input", isnan(p[i]) ? "NaN" : "infinity", i % per);
    }
    PCL_TRY(pcl_tensor_upload(tr->buf.x, tr->buf.hx));
    PCL_TRY(pcl_tensor_upload(tr->buf.t, tr->buf.ht));
    return PCL_OK;
}

/* Fails when y holds a NaN or an infinity (SSIM-family losses clamp them). */
static pcl_status check_output(pcl_trainer *tr, const pcl_tensor *y, const char *where)
{
    const size_t count = pcl_tensor_count(y);
    if (count > 0x7fffffff) return pcl_fail(PCL_ERR_TOO_LARGE, "trainer: output of %zu floats", count);
    const int n = (int)count, chunk = (n + NONFINITE_CHUNKS - 1) / NONFINITE_CHUNKS;
    const int chunks = (n + chunk - 1) / chunk;
    PCL_TRY(pcl_kernel_set_args(tr->k_nonfinite, "nonfinite_flags", 5, sizeof n, &n, sizeof chunk, &chunk,
                                sizeof chunks, &chunks, sizeof(cl_mem), &y->mem, sizeof(cl_mem), &tr->flags));
    PCL_TRY(pcl_launch_1d(pcl_model_context(tr->model), tr->k_nonfinite, "nonfinite_flags", (size_t)chunks));
    cl_int flags[NONFINITE_CHUNKS];
    PCL_TRY(pcl_buffer_read(pcl_model_context(tr->model), tr->flags, 0, (size_t)chunks * sizeof(cl_int), flags));
    for (int g = 0; g < chunks; g++)
        if (flags[g])
            return pcl_fail(PCL_ERR_UNDEFINED, "%s: the model's output has a NaN or infinity in values %d..%d "
                            "(image %d): check the inputs and the learning rate", where, g * chunk,
                            (g + 1) * chunk - 1, g * chunk / (y->c * y->h * y->w));
    return PCL_OK;
}

/* The loss of y against the loaded targets: *sum = sum over images of the
 * per-image loss (the batch loss is *sum / n). With grad, buf.dy = d (batch
 * loss) / d y. where labels a non-finite value. */
static pcl_status batch_loss(pcl_trainer *tr, loss_slot *slot, const pcl_tensor *y, int grad, double *sum,
                             const char *where)
{
    const pcl_tensor *t = tr->buf.t;
    if (!pcl_tensor_same_shape(y, t))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "trainer: the model's output is %dx%dx%dx%d, the targets %dx%dx%dx%d",
                        y->n, y->c, y->h, y->w, t->n, t->c, t->h, t->w);
    const int n = y->n, channels = tr->per_channel ? y->c : 1;
    const int images = n * channels, height = tr->per_channel ? y->h : y->c * y->h, width = y->w;
    PCL_TRY(ensure_loss(tr, slot, images, height, width));
    if (tr->per_channel) PCL_TRY(check_output(tr, y, where));
    PCL_TRY(ensure_host(&tr->buf.values, &tr->buf.values_cap, (size_t)images));
    if (grad) PCL_TRY(ensure_tensor(pcl_model_context(tr->model), &tr->buf.dy, y->n, y->c, y->h, y->w));
    PCL_TRY(pcl_loss_run(slot->loss, t->mem, y->mem, tr->buf.values, grad ? tr->buf.dy->mem : NULL));
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        double v = 0.0;
        for (int c = 0; c < channels; c++) v += tr->buf.values[i * channels + c];
        v /= channels;
        total += pcl_loss_kind_training_loss(tr->config.loss, v);
    }
    double kl = 0.0;
    if (pcl_model_has_kl(tr->model)) {
        PCL_TRY(pcl_model_kl(tr->model, &kl));
        total += pcl_model_kl_weight(tr->model) * kl * n;
    }
    if (!isfinite(total))
        return pcl_fail(PCL_ERR_UNDEFINED, "%s: the loss is %s (%s %g%s): check the inputs, targets and learning rate",
                        where, isnan(total) ? "NaN" : "infinite", pcl_loss_kind_name(tr->config.loss), total / n,
                        pcl_model_has_kl(tr->model) ? (isfinite(kl) ? "" : ", KL not finite") : "");
    if (grad) {
        /* d/dy of (1/n) sum_i (1/C) sum_c training_loss(value_ic): value or 1 - value. */
        const float scale =
            (float)((pcl_loss_kind_higher_is_better(tr->config.loss) ? -1.0 : 1.0) / ((double)n * channels));
        const int count = (int)pcl_tensor_count(tr->buf.dy);
        PCL_TRY(pcl_kernel_set_args(tr->k_scale, "scale", 3, sizeof count, &count, sizeof scale, &scale, sizeof(cl_mem),
                                    &tr->buf.dy->mem));
        PCL_TRY(pcl_launch_1d(pcl_model_context(tr->model), tr->k_scale, "scale", (size_t)count));
    }
    *sum = total;
    return PCL_OK;
}

static pcl_status train_step(pcl_trainer *tr, const pcl_data_source *src, const size_t *indices, size_t n,
                             const pcl_train_position *pos, double *loss)
{
    const uint64_t step_seed = pcl_train_step_seed(tr->seed, (uint64_t)pos->step);
    char where[192], rank[32] = "";
    if (tr->ranks > 1) snprintf(rank, sizeof rank, ", rank %d of %d", tr->rank, tr->ranks);
    snprintf(where, sizeof where, "training epoch %lld, step %lld (batch %lld of the epoch%s)", (long long)pos->epoch,
             (long long)pos->step, (long long)pos->batch, rank);
    /* this rank's part of the global batch (all of it for one process) */
    size_t begin, end;
    pcl_comm_shard(tr->comm, n, &begin, &end);
    const size_t mine = end - begin;
    double sum = 0.0;
    /* The previous step zeroed the gradients as it read them. */
    if (!tr->grads_zero) PCL_TRY(pcl_optimizer_zero_grad(tr->optimizer));
    tr->grads_zero = 0;
    if (mine > 0) {
        PCL_TRY(load_batch(tr, src, indices + begin, mine, step_seed, src->input, src->target, where));
        pcl_model_set_noise_seed(tr->model, tr->rank ? pcl_train_step_seed(step_seed, (uint64_t)tr->rank) : step_seed);
        pcl_tensor *y;
        PCL_TRY(pcl_model_forward(tr->model, tr->buf.x, &y));
        PCL_TRY(batch_loss(tr, &tr->train_loss, y, 1, &sum, where));
    }
    if (tr->exchange) {
        PCL_TRY(pcl_grad_exchange_backward(tr->exchange, mine ? tr->buf.dy : NULL, (double)mine / (double)n));
        PCL_TRY(pcl_grad_exchange_average_buffers(tr->exchange));
        PCL_TRY(pcl_comm_sum_doubles(tr->comm, &sum, 1));
    } else {
        PCL_TRY(pcl_model_backward(tr->model, tr->buf.dy));
    }
    PCL_TRY(pcl_optimizer_step_zero_grad(tr->optimizer));
    tr->grads_zero = 1;
    *loss = sum / (double)n;
    return PCL_OK;
}

/* ---- sources and evaluation --------------------------------------------- */

static pcl_status check_source(const pcl_trainer *tr, const pcl_data_source *src, const char *what, int training)
{
    if (!src->fill || src->count == 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "trainer: the %s source has no records or no fill callback", what);
    if (training && src->shape)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "trainer: the %s source has per-record shapes (validation only)", what);
    if (src->shape) return PCL_OK; /* checked per batch */
    for (int i = 0; i < 3; i++)
        if (src->input[i] < 1 || src->target[i] < 1)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "trainer: the %s source's shapes %dx%dx%d -> %dx%dx%d have an extent < 1",
                            what, src->input[0], src->input[1], src->input[2], src->target[0], src->target[1],
                            src->target[2]);
    int in[4] = {1, src->input[0], src->input[1], src->input[2]}, out[4];
    PCL_TRY(pcl_model_output_shape(tr->model, in, out));
    if (out[1] != src->target[0] || out[2] != src->target[1] || out[3] != src->target[2])
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "trainer: the %s source's inputs %dx%dx%d give outputs %dx%dx%d, its targets are %dx%dx%d",
                        what, in[1], in[2], in[3], out[1], out[2], out[3], src->target[0], src->target[1],
                        src->target[2]);
    return PCL_OK;
}

static pcl_status evaluate(pcl_trainer *tr, const pcl_data_source *src, double *loss)
{
    const size_t batch = tr->config.validation_batch;
    size_t *idx = malloc(batch * sizeof *idx);
    if (!idx) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "trainer: out of memory");
    double total = 0.0;
    pcl_status status = PCL_OK;
    uint64_t b = 0;
    size_t begin, end; /* this rank's records */
    pcl_comm_shard(tr->comm, src->count, &begin, &end);
    for (size_t start = begin; start < end && status == PCL_OK; b++) {
        int in[3], tg[3];
        memcpy(in, src->input, sizeof in);
        memcpy(tg, src->target, sizeof tg);
        size_t n = 1;
        if (src->shape) {
            status = src->shape(src->user, start, in, tg);
            /* consecutive records of the same shapes share a batch */
            while (status == PCL_OK && n < batch && start + n < end) {
                int in2[3], tg2[3];
                status = src->shape(src->user, start + n, in2, tg2);
                if (status != PCL_OK || memcmp(in, in2, sizeof in) || memcmp(tg, tg2, sizeof tg)) break;
                n++;
            }
            if (status != PCL_OK) break;
        } else {
            n = end - start < batch ? end - start : batch;
        }
        for (size_t i = 0; i < n; i++) idx[i] = start + i;
        char where[128];
        snprintf(where, sizeof where, "evaluation, records %zu..%zu", start, start + n - 1);
        status = load_batch(tr, src, idx, n, pcl_train_step_seed(tr->seed, UINT64_MAX - b), in, tg, where);
        pcl_tensor *y = NULL;
        if (status == PCL_OK) status = pcl_model_forward(tr->model, tr->buf.x, &y);
        if (status == PCL_OK) {
            double sum;
            status = batch_loss(tr, &tr->eval_loss, y, 0, &sum, where);
            total += sum;
        }
        start += n;
    }
    free(idx);
    /* the same sum, in rank order, on every rank */
    if (status == PCL_OK) status = pcl_comm_sum_doubles(tr->comm, &total, 1);
    if (status == PCL_OK) *loss = total / (double)src->count;
    return status;
}

pcl_status pcl_trainer_evaluate(pcl_trainer *trainer, const pcl_data_source *source, double *loss)
{
    if (!trainer || !source || !loss) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_evaluate: NULL argument");
    PCL_TRY(check_source(trainer, source, "evaluation", 0));
    const int training = pcl_layer_is_training(pcl_model_layer(trainer->model, 0));
    pcl_model_set_training(trainer->model, 0);
    pcl_status status = evaluate(trainer, source, loss);
    pcl_model_set_training(trainer->model, training);
    return status;
}

/* ---- the run -------------------------------------------------------------- */

typedef struct history {
    double *step, *train, *validation;
    size_t count, capacity;
} history;

static pcl_status history_add(history *h, double step, double train, double validation)
{
    if (h->count == h->capacity) {
        size_t cap = h->capacity ? 2 * h->capacity : 64;
        double *a = realloc(h->step, cap * sizeof *a);
        if (a) h->step = a;
        double *b = a ? realloc(h->train, cap * sizeof *b) : NULL;
        if (b) h->train = b;
        double *c = b ? realloc(h->validation, cap * sizeof *c) : NULL;
        if (c) h->validation = c;
        if (!c) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "trainer: out of memory");
        h->capacity = cap;
    }
    h->step[h->count] = step, h->train[h->count] = train, h->validation[h->count] = validation;
    h->count++;
    return PCL_OK;
}

static pcl_status write_curve(pcl_trainer *tr, const history *h)
{
    if (!tr->curve_path) return PCL_OK;
    if (tr->log_path) return pcl_loss_curve_from_log(tr->log_path, tr->curve_path, tr->title);
    pcl_curve_series s[2] = {{"train", h->step, h->train, h->count}, {"validation", h->step, h->validation, h->count}};
    char y_label[64];
    snprintf(y_label, sizeof y_label, "%s loss", pcl_loss_kind_name(tr->config.loss));
    return pcl_loss_curve_write_svg(tr->curve_path, tr->title, "step", y_label, s, 2, 0);
}

static pcl_status save(pcl_trainer *tr, const pcl_early_stop *stop, const pcl_train_position *pos)
{
    if (!tr->checkpoint_path) return PCL_OK;
    tr->saved_at = now_seconds();
    pcl_train_run run = {pcl_loss_kind_name(tr->config.loss), (int64_t)tr->config.batch, tr->config.recipe};
    return pcl_train_save_run(tr->checkpoint_path, pcl_model_weights(tr->model), tr->optimizer, stop, pos, &run);
}

typedef struct run_state {
    pcl_early_stop *stop;
    pcl_train_log *log;
    pcl_progress *progress;
    size_t *order;
    history hist;
} run_state;

/* Every way a run ends: the best validation weights back in the model when asked, unless a stop
 * request interrupted it (a resume continues from the last weights). */
static pcl_status end_run(const pcl_trainer_config *cfg, const run_state *rs, const pcl_trainer_result *res)
{
    return cfg->restore_best && rs->stop && !res->interrupted ? pcl_early_stop_restore(rs->stop) : PCL_OK;
}

static pcl_status run(pcl_trainer *tr, const pcl_data_source *train, const pcl_data_source *validation,
                      pcl_trainer_result *res, run_state *rs)
{
    const pcl_trainer_config *cfg = &tr->config;
    PCL_TRY(check_source(tr, train, "training", 1));
    if (validation) PCL_TRY(check_source(tr, validation, "validation", 0));
    if (cfg->patience > 0 && !validation)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "trainer: early stopping (patience %d) needs a validation source",
                        cfg->patience);
    const size_t count = train->count, batch = cfg->batch;
    const int64_t batches = (int64_t)pcl_train_batch_count(count, batch, cfg->drop_last);
    if (batches == 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "trainer: %zu records make no full batch of %zu (drop_last)", count,
                        batch);
    pcl_train_weights *weights = pcl_model_weights(tr->model);
    /* Without patience the best weights are still kept (and saved). */
    if (validation)
        PCL_TRY(pcl_early_stop_create(cfg->patience > 0 ? cfg->patience : INT_MAX, cfg->min_delta, weights, &rs->stop));
    pcl_train_position pos = pcl_train_position_start(cfg->seed);
    if (tr->resume_path) PCL_TRY(pcl_trainer_check_resume(cfg, tr->resume_path));
    if (tr->resume_path)
        PCL_TRY(pcl_train_load(tr->resume_path, weights, tr->optimizer, rs->stop, &pos));
    tr->seed = pos.seed;
    if (tr->exchange) PCL_TRY(pcl_grad_exchange_broadcast_weights(tr->exchange));
    res->epochs = pos.epoch;
    res->steps = pos.step;
    res->elapsed_seconds = pos.elapsed;
    if (rs->stop) {
        res->best_validation_loss = pcl_early_stop_best(rs->stop);
        res->best_epoch = pcl_early_stop_best_epoch(rs->stop);
        if (cfg->patience > 0 && pcl_early_stop_bad_epochs(rs->stop) >= cfg->patience) {
            res->stopped_early = 1; /* a resumed run that had already stopped */
            return end_run(cfg, rs, res);
        }
    }
    if (tr->log_path) PCL_TRY(pcl_train_log_open(tr->log_path, tr->resume_path != NULL, &rs->log));
    PCL_TRY(pcl_progress_create(cfg->progress_stream, cfg->progress_mode, cfg->progress_interval, &rs->progress));
    rs->order = malloc(count * sizeof *rs->order);
    if (!rs->order) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "trainer: out of memory for %zu indices", count);
    pcl_model_set_training(tr->model, 1);
    tr->grads_zero = 0; /* the caller may have run a backward since the last run */
    tr->saved_at = now_seconds();

    int stopped = 0; /* the stop request, seen after a step */
    while (pos.epoch < cfg->epochs && !(cfg->max_steps > 0 && pos.step >= cfg->max_steps)) {
        pcl_train_epoch_order(&pos, rs->order, count);
        pcl_progress_epoch_begin(rs->progress, pos.epoch, cfg->epochs, batches, pos.batch);
        /* A state saved before the epoch's loss sum was recorded: the mean of the batches run here. */
        const int64_t first_batch = isnan(pos.epoch_loss) ? pos.batch : 0;
        if (isnan(pos.epoch_loss)) pos.epoch_loss = 0.0;
        else pcl_progress_epoch_done_loss(rs->progress, pos.epoch_loss);
        double started = now_seconds();
        while (pos.batch < batches && !(cfg->max_steps > 0 && pos.step >= cfg->max_steps) && !stopped) {
            const size_t start = (size_t)pos.batch * batch, n = count - start < batch ? count - start : batch;
            double loss;
            PCL_TRY(train_step(tr, train, rs->order + start, n, &pos, &loss));
            pos.epoch_loss += loss;
            pos.batch++;
            pos.step++;
            res->steps = pos.step;
            pcl_progress_batch(rs->progress, loss, n);
            stopped = cfg->stop_request && *cfg->stop_request && tr->ranks == 1;
            if (!stopped && cfg->checkpoint_seconds > 0 && pos.batch < batches &&
                now_seconds() - tr->saved_at >= cfg->checkpoint_seconds) {
                const double t = now_seconds();
                pos.elapsed += t - started;
                started = t;
                PCL_TRY(save(tr, rs->stop, &pos));
            }
        }
        pos.elapsed += now_seconds() - started;
        res->steps = pos.step;
        res->elapsed_seconds = pos.elapsed;
        if (pos.batch < batches) {
            /* max_steps or the stop request mid-epoch: save where we are. */
            PCL_TRY(save(tr, rs->stop, &pos));
            break;
        }
        const int64_t done = pos.batch - first_batch;
        pcl_trainer_epoch ep = {pos.epoch, pos.step, done ? pos.epoch_loss / (double)done : NAN, NAN,
                                pcl_progress_images_per_second(rs->progress), 0};
        int should_stop = 0;
        if (validation) {
            pcl_model_set_training(tr->model, 0);
            pcl_status status = evaluate(tr, validation, &ep.validation_loss);
            pcl_model_set_training(tr->model, 1);
            if (status != PCL_OK)
                return pcl_fail(status, "validation after epoch %lld (step %lld): %s", (long long)pos.epoch,
                                (long long)pos.step, pcl_last_error());
            PCL_TRY(pcl_early_stop_update(rs->stop, pos.epoch, ep.validation_loss, &ep.improved, &should_stop));
            res->best_validation_loss = pcl_early_stop_best(rs->stop);
            res->best_epoch = pcl_early_stop_best_epoch(rs->stop);
        }
        pcl_progress_epoch_end(rs->progress, ep.train_loss, ep.validation_loss);
        if (rs->log)
            PCL_TRY(pcl_train_log_write(rs->log, ep.epoch, ep.step, ep.train_loss, ep.validation_loss,
                                        ep.images_per_second, pos.elapsed));
        PCL_TRY(history_add(&rs->hist, (double)ep.step, ep.train_loss, ep.validation_loss));
        pcl_train_next_epoch(&pos);
        PCL_TRY(save(tr, rs->stop, &pos));
        PCL_TRY(write_curve(tr, &rs->hist));
        res->epochs = pos.epoch;
        res->train_loss = ep.train_loss;
        res->validation_loss = ep.validation_loss;
        res->images_per_second = ep.images_per_second;
        if (cfg->on_epoch) PCL_TRY(cfg->on_epoch(cfg->user, &ep));
        if (should_stop && cfg->patience > 0) {
            res->stopped_early = 1;
            break;
        }
        if (stopped) break; /* at the epoch's end: its validation and state are done */
    }
    /* A stop request seen at the run's last step ended nothing early: the run is complete. */
    const int finished = res->stopped_early || pos.epoch >= cfg->epochs ||
                         (cfg->max_steps > 0 && pos.step >= cfg->max_steps);
    res->interrupted = stopped && !finished;
    return end_run(cfg, rs, res);
}

pcl_status pcl_trainer_run(pcl_trainer *trainer, const pcl_data_source *train, const pcl_data_source *validation,
                           pcl_trainer_result *result)
{
    if (!trainer || !train) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_run: NULL trainer or training source");
    pcl_trainer_result res = {0, 0, NAN, NAN, INFINITY, -1, 0, NAN, 0.0, 0, 0.0};
    run_state rs;
    memset(&rs, 0, sizeof rs);
    pcl_status status = run(trainer, train, validation, &res, &rs);
    pcl_model_set_training(trainer->model, 1);
    if (rs.log) {
        pcl_status s = pcl_train_log_close(rs.log);
        if (status == PCL_OK) status = s;
    }
    pcl_progress_destroy(rs.progress);
    pcl_early_stop_destroy(rs.stop);
    free(rs.order);
    free(rs.hist.step);
    free(rs.hist.train);
    free(rs.hist.validation);
    res.exchange_seconds = pcl_grad_exchange_seconds(trainer->exchange);
    if (result) *result = res;
    return status;
}
