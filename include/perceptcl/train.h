/* perceptcl: the training-loop pieces every app shares, one header each
 * (this header includes them all):
 *
 *   train_position.h    seeded mini-batches: pcl_train_shuffle,
 *                       pcl_train_batch_count, pcl_train_position (where a
 *                       run is: epoch, batch, step, RNG state)
 *   train_weights.h     the model's tensors: pcl_train_weights, named
 *                       parameters and buffers with PyTorch's names and shapes
 *   train_early_stop.h  pcl_early_stop: patience on validation loss,
 *                       keeping a device copy of the best weights
 *   train_checkpoint.h  resume: pcl_train_save / pcl_train_load: weights,
 *                       optimizer state, position and early-stopping state in
 *                       one safetensors checkpoint
 *   train_progress.h    pcl_progress: a live bar (loss, images/s, ETA) when
 *                       the stream is a terminal, periodic lines otherwise
 *   train_log.h         pcl_train_log: a CSV log, one flushed line per record
 *   loss_curve.h        pcl_loss_curve_write_svg, pcl_loss_curve_from_log
 *
 * The loop itself is trainer.h. Reproducibility: the run's seed starts a
 * splitmix64 stream (rng.h) from which each epoch's order is drawn
 * (train_position.h); other random draws take pcl_train_step_seed(seed,
 * step). With the same seed on the same device (and work-group limit) a run,
 * straight or resumed, is bitwise the same. */
#ifndef PERCEPTCL_TRAIN_H
#define PERCEPTCL_TRAIN_H

#include "perceptcl/loss_curve.h"
#include "perceptcl/train_checkpoint.h"
#include "perceptcl/train_early_stop.h"
#include "perceptcl/train_log.h"
#include "perceptcl/train_position.h"
#include "perceptcl/train_progress.h"
#include "perceptcl/train_weights.h"

#endif
