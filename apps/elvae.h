/* perceptcl elvae: the expected-loss VAE of Snell et al. 2017, sec. 4 and
 * app. B (../shared/docs/EXPERIMENTS.md sec. 3).
 *
 * The objective of an image x, with Delta one of mse, mae, msssim
 * (1 - MS-SSIM, 5 scales, same mode, L = 2) and D_bar Delta's mean over
 * random training pairs (app_elvae_norm):
 *   L(x) = C * E_q[Delta(x, f(z))] / D_bar + KL(q(z|x) || N(0, I)).
 * The trainer minimises, per image, Delta + w * KL (trainer.h, model.h:
 * w is the model's kl weight, relative to the loss). With
 *   w = D_bar / C                                     (app_elvae_kl_weight)
 * the trainer's loss is (D_bar / C) * L: the same minimiser, its gradient
 * (D_bar / C) times L's (tests/test_elvae.c checks L's gradient, taken this
 * way, against finite differences of L on a tiny model). Logs and curves
 * show the trainer's loss; app_elvae_objective converts it back to L. */
#ifndef PERCEPTCL_APP_ELVAE_H
#define PERCEPTCL_APP_ELVAE_H

#include "app.h"
#include "perceptcl/loss.h"
#include "perceptcl/model.h"
#include "perceptcl/ssim.h"
#include "perceptcl/trainer.h"

#include <stdint.h>

/* The paper's number of pairs for D_bar. */
enum { APP_ELVAE_NORM_PAIRS = 10000 };

/* D_bar / C: the model's kl weight that makes the trainer minimise L. */
double app_elvae_kl_weight(double norm, double c);
/* L from the trainer's loss (Delta + (D_bar / C) KL): (C / D_bar) * loss. */
double app_elvae_objective(double trainer_loss, double norm, double c);

/* D_bar: the mean of Delta(x_a, x_b) (pcl_loss_kind_training_loss of the
 * loss's per-image value: 1 - MS-SSIM for msssim) over pairs (a, b) drawn
 * uniformly with replacement from source's records with seed (a = b is
 * allowed, as drawing with replacement gives), the records' inputs filled
 * with fill seed 0; computed on the device in batches, summed in double.
 * ssim: the SSIM-based kinds' options (NULL: defaults). A pair whose images
 * are equal counts with Delta 0. 0, or 1 after an error line; a D_bar that
 * is not positive and finite is an error (nothing could be normalised). */
int app_elvae_norm(const char *app, pcl_context *context, const pcl_data_source *source, pcl_loss_kind loss,
                   const pcl_ssim_options *ssim, long pairs, uint64_t seed, double *norm);

/* D_bar shared by runs (--norm-file FILE): *found = 1 and *norm FILE's value
 * when FILE holds one computed under the same key (the settings that decide
 * D_bar: loss, MS-SSIM weights, pairs, seed, data), *found = 0 when FILE does
 * not exist. A FILE that cannot be read, holds another key (the first field
 * that differs named) or no positive finite D_bar is an error line and 1. */
int app_elvae_norm_file_read(const char *app, const char *file, const json_t *key, double *norm, int *found);
/* Writes key, norm and `about` (how it was computed; taken over) to FILE
 * whole or not at all (a temporary file renamed). 0, or 1 after an error line. */
int app_elvae_norm_file_write(const char *app, const char *file, const json_t *key, double norm, json_t *about);

/* The objective's two terms over every record of source with model in
 * inference mode (z = mu; restored to training mode after): *delta, the
 * mean Delta, and *kl, the mean KL, in double. Batches of batch records,
 * batch b filled with seed pcl_train_step_seed(seed, UINT64_MAX - b) as the
 * trainer's validation pass fills them, so that *delta + w * *kl is the
 * trainer's validation loss with KL weight w. 0, or 1 after an error line. */
int app_elvae_terms(const char *app, pcl_model *model, const pcl_data_source *source, pcl_loss_kind loss,
                           const pcl_ssim_options *ssim, size_t batch, uint64_t seed, double *delta, double *kl);

#endif
