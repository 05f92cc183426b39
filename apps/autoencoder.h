/* What the autoencoder experiments share (perceptcl fcae, app. A.1, and
 * perceptcl convae, app. A.2): a view of a data source (a subset, repeated
 * with fresh crops), sets of images through a pipeline and a seeded split,
 * training an architecture on a training and a validation source with early
 * stopping (on top of train_cmd.c), loading models whose files name their
 * architecture, scoring N models on a set of images (per-image MSE, MAE,
 * SSIM, MS-SSIM), per-image win counts with 95% intervals, the images of
 * largest and smallest advantage, a reconstruction grid and the study kit's
 * items.
 *
 * Pixels are on the networks' scale, [-1, 1]: MSE and MAE are means over an
 * image's pixels of (y - x)^2 and |y - x| on that scale (4x and 2x their
 * values on [0, 1]); SSIM and MS-SSIM take L = 2. */
#ifndef PERCEPTCL_APP_AUTOENCODER_H
#define PERCEPTCL_APP_AUTOENCODER_H

#include "app.h"
#include "perceptcl/datasets.h"
#include "perceptcl/image.h"
#include "perceptcl/model.h"
#include "perceptcl/pipeline.h"
#include "perceptcl/ssim.h"
#include "perceptcl/trainer.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- a view of a data source ------------------------------------------------
 * count records; record i is base's record map[i % map_count] (map NULL:
 * i % base.count), filled alone with the seed pcl_train_step_seed(fill seed,
 * i), so that the copies of one image in an epoch draw different crops and
 * flips (the pipeline draws them from the seed and the base index). The
 * view must outlive the source. */
typedef struct app_ae_view {
    pcl_data_source base;
    const size_t *map; /* NULL: every base record */
    size_t map_count;
    size_t count; /* >= 1 */
} app_ae_view;
pcl_data_source app_ae_view_source(app_ae_view *view);

/* ---- a set of images ----------------------------------------------------------
 * Datasets (corpora or folders) through one pipeline, seen through a view:
 * luma (ITU-R 601-2), then as drawn (app_ae_draw), then [-1, 1]. Open the
 * datasets, then app_ae_set_finish; the set must not move afterwards (its
 * source points into it). */
enum { APP_AE_MAX_DATASETS = 8 };
typedef struct app_ae_set {
    pcl_dataset *datasets[APP_AE_MAX_DATASETS];
    int count;
    pcl_pipeline *pipeline;
    size_t *map; /* owned */
    app_ae_view view;
    pcl_data_source source;
} app_ae_set;

/* How a set's images become side x side records: window_min 0: as they are
 * (they must be side x side); else a seeded square window of side
 * window_min..window_max resized to side x side (RANDOM_RESIZED_CROP:
 * MATLAB bicubic, antialiased), mirrored left-right at random when flip. */
typedef struct app_ae_draw {
    int side, window_min, window_max, flip;
} app_ae_draw;

/* Adds a corpus under root, or a folder (side: the size every image must
 * have, 0 any). 0, or 1 after an error line. */
int app_ae_set_open_corpus(const char *app, app_ae_set *s, pcl_corpus corpus, const char *root);
int app_ae_set_open_folder(const char *app, app_ae_set *s, const char *dir, int side);
/* The pipeline over the datasets and the view of count records (0: one per
 * record of map) of map (map_count records; NULL: every record). map is
 * owned by the set from here on, also after a failure. 0, or 1 after an
 * error line. */
int app_ae_set_finish(const char *app, app_ae_set *s, const app_ae_draw *draw, size_t count, size_t *map,
                      size_t map_count);
void app_ae_set_free(app_ae_set *s);

/* Part (0 or 1) of a seeded split of n records into sizes[0] + sizes[1]
 * (pcl_split): *map (malloc'd) holds its sizes[part] record indices. 0, or
 * 1 after an error line. */
int app_ae_split(const char *app, size_t n, const size_t sizes[2], uint64_t seed, int part, size_t **map);

/* ---- training ---------------------------------------------------------------- */
typedef struct app_ae_job {
    const pcl_architecture *arch;
    pcl_data_source train;
    const pcl_data_source *validation; /* NULL: none (then no early stopping) */
    pcl_ssim_options ssim;             /* the SSIM-based losses' options */
    const char *title;                 /* the curve's */
    const char *const *metadata;       /* key, value, ..., NULL (app_train_metadata) */
    const char *init;                  /* NULL, or a model file of arch to start from */
    int he_init;                       /* 1: He-normal weights, zero biases (a deep ReLU stack: fcae) */
} app_ae_job;

/* Opens the device, builds job->arch with PyTorch's default initialisation
 * (PCL_INIT_TORCH_DEFAULT, seed t->seed; bench/RESULTS.md "W4a's loss": why
 * not He-normal for the conv AE), He-normal when job->he_init (README,
 * "Experiment 1": PyTorch's default fades the signal through 12 dense ReLU
 * layers), or job->init's weights, sets up the optimizer (app_train_setup), trains with early
 * stopping on the validation loss (t->patience; the best weights kept), and
 * saves the model (app_train_save) with job->metadata, "device" and
 * "train_seconds" (this run's wall time). 0, or 1 after an error line. */
int app_ae_train_run(app_train *t, const pcl_device_selection *selection, const app_ae_job *job);
/* Called after every epoch (its checkpoint written) with the model being
 * trained, on rank 0 only under mpirun: 0, or 1 after an error line, which
 * stops the run. */
typedef struct app_ae_epoch_hook {
    int (*run)(void *user, pcl_model *model, const pcl_trainer_epoch *epoch);
    void *user;
} app_ae_epoch_hook;
/* The same for a model with a VAE sampler, its KL weight kl_weight
 * (pcl_model_set_kl_weight; 0: the default 1), and hook (may be NULL). */
int app_ae_train_run_kl(app_train *t, const pcl_device_selection *selection, const app_ae_job *job, double kl_weight,
                        const app_ae_epoch_hook *hook);

/* ---- models ---------------------------------------------------------------- */
typedef struct app_ae_model {
    pcl_model *model;
    const pcl_architecture *arch;
    char label[64];   /* "MSE", "MAE", "MS-SSIM", "SSIM" from the file's loss, else the file name */
    char loss[32];    /* the file's "loss" ("" when absent) */
    char cost[256];   /* "N steps, I images, E epochs, S s of training steps over all runs on
                         DEVICE" (metadata; older files: "S s (last run)") */
} app_ae_model;

/* Loads each file into the architecture its metadata names, which must be
 * one of archs (count arch_count); another architecture, or none, fails
 * naming the file and the architectures taken. 0, or 1 after an error line
 * (the models loaded so far are freed). */
int app_ae_load(const char *app, pcl_context *context, const pcl_architecture *const *archs, int arch_count,
                const char *const *paths, int count, app_ae_model *models);
void app_ae_free(app_ae_model *models, int count);

/* ---- scores ------------------------------------------------------------------ */
enum { APP_AE_MSE = 0, APP_AE_MAE, APP_AE_SSIM, APP_AE_MSSSIM, APP_AE_METRICS };
extern const char *const app_ae_metric_keys[APP_AE_METRICS];   /* "mse", "mae", "ssim", "msssim" */
extern const char *const app_ae_metric_labels[APP_AE_METRICS]; /* "MSE", "MAE", "SSIM", "MS-SSIM" */
/* 1 when a higher value is better (SSIM, MS-SSIM). */
int app_ae_metric_higher_is_better(int metric);

typedef struct app_ae_eval {
    long images;
    int models;
    int shape[3];           /* c, h, w of an image */
    float *originals;       /* [image][c*h*w], [-1, 1] */
    float *reconstructions; /* [model][image][c*h*w] */
    double *scores;         /* [model][image][metric] */
} app_ae_eval;

/* Every record of source (its inputs, filled with seed 0) reconstructed by
 * each model in inference mode, in batches, and scored per image: MSE, MAE
 * in double on the host; SSIM (ssim: 1 scale) and MS-SSIM (msssim: 5
 * scales) on the device, L = 2 in both options. An image of C channels
 * scores the mean over its channels for SSIM and MS-SSIM. Under mpirun
 * (app_comm) each rank runs its contiguous part of the batches and every
 * rank gets all of it, in image order: the same bits as one process. 0, or
 * 1 after an error line (a rank that fails ends the job; the others wait). */
int app_ae_evaluate(const char *app, pcl_context *context, const app_ae_model *models, int count,
                    const pcl_data_source *source, const pcl_ssim_options *ssim, const pcl_ssim_options *msssim,
                    app_ae_eval *out);
void app_ae_eval_free(app_ae_eval *eval);
/* The mean of a metric over the images of one model. */
double app_ae_mean(const app_ae_eval *eval, int model, int metric);

/* ---- a scoring session -------------------------------------------------------
 * What eval and reconstruct share: the device, the models (files naming one
 * of archs) and their scores on a set of images (app_ae_evaluate). */
enum { APP_AE_MAX_MODELS = 8 };
typedef struct app_ae_session {
    pcl_context *context;
    app_ae_model models[APP_AE_MAX_MODELS];
    int model_count;
    const char *labels[APP_AE_MAX_MODELS]; /* the models' labels */
    app_ae_eval eval;
} app_ae_session;

/* Opens the device, loads the count (<= APP_AE_MAX_MODELS) files into
 * archs and scores them on source. 0, or 1 after an error line; call
 * app_ae_session_end after either. */
int app_ae_session_start(const char *app, const pcl_device_selection *selection, const pcl_architecture *const *archs,
                         int arch_count, const char *const *paths, int count, const pcl_data_source *source,
                         const pcl_ssim_options *ssim, const pcl_ssim_options *msssim, app_ae_session *s);
void app_ae_session_end(app_ae_session *s);

/* ---- the eval and reconstruct commands (autoencoder_cmd.c) ----------------------
 * What perceptcl convae and fcae's eval and reconstruct share. */
typedef struct app_ae_test_options {
    const char *paths[APP_AE_MAX_MODELS], *data, *images;
    int count, protocol, zoom, standard;
    long seed;
} app_ae_test_options;
/* 1 when r's option is one of --model, --data, --images, --protocol,
 * --seed, --zoom, --msssim-weights (read, or a usage error); a command's
 * option table lists those it takes. */
int app_ae_test_arg(app_args *r, app_ae_test_options *o);
/* Resolves --protocol against the data root: the protocol, or 0 after a usage error. */
typedef int (*app_ae_resolve)(app_args *r, const char *root, int protocol);
/* After the arguments: --model given, --data (or PERCEPTCL_DATA) or
 * --images, o->protocol resolved. Returns the data root. */
const char *app_ae_test_ready(app_args *r, app_ae_test_options *o, app_ae_resolve resolve);
/* eval's outputs, checked before any work: --report PREFIX's two files,
 * --grid, --study DIR (must not exist; 2 or 3 models). */
void app_ae_eval_outputs_check(app_args *r, const app_ae_test_options *o, const char *report, const char *grid,
                               const char *study);

/* The test set and the scoring session of one command. */
typedef struct app_ae_test_run {
    app_ae_set set;
    char set_name[128];
    app_ae_session s;
} app_ae_test_run;
void app_ae_test_run_end(app_ae_test_run *t);
/* Opens the command's test set, then the session (app_ae_session_start). */
typedef int (*app_ae_test_start)(const char *app, const pcl_device_selection *selection, const char *root,
                                 const app_ae_test_options *o, app_ae_test_run *t);

/* What eval writes besides its table: the grid (grid NULL: none) of
 * row_count rows with panels (NULL: original then each model), study items
 * of study_count images picked by --seed (study NULL: none), the report. */
typedef struct app_ae_eval_outputs {
    const char *report, *grid, *study;
    const long *rows;
    int row_count;
    const int *panels;
    int panel_count, study_count;
} app_ae_eval_outputs;
/* eval's arguments from r (initialised with the command's options): the
 * test options, --report, --grid, --study, --study-count; then
 * app_ae_test_ready and app_ae_eval_outputs_check. The data root; r's
 * exit_code as the argument reader leaves it. */
const char *app_ae_eval_args(app_args *r, app_ae_test_options *o, app_ae_eval_outputs *out, app_ae_resolve resolve);
/* Writes them, then the table (app_report_emit); a failure removes the grid.
 * Rank 0 only: the other ranks of a job write and print nothing. 0, or the
 * exit code after an error line. */
int app_ae_eval_write(const char *app, const app_ae_test_run *t, const app_ae_test_options *o,
                      const app_ae_eval_outputs *out, const app_report *table);

/* The whole reconstruct command: [--count 8] images of the test set picked
 * by --seed (all of a smaller set), original then each model, into OUT.png
 * (written by rank 0 only). */
typedef struct app_ae_reconstruct_command {
    const char *app, *usage;
    const app_option *options;
    app_ae_test_options defaults;
    app_ae_resolve resolve;
    app_ae_test_start start;
} app_ae_reconstruct_command;
int app_ae_run_reconstruct(int argc, char **argv, const app_ae_reconstruct_command *c);

/* ---- win counts -------------------------------------------------------------- */
/* For models a and b on one metric: the images where a is better, where b
 * is, and ties (equal values), with Wilson 95% intervals of a / images and
 * b / images (app_study_wilson). */
typedef struct app_ae_wins {
    long a, b, ties, images;
    double a_low, a_high, b_low, b_high;
} app_ae_wins;
app_ae_wins app_ae_count_wins(const app_ae_eval *eval, int a, int b, int metric);
/* Every pair (a < b) on every metric: a Markdown table (malloc'd) and the
 * same as JSON ([{"a": label, "b": label, "metric": key, "a_wins": ..,
 * "a_low": .., ...}]); NULL when out of memory. */
char *app_ae_wins_markdown(const app_ae_eval *eval, const char *const *labels);
json_t *app_ae_wins_json(const app_ae_eval *eval, const char *const *labels);

/* The images where model a's advantage over b on metric (a - b, or b - a
 * when lower is better) is largest, half of them in decreasing advantage,
 * then the half where it is smallest, also in decreasing advantage (every
 * image, in that order, when there are fewer than 2 * half; ties by index).
 * Figure 3: a = the SSIM net, b = the MSE net, metric SSIM. Returns the
 * number of rows written (min(images, 2 * half)), or -1 out of memory. */
int app_ae_extremes(const app_ae_eval *eval, int a, int b, int metric, int half, long *rows);

/* ---- pictures and the study kit ---------------------------------------------- */
/* count distinct image indices below images, drawn from seed (in
 * increasing order); count <= images. */
void app_ae_pick(long images, int count, uint64_t seed, long *picked);
/* A PNG grid, a row per picked image (in the given order), its panels
 * panels[0..panel_count-1] (0: the original, k: model k - 1's
 * reconstruction; panels NULL: the original, then each model, as Figure 4;
 * Figure 3 of the FC autoencoder is {MSE net, 0, SSIM net}), enlarged zoom
 * times (apps/strip.c), written atomically. 0, or 1 after an error line. */
int app_ae_grid_write(const char *app, const app_ae_eval *eval, const long *picked, int rows, const int *panels,
                      int panel_count, int zoom, const char *path);
/* An image (8-bit scale, clamped) of a chw array in [-1, 1]; NULL when out
 * of memory. */
pcl_image *app_ae_to_image(const float *chw, const int shape[3]);
/* Writes image to path through path.tmp and a rename. 0, or 1 after an
 * error line. */
int app_ae_write_png(const char *app, const char *path, const pcl_image *image);
/* The study kit's material for the picked images: DIR/original/<id>.png,
 * DIR/m<k>/<id>.png per model (k from 1) and DIR/items.json (methods =
 * labels, at most APP_STUDY_MAX_METHODS), ids "img<index>". DIR must not
 * exist: everything is written into DIR.partial and renamed at the end; a
 * failure removes what was written. 0, or 1 after an error line. */
int app_ae_study_write(const char *app, const app_ae_eval *eval, const char *const *labels, const long *picked,
                       int count, const char *dir);

/* ---- data sets (autoencoder_data.c) ---------------------------------------------
 * The protocols of the 96x96 experiments (perceptcl convae, elvae): the
 * paper's (STL-10 binaries) or the substitute (windows of BSD200 + T91 for
 * training, BSD100 for validation, STL-10's 256 real images for testing);
 * the usage texts of the apps say them in full. */
enum {
    APP_AE_MAX_DIRS = 8,
    APP_AE_SPLIT_SEED = 2017, /* the split of STL-10's 13,000 labelled images */
    APP_AE_SIDE = 96,
    APP_AE_MIN_WINDOW = 96, /* the substitute's windows, resized to 96x96 */
    APP_AE_MAX_WINDOW = 320
};
enum { APP_AE_PROTOCOL_AUTO = 0, APP_AE_PROTOCOL_PAPER, APP_AE_PROTOCOL_SUBSTITUTE };
extern const char *const app_ae_protocol_names[]; /* "auto", "paper", "substitute", NULL */
/* How their sets are drawn (app_ae_set_finish): 96x96 as they are; seeded
 * windows of side APP_AE_MIN_WINDOW..APP_AE_MAX_WINDOW resized to 96x96; the
 * same mirrored left-right at random. */
extern const app_ae_draw app_ae_draw96_as_is, app_ae_draw96_windows, app_ae_draw96_windows_flipped;

/* The paper's split of STL-10's 13,000 labelled images (train_X then
 * test_X): part 0 validation (10,400), part 1 test (2,600). */
int app_ae_paper_split(const char *app, int part, size_t **map, size_t *count);
/* 1 when root holds the three STL-10 binary corpora complete. */
int app_ae_paper_data(const char *root);
/* --protocol against the data root: APP_AE_PROTOCOL_PAPER or _SUBSTITUTE,
 * or 0 after a usage error. */
int app_ae_resolve_protocol(app_args *r, const char *root, int protocol);
/* The test set: the folder images (96x96), or the protocol's; name: what
 * a report calls it. 0, or 1 after an error line. */
int app_ae_open_test(const char *app, const char *root, int protocol, const char *images, app_ae_set *s, char *name,
                     size_t size);

#endif
