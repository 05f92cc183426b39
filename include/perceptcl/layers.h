/* perceptcl: network layers with forward and backward passes on the device.
 *
 * Every layer kind has the same shape (one file each in src/nn/layer_*.c):
 *   pcl_<kind>_create(context, ..., &layer)
 *   pcl_layer_output_shape(layer, in, out)   NCHW extents of the output
 *   pcl_layer_forward(layer, x, y)           y = f(x); y is written in full
 *   pcl_layer_backward(layer, x, y, dy, dx)  dx = (df/dx)^T dy (overwritten;
 *                                            dx may be NULL to skip it), and
 *                                            each parameter gradient +=
 *                                            (df/dtheta)^T dy (accumulated:
 *                                            clear them with
 *                                            pcl_layer_zero_grad)
 *   pcl_layer_destroy(layer)
 * The caller owns x, y, dy and dx (so one layer serves any batch size);
 * backward must be given the x and y of the forward just before it. Layers
 * keep only parameters, their gradients, running statistics and scratch.
 *
 * Parameters and gradients are tensors the optimizer updates in place:
 * pcl_layer_param(layer, i, &value, &grad, &name) for i < pcl_layer_param_count.
 * Non-trained state that a checkpoint must hold (batch normalisation's running
 * mean and variance) is listed by pcl_layer_buffer.
 *
 * Numerics: float32 on the device; every reduction runs in a fixed order
 * (no atomics), so a re-run on the same device and work-group limit gives
 * bitwise the same results. */
#ifndef PERCEPTCL_LAYERS_H
#define PERCEPTCL_LAYERS_H

#include "perceptcl/export.h"
#include "perceptcl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_layer pcl_layer;

typedef enum pcl_layer_kind {
    PCL_LAYER_KIND_CONV2D = 0,
    PCL_LAYER_KIND_DENSE,
    PCL_LAYER_KIND_UPSAMPLE,
    PCL_LAYER_KIND_ACTIVATION,
    PCL_LAYER_KIND_BINARY,
    PCL_LAYER_KIND_BATCHNORM,
    PCL_LAYER_KIND_RESHAPE,
    PCL_LAYER_KIND_VAE_SAMPLER
} pcl_layer_kind;

/* Which matrix multiply conv2d and dense use. AUTO picks per device what
 * bench/bench_layers measured faster (see bench/RESULTS.md); the environment
 * variable PERCEPTCL_GEMM=own|clblast overrides AUTO. */
typedef enum pcl_gemm_backend {
    PCL_GEMM_BACKEND_AUTO = 0,
    PCL_GEMM_BACKEND_OWN,     /* perceptcl's tiled OpenCL kernel (kernels/gemm.cl) */
    PCL_GEMM_BACKEND_CLBLAST  /* CLBlastSgemm */
} pcl_gemm_backend;

/* ---- generic calls ---------------------------------------------------- */

PCL_API pcl_layer_kind pcl_layer_get_kind(const pcl_layer *layer);
PCL_API const char *pcl_layer_kind_name(pcl_layer_kind kind);

/* in and out are {n, c, h, w}. Fails if the input shape does not fit. */
PCL_API pcl_status pcl_layer_output_shape(const pcl_layer *layer, const int in[4], int out[4]);
PCL_API pcl_status pcl_layer_forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y);
PCL_API pcl_status pcl_layer_backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                                      pcl_tensor *dx);

/* Training mode (default) or inference mode: batch normalisation uses batch
 * statistics and updates its running ones when training, the running ones
 * otherwise; the VAE sampler samples when training, returns the mean else. */
PCL_API void pcl_layer_set_training(pcl_layer *layer, int training);
PCL_API int pcl_layer_is_training(const pcl_layer *layer);

PCL_API int pcl_layer_param_count(const pcl_layer *layer);
/* Any of value, grad, name may be NULL. name: "weight", "bias", "gamma", "beta". */
PCL_API pcl_status pcl_layer_param(pcl_layer *layer, int index, pcl_tensor **value, pcl_tensor **grad,
                                   const char **name);
PCL_API pcl_status pcl_layer_zero_grad(pcl_layer *layer);

PCL_API int pcl_layer_buffer_count(const pcl_layer *layer);
/* name: "running_mean", "running_var". */
PCL_API pcl_status pcl_layer_buffer(pcl_layer *layer, int index, pcl_tensor **value, const char **name);

PCL_API void pcl_layer_destroy(pcl_layer *layer);

/* ---- the layer kinds ---------------------------------------------------- */

typedef enum pcl_padding {
    PCL_PADDING_ZERO = 0,  /* pixels outside the image are 0 */
    PCL_PADDING_REPLICATE  /* pixels outside take the nearest edge pixel */
} pcl_padding;

typedef struct pcl_conv2d_config {
    int in_channels, out_channels;
    int kernel_h, kernel_w;
    int stride;        /* >= 1, both directions */
    int pad_h, pad_w;  /* added on each side; 0 = "valid" */
    pcl_padding padding;
    int no_bias;       /* nonzero: no bias parameter */
    pcl_gemm_backend backend;
} pcl_conv2d_config;

/* Cross-correlation: y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[n,c,i*s+u-ph,j*s+v-pw].
 * Parameters: weight (out, in, kh, kw), bias (1, out, 1, 1); initialised to 0
 * (use pcl_tensor_init_* on them). Output h = (H + 2 ph - kh) / s + 1. */
PCL_API pcl_status pcl_conv2d_create(pcl_context *context, const pcl_conv2d_config *config, pcl_layer **layer);

/* y[n,o] = b[o] + sum_i w[o,i] x[n,i]; x is n x in (any c*h*w = in), y is
 * n x out x 1 x 1. Parameters: weight (out, in, 1, 1), bias (1, out, 1, 1). */
PCL_API pcl_status pcl_dense_create(pcl_context *context, int in_features, int out_features, pcl_gemm_backend backend,
                                    pcl_layer **layer);

/* Nearest-neighbour upsampling by an integer factor (2 in the paper). */
PCL_API pcl_status pcl_upsample_create(pcl_context *context, int factor, pcl_layer **layer);

typedef enum pcl_activation { PCL_ACTIVATION_RELU = 0, PCL_ACTIVATION_TANH } pcl_activation;
/* Elementwise; ReLU's derivative at 0 is taken as 0. Both backward passes
 * read only y and dy (ReLU's mask is y > 0), so y may share x's buffer and
 * dx dy's (the model runs them in place, model.h). */
PCL_API pcl_status pcl_activation_create(pcl_context *context, pcl_activation activation, pcl_layer **layer);

/* The binary bottleneck: forward sign(tanh a) with 0 -> -1 (so +1 for a > 0,
 * else -1); backward dx = dy (1 - tanh^2 a) (the tanh's gradient passed
 * straight through the threshold). */
PCL_API pcl_status pcl_binary_create(pcl_context *context, pcl_layer **layer);

/* Batch normalisation per channel (conv inputs: over n, h, w; dense inputs
 * n x f x 1 x 1: per feature over n). Training: batch mean and biased
 * variance, then running = (1 - momentum) running + momentum batch (the
 * variance term unbiased, n/(n-1), as PyTorch). Inference: running
 * statistics. Parameters gamma (init 1), beta (init 0); buffers
 * running_mean (0), running_var (1). */
PCL_API pcl_status pcl_batchnorm_create(pcl_context *context, int channels, float momentum, float epsilon,
                                        pcl_layer **layer);

/* Reshape each image to c x h x w (flatten: c = C*H*W, h = w = 1). A view:
 * when y shares x's buffer (make it with pcl_reshape_view) forward and
 * backward copy nothing. */
PCL_API pcl_status pcl_reshape_create(pcl_context *context, int c, int h, int w, pcl_layer **layer);
/* A view of x with this layer's output shape. */
PCL_API pcl_status pcl_reshape_view(const pcl_layer *layer, const pcl_tensor *x, pcl_tensor **y);

/* The VAE sampler: x is n x 2L (channels 0..L-1 the mean mu, L..2L-1 the
 * log-variance lv, any h = w = 1), y is n x L x 1 x 1.
 * Training: z = mu + exp(lv / 2) eps, eps ~ N(0, 1) drawn on the host from
 * the seed of pcl_vae_sampler_set_seed (pcl_random_gaussian_fill, image by
 * image, so the same seed gives the same eps on every device).
 * Inference: z = mu (the posterior mode).
 * Every forward also computes KL(q(z|x) || N(0, I)) per image,
 * 0.5 sum_j (mu^2 + exp(lv) - 1 - lv), read with pcl_vae_sampler_kl; backward
 * adds kl_weight times its gradient (mu for mu, (exp(lv) - 1) / 2 for lv) to
 * dx, i.e. the loss is (reconstruction) + kl_weight * sum over images of KL. */
PCL_API pcl_status pcl_vae_sampler_create(pcl_context *context, int latent, pcl_layer **layer);
/* Seeds the noise of the next forward (call once per step). */
PCL_API void pcl_vae_sampler_set_seed(pcl_layer *layer, uint64_t seed);
/* Default 1; 0 leaves KL out of the gradient. */
PCL_API void pcl_vae_sampler_set_kl_weight(pcl_layer *layer, float weight);
/* Copies the last forward's per-image KL into kl[0..n-1] (n = its batch). */
PCL_API pcl_status pcl_vae_sampler_kl(const pcl_layer *layer, float *kl, int n);
/* The eps the last training forward used (n*L floats), for tests. */
PCL_API pcl_status pcl_vae_sampler_noise(const pcl_layer *layer, float *eps, size_t count);

#ifdef __cplusplus
}
#endif
#endif
