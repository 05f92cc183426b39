/* SGD with momentum, dampening, Nesterov and L2 weight decay, as documented
 * for torch.optim.SGD (kernels/optimizer.cl: sgd_step). */
#include "nn/optimizer_internal.h"

#include <math.h>
#include <stdio.h>

static pcl_status update(pcl_optimizer *optimizer, pcl_optimizer_entry *param, int zero_grad)
{
    const pcl_sgd_config *c = optimizer->config;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(optimizer->context, "optimizer.cl", NULL, "sgd_step", &kernel));
    cl_int n = (cl_int)pcl_tensor_count(param->value);
    cl_int use_momentum = c->momentum != 0.0, first = optimizer->steps == 1, nesterov = c->nesterov != 0;
    /* Without momentum the buffer argument is never read; pass the gradient. */
    cl_mem b = use_momentum ? param->state[0]->mem : param->grad->mem;
    cl_float lr = (cl_float)(optimizer->learning_rate * param->lr_multiplier);
    cl_float momentum = (cl_float)c->momentum, one_minus_dampening = (cl_float)(1.0 - c->dampening);
    cl_float weight_decay = (cl_float)c->weight_decay;
    cl_int clear = zero_grad != 0;
    PCL_TRY(pcl_kernel_set_args(kernel, "sgd_step", 12, sizeof n, &n, sizeof(cl_mem), &param->value->mem,
                                sizeof(cl_mem), &param->grad->mem, sizeof(cl_mem), &b, sizeof lr, &lr,
                                sizeof momentum, &momentum, sizeof one_minus_dampening, &one_minus_dampening, sizeof weight_decay,
                                &weight_decay, sizeof use_momentum, &use_momentum, sizeof first, &first,
                                sizeof nesterov, &nesterov, sizeof clear, &clear));
    size_t global = (size_t)n;
    return pcl_kernel_launch(optimizer->context, kernel, "sgd_step", 1, &global, NULL);
}

static pcl_status describe(const pcl_optimizer *optimizer, char *text, size_t capacity)
{
    const pcl_sgd_config *c = optimizer->config;
    snprintf(text, capacity, "lr=%.9g,momentum=%.9g,dampening=%.9g,weight_decay=%.9g,nesterov=%d",
             optimizer->learning_rate, c->momentum, c->dampening, c->weight_decay, c->nesterov != 0);
    return PCL_OK;
}

static const pcl_optimizer_ops ops = {update, describe};

pcl_sgd_config pcl_sgd_config_default(void)
{
    pcl_sgd_config c = {0.01, 0.0, 0.0, 0.0, 0};
    return c;
}

pcl_status pcl_sgd_create(pcl_context *context, const pcl_sgd_config *config, pcl_optimizer **optimizer)
{
    if (!optimizer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_sgd_create: optimizer is NULL");
    *optimizer = NULL;
    if (!context || !config) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_sgd_create: NULL argument");
    const pcl_sgd_config *c = config;
    if (!(c->learning_rate > 0.0) || !isfinite(c->learning_rate))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "sgd: learning rate %g, expected a finite value > 0",
                        c->learning_rate);
    if (!(c->momentum >= 0.0) || !isfinite(c->momentum))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "sgd: momentum %g, expected a finite value >= 0", c->momentum);
    if (!(c->dampening >= 0.0 && c->dampening <= 1.0))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "sgd: dampening %g, expected a value in [0, 1]", c->dampening);
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "sgd: weight decay %g, expected a finite value >= 0",
                        c->weight_decay);
    if (c->nesterov && (c->momentum <= 0.0 || c->dampening != 0.0))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "sgd: Nesterov momentum needs momentum > 0 and dampening 0 "
                        "(got %g and %g)", c->momentum, c->dampening);
    PCL_TRY(pcl_optimizer_alloc(context, PCL_OPTIMIZER_KIND_SGD, &ops, c->learning_rate, c, sizeof *c, optimizer));
    if (c->momentum != 0.0) {
        (*optimizer)->slot_count = 1;
        (*optimizer)->slot_names[0] = "momentum_buffer";
    }
    return PCL_OK;
}
