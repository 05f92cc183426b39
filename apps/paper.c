/* The tables of Snell et al. 2017 ("Learning to generate images with
 * perceptual similarity metrics", ICIP) that the apps print beside ours. */
#include "app.h"

#include <stddef.h>
#include <string.h>
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

static const char *const losses[3] = {"MSE", "MAE", "MS-SSIM"};

static const char *const table1_columns[3] = {"identity error (%)", "azimuth MSE", "elevation MSE"};
static const double table1_values[3 * 3] = {
    5.60, 277.46, 51.46, /* MSE */
    5.60, 325.19, 50.23, /* MAE */
    3.53, 234.32, 35.60, /* MS-SSIM */
};
const app_paper_table app_paper_table1 = {
    "Table 1: test error of SVMs on the bottleneck of convolutional autoencoders for Yale B",
    3, 3, losses, table1_columns, table1_values};

static const double table3_values[3 * 3] = {
    0.0233, 0.1012, 0.5212, /* trained with MSE */
    0.0262, 0.0964, 0.5178, /* MAE */
    0.0271, 0.1064, 0.6018, /* MS-SSIM */
};
const app_paper_table app_paper_table3 = {
    "Table 3: held-out reconstruction losses of the convolutional autoencoders (row: training loss)",
    3, 3, losses, losses, table3_values};

/* Sec. A.3: "the MSE-optimized network achieves a better reconstruction MSE
 * on 69.71% of the held-out images and the SSIM-optimized network achieves a
 * better reconstruction SSIM score on 97.33% of images" (12,000 queries). */
static const char *const fc_nets[2] = {"MSE", "SSIM"};
static const char *const fc_wins_column[1] = {"images better on its own metric (%)"};
static const double fc_wins_values[2 * 1] = {69.71, 97.33};
const app_paper_table app_paper_fc_wins = {
    "Section A.3: the fully-connected binary autoencoders, per-image wins on held-out CIFAR-10 (row: training loss)",
    2, 1, fc_nets, fc_wins_column, fc_wins_values};

const double *app_paper_table_find(const app_paper_table *table, const char *row, const char *column)
{
    for (int r = 0; r < table->rows; r++)
        for (int c = 0; c < table->columns; c++)
            if (strcasecmp(row, table->row_labels[r]) == 0 && strcmp(column, table->column_labels[c]) == 0)
                return &table->values[r * table->columns + c];
    return NULL;
}
