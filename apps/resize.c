/* perceptcl resize: MATLAB-compatible bicubic imresize of an image file (the
 * degradation of the super-resolution protocol: down by 1/s, then up by s). */
#include "app.h"
#include "perceptcl/image.h"
#include "perceptcl/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: perceptcl resize (--scale S | --size WxH) [--modcrop K] [--no-antialias] IN OUT\n\n"
    "Bicubic resize as MATLAB's imresize (Keys a = -0.5, antialiased when shrinking). 8-bit\n"
    "images are rounded after each pass as MATLAB does on uint8. OUT is PNG, or PFM (float)\n"
    "when its name ends in .pfm. --modcrop K first crops IN to a multiple of K (SRCNN's modcrop).\n";

static int ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcasecmp(text + n - m, suffix) == 0;
}

int app_resize(int argc, char **argv)
{
    double scale = 0;
    int width = 0, height = 0, modcrop = 0;
    unsigned flags = 0;
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        char *end;
        if (strcmp(a, "--scale") == 0 && has_value) {
            scale = strtod(argv[++i], &end);
            if (*end || !(scale > 0) || !isfinite(scale))
                return fprintf(stderr, "perceptcl resize: --scale must be a positive number, not '%s'\n", argv[i]), 2;
        } else if (strcmp(a, "--size") == 0 && has_value) {
            if (sscanf(argv[++i], "%dx%d", &width, &height) != 2 || width < 1 || height < 1)
                return fprintf(stderr, "perceptcl resize: --size must be WIDTHxHEIGHT, not '%s'\n", argv[i]), 2;
        } else if (strcmp(a, "--modcrop") == 0 && has_value) {
            modcrop = (int)strtol(argv[++i], &end, 10);
            if (*end || modcrop < 1)
                return fprintf(stderr, "perceptcl resize: --modcrop must be a positive integer, not '%s'\n", argv[i]), 2;
        } else if (strcmp(a, "--no-antialias") == 0) flags |= PCL_RESIZE_NO_ANTIALIAS;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return printf("%s", usage), 0;
        else if (a[0] == '-' && a[1]) return fprintf(stderr, "perceptcl resize: unknown option or missing value: '%s'\n", a), 2;
        else if (!in) in = a;
        else if (!out) out = a;
        else return fprintf(stderr, "perceptcl resize: too many arguments ('%s')\n%s", a, usage), 2;
    }
    if (!in || !out || (scale > 0) == (width > 0))
        return fprintf(stderr, "perceptcl resize: needs IN, OUT and exactly one of --scale or --size\n%s", usage), 2;

    pcl_image *image = NULL, *cropped = NULL, *resized = NULL;
    int rc = 1;
    if (pcl_image_read(in, &image) != PCL_OK) goto fail;
    if (modcrop) {
        if (pcl_image_modcrop(image, modcrop, &cropped) != PCL_OK) goto fail;
        pcl_image_destroy(image);
        image = cropped;
        cropped = NULL;
    }
    if (image->max_value == 255.0f) flags |= PCL_RESIZE_ROUND_U8;
    pcl_status status = scale > 0 ? pcl_resize_bicubic_scale(image, scale, flags, &resized)
                                  : pcl_resize_bicubic(image, width, height, flags, &resized);
    if (status != PCL_OK) goto fail;
    status = ends_with(out, ".pfm") ? pcl_image_write_pfm(out, resized) : pcl_image_write_png(out, resized);
    if (status != PCL_OK) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "perceptcl resize: %s\n", pcl_last_error());
done:
    pcl_image_destroy(image);
    pcl_image_destroy(resized);
    return rc;
}
