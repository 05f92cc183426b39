/* Dense (fully-connected) layer: y = x W^T + b on the GEMM of src/nn/gemm.c. */
#include "nn/gemm.h"
#include "nn/layer_internal.h"

typedef struct dense_impl {
    int in, out;
    pcl_gemm_backend backend;
    pcl_gemm_scratch gemm; /* shared with the context's other layers */
} dense_impl;

/* On CPU devices with the own GEMM the products run transposed, so that the
 * big operand W is read in place (kernels/gemm.cl, A_STRIDED) and only the
 * batch-sized operand is packed: y^T = W x^T, dx^T = W^T dy^T (outputs
 * written back through the period addressing: element (o, b) at b*out + o). */
static int transposed_path(pcl_layer *layer, int rows)
{
    dense_impl *impl = layer->impl;
    return rows % pcl_gemm_packed_mr() == 0 &&
           pcl_gemm_resolve(layer->context, impl->backend) == PCL_GEMM_BACKEND_OWN && pcl_gemm_own_packed(layer->context);
}

enum { P_WEIGHT = 0, P_BIAS = 1 };

static pcl_status output_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    const dense_impl *impl = layer->impl;
    if ((size_t)in[1] * in[2] * in[3] != (size_t)impl->in)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "dense: an input image holds %zu values, the layer takes %d",
                        (size_t)in[1] * in[2] * in[3], impl->in);
    out[0] = in[0], out[1] = impl->out, out[2] = 1, out[3] = 1;
    return PCL_OK;
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    dense_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    size_t n = (size_t)x->n, in = (size_t)impl->in, out = (size_t)impl->out;
    /* y (n x out) = x (n x in) W^T, W stored out x in. */
    if (transposed_path(layer, (int)out))
        PCL_TRY(pcl_gemm_packed_ex(ctx, &impl->gemm, 0, 1, out, n, in, 1.0f, layer->params[P_WEIGHT]->mem, 0, in,
                                   x->mem, 0, in, 0.0f, y->mem, 0, 1, 1, out));
    else
        PCL_TRY(pcl_gemm_ex(ctx, impl->backend, &impl->gemm, 0, 1, n, out, in, 1.0f, x->mem, 0, in,
                            layer->params[P_WEIGHT]->mem, 0, in, 0.0f, y->mem, 0, out));
    /* + bias (kernels/dense.cl). */
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(ctx, "dense.cl", NULL, "add_bias", &kernel));
    cl_int total = (cl_int)(n * out), o = (cl_int)out;
    PCL_TRY(pcl_kernel_set_args(kernel, "add_bias", 4, sizeof total, &total, sizeof o, &o, sizeof(cl_mem),
                                &layer->params[P_BIAS]->mem, sizeof(cl_mem), &y->mem));
    return pcl_launch_1d(ctx, kernel, "add_bias", (size_t)total);
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    (void)y;
    dense_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    size_t n = (size_t)x->n, in = (size_t)impl->in, out = (size_t)impl->out;
    /* dW (out x in) += dy^T (out x n) x (n x in): the batch sum inside the GEMM's k loop. */
    PCL_TRY(pcl_gemm_ex(ctx, impl->backend, &impl->gemm, 1, 0, out, in, n, 1.0f, dy->mem, 0, out, x->mem, 0, in,
                        1.0f, layer->grads[P_WEIGHT]->mem, 0, in));
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(ctx, "reduce.cl", NULL, "sum_n_add", &kernel));
    cl_int nn = (cl_int)n, o = (cl_int)out;
    PCL_TRY(pcl_kernel_set_args(kernel, "sum_n_add", 4, sizeof nn, &nn, sizeof o, &o, sizeof(cl_mem), &dy->mem,
                                sizeof(cl_mem), &layer->grads[P_BIAS]->mem));
    PCL_TRY(pcl_launch_1d(ctx, kernel, "sum_n_add", out));
    if (!dx) return PCL_OK;
    /* dx (n x in) = dy (n x out) W (out x in). */
    if (transposed_path(layer, (int)in))
        return pcl_gemm_packed_ex(ctx, &impl->gemm, 1, 1, in, n, out, 1.0f, layer->params[P_WEIGHT]->mem, 0, in,
                                  dy->mem, 0, out, 0.0f, dx->mem, 0, 1, 1, in);
    return pcl_gemm_ex(ctx, impl->backend, &impl->gemm, 0, 0, n, in, out, 1.0f, dy->mem, 0, out,
                       layer->params[P_WEIGHT]->mem, 0, in, 0.0f, dx->mem, 0, in);
}

static void destroy(pcl_layer *layer)
{
    pcl_gemm_scratch_release(&((dense_impl *)layer->impl)->gemm);
}

static const pcl_layer_ops ops = {output_shape, forward, backward, destroy};

pcl_status pcl_dense_create(pcl_context *context, int in_features, int out_features, pcl_gemm_backend backend,
                            pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dense_create: layer is NULL");
    *layer = NULL;
    if (in_features < 1 || out_features < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dense_create: %d -> %d features", in_features, out_features);
    if (backend < PCL_GEMM_BACKEND_AUTO || backend > PCL_GEMM_BACKEND_CLBLAST)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dense_create: unknown GEMM backend %d", (int)backend);
    PCL_TRY(pcl_layer_alloc(context, PCL_LAYER_KIND_DENSE, &ops, sizeof(dense_impl), layer));
    pcl_layer *l = *layer;
    dense_impl *impl = l->impl;
    impl->in = in_features;
    impl->out = out_features;
    impl->backend = backend;
    impl->gemm.shared = 1; /* the packed batch operand: the context's scratch */
    pcl_status status;
    if ((status = pcl_layer_add_param(l, "weight", out_features, in_features, 1, 1)) != PCL_OK ||
        (status = pcl_layer_add_param(l, "bias", 1, out_features, 1, 1)) != PCL_OK) {
        pcl_layer_destroy(l);
        *layer = NULL;
        return status;
    }
    return PCL_OK;
}
