/* SSIM / MS-SSIM plans: level table, buffers and the launch sequence of
 * kernels/ssim.cl (see its header comment for what each kernel does). */
#include "perceptcl/ssim.h"

#include "runtime/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Must match kernels/ssim.cl. */
enum {
    LV_STRIDE = 16,
    LV_H = 0,
    LV_W,
    LV_MH,
    LV_MW,
    LV_NSF,
    LV_NSB,
    LV_PW,
    LV_PH,
    LV_POFF,
    LV_CW,
    LV_CH,
    LV_COFF,
    LV_GW,
    LV_GOFF,
    LV_SOFF
};

#define MAX_SCALES 5

static const double standard_beta[MAX_SCALES] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};

struct pcl_ssim {
    pcl_context *context;
    pcl_ssim_options options;
    int batch, height, width, scales;
    int table[MAX_SCALES * LV_STRIDE];
    size_t image_stride; /* scratch floats per image */
    size_t slot_stride;  /* slot floats per work-group */
    int slots;           /* work-groups */
    float beta[MAX_SCALES];
    float c1, c2;
    cl_mem lv, scratch, slot, terms, values, factor;
    cl_kernel k_fused;
    int phased; /* the per-step kernels instead of k_fused (small batches) */
    cl_kernel k_prep, k_forward, k_reduce, k_backward;
    size_t local;
    size_t local_prep; /* ssim_step_prep's: its own CL_KERNEL_WORK_GROUP_SIZE may be smaller */
};

pcl_ssim_options pcl_ssim_options_default(void)
{
    pcl_ssim_options o;
    o.mode = PCL_SSIM_MODE_VALID;
    o.data_range = 1.0;
    o.scales = 1;
    o.weights = PCL_SSIM_WEIGHTS_STANDARD;
    return o;
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* Build options: mode, and the window computed in double. */
static void build_options(char *out, size_t size, int same, int one_div)
{
    double g[6], sum = 0.0;
    for (int k = -5; k <= 5; k++) sum += exp(-(double)(k * k) / (2.0 * 1.5 * 1.5));
    for (int k = 0; k <= 5; k++) g[k] = exp(-(double)(k * k) / (2.0 * 1.5 * 1.5)) / sum;
    double cm[6]; /* cm[m] = sum_{u=-5}^{-m} g(u) */
    for (int m = 0; m <= 5; m++) {
        cm[m] = 0.0;
        for (int u = m; u <= 5; u++) cm[m] += g[u];
    }
    snprintf(out, size,
             "-DSAME=%d -DONE_DIV=%d -DG0=%.9ef -DG1=%.9ef -DG2=%.9ef -DG3=%.9ef -DG4=%.9ef -DG5=%.9ef "
             "-DCM0=%.9ef -DCM1=%.9ef -DCM2=%.9ef -DCM3=%.9ef -DCM4=%.9ef -DCM5=%.9ef",
             same, one_div, g[0], g[1], g[2], g[3], g[4], g[5], cm[0], cm[1], cm[2], cm[3], cm[4], cm[5]);
}

static size_t local_size(pcl_context *context, cl_kernel kernel, size_t want, size_t *out)
{
    size_t limit = 1;
    if (pcl_kernel_work_group_limit(context, kernel, &limit) != PCL_OK) limit = 1;
    *out = want < limit ? want : limit;
    return *out;
}

void pcl_ssim_destroy(pcl_ssim *plan)
{
    if (!plan) return;
    cl_mem *bufs[] = {&plan->lv, &plan->scratch, &plan->slot, &plan->terms, &plan->values, &plan->factor};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (*bufs[i]) pcl_buffer_release(*bufs[i]);
    free(plan); /* kernels belong to the context */
}

static pcl_status create_buffer(pcl_context *context, size_t elems, cl_mem *out)
{
    return pcl_buffer_create(context, (elems ? elems : 1) * sizeof(float), out);
}

pcl_status pcl_ssim_create(pcl_context *context, int batch, int height, int width, const pcl_ssim_options *options,
                           pcl_ssim **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_create: plan pointer is NULL");
    *out = NULL;
    if (!context) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_create: context is NULL");
    pcl_ssim_options o = options ? *options : pcl_ssim_options_default();
    if (batch < 1 || height < 1 || width < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_create: batch %d, height %d, width %d must be >= 1",
                        batch, height, width);
    if (o.mode != PCL_SSIM_MODE_VALID && o.mode != PCL_SSIM_MODE_SAME)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_create: unknown mode %d", (int)o.mode);
    if (!(o.data_range > 0.0) || !isfinite(o.data_range))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_create: data range %g must be a positive number",
                        o.data_range);
    if (o.scales != 1 && o.scales != 5)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_create: scales %d: 1 (SSIM) or 5 (MS-SSIM)", o.scales);
    if (o.weights != PCL_SSIM_WEIGHTS_STANDARD && o.weights != PCL_SSIM_WEIGHTS_EQUAL)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_create: unknown weights %d", (int)o.weights);

    int hs[MAX_SCALES], ws[MAX_SCALES];
    hs[0] = height;
    ws[0] = width;
    for (int j = 1; j < o.scales; j++) {
        hs[j] = (hs[j - 1] + 1) / 2;
        ws[j] = (ws[j - 1] + 1) / 2;
    }
    if (o.mode == PCL_SSIM_MODE_VALID && (hs[o.scales - 1] < 11 || ws[o.scales - 1] < 11)) {
        char sizes[160] = "";
        for (int j = 0; j < o.scales; j++) {
            size_t len = strlen(sizes);
            snprintf(sizes + len, sizeof sizes - len, "%s%dx%d", j ? ", " : "", ws[j], hs[j]);
        }
        if (o.scales == 1)
            return pcl_fail(PCL_ERR_UNDEFINED,
                            "SSIM in valid mode is undefined for a %dx%d image (width x height): the 11x11 window "
                            "needs both sides >= 11; use same mode",
                            width, height);
        return pcl_fail(PCL_ERR_UNDEFINED,
                        "MS-SSIM in valid mode is undefined for a %dx%d image (width x height): pyramid levels %s, "
                        "every level must be at least 11x11 (shorter side >= 161); use same mode",
                        width, height, sizes);
    }

    pcl_ssim *plan = calloc(1, sizeof *plan);
    if (!plan) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_ssim_create: out of host memory");
    plan->context = context;
    plan->options = o;
    plan->batch = batch;
    plan->height = height;
    plan->width = width;
    plan->scales = o.scales;
    const int same = o.mode == PCL_SSIM_MODE_SAME, off = same ? 5 : 0;
    /* Scratch (kernels/ssim.cl), in two regions. Per image: two offsets, the
     * padded x', y' of levels >= 2 (pcl_ssim_read_level reads them later).
     * Per slot (one per work-group, reused image after image so it stays in
     * cache): the padded level 1, the coefficient planes a', b, c inside a
     * zero border, the level gradients and the strip sums. Strides leave room
     * for whole 16-wide strips, so the kernel needs no bounds checks; every
     * block starts on 16 floats. */
    size_t at_image = 16, at_slot = 0;
#define TAKE(field, at, floats)                          \
    do {                                                 \
        L[field] = (int)(at);                            \
        (at) += ((size_t)(floats) + 15) / 16 * 16;       \
    } while (0)
    for (int j = 0; j < o.scales; j++) {
        int *L = plan->table + j * LV_STRIDE;
        L[LV_H] = hs[j];
        L[LV_W] = ws[j];
        L[LV_MH] = same ? hs[j] : hs[j] - 10;
        L[LV_MW] = same ? ws[j] : ws[j] - 10;
        L[LV_NSF] = ceil_div(L[LV_MW], 16);
        L[LV_NSB] = ceil_div(ws[j], 16);
        const int next = j + 1 < o.scales ? 2 * ceil_div(ws[j + 1], 16) : 0;
        int widest = L[LV_NSF] > L[LV_NSB] ? L[LV_NSF] : L[LV_NSB];
        widest = widest > next ? widest : next;
        L[LV_PW] = 16 * (widest + 3); /* 16 columns of left padding, strips read 48 columns */
        L[LV_PH] = hs[j] + 2 * off + 1; /* one more row: the 2x2 mean of an odd height */
        if (j == 0)
            TAKE(LV_POFF, at_slot, 2 * (size_t)L[LV_PH] * L[LV_PW]);
        else
            TAKE(LV_POFF, at_image, 2 * (size_t)L[LV_PH] * L[LV_PW]);
        L[LV_CW] = 16 * (widest + 2); /* map column i at i + 16; the backward reads 48 columns per strip */
        L[LV_CH] = L[LV_MH] + 20;
        TAKE(LV_COFF, at_slot, 3 * (size_t)L[LV_CH] * L[LV_CW]);
        L[LV_GW] = 16 * L[LV_NSB];
        if (j > 0) TAKE(LV_GOFF, at_slot, (size_t)hs[j] * L[LV_GW]);
        TAKE(LV_SOFF, at_slot, 3 * (size_t)L[LV_NSF]);
        plan->beta[j] = o.scales == 1 ? 1.0f
                        : o.weights == PCL_SSIM_WEIGHTS_EQUAL ? 1.0f
                                                              : (float)standard_beta[j];
        if (at_slot > (size_t)0x7fffffff || at_image > (size_t)0x7fffffff) break; /* refused below */
    }
#undef TAKE
    for (int j = o.scales; j < MAX_SCALES; j++) plan->beta[j] = 1.0f;
    const pcl_device_info *info = pcl_context_device(context);
    /* CPU: a few work-groups per compute unit, each looping over images;
     * elsewhere one work-group (and slot) per image. */
    plan->slots = batch;
    if (info->type == PCL_DEVICE_TYPE_CPU) {
        const int units = (int)(info->compute_units ? info->compute_units : 1), most = 4 * units;
        plan->slots = batch < most ? batch : most;
        /* Fewer images than twice the compute units, each of 256x256 or more
         * (~0.5 ms of work): one launch per step, strips spread over
         * work-groups, so that one image uses every core; below that size the
         * extra launches (~10 us each on PoCL) cost more than they share. */
        plan->phased = batch < 2 * units && (long)height * width >= 256 * 256;
        if (plan->phased) plan->slots = batch;
    }
    /* PERCEPTCL_SSIM_SCHEDULE=phased or fused overrides the choice (tests run
     * both schedules on any device; results are bit-identical). */
    const char *schedule = getenv("PERCEPTCL_SSIM_SCHEDULE");
    if (schedule && !strcmp(schedule, "phased")) plan->phased = 1, plan->slots = batch;
    if (schedule && !strcmp(schedule, "fused")) plan->phased = 0;
    plan->image_stride = at_image;
    plan->slot_stride = at_slot;
    if (at_slot > (size_t)0x7fffffff || at_image > (size_t)0x7fffffff || (uint64_t)at_image * batch * sizeof(float) > info->max_allocation ||
        (uint64_t)at_slot * plan->slots * sizeof(float) > info->max_allocation) {
        pcl_ssim_destroy(plan);
        return pcl_fail(PCL_ERR_TOO_LARGE,
                        "pcl_ssim_create: batch %d of %dx%d needs %.0f MB of scratch in one buffer, over the "
                        "device's largest buffer (%.0f MB)",
                        batch, width, height,
                        (double)(at_slot * plan->slots > at_image * batch ? at_slot * plan->slots
                                                                          : at_image * batch) *
                            sizeof(float) / 1e6,
                        (double)info->max_allocation / 1e6);
    }
    plan->c1 = (float)((0.01 * o.data_range) * (0.01 * o.data_range));
    plan->c2 = (float)((0.03 * o.data_range) * (0.03 * o.data_range));

    pcl_status st = PCL_OK;
#define TRY_OR_CLEAN(call)                \
    do {                                  \
        st = (call);                      \
        if (st != PCL_OK) goto fail;      \
    } while (0)
    TRY_OR_CLEAN(create_buffer(context, (size_t)o.scales * LV_STRIDE, &plan->lv));
    TRY_OR_CLEAN(pcl_buffer_write(context, plan->lv, 0, sizeof(int) * o.scales * LV_STRIDE, plan->table));
    TRY_OR_CLEAN(create_buffer(context, at_image * batch, &plan->scratch));
    TRY_OR_CLEAN(create_buffer(context, at_slot * plan->slots, &plan->slot));
    /* The zero borders of the coefficient planes are never written again. */
    TRY_OR_CLEAN(pcl_buffer_fill_zero(context, plan->slot, 0, sizeof(float) * at_slot * plan->slots));
    TRY_OR_CLEAN(create_buffer(context, (size_t)batch * o.scales * 3, &plan->terms));
    TRY_OR_CLEAN(create_buffer(context, (size_t)batch, &plan->values));
    TRY_OR_CLEAN(create_buffer(context, (size_t)batch * o.scales, &plan->factor));

    char opts[512];
    /* One division per map position computes 1 / (B1 B2), B1 B2 >= 9e-8 L^4:
     * a normal float, without overflow for data near the range, when
     * 1e-6 <= L <= 1e4. */
    build_options(opts, sizeof opts, same, o.data_range >= 1e-6 && o.data_range <= 1e4);
    TRY_OR_CLEAN(pcl_kernel_get(context, "ssim.cl", opts, "ssim_fused", &plan->k_fused));
    if (plan->phased) {
        TRY_OR_CLEAN(pcl_kernel_get(context, "ssim.cl", opts, "ssim_step_prep", &plan->k_prep));
        TRY_OR_CLEAN(pcl_kernel_get(context, "ssim.cl", opts, "ssim_step_forward", &plan->k_forward));
        TRY_OR_CLEAN(pcl_kernel_get(context, "ssim.cl", opts, "ssim_step_reduce", &plan->k_reduce));
        TRY_OR_CLEAN(pcl_kernel_get(context, "ssim.cl", opts, "ssim_step_backward", &plan->k_backward));
    }
    /* One work-item per work-group on a CPU: each strip is already 16 lanes
     * wide, and PoCL's work-item loops around barriers cost more than they
     * share (W1 7,600 against 4,400 images/s with 8). Elsewhere one work-item
     * per strip of the widest level. */
    size_t want = 1;
    if (info->type != PCL_DEVICE_TYPE_CPU) want = (size_t)plan->table[LV_NSB] < 64 ? (size_t)plan->table[LV_NSB] : 64;
    local_size(context, plan->k_fused, want, &plan->local);
    if (plan->phased) local_size(context, plan->k_prep, plan->local, &plan->local_prep);
#undef TRY_OR_CLEAN
    *out = plan;
    return PCL_OK;
fail:
    pcl_ssim_destroy(plan);
    return st;
}

cl_mem pcl_ssim_values(const pcl_ssim *plan) { return plan ? plan->values : NULL; }

static pcl_status check_buffer(cl_mem buffer, size_t bytes, const char *what)
{
    if (!buffer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_run: %s buffer is NULL", what);
    size_t size = 0;
    PCL_CL_CHECK(clGetMemObjectInfo(buffer, CL_MEM_SIZE, sizeof size, &size, NULL), "clGetMemObjectInfo(CL_MEM_SIZE)");
    if (size < bytes)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_run: %s buffer holds %zu bytes, the plan needs %zu", what,
                        size, bytes);
    return PCL_OK;
}

/* The fused kernel: forward, reduce, and the gradient when grad is not NULL;
 * dbg receives the level-1 maps when not NULL. */
/* The same steps as separate launches (kernels/ssim.cl, ssim_step_*). */
static pcl_status run_phased(pcl_ssim *p, cl_mem x, cl_mem y, cl_mem grad, cl_mem dbg)
{
    pcl_context *ctx = p->context;
    const int M = p->scales, istride = (int)p->image_stride, sstride = (int)p->slot_stride, want = grad != NULL;
    const size_t one[2] = {1, 1};
    PCL_TRY(pcl_kernel_set_args(p->k_prep, "ssim_step_prep", 8, sizeof(cl_mem), &x, sizeof(cl_mem), &y,
                                sizeof(cl_mem), &p->scratch, sizeof(cl_mem), &p->slot, sizeof(cl_mem), &p->lv,
                                sizeof(int), &M, sizeof(int), &istride, sizeof(int), &sstride));
    size_t g = p->local_prep * (size_t)p->batch, l = p->local_prep;
    PCL_TRY(pcl_kernel_launch(ctx, p->k_prep, "ssim_step_prep", 1, &g, &l));
    size_t strips = 0;
    for (int j = 0; j < M; j++) strips += (size_t)p->table[j * LV_STRIDE + LV_NSF];
    PCL_TRY(pcl_kernel_set_args(p->k_forward, "ssim_step_forward", 11, sizeof(cl_mem), &p->scratch, sizeof(cl_mem),
                                &p->slot, sizeof(cl_mem), &p->lv, sizeof(int), &M, sizeof(int), &p->batch,
                                sizeof(int), &istride, sizeof(int), &sstride, sizeof(float), &p->c1, sizeof(float),
                                &p->c2, sizeof(int), &want, sizeof(cl_mem), &dbg));
    size_t g2[2] = {strips, (size_t)p->batch};
    PCL_TRY(pcl_kernel_launch(ctx, p->k_forward, "ssim_step_forward", 2, g2, one));
    PCL_TRY(pcl_kernel_set_args(p->k_reduce, "ssim_step_reduce", 13, sizeof(cl_mem), &p->slot, sizeof(cl_mem),
                                &p->lv, sizeof(int), &M, sizeof(int), &p->batch, sizeof(int), &sstride,
                                sizeof(float), &p->beta[0], sizeof(float), &p->beta[1], sizeof(float), &p->beta[2],
                                sizeof(float), &p->beta[3], sizeof(float), &p->beta[4], sizeof(cl_mem), &p->terms,
                                sizeof(cl_mem), &p->values, sizeof(cl_mem), &p->factor));
    size_t g1 = (size_t)p->batch;
    PCL_TRY(pcl_kernel_launch(ctx, p->k_reduce, "ssim_step_reduce", 1, &g1, one));
    if (!want) return PCL_OK;
    for (int j = M - 1; j >= 0; j--) {
        PCL_TRY(pcl_kernel_set_args(p->k_backward, "ssim_step_backward", 10, sizeof(cl_mem), &p->scratch,
                                    sizeof(cl_mem), &p->slot, sizeof(cl_mem), &p->lv, sizeof(int), &M, sizeof(int),
                                    &j, sizeof(int), &p->batch, sizeof(int), &istride, sizeof(int), &sstride,
                                    sizeof(cl_mem), &p->factor, sizeof(cl_mem), &grad));
        size_t g3[2] = {(size_t)p->table[j * LV_STRIDE + LV_NSB], (size_t)p->batch};
        PCL_TRY(pcl_kernel_launch(ctx, p->k_backward, "ssim_step_backward", 2, g3, one));
    }
    return PCL_OK;
}

static pcl_status run_fused(pcl_ssim *p, cl_mem x, cl_mem y, cl_mem grad, cl_mem dbg)
{
    if (p->phased) return run_phased(p, x, y, grad, dbg);
    const int M = p->scales, istride = (int)p->image_stride, sstride = (int)p->slot_stride, want = grad != NULL;
    PCL_TRY(pcl_kernel_set_args(p->k_fused, "ssim_fused", 22, sizeof(cl_mem), &x, sizeof(cl_mem), &y,
                                sizeof(cl_mem), &p->scratch, sizeof(cl_mem), &p->slot, sizeof(cl_mem), &p->lv,
                                sizeof(int), &M, sizeof(int), &p->batch, sizeof(int), &istride, sizeof(int),
                                &sstride, sizeof(float), &p->c1, sizeof(float), &p->c2, sizeof(float), &p->beta[0],
                                sizeof(float), &p->beta[1], sizeof(float), &p->beta[2], sizeof(float), &p->beta[3],
                                sizeof(float), &p->beta[4], sizeof(int), &want, sizeof(cl_mem), &p->terms,
                                sizeof(cl_mem), &p->values, sizeof(cl_mem), &p->factor, sizeof(cl_mem), &grad,
                                sizeof(cl_mem), &dbg));
    size_t g = p->local * (size_t)p->slots, l = p->local;
    return pcl_kernel_launch(p->context, p->k_fused, "ssim_fused", 1, &g, &l);
}

pcl_status pcl_ssim_run(pcl_ssim *p, cl_mem x, cl_mem y, float *values, cl_mem grad)
{
    if (!p) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_run: plan is NULL");
    const size_t bytes = sizeof(float) * (size_t)p->batch * p->height * p->width;
    PCL_TRY(check_buffer(x, bytes, "x"));
    PCL_TRY(check_buffer(y, bytes, "y"));
    if (grad) PCL_TRY(check_buffer(grad, bytes, "grad"));
    PCL_TRY(run_fused(p, x, y, grad, NULL));
    if (values) PCL_TRY(pcl_buffer_read(p->context, p->values, 0, sizeof(float) * (size_t)p->batch, values));
    return PCL_OK;
}

pcl_status pcl_ssim_scales(pcl_ssim *p, int image, pcl_ssim_scale *scales)
{
    if (!p || !scales) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_scales: NULL argument");
    if (image < 0 || image >= p->batch)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_scales: image %d outside the batch of %d", image,
                        p->batch);
    float t[MAX_SCALES * 3];
    PCL_TRY(pcl_buffer_read(p->context, p->terms, sizeof(float) * (size_t)image * p->scales * 3,
                            sizeof(float) * (size_t)p->scales * 3, t));
    for (int j = 0; j < p->scales; j++) {
        const int *L = p->table + j * LV_STRIDE;
        scales[j].level = j + 1;
        scales[j].height = L[LV_H];
        scales[j].width = L[LV_W];
        scales[j].map_height = L[LV_MH];
        scales[j].map_width = L[LV_MW];
        scales[j].cs = t[j * 3];
        scales[j].luminance = t[j * 3 + 1];
        scales[j].ssim = t[j * 3 + 2];
    }
    return PCL_OK;
}

pcl_status pcl_ssim_level_size(const pcl_ssim *p, int level, int *height, int *width)
{
    if (!p || level < 1 || level > p->scales)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_level_size: level %d outside 1..%d", level,
                        p ? p->scales : 0);
    if (height) *height = p->table[(level - 1) * LV_STRIDE + LV_H];
    if (width) *width = p->table[(level - 1) * LV_STRIDE + LV_W];
    return PCL_OK;
}

pcl_status pcl_ssim_read_level(pcl_ssim *p, int level, int image, float *x_out, float *y_out)
{
    if (!p || level < 2 || level > p->scales || image < 0 || image >= p->batch)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_read_level: level %d (2..%d), image %d (0..%d)", level,
                        p ? p->scales : 0, image, p ? p->batch - 1 : 0);
    /* The scratch holds x - ox, y - oy, padded (kernels/ssim.cl). */
    const int *L = p->table + (level - 1) * LV_STRIDE;
    const int h = L[LV_H], w = L[LV_W], pw = L[LV_PW], ph = L[LV_PH];
    const int off = p->options.mode == PCL_SSIM_MODE_SAME ? 5 : 0;
    const size_t base = p->image_stride * (size_t)image;
    float o[2];
    PCL_TRY(pcl_buffer_read(p->context, p->scratch, sizeof(float) * base, sizeof o, o));
    float *buf = malloc(sizeof(float) * (size_t)ph * pw);
    if (!buf) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_ssim_read_level: out of host memory");
    pcl_status st = PCL_OK;
    for (int q = 0; q < 2 && st == PCL_OK; q++) {
        float *dst = q ? y_out : x_out;
        if (!dst) continue;
        st = pcl_buffer_read(p->context, p->scratch, sizeof(float) * (base + L[LV_POFF] + (size_t)q * ph * pw),
                             sizeof(float) * (size_t)ph * pw, buf);
        for (int r = 0; r < h && st == PCL_OK; r++)
            for (int c = 0; c < w; c++) dst[(size_t)r * w + c] = buf[(size_t)(r + off) * pw + c + 16] + o[q];
    }
    free(buf);
    return st;
}

pcl_status pcl_ssim_maps(pcl_ssim *p, cl_mem x, cl_mem y, cl_mem ssim_map, cl_mem stats)
{
    if (!p) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_ssim_maps: plan is NULL");
    const size_t bytes = sizeof(float) * (size_t)p->batch * p->height * p->width;
    PCL_TRY(check_buffer(x, bytes, "x"));
    PCL_TRY(check_buffer(y, bytes, "y"));
    const size_t plane = (size_t)p->table[LV_MH] * p->table[LV_MW];
    if (ssim_map) PCL_TRY(check_buffer(ssim_map, sizeof(float) * plane * p->batch, "ssim_map"));
    if (stats) PCL_TRY(check_buffer(stats, sizeof(float) * plane * 5 * p->batch, "stats"));
    cl_mem dbg;
    PCL_TRY(create_buffer(p->context, plane * 6 * p->batch, &dbg));
    pcl_status st = run_fused(p, x, y, NULL, dbg);
    cl_command_queue q = pcl_context_queue(p->context);
    for (int n = 0; n < p->batch && st == PCL_OK; n++) {
        cl_int e = CL_SUCCESS;
        if (ssim_map)
            e = clEnqueueCopyBuffer(q, dbg, ssim_map, sizeof(float) * plane * 6 * n, sizeof(float) * plane * n,
                                    sizeof(float) * plane, 0, NULL, NULL);
        if (e == CL_SUCCESS && stats)
            e = clEnqueueCopyBuffer(q, dbg, stats, sizeof(float) * plane * (6 * n + 1), sizeof(float) * plane * 5 * n,
                                    sizeof(float) * plane * 5, 0, NULL, NULL);
        if (e != CL_SUCCESS) st = pcl_fail_cl(e, "clEnqueueCopyBuffer(ssim maps)");
    }
    if (st == PCL_OK) st = pcl_context_finish(p->context);
    pcl_buffer_release(dbg);
    return st;
}
