/* The checkpoint store's layout and the helpers its three files share:
 * checkpoint.c (the store), checkpoint_device.c (device transfers) and
 * safetensors.c (the file format). */
#ifndef PERCEPTCL_CHECKPOINT_INTERNAL_H
#define PERCEPTCL_CHECKPOINT_INTERNAL_H

#include "perceptcl/checkpoint.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pcl_checkpoint_tensor {
    char *name;
    int ndim;
    int64_t shape[PCL_CHECKPOINT_MAX_DIMS];
    size_t count; /* product of shape */
    float *data;
} pcl_checkpoint_tensor;

struct pcl_checkpoint {
    int count, capacity;
    pcl_checkpoint_tensor *entries; /* in the order added (a file's: by data offset) */
    int meta_count, meta_capacity;
    char **keys, **values;
    char *origin; /* the path it was read from ("" when built in memory) */
};

/* Element count of a shape; 0 when an extent is negative or 4 x the count
 * would overflow (what a file could not hold). */
int pcl_checkpoint_shape_count(int ndim, const int64_t *shape, size_t *count);

/* Fails unless name is new, non-empty, not "__metadata__" and UTF-8. */
pcl_status pcl_checkpoint_check_new_name(const pcl_checkpoint *checkpoint, const char *name);

/* Appends a tensor whose name was checked; takes ownership of data (the
 * shape's count of floats) on success. */
pcl_status pcl_checkpoint_add_owned(pcl_checkpoint *checkpoint, const char *name, int ndim, const int64_t *shape,
                                    float *data);

/* Sets the path messages name. */
pcl_status pcl_checkpoint_set_origin(pcl_checkpoint *checkpoint, const char *origin);

/* 1 when text is valid UTF-8 without NUL (what a safetensors header's JSON
 * strings can hold); in checkpoint.c, which checks every name and metadata
 * text when it is added, so safetensors.c only calls into the store. */
int pcl_safetensors_text_ok(const char *text);

#endif
