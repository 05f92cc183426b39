/* The binary bottleneck: forward sign(tanh a) (0 -> -1), backward through
 * tanh's derivative (straight-through estimator; kernels/activation.cl). */
#include "nn/layer_internal.h"

static pcl_status same_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    (void)layer;
    for (int i = 0; i < 4; i++) out[i] = in[i];
    return PCL_OK;
}

static pcl_status run(pcl_layer *layer, const char *name, int count, const cl_mem *args)
{
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "activation.cl", NULL, name, &kernel));
    cl_int n = count;
    if (args[2])
        PCL_TRY(pcl_kernel_set_args(kernel, name, 4, sizeof n, &n, sizeof(cl_mem), &args[0], sizeof(cl_mem),
                                    &args[1], sizeof(cl_mem), &args[2]));
    else
        PCL_TRY(pcl_kernel_set_args(kernel, name, 3, sizeof n, &n, sizeof(cl_mem), &args[0], sizeof(cl_mem),
                                    &args[1]));
    return pcl_launch_1d(layer->context, kernel, name, (size_t)n);
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    cl_mem args[3] = {x->mem, y->mem, NULL};
    return run(layer, "binary_forward", (int)pcl_tensor_count(x), args);
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    (void)y;
    if (!dx) return PCL_OK;
    cl_mem args[3] = {x->mem, dy->mem, dx->mem};
    return run(layer, "binary_backward", (int)pcl_tensor_count(x), args);
}

static const pcl_layer_ops ops = {same_shape, forward, backward, NULL};

pcl_status pcl_binary_create(pcl_context *context, pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_binary_create: layer is NULL");
    return pcl_layer_alloc(context, PCL_LAYER_KIND_BINARY, &ops, 0, layer);
}
