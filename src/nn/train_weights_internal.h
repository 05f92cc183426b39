/* What the model (nn/model.c), model files (io/model_file.c) and training
 * checkpoints (train/) know of pcl_train_weights beyond
 * include/perceptcl/train_weights.h: the alias names older files use. */
#ifndef PERCEPTCL_TRAIN_WEIGHTS_INTERNAL_H
#define PERCEPTCL_TRAIN_WEIGHTS_INTERNAL_H

#include "perceptcl/train_weights.h"

/* pcl_train_weights_add_layer where the layer's tensors also have an
 * alias "<alias_prefix>.<name>" (NULL: none): a named model layer's index
 * name, which files written before it had a name use. */
pcl_status pcl_train_weights_add_layer_aliased(pcl_train_weights *weights, pcl_layer *layer, const char *prefix,
                                               const char *alias_prefix);
/* Entry index's alias, or NULL. */
const char *pcl_train_weights_alias(const pcl_train_weights *weights, int index);

#endif
