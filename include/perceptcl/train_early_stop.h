/* perceptcl: early stopping: patience on the validation loss, keeping a
 * device copy of the best weights (train.h: overview). */
#ifndef PERCEPTCL_TRAIN_EARLY_STOP_H
#define PERCEPTCL_TRAIN_EARLY_STOP_H

#include "perceptcl/export.h"
#include "perceptcl/status.h"
#include "perceptcl/train_weights.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_early_stop pcl_early_stop;

/* patience >= 1: stop after that many epochs in a row without a validation
 * loss below best - min_delta. Keeps a device copy of each weight. */
PCL_API pcl_status pcl_early_stop_create(int patience, double min_delta, pcl_train_weights *weights,
                                         pcl_early_stop **stop);
PCL_API void pcl_early_stop_destroy(pcl_early_stop *stop);
/* Records an epoch's validation loss. On improvement copies the weights as
 * the best (*improved = 1); else counts a bad epoch (NaN is never an
 * improvement). *should_stop = 1 once patience bad epochs are reached. */
PCL_API pcl_status pcl_early_stop_update(pcl_early_stop *stop, int64_t epoch, double validation_loss, int *improved,
                                         int *should_stop);
/* Copies the best weights back into the model (no-op before any update). */
PCL_API pcl_status pcl_early_stop_restore(pcl_early_stop *stop);
PCL_API double pcl_early_stop_best(const pcl_early_stop *stop);        /* +inf before any */
PCL_API int64_t pcl_early_stop_best_epoch(const pcl_early_stop *stop); /* -1 before any */
PCL_API int pcl_early_stop_bad_epochs(const pcl_early_stop *stop);

#ifdef __cplusplus
}
#endif
#endif
