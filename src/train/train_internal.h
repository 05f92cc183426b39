/* Private state of the training pieces shared between src/train/train_*.c. */
#ifndef PERCEPTCL_TRAIN_INTERNAL_H
#define PERCEPTCL_TRAIN_INTERNAL_H

#include "nn/train_weights_internal.h"
#include "runtime/internal.h"
#include "perceptcl/train_checkpoint.h"

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
