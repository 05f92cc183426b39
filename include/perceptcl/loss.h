/* perceptcl: image similarity / error measures by name, one shape for all:
 * a plan for a batch of N single-channel H x W images (device buffers of
 * N*H*W float32), one value per image, and optionally d value / d y.
 *
 *   "mse"     mean over pixels of (x - y)^2                  (lower is better)
 *   "mae"     mean over pixels of |x - y|; d|t|/dt at 0 is 0  (lower is better)
 *   "ssim"    SSIM, see perceptcl/ssim.h                      (higher is better)
 *   "msssim"  MS-SSIM, 5 scales, see perceptcl/ssim.h         (higher is better)
 *
 * The value is the measure itself, not a training loss: a trainer minimises
 * sum(value) for mse/mae and -sum(value) (or sum(1 - value)) for ssim/msssim;
 * pcl_loss_higher_is_better says which. Deterministic (fixed reduction order). */
#ifndef PERCEPTCL_LOSS_H
#define PERCEPTCL_LOSS_H

#include "perceptcl/ssim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_loss pcl_loss;

/* ssim_options: mode, data range and weights for "ssim" / "msssim" (scales
 * is set by the name); NULL gives pcl_ssim_options_default(). Ignored by
 * "mse" and "mae". An unknown name gives PCL_ERR_INVALID_ARGUMENT. */
pcl_status pcl_loss_create(pcl_context *context, const char *name, int batch, int height, int width,
                           const pcl_ssim_options *ssim_options, pcl_loss **loss);
void pcl_loss_destroy(pcl_loss *loss);

/* As pcl_ssim_run: values (host, batch floats) may be NULL to keep them on
 * the device (pcl_loss_values); grad (device, batch*H*W) may be NULL. */
pcl_status pcl_loss_run(pcl_loss *loss, cl_mem x, cl_mem y, float *values, cl_mem grad);
cl_mem pcl_loss_values(const pcl_loss *loss);

/* 1 for ssim / msssim, 0 for mse / mae. */
int pcl_loss_higher_is_better(const pcl_loss *loss);
/* The name the loss was created with ("mse", ...). */
const char *pcl_loss_name(const pcl_loss *loss);

#ifdef __cplusplus
}
#endif
#endif
