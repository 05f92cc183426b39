/* libFuzzer target: 80M Tiny Images records (3072 bytes, column-major planes). */
#include "perceptcl/datasets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pcl_dataset *d = NULL;
    if (pcl_dataset_open_memory(PCL_BINARY_FORMAT_TINY_IMAGES, data, size, NULL, 0, "fuzz", &d) != PCL_OK) return 0;
    static float batch[3072];
    for (size_t i = 0; i < pcl_dataset_count(d); i++) {
        size_t at = pcl_dataset_count(d) - 1 - i;
        pcl_dataset_read_batch(d, &at, 1, PCL_LAYOUT_CHW, batch, 3072, NULL);
    }
    pcl_dataset_destroy(d);
    return 0;
}
