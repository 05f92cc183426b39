/* perceptcl: SSIM and MS-SSIM on the device, with their exact gradients.
 *
 * Definitions (normative): shared/golden/README.md. In short: Gaussian window
 * 11x11, sigma 1.5; C1 = (0.01 L)^2, C2 = (0.03 L)^2; SSIM = mean of the SSIM
 * map; MS-SSIM = prod_j max(t_j, 0)^beta_j over 5 scales, t_j = mean cs map
 * (j < 5), t_5 = mean SSIM map, each level the 2x2 mean of the previous one
 * (odd sizes: last row/column replicated).
 *
 * A plan is made for a batch of N single-channel images of one size H x W
 * (device buffers of N*H*W float32, row-major, image after image). Running it
 * gives one value per image and, on request, d value / d y (the gradient of
 * the similarity, not of a loss: a loss -SSIM or 1 - MS-SSIM negates it).
 *
 * Results are deterministic: the same inputs give bit-identical outputs, on
 * any work-group size limit (no atomics; every reduction has a fixed order). */
#ifndef PERCEPTCL_SSIM_H
#define PERCEPTCL_SSIM_H

#include "perceptcl/export.h"
#include "perceptcl/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pcl_ssim_mode {
    PCL_SSIM_MODE_VALID = 0, /* only window positions inside the image; needs H, W >= 11 */
    PCL_SSIM_MODE_SAME = 1   /* one position per pixel, edges replicated (clamped); any size */
} pcl_ssim_mode;

typedef enum pcl_ssim_weights {
    PCL_SSIM_WEIGHTS_STANDARD = 0, /* beta = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) */
    PCL_SSIM_WEIGHTS_EQUAL = 1     /* beta = (1, 1, 1, 1, 1), the paper's simplification */
} pcl_ssim_weights;

typedef struct pcl_ssim_options {
    pcl_ssim_mode mode;
    double data_range;        /* L: 1 for [0, 1], 2 for [-1, 1], 255 for [0, 255]; > 0 */
    int scales;               /* 1: SSIM; 5: MS-SSIM */
    pcl_ssim_weights weights; /* MS-SSIM exponents (ignored for SSIM) */
} pcl_ssim_options;

/* valid mode, L = 1, 1 scale (SSIM), standard weights. */
PCL_API pcl_ssim_options pcl_ssim_options_default(void);

typedef struct pcl_ssim pcl_ssim;

/* Makes a plan and compiles its kernels. MS-SSIM in valid mode with a level
 * under 11x11 (shorter side < 161), or SSIM in valid mode under 11x11, gives
 * PCL_ERR_UNDEFINED with a message naming the level sizes. */
PCL_API pcl_status pcl_ssim_create(pcl_context *context, int batch, int height, int width,
                                   const pcl_ssim_options *options, pcl_ssim **plan);
PCL_API void pcl_ssim_destroy(pcl_ssim *plan);

/* Computes the value of every image pair (x[n], y[n]).
 *   values: host array of batch floats, or NULL to leave them on the device
 *           only (pcl_ssim_values); when given, the call waits for the result.
 *   grad:   device buffer of batch*H*W floats receiving d value / d y, or NULL
 *           for the forward pass only.
 * Any term t_j <= 0 gives the value 0 and a gradient of exactly 0 (never NaN).
 * Work is enqueued on the context's in-order queue; x, y and grad must not be
 * released before it finishes. */
PCL_API pcl_status pcl_ssim_run(pcl_ssim *plan, cl_mem x, cl_mem y, float *values, cl_mem grad);

/* The device buffer holding the batch values of the last run (owned by the plan). */
PCL_API cl_mem pcl_ssim_values(const pcl_ssim *plan);

/* Per-scale means of the last run, for one image. */
typedef struct pcl_ssim_scale {
    int level;                 /* 1 = full resolution */
    int height, width;         /* level size */
    int map_height, map_width; /* SSIM map size at this level */
    double cs;                 /* mean of the cs map (the MS-SSIM term t_j for j < scales) */
    double luminance;          /* mean of the luminance map */
    double ssim;               /* mean of the SSIM map (the term t_j for j = scales) */
} pcl_ssim_scale;

/* Fills scales[0 .. options.scales-1] for image (waits for the device). */
PCL_API pcl_status pcl_ssim_scales(pcl_ssim *plan, int image, pcl_ssim_scale *scales);

/* Size of a pyramid level (1-based) of this plan. */
PCL_API pcl_status pcl_ssim_level_size(const pcl_ssim *plan, int level, int *height, int *width);

/* Copies pyramid level `level` (2 .. scales) of image `image` of the last run
 * to the host: x_out and/or y_out (either may be NULL), height*width floats. */
PCL_API pcl_status pcl_ssim_read_level(pcl_ssim *plan, int level, int image, float *x_out, float *y_out);

/* Diagnostics at level 1 (the same kernel as pcl_ssim_run, writing its maps):
 *   ssim_map: batch * map_h * map_w floats (NULL: not written)
 *   stats:    batch * 5 * map_h * map_w floats, planes mu_x, mu_y, sigma_x2,
 *             sigma_y2, sigma_xy (NULL: not written). */
PCL_API pcl_status pcl_ssim_maps(pcl_ssim *plan, cl_mem x, cl_mem y, cl_mem ssim_map, cl_mem stats);

#ifdef __cplusplus
}
#endif
#endif
