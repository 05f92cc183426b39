/* Nearest-neighbour upsampling by an integer factor (kernels/upsample.cl). */
#include "nn/layer_internal.h"

#include <limits.h>
#include <stdio.h>

typedef struct upsample_impl {
    int factor;
} upsample_impl;

static pcl_status output_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    const upsample_impl *impl = layer->impl;
    if (in[2] > INT_MAX / impl->factor || in[3] > INT_MAX / impl->factor)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "upsample: %dx%d times %d overflows", in[2], in[3], impl->factor);
    out[0] = in[0], out[1] = in[1], out[2] = in[2] * impl->factor, out[3] = in[3] * impl->factor;
    return PCL_OK;
}

static pcl_status run(pcl_layer *layer, const char *name, const pcl_tensor *x, cl_mem src, cl_mem dst,
                      const size_t global[3])
{
    const upsample_impl *impl = layer->impl;
    cl_kernel kernel;
    char options[32];
    snprintf(options, sizeof options, "-DF=%d", impl->factor);
    PCL_TRY(pcl_kernel_get(layer->context, "upsample.cl", options, name, &kernel));
    cl_int planes = x->n * x->c, h = x->h, w = x->w;
    PCL_TRY(pcl_kernel_set_args(kernel, name, 5, sizeof planes, &planes, sizeof h, &h, sizeof w, &w, sizeof src, &src,
                                sizeof dst, &dst));
    return pcl_kernel_launch(layer->context, kernel, name, 3, global, NULL);
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    size_t global[3] = {(size_t)x->w, (size_t)x->h, (size_t)x->n * x->c};
    return run(layer, "upsample_forward", x, x->mem, y->mem, global);
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    (void)y;
    if (!dx) return PCL_OK;
    size_t global[3] = {(size_t)x->w, (size_t)x->h, (size_t)x->n * x->c};
    return run(layer, "upsample_backward", x, dy->mem, dx->mem, global);
}

static const pcl_layer_ops ops = {output_shape, forward, backward, NULL};

int pcl_upsample_factor(const pcl_layer *layer)
{
    return ((const upsample_impl *)layer->impl)->factor;
}

pcl_status pcl_upsample_create(pcl_context *context, int factor, pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_upsample_create: layer is NULL");
    *layer = NULL;
    if (factor < 1 || factor > 64) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_upsample_create: factor %d not in 1..64", factor);
    PCL_TRY(pcl_layer_alloc(context, PCL_LAYER_KIND_UPSAMPLE, &ops, sizeof(upsample_impl), layer));
    ((upsample_impl *)(*layer)->impl)->factor = factor;
    return PCL_OK;
}
