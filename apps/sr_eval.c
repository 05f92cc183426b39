/* perceptcl sr-eval: the super-resolution evaluation protocol of SRCNN on
 * folders of images (PSNR and SSIM on Y after bicubic down and up, shaved),
 * beside the bicubic column of the paper's Table 2. */
#include "app.h"
#include "perceptcl/sr.h"

#include <stdlib.h>

static const char usage[] =
    "usage: perceptcl sr-eval [--scale S] [--json] DIR...\n\n"
    "The SRCNN evaluation protocol on each folder of images: Y of BT.601 YCbCr, modcrop to S,\n"
    "MATLAB bicubic down by 1/S then up by S, S pixels shaved, rounded to 8 bits; PSNR on the\n"
    "8-bit Y and SSIM as Wang's ssim_index (valid, Gaussian 11/1.5, L = 255). Reports the\n"
    "bicubic baseline per folder, beside the paper's Table 2 bicubic figures (x4) where the\n"
    "folder is Set5, Set14 or BSD200, as a Markdown table or (--json) as perceptcl srcnn eval's\n"
    "JSON without models. Default scale 4. Under mpirun the ranks share each folder's images out\n"
    "and rank 0 prints the same report as one process.\n\n";

static const app_option options[] = {{"--scale", "S"}, {"--json", NULL}, {NULL, NULL}};

static const app_metric metrics[] = {{"psnr", "PSNR", 2, 4}, {"ssim", "SSIM", 4, 6}};
static const char *const bicubic[] = {"bicubic"};

int app_sr_eval(int argc, char **argv)
{
    pcl_device_selection selection = {0};
    int scale = 4, json = 0, dir_count = 0;
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    if (!dirs) return fprintf(stderr, "perceptcl sr-eval: out of memory\n"), 1;
    app_args r;
    app_args_init(&r, "sr-eval", usage, options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) dirs[dir_count++] = r.value;
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
        else if (app_args_is(&r, "--json")) json = 1;
    }
    if (r.exit_code < 0 && dir_count == 0) app_args_error(&r, "needs a folder (perceptcl sr-eval --help)");
    if (r.exit_code >= 0) return free(dirs), r.exit_code;
    pcl_context *context = app_open_context(&selection);
    if (!context) return free(dirs), 1;

    app_report_row *rows = calloc((size_t)dir_count, sizeof *rows);
    double *values = calloc((size_t)dir_count * 2, sizeof *values); /* per folder: PSNR, SSIM */
    double *paper = calloc((size_t)dir_count * 2, sizeof *paper);
    char (*names)[256] = calloc((size_t)dir_count, sizeof *names);
    int rc = rows && values && paper && names ? 0 : (fprintf(stderr, "perceptcl sr-eval: out of memory\n"), 1);
    for (int d = 0; d < dir_count && rc == 0; d++) {
        size_t images = 0;
        pcl_sr_score mean;
        if (pcl_sr_evaluate_folder_sharded(context, app_comm(), dirs[d], scale, NULL, 0, &images, &mean) != PCL_OK) {
            rc = app_fail("sr-eval", dirs[d]);
            break;
        }
        app_base_name(dirs[d], names[d], sizeof names[d]);
        values[2 * d] = mean.psnr;
        values[2 * d + 1] = mean.ssim;
        /* The paper's bicubic column (Table 2) is for x4 only. */
        const app_paper_row *row = scale == 4 ? app_paper_row_find(names[d]) : NULL;
        if (row) paper[2 * d] = row->psnr[0], paper[2 * d + 1] = row->ssim[0];
        rows[d] = (app_report_row){names[d], (long)images, &values[2 * d], row ? &paper[2 * d] : NULL};
    }
    if (rc == 0 && app_is_root()) { /* every rank has the same table */
        char title[128];
        snprintf(title, sizeof title, "Bicubic x%d: PSNR (dB) and SSIM on Y (SRCNN protocol)", scale);
        json_t *header = json_pack("{s:s, s:i}", "protocol", "srcnn", "scale", scale);
        app_report report = {title, "set", "sets", "images", metrics, 2, bicubic, 1, app_paper_labels,
                             scale == 4, rows, dir_count, NULL, header};
        if (json) rc = app_print_json("sr-eval", header ? app_report_json(&report) : NULL, 15);
        else {
            char *markdown = app_report_markdown(&report);
            if (markdown) fputs(markdown, stdout);
            else rc = (fprintf(stderr, "perceptcl sr-eval: out of memory\n"), 1);
            free(markdown);
        }
        json_decref(header);
    }
    free(rows);
    free(values);
    free(paper);
    free(names);
    pcl_context_destroy(context);
    free(dirs);
    return rc;
}
