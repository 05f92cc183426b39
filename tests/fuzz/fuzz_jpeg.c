/* libFuzzer target: the input is a JPEG file, read by pcl_image_read_jpeg
 * (libjpeg-turbo with warnings made fatal). Aborts if a returned image breaks
 * the contract checked in fuzz_image.h. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run(pcl_image_read_jpeg, data, size, 0);
    return 0;
}
