/* perceptcl resize: MATLAB-compatible bicubic imresize of an image file (the
 * degradation of the super-resolution protocol: down by 1/s, then up by s). */
#include "app.h"
#include "perceptcl/image.h"
#include "perceptcl/resize.h"

#include <string.h>
#include <strings.h>

static const char usage[] =
    "usage: perceptcl resize (--scale S | --size WxH) [--modcrop K] [--no-antialias] IN OUT\n\n"
    "Bicubic resize as MATLAB's imresize (Keys a = -0.5, antialiased when shrinking). 8-bit\n"
    "images are rounded after each pass as MATLAB does on uint8. OUT is PNG (16-bit when IN is\n"
    "deeper than 8 bits: a maxval other than 65535 is scaled to 65535, and said), or PFM (float)\n"
    "when its name ends in .pfm. --modcrop K first crops IN to a multiple of K (SRCNN's modcrop).\n";

static int ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcasecmp(text + n - m, suffix) == 0;
}

static const app_option options[] = {
    {"--scale", "S"}, {"--size", "WxH"}, {"--modcrop", "K"}, {"--no-antialias", NULL}, {NULL, NULL}};

int app_resize(int argc, char **argv)
{
    double scale = 0;
    int width = 0, height = 0, modcrop = 0;
    unsigned flags = 0;
    const char *in = NULL, *out = NULL;
    app_args r;
    app_args_init(&r, "resize", usage, options, NULL, argc, argv);
    while (app_args_next(&r)) {
        char tail;
        if (!r.option && !in) in = r.value;
        else if (!r.option && !out) out = r.value;
        else if (!r.option) app_args_error(&r, "expects IN OUT, got an extra '%s'", r.value);
        else if (app_args_is(&r, "--scale")) app_args_positive(&r, &scale);
        else if (app_args_is(&r, "--modcrop")) app_args_int(&r, 1, 1 << 20, &modcrop);
        else if (app_args_is(&r, "--no-antialias")) flags |= PCL_RESIZE_NO_ANTIALIAS;
        else if (sscanf(r.value, "%dx%d%c", &width, &height, &tail) != 2 || width < 1 || height < 1)
            app_args_error(&r, "--size must be WIDTHxHEIGHT (both >= 1), not '%s'", r.value);
    }
    if (r.exit_code < 0 && (!in || !out || (scale > 0) == (width > 0)))
        app_args_error(&r, "needs IN, OUT and exactly one of --scale or --size (perceptcl resize --help)");
    if (r.exit_code >= 0) return r.exit_code;

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
    if (ends_with(out, ".pfm")) {
        status = pcl_image_write_pfm(out, resized);
    } else if (resized->max_value > 255.0f) {
        /* Deeper than 8 bits: keep the depth (16-bit PNG) rather than clip at 255. */
        if (resized->max_value != 65535.0f)
            fprintf(stderr, "perceptcl resize: %s has maxval %g: %s is a 16-bit PNG, samples scaled by 65535/%g\n",
                    in, (double)resized->max_value, out, (double)resized->max_value);
        status = pcl_image_write_png16(out, resized);
    } else {
        status = pcl_image_write_png(out, resized);
    }
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
