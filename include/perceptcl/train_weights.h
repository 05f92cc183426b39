/* perceptcl: the model's tensors as a checkpoint names and shapes them
 * (train.h: overview). A pcl_model keeps one (pcl_model_weights); the
 * training checkpoints (train_checkpoint.h) and early stopping
 * (train_early_stop.h) work on it. */
#ifndef PERCEPTCL_TRAIN_WEIGHTS_H
#define PERCEPTCL_TRAIN_WEIGHTS_H

#include "perceptcl/export.h"
#include "perceptcl/layers.h"
#include "perceptcl/status.h"
#include "perceptcl/tensor.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Named tensors a checkpoint saves as the model (not owned), each with the
 * shape the file gives it (the device tensor is always n, c, h, w).
 *
 * A layer's tensors (pcl_train_weights_add_layer, and so every pcl_model and
 * the trainer's checkpoints) carry PyTorch's names and shapes, so that
 * safetensors.torch.load_file(path) gives tensors that a torch module's
 * load_state_dict takes once the keys are renamed to the module's:
 *   conv2d     "<i>.weight" (out, in, kh, kw)    "<i>.bias" (out)
 *   dense      "<i>.weight" (out, in)            "<i>.bias" (out)
 *              (nn.Linear's; a dense layer after a flatten takes the
 *              input in c, h, w order, as nn.Flatten gives it)
 *   batchnorm  "<i>.weight", "<i>.bias" (gamma, beta), "<i>.running_mean",
 *              "<i>.running_var", all (C); nn.BatchNorm2d also has
 *              num_batches_tracked, which load_state_dict fills in itself
 *              when absent (it is unused with a fixed momentum).
 * <i> is the layer's index in the model, counting layers without tensors
 * (activations, reshapes): for a model built in the same order as an
 * nn.Sequential, the keys are the Sequential's as they are. Elsewhere map
 * them, e.g. {"layer3.weight": sd["3.weight"], ...} from a list of
 * (perceptcl index, torch name) pairs; the optimizer's and early stopping's
 * entries ("optimizer.", "best.": train_checkpoint.h) are not a module's: drop them. */
typedef struct pcl_train_weights pcl_train_weights;

PCL_API pcl_status pcl_train_weights_create(pcl_train_weights **weights);
PCL_API void pcl_train_weights_destroy(pcl_train_weights *weights);
/* Adds one tensor under a unique name (copied), saved with its device shape
 * (n, c, h, w). */
PCL_API pcl_status pcl_train_weights_add(pcl_train_weights *weights, const char *name, pcl_tensor *tensor);
/* The same, saved with the given shape (ndim 1 to 4, extents >= 1, as many
 * values as the tensor holds; shape is copied). */
PCL_API pcl_status pcl_train_weights_add_shaped(pcl_train_weights *weights, const char *name, pcl_tensor *tensor,
                                                int ndim, const int64_t *shape);
/* Adds a layer's parameters and buffers as "<prefix>.<name>" with
 * PyTorch's names and shapes (the table above). */
PCL_API pcl_status pcl_train_weights_add_layer(pcl_train_weights *weights, pcl_layer *layer, const char *prefix);
PCL_API int pcl_train_weights_count(const pcl_train_weights *weights);
PCL_API pcl_status pcl_train_weights_entry(const pcl_train_weights *weights, int index, const char **name,
                                           pcl_tensor **tensor);
/* The shape entry index is saved with (shape: room for 4; either may be NULL). */
PCL_API pcl_status pcl_train_weights_shape(const pcl_train_weights *weights, int index, int *ndim, int64_t shape[4]);

#ifdef __cplusplus
}
#endif
#endif
