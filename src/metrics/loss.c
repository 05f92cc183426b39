/* Measures by name (perceptcl/loss.h): MSE and MAE here (kernels/pixel_loss.cl),
 * SSIM and MS-SSIM delegated to an SSIM plan. */
#include "perceptcl/loss.h"

#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>

#define LANES 64

struct pcl_loss {
    pcl_context *context;
    char name[8];
    int batch, height, width;
    pcl_ssim *ssim; /* ssim / msssim */
    cl_kernel k_value, k_grad;
    cl_mem values;
    size_t local;
};

pcl_status pcl_loss_create(pcl_context *context, const char *name, int batch, int height, int width,
                           const pcl_ssim_options *ssim_options, pcl_loss **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: loss pointer is NULL");
    *out = NULL;
    if (!context || !name) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: NULL context or name");
    const int is_ssim = !strcmp(name, "ssim"), is_ms = !strcmp(name, "msssim");
    const int is_mse = !strcmp(name, "mse"), is_mae = !strcmp(name, "mae");
    if (!is_ssim && !is_ms && !is_mse && !is_mae)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: unknown loss '%s' (mse, mae, ssim, msssim)", name);
    if (batch < 1 || height < 1 || width < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_create: batch %d, height %d, width %d must be >= 1",
                        batch, height, width);
    if ((size_t)batch * height * width > 0x7fffffff)
        return pcl_fail(PCL_ERR_TOO_LARGE, "pcl_loss_create: %d x %dx%d elements is too many", batch, width, height);
    pcl_loss *loss = calloc(1, sizeof *loss);
    if (!loss) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_loss_create: out of host memory");
    loss->context = context;
    strcpy(loss->name, name);
    loss->batch = batch;
    loss->height = height;
    loss->width = width;
    pcl_status st;
    if (is_ssim || is_ms) {
        pcl_ssim_options o = ssim_options ? *ssim_options : pcl_ssim_options_default();
        o.scales = is_ms ? 5 : 1;
        st = pcl_ssim_create(context, batch, height, width, &o, &loss->ssim);
    } else {
        const char *opts = is_mae ? "-DABS=1 -DLANES=64" : "-DABS=0 -DLANES=64";
        st = pcl_kernel_get(context, "pixel_loss.cl", opts, "pixel_loss_value", &loss->k_value);
        if (st == PCL_OK) st = pcl_kernel_get(context, "pixel_loss.cl", opts, "pixel_loss_grad", &loss->k_grad);
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
    free(loss);
}

pcl_status pcl_loss_run(pcl_loss *loss, cl_mem x, cl_mem y, float *values, cl_mem grad)
{
    if (!loss) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_run: loss is NULL");
    if (loss->ssim) return pcl_ssim_run(loss->ssim, x, y, values, grad);
    if (!x || !y) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_run(%s): x or y is NULL", loss->name);
    const int count = loss->height * loss->width, total = count * loss->batch;
    PCL_TRY(pcl_kernel_set_args(loss->k_value, "pixel_loss_value", 5, sizeof(cl_mem), &x, sizeof(cl_mem), &y,
                                sizeof(int), &count, sizeof(cl_mem), &loss->values, sizeof(float) * LANES, NULL));
    size_t g = loss->local * (size_t)loss->batch, l = loss->local;
    PCL_TRY(pcl_kernel_launch(loss->context, loss->k_value, "pixel_loss_value", 1, &g, &l));
    if (grad) {
        const float scale = 1.0f / (float)count;
        PCL_TRY(pcl_kernel_set_args(loss->k_grad, "pixel_loss_grad", 5, sizeof(cl_mem), &x, sizeof(cl_mem), &y,
                                    sizeof(int), &total, sizeof(float), &scale, sizeof(cl_mem), &grad));
        size_t gt = (size_t)total;
        PCL_TRY(pcl_kernel_launch(loss->context, loss->k_grad, "pixel_loss_grad", 1, &gt, NULL));
    }
    if (values) PCL_TRY(pcl_buffer_read(loss->context, loss->values, 0, sizeof(float) * (size_t)loss->batch, values));
    return PCL_OK;
}

cl_mem pcl_loss_values(const pcl_loss *loss)
{
    if (!loss) return NULL;
    return loss->ssim ? pcl_ssim_values(loss->ssim) : loss->values;
}

int pcl_loss_higher_is_better(const pcl_loss *loss) { return loss && loss->ssim != NULL; }

const char *pcl_loss_name(const pcl_loss *loss) { return loss ? loss->name : ""; }
