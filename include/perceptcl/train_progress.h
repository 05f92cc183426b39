/* perceptcl: the progress display of a run: a live bar (loss, images/s,
 * ETA) when the stream is a terminal, periodic lines otherwise (train.h:
 * overview). */
#ifndef PERCEPTCL_TRAIN_PROGRESS_H
#define PERCEPTCL_TRAIN_PROGRESS_H

#include "perceptcl/export.h"
#include "perceptcl/status.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pcl_progress_mode {
    PCL_PROGRESS_MODE_AUTO = 0, /* BAR when the stream is a terminal (isatty), else LINES */
    PCL_PROGRESS_MODE_BAR,      /* one line redrawn with \r */
    PCL_PROGRESS_MODE_LINES,    /* a plain line every interval seconds and per epoch */
    PCL_PROGRESS_MODE_OFF
} pcl_progress_mode;

typedef struct pcl_progress pcl_progress;

/* Prints to stream (not owned). interval: seconds between plain lines (and
 * the least between bar redraws is 0.1 s). */
PCL_API pcl_status pcl_progress_create(FILE *stream, pcl_progress_mode mode, double interval, pcl_progress **progress);
PCL_API void pcl_progress_destroy(pcl_progress *progress);
/* The mode AUTO resolved to. */
PCL_API pcl_progress_mode pcl_progress_get_mode(const pcl_progress *progress);
/* Replaces the clock (seconds, monotonic), for tests. */
PCL_API void pcl_progress_set_clock(pcl_progress *progress, double (*now)(void *user), void *user);
/* Starts an epoch of batches mini-batches (epochs: total, 0 if unknown);
 * done: batches already done (a resumed epoch). */
PCL_API void pcl_progress_epoch_begin(pcl_progress *progress, int64_t epoch, int64_t epochs, int64_t batches,
                                      int64_t done);
/* A resumed epoch: the losses of its `done` batches already done summed, so
 * that the running mean shown is over the whole epoch. */
PCL_API void pcl_progress_epoch_done_loss(pcl_progress *progress, double loss_sum);
/* One mini-batch done: its mean loss and its number of images. */
PCL_API void pcl_progress_batch(pcl_progress *progress, double loss, size_t images);
/* Ends the epoch with its mean training loss and validation loss (NaN:
 * none); prints one summary line in every mode but OFF. */
PCL_API void pcl_progress_epoch_end(pcl_progress *progress, double train_loss, double validation_loss);
/* Images per second over the epoch so far. */
PCL_API double pcl_progress_images_per_second(const pcl_progress *progress);

#ifdef __cplusplus
}
#endif
#endif
