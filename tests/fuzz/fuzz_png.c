/* libFuzzer target: the input is a PNG file, read by pcl_image_read_png
 * (libpng through the reader's in-memory read callback). Aborts if a returned
 * image breaks the contract checked in fuzz_image.h. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run(pcl_image_read_png, data, size, 0);
    return 0;
}
