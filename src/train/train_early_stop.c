/* Early stopping: patience on the validation loss, with a device copy of the
 * best weights (copies stay on the device: no host round trip per epoch). */
#include "train/train_internal.h"

#include <math.h>
#include <stdlib.h>

pcl_status pcl_early_stop_create(int patience, double min_delta, pcl_train_weights *weights,
                                 pcl_early_stop **stop)
{
    if (!stop) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_early_stop_create: stop is NULL");
    *stop = NULL;
    if (!weights) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_early_stop_create: weights is NULL");
    if (patience < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "early stopping: patience %d, expected >= 1", patience);
    if (!(min_delta >= 0.0) || !isfinite(min_delta))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "early stopping: min_delta %g, expected a finite value >= 0",
                        min_delta);
    pcl_early_stop *s = calloc(1, sizeof *s);
    int count = pcl_train_weights_count(weights);
    if (s) s->best = calloc(count ? (size_t)count : 1, sizeof *s->best);
    if (!s || !s->best) {
        free(s);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_early_stop_create: out of memory");
    }
    s->patience = patience;
    s->min_delta = min_delta;
    s->weights = weights;
    s->count = count;
    s->best_loss = INFINITY;
    s->best_epoch = -1;
    for (int i = 0; i < count; i++) {
        pcl_tensor *t;
        pcl_status status = pcl_train_weights_entry(weights, i, NULL, &t);
        if (status == PCL_OK) status = pcl_tensor_create(t->context, t->n, t->c, t->h, t->w, &s->best[i]);
        if (status != PCL_OK) {
            pcl_early_stop_destroy(s);
            return status;
        }
    }
    *stop = s;
    return PCL_OK;
}

void pcl_early_stop_destroy(pcl_early_stop *stop)
{
    if (!stop) return;
    for (int i = 0; i < stop->count; i++) pcl_tensor_destroy(stop->best[i]);
    free(stop->best);
    free(stop);
}

pcl_status pcl_early_stop_update(pcl_early_stop *stop, int64_t epoch, double validation_loss, int *improved,
                                 int *should_stop)
{
    if (!stop) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_early_stop_update: stop is NULL");
    if (pcl_train_weights_count(stop->weights) != stop->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "early stopping: %d weights now, %d when created",
                        pcl_train_weights_count(stop->weights), stop->count);
    /* NaN compares false: never an improvement. */
    int better = validation_loss < stop->best_loss - stop->min_delta;
    if (better) {
        for (int i = 0; i < stop->count; i++) {
            pcl_tensor *t;
            PCL_TRY(pcl_train_weights_entry(stop->weights, i, NULL, &t));
            PCL_TRY(pcl_tensor_copy(stop->best[i], t));
        }
        stop->have_best = 1;
        stop->best_loss = validation_loss;
        stop->best_epoch = epoch;
        stop->bad_epochs = 0;
    } else {
        stop->bad_epochs++;
    }
    if (improved) *improved = better;
    if (should_stop) *should_stop = stop->bad_epochs >= stop->patience;
    return PCL_OK;
}

pcl_status pcl_early_stop_restore(pcl_early_stop *stop)
{
    if (!stop) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_early_stop_restore: stop is NULL");
    if (!stop->have_best) return PCL_OK;
    for (int i = 0; i < stop->count; i++) {
        pcl_tensor *t;
        PCL_TRY(pcl_train_weights_entry(stop->weights, i, NULL, &t));
        PCL_TRY(pcl_tensor_copy(t, stop->best[i]));
    }
    return PCL_OK;
}

double pcl_early_stop_best(const pcl_early_stop *stop) { return stop->best_loss; }
int64_t pcl_early_stop_best_epoch(const pcl_early_stop *stop) { return stop->best_epoch; }
int pcl_early_stop_bad_epochs(const pcl_early_stop *stop) { return stop->bad_epochs; }
