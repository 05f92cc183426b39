/* Seeded mini-batch order and the run's position (train_position.h):
 * one splitmix64 stream per run, advanced only by each epoch's shuffle, so a
 * position saved mid-epoch redraws the same order on resume. */
#include "perceptcl/train_position.h"

#include "perceptcl/rng.h"

void pcl_train_shuffle(size_t *indices, size_t n, uint64_t *rng_state)
{
    for (size_t i = 0; i < n; i++) indices[i] = i;
    pcl_rng_shuffle(indices, n, rng_state);
}

size_t pcl_train_batch_count(size_t n, size_t batch, int drop_last)
{
    if (batch == 0) return 0;
    return drop_last ? n / batch : (n + batch - 1) / batch;
}

pcl_train_position pcl_train_position_start(uint64_t seed)
{
    pcl_train_position p = {0};
    p.seed = seed;
    p.epoch_rng = seed;
    p.rng = seed;
    return p;
}

void pcl_train_epoch_order(pcl_train_position *position, size_t *indices, size_t n)
{
    position->rng = position->epoch_rng;
    pcl_train_shuffle(indices, n, &position->rng);
}

void pcl_train_next_epoch(pcl_train_position *position)
{
    position->epoch++;
    position->batch = 0;
    position->epoch_loss = 0.0;
    position->epoch_rng = position->rng;
}
