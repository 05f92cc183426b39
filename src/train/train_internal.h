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

#endif
