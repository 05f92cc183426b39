/* Reconstructions side by side: the same crop of each image, enlarged, in
 * one strip (srcnn compare; the autoencoders' figures). */
#include "app.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int app_crop_parse(const char *text, int crop[4])
{
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < (i < 2 ? 0 : 1) || v > INT_MAX || *end != (i < 3 ? ',' : '\0')) return 0;
        crop[i] = (int)v;
        p = end + 1;
    }
    return 1;
}

int app_crop_inside(const int crop[4], int width, int height)
{
    /* Subtractions, not crop[0] + crop[2]: that sum may overflow. */
    return crop[0] >= 0 && crop[1] >= 0 && crop[2] >= 1 && crop[3] >= 1 && crop[0] <= width && crop[1] <= height &&
           crop[2] <= width - crop[0] && crop[3] <= height - crop[1];
}

void app_crop_busiest(const pcl_image *image, int size, int crop[4])
{
    if (size > image->width) size = image->width;
    if (size > image->height) size = image->height;
    double best = -1;
    int *x = &crop[0], *y = &crop[1];
    *x = *y = 0;
    crop[2] = crop[3] = size;
    const int c = image->channels;
    for (int y0 = 0; y0 + size <= image->height; y0 += 8)
        for (int x0 = 0; x0 + size <= image->width; x0 += 8) {
            double s = 0, s2 = 0;
            for (int r = 0; r < size; r++)
                for (int k = 0; k < size; k++) {
                    double v = image->data[((size_t)(y0 + r) * image->width + x0 + k) * c];
                    s += v;
                    s2 += v * v;
                }
            double n = (double)size * size, var = s2 / n - (s / n) * (s / n);
            if (var > best) {
                best = var;
                *x = x0;
                *y = y0;
            }
        }
}

enum { STRIP_GAP = 4 };

int app_strip_create(const char *app, int panels, const int crop[4], int zoom, int channels, pcl_image **strip)
{
    *strip = NULL;
    long long pw = (long long)crop[2] * zoom, ph = (long long)crop[3] * zoom;
    long long width = panels * pw + (long long)(panels - 1) * STRIP_GAP;
    if (panels < 1 || zoom < 1 || width > INT_MAX || ph > INT_MAX)
        return fprintf(stderr, "perceptcl %s: %d panels of %dx%d x%d do not fit in one image\n", app, panels, crop[2],
                       crop[3], zoom), 1;
    if (pcl_image_create(strip, (int)width, (int)ph, channels) != PCL_OK) return app_fail(app, "strip");
    for (size_t i = 0; i < pcl_image_size(*strip); i++) (*strip)->data[i] = 255.0f;
    return 0;
}

int app_strip_put(const char *app, pcl_image *strip, int index, const pcl_image *image, const int crop[4], int zoom)
{
    const int pw = crop[2] * zoom, ph = crop[3] * zoom, c = image->channels;
    const size_t left = (size_t)index * (size_t)(pw + STRIP_GAP);
    if (!app_crop_inside(crop, image->width, image->height) || c != strip->channels || ph != strip->height ||
        left + (size_t)pw > (size_t)strip->width)
        return fprintf(stderr, "perceptcl %s: panel %d: crop %d,%d,%d,%d of a %dx%d image does not fit the strip\n",
                       app, index, crop[0], crop[1], crop[2], crop[3], image->width, image->height), 1;
    for (int r = 0; r < ph; r++)
        for (int k = 0; k < pw; k++)
            for (int ch = 0; ch < c; ch++)
                strip->data[((size_t)r * strip->width + left + k) * c + ch] =
                    image->data[((size_t)(crop[1] + r / zoom) * image->width + crop[0] + k / zoom) * c + ch];
    return 0;
}
