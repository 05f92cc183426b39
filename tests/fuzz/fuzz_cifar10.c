/* libFuzzer target: the input is a CIFAR-10 batch file (records of 1 label
 * byte + 3072 pixel bytes). Opens it from memory and reads every record. */
#include "perceptcl/datasets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pcl_dataset *d = NULL;
    if (pcl_dataset_open_memory(PCL_BINARY_FORMAT_CIFAR10, data, size, NULL, 0, "fuzz", &d) != PCL_OK) return 0;
    size_t n = pcl_dataset_count(d);
    static float batch[4 * 3072];
    int labels[4];
    for (size_t i = 0; i < n; i += 4) {
        size_t idx[4], k = 0;
        for (; k < 4 && i + k < n; k++) idx[k] = i + k;
        pcl_dataset_read_batch(d, idx, k, (i / 4) % 2 ? PCL_LAYOUT_CHW : PCL_LAYOUT_HWC, batch, 4 * 3072, labels);
    }
    pcl_dataset_verify(d, NULL);
    pcl_dataset_destroy(d);
    return 0;
}
