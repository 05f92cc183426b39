/* perceptcl: device tensors (NCHW float32) and seeded initialisers.
 *
 * A tensor is a cl_mem holding n*c*h*w floats in NCHW order (w fastest) on one
 * context. A view shares another tensor's buffer under a different shape
 * (same element count); destroying either releases only its own reference.
 *
 * Initialisers draw on the host, so the same seed gives the same weights on
 * every device. The generator is splitmix64 (rng.h) seeded
 * with the seed itself; element i (NCHW order) takes draws in sequence:
 *   uniform u = (next >> 11) * 2^-53                      in [0, 1)
 *   Gaussian  = sqrt(-2 ln u1) * cos(2 pi u2), u1 = 1 - u(first draw),
 *               u2 = u(second draw)                      (Box-Muller, one
 *               value per pair of draws, computed in double, rounded once)
 *   Xavier/Glorot uniform: limit * (2u - 1), limit = sqrt(6 / (fan_in + fan_out))
 *   He normal: Gaussian * sqrt(2 / fan_in)
 *   Gaussian with std s: Gaussian * s. */
#ifndef PERCEPTCL_TENSOR_H
#define PERCEPTCL_TENSOR_H

#include "perceptcl/export.h"
#include "perceptcl/device.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_tensor {
    pcl_context *context; /* the context owning the buffer */
    cl_mem mem;           /* n*c*h*w floats, NCHW */
    int n, c, h, w;
} pcl_tensor;

/* A new tensor (contents undefined). Every extent must be >= 1. */
PCL_API pcl_status pcl_tensor_create(pcl_context *context, int n, int c, int h, int w, pcl_tensor **tensor);
/* A tensor of another shape sharing src's buffer (n*c*h*w must match). */
PCL_API pcl_status pcl_tensor_view(const pcl_tensor *src, int n, int c, int h, int w, pcl_tensor **view);
PCL_API void pcl_tensor_destroy(pcl_tensor *tensor);

/* Element count n*c*h*w, and the count of one image c*h*w. */
PCL_API size_t pcl_tensor_count(const pcl_tensor *tensor);
PCL_API size_t pcl_tensor_image_count(const pcl_tensor *tensor);
/* 1 when both tensors have the same n, c, h, w. */
PCL_API int pcl_tensor_same_shape(const pcl_tensor *a, const pcl_tensor *b);

/* Copies pcl_tensor_count floats between host and device (blocking). */
PCL_API pcl_status pcl_tensor_upload(pcl_tensor *tensor, const float *host);
PCL_API pcl_status pcl_tensor_download(const pcl_tensor *tensor, float *host);
/* Sets every element to value (NaN allowed: tests poison outputs with it). */
PCL_API pcl_status pcl_tensor_fill(pcl_tensor *tensor, float value);
/* dst = src; both must hold the same number of elements. */
PCL_API pcl_status pcl_tensor_copy(pcl_tensor *dst, const pcl_tensor *src);

/* Seeded initialisers (see the top of this file for the exact draws). */
PCL_API pcl_status pcl_tensor_init_gaussian(pcl_tensor *tensor, double std, uint64_t seed);
PCL_API pcl_status pcl_tensor_init_xavier_uniform(pcl_tensor *tensor, int fan_in, int fan_out, uint64_t seed);
PCL_API pcl_status pcl_tensor_init_he_normal(pcl_tensor *tensor, int fan_in, uint64_t seed);

/* The host draws behind the initialisers, for callers that need the same
 * streams (the VAE sampler's noise): count values into dst, std 1 Gaussians,
 * advancing *state. */
PCL_API void pcl_random_gaussian_fill(float *dst, size_t count, uint64_t *state);
/* One uniform double in [0, 1), advancing *state. */
PCL_API double pcl_random_uniform(uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif
