/* perceptcl: image similarity / error measures, one shape for all: a plan
 * for a batch of N single-channel H x W images (device buffers of N*H*W
 * float32), one value per image, and optionally d value / d y (x is the
 * reference, y the image being trained). P = H*W, L = data range.
 *
 *   kind                name         per-image value                     better
 *   PCL_LOSS_KIND_MSE        "mse"        mean over pixels of (y - x)^2       lower
 *   PCL_LOSS_KIND_MAE        "mae"        mean over pixels of |y - x|         lower
 *   PCL_LOSS_KIND_SSIM       "ssim"       SSIM, see perceptcl/ssim.h          higher
 *   PCL_LOSS_KIND_MSSSIM     "msssim"     MS-SSIM, 5 scales, see ssim.h       higher
 *   PCL_LOSS_KIND_MSSSIM_L1  "msssim-l1"  alpha (1 - MS-SSIM) + (1 - alpha) L1 lower
 *
 * msssim-l1 is the mix of Zhao et al., "Loss Functions for Image Restoration
 * with Neural Networks" (IEEE TCI 2017), alpha = 0.84 by default. Its L1 is
 * sum |y - x| / (L P): a plain mean over pixels, not weighted by the last
 * scale's Gaussian as in the paper, divided by the data range so that it is
 * the paper's term on [0, 1] images and the same number for any range.
 * Gradients: mae and msssim-l1 take d|t|/dt = 0 at t = 0; msssim-l1's is
 * -alpha dMS-SSIM/dy + (1 - alpha) sign(y - x) / (L P).
 *
 * The value is the measure itself, not a training loss: a trainer minimises
 * pcl_loss_kind_training_loss(kind, value) per image (the value, or 1 - value
 * for the higher-is-better kinds). Deterministic (fixed reduction order). */
#ifndef PERCEPTCL_LOSS_H
#define PERCEPTCL_LOSS_H

#include "perceptcl/export.h"
#include "perceptcl/ssim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pcl_loss_kind {
    PCL_LOSS_KIND_MSE = 0,
    PCL_LOSS_KIND_MAE,
    PCL_LOSS_KIND_SSIM,
    PCL_LOSS_KIND_MSSSIM,
    PCL_LOSS_KIND_MSSSIM_L1
} pcl_loss_kind;

/* The kind named name (the names above, exactly). An unknown name or a NULL
 * gives PCL_ERR_INVALID_ARGUMENT with a message listing the valid names;
 * *kind is then left unchanged. */
PCL_API pcl_status pcl_loss_kind_parse(const char *name, pcl_loss_kind *kind);
/* "mse", ...; "" for a value outside the enum. */
PCL_API const char *pcl_loss_kind_name(pcl_loss_kind kind);
/* 1 for ssim / msssim (similarities), 0 for the others (errors). */
PCL_API int pcl_loss_kind_higher_is_better(pcl_loss_kind kind);
/* 1 for the kinds built on SSIM (ssim, msssim, msssim-l1): they take
 * pcl_ssim_options and are defined on single-channel images. */
PCL_API int pcl_loss_kind_uses_ssim(pcl_loss_kind kind);
/* The minimised training loss of one per-image value: value for the
 * lower-is-better kinds, 1 - value for the higher-is-better ones. */
PCL_API double pcl_loss_kind_training_loss(pcl_loss_kind kind, double value);

typedef struct pcl_loss_options {
    /* ssim, msssim, msssim-l1: mode, data range (also msssim-l1's L1 scale)
     * and MS-SSIM weights; scales is set by the kind. */
    pcl_ssim_options ssim;
    /* msssim-l1: weight of 1 - MS-SSIM in [0, 1]; L1 gets 1 - alpha. */
    double msssim_l1_alpha;
} pcl_loss_options;

/* ssim: pcl_ssim_options_default(); msssim_l1_alpha 0.84 (Zhao et al.). */
PCL_API pcl_loss_options pcl_loss_options_default(void);

typedef struct pcl_loss pcl_loss;

/* options NULL: pcl_loss_options_default(). Ignored by mse and mae. A kind
 * outside the enum, or an alpha outside [0, 1], gives PCL_ERR_INVALID_ARGUMENT. */
PCL_API pcl_status pcl_loss_create(pcl_context *context, pcl_loss_kind kind, int batch, int height, int width,
                                   const pcl_loss_options *options, pcl_loss **loss);
PCL_API void pcl_loss_destroy(pcl_loss *loss);

/* As pcl_ssim_run: values (host, batch floats) may be NULL to keep them on
 * the device (pcl_loss_values); grad (device, batch*H*W) may be NULL. */
PCL_API pcl_status pcl_loss_run(pcl_loss *loss, cl_mem x, cl_mem y, float *values, cl_mem grad);
PCL_API cl_mem pcl_loss_values(const pcl_loss *loss);

/* The kind the loss was created with. */
PCL_API pcl_loss_kind pcl_loss_get_kind(const pcl_loss *loss);

#ifdef __cplusplus
}
#endif
#endif
