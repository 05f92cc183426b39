/* Private state of the training pieces shared between src/train_*.c. */
#ifndef PERCEPTCL_TRAIN_INTERNAL_H
#define PERCEPTCL_TRAIN_INTERNAL_H

#include "runtime/internal.h"
#include "perceptcl/train.h"

struct pcl_early_stop {
    int patience;
    double min_delta;
    pcl_train_weights *weights; /* not owned */
    int count;                  /* weights at create time */
    pcl_tensor **best;          /* device copies, one per weight */
    int have_best;
    double best_loss;
    int64_t best_epoch;
    int bad_epochs;
};

/* pcl_train_weights_add_layer where the layer's tensors also have an
 * alias "<alias_prefix>.<name>" (NULL: none): a named model layer's index
 * name, which files written before it had a name use. */
pcl_status pcl_train_weights_add_layer_aliased(pcl_train_weights *weights, pcl_layer *layer, const char *prefix,
                                               const char *alias_prefix);
/* Entry index's alias, or NULL. */
const char *pcl_train_weights_alias(const pcl_train_weights *weights, int index);

/* What a training state records about the run besides its position, so a
 * resume with another configuration is refused (pcl_trainer_check_resume):
 * metadata "loss", "batch_size" (when > 0) and "recipe" (when not NULL). */
typedef struct pcl_train_run {
    const char *loss_name;
    int64_t batch_size;
    const char *recipe;
} pcl_train_run;
/* pcl_train_save with the run's description. */
pcl_status pcl_train_save_run(const char *path, const pcl_train_weights *weights, const pcl_optimizer *optimizer,
                              const pcl_early_stop *stop, const pcl_train_position *position, const pcl_train_run *run);

#endif
