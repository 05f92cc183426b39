/* perceptcl: the training loop every app shares.
 *
 *   pcl_trainer_create(model, optimizer, &config, &trainer)
 *   pcl_trainer_run(trainer, &train_source, &validation_source, &result)
 *   pcl_trainer_evaluate(trainer, &source, &loss)
 *   pcl_trainer_destroy(trainer)
 *
 * One run: epochs of seeded shuffled mini-batches (train_position.h), per
 * step: fill the batch from the data source, forward, the loss (loss.h),
 * backward, one optimizer step; per epoch: a validation pass (inference
 * mode), early stopping, a CSV log line, the loss curve redrawn and a
 * checkpoint written atomically (weights, optimizer state, position, early
 * stopping with the best weights), and mid-epoch every
 * config.checkpoint_seconds. config.resume_path continues such a checkpoint
 * exactly: the resumed run's weights, and its log's losses, are bitwise those
 * of an uninterrupted run with the same seed on the same device.
 *
 * The loss of a batch of n images (what is minimised, logged and shown):
 *   mse, mae, msssim-l1:  (1/n) sum_i value_i
 *   ssim, msssim:         (1/n) sum_i (1 - value_i)
 * (pcl_loss_kind_training_loss) where value_i is loss.h's per-image value;
 * for the SSIM-based kinds (pcl_loss_kind_uses_ssim) an image of C channels
 * is C single-channel images to loss.h and value_i the mean over its
 * channels; mse and mae take an image's c*h*w values as one image.
 * Models with a VAE sampler add kl_weight * (1/n) sum_i KL_i (model.h).
 * The validation loss is the mean of the same per-image loss over every
 * validation record.
 *
 * A loss that is NaN or infinite stops the run with PCL_ERR_UNDEFINED and a
 * message naming the epoch, the step and the batch; nothing is saved for
 * that step.
 *
 * Data parallel (config.comm of N > 1 ranks, comm.h; every rank runs the
 * same program with the same config and data): config.batch is the global
 * batch. Every rank draws the same seeded order; rank r takes its part
 * (pcl_comm_shard) of each global batch, computes the mean gradient over its
 * images, and the ranks' gradients, weighted by their shares of the batch,
 * are summed in rank order (grad_exchange: buckets of about bucket_bytes,
 * copied and summed while the layers below still compute), so every rank
 * takes the same optimizer step. The result equals one process with the same
 * batch up to float rounding (the sums are grouped differently); two runs
 * with the same N give the same bits. At the start every rank takes rank
 * 0's weights; before each validation, batch normalisation's running
 * statistics become their mean over the ranks. Validation is sharded the same
 * way and its per-image losses summed, so every rank sees the same validation
 * loss and makes the same early-stopping decision. Only rank 0 writes the
 * checkpoint, log and curve and shows progress (the global loss and images
 * per second). The position is global: a run resumes with any N. Per-image
 * randomness comes from the step seed and the record (pcl_data_source), so
 * it does not depend on N; a VAE sampler's noise is drawn per rank
 * (pcl_model_set_noise_seed with the step seed and the rank). A failure on
 * one rank (a bad record, a NaN loss) returns there while the others wait in
 * the next exchange: end the job then (pcl_comm_abort), as perceptcl's apps do. */
#ifndef PERCEPTCL_TRAINER_H
#define PERCEPTCL_TRAINER_H

#include "perceptcl/export.h"
#include "perceptcl/comm.h"
#include "perceptcl/loss.h"
#include "perceptcl/model.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/ssim.h"
#include "perceptcl/train.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data sources --------------------------------------------------------- */

/* Records the trainer asks for by index (patches, images, dataset records). */
typedef struct pcl_data_source {
    size_t count;  /* number of records, >= 1 */
    int input[3];  /* c, h, w of one input record */
    int target[3]; /* c, h, w of one target record: the model's output shape */
    /* Fills inputs (n * input c*h*w floats, NCHW, record after record) and
     * targets (n * target c*h*w) for records indices[0..n-1]. seed is
     * pcl_train_step_seed(run seed, step) for a training batch (for random
     * crops or noise: the same step gets the same seed after a resume) and
     * pcl_train_step_seed(run seed, UINT64_MAX - batch index) for
     * validation batches. Returns PCL_OK or a failure with its message. */
    pcl_status (*fill)(void *user, const size_t *indices, size_t n, uint64_t seed, float *inputs, float *targets);
    /* Optional, validation sources only: the shapes of record index (images
     * of different sizes). The trainer then batches consecutive records of
     * equal shapes. NULL: every record has input and target. */
    pcl_status (*shape)(void *user, size_t index, int input[3], int target[3]);
    void *user;
} pcl_data_source;

/* Records held in two host arrays (count * input floats, count * target
 * floats), for tests and small data sets. The arrays are not copied: they
 * and *arrays must outlive the source. */
typedef struct pcl_array_source {
    const float *inputs, *targets;
    size_t count;
    int input[3], target[3];
} pcl_array_source;
PCL_API pcl_data_source pcl_data_source_from_arrays(const pcl_array_source *arrays);

/* ---- configuration ------------------------------------------------------- */

typedef struct pcl_trainer_epoch {
    int64_t epoch;            /* the epoch just completed, from 0 */
    int64_t step;             /* optimizer steps so far */
    double train_loss;        /* its mean training loss over the batches this
                                 run did (a resume mid-epoch: the rest) */
    double validation_loss;   /* NaN without validation */
    double images_per_second; /* training images per second in this epoch */
    int improved;             /* validation improved on the best so far */
} pcl_trainer_epoch;

typedef struct pcl_trainer_config {
    pcl_loss_kind loss;                   /* default PCL_LOSS_KIND_MSE */
    const pcl_ssim_options *ssim_options; /* SSIM-based kinds; NULL: defaults (copied) */
    double msssim_l1_alpha;               /* msssim-l1's alpha (loss.h); default 0.84 */
    size_t batch;                         /* training mini-batch, >= 1 */
    int drop_last;                        /* skip the last partial mini-batch */
    size_t validation_batch;              /* 0: batch */
    int64_t epochs;                       /* total epochs, resumed ones included */
    int64_t max_steps;                    /* > 0: also stop once step == max_steps
                                             (mid-epoch too; checkpoint written) */
    uint64_t seed;                        /* shuffling, noise; a resume uses the saved one */
    const char *recipe;                   /* NULL, or a JSON object describing the data and
                                             recipe (an app's: scale, folders, seed ...),
                                             recorded in the checkpoint; a resume must give
                                             the same (pcl_trainer_check_resume) */
    int patience;                         /* > 0: early stopping (needs validation) */
    double min_delta;                     /* improvement below best - min_delta counts */
    int restore_best;                     /* at the end, the best validation weights
                                             are copied into the model */
    const char *checkpoint_path;          /* NULL: no checkpoints */
    double checkpoint_seconds;            /* > 0: also save mid-epoch, after the first
                                             step that ends this long after the last
                                             save (a killed run then loses at most
                                             this much); 0: at epoch ends only */
    const char *resume_path;              /* NULL: a new run */
    const char *log_path;                 /* NULL: no CSV log (appended on resume) */
    const char *curve_path;               /* NULL: no SVG loss curve */
    const char *title;                    /* for the curve; NULL: "training loss" */
    FILE *progress_stream;                /* NULL: stderr */
    pcl_progress_mode progress_mode;      /* AUTO: a bar on a terminal, else lines */
    double progress_interval;             /* seconds between plain lines */
    /* Optional: called after every epoch (after its checkpoint); a failure
     * stops the run with that status. Schedules may change the optimizer's
     * learning rate here (a function of the epoch keeps resumes exact). */
    pcl_status (*on_epoch)(void *user, const pcl_trainer_epoch *epoch);
    void *user;
    /* Optional: a flag that a signal handler sets (apps: SIGINT, SIGTERM). Seen
     * non-zero after a step, the run writes its checkpoint there (after the
     * epoch's end when that step was its last) and returns PCL_OK with
     * result.interrupted set (best weights not restored); a resume continues
     * exactly. A request seen at the run's last step (its last epoch, its
     * max_steps or the epoch early stopping ends) interrupts nothing: the
     * result is that of a complete run. Data-parallel runs (comm of N > 1
     * ranks) do not read it: the ranks could see it at different steps. */
    const volatile sig_atomic_t *stop_request;
    pcl_comm *comm;      /* NULL or one rank: this process alone; else data parallel (above) */
    size_t bucket_bytes; /* data parallel: gradient bytes per exchange; 0: 4 MiB */
} pcl_trainer_config;

/* loss mse (msssim-l1 alpha 0.84), batch 16, epochs 1, seed 0, no early stopping, no files,
 * progress AUTO on stderr every 10 s. */
PCL_API pcl_trainer_config pcl_trainer_config_default(void);

typedef struct pcl_trainer_result {
    int64_t epochs;               /* epochs completed, resumed ones included */
    int64_t steps;                /* optimizer steps in all */
    double train_loss;            /* last completed epoch's (NaN: none this run) */
    double validation_loss;       /* last completed epoch's (NaN: none) */
    double best_validation_loss;  /* +inf without validation */
    int64_t best_epoch;           /* -1 without validation */
    int stopped_early;            /* early stopping ended the run */
    double images_per_second;     /* training throughput of the last epoch */
    double exchange_seconds;      /* data parallel: host seconds in the gradient sums
                                     across the ranks (their communication and the
                                     wait for slower ranks), since the trainer's create */
    int interrupted;              /* config.stop_request ended the run (checkpoint written) */
    double elapsed_seconds;       /* seconds of training steps over every run of this
                                     training, resumed ones included (the position's;
                                     validation passes not counted) */
} pcl_trainer_result;

/* ---- the trainer ----------------------------------------------------------- */

typedef struct pcl_trainer pcl_trainer;

/* The model and optimizer are not owned. An optimizer with no parameters
 * gets the model's (pcl_model_add_to_optimizer); otherwise it must hold
 * them already. config's strings are copied. */
PCL_API pcl_status pcl_trainer_create(pcl_model *model, pcl_optimizer *optimizer, const pcl_trainer_config *config,
                                      pcl_trainer **trainer);
PCL_API void pcl_trainer_destroy(pcl_trainer *trainer);

/* Trains (see the top of this file). validation may be NULL. The model is
 * left in training mode. result may be NULL. */
PCL_API pcl_status pcl_trainer_run(pcl_trainer *trainer, const pcl_data_source *train,
                                   const pcl_data_source *validation, pcl_trainer_result *result);

/* Whether the training state at path belongs to a run of this
 * configuration: its loss, batch size and recipe (each member) must be the
 * config's; the epochs, max_steps and the files may differ. A state that
 * lacks a record (written before they were recorded) is not checked on it.
 * Fails with PCL_ERR_INVALID_ARGUMENT and one message naming every
 * mismatch ("loss mse (this run: mae), batch 128 (this run: 8), scale 4
 * (this run: 2)"). pcl_trainer_run checks config.resume_path so before it
 * loads anything; apps call it before any work. */
PCL_API pcl_status pcl_trainer_check_resume(const pcl_trainer_config *config, const char *path);

/* The mean per-image loss of the model on every record of source, in
 * inference mode (the mode is restored). With config.comm of several ranks
 * every rank must call it: each evaluates its shard and all get the same
 * value. */
PCL_API pcl_status pcl_trainer_evaluate(pcl_trainer *trainer, const pcl_data_source *source, double *loss);

#ifdef __cplusplus
}
#endif
#endif
