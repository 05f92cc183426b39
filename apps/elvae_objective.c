/* The EL-VAE objective's normalisation and its mapping onto the trainer's
 * loss (elvae.h). */
#include "elvae.h"

#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double app_elvae_kl_weight(double norm, double c) { return norm / c; }

double app_elvae_objective(double trainer_loss, double norm, double c) { return c / norm * trainer_loss; }

enum { NORM_BATCH = 64 };

int app_elvae_norm(const char *app, pcl_context *context, const pcl_data_source *source, pcl_loss_kind loss,
                   const pcl_ssim_options *ssim, long pairs, uint64_t seed, double *norm)
{
    const int c = source->input[0], h = source->input[1], w = source->input[2];
    const size_t per = (size_t)c * h * w;
    if (pairs < 1) return fprintf(stderr, "perceptcl %s: loss normalisation over %ld pairs\n", app, pairs), 1;
    /* The trainer's view of an image: SSIM kinds take each channel as an
     * image, mse and mae the c*h*w values as one. */
    const int channels = pcl_loss_kind_uses_ssim(loss) ? c : 1;
    const int height = pcl_loss_kind_uses_ssim(loss) ? h : c * h;
    pcl_loss_options options = pcl_loss_options_default();
    if (ssim) options.ssim = *ssim;
    float *a = malloc(NORM_BATCH * per * sizeof *a), *b = malloc(NORM_BATCH * per * sizeof *b);
    float *targets = malloc(per * sizeof *targets), *values = malloc((size_t)NORM_BATCH * channels * sizeof *values);
    pcl_tensor *ta = NULL, *tb = NULL;
    pcl_loss *l = NULL;
    int rc = a && b && targets && values ? 0 : (fprintf(stderr, "perceptcl %s: out of memory\n", app), 1);
    uint64_t state = seed;
    double sum = 0.0;
    for (long done = 0; rc == 0 && done < pairs;) {
        const int n = pairs - done < NORM_BATCH ? (int)(pairs - done) : NORM_BATCH;
        if (!ta || ta->n != n) {
            pcl_tensor_destroy(ta), pcl_tensor_destroy(tb), pcl_loss_destroy(l);
            ta = tb = NULL, l = NULL;
            if (pcl_tensor_create(context, n, c, h, w, &ta) != PCL_OK ||
                pcl_tensor_create(context, n, c, h, w, &tb) != PCL_OK ||
                pcl_loss_create(context, loss, n * channels, height, w, &options, &l) != PCL_OK)
                rc = app_fail(app, "loss normalisation");
        }
        for (int i = 0; rc == 0 && i < n; i++) {
            size_t ia = (size_t)pcl_rng_below(&state, source->count), ib = (size_t)pcl_rng_below(&state, source->count);
            if (source->fill(source->user, &ia, 1, 0, a + i * per, targets) != PCL_OK ||
                source->fill(source->user, &ib, 1, 0, b + i * per, targets) != PCL_OK)
                rc = app_fail(app, "loss normalisation: the training images");
        }
        if (rc == 0 && (pcl_tensor_upload(ta, a) != PCL_OK || pcl_tensor_upload(tb, b) != PCL_OK ||
                        pcl_loss_run(l, ta->mem, tb->mem, values, NULL) != PCL_OK))
            rc = app_fail(app, "loss normalisation");
        for (int i = 0; rc == 0 && i < n; i++) {
            double v = 0.0;
            for (int k = 0; k < channels; k++) v += values[i * channels + k];
            sum += pcl_loss_kind_training_loss(loss, v / channels);
        }
        done += n;
    }
    if (rc == 0) *norm = sum / (double)pairs;
    if (rc == 0 && !(isfinite(*norm) && *norm > 0))
        rc = (fprintf(stderr, "perceptcl %s: the %s loss's mean over %ld random training pairs is %g: it cannot "
                              "normalise (are the training images all alike?)\n",
                      app, pcl_loss_kind_name(loss), pairs, *norm), 1);
    pcl_loss_destroy(l);
    pcl_tensor_destroy(ta);
    pcl_tensor_destroy(tb);
    free(a), free(b), free(targets), free(values);
    return rc;
}
