/* perceptcl: resuming a run: weights (PyTorch's names and shapes),
 * optimizer state, position (epoch, batch, step, RNG state) and early
 * stopping in one safetensors checkpoint (train.h: overview). With the same
 * seed on the same device (and work-group limit) a resumed run is bitwise
 * the straight one. */
#ifndef PERCEPTCL_TRAIN_CHECKPOINT_H
#define PERCEPTCL_TRAIN_CHECKPOINT_H

#include "perceptcl/export.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/status.h"
#include "perceptcl/train_early_stop.h"
#include "perceptcl/train_position.h"
#include "perceptcl/train_weights.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a checkpoint atomically: every weight by its name, with the shape
 * recorded for it (pcl_train_weights_shape); for the optimizer (may be
 * NULL) each state tensor as "optimizer.<param name>.<state name>"
 * ("momentum_buffer"; "exp_avg", "exp_avg_sq"), with the shape of the
 * weight that is its parameter (4-D n, c, h, w for a parameter not among
 * the weights); for early stopping (may be NULL) each best weight as
 * "best.<name>", shaped as the weight; metadata "format"
 * ("perceptcl-train-2"), "seed", "epoch", "batch", "step", "epoch_rng",
 * "rng", "elapsed", "loss" (loss_name, may be NULL), "optimizer",
 * "optimizer_steps", "learning_rate", "optimizer_config", "early_stop_*".
 * Floating metadata is written as C hex floats (exact round trip). */
PCL_API pcl_status pcl_train_save(const char *path, const pcl_train_weights *weights, const pcl_optimizer *optimizer,
                                  const pcl_early_stop *stop, const pcl_train_position *position,
                                  const char *loss_name);
/* Reads what pcl_train_save wrote into the same (freshly built) model: every
 * weight must be present with its shape; optimizer (may be NULL: weights
 * only) must be of the saved kind; position may be NULL. A file of format
 * "perceptcl-train-1" (written before tensors had PyTorch's shapes) holds
 * every tensor as its device shape (n, c, h, w) and is read as such. A
 * tensor of another shape is refused with a message naming the file, the
 * tensor, its shape and the one expected; nothing is loaded then. */
PCL_API pcl_status pcl_train_load(const char *path, pcl_train_weights *weights, pcl_optimizer *optimizer,
                                  pcl_early_stop *stop, pcl_train_position *position);

#ifdef __cplusplus
}
#endif
#endif
