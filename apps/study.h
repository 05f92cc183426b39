/* The human-judgment study kit (perceptcl study): the items manifest that
 * every experiment app writes, the statistics of the analysis, and the
 * subcommands. Paper: Snell et al. 2017, sections 3.2 and 4.2. */
#ifndef PERCEPTCL_APP_STUDY_H
#define PERCEPTCL_APP_STUDY_H

#include <jansson.h>
#include <stddef.h>

/* ---- the items manifest (study_manifest.c) ----------------------------------
 * A JSON file that lists, per item, an original image and one reconstruction
 * per method (2 or 3 methods, every item has all of them):
 *
 *   {"format": "perceptcl-study-items", "version": 1,
 *    "methods": ["MS-SSIM", "MSE"],
 *    "items": [{"id": "baby", "original": "original/baby.png",
 *               "images": {"MS-SSIM": "msssim/baby.png", "MSE": "mse/baby.png"}}, ...]}
 *
 * Relative image paths are relative to the manifest's folder. Method names:
 * 1..32 printable characters, not "original" (the catch trials' name for the
 * original itself), no two alike. Item ids: 1..64 of [A-Za-z0-9._-], unique.
 * The order of "methods" is the order of the analysis's comparisons ("A over
 * B" with A listed first). */
enum { APP_STUDY_MAX_METHODS = 3 };

typedef struct app_study_item {
    const char *id;
    const char *original;
    const char *images[APP_STUDY_MAX_METHODS]; /* in the order of methods */
} app_study_item;

typedef struct app_study_items {
    int method_count;
    const char *methods[APP_STUDY_MAX_METHODS];
    int item_count;
    app_study_item *items;
    json_t *owner;  /* set by the reader: the strings point into it */
    char *base_dir; /* set by the reader: the manifest's folder, for relative paths */
} app_study_items;

/* Checks items (the rules above); 0, or 1 after "perceptcl <app>: ..." on stderr. */
int app_study_items_check(const char *app, const app_study_items *items);
/* Writes the manifest atomically (paths written as given); 0, or 1 after an error line. */
int app_study_items_write(const char *app, const char *path, const app_study_items *items);
/* Reads and checks a manifest; 0, or 1 after an error line naming the file. */
int app_study_items_read(const char *app, const char *path, app_study_items *out);
/* An image path of the manifest as a path from the working folder (malloc'd). */
char *app_study_items_path(const app_study_items *items, const char *path);
void app_study_items_free(app_study_items *items);

/* ---- statistics (study_stats.c) ---------------------------------------------- */

/* Wilson score interval (Wilson 1927) of k successes in n trials at the
 * normal quantile z (1.959963984540054 for 95%); n = 0 gives [0, 1]. */
void app_study_wilson(long k, long n, double z, double *low, double *high);
/* Two-sided exact binomial test of k in n against p = 1/2 (the sign test):
 * the probability, under p = 1/2, of an outcome at most as likely as k
 * (for p = 1/2: min(1, 2 P(X <= min(k, n - k)))). n = 0 gives 1. */
double app_study_sign_test(long k, long n);
/* Agreement of raters on units: counts[u * categories + c] raters put unit u
 * in category c. Units with fewer than 2 ratings are left out. Fleiss' kappa
 * (Fleiss 1971), generalised to a varying number of raters per unit: P_u =
 * (sum_c n_uc^2 - n_u) / (n_u (n_u - 1)), P = mean of P_u (the pairwise
 * agreement), p_c = sum_u n_uc / sum_u n_u, Pe = sum_c p_c^2, kappa = (P - Pe)
 * / (1 - Pe). Returns the units used; kappa is NaN when none or Pe = 1. */
long app_study_agreement(const long *counts, long units, int categories, double *pairwise, double *kappa);

/* ---- figures (study_figures.c): SVG text (malloc'd), NULL when out of memory ---- */

/* A bar chart: groups along x, a bar per series in each (values[group * series + s]),
 * optional interval whiskers (low, high of the same shape), a dashed line at
 * reference (NaN: none). */
typedef struct app_study_bars {
    const char *title, *y_label;
    int groups, series;
    const char *const *group_names, *const *series_names;
    const double *values, *low, *high;
    double y_max, reference;
} app_study_bars;
char *app_study_svg_bars(const app_study_bars *bars);

/* Rows of three images (PNG files, embedded), each row under its caption;
 * also NULL when an image cannot be read. */
typedef struct app_study_triplets {
    const char *title;
    int rows;
    const char *const *captions;
    const char *const *images; /* [row * 3 + column] */
    const int *widths, *heights;
} app_study_triplets;
char *app_study_svg_triplets(const app_study_triplets *triplets);

/* ---- the subcommands -------------------------------------------------------- */
extern const char app_study_usage[];
int app_study_run_items(int argc, char **argv);
int app_study_run_make(int argc, char **argv);
int app_study_run_analyze(int argc, char **argv);

/* The page files embedded at build time (apps/study_page/, written by tools/embed_files.c). */
typedef struct app_study_page_file {
    const char *name;
    const unsigned char *bytes;
    size_t length;
} app_study_page_file;
extern const app_study_page_file app_study_page_files[];
extern const size_t app_study_page_file_count;

#endif
