/* The named tensors a checkpoint saves as the model (train.h). */
#include "perceptcl/train.h"

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcl_train_weights {
    int count, capacity;
    char **names;
    pcl_tensor **tensors;
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
    for (int i = 0; i < weights->count; i++) free(weights->names[i]);
    free(weights->names);
    free(weights->tensors);
    free(weights);
}

pcl_status pcl_train_weights_add(pcl_train_weights *weights, const char *name, pcl_tensor *tensor)
{
    if (!weights || !name || !*name || !tensor)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add: NULL or empty argument");
    for (int i = 0; i < weights->count; i++)
        if (!strcmp(weights->names[i], name))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add: name '%s' already used", name);
    if (weights->count == weights->capacity) {
        int capacity = weights->capacity ? 2 * weights->capacity : 16;
        char **names = realloc(weights->names, (size_t)capacity * sizeof *names);
        if (names) weights->names = names;
        pcl_tensor **tensors = names ? realloc(weights->tensors, (size_t)capacity * sizeof *tensors) : NULL;
        if (tensors) weights->tensors = tensors;
        if (!names || !tensors) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_train_weights_add: out of memory");
        weights->capacity = capacity;
    }
    char *copy = strdup(name);
    if (!copy) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_train_weights_add: out of memory");
    weights->names[weights->count] = copy;
    weights->tensors[weights->count] = tensor;
    weights->count++;
    return PCL_OK;
}

static pcl_status add_named(pcl_train_weights *weights, const char *prefix, const char *name, pcl_tensor *tensor)
{
    char full[256];
    if (snprintf(full, sizeof full, "%s.%s", prefix, name) >= (int)sizeof full)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add_layer: name '%s.%s' too long", prefix, name);
    return pcl_train_weights_add(weights, full, tensor);
}

pcl_status pcl_train_weights_add_layer(pcl_train_weights *weights, pcl_layer *layer, const char *prefix)
{
    if (!weights || !layer || !prefix)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_add_layer: NULL argument");
    for (int i = 0; i < pcl_layer_param_count(layer); i++) {
        pcl_tensor *value;
        const char *name;
        PCL_TRY(pcl_layer_param(layer, i, &value, NULL, &name));
        PCL_TRY(add_named(weights, prefix, name, value));
    }
    for (int i = 0; i < pcl_layer_buffer_count(layer); i++) {
        pcl_tensor *value;
        const char *name;
        PCL_TRY(pcl_layer_buffer(layer, i, &value, &name));
        PCL_TRY(add_named(weights, prefix, name, value));
    }
    return PCL_OK;
}

int pcl_train_weights_count(const pcl_train_weights *weights) { return weights ? weights->count : 0; }

pcl_status pcl_train_weights_entry(const pcl_train_weights *weights, int index, const char **name,
                                   pcl_tensor **tensor)
{
    if (!weights || index < 0 || index >= weights->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_weights_entry: index %d out of range [0, %d)", index,
                        weights ? weights->count : 0);
    if (name) *name = weights->names[index];
    if (tensor) *tensor = weights->tensors[index];
    return PCL_OK;
}
