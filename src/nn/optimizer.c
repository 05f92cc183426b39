/* What every optimizer kind shares: parameter registration, state tensors,
 * the step loop and accessors (the update rules are in src/optimizer_*.c). */
#include "nn/optimizer_internal.h"

#include "nn/layer_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

pcl_status pcl_optimizer_alloc(pcl_context *context, pcl_optimizer_kind kind, const pcl_optimizer_ops *ops,
                               double learning_rate, const void *config, size_t config_size,
                               pcl_optimizer **optimizer)
{
    pcl_optimizer *o = calloc(1, sizeof *o);
    void *copy = malloc(config_size);
    if (!o || !copy) {
        free(o);
        free(copy);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "optimizer: out of memory");
    }
    memcpy(copy, config, config_size);
    o->kind = kind;
    o->ops = ops;
    o->context = context;
    o->learning_rate = learning_rate;
    o->config = copy;
    *optimizer = o;
    return PCL_OK;
}

void pcl_optimizer_destroy(pcl_optimizer *optimizer)
{
    if (!optimizer) return;
    for (int i = 0; i < optimizer->count; i++) {
        pcl_optimizer_entry *p = &optimizer->params[i];
        for (int s = 0; s < PCL_OPTIMIZER_MAX_SLOTS; s++) pcl_tensor_destroy(p->state[s]);
        free(p->name);
    }
    free(optimizer->params);
    free(optimizer->config);
    free(optimizer);
}

pcl_optimizer_kind pcl_optimizer_get_kind(const pcl_optimizer *optimizer) { return optimizer->kind; }

const char *pcl_optimizer_kind_name(pcl_optimizer_kind kind)
{
    switch (kind) {
    case PCL_OPTIMIZER_KIND_SGD: return "sgd";
    case PCL_OPTIMIZER_KIND_ADAM: return "adam";
    }
    return "unknown";
}

pcl_status pcl_optimizer_kind_parse(const char *text, pcl_optimizer_kind *kind)
{
    if (text && kind) {
        if (!strcasecmp(text, "sgd")) { *kind = PCL_OPTIMIZER_KIND_SGD; return PCL_OK; }
        if (!strcasecmp(text, "adam")) { *kind = PCL_OPTIMIZER_KIND_ADAM; return PCL_OK; }
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "unknown optimizer '%s': expected sgd or adam", text ? text : "(null)");
}

pcl_status pcl_optimizer_add(pcl_optimizer *optimizer, pcl_tensor *value, pcl_tensor *grad, const char *name,
                             double lr_multiplier)
{
    if (!optimizer || !value || !grad || !name || !*name)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add: NULL or empty argument");
    if (optimizer->steps > 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add: '%s' added after step %llu (state would differ "
                        "from a fresh run)", name, (unsigned long long)optimizer->steps);
    if (!(lr_multiplier >= 0.0) || !isfinite(lr_multiplier))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add: '%s': learning-rate multiplier %g, expected a "
                        "finite value >= 0", name, lr_multiplier);
    if (pcl_tensor_count(value) != pcl_tensor_count(grad))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add: '%s': value has %zu elements, gradient %zu",
                        name, pcl_tensor_count(value), pcl_tensor_count(grad));
    if (pcl_tensor_count(value) > (size_t)INT32_MAX)
        return pcl_fail(PCL_ERR_TOO_LARGE, "pcl_optimizer_add: '%s': %zu elements, at most %d", name,
                        pcl_tensor_count(value), INT32_MAX);
    for (int i = 0; i < optimizer->count; i++) {
        if (!strcmp(optimizer->params[i].name, name))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add: name '%s' already registered", name);
        if (optimizer->params[i].value == value)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add: '%s' is the tensor already registered as "
                            "'%s'", name, optimizer->params[i].name);
    }
    if (optimizer->count == optimizer->capacity) {
        int capacity = optimizer->capacity ? 2 * optimizer->capacity : 16;
        pcl_optimizer_entry *grown = realloc(optimizer->params, (size_t)capacity * sizeof *grown);
        if (!grown) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_optimizer_add: out of memory");
        optimizer->params = grown;
        optimizer->capacity = capacity;
    }
    pcl_optimizer_entry p = {value, grad, strdup(name), lr_multiplier, {NULL, NULL}};
    if (!p.name) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_optimizer_add: out of memory");
    pcl_status status = PCL_OK;
    for (int s = 0; s < optimizer->slot_count && status == PCL_OK; s++) {
        status = pcl_tensor_create(optimizer->context, value->n, value->c, value->h, value->w, &p.state[s]);
        if (status == PCL_OK) status = pcl_tensor_fill(p.state[s], 0.0f);
    }
    if (status != PCL_OK) {
        for (int s = 0; s < PCL_OPTIMIZER_MAX_SLOTS; s++) pcl_tensor_destroy(p.state[s]);
        free(p.name);
        return status;
    }
    optimizer->params[optimizer->count++] = p;
    return PCL_OK;
}

pcl_status pcl_optimizer_add_layer(pcl_optimizer *optimizer, pcl_layer *layer, const char *prefix,
                                   double lr_multiplier)
{
    if (!optimizer || !layer || !prefix)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add_layer: NULL argument");
    for (int i = 0; i < pcl_layer_param_count(layer); i++) {
        pcl_tensor *value, *grad;
        const char *pname;
        PCL_TRY(pcl_layer_param(layer, i, &value, &grad, &pname));
        pname = pcl_layer_torch_name(pname); /* as the model and pcl_train_weights_add_layer name it */
        char name[256];
        if (snprintf(name, sizeof name, "%s.%s", prefix, pname) >= (int)sizeof name)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_add_layer: name '%s.%s' too long", prefix, pname);
        PCL_TRY(pcl_optimizer_add(optimizer, value, grad, name, lr_multiplier));
    }
    return PCL_OK;
}

static pcl_status step(pcl_optimizer *optimizer, int zero_grad)
{
    if (!optimizer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_step: optimizer is NULL");
    optimizer->steps++;
    for (int i = 0; i < optimizer->count; i++) {
        pcl_status status = optimizer->ops->update(optimizer, &optimizer->params[i], zero_grad);
        if (status != PCL_OK) {
            /* The step is not counted: the caller may retry from its checkpoint. */
            optimizer->steps--;
            return status;
        }
    }
    return PCL_OK;
}

pcl_status pcl_optimizer_step(pcl_optimizer *optimizer) { return step(optimizer, 0); }

pcl_status pcl_optimizer_step_zero_grad(pcl_optimizer *optimizer) { return step(optimizer, 1); }

pcl_status pcl_optimizer_zero_grad(pcl_optimizer *optimizer)
{
    if (!optimizer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_zero_grad: optimizer is NULL");
    for (int i = 0; i < optimizer->count; i++) PCL_TRY(pcl_tensor_fill(optimizer->params[i].grad, 0.0f));
    return PCL_OK;
}

double pcl_optimizer_learning_rate(const pcl_optimizer *optimizer) { return optimizer->learning_rate; }

pcl_status pcl_optimizer_set_learning_rate(pcl_optimizer *optimizer, double learning_rate)
{
    if (!optimizer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_set_learning_rate: optimizer is NULL");
    if (!(learning_rate > 0.0) || !isfinite(learning_rate))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "learning rate %g: expected a finite value > 0", learning_rate);
    optimizer->learning_rate = learning_rate;
    return PCL_OK;
}

int pcl_optimizer_param_count(const pcl_optimizer *optimizer) { return optimizer ? optimizer->count : 0; }

pcl_status pcl_optimizer_param(const pcl_optimizer *optimizer, int index, pcl_tensor **value, pcl_tensor **grad,
                               const char **name, double *lr_multiplier)
{
    if (!optimizer || index < 0 || index >= optimizer->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_param: index %d out of range [0, %d)", index,
                        optimizer ? optimizer->count : 0);
    const pcl_optimizer_entry *p = &optimizer->params[index];
    if (value) *value = p->value;
    if (grad) *grad = p->grad;
    if (name) *name = p->name;
    if (lr_multiplier) *lr_multiplier = p->lr_multiplier;
    return PCL_OK;
}

uint64_t pcl_optimizer_steps(const pcl_optimizer *optimizer) { return optimizer->steps; }
void pcl_optimizer_set_steps(pcl_optimizer *optimizer, uint64_t steps) { optimizer->steps = steps; }
int pcl_optimizer_state_count(const pcl_optimizer *optimizer) { return optimizer ? optimizer->slot_count : 0; }

pcl_status pcl_optimizer_state(const pcl_optimizer *optimizer, int param, int slot, pcl_tensor **state,
                               const char **name)
{
    if (!optimizer || param < 0 || param >= optimizer->count || slot < 0 || slot >= optimizer->slot_count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_state: parameter %d slot %d out of range "
                        "([0, %d), [0, %d))", param, slot, optimizer ? optimizer->count : 0,
                        optimizer ? optimizer->slot_count : 0);
    if (state) *state = optimizer->params[param].state[slot];
    if (name) *name = optimizer->slot_names[slot];
    return PCL_OK;
}

pcl_status pcl_optimizer_describe(const pcl_optimizer *optimizer, char *text, size_t capacity)
{
    if (!optimizer || !text || capacity == 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_optimizer_describe: NULL argument");
    return optimizer->ops->describe(optimizer, text, capacity);
}
