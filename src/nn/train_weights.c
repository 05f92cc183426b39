/* The named tensors a checkpoint saves as the model (train_weights.h), each with
 * the shape the file gives it: PyTorch's for a layer's tensors. */
#include "nn/train_weights_internal.h"

#include "nn/layer_internal.h"
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct weight_entry {
    char *name;
    char *alias;        /* the name a file may also use for it, or NULL */
    pcl_tensor *tensor; /* not owned */
    int ndim;
    int64_t shape[4];
} weight_entry;

struct pcl_train_weights {
    int count, capacity;
    weight_entry *entries;
};

pcl_status pcl_train_weights_create(pcl_train_weights **weights)
{
    if (!weights) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_create: weights is NULL");
    *weights = calloc(1, sizeof **weights);
    if (!*weights) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_train_weights_create: out of memory");
    return PCL_OK;
}

void pcl_train_weights_destroy(pcl_train_weights *weights)
{
    if (!weights) return;
    for (int i = 0; i < weights->count; i++) {
        free(weights->entries[i].name);
        free(weights->entries[i].alias);
    }
    free(weights->entries);
    free(weights);
}

pcl_status pcl_train_weights_add_shaped(pcl_train_weights *weights, const char *name, pcl_tensor *tensor, int ndim,
                                        const int64_t *shape)
{
    if (!weights || !name || !*name || !tensor || !shape)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add: NULL or empty argument");
    if (ndim < 1 || ndim > 4)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add: '%s' has %d dimensions, expected 1 to 4",
                        name, ndim);
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) count = shape[d] >= 1 ? count * shape[d] : -1;
    if (count != (int64_t)pcl_tensor_count(tensor))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add: '%s': the shape given holds %lld values, "
                        "the tensor %zu", name, (long long)count, pcl_tensor_count(tensor));
    for (int i = 0; i < weights->count; i++)
        if (!strcmp(weights->entries[i].name, name))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add: name '%s' already used", name);
    if (weights->count == weights->capacity) {
        int capacity = weights->capacity ? 2 * weights->capacity : 16;
        weight_entry *entries = realloc(weights->entries, (size_t)capacity * sizeof *entries);
        if (!entries) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_train_weights_add: out of memory");
        weights->entries = entries;
        weights->capacity = capacity;
    }
    weight_entry *e = &weights->entries[weights->count];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_train_weights_add: out of memory");
    e->tensor = tensor;
    e->ndim = ndim;
    memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    weights->count++;
    return PCL_OK;
}

pcl_status pcl_train_weights_add(pcl_train_weights *weights, const char *name, pcl_tensor *tensor)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add: NULL or empty argument");
    int64_t shape[4] = {tensor->n, tensor->c, tensor->h, tensor->w};
    return pcl_train_weights_add_shaped(weights, name, tensor, 4, shape);
}

/* PyTorch's shape for a layer's tensor (its state_dict): per-channel
 * vectors (biases, batch normalisation's weight, bias and running
 * statistics) are (C), a dense weight is nn.Linear's (out, in), a conv
 * weight stays (out, in, kh, kw). Returns ndim. */
static int torch_shape(pcl_layer_kind kind, const char *name, const pcl_tensor *t, int64_t shape[4])
{
    int per_channel = (kind == PCL_LAYER_KIND_BATCHNORM) ||
                      ((kind == PCL_LAYER_KIND_CONV2D || kind == PCL_LAYER_KIND_DENSE) && !strcmp(name, "bias"));
    if (per_channel && t->n == 1 && t->h == 1 && t->w == 1) {
        shape[0] = t->c;
        return 1;
    }
    if (kind == PCL_LAYER_KIND_DENSE && !strcmp(name, "weight") && t->h == 1 && t->w == 1) {
        shape[0] = t->n;
        shape[1] = t->c;
        return 2;
    }
    shape[0] = t->n;
    shape[1] = t->c;
    shape[2] = t->h;
    shape[3] = t->w;
    return 4;
}

static pcl_status add_named(pcl_train_weights *weights, pcl_layer *layer, const char *prefix,
                            const char *alias_prefix, const char *name, pcl_tensor *tensor)
{
    char full[256], alias[256];
    name = pcl_layer_torch_name(name);
    if (snprintf(full, sizeof full, "%s.%s", prefix, name) >= (int)sizeof full)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add_layer: name '%s.%s' too long", prefix, name);
    if (alias_prefix && snprintf(alias, sizeof alias, "%s.%s", alias_prefix, name) >= (int)sizeof alias)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add_layer: name '%s.%s' too long", alias_prefix,
                        name);
    int64_t shape[4];
    int ndim = torch_shape(pcl_layer_get_kind(layer), name, tensor, shape);
    PCL_TRY(pcl_train_weights_add_shaped(weights, full, tensor, ndim, shape));
    if (!alias_prefix) return PCL_OK;
    weight_entry *e = &weights->entries[weights->count - 1];
    e->alias = strdup(alias);
    if (!e->alias) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_train_weights_add_layer: out of memory");
    return PCL_OK;
}

pcl_status pcl_train_weights_add_layer_aliased(pcl_train_weights *weights, pcl_layer *layer, const char *prefix,
                                               const char *alias_prefix)
{
    if (!weights || !layer || !prefix)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add_layer: NULL argument");
    for (int i = 0; i < pcl_layer_param_count(layer); i++) {
        pcl_tensor *value;
        const char *name;
        PCL_TRY(pcl_layer_param(layer, i, &value, NULL, &name));
        PCL_TRY(add_named(weights, layer, prefix, alias_prefix, name, value));
    }
    for (int i = 0; i < pcl_layer_buffer_count(layer); i++) {
        pcl_tensor *value;
        const char *name;
        PCL_TRY(pcl_layer_buffer(layer, i, &value, &name));
        PCL_TRY(add_named(weights, layer, prefix, alias_prefix, name, value));
    }
    return PCL_OK;
}

pcl_status pcl_train_weights_add_layer(pcl_train_weights *weights, pcl_layer *layer, const char *prefix)
{
    return pcl_train_weights_add_layer_aliased(weights, layer, prefix, NULL);
}

const char *pcl_train_weights_alias(const pcl_train_weights *weights, int index)
{
    if (!weights || index < 0 || index >= weights->count) return NULL;
    return weights->entries[index].alias;
}

int pcl_train_weights_count(const pcl_train_weights *weights) { return weights ? weights->count : 0; }

static pcl_status check_index(const pcl_train_weights *weights, int index, const char *what)
{
    if (!weights || index < 0 || index >= weights->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: index %d out of range [0, %d)", what, index,
                        weights ? weights->count : 0);
    return PCL_OK;
}

pcl_status pcl_train_weights_entry(const pcl_train_weights *weights, int index, const char **name,
                                   pcl_tensor **tensor)
{
    PCL_TRY(check_index(weights, index, "pcl_train_weights_entry"));
    if (name) *name = weights->entries[index].name;
    if (tensor) *tensor = weights->entries[index].tensor;
    return PCL_OK;
}

pcl_status pcl_train_weights_shape(const pcl_train_weights *weights, int index, int *ndim, int64_t shape[4])
{
    PCL_TRY(check_index(weights, index, "pcl_train_weights_shape"));
    const weight_entry *e = &weights->entries[index];
    if (ndim) *ndim = e->ndim;
    if (shape) memcpy(shape, e->shape, (size_t)e->ndim * sizeof *shape);
    return PCL_OK;
}
