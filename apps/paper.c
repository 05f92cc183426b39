/* The tables of Snell et al. 2017 ("Learning to generate images with
 * perceptual similarity metrics", ICIP) that the apps print beside ours. */
#include "app.h"

#include <strings.h>

const app_paper_row app_paper_table2[APP_PAPER_SETS] = {
    {"Set5", {28.44, 30.52, 29.57, 30.35}, {0.8097, 0.8621, 0.8350, 0.8681}},
    {"Set14", {26.01, 27.53, 26.82, 27.47}, {0.7018, 0.7512, 0.7310, 0.7610}},
    {"BSD200", {25.92, 26.87, 26.47, 26.84}, {0.6952, 0.7378, 0.7220, 0.7484}},
};
const char *const app_paper_columns[APP_PAPER_COLUMNS] = {"bicubic", "mse", "mae", "msssim"};
const char *const app_paper_labels[APP_PAPER_COLUMNS] = {"bicubic", "MSE", "MAE", "MS-SSIM"};

const app_paper_row *app_paper_row_find(const char *set)
{
    for (int i = 0; i < APP_PAPER_SETS; i++)
        if (strcasecmp(set, app_paper_table2[i].set) == 0) return &app_paper_table2[i];
    return NULL;
}
