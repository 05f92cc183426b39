/* Sanity check of a driver's program binary before it is handed back to the
 * driver from the disk cache.
 *
 * The cache entry's checksum proves that the bytes are the ones written, not
 * that they are a whole driver binary: an entry holding a cut binary with a
 * recomputed checksum made PoCL assert (abort the process) on every run
 * until the entry was deleted. PoCL checks only the header of a binary and
 * trusts the lengths inside it, so perceptcl walks those lengths first.
 *
 * PoCL binary, format version 9 (PoCL 3.x; measured on its entries), all
 * integers little-endian:
 *   "poclbin\0" | u64 device id | u32 version | u32 kernel count | u64 flags
 *   | u32 binary type | 41-byte build hash (40 characters and NUL)      = 77 bytes
 *   | u64 size of the program section | that section (the program.bc file)
 *   | per kernel: u64 size of the whole kernel record | the rest of it
 * The record sizes must add up to the binary's size exactly. Other drivers,
 * and other PoCL format versions, are not checked here: their binaries
 * pass, and a rejection by the driver is still a cache miss. */
#include "runtime/runtime.h"

#include <string.h>

static uint64_t read_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t read_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int pcl_driver_binary_complete(const unsigned char *binary, size_t size)
{
    static const char pocl_magic[8] = {'p', 'o', 'c', 'l', 'b', 'i', 'n', '\0'};
    enum { pocl_header = 77, pocl_version_checked = 9 };
    if (!binary || size == 0) return 0;
    if (size < 8 || memcmp(binary, pocl_magic, 8) != 0) return 1; /* not PoCL: the driver decides */
    if (size < 24) return 0;
    if (read_u32(binary + 16) != pocl_version_checked) return 1;
    if (size < pocl_header) return 0; /* found by fuzz_driver_binary: size - at wrapped below */
    uint32_t kernels = read_u32(binary + 20);
    size_t at = pocl_header;
    /* The program section, then one record per kernel, each led by its size. */
    for (uint64_t record = 0; record <= kernels; record++) {
        if (size - at < 8) return 0; /* at <= size holds: every step stays inside */
        uint64_t length = read_u64(binary + at);
        /* The program section's size counts what follows it; a kernel's counts itself. */
        uint64_t step = record == 0 ? 8 + length : length;
        if (step < 8 || step > size - at) return 0;
        at += (size_t)step;
    }
    return at == size;
}
