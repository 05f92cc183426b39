/* perceptcl mmd: the relative-similarity MMD test (perceptcl/mmd.h) on three
 * folders of images: which of two samples is closer to a reference? The
 * EL-VAE experiment (issue 14) compares its models' samples with it. */
#include "app.h"

#include "perceptcl/datasets.h"
#include "perceptcl/mmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: perceptcl mmd REFERENCE_DIR A_DIR B_DIR [--limit N] [--sigma S] [--json] [device flags]\n\n"
    "The relative-similarity test of Bounliphone et al. (2016): is sample A or sample B closer to the\n"
    "reference in squared MMD? Each image (gray: PIL luma of colour) becomes a row of its pixels / 255;\n"
    "all images of the three folders must have one size. The first --limit N images of each folder\n"
    "(by name; default all). Gaussian kernel, bandwidth by the median heuristic over the first 1,000\n"
    "rows (or --sigma S, in those units), unbiased U-statistics, Var from MMD_Diff_Var, p = 0.5 erfc(t /\n"
    "sqrt(2 Var)) with t = MMD^2(ref, A) - MMD^2(ref, B): a small p says B is closer, a p near 1 says A.\n"
    "The reference needs >= 3 images, A and B >= 2. --json prints one line of JSON.\n";

typedef struct sample {
    const char *dir;
    float *rows;
    size_t count;
    int width, height;
} sample;

/* Reads the folder's first `limit` images (0: all) as rows; each must be width x height
 * (taken from the first image when 0). 0, or 1 after an error line. */
static int read_sample(const char *cmd, sample *s, size_t needed, long limit, int *width, int *height)
{
    pcl_folder_options options = {.channels = 1, .width = *width, .height = *height};
    pcl_dataset *data = NULL;
    if (pcl_dataset_open_folder(s->dir, &options, &data) != PCL_OK) return app_fail(cmd, s->dir);
    size_t count = pcl_dataset_count(data);
    if (limit > 0 && (size_t)limit < count) count = (size_t)limit;
    int rc = 0;
    if (count < needed)
        rc = (fprintf(stderr, "perceptcl %s: %s: %zu images, the test needs >= %zu\n", cmd, s->dir, count, needed), 1);
    for (size_t i = 0; i < count && rc == 0; i++) {
        pcl_image *image = NULL;
        if (pcl_dataset_read_image(data, i, &image, NULL) != PCL_OK) {
            rc = app_fail(cmd, s->dir);
            break;
        }
        if (!*width) *width = image->width, *height = image->height;
        size_t pixels = (size_t)*width * *height;
        if (image->width != *width || image->height != *height)
            rc = (fprintf(stderr, "perceptcl %s: %s: image %zu is %dx%d, the others %dx%d\n", cmd, s->dir, i,
                          image->width, image->height, *width, *height), 1);
        else if (i == 0 && !(s->rows = malloc(count * pixels * sizeof *s->rows)))
            rc = (fprintf(stderr, "perceptcl %s: out of memory for %zu images\n", cmd, count), 1);
        for (size_t p = 0; rc == 0 && p < pixels; p++)
            s->rows[i * pixels + p] = (float)(image->data[p] / image->max_value);
        pcl_image_destroy(image);
    }
    pcl_dataset_destroy(data);
    s->count = count;
    return rc;
}

int app_mmd(int argc, char **argv)
{
    const char *cmd = "mmd";
    static const app_option options[] = {{"--limit", "N"}, {"--sigma", "S"}, {"--json", NULL}, {NULL, NULL}};
    pcl_device_selection selection = {0};
    pcl_mmd_options o = pcl_mmd_options_default();
    sample samples[3] = {{0}};
    int count = 0, json = 0;
    long limit = 0;
    app_args r;
    app_args_init(&r, cmd, usage, options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option && count == 3) app_args_error(&r, "three folders only (REFERENCE A B), not '%s'", r.value);
        else if (!r.option) samples[count++].dir = r.value;
        else if (app_args_is(&r, "--limit")) app_args_long(&r, 2, 100000000, &limit);
        else if (app_args_is(&r, "--sigma")) app_args_positive(&r, &o.sigma);
        else if (app_args_is(&r, "--json")) json = 1;
    }
    if (r.exit_code < 0 && count < 3) app_args_error(&r, "needs three folders: REFERENCE A B");
    if (r.exit_code >= 0) return r.exit_code;

    int width = 0, height = 0, rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) rc = read_sample(cmd, &samples[i], i ? 2 : 3, limit, &width, &height);
    pcl_context *context = rc == 0 ? app_open_context(&selection) : NULL;
    if (rc == 0 && !context) rc = 1;
    pcl_mmd_result result;
    if (rc == 0 && pcl_mmd_relative_similarity(context, samples[0].rows, samples[0].count, samples[1].rows,
                                               samples[1].count, samples[2].rows, samples[2].count,
                                               (size_t)width * height, &o, &result) != PCL_OK)
        rc = app_fail(cmd, "the test");
    if (rc == 0 && json) {
        rc = app_print_json(cmd,
                            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                                      "reference", samples[0].dir, "a", samples[1].dir, "b", samples[2].dir,
                                      "reference_images", (json_int_t)samples[0].count, "a_images",
                                      (json_int_t)samples[1].count, "b_images", (json_int_t)samples[2].count, "width",
                                      width, "height", height, "sigma", result.sigma, "mmd2_a", result.mmd2_xy,
                                      "mmd2_b", result.mmd2_xz, "t", result.t, "variance", result.variance,
                                      "statistic", result.statistic, "p_value", result.p_value),
                            17);
    } else if (rc == 0) {
        printf("reference %s (%zu images of %dx%d), A %s (%zu), B %s (%zu)\n", samples[0].dir, samples[0].count,
               width, height, samples[1].dir, samples[1].count, samples[2].dir, samples[2].count);
        printf("sigma %.6g\nMMD^2(reference, A) %.6g\nMMD^2(reference, B) %.6g\nt %.6g, variance %.6g, statistic "
               "%.4g, p %.4g\n",
               result.sigma, result.mmd2_xy, result.mmd2_xz, result.t, result.variance, result.statistic,
               result.p_value);
        printf("%s\n", result.p_value < 0.05   ? "B is significantly closer to the reference (p < 0.05)"
                       : result.p_value > 0.95 ? "A is significantly closer to the reference (p > 0.95)"
                                               : "neither is significantly closer at the 5% level");
    }
    for (int i = 0; i < 3; i++) free(samples[i].rows);
    pcl_context_destroy(context);
    return rc;
}
