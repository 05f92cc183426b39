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

#endif
