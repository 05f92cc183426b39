/* The VAE sampler: z = mu + exp(lv/2) eps with host-drawn, seeded eps; the
 * closed-form KL to N(0, I) per image (kernels/vae.cl). */
#include "nn/layer_internal.h"

#include <stdlib.h>

typedef struct vae_impl {
    int latent;
    uint64_t seed;
    float kl_weight;
    int sampled;       /* the last forward sampled (training mode) */
    int last_n;        /* batch of the last forward */
    float *host_eps;   /* n*L host staging */
    size_t host_capacity;
    cl_mem eps, kl;
    size_t eps_bytes, kl_bytes;
} vae_impl;

static pcl_status output_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    const vae_impl *impl = layer->impl;
    if ((size_t)in[1] * in[2] * in[3] != 2 * (size_t)impl->latent)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "vae_sampler: an input image holds %zu values, expected 2 x %d (mean, log-variance)",
                        (size_t)in[1] * in[2] * in[3], impl->latent);
    out[0] = in[0], out[1] = impl->latent, out[2] = 1, out[3] = 1;
    return PCL_OK;
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    vae_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    size_t count = (size_t)x->n * impl->latent;
    PCL_TRY(pcl_scratch_reserve(ctx, &impl->eps, &impl->eps_bytes, count * sizeof(float)));
    PCL_TRY(pcl_scratch_reserve(ctx, &impl->kl, &impl->kl_bytes, (size_t)x->n * sizeof(float)));
    impl->sampled = layer->training;
    impl->last_n = x->n;
    if (impl->sampled) {
        if (impl->host_capacity < count) {
            float *grown = realloc(impl->host_eps, count * sizeof(float));
            if (!grown) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "vae_sampler: %zu floats of noise", count);
            impl->host_eps = grown;
            impl->host_capacity = count;
        }
        uint64_t state = impl->seed;
        pcl_random_gaussian_fill(impl->host_eps, count, &state);
        PCL_TRY(pcl_buffer_write(ctx, impl->eps, 0, count * sizeof(float), impl->host_eps));
    }
    cl_int n = x->n, L = impl->latent, sample = impl->sampled;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(ctx, "vae.cl", NULL, "vae_forward", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "vae_forward", 6, sizeof n, &n, sizeof L, &L, sizeof sample, &sample,
                                sizeof(cl_mem), &x->mem, sizeof(cl_mem), &impl->eps, sizeof(cl_mem), &y->mem));
    PCL_TRY(pcl_launch_1d(ctx, kernel, "vae_forward", count));
    PCL_TRY(pcl_kernel_get(ctx, "vae.cl", NULL, "vae_kl", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "vae_kl", 4, sizeof n, &n, sizeof L, &L, sizeof(cl_mem), &x->mem,
                                sizeof(cl_mem), &impl->kl));
    return pcl_launch_1d(ctx, kernel, "vae_kl", (size_t)n);
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    (void)y;
    vae_impl *impl = layer->impl;
    if (!dx) return PCL_OK;
    if (impl->last_n != x->n)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "vae_sampler backward: batch %d, the forward had %d", x->n,
                        impl->last_n);
    cl_int n = x->n, L = impl->latent, sample = impl->sampled;
    float w = impl->kl_weight;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "vae.cl", NULL, "vae_backward", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "vae_backward", 8, sizeof n, &n, sizeof L, &L, sizeof sample, &sample,
                                sizeof w, &w, sizeof(cl_mem), &x->mem, sizeof(cl_mem), &impl->eps, sizeof(cl_mem),
                                &dy->mem, sizeof(cl_mem), &dx->mem));
    return pcl_launch_1d(layer->context, kernel, "vae_backward", (size_t)n * L);
}

static void destroy(pcl_layer *layer)
{
    vae_impl *impl = layer->impl;
    pcl_buffer_release(impl->eps);
    pcl_buffer_release(impl->kl);
    free(impl->host_eps);
}

static const pcl_layer_ops ops = {output_shape, forward, backward, destroy};

pcl_status pcl_vae_sampler_create(pcl_context *context, int latent, pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_vae_sampler_create: layer is NULL");
    *layer = NULL;
    if (latent < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_vae_sampler_create: latent size %d < 1", latent);
    PCL_TRY(pcl_layer_alloc(context, PCL_LAYER_KIND_VAE_SAMPLER, &ops, sizeof(vae_impl), layer));
    vae_impl *impl = (*layer)->impl;
    impl->latent = latent;
    impl->kl_weight = 1.0f;
    return PCL_OK;
}

static vae_impl *vae_of(const pcl_layer *layer)
{
    return layer && layer->kind == PCL_LAYER_KIND_VAE_SAMPLER ? layer->impl : NULL;
}

void pcl_vae_sampler_set_seed(pcl_layer *layer, uint64_t seed)
{
    vae_impl *impl = vae_of(layer);
    if (impl) impl->seed = seed;
}

void pcl_vae_sampler_set_kl_weight(pcl_layer *layer, float weight)
{
    vae_impl *impl = vae_of(layer);
    if (impl) impl->kl_weight = weight;
}

pcl_status pcl_vae_sampler_kl(const pcl_layer *layer, float *kl, int n)
{
    vae_impl *impl = vae_of(layer);
    if (!impl || !kl) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_vae_sampler_kl: needs a VAE sampler and an array");
    if (impl->last_n < 1 || n != impl->last_n)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_vae_sampler_kl: asked for %d values, the last forward had %d",
                        n, impl->last_n);
    return pcl_buffer_read(layer->context, impl->kl, 0, (size_t)n * sizeof(float), kl);
}

pcl_status pcl_vae_sampler_noise(const pcl_layer *layer, float *eps, size_t count)
{
    vae_impl *impl = vae_of(layer);
    if (!impl || !eps) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_vae_sampler_noise: needs a VAE sampler and an array");
    if (!impl->sampled || count != (size_t)impl->last_n * impl->latent)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_vae_sampler_noise: no sampled forward of %zu values", count);
    return pcl_buffer_read(layer->context, impl->eps, 0, count * sizeof(float), eps);
}
