/* Shared by the image-codec fuzz targets (fuzz_png.c, fuzz_jpeg.c, fuzz_pnm.c,
 * fuzz_bmp.c). The readers take a path, so each input is written to a memfd
 * (an anonymous in-memory file, created once) and read back through
 * /proc/self/fd/N: no disk traffic and no change to the codecs. Every image a
 * reader returns is checked, and the target aborts (a libFuzzer crash) if one
 * breaks the contract of include/perceptcl/image.h. */
#ifndef PCL_FUZZ_IMAGE_H
#define PCL_FUZZ_IMAGE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "perceptcl/image.h"
#include "perceptcl/status.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data to the (reused) memfd and returns its /proc path, or NULL if
 * the memfd cannot be set up (the input is then skipped, never a crash). */
static const char *fuzz_image_path(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("pcl_fuzz_image", MFD_CLOEXEC);
        if (fd < 0) return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) return NULL;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0) return NULL;
        done += (size_t)n;
    }
    return path;
}

/* The contract of a successful read: *out set, a positive size, 1-4 channels,
 * a positive max_value, only finite values (PFM included: its reader refuses
 * NaN and infinity), and for integer formats (everything but PFM) whole
 * numbers in 0..max_value. A failed read leaves
 * *out NULL and records a nonempty message. */
static void fuzz_image_check(pcl_status status, const pcl_image *image, int float_format)
{
    if (status != PCL_OK) {
        const char *message = pcl_last_error();
        if (image != NULL || message == NULL || message[0] == '\0') abort();
        return;
    }
    if (image == NULL || image->data == NULL) abort();
    if (image->width < 1 || image->height < 1 || image->channels < 1 || image->channels > 4) abort();
    if (!(image->max_value > 0.0f)) abort();
    size_t floats = pcl_image_size(image);
    for (size_t i = 0; i < floats; i++) /* every reader returns finite pixels (PFM: NaN/inf refused) */
        if (!isfinite(image->data[i])) abort();
    if (float_format) return; /* PFM stores any finite float32 */
    size_t count = pcl_image_size(image);
    for (size_t i = 0; i < count; i++) {
        float v = image->data[i];
        if (!(v >= 0.0f && v <= image->max_value) || v != floorf(v)) abort();
    }
}

/* Reads the input with reader (a format-specific pcl_image_read_*) and
 * checks the result. */
static void fuzz_image_run(pcl_status (*reader)(const char *, pcl_image **), const uint8_t *data,
                           size_t size, int float_format)
{
    const char *path = fuzz_image_path(data, size);
    if (!path) return;
    pcl_image *image = (pcl_image *)1; /* readers must set *out even on failure */
    pcl_status status = reader(path, &image);
    fuzz_image_check(status, image, float_format);
    pcl_image_destroy(image);
}

#endif
