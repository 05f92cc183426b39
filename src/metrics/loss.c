/* Measures by kind (perceptcl/loss.h): MSE and MAE here (kernels/pixel_loss.cl),
 * SSIM and MS-SSIM delegated to an SSIM plan, MS-SSIM + L1 as both (an MS-SSIM
 * plan and the MAE kernels) combined by two small kernels. */
#include "perceptcl/loss.h"

#include "runtime/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 64

static const char *const kind_names[] = {"mse", "mae", "ssim", "msssim", "msssim-l1"};
enum { KIND_COUNT = sizeof kind_names / sizeof kind_names[0] };

static int kind_valid(pcl_loss_kind kind) { return (int)kind >= 0 && (int)kind < KIND_COUNT; }

pcl_status pcl_loss_kind_parse(const char *name, pcl_loss_kind *kind)
{
    if (!kind) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_kind_parse: kind pointer is NULL");
    for (int k = 0; name && k < KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k])) {
            *kind = (pcl_loss_kind)k;
            return PCL_OK;
        }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "unknown loss '%s' (mse, mae, ssim, msssim, msssim-l1)",
                    name ? name : "(null)");
}

const char *pcl_loss_kind_name(pcl_loss_kind kind) { return kind_valid(kind) ? kind_names[kind] : ""; }

int pcl_loss_kind_higher_is_better(pcl_loss_kind kind) { return kind == PCL_LOSS_KIND_SSIM || kind == PCL_LOSS_KIND_MSSSIM; }

int pcl_loss_kind_uses_ssim(pcl_loss_kind kind)
{
    return kind == PCL_LOSS_KIND_SSIM || kind == PCL_LOSS_KIND_MSSSIM || kind == PCL_LOSS_KIND_MSSSIM_L1;
}

double pcl_loss_kind_training_loss(pcl_loss_kind kind, double value)
{
    return pcl_loss_kind_higher_is_better(kind) ? 1.0 - value : value;
}

pcl_loss_options pcl_loss_options_default(void)
{
    pcl_loss_options o;
    o.ssim = pcl_ssim_options_default();
    o.msssim_l1_alpha = 0.84;
    return o;
}

struct pcl_loss {
    pcl_context *context;
    pcl_loss_kind kind;
    int batch, height, width;
    pcl_ssim *ssim;            /* ssim / msssim / msssim-l1 */
    cl_kernel k_value, k_grad; /* mse / mae / msssim-l1 (its MAE) */
    cl_kernel k_mix_value, k_mix_grad;
    cl_mem values;
    cl_mem mae; /* msssim-l1: the per-image MAE */
    float alpha, l1_weight, l1_scale; /* msssim-l1: alpha, (1 - alpha) / L, (1 - alpha) / (L P) */
    size_t local;
};

pcl_status pcl_loss_create(pcl_context *context, pcl_loss_kind kind, int batch, int height, int width,
                           const pcl_loss_options *options, pcl_loss **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: loss pointer is NULL");
    *out = NULL;
    if (!context) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: context is NULL");
    if (!kind_valid(kind))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: unknown loss kind %d (mse, mae, ssim, msssim, "
                        "msssim-l1)", (int)kind);
    const pcl_loss_options o = options ? *options : pcl_loss_options_default();
    const double alpha = o.msssim_l1_alpha;
    if (kind == PCL_LOSS_KIND_MSSSIM_L1 && !(alpha >= 0.0 && alpha <= 1.0))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: msssim-l1 alpha %g is not in [0, 1]", alpha);
    if (batch < 1 || height < 1 || width < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: batch %d, height %d, width %d must be >= 1",
                        batch, height, width);
    if ((size_t)batch * height * width > 0x7fffffff)
        return pcl_fail(PCL_ERR_TOO_LARGE, "pcl_loss_create: %d x %dx%d elements is too many", batch, width, height);
    pcl_loss *loss = calloc(1, sizeof *loss);
    if (!loss) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_loss_create: out of host memory");
    loss->context = context;
    loss->kind = kind;
    loss->batch = batch;
    loss->height = height;
    loss->width = width;
    pcl_status st = PCL_OK;
    if (pcl_loss_kind_uses_ssim(kind)) {
        pcl_ssim_options so = o.ssim;
        so.scales = kind == PCL_LOSS_KIND_SSIM ? 1 : 5;
        st = pcl_ssim_create(context, batch, height, width, &so, &loss->ssim);
        loss->alpha = (float)alpha;
        /* so.data_range > 0 once pcl_ssim_create succeeded */
        loss->l1_weight = (float)((1.0 - alpha) / so.data_range);
        loss->l1_scale = (float)((1.0 - alpha) / (so.data_range * height * width));
    }
    if (st == PCL_OK && kind != PCL_LOSS_KIND_SSIM && kind != PCL_LOSS_KIND_MSSSIM) {
        const char *opts = kind == PCL_LOSS_KIND_MSE ? "-DABS=0 -DLANES=64" : "-DABS=1 -DLANES=64";
        st = pcl_kernel_get(context, "pixel_loss.cl", opts, "pixel_loss_value", &loss->k_value);
        if (st == PCL_OK) st = pcl_kernel_get(context, "pixel_loss.cl", opts, "pixel_loss_grad", &loss->k_grad);
        if (st == PCL_OK && kind == PCL_LOSS_KIND_MSSSIM_L1) {
            st = pcl_kernel_get(context, "pixel_loss.cl", opts, "msssim_l1_value", &loss->k_mix_value);
            if (st == PCL_OK) st = pcl_kernel_get(context, "pixel_loss.cl", opts, "msssim_l1_grad", &loss->k_mix_grad);
            if (st == PCL_OK) st = pcl_buffer_create(context, sizeof(float) * (size_t)batch, &loss->mae);
        }
        if (st == PCL_OK) st = pcl_buffer_create(context, sizeof(float) * (size_t)batch, &loss->values);
        size_t limit = 1;
        if (st == PCL_OK) st = pcl_kernel_work_group_limit(context, loss->k_value, &limit);
        loss->local = limit < LANES ? limit : LANES;
    }
    if (st != PCL_OK) {
        pcl_loss_destroy(loss);
        return st;
    }
    *out = loss;
    return PCL_OK;
}

void pcl_loss_destroy(pcl_loss *loss)
{
    if (!loss) return;
    pcl_ssim_destroy(loss->ssim);
    if (loss->values) pcl_buffer_release(loss->values);
    if (loss->mae) pcl_buffer_release(loss->mae);
    free(loss);
}

/* Per-image mean of (y - x)^2 or |y - x| into out. */
static pcl_status pixel_values(pcl_loss *loss, cl_mem x, cl_mem y, cl_mem out)
{
    const int count = loss->height * loss->width;
    PCL_TRY(pcl_kernel_set_args(loss->k_value, "pixel_loss_value", 5, sizeof(cl_mem), &x, sizeof(cl_mem), &y,
                                sizeof(int), &count, sizeof(cl_mem), &out, sizeof(float) * LANES, NULL));
    size_t g = loss->local * (size_t)loss->batch, l = loss->local;
    return pcl_kernel_launch(loss->context, loss->k_value, "pixel_loss_value", 1, &g, &l);
}

/* d value / dy of MSE or MAE into grad. */
static pcl_status pixel_grad(pcl_loss *loss, cl_mem x, cl_mem y, cl_mem grad)
{
    const int count = loss->height * loss->width, total = count * loss->batch;
    const float scale = 1.0f / (float)count;
    PCL_TRY(pcl_kernel_set_args(loss->k_grad, "pixel_loss_grad", 5, sizeof(cl_mem), &x, sizeof(cl_mem), &y,
                                sizeof(int), &total, sizeof(float), &scale, sizeof(cl_mem), &grad));
    size_t gt = (size_t)total;
    return pcl_kernel_launch(loss->context, loss->k_grad, "pixel_loss_grad", 1, &gt, NULL);
}

/* alpha (1 - MS-SSIM) + (1 - alpha) MAE / L, and its gradient from MS-SSIM's in grad. */
static pcl_status run_msssim_l1(pcl_loss *loss, cl_mem x, cl_mem y, cl_mem grad)
{
    PCL_TRY(pcl_ssim_run(loss->ssim, x, y, NULL, grad));
    PCL_TRY(pixel_values(loss, x, y, loss->mae));
    cl_mem ms = pcl_ssim_values(loss->ssim);
    PCL_TRY(pcl_kernel_set_args(loss->k_mix_value, "msssim_l1_value", 6, sizeof(cl_mem), &ms, sizeof(cl_mem),
                                &loss->mae, sizeof(int), &loss->batch, sizeof(float), &loss->alpha, sizeof(float),
                                &loss->l1_weight, sizeof(cl_mem), &loss->values));
    size_t gb = (size_t)loss->batch;
    PCL_TRY(pcl_kernel_launch(loss->context, loss->k_mix_value, "msssim_l1_value", 1, &gb, NULL));
    if (!grad) return PCL_OK;
    const int total = loss->height * loss->width * loss->batch;
    PCL_TRY(pcl_kernel_set_args(loss->k_mix_grad, "msssim_l1_grad", 6, sizeof(cl_mem), &x, sizeof(cl_mem), &y,
                                sizeof(int), &total, sizeof(float), &loss->alpha, sizeof(float), &loss->l1_scale,
                                sizeof(cl_mem), &grad));
    size_t gt = (size_t)total;
    return pcl_kernel_launch(loss->context, loss->k_mix_grad, "msssim_l1_grad", 1, &gt, NULL);
}

pcl_status pcl_loss_run(pcl_loss *loss, cl_mem x, cl_mem y, float *values, cl_mem grad)
{
    if (!loss) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_run: loss is NULL");
    if (loss->kind == PCL_LOSS_KIND_SSIM || loss->kind == PCL_LOSS_KIND_MSSSIM)
        return pcl_ssim_run(loss->ssim, x, y, values, grad);
    if (!x || !y)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_run(%s): x or y is NULL", pcl_loss_kind_name(loss->kind));
    if (loss->kind == PCL_LOSS_KIND_MSSSIM_L1) {
        PCL_TRY(run_msssim_l1(loss, x, y, grad));
    } else {
        PCL_TRY(pixel_values(loss, x, y, loss->values));
        if (grad) PCL_TRY(pixel_grad(loss, x, y, grad));
    }
    if (values) PCL_TRY(pcl_buffer_read(loss->context, loss->values, 0, sizeof(float) * (size_t)loss->batch, values));
    return PCL_OK;
}

cl_mem pcl_loss_values(const pcl_loss *loss)
{
    if (!loss) return NULL;
    return loss->kind == PCL_LOSS_KIND_SSIM || loss->kind == PCL_LOSS_KIND_MSSSIM ? pcl_ssim_values(loss->ssim) : loss->values;
}

pcl_loss_kind pcl_loss_get_kind(const pcl_loss *loss) { return loss ? loss->kind : PCL_LOSS_KIND_MSE; }
