/* libFuzzer target: Extended Yale B file names (yaleBnn_P00A+aaaE+ee.pgm). */
#include "perceptcl/datasets.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = malloc(size + 1);
    if (!name) return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    int subject, azimuth, elevation;
    if (pcl_yale_parse_name(name, &subject, &azimuth, &elevation) == PCL_OK) {
        /* what parses must be in range */
        if (subject < 1 || subject > 99 || azimuth < -180 || azimuth > 180 || elevation < -90 || elevation > 90)
            abort();
    }
    free(name);
    return 0;
}
