/* libFuzzer target: the CIFAR-10 labels CSV ("<file>,<class name>" lines). */
#include "dataset_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pcl_csv_row *rows = NULL;
    size_t count = 0;
    if (pcl_labels_csv_parse((const char *)data, size, "fuzz.csv", pcl_cifar10_classes, 10, &rows, &count) == PCL_OK) {
        for (size_t i = 0; i < count; i++)
            if (rows[i].label < 0 || rows[i].label > 9 || rows[i].file[0] == '\0' || strchr(rows[i].file, '/')) abort();
        pcl_csv_rows_free(rows, count);
    }
    return 0;
}
