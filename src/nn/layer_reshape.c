/* Reshape / flatten: the same NCHW floats under another per-image shape.
 * Nothing moves when y is a view of x (pcl_reshape_view); otherwise forward
 * and backward are one buffer copy each. */
#include "nn/layer_internal.h"

typedef struct reshape_impl {
    int c, h, w;
} reshape_impl;

static pcl_status output_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    const reshape_impl *impl = layer->impl;
    if ((size_t)in[1] * in[2] * in[3] != (size_t)impl->c * impl->h * impl->w)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "reshape: an image of %dx%dx%d does not hold the %dx%dx%d = %zu values of the output",
                        in[1], in[2], in[3], impl->c, impl->h, impl->w, (size_t)impl->c * impl->h * impl->w);
    out[0] = in[0], out[1] = impl->c, out[2] = impl->h, out[3] = impl->w;
    return PCL_OK;
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    (void)layer;
    return pcl_tensor_copy(y, x); /* no-op for a view */
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    (void)layer, (void)x, (void)y;
    if (!dx) return PCL_OK;
    return pcl_tensor_copy(dx, dy);
}

static const pcl_layer_ops ops = {output_shape, forward, backward, NULL};

pcl_status pcl_reshape_create(pcl_context *context, int c, int h, int w, pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_reshape_create: layer is NULL");
    *layer = NULL;
    if (c < 1 || h < 1 || w < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_reshape_create: shape %dx%dx%d has an extent < 1", c, h, w);
    PCL_TRY(pcl_layer_alloc(context, PCL_LAYER_KIND_RESHAPE, &ops, sizeof(reshape_impl), layer));
    reshape_impl *impl = (*layer)->impl;
    impl->c = c, impl->h = h, impl->w = w;
    return PCL_OK;
}

pcl_status pcl_reshape_view(const pcl_layer *layer, const pcl_tensor *x, pcl_tensor **y)
{
    if (!layer || layer->kind != PCL_LAYER_KIND_RESHAPE || !x)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_reshape_view: needs a reshape layer and a tensor");
    int in[4] = {x->n, x->c, x->h, x->w}, out[4] = {0, 0, 0, 0};
    PCL_TRY(output_shape(layer, in, out));
    return pcl_tensor_view(x, out[0], out[1], out[2], out[3], y);
}
