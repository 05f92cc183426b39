/* libFuzzer target: STL-10. The first input byte k says how many of the next
 * bytes are the y (label) file; the rest is the X file (27648-byte records,
 * column-major planes). */
#include "perceptcl/datasets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t k = data[0];
    if (k > size - 1) k = size - 1;
    const uint8_t *labels = data + 1, *x = data + 1 + k;
    size_t x_size = size - 1 - k;
    pcl_dataset *d = NULL;
    /* odd k: unlabeled (no y file) */
    if (pcl_dataset_open_memory(PCL_BINARY_FORMAT_STL10, x, x_size, (k & 1) ? NULL : labels, (k & 1) ? 0 : k, "fuzz", &d) !=
        PCL_OK)
        return 0;
    pcl_image *image = NULL;
    int label;
    for (size_t i = 0; i < pcl_dataset_count(d); i++) {
        if (pcl_dataset_read_image(d, i, &image, &label) == PCL_OK) pcl_image_destroy(image);
        pcl_record_info info;
        pcl_dataset_record_info(d, i, &info);
    }
    pcl_dataset_destroy(d);
    return 0;
}
