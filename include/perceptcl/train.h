/* perceptcl: the training-loop pieces every app shares.
 *
 *   seeded mini-batches   pcl_train_shuffle, pcl_train_batch_count,
 *                         pcl_train_step_seed
 *   the model's tensors   pcl_train_weights: named parameters and buffers
 *   early stopping        pcl_early_stop: patience on validation loss,
 *                         keeping a device copy of the best weights
 *   resume                pcl_train_save / pcl_train_load: weights (PyTorch's
 *                         names and shapes), optimizer state, position
 *                         (epoch, batch, step, RNG state) and early-stopping
 *                         state in one safetensors checkpoint
 *   progress              pcl_progress: a live bar (loss, images/s, ETA) when
 *                         the stream is a terminal, periodic lines otherwise
 *   CSV log               pcl_train_log: one flushed line per record
 *   loss curve            pcl_loss_curve_write_svg
 *
 * Reproducibility: the run's seed starts a splitmix64 stream (rng.h). Epoch e's order is drawn from that stream at the start of the
 * epoch; the position records the stream's state before the draw, so a
 * resumed run redraws the same order and skips the batches already done.
 * Other random draws (VAE noise, random crops) take pcl_train_step_seed(seed,
 * step), which needs no saved state. With the same seed on the same device
 * (and work-group limit) a run, straight or resumed, is bitwise the same. */
#ifndef PERCEPTCL_TRAIN_H
#define PERCEPTCL_TRAIN_H

#include "perceptcl/export.h"
#include "perceptcl/layers.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- seeded mini-batches ------------------------------------------------ */

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
} pcl_train_position;

PCL_API pcl_train_position pcl_train_position_start(uint64_t seed);
/* Draws this epoch's order into indices (n of them) from the position: sets
 * rng = epoch_rng, shuffles, leaves rng after the draw. Call at the start of
 * every epoch, including a resumed one (which then skips position.batch). */
PCL_API void pcl_train_epoch_order(pcl_train_position *position, size_t *indices, size_t n);
/* Ends an epoch: epoch + 1, batch 0, epoch_rng = rng. */
PCL_API void pcl_train_next_epoch(pcl_train_position *position);

/* ---- the model's tensors ------------------------------------------------ */

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
 * entries ("optimizer.", "best." below) are not a module's: drop them. */
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

/* ---- early stopping ------------------------------------------------------ */

typedef struct pcl_early_stop pcl_early_stop;

/* patience >= 1: stop after that many epochs in a row without a validation
 * loss below best - min_delta. Keeps a device copy of each weight. */
PCL_API pcl_status pcl_early_stop_create(int patience, double min_delta, pcl_train_weights *weights,
                                         pcl_early_stop **stop);
PCL_API void pcl_early_stop_destroy(pcl_early_stop *stop);
/* Records an epoch's validation loss. On improvement copies the weights as
 * the best (*improved = 1); else counts a bad epoch (NaN is never an
 * improvement). *should_stop = 1 once patience bad epochs are reached. */
PCL_API pcl_status pcl_early_stop_update(pcl_early_stop *stop, int64_t epoch, double validation_loss, int *improved,
                                         int *should_stop);
/* Copies the best weights back into the model (no-op before any update). */
PCL_API pcl_status pcl_early_stop_restore(pcl_early_stop *stop);
PCL_API double pcl_early_stop_best(const pcl_early_stop *stop);        /* +inf before any */
PCL_API int64_t pcl_early_stop_best_epoch(const pcl_early_stop *stop); /* -1 before any */
PCL_API int pcl_early_stop_bad_epochs(const pcl_early_stop *stop);

/* ---- resume -------------------------------------------------------------- */

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

/* ---- progress display ---------------------------------------------------- */

typedef enum pcl_progress_mode {
    PCL_PROGRESS_MODE_AUTO = 0, /* BAR when the stream is a terminal (isatty), else LINES */
    PCL_PROGRESS_MODE_BAR,      /* one line redrawn with \r */
    PCL_PROGRESS_MODE_LINES,    /* a plain line every interval seconds and per epoch */
    PCL_PROGRESS_MODE_OFF
} pcl_progress_mode;

typedef struct pcl_progress pcl_progress;

/* Prints to stream (not owned). interval: seconds between plain lines (and
 * the least between bar redraws is 0.1 s). */
PCL_API pcl_status pcl_progress_create(FILE *stream, pcl_progress_mode mode, double interval, pcl_progress **progress);
PCL_API void pcl_progress_destroy(pcl_progress *progress);
/* The mode AUTO resolved to. */
PCL_API pcl_progress_mode pcl_progress_get_mode(const pcl_progress *progress);
/* Replaces the clock (seconds, monotonic), for tests. */
PCL_API void pcl_progress_set_clock(pcl_progress *progress, double (*now)(void *user), void *user);
/* Starts an epoch of batches mini-batches (epochs: total, 0 if unknown);
 * done: batches already done (a resumed epoch). */
PCL_API void pcl_progress_epoch_begin(pcl_progress *progress, int64_t epoch, int64_t epochs, int64_t batches,
                                      int64_t done);
/* One mini-batch done: its mean loss and its number of images. */
PCL_API void pcl_progress_batch(pcl_progress *progress, double loss, size_t images);
/* Ends the epoch with its mean training loss and validation loss (NaN:
 * none); prints one summary line in every mode but OFF. */
PCL_API void pcl_progress_epoch_end(pcl_progress *progress, double train_loss, double validation_loss);
/* Images per second over the epoch so far. */
PCL_API double pcl_progress_images_per_second(const pcl_progress *progress);

/* ---- CSV log ------------------------------------------------------------- */

typedef struct pcl_train_log pcl_train_log;

/* Opens path; append (a resumed run) keeps existing lines. The header line
 * "epoch,step,train_loss,validation_loss,images_per_s,elapsed_s" is written
 * when the file is new or empty. */
PCL_API pcl_status pcl_train_log_open(const char *path, int append, pcl_train_log **log);
/* One line, flushed. NaN values are written as empty fields. */
PCL_API pcl_status pcl_train_log_write(pcl_train_log *log, int64_t epoch, int64_t step, double train_loss,
                                       double validation_loss, double images_per_second, double elapsed);
PCL_API pcl_status pcl_train_log_close(pcl_train_log *log);

/* ---- loss curve ---------------------------------------------------------- */

typedef struct pcl_curve_series {
    const char *name;  /* legend text */
    const double *x;   /* count values; NaN or infinite points are skipped */
    const double *y;
    size_t count;
} pcl_curve_series;

/* An SVG picture: axes with ticks at round values, one polyline per series
 * (the first two in blue and orange), a legend; log_y draws y on a log10
 * scale (non-positive values skipped). Written atomically. */
PCL_API pcl_status pcl_loss_curve_write_svg(const char *path, const char *title, const char *x_label,
                                            const char *y_label, const pcl_curve_series *series, int count, int log_y);
/* Reads a CSV log of pcl_train_log and draws its train and validation loss
 * against step (lines with an empty field add no point to that curve). */
PCL_API pcl_status pcl_loss_curve_from_log(const char *csv_path, const char *svg_path, const char *title);

#ifdef __cplusplus
}
#endif
#endif
