/* Adam with bias correction and L2 weight decay, as documented for
 * torch.optim.Adam (kernels/optimizer.cl: adam_step). */
#include "nn/optimizer_internal.h"

#include <math.h>
#include <stdio.h>

static pcl_status update(pcl_optimizer *optimizer, pcl_optimizer_entry *param, int zero_grad)
{
    const pcl_adam_config *c = optimizer->config;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(optimizer->context, "optimizer.cl", NULL, "adam_step", &kernel));
    cl_int n = (cl_int)pcl_tensor_count(param->value);
    /* The bias corrections in double, as PyTorch computes them in Python floats. */
    double t = (double)optimizer->steps;
    double lr = optimizer->learning_rate * param->lr_multiplier;
    cl_float step_size = (cl_float)(lr / (1.0 - pow(c->beta1, t)));
    cl_float bc2_sqrt = (cl_float)sqrt(1.0 - pow(c->beta2, t));
    cl_float beta1 = (cl_float)c->beta1, beta2 = (cl_float)c->beta2, epsilon = (cl_float)c->epsilon;
    cl_float one_minus_beta1 = (cl_float)(1.0 - c->beta1), one_minus_beta2 = (cl_float)(1.0 - c->beta2);
    cl_float weight_decay = (cl_float)c->weight_decay;
    cl_int clear = zero_grad != 0;
    PCL_TRY(pcl_kernel_set_args(kernel, "adam_step", 14, sizeof n, &n, sizeof(cl_mem), &param->value->mem,
                                sizeof(cl_mem), &param->grad->mem, sizeof(cl_mem), &param->state[0]->mem,
                                sizeof(cl_mem), &param->state[1]->mem, sizeof step_size, &step_size,
                                sizeof bc2_sqrt, &bc2_sqrt, sizeof beta1, &beta1, sizeof one_minus_beta1,
                                &one_minus_beta1,
                                sizeof beta2, &beta2, sizeof one_minus_beta2, &one_minus_beta2,
                                sizeof epsilon, &epsilon, sizeof weight_decay, &weight_decay, sizeof clear, &clear));
    size_t global = (size_t)n;
    return pcl_kernel_launch(optimizer->context, kernel, "adam_step", 1, &global, NULL);
}

static pcl_status describe(const pcl_optimizer *optimizer, char *text, size_t capacity)
{
    const pcl_adam_config *c = optimizer->config;
    snprintf(text, capacity, "lr=%.9g,beta1=%.9g,beta2=%.9g,eps=%.9g,weight_decay=%.9g", optimizer->learning_rate,
             c->beta1, c->beta2, c->epsilon, c->weight_decay);
    return PCL_OK;
}

static const pcl_optimizer_ops ops = {update, describe};

pcl_adam_config pcl_adam_config_default(void)
{
    pcl_adam_config c = {1e-3, 0.9, 0.999, 1e-8, 0.0};
    return c;
}

pcl_status pcl_adam_create(pcl_context *context, const pcl_adam_config *config, pcl_optimizer **optimizer)
{
    if (!optimizer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_adam_create: optimizer is NULL");
    *optimizer = NULL;
    if (!context || !config) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_adam_create: NULL argument");
    const pcl_adam_config *c = config;
    if (!(c->learning_rate > 0.0) || !isfinite(c->learning_rate))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "adam: learning rate %g, expected a finite value > 0",
                        c->learning_rate);
    if (!(c->beta1 >= 0.0 && c->beta1 < 1.0) || !(c->beta2 >= 0.0 && c->beta2 < 1.0))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "adam: betas (%g, %g), expected values in [0, 1)", c->beta1,
                        c->beta2);
    if (!(c->epsilon >= 0.0) || !isfinite(c->epsilon))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "adam: epsilon %g, expected a finite value >= 0", c->epsilon);
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "adam: weight decay %g, expected a finite value >= 0",
                        c->weight_decay);
    PCL_TRY(pcl_optimizer_alloc(context, PCL_OPTIMIZER_KIND_ADAM, &ops, c->learning_rate, c, sizeof *c, optimizer));
    (*optimizer)->slot_count = 2;
    (*optimizer)->slot_names[0] = "exp_avg";
    (*optimizer)->slot_names[1] = "exp_avg_sq";
    return PCL_OK;
}
