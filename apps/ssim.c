/* perceptcl ssim: SSIM or MS-SSIM of one or more images against a reference,
 * computed on the device in one batch, with the SSIM map and the gradient as
 * files on request. */
#include "app.h"
#include "perceptcl/color.h"
#include "perceptcl/image.h"
#include "perceptcl/ssim.h"
#include "io/file_atomic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: perceptcl ssim [options] REF DIST...\n\n"
    "SSIM (default) or MS-SSIM of each DIST against REF, as defined in shared/golden/README.md.\n"
    "Images: PNG, JPEG, PGM/PPM, PFM (float), BMP. Colour images are compared per channel and\n"
    "averaged over R, G, B (alpha is ignored), unless --y.\n\n"
    "options:\n"
    "  --msssim             MS-SSIM over 5 scales instead of SSIM\n"
    "  --weights W          MS-SSIM exponents: standard (Wang 2003, default) or equal (all 1, the paper's)\n"
    "  --mode M             valid (Wang's, default) or same (replicate padding; any size)\n"
    "  --range L            data range (default: the reference's white: 255 for 8-bit files,\n"
    "                       65535 for 16-bit, 1 for PFM; 255 with --y)\n"
    "  --y                  compare the Y channel of BT.601 YCbCr (MATLAB rgb2ycbcr, 8-bit rounding)\n"
    "  --map FILE.png       write the full-resolution SSIM map as 8-bit gray (0 or less black, 1 white);\n"
    "                       one DIST only\n"
    "  --grad FILE.pfm      write d value / d DIST (per channel; the Y channel with --y); one DIST only\n"
    "  --json               results as JSON on stdout\n\n";

typedef struct ssim_args {
    pcl_device_selection selection;
    pcl_ssim_options options;
    int use_y, json, range_set;
    const char *map_path, *grad_path;
    const char *reference;
    const char **dists;
    int dist_count;
} ssim_args;

static const app_option options[] = {{"--msssim", NULL}, {"--y", NULL},        {"--json", NULL},
                                      {"--weights", "W"},  {"--mode", "M"},     {"--range", "L"},
                                      {"--map", "FILE"},   {"--grad", "FILE"}, {NULL, NULL}};
static const char *const weight_names[] = {"standard", "equal", NULL};
static const char *const mode_names[] = {"valid", "same", NULL};

/* Returns -1 to go on, else the exit code (0 after --help, 2 after a usage error). */
static int parse_args(int argc, char **argv, ssim_args *args)
{
    args->options = pcl_ssim_options_default();
    args->options.data_range = 0;
    args->dists = calloc((size_t)argc, sizeof *args->dists);
    if (!args->dists) return fprintf(stderr, "perceptcl ssim: out of memory\n"), 1;
    app_args r;
    app_args_init(&r, "ssim", usage, options, &args->selection, argc, argv);
    while (app_args_next(&r)) {
        int k;
        if (!r.option && !args->reference) args->reference = r.value;
        else if (!r.option) args->dists[args->dist_count++] = r.value;
        else if (app_args_is(&r, "--msssim")) args->options.scales = 5;
        else if (app_args_is(&r, "--y")) args->use_y = 1;
        else if (app_args_is(&r, "--json")) args->json = 1;
        else if (app_args_is(&r, "--weights") && app_args_choice(&r, weight_names, &k))
            args->options.weights = k ? PCL_SSIM_WEIGHTS_EQUAL : PCL_SSIM_WEIGHTS_STANDARD;
        else if (app_args_is(&r, "--mode") && app_args_choice(&r, mode_names, &k))
            args->options.mode = k ? PCL_SSIM_MODE_SAME : PCL_SSIM_MODE_VALID;
        else if (app_args_is(&r, "--range")) args->range_set = app_args_positive(&r, &args->options.data_range);
        else if (app_args_is(&r, "--map")) args->map_path = r.value;
        else if (app_args_is(&r, "--grad")) args->grad_path = r.value;
    }
    if (r.exit_code < 0 && (!args->reference || args->dist_count == 0))
        app_args_error(&r, "needs a reference and at least one image to compare (perceptcl ssim --help)");
    if (r.exit_code < 0 && (args->map_path || args->grad_path) && args->dist_count != 1)
        app_args_error(&r, "--map and --grad take exactly one DIST image");
    return r.exit_code;
}

/* Reads an image and turns it into the planes that are compared: the Y
 * channel, or the colour channels without alpha. */
static pcl_status load_planes(const char *path, int use_y, pcl_image **out)
{
    pcl_image *image = NULL, *converted = NULL;
    pcl_status status = pcl_image_read(path, &image);
    if (status != PCL_OK) return status;
    if (use_y) {
        if (image->max_value != 255.0f) {
            /* rgb2ycbcr's formula is on the 8-bit scale: rescale other depths. */
            float k = 255.0f / image->max_value;
            for (size_t i = 0; i < pcl_image_size(image); i++) image->data[i] *= k;
        }
        status = pcl_color_rgb_to_y(image, image->max_value == 255.0f ? PCL_YCBCR_MODE_ROUND_U8 : PCL_YCBCR_MODE_FLOAT,
                                    &converted);
    } else if (image->channels == 2 || image->channels == 4) {
        pcl_image *planes[4] = {0};
        status = pcl_color_split(image, planes);
        if (status == PCL_OK) status = pcl_color_merge(planes, image->channels - 1, &converted);
        for (int c = 0; c < 4; c++) pcl_image_destroy(planes[c]);
        if (converted) converted->max_value = image->max_value;
    } else {
        *out = image;
        return PCL_OK;
    }
    pcl_image_destroy(image);
    *out = status == PCL_OK ? converted : NULL;
    if (status != PCL_OK) pcl_image_destroy(converted);
    return status;
}

/* Copies the channels of image into planes (channel c of image i at
 * plane i*C + c), each height*width floats. */
static void to_planes(const pcl_image *image, float *planes)
{
    size_t pixels = (size_t)image->width * (size_t)image->height;
    for (int c = 0; c < image->channels; c++)
        for (size_t p = 0; p < pixels; p++) planes[(size_t)c * pixels + p] = image->data[p * (size_t)image->channels + (size_t)c];
}

static int write_map(pcl_context *context, pcl_ssim *plan, cl_mem x, cl_mem y, int channels, const char *path)
{
    int map_h, map_w;
    pcl_ssim_scale level1[5];
    if (pcl_ssim_scales(plan, 0, level1) != PCL_OK) return app_fail("ssim", "reading the map size");
    map_h = level1[0].map_height;
    map_w = level1[0].map_width;
    size_t count = (size_t)map_h * (size_t)map_w;
    float *maps = malloc(sizeof(float) * count * (size_t)channels);
    pcl_image *picture = NULL;
    cl_mem buffer = NULL;
    int rc = 1;
    if (!maps || pcl_image_create(&picture, map_w, map_h, 1) != PCL_OK) {
        fprintf(stderr, "perceptcl ssim: out of memory for the map\n");
        goto done;
    }
    if (pcl_buffer_create(context, sizeof(float) * count * (size_t)channels, &buffer) != PCL_OK ||
        pcl_ssim_maps(plan, x, y, buffer, NULL) != PCL_OK ||
        pcl_buffer_read(context, buffer, 0, sizeof(float) * count * (size_t)channels, maps) != PCL_OK) {
        rc = app_fail("ssim", "computing the SSIM map");
        goto done;
    }
    for (size_t p = 0; p < count; p++) {
        double mean = 0;
        for (int c = 0; c < channels; c++) mean += maps[(size_t)c * count + p];
        mean /= channels;
        picture->data[p] = (float)(255.0 * (mean < 0 ? 0 : mean > 1 ? 1 : mean));
    }
    if (pcl_image_write_png(path, picture) != PCL_OK) {
        rc = app_fail("ssim", "writing the map");
        goto done;
    }
    rc = 0;
done:
    pcl_buffer_release(buffer);
    pcl_image_destroy(picture);
    free(maps);
    return rc;
}

static int write_grad(pcl_context *context, cl_mem grad, int width, int height, int channels, const char *path)
{
    size_t pixels = (size_t)width * (size_t)height;
    float *planes = malloc(sizeof(float) * pixels * (size_t)channels);
    pcl_image *image = NULL;
    /* PFM holds 1 or 3 channels: exactly what load_planes leaves. */
    if (!planes || pcl_image_create(&image, width, height, channels) != PCL_OK) {
        free(planes);
        fprintf(stderr, "perceptcl ssim: out of memory for the gradient\n");
        return 1;
    }
    int rc = 0;
    if (pcl_buffer_read(context, grad, 0, sizeof(float) * pixels * (size_t)channels, planes) != PCL_OK) {
        rc = app_fail("ssim", "reading the gradient");
    } else {
        /* The value is the mean over channels: each channel's gradient / C. */
        for (int c = 0; c < channels; c++)
            for (size_t p = 0; p < pixels; p++)
                image->data[p * (size_t)channels + (size_t)c] = planes[(size_t)c * pixels + p] / (float)channels;
        if (pcl_image_write_pfm(path, image) != PCL_OK) rc = app_fail("ssim", "writing the gradient");
    }
    pcl_image_destroy(image);
    free(planes);
    return rc;
}

static int print_results(const ssim_args *args, const float *values, int channels, double range)
{
    if (!args->json) {
        for (int d = 0; d < args->dist_count; d++) {
            double mean = 0;
            for (int c = 0; c < channels; c++) mean += values[d * channels + c];
            printf("%s %.6f  %s\n", args->options.scales == 5 ? "MS-SSIM" : "SSIM", mean / channels, args->dists[d]);
        }
        return 0;
    }
    json_t *results = json_array();
    for (int d = 0; results && d < args->dist_count; d++) {
        double mean = 0;
        json_t *per_channel = json_array();
        for (int c = 0; c < channels; c++) {
            mean += values[d * channels + c];
            json_array_append_new(per_channel, json_real(values[d * channels + c]));
        }
        json_t *item = json_pack("{s:s, s:f, s:o}", "file", args->dists[d], "value", mean / channels, "per_channel",
                                 per_channel);
        if (json_array_append_new(results, item) != 0) json_decref(results), results = NULL;
    }
    json_t *doc = !results ? NULL
                           : json_pack("{s:s, s:s, s:s, s:f, s:s, s:s, s:o}", "metric",
                                       args->options.scales == 5 ? "msssim" : "ssim", "mode",
                                       args->options.mode == PCL_SSIM_MODE_SAME ? "same" : "valid", "weights",
                                       args->options.weights == PCL_SSIM_WEIGHTS_EQUAL ? "equal" : "standard",
                                       "range", range, "channels",
                                       args->use_y ? "y" : channels == 1 ? "gray" : "rgb-mean", "reference",
                                       args->reference, "results", results);
    /* float32 values: 9 significant digits hold them exactly. */
    return app_print_json("ssim", doc, 9);
}

int app_ssim(int argc, char **argv)
{
    ssim_args args = {0};
    int rc = parse_args(argc, argv, &args);
    if (rc >= 0) {
        free(args.dists);
        return rc;
    }
    /* The output files are reserved first (an unwritable folder fails before
     * any work) and replace their targets together at the end, or not at all. */
    pcl_file_set *outputs = NULL;
    const char *map_temp = NULL, *grad_temp = NULL;
    if (pcl_file_set_create(&outputs) != PCL_OK ||
        (args.map_path && pcl_file_set_add(outputs, args.map_path, &map_temp) != PCL_OK) ||
        (args.grad_path && pcl_file_set_add(outputs, args.grad_path, &grad_temp) != PCL_OK)) {
        pcl_file_set_destroy(outputs);
        free(args.dists);
        return app_fail("ssim", "output");
    }
    pcl_image **images = calloc((size_t)args.dist_count + 1, sizeof *images);
    float *x_host = NULL, *y_host = NULL, *values = NULL;
    pcl_context *context = NULL;
    pcl_ssim *plan = NULL;
    cl_mem x = NULL, y = NULL, grad = NULL;
    rc = 1;

    /* Read and check every file before touching the device. */
    for (int i = 0; i <= args.dist_count; i++) {
        const char *path = i == 0 ? args.reference : args.dists[i - 1];
        if (load_planes(path, args.use_y, &images[i]) != PCL_OK) {
            fprintf(stderr, "perceptcl ssim: %s\n", pcl_last_error());
            goto done;
        }
        const pcl_image *ref = images[0], *img = images[i];
        if (img->width != ref->width || img->height != ref->height) {
            fprintf(stderr, "perceptcl ssim: %s is %dx%d but the reference %s is %dx%d (width x height)\n", path,
                    img->width, img->height, args.reference, ref->width, ref->height);
            goto done;
        }
        if (img->channels != ref->channels) {
            fprintf(stderr, "perceptcl ssim: %s has %d channel(s) but the reference %s has %d: use --y to compare luma\n",
                    path, img->channels, args.reference, ref->channels);
            goto done;
        }
    }
    const int width = images[0]->width, height = images[0]->height, channels = images[0]->channels;
    const int batch = args.dist_count * channels;
    double range = args.range_set ? args.options.data_range : args.use_y ? 255.0 : images[0]->max_value;
    args.options.data_range = range;
    size_t plane = (size_t)width * (size_t)height;
    x_host = malloc(sizeof(float) * plane * (size_t)batch);
    y_host = malloc(sizeof(float) * plane * (size_t)batch);
    values = malloc(sizeof(float) * (size_t)batch);
    if (!x_host || !y_host || !values) {
        fprintf(stderr, "perceptcl ssim: out of memory for %d images of %dx%d\n", batch, width, height);
        goto done;
    }
    for (int d = 0; d < args.dist_count; d++) {
        to_planes(images[0], x_host + (size_t)d * (size_t)channels * plane);
        to_planes(images[d + 1], y_host + (size_t)d * (size_t)channels * plane);
    }

    context = app_open_context(&args.selection);
    if (!context) goto done;
    if (pcl_ssim_create(context, batch, height, width, &args.options, &plan) != PCL_OK) {
        fprintf(stderr, "perceptcl ssim: %s (%s, %dx%d)\n", pcl_last_error(), args.reference, width, height);
        goto done;
    }
    size_t bytes = sizeof(float) * plane * (size_t)batch;
    if (pcl_buffer_create(context, bytes, &x) != PCL_OK || pcl_buffer_create(context, bytes, &y) != PCL_OK ||
        (args.grad_path && pcl_buffer_create(context, bytes, &grad) != PCL_OK) ||
        pcl_buffer_write(context, x, 0, bytes, x_host) != PCL_OK ||
        pcl_buffer_write(context, y, 0, bytes, y_host) != PCL_OK) {
        rc = app_fail("ssim", "uploading the images");
        goto done;
    }
    if (pcl_ssim_run(plan, x, y, values, grad) != PCL_OK) {
        rc = app_fail("ssim", "computing");
        goto done;
    }
    for (int i = 0; i < batch; i++)
        if (!isfinite(values[i])) {
            /* Inputs are finite (the readers refuse NaN/inf), so only magnitudes
             * beyond float32's squares get here: name both files. */
            fprintf(stderr, "perceptcl ssim: the SSIM of %s against %s is not finite: pixel values too large "
                    "for float32 arithmetic (|x|^2 overflows)\n", args.dists[i / channels], args.reference);
            goto done;
        }
    if (map_temp && write_map(context, plan, x, y, channels, map_temp) != 0) goto done;
    if (grad_temp && write_grad(context, grad, width, height, channels, grad_temp) != 0) goto done;
    if (pcl_file_set_commit(outputs) != PCL_OK) {
        rc = app_fail("ssim", "writing the outputs");
        goto done;
    }
    rc = print_results(&args, values, channels, range);
done:
    pcl_file_set_destroy(outputs);
    pcl_buffer_release(x);
    pcl_buffer_release(y);
    pcl_buffer_release(grad);
    pcl_ssim_destroy(plan);
    pcl_context_destroy(context);
    for (int i = 0; i <= args.dist_count; i++) pcl_image_destroy(images[i]);
    free(images);
    free(x_host);
    free(y_host);
    free(values);
    free(args.dists);
    return rc;
}
