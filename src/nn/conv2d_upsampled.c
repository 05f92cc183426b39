/* "Nearest 2x upsampling, then this conv2d" in the sub-pixel form
 * (kernels/conv2d_upsampled.cl): for a K x K kernel (K odd, >= 5) with stride
 * 1 and padding (K - 1) / 2, each of the four output phases (row and column
 * parity) is a KC x KC convolution of the low-resolution input whose weights
 * sum the K x K taps landing on the same input pixel. The four phases run as
 * one conv2d with 4 O outputs (the "phase layer", any of conv2d's paths),
 * whose output is interleaved into y. For K = 5: 36 multiply-adds per 2 x 2
 * output block and channel pair instead of 100, and the upsampled map (4x the
 * input) is never made. The layer's own weights stay the K x K ones (model
 * files, optimizer); the phase weights are derived at every forward, and the
 * phase layer's gradients are summed back into the layer's in backward.
 * Results equal upsample + conv up to float32 rounding (the weight sums come
 * first): tests/test_layers.c checks both against the float64 reference. */
#include "nn/layer_internal.h"

#include <stdio.h>

/* The phase layer's geometry: the first input row offset LO and size KC. */
typedef struct phase_geometry {
    int lo, kc;
} phase_geometry;

/* The first input offset and phase kernel size of a K-tap, P-padded axis,
 * or 0 when the phase form does not apply (or saves nothing). */
static int geometry_of(int k, int pad, phase_geometry *g)
{
    if (k % 2 == 0 || 2 * pad != k - 1) return 0;
    /* floor((a - pad + u) / 2) over a in {0, 1}, u in 0..k-1 */
    int first = -((pad + 1) / 2), last = (k - pad) / 2;
    g->lo = first;
    g->kc = last - first + 1;
    return last == -first; /* the phase conv keeps the input's size */
}

int pcl_conv2d_takes_upsampled(const pcl_layer *layer)
{
    if (!layer || layer->kind != PCL_LAYER_KIND_CONV2D) return 0;
    const pcl_conv2d_config *c = pcl_conv2d_get_config(layer);
    phase_geometry g;
    if (c->stride != 1 || c->kernel_h != c->kernel_w || c->pad_h != c->pad_w || !geometry_of(c->kernel_h, c->pad_h, &g))
        return 0;
    return g.kc * g.kc < c->kernel_h * c->kernel_w; /* per output pixel; 3x3 kernels gain nothing */
}

/* The phase layer (C -> 4 O, KC x KC, stride 1, padding -LO), made at first
 * use and kept by the conv2d layer, and its geometry. */
static pcl_status phases_of(pcl_layer *layer, pcl_layer **phases, phase_geometry *g)
{
    if (!pcl_conv2d_takes_upsampled(layer))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "conv2d: no sub-pixel form (it needs stride 1, a square odd "
                                                  "kernel >= 5, padding (kernel - 1) / 2)");
    const pcl_conv2d_config *c = pcl_conv2d_get_config(layer);
    geometry_of(c->kernel_h, c->pad_h, g);
    pcl_layer **slot = pcl_conv2d_phase_layer_slot(layer);
    if (!*slot) {
        pcl_conv2d_config pc = *c;
        pc.out_channels = 4 * c->out_channels;
        pc.kernel_h = pc.kernel_w = g->kc;
        pc.pad_h = pc.pad_w = -g->lo;
        pc.no_bias = 0;
        PCL_TRY(pcl_conv2d_create(layer->context, &pc, slot));
    }
    *phases = *slot;
    return PCL_OK;
}

static pcl_status kernel_for(pcl_layer *layer, const phase_geometry *g, const char *name, cl_kernel *kernel)
{
    const pcl_conv2d_config *c = pcl_conv2d_get_config(layer);
    char options[96];
    snprintf(options, sizeof options, "-DK=%d -DP=%d -DLO=%d -DKC=%d", c->kernel_h, c->pad_h, g->lo, g->kc);
    return pcl_kernel_get(layer->context, "conv2d_upsampled.cl", options, name, kernel);
}

/* The phase outputs (or their gradients): n x 4O x H x W in the context's
 * scratch, valid for one layer call. */
static pcl_status phase_tensor(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *t)
{
    const pcl_conv2d_config *c = pcl_conv2d_get_config(layer);
    *t = (pcl_tensor){layer->context, NULL, x->n, 4 * c->out_channels, x->h, x->w};
    return pcl_context_scratch(layer->context, PCL_SCRATCH_SLOT_CONV_PHASES, pcl_tensor_count(t) * sizeof(float),
                               &t->mem);
}

static pcl_status check_shapes(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const char *what)
{
    const pcl_conv2d_config *c = pcl_conv2d_get_config(layer);
    if (x->c != c->in_channels || y->n != x->n || y->c != c->out_channels || y->h != 2 * x->h || y->w != 2 * x->w)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "conv2d %s on a 2x upsampled input: x %dx%dx%dx%d, y %dx%dx%dx%d, expected y n x %d x 2h x 2w",
                        what, x->n, x->c, x->h, x->w, y->n, y->c, y->h, y->w, c->out_channels);
    return PCL_OK;
}

/* Launches the shuffle or unshuffle (arguments set): one item per y element. */
static pcl_status launch_over_y(pcl_layer *layer, cl_kernel kernel, const char *name, const pcl_tensor *x)
{
    size_t global[3] = {2 * (size_t)x->w, 2 * (size_t)x->h, (size_t)x->n * pcl_conv2d_get_config(layer)->out_channels};
    return pcl_kernel_launch(layer->context, kernel, name, 3, global, NULL);
}

pcl_status pcl_conv2d_forward_upsampled(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y, int relu)
{
    pcl_layer *phases;
    phase_geometry g;
    PCL_TRY(check_shapes(layer, x, y, "forward"));
    PCL_TRY(phases_of(layer, &phases, &g));
    const pcl_conv2d_config *c = pcl_conv2d_get_config(layer);
    /* w' and b' from the layer's weights (the optimizer may have changed them). */
    cl_kernel kernel;
    PCL_TRY(kernel_for(layer, &g, "upsampled_weights", &kernel));
    cl_int O = c->out_channels, C = c->in_channels, has_bias = !c->no_bias;
    cl_mem w = layer->params[0]->mem, b = has_bias ? layer->params[1]->mem : w;
    cl_mem wp = phases->params[0]->mem, bp = phases->params[1]->mem;
    PCL_TRY(pcl_kernel_set_args(kernel, "upsampled_weights", 7, sizeof O, &O, sizeof C, &C, sizeof has_bias,
                                &has_bias, sizeof w, &w, sizeof b, &b, sizeof wp, &wp, sizeof bp, &bp));
    size_t global[2] = {(size_t)C, 4 * (size_t)O};
    PCL_TRY(pcl_kernel_launch(layer->context, kernel, "upsampled_weights", 2, global, NULL));
    pcl_tensor t;
    PCL_TRY(phase_tensor(layer, x, &t));
    PCL_TRY(pcl_layer_forward(phases, x, &t));
    cl_int N = x->n, H = x->h, W = x->w, with_relu = relu ? 1 : 0;
    PCL_TRY(kernel_for(layer, &g, "upsampled_shuffle", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "upsampled_shuffle", 7, sizeof N, &N, sizeof O, &O, sizeof H, &H, sizeof W, &W,
                                sizeof with_relu, &with_relu, sizeof t.mem, &t.mem, sizeof y->mem, &y->mem));
    return launch_over_y(layer, kernel, "upsampled_shuffle", x);
}

pcl_status pcl_conv2d_backward_upsampled(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *dy, pcl_tensor *dx)
{
    pcl_layer *phases;
    phase_geometry g;
    PCL_TRY(check_shapes(layer, x, dy, "backward"));
    if (dx && !pcl_tensor_same_shape(dx, x))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "conv2d backward on a 2x upsampled input: dx is not x's shape");
    PCL_TRY(phases_of(layer, &phases, &g));
    const pcl_conv2d_config *c = pcl_conv2d_get_config(layer);
    pcl_tensor dt;
    PCL_TRY(phase_tensor(layer, x, &dt));
    cl_kernel kernel;
    cl_int N = x->n, O = c->out_channels, C = c->in_channels, H = x->h, W = x->w, has_bias = !c->no_bias;
    PCL_TRY(kernel_for(layer, &g, "upsampled_unshuffle", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "upsampled_unshuffle", 6, sizeof N, &N, sizeof O, &O, sizeof H, &H, sizeof W, &W,
                                sizeof dy->mem, &dy->mem, sizeof dt.mem, &dt.mem));
    PCL_TRY(launch_over_y(layer, kernel, "upsampled_unshuffle", x));
    /* The phase layer's gradients start at 0 each time and are summed into
     * the layer's (which accumulate, as every layer's do). Its backward does
     * not read y (conv2d never does): dt stands in for it. */
    PCL_TRY(pcl_layer_zero_grad(phases));
    PCL_TRY(pcl_layer_backward(phases, x, &dt, &dt, dx));
    PCL_TRY(kernel_for(layer, &g, "upsampled_fold", &kernel));
    cl_mem dwp = phases->grads[0]->mem, dbp = phases->grads[1]->mem, dw = layer->grads[0]->mem;
    cl_mem db = has_bias ? layer->grads[1]->mem : dw;
    PCL_TRY(pcl_kernel_set_args(kernel, "upsampled_fold", 7, sizeof O, &O, sizeof C, &C, sizeof has_bias, &has_bias,
                                sizeof dwp, &dwp, sizeof dbp, &dbp, sizeof dw, &dw, sizeof db, &db));
    size_t global[3] = {(size_t)c->kernel_h * c->kernel_w, (size_t)C, (size_t)O};
    return pcl_kernel_launch(layer->context, kernel, "upsampled_fold", 3, global, NULL);
}
