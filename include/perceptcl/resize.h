/* perceptcl: MATLAB-compatible bicubic resizing (imresize(..., 'bicubic')).
 *
 * Follows the algorithm of MATLAB's imresize: Keys cubic kernel (a = -0.5,
 * width 4); for each output index x (1-based) the source position is
 * u = x / s + 0.5 * (1 - 1/s); on downscaling (s < 1) with antialiasing the
 * kernel is stretched to h(t) = s * k(s * t) and its width to 4 / s; weights
 * are normalised to sum 1; source indices outside the image are mirrored
 * symmetrically (..., 2, 1, 1, 2, ..., n, n, n-1, ...). Dimensions are resized
 * one after the other, the one with the smaller scale first (height first on
 * ties), as MATLAB does. Accumulation is in float64.
 *
 * With a scale factor the output size is ceil(s * input) and the kernel uses s
 * itself (as MATLAB does), not the ratio of the rounded sizes; with an
 * explicit output size each dimension uses out / in. */
#ifndef PERCEPTCL_RESIZE_H
#define PERCEPTCL_RESIZE_H

#include "perceptcl/export.h"
#include "perceptcl/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flag bits of pcl_resize_bicubic* (OR'ed into flags). */
enum {
    PCL_RESIZE_DEFAULT = 0,
    PCL_RESIZE_NO_ANTIALIAS = 1u << 0, /* imresize(..., 'Antialiasing', false) */
    PCL_RESIZE_ROUND_U8 = 1u << 1      /* round and clamp to 0..255 after each dimension pass,
                                          as MATLAB does on uint8 images */
};

/* Resizes to out_width x out_height. */
PCL_API pcl_status pcl_resize_bicubic(const pcl_image *src, int out_width, int out_height, unsigned flags,
                              pcl_image **out);
/* Resizes by scale (> 0) in both dimensions: output ceil(scale * size).
 * A scale below 1 / (the shorter side) is refused (PCL_ERR_INVALID_ARGUMENT).
 * Both functions refuse an output over the image pixel limit (image.h,
 * pcl_image_max_pixels) with PCL_ERR_TOO_LARGE before allocating anything. */
PCL_API pcl_status pcl_resize_bicubic_scale(const pcl_image *src, double scale, unsigned flags,
                                    pcl_image **out);

/* The Keys cubic kernel with a = -0.5 (exposed for tests and kernels). */
PCL_API double pcl_resize_cubic(double x);

#ifdef __cplusplus
}
#endif
#endif
