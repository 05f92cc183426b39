/* libFuzzer target: the input is a safetensors file, written to a memfd and
 * read by pcl_checkpoint_read (the path every loader takes). Aborts if the
 * reader breaks its contract: a refusal leaves *checkpoint NULL with a
 * message naming the file and an offset; an accepted file holds consistent
 * entries, and writing it out and reading that back gives the same bytes. */
#include "fuzz_image.h" /* fuzz_image_path: input bytes to a memfd */

#include "perceptcl/checkpoint.h"

#include <string.h>

static void check_entries(const pcl_checkpoint *c)
{
    for (int i = 0; i < pcl_checkpoint_count(c); i++) {
        const char *name;
        int ndim;
        const int64_t *shape;
        const float *data;
        if (pcl_checkpoint_entry(c, i, &name, &ndim, &shape, &data) != PCL_OK || !name || !name[0] || ndim < 0 ||
            ndim > PCL_CHECKPOINT_MAX_DIMS || !data)
            abort();
        for (int d = 0; d < ndim; d++)
            if (shape[d] < 0) abort();
        if (pcl_checkpoint_find(c, name, ndim, shape, NULL) != PCL_OK) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_image_path(data, size);
    if (!path) return 0;
    pcl_checkpoint *c = (pcl_checkpoint *)1;
    if (pcl_checkpoint_read(path, &c) != PCL_OK) {
        const char *message = pcl_last_error();
        if (c != NULL || !strstr(message, path) || !strstr(message, "offset")) abort();
        return 0;
    }
    check_entries(c);
    unsigned char *first, *second;
    size_t first_length, second_length;
    if (pcl_checkpoint_serialize(c, &first, &first_length) != PCL_OK) abort();
    pcl_checkpoint *again;
    if (pcl_checkpoint_parse(first, first_length, "rewritten", &again) != PCL_OK) abort();
    if (pcl_checkpoint_serialize(again, &second, &second_length) != PCL_OK) abort();
    if (first_length != second_length || memcmp(first, second, first_length) != 0) abort();
    free(first);
    free(second);
    pcl_checkpoint_destroy(again);
    pcl_checkpoint_destroy(c);
    return 0;
}
