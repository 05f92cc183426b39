/* The autoencoder experiments' shared parts (autoencoder.h): a view of a
 * data source, sets of images and a split, the training run, model loading
 * by architecture, per-image scores, win counts, the extremes, the
 * reconstruction grid and the study kit's items. */
#define _XOPEN_SOURCE 700
#include "autoencoder.h"
#include "study.h"

#include "perceptcl/checkpoint.h"
#include "perceptcl/loss.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static size_t volume(const int shape[3]) { return (size_t)shape[0] * (size_t)shape[1] * (size_t)shape[2]; }

/* ---- the view ------------------------------------------------------------------ */

static pcl_status view_fill(void *user, const size_t *indices, size_t n, uint64_t seed, float *inputs, float *targets)
{
    const app_ae_view *v = user;
    const size_t in = volume(v->base.input), out = volume(v->base.target);
    const size_t span = v->map ? v->map_count : v->base.count;
    for (size_t i = 0; i < n; i++) {
        size_t k = indices[i] % span, record = v->map ? v->map[k] : k;
        pcl_status s = v->base.fill(v->base.user, &record, 1, pcl_train_step_seed(seed, indices[i]), inputs + i * in,
                                    targets + i * out);
        if (s != PCL_OK) return s;
    }
    return PCL_OK;
}

pcl_data_source app_ae_view_source(app_ae_view *view)
{
    pcl_data_source s = view->base;
    s.count = view->count;
    s.fill = view_fill;
    s.shape = NULL;
    s.user = view;
    return s;
}

/* ---- a set of images ------------------------------------------------------------ */

static int set_add(const char *app, app_ae_set *s, const char *what)
{
    if (s->count == APP_AE_MAX_DATASETS)
        return fprintf(stderr, "perceptcl %s: %s: more than %d datasets in one set\n", app, what,
                       APP_AE_MAX_DATASETS), 1;
    return 0;
}

int app_ae_set_open_corpus(const char *app, app_ae_set *s, pcl_corpus corpus, const char *root)
{
    if (set_add(app, s, "data")) return 1;
    if (pcl_dataset_open(corpus, root, &s->datasets[s->count]) != PCL_OK) return app_fail(app, "data");
    s->count++;
    return 0;
}

int app_ae_set_open_folder(const char *app, app_ae_set *s, const char *dir, int side)
{
    pcl_folder_options options = {.width = side, .height = side};
    if (set_add(app, s, dir)) return 1;
    if (pcl_dataset_open_folder(dir, &options, &s->datasets[s->count]) != PCL_OK) return app_fail(app, dir);
    s->count++;
    return 0;
}

int app_ae_set_finish(const char *app, app_ae_set *s, const app_ae_draw *draw, size_t count, size_t *map,
                      size_t map_count)
{
    pcl_transform steps[4] = {{.kind = PCL_TRANSFORM_KIND_LUMA}};
    int n = 1;
    s->map = map;
    if (draw->window_min)
        steps[n++] = (pcl_transform){.kind = PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP, .min_side = draw->window_min,
                                     .max_side = draw->window_max, .width = draw->side, .height = draw->side};
    if (draw->window_min && draw->flip)
        steps[n++] = (pcl_transform){.kind = PCL_TRANSFORM_KIND_FLIP, .horizontal = 1};
    steps[n++] = (pcl_transform){.kind = PCL_TRANSFORM_KIND_SCALE, .range = PCL_RANGE_SIGNED};
    if (pcl_pipeline_create(s->datasets, s->count, steps, n, NULL, &s->pipeline) != PCL_OK ||
        pcl_pipeline_source(s->pipeline, &s->view.base) != PCL_OK)
        return app_fail(app, "images");
    const int *shape = s->view.base.input;
    if (shape[0] != 1 || shape[1] != draw->side || shape[2] != draw->side)
        return fprintf(stderr, "perceptcl %s: images of %dx%d, expected %dx%d\n", app, shape[2], shape[1],
                       draw->side, draw->side), 1;
    s->view.map = map;
    s->view.map_count = map ? map_count : s->view.base.count;
    s->view.count = count ? count : s->view.map_count;
    s->source = app_ae_view_source(&s->view);
    return 0;
}

void app_ae_set_free(app_ae_set *s)
{
    pcl_pipeline_destroy(s->pipeline);
    for (int d = 0; d < s->count; d++) pcl_dataset_destroy(s->datasets[d]);
    free(s->map);
    memset(s, 0, sizeof *s);
}

int app_ae_split(const char *app, size_t n, const size_t sizes[2], uint64_t seed, int part, size_t **map)
{
    size_t *indices = malloc(n * sizeof *indices);
    if (!indices || pcl_split(n, sizes, 2, seed, indices) != PCL_OK) return free(indices), app_fail(app, "split");
    if (part == 1) memmove(indices, indices + sizes[0], sizes[1] * sizeof *indices);
    *map = indices;
    return 0;
}

/* ---- training --------------------------------------------------------------------- */


int app_ae_train_run(app_train *t, const pcl_device_selection *selection, const app_ae_job *job)
{
    return app_ae_train_run_kl(t, selection, job, 0.0, NULL);
}

/* The trainer's on_epoch: the hook with the model. */
typedef struct hook_call {
    const app_ae_epoch_hook *hook;
    pcl_model *model;
    int failed; /* the hook failed and said so */
} hook_call;

static pcl_status call_hook(void *user, const pcl_trainer_epoch *epoch)
{
    hook_call *call = user;
    if (!app_is_root()) return PCL_OK; /* the hooks write files: rank 0's */
    call->failed = call->hook->run(call->hook->user, call->model, epoch) != 0;
    return call->failed ? PCL_ERR_UNDEFINED : PCL_OK;
}

int app_ae_train_run_kl(app_train *t, const pcl_device_selection *selection, const app_ae_job *job, double kl_weight,
                        const app_ae_epoch_hook *hook)
{
    const char *app = t->app;
    pcl_context *context = app_open_context(selection);
    if (!context) return 1;
    pcl_model *model = NULL;
    pcl_optimizer *optimizer = NULL;
    pcl_trainer *trainer = NULL;
    pcl_checkpoint *meta = NULL;
    pcl_trainer_config config;
    pcl_trainer_result result = {0};
    int rc = pcl_model_build_architecture(context, job->arch, &model) != PCL_OK ||
                     pcl_model_init_weights(model, job->he_init ? PCL_INIT_HE_NORMAL : PCL_INIT_TORCH_DEFAULT, 0.0,
                                            (uint64_t)t->seed) != PCL_OK
                 ? app_fail(app, job->arch->name)
                 : 0;
    if (rc == 0 && job->init && pcl_model_load(model, job->init, NULL) != PCL_OK) rc = app_fail(app, "--init");
    if (rc == 0 && kl_weight > 0) pcl_model_set_kl_weight(model, kl_weight);
    if (rc == 0) rc = app_train_setup(t, context, 1.0, &config, &optimizer);
    config.ssim_options = &job->ssim;
    config.title = job->title;
    hook_call call = {hook, model, 0};
    if (hook) config.on_epoch = call_hook, config.user = &call;
    if (rc == 0 && pcl_trainer_create(model, optimizer, &config, &trainer) != PCL_OK) rc = app_fail(app, "trainer");
    double start = app_seconds();
    if (rc == 0 && pcl_trainer_run(trainer, &job->train, job->validation, &result) != PCL_OK)
        rc = call.failed ? 1 : app_fail(app, "training");
    char seconds[32], total[32];
    snprintf(seconds, sizeof seconds, "%.1f", app_seconds() - start);
    snprintf(total, sizeof total, "%.1f", result.elapsed_seconds);
    if (rc == 0) rc = app_train_metadata(app, job->metadata, &meta);
    if (rc == 0 && (pcl_checkpoint_set_metadata(meta, "device", pcl_context_device(context)->name) != PCL_OK ||
                    pcl_checkpoint_set_metadata(meta, "train_seconds", seconds) != PCL_OK ||
                    pcl_checkpoint_set_metadata(meta, "train_seconds_total", total) != PCL_OK))
        rc = app_fail(app, "metadata");
    if (rc == 0 && result.stopped_early)
        fprintf(stderr, "perceptcl %s: early stop after epoch %lld, best validation loss %.6g at epoch %lld\n", app,
                (long long)result.epochs, result.best_validation_loss, (long long)result.best_epoch + 1);
    if (rc == 0) rc = app_train_save(t, model, &result, meta);
    pcl_checkpoint_destroy(meta);
    pcl_trainer_destroy(trainer);
    pcl_optimizer_destroy(optimizer);
    pcl_model_destroy(model);
    pcl_context_destroy(context);
    return rc;
}

/* ---- models --------------------------------------------------------------------- */

static const char *loss_label(const char *loss)
{
    static const char *const names[][2] = {
        {"mse", "MSE"}, {"mae", "MAE"}, {"ssim", "SSIM"}, {"msssim", "MS-SSIM"}, {"msssim-l1", "MS-SSIM+L1"}};
    for (size_t i = 0; loss && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(loss, names[i][0]) == 0) return names[i][1];
    return NULL;
}

int app_ae_load(const char *app, pcl_context *context, const pcl_architecture *const *archs, int arch_count,
                const char *const *paths, int count, app_ae_model *models)
{
    for (int m = 0; m < count; m++) {
        app_ae_model *am = &models[m];
        memset(am, 0, sizeof *am);
        pcl_checkpoint *file = NULL;
        if (pcl_checkpoint_read(paths[m], &file) != PCL_OK) return app_ae_free(models, m), app_fail(app, paths[m]);
        const char *name = pcl_checkpoint_metadata(file, "architecture");
        for (int a = 0; name && a < arch_count; a++)
            if (strcmp(name, archs[a]->name) == 0) am->arch = archs[a];
        if (!am->arch) {
            char taken[512] = "";
            for (int a = 0; a < arch_count; a++)
                snprintf(taken + strlen(taken), sizeof taken - strlen(taken), "%s%s", a ? ", " : "", archs[a]->name);
            fprintf(stderr, "perceptcl %s: %s: architecture %s, expected one of %s\n", app, paths[m],
                    name ? name : "(none recorded)", taken);
            pcl_checkpoint_destroy(file);
            return app_ae_free(models, m), 1;
        }
        const char *loss = pcl_checkpoint_metadata(file, "loss"), *label = loss_label(loss);
        snprintf(am->loss, sizeof am->loss, "%s", loss ? loss : "");
        if (label) snprintf(am->label, sizeof am->label, "%s", label);
        else app_base_name(paths[m], am->label, sizeof am->label);
        for (int o = 0; o < m; o++) /* two models of one loss: their file names tell them apart */
            if (strcmp(models[o].label, am->label) == 0) app_base_name(paths[m], am->label, sizeof am->label);
        const char *steps = pcl_checkpoint_metadata(file, "steps"), *epochs = pcl_checkpoint_metadata(file, "epochs"),
                   *seconds = pcl_checkpoint_metadata(file, "train_seconds"),
                   *total = pcl_checkpoint_metadata(file, "train_seconds_total"),
                   *device = pcl_checkpoint_metadata(file, "device");
        /* Images seen: the steps times the batch the training recipe records. */
        const char *recipe = pcl_checkpoint_metadata(file, "training");
        json_t *training = json_loads(recipe ? recipe : "null", JSON_DECODE_ANY, NULL);
        json_int_t batch = json_integer_value(json_object_get(training, "batch"));
        json_decref(training);
        char seen[64] = "?";
        if (steps && batch > 0) snprintf(seen, sizeof seen, "%lld", strtoll(steps, NULL, 10) * (long long)batch);
        /* Models written before train_seconds_total: the last run's wall time only. */
        char time_text[96];
        if (total) snprintf(time_text, sizeof time_text, "%s s of training steps over all runs", total);
        else snprintf(time_text, sizeof time_text, "%s s (last run)", seconds ? seconds : "?");
        snprintf(am->cost, sizeof am->cost, "%s steps, %s images, %s epochs, %s on %s", steps ? steps : "?", seen,
                 epochs ? epochs : "?", time_text, device ? device : "?");
        pcl_checkpoint_destroy(file);
        if (pcl_model_build_architecture(context, am->arch, &am->model) != PCL_OK ||
            pcl_model_load(am->model, paths[m], NULL) != PCL_OK)
            return app_ae_free(models, m + 1), app_fail(app, paths[m]);
        pcl_model_set_training(am->model, 0);
    }
    return 0;
}

void app_ae_free(app_ae_model *models, int count)
{
    for (int m = 0; m < count; m++) pcl_model_destroy(models[m].model), models[m].model = NULL;
}

/* ---- scores ------------------------------------------------------------------ */

const char *const app_ae_metric_keys[APP_AE_METRICS] = {"mse", "mae", "ssim", "msssim"};
const char *const app_ae_metric_labels[APP_AE_METRICS] = {"MSE", "MAE", "SSIM", "MS-SSIM"};

int app_ae_metric_higher_is_better(int metric) { return metric == APP_AE_SSIM || metric == APP_AE_MSSSIM; }

enum { EVAL_BATCH = 32 };

/* SSIM-type values of a batch of n images of c channels: the mean over channels. */
static pcl_status similarity(pcl_context *context, const pcl_ssim_options *options, int n, int c, int h, int w,
                             cl_mem x, cl_mem y, double *out, size_t stride)
{
    pcl_ssim *plan = NULL;
    float *values = malloc((size_t)n * (size_t)c * sizeof *values);
    pcl_status s = values ? pcl_ssim_create(context, n * c, h, w, options, &plan) : PCL_ERR_OUT_OF_MEMORY;
    if (s == PCL_OK) s = pcl_ssim_run(plan, x, y, values, NULL);
    for (int i = 0; s == PCL_OK && i < n; i++) {
        double sum = 0;
        for (int k = 0; k < c; k++) sum += values[i * c + k];
        out[(size_t)i * stride] = sum / c;
    }
    pcl_ssim_destroy(plan);
    free(values);
    return s;
}

/* Rows [begin, end) of a [rows][width] array, computed by this rank, to
 * every rank: the ranks' parts follow each other in rank order, so the rows
 * arrive in order (pcl_comm_gather_doubles, in place). 0, or 1 after an
 * error line. */
static int gather_doubles(const char *app, double *values, size_t width, size_t rows, size_t begin, size_t end)
{
    if (pcl_comm_gather_doubles(app_comm(), values + begin * width, (end - begin) * width, values, rows * width) ==
        PCL_OK)
        return 0;
    return app_fail(app, "gathering the ranks' images");
}

/* The same for floats, through doubles (exact both ways). */
static int gather_floats(const char *app, float *values, size_t width, size_t rows, size_t begin, size_t end)
{
    if (pcl_comm_size(app_comm()) == 1) return 0;
    double *all = malloc(rows * width * sizeof *all);
    if (!all) return fprintf(stderr, "perceptcl %s: out of memory for %zu values\n", app, rows * width), 1;
    for (size_t i = begin * width; i < end * width; i++) all[i] = values[i];
    const int rc = gather_doubles(app, all, width, rows, begin, end);
    for (size_t i = 0; rc == 0 && i < rows * width; i++) values[i] = (float)all[i];
    free(all);
    return rc;
}

int app_ae_evaluate(const char *app, pcl_context *context, const app_ae_model *models, int count,
                    const pcl_data_source *source, const pcl_ssim_options *ssim, const pcl_ssim_options *msssim,
                    app_ae_eval *e)
{
    memset(e, 0, sizeof *e);
    const int c = source->input[0], h = source->input[1], w = source->input[2];
    const size_t per = volume(source->input), images = source->count;
    e->images = (long)images;
    e->models = count;
    memcpy(e->shape, source->input, sizeof e->shape);
    e->originals = malloc(images * per * sizeof(float));
    e->reconstructions = malloc((size_t)count * images * per * sizeof(float));
    e->scores = malloc((size_t)count * images * APP_AE_METRICS * sizeof(double));
    float *targets = malloc(EVAL_BATCH * volume(source->target) * sizeof(float));
    size_t *indices = malloc(images * sizeof *indices);
    if (!e->originals || !e->reconstructions || !e->scores || !targets || !indices) {
        free(targets), free(indices), app_ae_eval_free(e);
        return fprintf(stderr, "perceptcl %s: out of memory for %zu images\n", app, images), 1;
    }
    for (size_t i = 0; i < images; i++) indices[i] = i;
    /* This rank's part: whole batches of the one-process run (pcl_comm_shard
     * of the batches), so that every image goes through the models in the
     * same batch, with the same bits, for any number of ranks. */
    size_t begin, end;
    pcl_comm_shard(app_comm(), (images + EVAL_BATCH - 1) / EVAL_BATCH, &begin, &end);
    begin *= EVAL_BATCH;
    end = end * EVAL_BATCH < images ? end * EVAL_BATCH : images;
    int rc = 0;
    for (size_t first = begin; first < end && rc == 0; first += EVAL_BATCH) {
        const int n = (int)(end - first < EVAL_BATCH ? end - first : EVAL_BATCH);
        float *x = e->originals + first * per;
        if (source->fill(source->user, indices + first, (size_t)n, 0, x, targets) != PCL_OK) {
            rc = app_fail(app, "test images");
            break;
        }
        pcl_tensor *input = NULL;
        if (pcl_tensor_create(context, n, c, h, w, &input) != PCL_OK || pcl_tensor_upload(input, x) != PCL_OK)
            rc = app_fail(app, "device");
        for (int m = 0; m < count && rc == 0; m++) {
            pcl_tensor *y = NULL;
            float *r = e->reconstructions + ((size_t)m * images + first) * per;
            double *score = e->scores + ((size_t)m * images + first) * APP_AE_METRICS;
            if (pcl_model_forward(models[m].model, input, &y) != PCL_OK) {
                rc = app_fail(app, models[m].label);
                break;
            }
            if (y->n != n || y->c != c || y->h != h || y->w != w) {
                rc = (fprintf(stderr, "perceptcl %s: %s: output %dx%dx%d, expected the input's %dx%dx%d\n", app,
                              models[m].label, y->c, y->h, y->w, c, h, w), 1);
                break;
            }
            if (pcl_tensor_download(y, r) != PCL_OK ||
                similarity(context, ssim, n, c, h, w, input->mem, y->mem, score + APP_AE_SSIM, APP_AE_METRICS) !=
                    PCL_OK ||
                similarity(context, msssim, n, c, h, w, input->mem, y->mem, score + APP_AE_MSSSIM, APP_AE_METRICS) !=
                    PCL_OK) {
                rc = app_fail(app, models[m].label);
                break;
            }
            for (int i = 0; i < n; i++) {
                double se = 0, ae = 0;
                for (size_t k = 0; k < per; k++) {
                    double d = (double)r[i * per + k] - (double)x[i * per + k];
                    se += d * d, ae += fabs(d);
                }
                score[i * APP_AE_METRICS + APP_AE_MSE] = se / (double)per;
                score[i * APP_AE_METRICS + APP_AE_MAE] = ae / (double)per;
            }
        }
        pcl_tensor_destroy(input);
    }
    /* every rank's images, reconstructions and scores to every rank, in image order */
    if (rc == 0) rc = gather_floats(app, e->originals, per, images, begin, end);
    for (int m = 0; m < count && rc == 0; m++)
        rc = gather_floats(app, e->reconstructions + (size_t)m * images * per, per, images, begin, end) ||
             gather_doubles(app, e->scores + (size_t)m * images * APP_AE_METRICS, APP_AE_METRICS, images, begin, end);
    free(targets);
    free(indices);
    if (rc) app_ae_eval_free(e);
    return rc;
}

void app_ae_eval_free(app_ae_eval *e)
{
    free(e->originals), free(e->reconstructions), free(e->scores);
    e->originals = e->reconstructions = NULL;
    e->scores = NULL;
}

double app_ae_mean(const app_ae_eval *e, int model, int metric)
{
    double sum = 0;
    for (long i = 0; i < e->images; i++) sum += e->scores[((size_t)model * e->images + i) * APP_AE_METRICS + metric];
    return e->images ? sum / (double)e->images : NAN;
}

/* ---- a scoring session -------------------------------------------------------------- */

int app_ae_session_start(const char *app, const pcl_device_selection *selection, const pcl_architecture *const *archs,
                         int arch_count, const char *const *paths, int count, const pcl_data_source *source,
                         const pcl_ssim_options *ssim, const pcl_ssim_options *msssim, app_ae_session *s)
{
    memset(s, 0, sizeof *s);
    if (count < 1 || count > APP_AE_MAX_MODELS)
        return fprintf(stderr, "perceptcl %s: 1 to %d models, not %d\n", app, APP_AE_MAX_MODELS, count), 1;
    if (!(s->context = app_open_context(selection))) return 1;
    if (app_ae_load(app, s->context, archs, arch_count, paths, count, s->models)) return 1;
    s->model_count = count;
    for (int m = 0; m < count; m++) s->labels[m] = s->models[m].label;
    return app_ae_evaluate(app, s->context, s->models, count, source, ssim, msssim, &s->eval);
}

void app_ae_session_end(app_ae_session *s)
{
    app_ae_eval_free(&s->eval);
    app_ae_free(s->models, s->model_count);
    if (s->context) pcl_context_destroy(s->context);
    memset(s, 0, sizeof *s);
}

/* ---- win counts ------------------------------------------------------------------ */

enum { Z95_DIGITS = 4 };
static const double z95 = 1.959963984540054;

app_ae_wins app_ae_count_wins(const app_ae_eval *e, int a, int b, int metric)
{
    app_ae_wins wins = {0};
    wins.images = e->images;
    const int higher = app_ae_metric_higher_is_better(metric);
    for (long i = 0; i < e->images; i++) {
        double va = e->scores[((size_t)a * e->images + i) * APP_AE_METRICS + metric];
        double vb = e->scores[((size_t)b * e->images + i) * APP_AE_METRICS + metric];
        if (va == vb) wins.ties++;
        else if ((va > vb) == higher) wins.a++;
        else wins.b++;
    }
    app_study_wilson(wins.a, wins.images, z95, &wins.a_low, &wins.a_high);
    app_study_wilson(wins.b, wins.images, z95, &wins.b_low, &wins.b_high);
    return wins;
}

char *app_ae_wins_markdown(const app_ae_eval *e, const char *const *labels)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return NULL;
    fprintf(out, "| A | B | metric | A better | 95%% interval | B better | 95%% interval | ties |\n"
                 "|---|---|---|---|---|---|---|---|\n");
    for (int a = 0; a < e->models; a++)
        for (int b = a + 1; b < e->models; b++)
            for (int m = 0; m < APP_AE_METRICS; m++) {
                app_ae_wins w = app_ae_count_wins(e, a, b, m);
                fprintf(out, "| %s | %s | %s | %ld / %ld (%.1f%%) | %.1f-%.1f%% | %ld (%.1f%%) | %.1f-%.1f%% | %ld |\n",
                        labels[a], labels[b], app_ae_metric_labels[m], w.a, w.images, 100.0 * w.a / w.images,
                        100 * w.a_low, 100 * w.a_high, w.b, 100.0 * w.b / w.images, 100 * w.b_low, 100 * w.b_high,
                        w.ties);
            }
    if (fclose(out) != 0) return free(text), NULL;
    return text;
}

json_t *app_ae_wins_json(const app_ae_eval *e, const char *const *labels)
{
    json_t *list = json_array();
    for (int a = 0; list && a < e->models; a++)
        for (int b = a + 1; list && b < e->models; b++)
            for (int m = 0; list && m < APP_AE_METRICS; m++) {
                app_ae_wins w = app_ae_count_wins(e, a, b, m);
                json_t *item = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "a", labels[a],
                                         "b", labels[b], "metric", app_ae_metric_keys[m], "images",
                                         (json_int_t)w.images, "a_better", (json_int_t)w.a, "b_better",
                                         (json_int_t)w.b, "ties", (json_int_t)w.ties, "a_low",
                                         app_round(w.a_low, Z95_DIGITS), "a_high", app_round(w.a_high, Z95_DIGITS),
                                         "b_low", app_round(w.b_low, Z95_DIGITS), "b_high",
                                         app_round(w.b_high, Z95_DIGITS));
                if (json_array_append_new(list, item) != 0) json_decref(list), list = NULL;
            }
    return list;
}

typedef struct advantage {
    double value;
    long index;
} advantage;

static int by_advantage(const void *p, const void *q)
{
    const advantage *x = p, *y = q;
    if (x->value != y->value) return x->value < y->value ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

int app_ae_extremes(const app_ae_eval *e, int a, int b, int metric, int half, long *rows)
{
    advantage *order = malloc((size_t)e->images * sizeof *order);
    if (!order) return -1;
    const int sign = app_ae_metric_higher_is_better(metric) ? 1 : -1;
    for (long i = 0; i < e->images; i++) {
        double va = e->scores[((size_t)a * e->images + i) * APP_AE_METRICS + metric];
        double vb = e->scores[((size_t)b * e->images + i) * APP_AE_METRICS + metric];
        order[i] = (advantage){sign * (va - vb), i};
    }
    qsort(order, (size_t)e->images, sizeof *order, by_advantage);
    int n = 0;
    for (long i = 0; i < e->images; i++)
        if (i < half || i >= e->images - half) rows[n++] = order[i].index;
    free(order);
    return n;
}

/* ---- pictures and the study kit ----------------------------------------------- */

void app_ae_pick(long images, int count, uint64_t seed, long *picked)
{
    /* A seeded partial Fisher-Yates shuffle of 0..images-1, then sorted. */
    long *order = malloc((size_t)images * sizeof *order);
    uint64_t state = seed;
    if (!order) { /* evenly spaced instead */
        for (int k = 0; k < count; k++) picked[k] = (long)((double)k * images / count);
        return;
    }
    for (long i = 0; i < images; i++) order[i] = i;
    for (int k = 0; k < count; k++) {
        long j = k + (long)pcl_rng_below(&state, (uint64_t)(images - k));
        long t = order[k];
        order[k] = order[j], order[j] = t;
    }
    for (int k = 0; k < count; k++) picked[k] = order[k];
    free(order);
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && picked[j - 1] > picked[j]; j--) {
            long t = picked[j];
            picked[j] = picked[j - 1], picked[j - 1] = t;
        }
}

/* One CHW image in [-1, 1] as an 8-bit-scale pcl_image (HWC, 0..255). */
pcl_image *app_ae_to_image(const float *chw, const int shape[3])
{
    pcl_image *image = NULL;
    const int c = shape[0], h = shape[1], w = shape[2];
    if (pcl_image_create(&image, w, h, c) != PCL_OK) return NULL;
    for (int k = 0; k < c; k++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float v = (chw[((size_t)k * h + y) * w + x] + 1.0f) * 127.5f;
                image->data[((size_t)y * w + x) * c + k] = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
            }
    return image;
}

static const float *image_of(const app_ae_eval *e, int panel, long index)
{
    const size_t per = volume(e->shape);
    return panel == 0 ? e->originals + (size_t)index * per
                      : e->reconstructions + ((size_t)(panel - 1) * e->images + index) * per;
}

int app_ae_write_png(const char *app, const char *path, const pcl_image *image)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (pcl_image_write_png(tmp, image) != PCL_OK) return remove(tmp), app_fail(app, path);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "perceptcl %s: %s: %s\n", app, path, strerror(errno));
        return remove(tmp), 1;
    }
    return 0;
}

int app_ae_grid_write(const char *app, const app_ae_eval *e, const long *picked, int rows, const int *order,
                      int panel_count, int zoom, const char *path)
{
    enum { GAP = 4 };
    const int panels = order ? panel_count : 1 + e->models, crop[4] = {0, 0, e->shape[2], e->shape[1]};
    for (int p = 0; order && p < panels; p++)
        if (order[p] < 0 || order[p] > e->models)
            return fprintf(stderr, "perceptcl %s: grid panel %d: no model %d\n", app, p, order[p] - 1), 1;
    pcl_image *strip = NULL, *grid = NULL;
    int rc = app_strip_create(app, panels, crop, zoom, e->shape[0], &strip);
    const size_t row_height = (size_t)crop[3] * zoom;
    if (rc == 0 && pcl_image_create(&grid, strip->width, (int)(rows * row_height + (size_t)(rows - 1) * GAP),
                                    e->shape[0]) != PCL_OK)
        rc = app_fail(app, "grid");
    if (rc == 0)
        for (size_t i = 0; i < pcl_image_size(grid); i++) grid->data[i] = 255.0f;
    for (int row = 0; row < rows && rc == 0; row++) {
        for (int p = 0; p < panels && rc == 0; p++) {
            pcl_image *image = app_ae_to_image(image_of(e, order ? order[p] : p, picked[row]), e->shape);
            rc = image ? app_strip_put(app, strip, p, image, crop, zoom) : app_fail(app, "grid");
            pcl_image_destroy(image);
        }
        size_t line = (size_t)strip->width * (size_t)strip->channels;
        for (size_t y = 0; y < row_height && rc == 0; y++)
            memcpy(grid->data + (row * (row_height + GAP) + y) * line, strip->data + y * line, line * sizeof(float));
    }
    if (rc == 0) rc = app_ae_write_png(app, path, grid);
    pcl_image_destroy(strip);
    pcl_image_destroy(grid);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

int app_ae_study_write(const char *app, const app_ae_eval *e, const char *const *labels, const long *picked,
                       int count, const char *dir)
{
    if (e->models < 2 || e->models > APP_STUDY_MAX_METHODS)
        return fprintf(stderr, "perceptcl %s: a study compares 2 or 3 models, not %d\n", app, e->models), 1;
    struct stat st;
    if (stat(dir, &st) == 0) return fprintf(stderr, "perceptcl %s: %s already exists\n", app, dir), 1;
    char partial[4200], path[4400] = "";
    snprintf(partial, sizeof partial, "%s.partial", dir);
    nftw(partial, remove_entry, 16, FTW_DEPTH | FTW_PHYS); /* a previous failed run's */
    int rc = mkdir(partial, 0777) != 0;
    for (int p = 0; p <= e->models && rc == 0; p++) {
        snprintf(path, sizeof path, "%s/%s%.0d", partial, p ? "m" : "original", p);
        rc = mkdir(path, 0777) != 0;
    }
    if (rc) {
        fprintf(stderr, "perceptcl %s: %s: %s\n", app, path[0] ? path : partial, strerror(errno));
        nftw(partial, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    app_study_item *items = calloc((size_t)count, sizeof *items);
    char (*names)[2][48] = calloc((size_t)count, sizeof *names); /* id, original */
    char (*files)[APP_STUDY_MAX_METHODS][48] = calloc((size_t)count, sizeof *files);
    if (!items || !names || !files) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", app), 1);
    for (int k = 0; k < count && rc == 0; k++) {
        snprintf(names[k][0], sizeof names[k][0], "img%ld", picked[k]);
        snprintf(names[k][1], sizeof names[k][1], "original/%s.png", names[k][0]);
        items[k].id = names[k][0];
        items[k].original = names[k][1];
        for (int p = 0; p <= e->models && rc == 0; p++) {
            const char *relative = p ? files[k][p - 1] : names[k][1];
            if (p) snprintf(files[k][p - 1], sizeof files[k][p - 1], "m%d/%s.png", p, names[k][0]);
            if (p) items[k].images[p - 1] = files[k][p - 1];
            snprintf(path, sizeof path, "%s/%s", partial, relative);
            pcl_image *image = app_ae_to_image(image_of(e, p, picked[k]), e->shape);
            rc = image ? app_ae_write_png(app, path, image) : app_fail(app, path);
            pcl_image_destroy(image);
        }
    }
    app_study_items manifest = {.method_count = e->models, .item_count = count, .items = items};
    for (int m = 0; m < e->models; m++) manifest.methods[m] = labels[m];
    snprintf(path, sizeof path, "%s/items.json", partial);
    if (rc == 0) rc = app_study_items_write(app, path, &manifest);
    if (rc == 0 && rename(partial, dir) != 0)
        rc = (fprintf(stderr, "perceptcl %s: %s: %s\n", app, dir, strerror(errno)), 1);
    if (rc) nftw(partial, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(items), free(names), free(files);
    return rc;
}
