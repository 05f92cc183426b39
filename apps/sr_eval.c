/* perceptcl sr-eval: the super-resolution evaluation protocol of SRCNN on
 * folders of images (PSNR and SSIM on Y after bicubic down and up, shaved),
 * beside the bicubic column of the paper's Table 2. */
#include "app.h"
#include "perceptcl/datasets.h"
#include "perceptcl/image.h"
#include "perceptcl/sr.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: perceptcl sr-eval [--scale S] [--json] DIR...\n\n"
    "The SRCNN evaluation protocol on each folder of images: Y of BT.601 YCbCr, modcrop to S,\n"
    "MATLAB bicubic down by 1/S then up by S, S pixels shaved, rounded to 8 bits; PSNR on the\n"
    "8-bit Y and SSIM as Wang's ssim_index (valid, Gaussian 11/1.5, L = 255). Reports the\n"
    "bicubic baseline per folder, beside the paper's Table 2 bicubic figures (x4) where the\n"
    "folder is Set5, Set14 or BSD200. Default scale 4.\n\n";

/* Mean PSNR and SSIM of the bicubic baseline over the images of dir. */
static int evaluate_folder(pcl_context *context, const char *dir, int scale, int *count, double *psnr, double *ssim)
{
    pcl_folder_options options = {0};
    pcl_dataset *dataset = NULL;
    if (pcl_dataset_open_folder(dir, &options, &dataset) != PCL_OK) return app_fail("sr-eval", dir);
    *count = (int)pcl_dataset_count(dataset);
    *psnr = *ssim = 0;
    int rc = 0;
    for (int i = 0; i < *count && rc == 0; i++) {
        pcl_record_info info;
        pcl_image *image = NULL, *truth = NULL, *bicubic = NULL;
        pcl_sr_score score;
        if (pcl_dataset_record_info(dataset, (size_t)i, &info) != PCL_OK || pcl_image_read(info.path, &image) != PCL_OK ||
            pcl_sr_prepare(image, scale, &truth, &bicubic) != PCL_OK ||
            pcl_sr_score_pair(context, truth, bicubic, scale, &score) != PCL_OK) {
            fprintf(stderr, "perceptcl sr-eval: %s\n", pcl_last_error());
            rc = 1;
        } else {
            *psnr += score.psnr / *count;
            *ssim += score.ssim / *count;
        }
        pcl_image_destroy(image);
        pcl_image_destroy(truth);
        pcl_image_destroy(bicubic);
    }
    pcl_dataset_destroy(dataset);
    if (rc == 0 && *count == 0) {
        fprintf(stderr, "perceptcl sr-eval: no images in %s\n", dir);
        rc = 1;
    }
    return rc;
}

int app_sr_eval(int argc, char **argv)
{
    pcl_device_selection selection = {0};
    int scale = 4, json = 0, dir_count = 0;
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    for (int i = 1; i < argc; i++) {
        int used = app_parse_device_flag(argc, argv, &i, &selection);
        if (used < 0) return free(dirs), 2;
        if (used) continue;
        char *end;
        if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            scale = (int)strtol(argv[++i], &end, 10);
            if (*end || scale < 2 || scale > 8)
                return free(dirs), fprintf(stderr, "perceptcl sr-eval: --scale must be 2..8, not '%s'\n", argv[i]), 2;
        } else if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return free(dirs), printf("%s%s", usage, app_device_flags_help), 0;
        else if (argv[i][0] == '-')
            return free(dirs), fprintf(stderr, "perceptcl sr-eval: unknown option or missing value: '%s'\n", argv[i]), 2;
        else dirs[dir_count++] = argv[i];
    }
    if (dir_count == 0) return free(dirs), fprintf(stderr, "perceptcl sr-eval: needs a folder\n%s", usage), 2;
    pcl_context *context = app_open_context(&selection);
    if (!context) return free(dirs), 1;

    int rc = 0;
    if (json) printf("{\"protocol\": \"srcnn\", \"scale\": %d, \"sets\": [", scale);
    else printf("| set | images | bicubic PSNR (dB) | bicubic SSIM | paper's bicubic (x4) |\n|---|---|---|---|---|\n");
    for (int d = 0; d < dir_count && rc == 0; d++) {
        int count = 0;
        double psnr = 0, ssim = 0;
        rc = evaluate_folder(context, dirs[d], scale, &count, &psnr, &ssim);
        if (rc) break;
        char name[256];
        app_base_name(dirs[d], name, sizeof name);
        /* The paper's bicubic column (Table 2) is for x4 only. */
        const app_paper_row *paper = scale == 4 ? app_paper_row_find(name) : NULL;
        if (json) {
            printf("%s{\"set\": ", d ? ", " : "");
            app_print_json_string(stdout, name);
            printf(", \"images\": %d, \"bicubic\": {\"psnr\": %.4f, \"ssim\": %.6f}", count, psnr, ssim);
            if (paper) printf(", \"paper_bicubic\": {\"psnr\": %.2f, \"ssim\": %.4f}", paper->psnr[0], paper->ssim[0]);
            printf("}");
        } else {
            char paper_text[64] = "-";
            if (paper) snprintf(paper_text, sizeof paper_text, "%.2f / %.4f", paper->psnr[0], paper->ssim[0]);
            printf("| %s | %d | %.2f | %.4f | %s |\n", name, count, psnr, ssim, paper_text);
        }
        fflush(stdout);
    }
    if (json && rc == 0) printf("]}\n");
    pcl_context_destroy(context);
    free(dirs);
    return rc;
}
