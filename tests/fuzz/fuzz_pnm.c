/* libFuzzer target: the input is a Netpbm file (P2, P3, P5, P6) or a PFM
 * (Pf, PF), read by pcl_image_read_pnm. Aborts if a returned image breaks the
 * contract checked in fuzz_image.h; PFM images may hold any finite float
 * (a NaN or infinite sample must be refused). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int is_pfm = size >= 2 && data[0] == 'P' && (data[1] == 'f' || data[1] == 'F');
    fuzz_image_run(pcl_image_read_pnm, data, size, is_pfm);
    return 0;
}
