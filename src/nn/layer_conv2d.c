/* 2-D convolution (cross-correlation) with stride and zero or replicate
 * padding (kernels/conv2d.cl, src/nn/gemm.c). Three paths:
 *   direct (CPU devices, own GEMM, padding <= k-1, stride <= 4; replicate
 *     padding: the forward only): implicit-GEMM kernels that read the input
 *     in place or a padded copy (split into stride x stride phase planes for
 *     stride > 1), no im2col (direct_forward);
 *   packed (CPU devices, own GEMM, otherwise): im2col written straight into
 *     the GEMM's packed panels, no transposes (packed_forward);
 *   general (CLBlast, the tiled GPU kernel): im2col + GEMM over chunks:
 *   forward   T (O x nc*P) = W (O x K) col (K x nc*P); y = T + bias (scattered to NCHW)
 *   backward  T = dy (gathered), dW += T col^T (the batch sum inside the GEMM's
 *             k loop, chunks in ascending order), dcol = W^T T, dx = col2im(dcol),
 *             bias += per-channel sums of dy (two fixed-order stages). */
#include "nn/gemm.h"
#include "nn/layer_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_impl {
    pcl_conv2d_config config;
    /* Scratch, the context's (pcl_context_scratch: shared by its layers,
     * asked for again in every call that uses it): */
    cl_mem col, t, partial; /* im2col / dcol, T, bias partial sums */
    cl_mem wp;              /* the packed weights (W, W^T, flipped or one phase) */
    cl_mem pad, dyq, dwpart; /* direct path: a padded input (or dy), dy in q order, dW partial sums */
    pcl_gemm_scratch gemm; /* shared too */
    pcl_layer *phases; /* the sub-pixel form's phase layer (conv2d_upsampled.c), made at first use */
} conv_impl;

enum { P_WEIGHT = 0, P_BIAS = 1 };

/* Scratch budget per chunk (floats), below the device's allocation limit. */
#define CONV_CHUNK_FLOATS ((size_t)64 << 20)

static pcl_status output_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    const pcl_conv2d_config *c = &((const conv_impl *)layer->impl)->config;
    if (in[1] != c->in_channels)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "conv2d: input has %d channels, the layer takes %d", in[1],
                        c->in_channels);
    int hp = in[2] + 2 * c->pad_h, wp = in[3] + 2 * c->pad_w;
    if (hp < c->kernel_h || wp < c->kernel_w)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "conv2d: a %dx%d kernel does not fit a %dx%d input padded by %d, %d",
                        c->kernel_h, c->kernel_w, in[2], in[3], c->pad_h, c->pad_w);
    out[0] = in[0];
    out[1] = c->out_channels;
    out[2] = (hp - c->kernel_h) / c->stride + 1;
    out[3] = (wp - c->kernel_w) / c->stride + 1;
    return PCL_OK;
}

typedef struct conv_geometry {
    cl_int C, H, W, KH, KW, S, PH, PW, Ho, Wo, O;
    size_t K, P, chunk;
} conv_geometry;

static pcl_status geometry(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, conv_geometry *g)
{
    conv_impl *impl = layer->impl;
    const pcl_conv2d_config *c = &impl->config;
    g->C = x->c, g->H = x->h, g->W = x->w, g->KH = c->kernel_h, g->KW = c->kernel_w, g->S = c->stride;
    g->PH = c->pad_h, g->PW = c->pad_w, g->Ho = y->h, g->Wo = y->w, g->O = c->out_channels;
    g->K = (size_t)g->C * g->KH * g->KW;
    g->P = (size_t)g->Ho * g->Wo;
    size_t per_image = (g->K > (size_t)g->O ? g->K : (size_t)g->O) * g->P;
    size_t budget = CONV_CHUNK_FLOATS;
    size_t alloc = pcl_context_device(layer->context)->max_allocation / sizeof(float);
    if (alloc && alloc < budget) budget = alloc;
    if (budget > INT_MAX) budget = INT_MAX;
    if (per_image > budget)
        return pcl_fail(PCL_ERR_TOO_LARGE, "conv2d: one image needs %zu floats of im2col scratch, over the %zu allowed",
                        per_image, budget);
    g->chunk = budget / per_image;
    if (g->chunk > (size_t)x->n) g->chunk = (size_t)x->n;
    pcl_context *ctx = layer->context;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_COL, g->K * g->P * g->chunk * sizeof(float), &impl->col));
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_T, (size_t)g->O * g->P * g->chunk * sizeof(float),
                                &impl->t));
    return PCL_OK;
}

static const char *options(const conv_impl *impl)
{
    return impl->config.padding == PCL_PADDING_REPLICATE ? "-DREPLICATE=1" : "-DREPLICATE=0";
}

static pcl_status im2col(pcl_layer *layer, const conv_geometry *g, const pcl_tensor *x, cl_int n0, cl_int nc)
{
    conv_impl *impl = layer->impl;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "conv2d.cl", options(impl), "im2col", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "im2col", 14, sizeof(cl_int), &g->C, sizeof(cl_int), &g->H, sizeof(cl_int),
                                &g->W, sizeof(cl_int), &g->KH, sizeof(cl_int), &g->KW, sizeof(cl_int), &g->S,
                                sizeof(cl_int), &g->PH, sizeof(cl_int), &g->PW, sizeof(cl_int), &g->Ho,
                                sizeof(cl_int), &g->Wo, sizeof n0, &n0, sizeof nc, &nc, sizeof(cl_mem), &x->mem,
                                sizeof(cl_mem), &impl->col));
    size_t global[2] = {(size_t)nc * g->P, g->K};
    return pcl_kernel_launch(layer->context, kernel, "im2col", 2, global, NULL);
}

/* dx (images n0 .. n0 + nc) = col2im of the col scratch (K x cols). */
static pcl_status col2im(pcl_layer *layer, const conv_geometry *g, cl_int n0, cl_int nc, pcl_tensor *dx)
{
    conv_impl *impl = layer->impl;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "conv2d.cl", options(impl), "col2im", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "col2im", 14, sizeof(cl_int), &g->C, sizeof(cl_int), &g->H, sizeof(cl_int),
                                &g->W, sizeof(cl_int), &g->KH, sizeof(cl_int), &g->KW, sizeof(cl_int), &g->S,
                                sizeof(cl_int), &g->PH, sizeof(cl_int), &g->PW, sizeof(cl_int), &g->Ho,
                                sizeof(cl_int), &g->Wo, sizeof n0, &n0, sizeof nc, &nc, sizeof(cl_mem), &impl->col,
                                sizeof(cl_mem), &dx->mem));
    size_t global[3] = {(size_t)g->W, (size_t)g->H, (size_t)nc * g->C};
    return pcl_kernel_launch(layer->context, kernel, "col2im", 3, global, NULL);
}

/* ---- The packed path (own GEMM on CPU devices) ---------------------------
 * The operands go straight into the GEMM's packed panels (kernels/conv2d.cl):
 *   forward  y = bias (fill), y += Wp · im2col_b           (C written as NCHW)
 *   backward dW += dy_a · im2col_bt (the batch inside k),  dcol = W^T · dy_b,
 *            dx = col2im(dcol)
 * so no im2col matrix is transposed or repacked. Images go in chunks whose
 * panels stay near the cache (PACKED_CHUNK_FLOATS; PERCEPTCL_CONV_CHUNK
 * overrides it for tuning). */
#define PACKED_CHUNK_FLOATS ((size_t)8 << 20)

static int use_packed(pcl_layer *layer)
{
    conv_impl *impl = layer->impl;
    return pcl_gemm_resolve(layer->context, impl->config.backend) == PCL_GEMM_BACKEND_OWN &&
           pcl_gemm_own_packed(layer->context);
}

static size_t round_up(size_t v, size_t to)
{
    return (v + to - 1) / to * to;
}

static char *packed_options(const conv_impl *impl, char *buffer, size_t size)
{
    snprintf(buffer, size, "-DREPLICATE=%d -DMR=%d -DNR=%d", impl->config.padding == PCL_PADDING_REPLICATE,
             pcl_gemm_packed_mr(), pcl_gemm_packed_nr());
    return buffer;
}

static pcl_status packed_geometry(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, int with_dx,
                                  conv_geometry *g)
{
    conv_impl *impl = layer->impl;
    const pcl_conv2d_config *c = &impl->config;
    size_t mr = (size_t)pcl_gemm_packed_mr(), nr = (size_t)pcl_gemm_packed_nr();
    g->C = x->c, g->H = x->h, g->W = x->w, g->KH = c->kernel_h, g->KW = c->kernel_w, g->S = c->stride;
    g->PH = c->pad_h, g->PW = c->pad_w, g->Ho = y->h, g->Wo = y->w, g->O = c->out_channels;
    g->K = (size_t)g->C * g->KH * g->KW;
    g->P = (size_t)g->Ho * g->Wo;
    size_t kp = round_up(g->K, nr), op = round_up((size_t)g->O, nr > mr ? nr : mr);
    size_t k2 = (size_t)g->O * g->KH * g->KW, hw = (size_t)g->H * g->W;
    size_t per_image = (kp > op ? kp : op) * g->P;
    if (with_dx && k2 * hw > per_image) per_image = k2 * hw; /* im2col of dy for a direct dx */
    size_t budget = PACKED_CHUNK_FLOATS;
    const char *env = getenv("PERCEPTCL_CONV_CHUNK");
    if (env && atol(env) > 0) budget = (size_t)atol(env);
    size_t alloc = pcl_context_device(layer->context)->max_allocation / sizeof(float);
    if (alloc && alloc / 2 < budget) budget = alloc / 2; /* room for the NR column padding */
    if (budget > INT_MAX / 2) budget = INT_MAX / 2;
    g->chunk = budget / per_image;
    if (g->chunk < 1) g->chunk = 1;
    if (g->chunk > (size_t)x->n) g->chunk = (size_t)x->n;
    size_t cols = g->chunk * g->P, pcols = round_up(cols, nr);
    size_t col_floats = kp * cols;
    if (pcols * g->K > col_floats) col_floats = pcols * g->K;
    if (with_dx && k2 * round_up(g->chunk * hw, nr) > col_floats) col_floats = k2 * round_up(g->chunk * hw, nr);
    size_t t_floats = op * pcols;
    if (col_floats > INT_MAX || t_floats > INT_MAX)
        return pcl_fail(PCL_ERR_TOO_LARGE, "conv2d: one image needs %zu floats of packed scratch", col_floats);
    pcl_context *ctx = layer->context;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_COL, col_floats * sizeof(float), &impl->col));
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_T, t_floats * sizeof(float), &impl->t));
    size_t wp = pcl_gemm_packed_a_floats((size_t)g->O, g->K), wtp = pcl_gemm_packed_a_floats(g->K, (size_t)g->O);
    size_t wfp = pcl_gemm_packed_a_floats((size_t)g->C, k2);
    if (wtp > wp) wp = wtp;
    if (wfp > wp) wp = wfp;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_WP, wp * sizeof(float), &impl->wp));
    return PCL_OK;
}

/* im2col of `in` (geometry g) into the packed B panels in impl->col:
 * forward layout (transposed = 0) or col^T (transposed = 1). */
static pcl_status packed_im2col(pcl_layer *layer, const conv_geometry *g, cl_mem in, cl_int n0, cl_int nc,
                                int transposed)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    char opts[96];
    packed_options(impl, opts, sizeof opts);
    size_t nr = (size_t)pcl_gemm_packed_nr();
    const char *name = transposed ? "im2col_bt" : "im2col_b";
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", opts, name, &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, name, 14, sizeof(cl_int), &g->C, sizeof(cl_int), &g->H, sizeof(cl_int),
                                &g->W, sizeof(cl_int), &g->KH, sizeof(cl_int), &g->KW, sizeof(cl_int), &g->S,
                                sizeof(cl_int), &g->PH, sizeof(cl_int), &g->PW, sizeof(cl_int), &g->Ho,
                                sizeof(cl_int), &g->Wo, sizeof n0, &n0, sizeof nc, &nc, sizeof(cl_mem), &in,
                                sizeof(cl_mem), &impl->col));
    /* One item per (tap or tap panel, output row, image). */
    size_t global[3] = {transposed ? (g->K + nr - 1) / nr : g->K, (size_t)g->Ho, (size_t)nc};
    return pcl_kernel_launch(ctx, kernel, name, 3, global, NULL);
}

static pcl_status packed_dy(pcl_layer *layer, const conv_geometry *g, const pcl_tensor *dy, cl_int n0, cl_int nc,
                            int as_b)
{
    conv_impl *impl = layer->impl;
    char opts[96];
    const char *name = as_b ? "dy_b" : "dy_a";
    cl_kernel kernel;
    cl_int P = (cl_int)g->P;
    PCL_TRY(pcl_kernel_get(layer->context, "conv2d.cl", packed_options(impl, opts, sizeof opts), name, &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, name, 6, sizeof(cl_int), &g->O, sizeof P, &P, sizeof n0, &n0, sizeof nc, &nc,
                                sizeof(cl_mem), &dy->mem, sizeof(cl_mem), &impl->t));
    size_t mr = (size_t)pcl_gemm_packed_mr(), nr = (size_t)pcl_gemm_packed_nr(), cols = (size_t)nc * g->P;
    size_t global[2] = {as_b ? (size_t)g->O : g->P, as_b ? (cols + nr - 1) / nr : ((size_t)g->O + mr - 1) / mr};
    return pcl_kernel_launch(layer->context, kernel, name, 2, global, NULL);
}

static pcl_status packed_forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    conv_geometry g;
    PCL_TRY(packed_geometry(layer, x, y, 0, &g));
    PCL_TRY(pcl_gemm_pack_a(ctx, 0, (size_t)g.O, g.K, layer->params[P_WEIGHT]->mem, 0, g.K, impl->wp));
    int has_bias = !impl->config.no_bias;
    if (has_bias) {
        char opts[96];
        cl_kernel fill;
        cl_ulong total = pcl_tensor_count(y);
        cl_int P = (cl_int)g.P;
        PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", packed_options(impl, opts, sizeof opts), "fill_bias", &fill));
        PCL_TRY(pcl_kernel_set_args(fill, "fill_bias", 5, sizeof total, &total, sizeof(cl_int), &g.O, sizeof P, &P,
                                    sizeof(cl_mem), &layer->params[P_BIAS]->mem, sizeof(cl_mem), &y->mem));
        PCL_TRY(pcl_launch_1d(ctx, fill, "fill_bias", (size_t)total));
    }
    for (size_t start = 0; start < (size_t)x->n; start += g.chunk) {
        cl_int n0 = (cl_int)start, nc = (cl_int)((size_t)x->n - start < g.chunk ? (size_t)x->n - start : g.chunk);
        size_t cols = (size_t)nc * g.P;
        PCL_TRY(packed_im2col(layer, &g, x->mem, n0, nc, 0));
        /* y[n0 + i, o, p] (+)= sum_r W[o, r] col[r, i*P + p]: row o at o*P, column j at (j / P)*O*P + j % P. */
        PCL_TRY(pcl_gemm_packed(ctx, &impl->gemm, (size_t)g.O, cols, g.K, 1.0f, impl->wp, impl->col,
                                has_bias ? 1.0f : 0.0f, y->mem, start * g.O * g.P, g.P, g.P, (size_t)g.O * g.P));
    }
    return PCL_OK;
}

static pcl_status bias_grad(pcl_layer *layer, const pcl_tensor *dy);
static pcl_status bias_add(pcl_layer *layer, int n, int c);

static pcl_status packed_backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                                  pcl_tensor *dx)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    conv_geometry g;
    PCL_TRY(packed_geometry(layer, x, y, dx != NULL, &g));
    if (!impl->config.no_bias) PCL_TRY(bias_grad(layer, dy));
    /* With stride 1 and zero padding the input gradient is a convolution of
     * dy (padded by k-1-pad) with the flipped W^T: no dcol, no col2im. */
    const pcl_conv2d_config *cf = &impl->config;
    int direct = cf->stride == 1 && cf->padding == PCL_PADDING_ZERO && cf->pad_h <= cf->kernel_h - 1 &&
                 cf->pad_w <= cf->kernel_w - 1;
    conv_geometry gd = g; /* dy -> dx as a convolution */
    gd.C = g.O, gd.H = g.Ho, gd.W = g.Wo, gd.PH = g.KH - 1 - g.PH, gd.PW = g.KW - 1 - g.PW, gd.Ho = g.H, gd.Wo = g.W;
    gd.O = g.C, gd.K = (size_t)g.O * g.KH * g.KW, gd.P = (size_t)g.H * g.W;
    if (dx && direct) {
        char opts[96];
        cl_kernel flip;
        PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", packed_options(impl, opts, sizeof opts), "wflip_a", &flip));
        PCL_TRY(pcl_kernel_set_args(flip, "wflip_a", 6, sizeof(cl_int), &g.O, sizeof(cl_int), &g.C, sizeof(cl_int),
                                    &g.KH, sizeof(cl_int), &g.KW, sizeof(cl_mem), &layer->params[P_WEIGHT]->mem,
                                    sizeof(cl_mem), &impl->wp));
        size_t mr = (size_t)pcl_gemm_packed_mr(), gf[2] = {gd.K, ((size_t)g.C + mr - 1) / mr};
        PCL_TRY(pcl_kernel_launch(ctx, flip, "wflip_a", 2, gf, NULL));
    } else if (dx) {
        /* W^T (K x O) packed once: W is stored O x K, i.e. transposed. */
        PCL_TRY(pcl_gemm_pack_a(ctx, 1, g.K, (size_t)g.O, layer->params[P_WEIGHT]->mem, 0, g.K, impl->wp));
    }
    for (size_t start = 0; start < (size_t)x->n; start += g.chunk) {
        cl_int n0 = (cl_int)start, nc = (cl_int)((size_t)x->n - start < g.chunk ? (size_t)x->n - start : g.chunk);
        size_t cols = (size_t)nc * g.P;
        /* dW (O x K) += dy (O x cols) col^T (cols x K). */
        PCL_TRY(packed_dy(layer, &g, dy, n0, nc, 0));
        PCL_TRY(packed_im2col(layer, &g, x->mem, n0, nc, 1));
        PCL_TRY(pcl_gemm_packed(ctx, &impl->gemm, (size_t)g.O, g.K, cols, 1.0f, impl->t, impl->col, 1.0f,
                                layer->grads[P_WEIGHT]->mem, 0, g.K, 0, 0));
        if (!dx) continue;
        if (direct) {
            /* dx[n0 + i, c, q] = sum_r' Wflip[c, r'] im2col(dy)[r', i*H*W + q]. */
            PCL_TRY(packed_im2col(layer, &gd, dy->mem, n0, nc, 0));
            PCL_TRY(pcl_gemm_packed(ctx, &impl->gemm, (size_t)g.C, (size_t)nc * gd.P, gd.K, 1.0f, impl->wp, impl->col,
                                    0.0f, dx->mem, start * g.C * gd.P, gd.P, gd.P, (size_t)g.C * gd.P));
            continue;
        }
        /* dcol (K x cols) = W^T (K x O) dy (O x cols), into the col scratch. */
        PCL_TRY(packed_dy(layer, &g, dy, n0, nc, 1));
        PCL_TRY(pcl_gemm_packed(ctx, &impl->gemm, g.K, cols, (size_t)g.O, 1.0f, impl->wp, impl->t, 0.0f, impl->col, 0,
                                cols, 0, 0));
        PCL_TRY(col2im(layer, &g, n0, nc, dx));
    }
    return PCL_OK;
}

/* ---- The direct path (CPU devices) ---------------------------------------
 * No im2col: kernels/conv2d.cl's conv_direct reads the input in place (or a
 * zero- or replicate-padded copy, split into S x S phase planes for a stride
 * S > 1; replicate padding: the forward only, see use_direct) with
 * one vector load per tap, for the forward and for the input gradient.
 * The weight gradient (beta = 1: gradients accumulate): for O a multiple of
 * 32, dw_ot with the output channels along the vector lanes over a
 * transposed dy, which also gives the bias gradient (dw_channels); else
 * dw_direct, dy reduced along q against shifted input rows in launches of a
 * few images (dw_lanes). Both add the images in a fixed order.
 * The input gradient is a convolution of dy with the flipped W^T: for
 * stride 1 straight into dx (dy padded by k-1-pad); for stride S one stride-1
 * correlation of dy per phase of the flipped kernel (wphase_a: the taps
 * u = S*u' + a, v = S*v' + b), then unphase interleaves them into dx.
 * PERCEPTCL_CONV=packed turns it off (the packed im2col path above). */
#define DIRECT_SLACK 64            /* zero floats after a padded copy */
#define DW_ITEM_Q 704
#define DYQ_CHUNK_FLOATS ((size_t)1 << 24)
#define DIRECT_MAX_STRIDE 4

/* The forward takes the direct path with zero or replicate padding; the
 * backward only with zero padding (backward = 1): replicate padding's input
 * gradient folds the padding's gradient into the edge pixels, which the
 * direct input gradient does not do, so it stays on the packed path. */
static int use_direct(pcl_layer *layer, int backward)
{
    const pcl_conv2d_config *c = &((conv_impl *)layer->impl)->config;
    const char *env = getenv("PERCEPTCL_CONV");
    if (env && strcmp(env, "packed") == 0) return 0;
    if (backward && c->padding != PCL_PADDING_ZERO) return 0;
    return use_packed(layer) && c->stride <= DIRECT_MAX_STRIDE && c->pad_h <= c->kernel_h - 1 &&
           c->pad_w <= c->kernel_w - 1;
}

static int rows_for(int channels)
{
    return channels >= 8 ? 8 : channels >= 4 ? 4 : channels >= 2 ? 2 : 1;
}

/* conv_direct's outputs per item for MR output rows: DQ float16 vectors
 * along q. Fewer rows get more vectors, so that MR x DQ independent sums
 * hide the FMA latency (a 32 -> 1 layer with 2 ran at 15-45 GFLOP/s);
 * PERCEPTCL_CONV_DQ = 2, 3, 4 or 6 overrides, for tuning and tests. */
static int direct_dq(int mr)
{
    const char *env = getenv("PERCEPTCL_CONV_DQ");
    int forced = env ? atoi(env) : 0;
    if (forced == 2 || forced == 3 || forced == 4 || forced == 6) return forced;
    return mr >= 8 ? 3 : mr >= 4 ? 4 : 6;
}

static const char *direct_options(int mr, int mo, int stride, char *buffer, size_t size)
{
    snprintf(buffer, size, "-DREPLICATE=0 -DMR=%d -DNR=32 -DMO=%d -DMT=%d -DDQ=%d -DST=%d", mr, mo, mo == 4 ? 4 : 8,
             direct_dq(mr), stride);
    return buffer;
}

/* The layout of the input of a valid convolution (kernels/conv2d.cl, direct
 * kernels): t itself when there is no padding and stride 1 (returns 0),
 * else a padded copy (returns 1): rows *wq floats apart, planes *plane
 * floats apart, stride x stride phase planes per channel. Zero padding,
 * stride 1: *wq = W + pw (neighbouring rows share their zero padding),
 * *plane = (H + 2ph) * *wq + pw. Replicate padding (pad_replicate: the edge
 * pixels repeated) shares no columns: *wq = W + 2pw, *plane = (H + 2ph) *
 * *wq for stride 1. out_w: the outputs per row the caller computes (they
 * must fit in a row). */
static int direct_layout(const pcl_tensor *t, int ph, int pw, int stride, int replicate, int out_w, int *wq,
                         cl_long *plane)
{
    if (ph == 0 && pw == 0 && stride == 1) {
        *wq = t->w;
        *plane = (cl_long)t->h * t->w;
        return 0;
    }
    if (stride == 1) {
        *wq = t->w + (replicate ? 2 : 1) * pw;
        *plane = (cl_long)(t->h + 2 * ph) * *wq + (replicate ? 0 : pw);
    } else {
        /* Phase rows share their zero padding too: every phase row starts
         * with at least `shared` zeros, which also serve as the previous
         * row's last columns when no phase has data there and the out_w
         * outputs per row still fit. */
        int wfull = (t->w + 2 * pw + stride - 1) / stride, shared = wfull;
        for (int b = 0; b < stride; b++) {
            int left = pw > b ? (pw - b + stride - 1) / stride : 0, last = (t->w + pw - 1 - b) / stride;
            if (left < shared) shared = left;
            if (last > wfull - shared - 1) shared = wfull - 1 - last;
        }
        if (shared < 0 || out_w > wfull - shared || replicate) shared = 0;
        *wq = wfull - shared;
        *plane = (cl_long)((t->h + 2 * ph + stride - 1) / stride) * *wq + shared;
    }
    return 1;
}

/* Images of t per padded copy: all of them, unless the copy of the batch
 * would pass PAD_CHUNK_FLOATS (PERCEPTCL_CONV_PAD overrides); then fewer,
 * a multiple of `multiple` (at least one multiple). A padded copy of the
 * whole batch was the largest scratch buffer of a training step: 321 MB for
 * the conv AE's 128 -> 1 layer at batch 64 (bench/RESULTS.md, "Peak
 * memory"); in chunks the kernels run the same arithmetic on fewer images
 * per launch. */
#define PAD_CHUNK_FLOATS ((size_t)1 << 24)
static size_t pad_images(const pcl_tensor *t, int stride, cl_long plane, size_t multiple)
{
    size_t per_image = (size_t)t->c * stride * stride * (size_t)plane, budget = PAD_CHUNK_FLOATS;
    const char *env = getenv("PERCEPTCL_CONV_PAD");
    if (env && atol(env) > 0) budget = (size_t)atol(env);
    if ((size_t)t->n * per_image <= budget) return (size_t)t->n;
    size_t images = budget / per_image / multiple * multiple;
    return images < multiple ? multiple : images;
}

/* The input of a valid convolution, images n0 .. n0 + nc of t laid out as
 * direct_layout says (wq, plane): t itself (*first = n0: the images start
 * at image n0 of *in), or a padded copy of those images in impl->pad
 * (*first = 0). *total: floats readable in *in. */
static pcl_status direct_input(pcl_layer *layer, const pcl_tensor *t, int ph, int pw, int stride, int replicate,
                               int wq, cl_long plane, int n0, int nc, cl_mem *in, cl_long *total, int *first)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    if (ph == 0 && pw == 0 && stride == 1) { /* direct_layout's no-copy case */
        *in = t->mem;
        *total = (cl_long)pcl_tensor_count(t);
        *first = n0;
        return PCL_OK;
    }
    cl_ulong count = (cl_ulong)nc * t->c * stride * stride * plane + DIRECT_SLACK;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_PAD, count * sizeof(float), &impl->pad));
    char opts[128];
    cl_kernel kernel;
    const char *name = replicate ? "pad_replicate" : "pad_copy";
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", direct_options(1, 1, stride, opts, sizeof opts), name, &kernel));
    cl_int planes = nc * t->c, H = t->h, W = t->w, PH = ph, PW = pw, WQ = wq;
    cl_long PL = plane, src_off = (cl_long)n0 * t->c * t->h * t->w;
    PCL_TRY(pcl_kernel_set_args(kernel, name, 10, sizeof planes, &planes, sizeof H, &H, sizeof W, &W,
                                sizeof PH, &PH, sizeof PW, &PW, sizeof WQ, &WQ, sizeof PL, &PL, sizeof(cl_mem),
                                &t->mem, sizeof src_off, &src_off, sizeof(cl_mem), &impl->pad));
    size_t rows = (size_t)((PL + WQ - 1) / WQ), copies = (size_t)planes * stride * stride;
    if (replicate) { /* one item per row */
        size_t global[2] = {rows, copies};
        PCL_TRY(pcl_kernel_launch(ctx, kernel, name, 2, global, NULL));
    } else {
        size_t global[3] = {(size_t)WQ, rows, copies};
        PCL_TRY(pcl_kernel_launch(ctx, kernel, name, 3, global, NULL));
    }
    /* the slack the direct kernels may read */
    PCL_TRY(pcl_buffer_fill_zero(ctx, impl->pad, (count - DIRECT_SLACK) * sizeof(float), DIRECT_SLACK * sizeof(float)));
    *in = impl->pad;
    *total = (cl_long)count;
    *first = 0;
    return PCL_OK;
}

/* The geometry of one conv_direct launch: n images of C channels stored as
 * S x S phase planes (rows Wq floats apart, planes `plane` apart), a KH x KW
 * kernel, O outputs of Ho x Wo; the input read from xoff floats into each
 * image, the output written from yoff floats on; rows outside [row_lo,
 * row_hi) of the planes (counted from xoff) are zero padding. */
typedef struct direct_shape {
    int n, C, Wq, S, KH, KW, O, Ho, Wo;
    cl_long plane, xoff;
    size_t yoff;
    int row_lo, row_hi;
} direct_shape;
#define ALL_ROWS (1 << 28) /* row_hi where no row is known to be padding */

/* out = valid correlation of `in` with the packed weights impl->wp (MR rows
 * per panel), + bias when given, through a ReLU when relu != 0. */
static pcl_status direct_conv(pcl_layer *layer, int mr, cl_mem in, cl_long total, const direct_shape *d,
                              cl_mem bias, int relu, cl_mem out)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    char opts[128];
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", direct_options(mr, 1, d->S, opts, sizeof opts), "conv_direct",
                           &kernel));
    cl_int nn = d->n, c = d->C, wp = d->Wq, ho = d->Ho, wo = d->Wo, kh = d->KH, kw = d->KW, o = d->O;
    cl_long plane = d->plane;
    float beta = 0.0f;
    cl_int has_bias = bias != NULL;
    cl_mem b = bias ? bias : in;
    cl_long xoff = d->xoff;
    cl_ulong yoff = d->yoff;
    cl_int fuse_relu = relu != 0;
    PCL_TRY(pcl_kernel_set_args(kernel, "conv_direct", 21, sizeof nn, &nn, sizeof c, &c, sizeof plane, &plane, sizeof wp,
                                &wp, sizeof ho, &ho, sizeof wo, &wo, sizeof kh, &kh, sizeof kw, &kw, sizeof o, &o,
                                sizeof total, &total, sizeof(cl_mem), &in, sizeof(cl_mem), &impl->wp, sizeof beta,
                                &beta, sizeof has_bias, &has_bias, sizeof(cl_mem), &b, sizeof(cl_mem), &out,
                                sizeof xoff, &xoff, sizeof yoff, &yoff, sizeof d->row_lo, &d->row_lo,
                                sizeof d->row_hi, &d->row_hi, sizeof fuse_relu, &fuse_relu));
    size_t q = (size_t)d->Ho * d->Wq;
    size_t qw = 16 * (size_t)direct_dq(mr);
    size_t global[3] = {(size_t)(d->O + mr - 1) / mr, (q + qw - 1) / qw, (size_t)d->n};
    return pcl_kernel_launch(ctx, kernel, "conv_direct", 3, global, NULL);
}

/* Packs the weights into impl->wp with kernel `name` (wpack_a, wflip_a or
 * wphase_a for phase (phase_a, phase_b)): `rows` output rows in MR-row
 * panels of k2 columns each. */
static pcl_status direct_weights(pcl_layer *layer, const char *name, int mr, int stride, size_t rows, size_t k2,
                                 cl_int phase_a, cl_int phase_b)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    const pcl_conv2d_config *cf = &impl->config;
    size_t panels = (rows + (size_t)mr - 1) / (size_t)mr;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_WP, panels * mr * k2 * sizeof(float), &impl->wp));
    char opts[128];
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", direct_options(mr, 1, stride, opts, sizeof opts), name, &kernel));
    cl_mem w = layer->params[P_WEIGHT]->mem;
    if (!strcmp(name, "wpack_a")) {
        cl_int o = (cl_int)rows, k = (cl_int)k2;
        PCL_TRY(pcl_kernel_set_args(kernel, name, 4, sizeof o, &o, sizeof k, &k, sizeof(cl_mem), &w, sizeof(cl_mem),
                                    &impl->wp));
    } else if (!strcmp(name, "wphase_a")) {
        cl_int O = cf->out_channels, C = cf->in_channels, KH = cf->kernel_h, KW = cf->kernel_w;
        PCL_TRY(pcl_kernel_set_args(kernel, name, 8, sizeof O, &O, sizeof C, &C, sizeof KH, &KH, sizeof KW, &KW,
                                    sizeof phase_a, &phase_a, sizeof phase_b, &phase_b, sizeof(cl_mem), &w,
                                    sizeof(cl_mem), &impl->wp));
    } else {
        cl_int O = cf->out_channels, C = cf->in_channels, KH = cf->kernel_h, KW = cf->kernel_w;
        PCL_TRY(pcl_kernel_set_args(kernel, name, 6, sizeof O, &O, sizeof C, &C, sizeof KH, &KH, sizeof KW, &KW,
                                    sizeof(cl_mem), &w, sizeof(cl_mem), &impl->wp));
    }
    size_t global[2] = {k2, panels};
    return pcl_kernel_launch(ctx, kernel, name, 2, global, NULL);
}

static pcl_status direct_forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y, int relu)
{
    conv_impl *impl = layer->impl;
    const pcl_conv2d_config *cf = &impl->config;
    int O = cf->out_channels, K = x->c * cf->kernel_h * cf->kernel_w, mr = rows_for(O);
    cl_mem in;
    cl_long total;
    int replicate = cf->padding == PCL_PADDING_REPLICATE, S = cf->stride, first;
    direct_shape d = {x->n, x->c, 0, S, cf->kernel_h, cf->kernel_w, O, y->h, y->w, 0, 0, 0, 0, ALL_ROWS};
    /* Zero padding rows: skipped by conv_direct (replicated rows are data). */
    if (S == 1 && !replicate) d.row_lo = cf->pad_h, d.row_hi = cf->pad_h + x->h;
    int copy = direct_layout(x, cf->pad_h, cf->pad_w, S, replicate, y->w, &d.Wq, &d.plane);
    size_t per = copy ? pad_images(x, S, d.plane, 1) : (size_t)x->n;
    PCL_TRY(direct_weights(layer, "wpack_a", mr, 1, (size_t)O, (size_t)K, 0, 0));
    for (size_t start = 0; start < (size_t)x->n; start += per) {
        int nc = (int)((size_t)x->n - start < per ? (size_t)x->n - start : per);
        PCL_TRY(direct_input(layer, x, cf->pad_h, cf->pad_w, S, replicate, d.Wq, d.plane, (int)start, nc, &in, &total,
                             &first));
        d.n = nc;
        d.xoff = (cl_long)first * x->c * S * S * d.plane;
        d.yoff = start * O * y->h * y->w;
        PCL_TRY(direct_conv(layer, mr, in, total, &d, cf->no_bias ? NULL : layer->params[P_BIAS]->mem, relu, y->mem));
    }
    return PCL_OK;
}

/* Images per dw_direct launch (dw_lanes) for dy and rows Wp floats apart. */
static size_t dw_lanes_images(const pcl_layer *layer, const pcl_tensor *dy, int Wp)
{
    const int O = ((const conv_impl *)layer->impl)->config.out_channels;
    const size_t Qp = round_up((size_t)dy->h * Wp, 16);
    /* Images per dw_direct launch: about DW_ITEM_Q values of q per item, so
     * that the dyq and x rows an item streams (~24 bytes per q) stay in L1
     * for the next item, which reads the same rows (measured on PoCL: 4
     * images of 176 q ran 1.33x faster than 1, 2 images of 672 q 1.05x
     * slower than 1); PERCEPTCL_CONV_CHUNK (floats of dyq) overrides. */
    size_t per_image = (size_t)O * Qp;
    size_t chunk = DW_ITEM_Q / Qp;
    if (chunk * per_image > DYQ_CHUNK_FLOATS) chunk = DYQ_CHUNK_FLOATS / per_image;
    const char *env = getenv("PERCEPTCL_CONV_CHUNK");
    if (env && atol(env) > 0) chunk = (size_t)atol(env) / per_image;
    if (chunk < 1) chunk = 1;
    if (chunk > (size_t)dy->n) chunk = (size_t)dy->n;
    return chunk;
}

/* dW += dy (x) x for images n_begin .. n_begin + n_count by dw_direct: dy
 * in q order (dyq), MO output channels x MT taps per item with float16
 * accumulators along q, in launches of dw_lanes_images images (counted from
 * image 0 of the batch) that add into dW one after the other. `in` is x as
 * direct_input laid it out (rows Wp floats apart, planes `plane` apart,
 * `total` floats), image n_begin at its image `first`. */
static pcl_status dw_lanes(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *dy, cl_mem in, cl_long total,
                           cl_int Wp, cl_long plane, int n_begin, int n_count, int first)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    const pcl_conv2d_config *cf = &impl->config;
    cl_int C = x->c, O = cf->out_channels, KH = cf->kernel_h, KW = cf->kernel_w, Ho = dy->h, Wo = dy->w;
    cl_int K = C * KH * KW;
    /* MO output channels per item, MO dividing O (dyq rows past O are not read). */
    int mo = O % 4 == 0 ? 4 : O % 2 == 0 ? 2 : 1, mt = mo == 4 ? 4 : 8;
    cl_int Qp = (cl_int)round_up((size_t)Ho * Wp, 16);
    size_t per_image = (size_t)O * Qp, chunk = dw_lanes_images(layer, dy, Wp);
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_DYQ, chunk * per_image * sizeof(float), &impl->dyq));
    char opts[128];
    direct_options(1, mo, cf->stride, opts, sizeof opts);
    cl_kernel kq, kw;
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", opts, "dy_q", &kq));
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", opts, "dw_direct", &kw));
    float one = 1.0f;
    for (size_t start = 0; start < (size_t)n_count; start += chunk) {
        cl_int n0 = n_begin + (cl_int)start, xn0 = first + (cl_int)start;
        cl_int nc = (cl_int)((size_t)n_count - start < chunk ? (size_t)n_count - start : chunk);
        PCL_TRY(pcl_kernel_set_args(kq, "dy_q", 9, sizeof O, &O, sizeof Ho, &Ho, sizeof Wo, &Wo, sizeof Wp, &Wp,
                                    sizeof Qp, &Qp, sizeof n0, &n0, sizeof nc, &nc, sizeof(cl_mem), &dy->mem,
                                    sizeof(cl_mem), &impl->dyq));
        size_t gq[3] = {(size_t)Wp, ((size_t)Qp + Wp - 1) / Wp, (size_t)nc * O};
        PCL_TRY(pcl_kernel_launch(ctx, kq, "dy_q", 3, gq, NULL));
        PCL_TRY(pcl_kernel_set_args(kw, "dw_direct", 14, sizeof C, &C, sizeof plane, &plane, sizeof Wp, &Wp, sizeof KH, &KH,
                                    sizeof KW, &KW, sizeof O, &O, sizeof Qp, &Qp, sizeof xn0, &xn0, sizeof nc, &nc,
                                    sizeof total, &total, sizeof(cl_mem), &in, sizeof(cl_mem), &impl->dyq,
                                    sizeof one, &one, sizeof(cl_mem), &layer->grads[P_WEIGHT]->mem));
        size_t gw[2] = {(size_t)(K + mt - 1) / mt, (size_t)(O / mo)};
        PCL_TRY(pcl_kernel_launch(ctx, kw, "dw_direct", 2, gw, NULL));
    }
    return PCL_OK;
}

/* dW += dy (x) x by dw_ot, for O a multiple of 32: dy transposed with the
 * channels contiguous (dy_qt, which also sums it for the bias gradient),
 * one launch over (TAPS taps, 16*OVEC channels, chunk of images) writing
 * partial sums per chunk, then dw_sum adding the chunks in order into dW.
 * Three launches for the batch instead of two per few images, no lane
 * sums, no padding columns; measured on PoCL (bench_layers --split, see
 * bench/RESULTS.md): SRCNN 1->64 9x9 dW 14.1 -> 5.1 ms, 64->32 5x5 24.2 ->
 * 14.0 ms. Where the chunks' partial sums would not fit DW_PART_FLOATS (the
 * conv AE's wide layers), fewer, longer chunks stream dy from memory in
 * every item and ran up to 2.5x slower than dw_direct: dw_chunk_images
 * says 0 and dw_lanes is used, as where the transposed dy would pass
 * DW_DYT_FLOATS. */
#define DW_CHUNK_BYTES ((size_t)256 << 10) /* dy_qt bytes per chunk: about half an L2 */
#define DW_PART_FLOATS ((size_t)4 << 20)   /* bound on the partial sums */
#define DW_DYT_FLOATS ((size_t)1 << 26)    /* bound on the transposed dy (256 MB) */

/* Images per dw_ot chunk, or 0 where dw_ot does not apply; x laid out by
 * direct_input (rows Wp floats apart, planes `plane` apart, `total` floats).
 * For tests and tuning: PERCEPTCL_CONV_DW=lanes takes dw_direct,
 * PERCEPTCL_CONV_CHUNK sets the images per chunk (for dw_direct: the floats
 * of dyq per launch), PERCEPTCL_CONV_OV=2 32 channels per item. */
static int dw_chunk_images(const pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *dy, int Wp, cl_long plane,
                           cl_long total)
{
    const pcl_conv2d_config *cf = &((const conv_impl *)layer->impl)->config;
    const char *env = getenv("PERCEPTCL_CONV_DW");
    if (cf->out_channels % 32 != 0 || (env && !strcmp(env, "lanes"))) return 0;
    /* dw_ot reads without bounds checks: its furthest read, the last image's
     * furthest tap for the last output, must lie inside the tensor. */
    const int S = cf->stride;
    cl_long last = 0;
    for (int u = 0; u < cf->kernel_h; u++)
        for (int v = 0; v < cf->kernel_w; v++) {
            cl_long off = ((cl_long)((x->c - 1) * S + u % S) * S + v % S) * plane + (cl_long)(u / S) * Wp + v / S;
            if (off > last) last = off;
        }
    last += (cl_long)(x->n - 1) * x->c * S * S * plane + (cl_long)(dy->h - 1) * Wp + dy->w - 1;
    if (last >= total) return 0;
    size_t K = (size_t)x->c * cf->kernel_h * cf->kernel_w, O = (size_t)cf->out_channels;
    if ((size_t)dy->n * dy->h * dy->w * O > DW_DYT_FLOATS) return 0;
    size_t per_chunk = DW_CHUNK_BYTES / ((size_t)dy->h * dy->w * O * sizeof(float));
    if ((env = getenv("PERCEPTCL_CONV_CHUNK")) && atoi(env) > 0) per_chunk = (size_t)atoi(env);
    if (per_chunk < 1) per_chunk = 1;
    size_t chunks = ((size_t)x->n + per_chunk - 1) / per_chunk;
    return chunks * K * O <= DW_PART_FLOATS ? (int)per_chunk : 0;
}

static pcl_status dw_channels(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *dy, cl_mem in, cl_int Wp,
                              cl_long plane, cl_int per_chunk)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    const pcl_conv2d_config *cf = &impl->config;
    cl_int C = x->c, O = cf->out_channels, KH = cf->kernel_h, KW = cf->kernel_w, Ho = dy->h, Wo = dy->w, N = x->n;
    cl_int K = C * KH * KW, P = Ho * Wo, chunks = (N + per_chunk - 1) / per_chunk;
    /* 64 channels x 6 taps (10 loads per 24 FMAs) or 32 x 12 (14 per 24). */
    int ov = O % 64 == 0 ? 4 : 2;
    const char *env = getenv("PERCEPTCL_CONV_OV");
    if (env && atoi(env) == 2) ov = 2;
    int taps = ov == 4 ? 6 : 12;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_DYQ, (size_t)N * P * O * sizeof(float), &impl->dyq));
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_DWPART, (size_t)chunks * K * O * sizeof(float),
                                &impl->dwpart));
    char opts[160];
    snprintf(opts, sizeof opts, "-DREPLICATE=0 -DST=%d -DOVEC=%d -DTAPS=%d", cf->stride, ov, taps);
    cl_kernel kq, kw, ks;
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", opts, "dy_qt", &kq));
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", opts, "dw_ot", &kw));
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", opts, "dw_sum", &ks));
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_PARTIAL, (size_t)N * O * sizeof(float), &impl->partial));
    PCL_TRY(pcl_kernel_set_args(kq, "dy_qt", 6, sizeof O, &O, sizeof P, &P, sizeof N, &N, sizeof(cl_mem), &dy->mem,
                                sizeof(cl_mem), &impl->dyq, sizeof(cl_mem), &impl->partial));
    /* One item per work-group: items are long, and the groups spread over the cores. */
    size_t gq[2] = {(size_t)O / 16, (size_t)N}, one[3] = {1, 1, 1};
    PCL_TRY(pcl_kernel_launch(ctx, kq, "dy_qt", 2, gq, one));
    if (!cf->no_bias) PCL_TRY(bias_add(layer, N, O)); /* dy_qt's per-image sums */
    PCL_TRY(pcl_kernel_set_args(kw, "dw_ot", 13, sizeof C, &C, sizeof plane, &plane, sizeof Wp, &Wp, sizeof KH, &KH,
                                sizeof KW, &KW, sizeof O, &O, sizeof Ho, &Ho, sizeof Wo, &Wo, sizeof N, &N,
                                sizeof per_chunk, &per_chunk, sizeof(cl_mem), &in, sizeof(cl_mem), &impl->dyq,
                                sizeof(cl_mem), &impl->dwpart));
    size_t gw[3] = {(size_t)(K + taps - 1) / taps, (size_t)O / (16 * ov), (size_t)chunks};
    PCL_TRY(pcl_kernel_launch(ctx, kw, "dw_ot", 3, gw, one));
    float beta = 1.0f;
    PCL_TRY(pcl_kernel_set_args(ks, "dw_sum", 6, sizeof O, &O, sizeof K, &K, sizeof chunks, &chunks, sizeof(cl_mem),
                                &impl->dwpart, sizeof beta, &beta, sizeof(cl_mem), &layer->grads[P_WEIGHT]->mem));
    size_t gs[2] = {(size_t)K, (size_t)O / 16};
    return pcl_kernel_launch(ctx, ks, "dw_sum", 2, gs, NULL);
}

static pcl_status direct_backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *dy, pcl_tensor *dx)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    const pcl_conv2d_config *cf = &impl->config;
    cl_int C = x->c, O = cf->out_channels, KH = cf->kernel_h, KW = cf->kernel_w, Ho = dy->h, Wo = dy->w;
    int S = cf->stride, N = x->n, first;
    cl_mem in;
    cl_long total;
    cl_int Wp;
    cl_long plane;
    /* The weight gradient: dw_channels where it applies to the whole
     * batch's padded copy, else dw_lanes over copies of a few images. */
    int copy = direct_layout(x, cf->pad_h, cf->pad_w, S, 0, Wo, &Wp, &plane);
    cl_long whole = (cl_long)N * C * S * S * plane + (copy ? DIRECT_SLACK : 0); /* floats of a whole-batch copy */
    int per_chunk = dw_chunk_images(layer, x, dy, Wp, plane, whole);
    size_t per = copy && per_chunk == 0 ? pad_images(x, S, plane, dw_lanes_images(layer, dy, Wp)) : (size_t)N;
    if (per_chunk == 0 && !cf->no_bias) PCL_TRY(bias_grad(layer, dy));
    for (size_t start = 0; start < (size_t)N; start += per) {
        int nc = (int)((size_t)N - start < per ? (size_t)N - start : per);
        PCL_TRY(direct_input(layer, x, cf->pad_h, cf->pad_w, S, 0, Wp, plane, (int)start, nc, &in, &total, &first));
        if (per_chunk > 0)
            PCL_TRY(dw_channels(layer, x, dy, in, Wp, plane, per_chunk)); /* and the bias gradient */
        else
            PCL_TRY(dw_lanes(layer, x, dy, in, total, Wp, plane, (int)start, nc, first));
    }
    if (!dx) return PCL_OK;
    if (S == 1) {
        /* dx = valid correlation of dy padded by (k - 1 - pad) with the flipped W^T. */
        int mr = rows_for(C);
        cl_int ph = KH - 1 - cf->pad_h, pw = KW - 1 - cf->pad_w;
        direct_shape d = {dy->n, O, 0, 1, KH, KW, C, x->h, x->w, 0, 0, 0, ph, ph + dy->h};
        copy = direct_layout(dy, ph, pw, 1, 0, d.Wo, &d.Wq, &d.plane);
        per = copy ? pad_images(dy, 1, d.plane, 1) : (size_t)N;
        PCL_TRY(direct_weights(layer, "wflip_a", mr, 1, (size_t)C, (size_t)O * KH * KW, 0, 0));
        for (size_t start = 0; start < (size_t)N; start += per) {
            int nc = (int)((size_t)N - start < per ? (size_t)N - start : per);
            PCL_TRY(direct_input(layer, dy, ph, pw, 1, 0, d.Wq, d.plane, (int)start, nc, &in, &total, &first));
            d.n = nc;
            d.xoff = (cl_long)first * O * d.plane;
            d.yoff = start * C * x->h * x->w;
            PCL_TRY(direct_conv(layer, mr, in, total, &d, NULL, 0, dx->mem));
        }
        return PCL_OK;
    }
    /* Stride S: the padded input's gradient in S*S phases (dxq in impl->col,
     * one block of n x C planes per phase): phase (a, b) is a correlation of
     * dy with ta x tb taps (ta = ceil((KH - a)/S)), read from dy padded by
     * T-1 (T = ceil(k/S), the most taps) at an offset of T - ta rows and
     * T - tb columns; then cropped and interleaved into dx. */
    int th = (KH + S - 1) / S, tw = (KW + S - 1) / S, mr = rows_for(C);
    direct_shape d = {dy->n, O, 0, 1, th, tw, C, Ho + th - 1, Wo + tw - 1, 0, 0, 0, 0, 0};
    direct_layout(dy, th - 1, tw - 1, 1, 0, d.Wo, &d.Wq, &d.plane);
    PCL_TRY(direct_input(layer, dy, th - 1, tw - 1, 1, 0, d.Wq, d.plane, 0, N, &in, &total, &first));
    size_t phase_floats = (size_t)dy->n * C * d.Ho * d.Wo;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_COL, phase_floats * S * S * sizeof(float), &impl->col));
    for (int a = 0; a < S; a++) {
        for (int b = 0; b < S; b++) {
            d.KH = (KH - a + S - 1) / S, d.KW = (KW - b + S - 1) / S;
            d.xoff = (long)(th - d.KH) * d.Wq + (tw - d.KW);
            d.row_lo = d.KH - 1, d.row_hi = d.KH - 1 + Ho; /* dy's rows, from xoff */
            d.yoff = (size_t)(a * S + b) * phase_floats;
            if (d.KH == 0 || d.KW == 0) { /* no tap of the kernel lands on this phase */
                PCL_TRY(pcl_buffer_fill_zero(ctx, impl->col, d.yoff * sizeof(float), phase_floats * sizeof(float)));
                continue;
            }
            /* The in-order queue runs each phase's conv before the next packing. */
            PCL_TRY(direct_weights(layer, "wphase_a", mr, S, (size_t)C, (size_t)O * d.KH * d.KW, a, b));
            PCL_TRY(direct_conv(layer, mr, in, total, &d, NULL, 0, impl->col));
        }
    }
    cl_kernel un;
    char opts[128];
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", direct_options(1, 1, S, opts, sizeof opts), "unphase", &un));
    cl_int planes = x->n * C, H = x->h, W = x->w, PH = cf->pad_h, PW = cf->pad_w, Hd = d.Ho, Wd = d.Wo;
    PCL_TRY(pcl_kernel_set_args(un, "unphase", 9, sizeof planes, &planes, sizeof H, &H, sizeof W, &W, sizeof PH, &PH,
                                sizeof PW, &PW, sizeof Hd, &Hd, sizeof Wd, &Wd, sizeof(cl_mem), &impl->col,
                                sizeof(cl_mem), &dx->mem));
    size_t gu[3] = {(size_t)W, (size_t)H, (size_t)planes};
    return pcl_kernel_launch(ctx, un, "unphase", 3, gu, NULL);
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    if (use_direct(layer, 0)) return direct_forward(layer, x, y, 0);
    if (use_packed(layer)) return packed_forward(layer, x, y);
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    conv_geometry g;
    PCL_TRY(geometry(layer, x, y, &g));
    cl_kernel scatter;
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", options(impl), "scatter_bias", &scatter));
    cl_int has_bias = !impl->config.no_bias, P = (cl_int)g.P;
    cl_mem bias = has_bias ? layer->params[P_BIAS]->mem : layer->params[P_WEIGHT]->mem;
    for (size_t start = 0; start < (size_t)x->n; start += g.chunk) {
        cl_int n0 = (cl_int)start, nc = (cl_int)((size_t)x->n - start < g.chunk ? (size_t)x->n - start : g.chunk);
        size_t cols = (size_t)nc * g.P;
        PCL_TRY(im2col(layer, &g, x, n0, nc));
        PCL_TRY(pcl_gemm(ctx, impl->config.backend, 0, 0, (size_t)g.O, cols, g.K, 1.0f, layer->params[P_WEIGHT]->mem,
                         0, g.K, impl->col, 0, cols, 0.0f, impl->t, 0, cols));
        PCL_TRY(pcl_kernel_set_args(scatter, "scatter_bias", 8, sizeof(cl_int), &g.O, sizeof P, &P, sizeof n0, &n0,
                                    sizeof nc, &nc, sizeof has_bias, &has_bias, sizeof(cl_mem), &impl->t,
                                    sizeof(cl_mem), &bias, sizeof(cl_mem), &y->mem));
        size_t global[2] = {cols, (size_t)g.O};
        PCL_TRY(pcl_kernel_launch(ctx, scatter, "scatter_bias", 2, global, NULL));
    }
    return PCL_OK;
}

/* The bias gradient += the sums over n of impl->partial (n x C per-image
 * channel sums), in image order. */
static pcl_status bias_add(pcl_layer *layer, int n, int c)
{
    conv_impl *impl = layer->impl;
    cl_kernel kernel;
    cl_int nn = n, cc = c;
    PCL_TRY(pcl_kernel_get(layer->context, "reduce.cl", NULL, "sum_n_add", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "sum_n_add", 4, sizeof nn, &nn, sizeof cc, &cc, sizeof(cl_mem),
                                &impl->partial, sizeof(cl_mem), &layer->grads[P_BIAS]->mem));
    return pcl_launch_1d(layer->context, kernel, "sum_n_add", (size_t)c);
}

static pcl_status bias_grad(pcl_layer *layer, const pcl_tensor *dy)
{
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    PCL_TRY(pcl_context_scratch(ctx, PCL_SCRATCH_SLOT_CONV_PARTIAL, (size_t)dy->n * dy->c * sizeof(float),
                                &impl->partial));
    cl_kernel kernel;
    cl_int count = dy->n * dy->c, hw = dy->h * dy->w;
    PCL_TRY(pcl_kernel_get(ctx, "reduce.cl", NULL, "sum_hw", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "sum_hw", 4, sizeof count, &count, sizeof hw, &hw, sizeof(cl_mem), &dy->mem,
                                sizeof(cl_mem), &impl->partial));
    PCL_TRY(pcl_launch_1d(ctx, kernel, "sum_hw", (size_t)count));
    return bias_add(layer, dy->n, dy->c);
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    if (use_direct(layer, 1)) return direct_backward(layer, x, dy, dx);
    if (use_packed(layer)) return packed_backward(layer, x, y, dy, dx);
    conv_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    conv_geometry g;
    PCL_TRY(geometry(layer, x, y, &g));
    if (!impl->config.no_bias) PCL_TRY(bias_grad(layer, dy));
    cl_kernel gather;
    PCL_TRY(pcl_kernel_get(ctx, "conv2d.cl", options(impl), "gather_dy", &gather));
    cl_int P = (cl_int)g.P;
    for (size_t start = 0; start < (size_t)x->n; start += g.chunk) {
        cl_int n0 = (cl_int)start, nc = (cl_int)((size_t)x->n - start < g.chunk ? (size_t)x->n - start : g.chunk);
        size_t cols = (size_t)nc * g.P;
        PCL_TRY(pcl_kernel_set_args(gather, "gather_dy", 6, sizeof(cl_int), &g.O, sizeof P, &P, sizeof n0, &n0,
                                    sizeof nc, &nc, sizeof(cl_mem), &dy->mem, sizeof(cl_mem), &impl->t));
        size_t global[3] = {cols, (size_t)g.O, 1};
        PCL_TRY(pcl_kernel_launch(ctx, gather, "gather_dy", 2, global, NULL));
        PCL_TRY(im2col(layer, &g, x, n0, nc));
        /* dW (O x K) += T (O x cols) col^T (cols x K). */
        PCL_TRY(pcl_gemm(ctx, impl->config.backend, 0, 1, (size_t)g.O, g.K, cols, 1.0f, impl->t, 0, cols, impl->col,
                         0, cols, 1.0f, layer->grads[P_WEIGHT]->mem, 0, g.K));
        if (!dx) continue;
        /* dcol (K x cols) = W^T (K x O) T (O x cols), into the col scratch. */
        PCL_TRY(pcl_gemm(ctx, impl->config.backend, 1, 0, g.K, cols, (size_t)g.O, 1.0f,
                         layer->params[P_WEIGHT]->mem, 0, g.K, impl->t, 0, cols, 0.0f, impl->col, 0, cols));
        PCL_TRY(col2im(layer, &g, n0, nc, dx));
    }
    return PCL_OK;
}

static void destroy(pcl_layer *layer)
{
    conv_impl *impl = layer->impl;
    pcl_gemm_scratch_release(&impl->gemm);
    pcl_layer_destroy(impl->phases);
}

static const pcl_layer_ops ops = {output_shape, forward, backward, destroy};

const pcl_conv2d_config *pcl_conv2d_get_config(const pcl_layer *layer)
{
    return &((const conv_impl *)layer->impl)->config;
}

pcl_layer **pcl_conv2d_phase_layer_slot(pcl_layer *layer)
{
    return &((conv_impl *)layer->impl)->phases;
}

pcl_status pcl_conv2d_forward_relu(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y, int *fused)
{
    *fused = 0;
    if (layer->kind != PCL_LAYER_KIND_CONV2D || !use_direct(layer, 0)) return pcl_layer_forward(layer, x, y);
    PCL_TRY(pcl_layer_check_io(layer, x, y, "forward"));
    *fused = 1;
    return direct_forward(layer, x, y, 1);
}

pcl_status pcl_conv2d_create(pcl_context *context, const pcl_conv2d_config *config, pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_conv2d_create: layer is NULL");
    *layer = NULL;
    if (!config) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_conv2d_create: config is NULL");
    const pcl_conv2d_config *c = config;
    if (c->in_channels < 1 || c->out_channels < 1 || c->kernel_h < 1 || c->kernel_w < 1 || c->stride < 1 ||
        c->pad_h < 0 || c->pad_w < 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "pcl_conv2d_create: %d -> %d channels, kernel %dx%d, stride %d, padding %d, %d: each must be "
                        ">= 1 (padding >= 0)",
                        c->in_channels, c->out_channels, c->kernel_h, c->kernel_w, c->stride, c->pad_h, c->pad_w);
    if (c->padding != PCL_PADDING_ZERO && c->padding != PCL_PADDING_REPLICATE)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_conv2d_create: unknown padding %d", (int)c->padding);
    if (c->backend < PCL_GEMM_BACKEND_AUTO || c->backend > PCL_GEMM_BACKEND_CLBLAST)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_conv2d_create: unknown GEMM backend %d", (int)c->backend);
    PCL_TRY(pcl_layer_alloc(context, PCL_LAYER_KIND_CONV2D, &ops, sizeof(conv_impl), layer));
    pcl_layer *l = *layer;
    ((conv_impl *)l->impl)->config = *c;
    ((conv_impl *)l->impl)->gemm.shared = 1;
    pcl_status status = pcl_layer_add_param(l, "weight", c->out_channels, c->in_channels, c->kernel_h, c->kernel_w);
    if (status == PCL_OK && !c->no_bias) status = pcl_layer_add_param(l, "bias", 1, c->out_channels, 1, 1);
    if (status != PCL_OK) {
        pcl_layer_destroy(l);
        *layer = NULL;
    }
    return status;
}
