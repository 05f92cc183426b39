/* libFuzzer target: the input is a driver program binary as the kernel cache
 * stores it, checked by pcl_driver_binary_complete (src/runtime/driver_binary.c)
 * before the bytes go back to the driver. ASan catches any read outside the
 * input; the target aborts if the check accepts a PoCL version-9 binary whose
 * records do not end exactly at its size, found by walking them here again. */
#include "runtime/runtime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees a read one byte past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    int complete = pcl_driver_binary_complete(copy, size);
    if (complete && size >= 24 && memcmp(copy, "poclbin", 8) == 0 && le(copy + 16, 4) == 9) {
        /* Independent walk: header 77, program section (8 + its size), then kernels. */
        uint64_t at = 77, kernels = le(copy + 20, 4);
        for (uint64_t k = 0; k <= kernels; k++) {
            if (at + 8 > size) abort();
            uint64_t n = le(copy + at, 8), step = k == 0 ? n + 8 : n;
            if (step < 8 || step > size - at) abort();
            at += step;
        }
        if (at != size) abort();
    }
    if (size == 0 && complete) abort();
    free(copy);
    return 0;
}
