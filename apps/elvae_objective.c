/* The EL-VAE objective's normalisation and its mapping onto the trainer's
 * loss (elvae.h). */
#include "elvae.h"

#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double app_elvae_kl_weight(double norm, double c) { return norm / c; }

double app_elvae_objective(double trainer_loss, double norm, double c) { return c / norm * trainer_loss; }

enum { NORM_BATCH = 64 };

int app_elvae_norm(const char *app, pcl_context *context, const pcl_data_source *source, pcl_loss_kind loss,
                   const pcl_ssim_options *ssim, long pairs, uint64_t seed, double *norm)
{
    const int c = source->input[0], h = source->input[1], w = source->input[2];
    const size_t per = (size_t)c * h * w;
    if (pairs < 1) return fprintf(stderr, "perceptcl %s: loss normalisation over %ld pairs\n", app, pairs), 1;
    /* The trainer's view of an image: SSIM kinds take each channel as an
     * image, mse and mae the c*h*w values as one. */
    const int channels = pcl_loss_kind_uses_ssim(loss) ? c : 1;
    const int height = pcl_loss_kind_uses_ssim(loss) ? h : c * h;
    pcl_loss_options options = pcl_loss_options_default();
    if (ssim) options.ssim = *ssim;
    float *a = malloc(NORM_BATCH * per * sizeof *a), *b = malloc(NORM_BATCH * per * sizeof *b);
    float *targets = malloc(per * sizeof *targets), *values = malloc((size_t)NORM_BATCH * channels * sizeof *values);
    pcl_tensor *ta = NULL, *tb = NULL;
    pcl_loss *l = NULL;
    int rc = a && b && targets && values ? 0 : (fprintf(stderr, "perceptcl %s: out of memory\n", app), 1);
    uint64_t state = seed;
    double sum = 0.0;
    for (long done = 0; rc == 0 && done < pairs;) {
        const int n = pairs - done < NORM_BATCH ? (int)(pairs - done) : NORM_BATCH;
        if (!ta || ta->n != n) {
            pcl_tensor_destroy(ta), pcl_tensor_destroy(tb), pcl_loss_destroy(l);
            ta = tb = NULL, l = NULL;
            if (pcl_tensor_create(context, n, c, h, w, &ta) != PCL_OK ||
                pcl_tensor_create(context, n, c, h, w, &tb) != PCL_OK ||
                pcl_loss_create(context, loss, n * channels, height, w, &options, &l) != PCL_OK)
                rc = app_fail(app, "loss normalisation");
        }
        for (int i = 0; rc == 0 && i < n; i++) {
            size_t ia = (size_t)pcl_rng_below(&state, source->count), ib = (size_t)pcl_rng_below(&state, source->count);
            if (source->fill(source->user, &ia, 1, 0, a + i * per, targets) != PCL_OK ||
                source->fill(source->user, &ib, 1, 0, b + i * per, targets) != PCL_OK)
                rc = app_fail(app, "loss normalisation: the training images");
        }
        if (rc == 0 && (pcl_tensor_upload(ta, a) != PCL_OK || pcl_tensor_upload(tb, b) != PCL_OK ||
                        pcl_loss_run(l, ta->mem, tb->mem, values, NULL) != PCL_OK))
            rc = app_fail(app, "loss normalisation");
        for (int i = 0; rc == 0 && i < n; i++) {
            double v = 0.0;
            for (int k = 0; k < channels; k++) v += values[i * channels + k];
            sum += pcl_loss_kind_training_loss(loss, v / channels);
        }
        done += n;
    }
    if (rc == 0) *norm = sum / (double)pairs;
    if (rc == 0 && !(isfinite(*norm) && *norm > 0))
        rc = (fprintf(stderr, "perceptcl %s: the %s loss's mean over %ld random training pairs is %g: it cannot "
                              "normalise (are the training images all alike?)\n",
                      app, pcl_loss_kind_name(loss), pairs, *norm), 1);
    pcl_loss_destroy(l);
    pcl_tensor_destroy(ta);
    pcl_tensor_destroy(tb);
    free(a), free(b), free(targets), free(values);
    return rc;
}

int app_elvae_norm_file_read(const char *app, const char *file, const json_t *key, double *norm, int *found)
{
    *found = 0;
    if (access(file, F_OK) != 0) return 0;
    json_error_t error;
    json_t *doc = json_load_file(file, 0, &error);
    if (!doc)
        return fprintf(stderr, "perceptcl %s: --norm-file %s: line %d: %s\n", app, file, error.line, error.text), 1;
    const json_t *stored = json_object_get(doc, "key"), *value = json_object_get(doc, "loss_norm");
    int rc = 0;
    if (!json_is_object(stored) || !json_is_number(value) || !(json_number_value(value) > 0) ||
        !isfinite(json_number_value(value))) {
        rc = (fprintf(stderr, "perceptcl %s: --norm-file %s: no \"key\" object and positive \"loss_norm\"\n", app,
                      file), 1);
    } else if (!json_equal(stored, key)) {
        const char *field;
        const json_t *want;
        json_object_foreach((json_t *)key, field, want) {
            if (json_equal(json_object_get(stored, field), want)) continue;
            char *ours = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
            char *theirs = json_dumps(json_object_get(stored, field), JSON_ENCODE_ANY | JSON_COMPACT);
            fprintf(stderr, "perceptcl %s: --norm-file %s holds D_bar for %s %s, this run has %s: give another file\n",
                    app, file, field, theirs ? theirs : "(none)", ours ? ours : "?");
            free(ours), free(theirs);
            break;
        }
        rc = 1;
    } else {
        *norm = json_number_value(value);
        *found = 1;
    }
    json_decref(doc);
    return rc;
}

int app_elvae_norm_file_write(const char *app, const char *file, const json_t *key, double norm, json_t *about)
{
    json_t *doc = json_pack("{s:O, s:f, s:o}", "key", key, "loss_norm", norm, "computed_with", about);
    size_t length = strlen(file) + 8;
    char *partial = malloc(length);
    int rc = doc && partial ? 0 : (fprintf(stderr, "perceptcl %s: out of memory\n", app), 1);
    if (rc == 0) snprintf(partial, length, "%s.part", file);
    if (rc == 0 && json_dump_file(doc, partial, JSON_INDENT(2)) != 0)
        rc = (fprintf(stderr, "perceptcl %s: --norm-file: cannot write %s: %s\n", app, partial, strerror(errno)), 1);
    if (rc == 0 && rename(partial, file) != 0)
        rc = (fprintf(stderr, "perceptcl %s: --norm-file: cannot rename %s to %s: %s\n", app, partial, file,
                      strerror(errno)), 1);
    if (rc != 0 && partial) remove(partial);
    json_decref(doc);
    free(partial);
    return rc;
}

int app_elvae_terms(const char *app, pcl_model *model, const pcl_data_source *source, pcl_loss_kind loss,
                           const pcl_ssim_options *ssim, size_t batch, uint64_t seed, double *delta, double *kl)
{
    const int c = source->input[0], h = source->input[1], w = source->input[2];
    const size_t per = (size_t)c * h * w, target = (size_t)source->target[0] * source->target[1] * source->target[2];
    const int channels = pcl_loss_kind_uses_ssim(loss) ? c : 1, height = pcl_loss_kind_uses_ssim(loss) ? h : c * h;
    if (batch < 1 || target != per)
        return fprintf(stderr, "perceptcl %s: the objective's terms: batch %zu, inputs of %zu values, targets of %zu\n",
                       app, batch, per, target), 1;
    pcl_loss_options options = pcl_loss_options_default();
    if (ssim) options.ssim = *ssim;
    float *x = malloc(batch * per * sizeof *x), *t = malloc(batch * per * sizeof *t);
    float *values = malloc(batch * (size_t)channels * sizeof *values);
    size_t *indices = malloc(batch * sizeof *indices);
    pcl_tensor *tx = NULL, *tt = NULL;
    pcl_loss *l = NULL;
    if (!x || !t || !values || !indices) {
        free(x), free(t), free(values), free(indices);
        return fprintf(stderr, "perceptcl %s: the objective's terms: out of memory\n", app), 1;
    }
    pcl_status status = PCL_OK;
    pcl_model_set_training(model, 0);
    double delta_sum = 0.0, kl_sum = 0.0;
    uint64_t b = 0;
    for (size_t start = 0; status == PCL_OK && start < source->count; b++) {
        const size_t n = source->count - start < batch ? source->count - start : batch;
        for (size_t i = 0; i < n; i++) indices[i] = start + i;
        if (!tx || (size_t)tx->n != n) {
            pcl_tensor_destroy(tx), pcl_tensor_destroy(tt), pcl_loss_destroy(l);
            tx = tt = NULL, l = NULL;
            status = pcl_tensor_create(pcl_model_context(model), (int)n, c, h, w, &tx);
            if (status == PCL_OK) status = pcl_tensor_create(pcl_model_context(model), (int)n, c, h, w, &tt);
            if (status == PCL_OK)
                status = pcl_loss_create(pcl_model_context(model), loss, (int)n * channels, height, w, &options, &l);
        }
        if (status == PCL_OK)
            status = source->fill(source->user, indices, n, pcl_train_step_seed(seed, UINT64_MAX - b), x, t);
        pcl_tensor *y = NULL;
        if (status == PCL_OK) status = pcl_tensor_upload(tx, x);
        if (status == PCL_OK) status = pcl_tensor_upload(tt, t);
        if (status == PCL_OK) status = pcl_model_forward(model, tx, &y);
        if (status == PCL_OK) status = pcl_loss_run(l, tt->mem, y->mem, values, NULL);
        double mean_kl = 0.0;
        if (status == PCL_OK) status = pcl_model_kl(model, &mean_kl);
        for (size_t i = 0; status == PCL_OK && i < n; i++) {
            double v = 0.0;
            for (int k = 0; k < channels; k++) v += values[i * channels + k];
            delta_sum += pcl_loss_kind_training_loss(loss, v / channels);
        }
        kl_sum += mean_kl * (double)n;
        start += n;
    }
    pcl_model_set_training(model, 1);
    if (status == PCL_OK) *delta = delta_sum / (double)source->count, *kl = kl_sum / (double)source->count;
    pcl_loss_destroy(l);
    pcl_tensor_destroy(tx);
    pcl_tensor_destroy(tt);
    free(x), free(t), free(values), free(indices);
    return status == PCL_OK ? 0 : app_fail(app, "the objective's terms");
}
