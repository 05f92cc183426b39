/* Model files (model.h): a model's parameters and buffers as safetensors
 * under PyTorch's names and shapes, through the checkpoint store. */
#include "perceptcl/model.h"

#include "nn/train_weights_internal.h"
#include "runtime/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "perceptcl-model-1"

pcl_status pcl_model_save(const pcl_model *model, const char *path, const pcl_checkpoint *metadata)
{
    if (!model || !path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_save: NULL model or path");
    const pcl_train_weights *weights = pcl_model_weights(model);
    pcl_checkpoint *cp = NULL;
    PCL_TRY(pcl_checkpoint_create(&cp));
    pcl_status status = PCL_OK;
    for (int i = 0; i < pcl_train_weights_count(weights) && status == PCL_OK; i++) {
        const char *name;
        pcl_tensor *t;
        int ndim;
        int64_t shape[4];
        status = pcl_train_weights_entry(weights, i, &name, &t);
        if (status == PCL_OK) status = pcl_train_weights_shape(weights, i, &ndim, shape);
        if (status == PCL_OK) status = pcl_checkpoint_add_tensor_shaped(cp, name, t, ndim, shape);
    }
    if (status == PCL_OK) status = pcl_checkpoint_set_metadata(cp, "format", FORMAT);
    if (status == PCL_OK && pcl_model_architecture(model))
        status = pcl_checkpoint_set_metadata(cp, "architecture", pcl_model_architecture(model));
    if (status == PCL_OK) status = pcl_checkpoint_set_metadata(cp, "perceptcl_version", PCL_VERSION);
    for (int i = 0; metadata && i < pcl_checkpoint_metadata_count(metadata) && status == PCL_OK; i++) {
        const char *key, *value;
        pcl_checkpoint_metadata_entry(metadata, i, &key, &value);
        status = pcl_checkpoint_set_metadata(cp, key, value);
    }
    if (status == PCL_OK) status = pcl_checkpoint_write(cp, path);
    if (status != PCL_OK) status = pcl_fail(status, "pcl_model_save %s: %s", path, pcl_last_error());
    pcl_checkpoint_destroy(cp);
    return status;
}

/* Index of the file's tensor called name, or -1. */
static int find_entry(const pcl_checkpoint *cp, const char *name)
{
    for (int i = 0; name && i < pcl_checkpoint_count(cp); i++) {
        const char *entry;
        if (pcl_checkpoint_entry(cp, i, &entry, NULL, NULL, NULL) == PCL_OK && !strcmp(entry, name)) return i;
    }
    return -1;
}

static void format_shape(char *text, size_t capacity, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(text, capacity, "[");
    for (int d = 0; d < ndim && used < capacity; d++)
        used += (size_t)snprintf(text + used, capacity - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (used < capacity) snprintf(text + used, capacity - used, "]");
}

/* Whether a stored shape fits the expected one: equal, or for a vector (C)
 * also (C, 1, 1, 1) and (1, C, 1, 1) (conv biases as other tools store them). */
static int shape_fits(int want_ndim, const int64_t *want, int ndim, const int64_t *shape)
{
    if (ndim == want_ndim && !memcmp(shape, want, (size_t)ndim * sizeof *shape)) return 1;
    if (want_ndim != 1 || ndim != 4) return 0;
    const int64_t c = want[0];
    return (shape[0] == c && shape[1] == 1 && shape[2] == 1 && shape[3] == 1) ||
           (shape[0] == 1 && shape[1] == c && shape[2] == 1 && shape[3] == 1);
}

/* Finds and checks every tensor of the model in cp (data[i] for weight i),
 * and that cp has no other tensor. */
static pcl_status match(const pcl_checkpoint *cp, const char *path, const pcl_train_weights *weights,
                        const float **data)
{
    const int count = pcl_train_weights_count(weights);
    unsigned char *used = calloc((size_t)pcl_checkpoint_count(cp) + 1, 1);
    if (!used) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_load: out of memory");
    pcl_status status = PCL_OK;
    for (int i = 0; i < count && status == PCL_OK; i++) {
        const char *name, *alias = pcl_train_weights_alias(weights, i);
        int want_ndim, ndim;
        int64_t want[4];
        const int64_t *shape;
        pcl_train_weights_entry(weights, i, &name, NULL); /* i < count: cannot fail */
        pcl_train_weights_shape(weights, i, &want_ndim, want);
        int at = find_entry(cp, name);
        if (at < 0) at = find_entry(cp, alias);
        char want_text[96], have_text[96];
        format_shape(want_text, sizeof want_text, want_ndim, want);
        if (at < 0) {
            status = pcl_fail(PCL_ERR_FORMAT, "%s: tensor '%s' %s missing (the model's, shape %s)", path, name,
                              alias ? "(or its index name) is" : "is", want_text);
            break;
        }
        const char *stored;
        pcl_checkpoint_entry(cp, at, &stored, &ndim, &shape, &data[i]);
        used[at] = 1;
        if (!shape_fits(want_ndim, want, ndim, shape)) {
            format_shape(have_text, sizeof have_text, ndim, shape);
            status = pcl_fail(PCL_ERR_FORMAT, "%s: tensor '%s' has shape %s, the model's is %s", path, stored,
                              have_text, want_text);
            break;
        }
        size_t n = 1;
        for (int d = 0; d < want_ndim; d++) n *= (size_t)want[d];
        for (size_t j = 0; j < n; j++)
            if (!isfinite(data[i][j])) {
                status = pcl_fail(PCL_ERR_FORMAT, "%s: tensor '%s' element %zu is not finite", path, stored, j);
                break;
            }
    }
    for (int e = 0; e < pcl_checkpoint_count(cp) && status == PCL_OK; e++)
        if (!used[e]) {
            const char *stored;
            pcl_checkpoint_entry(cp, e, &stored, NULL, NULL, NULL);
            status = pcl_fail(PCL_ERR_FORMAT, "%s: tensor '%s' is not one of the model's (architecture %s)", path,
                              stored, pcl_checkpoint_metadata(cp, "architecture") ? pcl_checkpoint_metadata(cp, "architecture") : "not given");
        }
    free(used);
    return status;
}

pcl_status pcl_model_load(pcl_model *model, const char *path, pcl_checkpoint **metadata)
{
    if (metadata) *metadata = NULL;
    if (!model || !path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_load: NULL model or path");
    const pcl_train_weights *weights = pcl_model_weights(model);
    const int count = pcl_train_weights_count(weights);
    pcl_checkpoint *cp = NULL;
    PCL_TRY(pcl_checkpoint_read(path, &cp));
    const float **data = calloc((size_t)count + 1, sizeof *data);
    pcl_status status = data ? match(cp, path, weights, data)
                             : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_load: out of memory");
    /* Everything checked: only now is the model touched. */
    for (int i = 0; i < count && status == PCL_OK; i++) {
        pcl_tensor *t;
        pcl_train_weights_entry(weights, i, NULL, &t);
        status = pcl_tensor_upload(t, data[i]);
    }
    free(data);
    if (status == PCL_OK && metadata) *metadata = cp;
    else pcl_checkpoint_destroy(cp);
    return status;
}
