/* perceptcl: seeded mini-batches and where a run is (train.h: overview).
 *
 * The run's seed starts a splitmix64 stream (rng.h). Epoch e's order is
 * drawn from that stream at the start of the epoch; the position records the
 * stream's state before the draw, so a resumed run redraws the same order
 * and skips the batches already done. Other random draws (VAE noise, random
 * crops) take pcl_train_step_seed(seed, step) (rng.h), which needs no saved
 * state. */
#ifndef PERCEPTCL_TRAIN_POSITION_H
#define PERCEPTCL_TRAIN_POSITION_H

#include "perceptcl/export.h"
#include "perceptcl/rng.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fills indices with 0..n-1, then shuffles them with pcl_rng_shuffle
 * (rng.h; pcl_permutation in datasets.h equals this with *rng_state = seed).
 * pcl_train_step_seed, the seed of one step's random draws, is in rng.h. */
PCL_API void pcl_train_shuffle(size_t *indices, size_t n, uint64_t *rng_state);
/* Mini-batches per epoch: ceil(n / batch), or floor with drop_last. */
PCL_API size_t pcl_train_batch_count(size_t n, size_t batch, int drop_last);

/* Where a run is. A new run: pcl_train_position_start(seed). */
typedef struct pcl_train_position {
    uint64_t seed;      /* the run's seed */
    int64_t epoch;      /* current epoch, from 0 */
    int64_t batch;      /* batches of this epoch already done */
    int64_t step;       /* optimizer steps done in all */
    uint64_t epoch_rng; /* stream state before this epoch's shuffle */
    uint64_t rng;       /* stream state now (after the shuffle) */
    double elapsed;     /* seconds of training so far (for logs) */
    double epoch_loss;  /* sum of this epoch's batch losses so far (position.batch
                           of them), so that an epoch resumed mid-way logs
                           the mean over all its batches; NaN: unknown (a
                           state saved before this was recorded) */
} pcl_train_position;

PCL_API pcl_train_position pcl_train_position_start(uint64_t seed);
/* Draws this epoch's order into indices (n of them) from the position: sets
 * rng = epoch_rng, shuffles, leaves rng after the draw. Call at the start of
 * every epoch, including a resumed one (which then skips position.batch). */
PCL_API void pcl_train_epoch_order(pcl_train_position *position, size_t *indices, size_t n);
/* Ends an epoch: epoch + 1, batch 0, epoch_loss 0, epoch_rng = rng. */
PCL_API void pcl_train_next_epoch(pcl_train_position *position);

#ifdef __cplusplus
}
#endif
#endif
