/* perceptcl elvae: the expected-loss VAE of Snell et al. 2017, sec. 4 and
 * app. B: L = C * E_q[Delta(x, f(z))] / D_bar + KL (elvae.h), Delta MSE,
 * MAE or 1 - MS-SSIM, C chosen by the relative-similarity MMD test.
 *
 *   perceptcl elvae train        ...  one model (pcl_arch_elvae_96, the conv AE's data protocols)
 *   perceptcl elvae sample       ...  decoded prior samples: an 8-column grid (Figure 7) and/or PNGs
 *   perceptcl elvae reconstruct  ...  Figure 6: original | MS-SSIM | MSE | MAE, posterior mode
 *   perceptcl elvae select       ...  C by the smallest MMD^2 of prior samples to training images
 *
 * Training is the autoencoders' (app_ae_train_run_kl) with the KL weight
 * D_bar / C; the data sets are autoencoder_data.c's; the MMD test is
 * pcl_mmd_relative_similarity (mmd.h). */
#include "app.h"
#include "autoencoder.h"
#include "elvae.h"

#include "perceptcl/architectures.h"
#include "perceptcl/checkpoint.h"
#include "perceptcl/loss_curve.h"
#include "perceptcl/mmd.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: perceptcl elvae train --loss mse|mae|msssim --c C --out MODEL.safetensors\n"
    "                             [--data DIR] [--protocol auto|paper|substitute] [--train DIR ...]\n"
    "                             [--validation DIR] [--subset N] [--norm-pairs 10000] [--norm-file F]\n"
    "                             [--narrow] [--msssim-weights equal|standard] [--epoch-size N]\n"
    "                             [--validation-crops 4] [--epochs 100] [--patience 5] [--min-delta D]\n"
    "                             [--max-steps N] [--batch 64] [--lr 1e-4] [--seed 1] [--resume]\n"
    "                             [--log CSV] [--curve SVG] [--terms CSV] [--terms-curve SVG]\n"
    "                             [--checkpoint-minutes 10]\n"
    "       perceptcl elvae sample --model M [--count 64] [--seed 1] [--zoom 2] [--out GRID.png] [--dir DIR]\n"
    "       perceptcl elvae reconstruct --model M [--model M2 ...] [--data DIR | --images DIR] [--protocol P]\n"
    "                             [--count 8] [--zoom 2] [--seed 1] [--study DIR] [--study-count 64] OUT.png\n"
    "       perceptcl elvae select --model M --model M2 ... [--data DIR | --reference DIR] [--protocol P]\n"
    "                             [--samples 1000] [--seed 1] [--report PREFIX]\n\n"
    "App. B: the conv AE's 96x96 encoder (5x5 stride-2 convolutions 128, 256, 512, ReLU), one dense\n"
    "layer giving mu and log sigma^2 of a 128-d z, z = mu + sigma * eps (one seeded sample per image\n"
    "and step), the closed-form KL to N(0, I), the conv AE's decoder (dense, ReLU, nearest 2x upsampling\n"
    "+ 5x5 convolution, tanh output). --narrow: 8, 16, 32 filters (pcl_arch_elvae_96_narrow; tests).\n\n"
    "train: minimises L = C * Delta(x, f(z)) / D_bar + KL per image, Delta = mse, mae or msssim\n"
    "  (1 - MS-SSIM, 5 scales, same mode, L = 2, equal exponents), D_bar the mean of Delta over\n"
    "  --norm-pairs pairs of training records drawn with replacement (seed --seed), computed at the\n"
    "  start, recorded in the training state's recipe and the model's metadata (\"loss_norm\").\n"
    "  --norm-file F: D_bar computed once for every run given F (the C grid, the final run, each\n"
    "  --resume): taken from F when F holds it for the same loss, MS-SSIM weights, pairs, seed and\n"
    "  data (another setting is an error), else computed and written to F (JSON). The\n"
    "  trainer minimises Delta + (D_bar / C) KL = (D_bar / C) L: the log, the curve and early stopping\n"
    "  show that loss (the model's \"objective_scale\" C / D_bar converts it to L). The paper's grid is\n"
    "  C in {1, 10, 1000, 10000}; any C > 0 is taken. Data as perceptcl convae train (its --help):\n"
    "  the paper's protocol (STL-10 unlabeled for training, validation on STL-10's labelled train\n"
    "  images as the paper's stopping rule) or the substitute (windows of BSD200 + T91, validation\n"
    "  BSD100 windows). --subset N: N training images of a seeded permutation (the paper's C grid:\n"
    "  5,000). Adam, lr 1e-4, batch 64, early stopping after --patience epochs, the best weights kept.\n"
    "  --terms CSV: after every epoch, the two terms of L on the validation set (z = mu): epoch,\n"
    "  step, mean Delta, mean KL, L; --terms-curve SVG draws C * Delta / D_bar and KL against the\n"
    "  step (log scale). Delta + (D_bar / C) KL there is the log's validation loss.\n\n"
    "sample: --count images decoded from z ~ N(0, I) (seed --seed; the first k are the same for any\n"
    "  count): --out, a grid of 8 columns enlarged --zoom; --dir DIR (must not exist), sample-NNNNN.png\n"
    "  per image (96x96 gray), for perceptcl mmd.\n\n"
    "reconstruct: OUT.png, a row per seeded test image (the conv AE's test set): the original, then\n"
    "  the models' reconstructions from the posterior mode z = mu, ordered MS-SSIM | MSE | MAE (Figure\n"
    "  6), other losses after. --study DIR: --study-count seeded test images, originals and\n"
    "  reconstructions, and DIR/items.json for perceptcl study make (3-way ranking; 2 or 3 models).\n\n"
    "select: models of one loss and different C: --samples prior samples of each (seed --seed)\n"
    "  against --samples training images (--reference DIR: a folder of 96x96 images instead), on\n"
    "  pixels, with the relative-similarity test (Bounliphone et al. 2016; perceptcl mmd). One\n"
    "  bandwidth for every comparison (the median heuristic of the first two models' test), so that\n"
    "  the MMD^2 are comparable. The winner has the smallest MMD^2 (the first given on a tie); every\n"
    "  other model is tested against it: statistic and p-value (small p: the winner is significantly\n"
    "  closer), or \"undefined\" where the test's variance estimate is not positive (samples too alike,\n"
    "  e.g. two models collapsed to one image). Report: Markdown on stdout, --report PREFIX.md / .json.\n\n"
    "Errors: one line on stderr, non-zero exit, no output file written.\n\n";

enum { MAX_MODELS = 8, GRID_COLUMNS = 8, SUBSTITUTE_EPOCH = 20000 };
static const char *const exponents[] = {"equal", "standard", NULL};
static const pcl_architecture *const archs[] = {&pcl_arch_elvae_96, &pcl_arch_elvae_96_narrow};

static pcl_ssim_options msssim_options(int standard)
{
    pcl_ssim_options o = pcl_ssim_options_default();
    o.mode = PCL_SSIM_MODE_SAME;
    o.data_range = 2.0;
    o.scales = 5;
    o.weights = standard ? PCL_SSIM_WEIGHTS_STANDARD : PCL_SSIM_WEIGHTS_EQUAL;
    return o;
}

/* A seeded permutation of 0..count-1 (its first n: n images without
 * repetition); NULL when out of memory. */
static size_t *seeded_permutation(size_t count, uint64_t seed)
{
    size_t *indices = malloc(count * sizeof *indices);
    if (!indices) return NULL;
    for (size_t i = 0; i < count; i++) indices[i] = i;
    uint64_t state = seed;
    pcl_rng_shuffle(indices, count, &state);
    return indices;
}

static size_t set_images(const app_ae_set *s)
{
    size_t images = 0;
    for (int d = 0; d < s->count; d++) images += pcl_dataset_count(s->datasets[d]);
    return images;
}

/* ---- train ----------------------------------------------------------------------- */

static const app_option train_options[] = {
    APP_TRAIN_OPTIONS,         APP_TRAIN_EARLY_STOP_OPTIONS, {"--c", "C"},          {"--data", "DIR"},
    {"--protocol", "P"},       {"--train", "DIR"},           {"--validation", "DIR"}, {"--subset", "N"},
    {"--norm-pairs", "N"},     {"--narrow", NULL},           {"--msssim-weights", "W"}, {"--epoch-size", "N"},
    {"--validation-crops", "N"}, {"--terms", "CSV"},          {"--terms-curve", "SVG"}, {"--norm-file", "F"},
    {NULL, NULL}};

/* --terms, --terms-curve: the objective's two terms on the validation set after every epoch. */
typedef struct terms_log {
    const char *app, *csv, *svg, *title;
    const pcl_data_source *validation;
    pcl_loss_kind loss;
    pcl_ssim_options ssim;
    size_t batch;
    uint64_t seed;
    double norm, c;
} terms_log;

/* Redraws --terms-curve from the whole CSV (a resumed run's earlier epochs too). */
static int terms_curve(const terms_log *l)
{
    enum { MAX_POINTS = 100000 };
    double *x = malloc(MAX_POINTS * sizeof *x), *scaled = malloc(MAX_POINTS * sizeof *scaled),
           *kl = malloc(MAX_POINTS * sizeof *kl);
    FILE *f = fopen(l->csv, "r");
    char line[512];
    size_t n = 0;
    int rc =
        x && scaled && kl && f ? 0 : (fprintf(stderr, "perceptcl %s: %s: cannot read it back\n", l->app, l->csv), 1);
    while (rc == 0 && n < MAX_POINTS && fgets(line, sizeof line, f)) {
        long long epoch, step;
        double delta, k;
        if (sscanf(line, "%lld,%lld,%lf,%lf", &epoch, &step, &delta, &k) == 4)
            x[n] = (double)step, scaled[n] = l->c * delta / l->norm, kl[n] = k, n++;
    }
    pcl_curve_series series[2] = {{"C * Delta / D_bar", x, scaled, n}, {"KL", x, kl, n}};
    if (rc == 0 && pcl_loss_curve_write_svg(l->svg, l->title, "step", "validation mean (log)", series, 2, 1) != PCL_OK)
        rc = app_fail(l->app, l->svg);
    if (f) fclose(f);
    free(x), free(scaled), free(kl);
    return rc;
}

static int terms_epoch(void *user, pcl_model *model, const pcl_trainer_epoch *epoch)
{
    const terms_log *l = user;
    double delta, kl;
    if (app_elvae_terms(l->app, model, l->validation, l->loss, &l->ssim, l->batch, l->seed, &delta, &kl)) return 1;
    FILE *f = fopen(l->csv, "a");
    if (!f) return fprintf(stderr, "perceptcl %s: %s: %s\n", l->app, l->csv, strerror(errno)), 1;
    fprintf(f, "%lld,%lld,%.9g,%.9g,%.9g\n", (long long)epoch->epoch, (long long)epoch->step, delta, kl,
            l->c * delta / l->norm + kl);
    if (fclose(f) != 0) return fprintf(stderr, "perceptcl %s: %s: %s\n", l->app, l->csv, strerror(errno)), 1;
    return l->svg ? terms_curve(l) : 0;
}

/* A new run starts --terms with its header; a resume appends (the header
 * when the file is missing). 0, or 1 after an error line. */
static int terms_start(const char *app, const char *csv, int resume)
{
    struct stat st;
    if (resume && stat(csv, &st) == 0 && st.st_size > 0) return 0;
    FILE *f = fopen(csv, "w");
    if (!f || fputs("epoch,step,delta,kl,objective\n", f) < 0 || fclose(f) != 0)
        return fprintf(stderr, "perceptcl %s: %s: %s\n", app, csv, strerror(errno)), 1;
    return 0;
}

/* The training and validation sets of the protocol (as convae train). */
static int open_train_sets(const char *cmd, const char *root, int paper, const char *const *dirs, int dir_count,
                           const char *validation_dir, long subset, long epoch_size, int crops, uint64_t seed,
                           app_ae_set *train, app_ae_set *validation)
{
    int rc = 0;
    for (int d = 0; d < dir_count && rc == 0; d++) rc = app_ae_set_open_folder(cmd, train, dirs[d], 0);
    if (rc == 0 && !dir_count && paper) rc = app_ae_set_open_corpus(cmd, train, PCL_CORPUS_STL10_UNLABELED_BIN, root);
    if (rc == 0 && !dir_count && !paper)
        rc = app_ae_set_open_corpus(cmd, train, PCL_CORPUS_BSD200, root) ||
             app_ae_set_open_corpus(cmd, train, PCL_CORPUS_T91, root);
    size_t *map = NULL, map_count = 0;
    const size_t images = rc == 0 ? set_images(train) : 0;
    if (rc == 0 && subset > 0 && (size_t)subset < images) {
        if (!(map = seeded_permutation(images, seed)))
            return fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1;
        map_count = (size_t)subset;
    }
    if (rc == 0)
        rc = app_ae_set_finish(cmd, train, paper ? &app_ae_draw96_as_is : &app_ae_draw96_windows_flipped,
                               epoch_size ? (size_t)epoch_size : paper || dir_count ? 0 : SUBSTITUTE_EPOCH, map,
                               map_count);
    else free(map);
    if (rc == 0 && validation_dir) rc = app_ae_set_open_folder(cmd, validation, validation_dir, 0);
    if (rc == 0 && !validation_dir && paper)
        rc = app_ae_set_open_corpus(cmd, validation, PCL_CORPUS_STL10_TRAIN_BIN, root);
    if (rc == 0 && !validation_dir && !paper) rc = app_ae_set_open_corpus(cmd, validation, PCL_CORPUS_BSD100, root);
    if (rc == 0)
        rc = paper ? app_ae_set_finish(cmd, validation, &app_ae_draw96_as_is, 0, NULL, 0)
                   : app_ae_set_finish(cmd, validation, &app_ae_draw96_windows, set_images(validation) * (size_t)crops,
                                       NULL, 0);
    return rc;
}

static int run_train(int argc, char **argv)
{
    const char *cmd = "elvae train", *dirs[APP_AE_MAX_DIRS], *validation_dir = NULL, *data = NULL;
    const char *terms = NULL, *terms_svg = NULL, *norm_file = NULL;
    pcl_device_selection selection = {0};
    app_train t = app_train_defaults();
    t.losses = 1u << PCL_LOSS_KIND_MSE | 1u << PCL_LOSS_KIND_MAE | 1u << PCL_LOSS_KIND_MSSSIM;
    t.adam = 1, t.adam_lr = 1e-4, t.batch = 64, t.epochs = 100, t.patience = 5;
    t.record_name = "images";
    int dir_count = 0, narrow = 0, standard = 0, protocol = APP_AE_PROTOCOL_AUTO, crops = 4;
    long epoch_size = 0, subset = 0, pairs = APP_ELVAE_NORM_PAIRS;
    double c = 0;
    app_args r;
    app_args_init(&r, cmd, usage, train_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (app_train_arg(&t, &r)) continue;
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--c")) app_args_positive(&r, &c);
        else if (app_args_is(&r, "--train")) app_args_append(&r, dirs, &dir_count, APP_AE_MAX_DIRS, "--train folders");
        else if (app_args_is(&r, "--validation")) validation_dir = r.value;
        else if (app_args_is(&r, "--data")) data = r.value;
        else if (app_args_is(&r, "--protocol")) app_args_choice(&r, app_ae_protocol_names, &protocol);
        else if (app_args_is(&r, "--subset")) app_args_long(&r, 1, 1000000000, &subset);
        else if (app_args_is(&r, "--norm-pairs")) app_args_long(&r, 1, 100000000, &pairs);
        else if (app_args_is(&r, "--narrow")) narrow = 1;
        else if (app_args_is(&r, "--msssim-weights")) app_args_choice(&r, exponents, &standard);
        else if (app_args_is(&r, "--epoch-size")) app_args_long(&r, 1, 1000000000, &epoch_size);
        else if (app_args_is(&r, "--validation-crops")) app_args_int(&r, 1, 1000, &crops);
        else if (app_args_is(&r, "--terms")) terms = r.value;
        else if (app_args_is(&r, "--terms-curve")) terms_svg = r.value;
        else if (app_args_is(&r, "--norm-file")) norm_file = r.value;
    }
    const char *root = pcl_data_root(data);
    if (r.exit_code < 0 && terms_svg && !terms) app_args_error(&r, "--terms-curve needs --terms CSV");
    if (r.exit_code < 0 && terms && app_output_check(&r, "--terms", terms) && terms_svg)
        app_output_check(&r, "--terms-curve", terms_svg);
    if (r.exit_code < 0 && !t.loss_given) app_args_error(&r, "needs --loss");
    if (r.exit_code < 0 && !(c > 0)) app_args_error(&r, "needs --c C (the paper's grid: 1, 10, 1000, 10000)");
    if (r.exit_code < 0 && !root && (!dir_count || !validation_dir))
        app_args_error(&r, "needs --data DIR (or PERCEPTCL_DATA), or --train DIR and --validation DIR");
    if (r.exit_code < 0 && (dir_count || validation_dir) && protocol == APP_AE_PROTOCOL_PAPER)
        app_args_error(&r, "--protocol paper takes its images from --data, not --train / --validation");
    if (r.exit_code < 0 && !(protocol = app_ae_resolve_protocol(&r, root, protocol))) protocol = APP_AE_PROTOCOL_AUTO;
    /* The outputs before the data and D_bar (which the recipe, checked by app_train_ready, records). */
    if (r.exit_code < 0 && !t.out) app_args_error(&r, "needs --out MODEL.safetensors");
    if (r.exit_code < 0) app_output_check(&r, "--out", t.out);
    if (r.exit_code >= 0) return r.exit_code;
    const pcl_architecture *arch = narrow ? &pcl_arch_elvae_96_narrow : &pcl_arch_elvae_96;
    const int paper = protocol == APP_AE_PROTOCOL_PAPER && !dir_count;

    /* Data, then D_bar on the training records. */
    app_ae_set train = {0}, validation = {0};
    int rc = open_train_sets(cmd, root, paper, dirs, dir_count, validation_dir, subset, epoch_size, crops,
                             (uint64_t)t.seed, &train, &validation);
    const pcl_ssim_options ssim = msssim_options(standard);
    json_t *folders = json_array();
    for (int d = 0; folders && d < dir_count; d++) json_array_append_new(folders, json_string(dirs[d]));
    /* What decides D_bar, for --norm-file (not C, the subset or the epoch size: one D_bar per loss). */
    json_t *norm_key = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:O}", "loss", pcl_loss_kind_name(t.loss),
                                 "msssim_weights", standard ? "standard" : "equal", "pairs", (json_int_t)pairs, "seed",
                                 (json_int_t)t.seed, "protocol", paper ? "paper" : "substitute", "data",
                                 root ? root : "", "train", folders);
    double norm = 0;
    int norm_found = 0;
    if (rc == 0 && !norm_key) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    if (rc == 0 && norm_file) rc = app_elvae_norm_file_read(cmd, norm_file, norm_key, &norm, &norm_found);
    if (rc == 0 && norm_found) printf("D_bar = %.9g from %s\n", norm, norm_file);
    if (rc == 0 && !norm_found) {
        pcl_context *context = app_open_context(&selection);
        rc = context ? app_elvae_norm(cmd, context, &train.source, t.loss, &ssim, pairs, (uint64_t)t.seed, &norm) : 1;
        pcl_context_destroy(context);
        if (rc == 0 && norm_file)
            rc = app_elvae_norm_file_write(cmd, norm_file, norm_key, norm,
                                           json_pack("{s:I, s:I, s:I}", "records", (json_int_t)train.source.count,
                                                     "subset", (json_int_t)subset, "epoch_size",
                                                     (json_int_t)epoch_size));
    }
    json_decref(norm_key);
    json_t *recipe = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:i, s:i, s:i, s:I, s:f, s:f, s:I}",
                               "architecture", arch->name, "protocol", paper ? "paper" : "substitute", "data",
                               root ? root : "", "train", folders, "validation", validation_dir ? validation_dir : "",
                               "msssim_weights", standard ? "standard" : "equal", "epoch_size",
                               (json_int_t)epoch_size, "validation_crops", crops, "window_min", APP_AE_MIN_WINDOW,
                               "window_max", APP_AE_MAX_WINDOW, "subset", (json_int_t)subset, "c", c, "loss_norm",
                               norm, "loss_norm_pairs", (json_int_t)pairs);
    if (rc == 0 && app_train_ready(&t, &r, recipe) >= 0) rc = r.exit_code;
    else if (rc != 0) json_decref(recipe);
    const double kl_weight = app_elvae_kl_weight(norm, c);
    if (rc == 0)
        fprintf(stderr, "perceptcl %s: %s, %s protocol: %zu training records per epoch from %zu images, %zu "
                        "validation records; D_bar = %.6g (mean %s over %ld random training pairs), C = %g, KL "
                        "weight D_bar / C = %.6g\n",
                cmd, arch->name, paper ? "paper's" : "substitute", train.source.count,
                pcl_pipeline_images(train.pipeline), validation.source.count, norm, pcl_loss_kind_name(t.loss),
                pairs, c, kl_weight);
    char title[160], train_names[1024] = "", name[256], c_text[32], norm_text[32], pairs_text[32], w_text[32],
        scale_text[32], subset_text[32];
    snprintf(title, sizeof title, "%s, %s loss, C %g: Delta + (D_bar / C) KL", arch->name, pcl_loss_kind_name(t.loss),
             c);
    for (int d = 0; d < dir_count; d++)
        snprintf(train_names + strlen(train_names), sizeof train_names - strlen(train_names), "%s%s", d ? "," : "",
                 app_base_name(dirs[d], name, sizeof name));
    snprintf(c_text, sizeof c_text, "%.17g", c);
    snprintf(norm_text, sizeof norm_text, "%.17g", norm);
    snprintf(pairs_text, sizeof pairs_text, "%ld", pairs);
    snprintf(w_text, sizeof w_text, "%.17g", kl_weight);
    snprintf(scale_text, sizeof scale_text, "%.17g", c / norm);
    snprintf(subset_text, sizeof subset_text, "%ld", subset);
    const char *keys_values[] = {"protocol", paper ? "paper" : "substitute", "data",
                                 dir_count ? train_names : paper ? "STL-10 unlabeled" : "BSD200,T91", "input",
                                 "96x96 luma (ITU-R 601-2) in [-1, 1]", "msssim_weights",
                                 standard ? "standard" : "equal", "c", c_text, "loss_norm", norm_text,
                                 "loss_norm_pairs", pairs_text, "kl_weight", w_text, "objective_scale", scale_text,
                                 "subset", subset ? subset_text : NULL, "objective",
                                 "C * Delta / loss_norm + KL; the logged loss is Delta + kl_weight * KL = "
                                 "objective / objective_scale",
                                 NULL};
    app_ae_job job = {arch, train.source, &validation.source, ssim, title, keys_values, NULL, 0};
    char terms_title[160];
    snprintf(terms_title, sizeof terms_title, "%s, %s loss, C %g: the objective's terms on the validation set",
             arch->name, pcl_loss_kind_name(t.loss), c);
    terms_log log = {cmd, terms, terms_svg, terms_title, &validation.source, t.loss, ssim, (size_t)t.batch,
                     (uint64_t)t.seed, norm, c};
    const app_ae_epoch_hook hook = {terms_epoch, &log};
    if (rc == 0 && terms && app_is_root()) rc = terms_start(cmd, terms, t.resume);
    if (rc == 0) rc = app_ae_train_run_kl(&t, &selection, &job, kl_weight, terms ? &hook : NULL);
    app_ae_set_free(&train);
    app_ae_set_free(&validation);
    return rc;
}

/* ---- models and their decoders ------------------------------------------------------ */

/* A number from a model file's metadata; 0, or 1 after an error line. */
static int model_number(const char *cmd, const char *path, const char *key, double *value)
{
    pcl_checkpoint *file = NULL;
    if (pcl_checkpoint_read(path, &file) != PCL_OK) return app_fail(cmd, path);
    const char *text = pcl_checkpoint_metadata(file, key);
    char *end = NULL;
    *value = text ? strtod(text, &end) : NAN;
    const int ok = text && end != text && *end == '\0' && isfinite(*value);
    pcl_checkpoint_destroy(file);
    if (!ok)
        return fprintf(stderr, "perceptcl %s: %s: no \"%s\" in its metadata (not a perceptcl elvae train model)\n", cmd,
                       path, key), 1;
    return 0;
}

/* The decoder of an EL-VAE model: the layers after its VAE sampler, built
 * from its table, with copies of the model's weights, in inference mode.
 * *latent: z's size. 0, or 1 after an error line. */
static int decoder_build(const char *cmd, pcl_context *context, const app_ae_model *m, pcl_model **decoder,
                         int *latent)
{
    const pcl_architecture *arch = m->arch;
    int s = 0;
    while (s < arch->count && arch->spec[s].kind != PCL_LAYER_KIND_VAE_SAMPLER) s++;
    if (s == arch->count) return fprintf(stderr, "perceptcl %s: %s has no VAE sampler\n", cmd, arch->name), 1;
    *latent = arch->spec[s].out;
    if (pcl_model_build(context, arch->spec + s + 1, arch->count - s - 1, decoder) != PCL_OK)
        return app_fail(cmd, "decoder");
    for (int k = 0; k < arch->count - s - 1; k++) {
        pcl_layer *from = pcl_model_layer(m->model, s + 1 + k), *to = pcl_model_layer(*decoder, k);
        for (int p = 0; p < pcl_layer_param_count(from); p++) {
            pcl_tensor *a, *b;
            if (pcl_layer_param(from, p, &a, NULL, NULL) != PCL_OK ||
                pcl_layer_param(to, p, &b, NULL, NULL) != PCL_OK || pcl_tensor_copy(b, a) != PCL_OK)
                return pcl_model_destroy(*decoder), *decoder = NULL, app_fail(cmd, "decoder weights");
        }
    }
    pcl_model_set_training(*decoder, 0);
    return 0;
}

/* count images (96x96, [-1, 1]) decoded from z ~ N(0, I), one Gaussian
 * stream from seed (so the first k are the same for any count). 0, or 1
 * after an error line. */
static int draw_samples(const char *cmd, pcl_context *context, pcl_model *decoder, int latent, long count,
                        uint64_t seed, float *out)
{
    enum { BATCH = 64 };
    float *z = malloc((size_t)BATCH * latent * sizeof *z);
    pcl_tensor *tz = NULL;
    uint64_t state = seed;
    int rc = z ? 0 : (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    const size_t per = (size_t)APP_AE_SIDE * APP_AE_SIDE;
    for (long done = 0; rc == 0 && done < count;) {
        const int n = count - done < BATCH ? (int)(count - done) : BATCH;
        pcl_tensor *y;
        pcl_random_gaussian_fill(z, (size_t)n * latent, &state);
        if (!tz || tz->n != n) {
            pcl_tensor_destroy(tz);
            tz = NULL;
            if (pcl_tensor_create(context, n, latent, 1, 1, &tz) != PCL_OK) rc = app_fail(cmd, "samples");
        }
        if (rc == 0 && (pcl_tensor_upload(tz, z) != PCL_OK || pcl_model_forward(decoder, tz, &y) != PCL_OK))
            rc = app_fail(cmd, "samples");
        if (rc == 0 && pcl_tensor_count(y) != (size_t)n * per)
            rc = (fprintf(stderr, "perceptcl %s: the decoder gives %zu values per image, expected %zu\n", cmd,
                          pcl_tensor_count(y) / (size_t)n, per), 1);
        if (rc == 0 && pcl_tensor_download(y, out + (size_t)done * per) != PCL_OK) rc = app_fail(cmd, "samples");
        done += n;
    }
    pcl_tensor_destroy(tz);
    free(z);
    return rc;
}

/* A grid of count 96x96 images, GRID_COLUMNS a row, each enlarged zoom
 * times (nearest), 4 white pixels between them, written atomically. */
static int grid_write(const char *cmd, const float *images, long count, int zoom, const char *path)
{
    enum { GAP = 4 };
    const int side = APP_AE_SIDE * zoom, columns = count < GRID_COLUMNS ? (int)count : GRID_COLUMNS;
    const int rows = (int)((count + GRID_COLUMNS - 1) / GRID_COLUMNS), shape[3] = {1, APP_AE_SIDE, APP_AE_SIDE};
    pcl_image *grid = NULL;
    if (pcl_image_create(&grid, columns * side + (columns - 1) * GAP, rows * side + (rows - 1) * GAP, 1) != PCL_OK)
        return app_fail(cmd, path);
    for (size_t i = 0; i < pcl_image_size(grid); i++) grid->data[i] = 255.0f;
    int rc = 0;
    for (long k = 0; k < count && rc == 0; k++) {
        pcl_image *image = app_ae_to_image(images + (size_t)k * APP_AE_SIDE * APP_AE_SIDE, shape);
        if (!image) {
            rc = app_fail(cmd, path);
            break;
        }
        const int x0 = (int)(k % GRID_COLUMNS) * (side + GAP), y0 = (int)(k / GRID_COLUMNS) * (side + GAP);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
                grid->data[(size_t)(y0 + y) * grid->width + x0 + x] = image->data[(y / zoom) * APP_AE_SIDE + x / zoom];
        pcl_image_destroy(image);
    }
    if (rc == 0) rc = app_ae_write_png(cmd, path, grid);
    pcl_image_destroy(grid);
    return rc;
}

/* DIR/sample-NNNNN.png for each image, written into DIR.partial and renamed
 * at the end; a failure removes what was written. */
static int dir_write(const char *cmd, const float *images, long count, const char *dir)
{
    char partial[4200], path[4400];
    const int shape[3] = {1, APP_AE_SIDE, APP_AE_SIDE};
    snprintf(partial, sizeof partial, "%s.partial", dir);
    if (mkdir(partial, 0777) != 0) return fprintf(stderr, "perceptcl %s: %s: %s\n", cmd, partial, strerror(errno)), 1;
    long written = 0;
    int rc = 0;
    for (; written < count && rc == 0; written++) {
        snprintf(path, sizeof path, "%s/sample-%05ld.png", partial, written);
        pcl_image *image = app_ae_to_image(images + (size_t)written * APP_AE_SIDE * APP_AE_SIDE, shape);
        rc = image ? app_ae_write_png(cmd, path, image) : app_fail(cmd, path);
        pcl_image_destroy(image);
    }
    if (rc == 0 && rename(partial, dir) != 0)
        rc = (fprintf(stderr, "perceptcl %s: %s: %s\n", cmd, dir, strerror(errno)), 1);
    if (rc != 0) {
        for (long k = 0; k < written; k++) {
            snprintf(path, sizeof path, "%s/sample-%05ld.png", partial, k);
            remove(path);
        }
        rmdir(partial);
    }
    return rc;
}

/* ---- sample ------------------------------------------------------------------------- */

static const app_option sample_options[] = {{"--model", "M"}, {"--count", "N"}, {"--seed", "N"}, {"--zoom", "Z"},
                                            {"--out", "PNG"}, {"--dir", "DIR"}, {NULL, NULL}};

static int run_sample(int argc, char **argv)
{
    const char *cmd = "elvae sample", *path = NULL, *out = NULL, *dir = NULL;
    pcl_device_selection selection = {0};
    long count = 64, seed = 1;
    int zoom = 2;
    app_args r;
    app_args_init(&r, cmd, usage, sample_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--model")) path = r.value;
        else if (app_args_is(&r, "--count")) app_args_long(&r, 1, 100000, &count);
        else if (app_args_is(&r, "--seed")) app_args_long(&r, 0, 0x7fffffffL, &seed);
        else if (app_args_is(&r, "--zoom")) app_args_int(&r, 1, 16, &zoom);
        else if (app_args_is(&r, "--out")) out = r.value;
        else if (app_args_is(&r, "--dir")) dir = r.value;
    }
    struct stat st;
    char partial[4200];
    snprintf(partial, sizeof partial, "%s.partial", dir ? dir : "");
    if (r.exit_code < 0 && !path) app_args_error(&r, "needs --model M");
    if (r.exit_code < 0 && !out && !dir) app_args_error(&r, "needs --out GRID.png or --dir DIR (or both)");
    if (r.exit_code < 0 && out) app_output_check(&r, "--out", out);
    if (r.exit_code < 0 && dir && stat(dir, &st) == 0) app_args_error(&r, "--dir %s: already exists", dir);
    if (r.exit_code < 0 && dir && stat(partial, &st) == 0) app_args_error(&r, "--dir: %s exists (remove it)", partial);
    if (r.exit_code < 0 && dir) app_output_check(&r, "--dir", partial);
    if (r.exit_code >= 0) return r.exit_code;
    pcl_context *context = app_open_context(&selection);
    if (!context) return 1;
    app_ae_model model = {0};
    pcl_model *decoder = NULL;
    int latent = 0, loaded = 0;
    float *images = malloc((size_t)count * APP_AE_SIDE * APP_AE_SIDE * sizeof *images);
    int rc = images ? 0 : (fprintf(stderr, "perceptcl %s: out of memory for %ld samples\n", cmd, count), 1);
    if (rc == 0) rc = app_ae_load(cmd, context, archs, 2, &path, 1, &model);
    loaded = rc == 0;
    if (rc == 0) rc = decoder_build(cmd, context, &model, &decoder, &latent);
    if (rc == 0) rc = draw_samples(cmd, context, decoder, latent, count, (uint64_t)seed, images);
    if (rc == 0 && out) rc = grid_write(cmd, images, count, zoom, out);
    const int grid_written = rc == 0 && out;
    if (rc == 0 && dir) rc = dir_write(cmd, images, count, dir);
    if (rc != 0 && grid_written) remove(out); /* written before a later failure: all or nothing */
    if (rc == 0)
        fprintf(stderr, "perceptcl %s: %ld samples of %s (%s, seed %ld)%s%s%s%s\n", cmd, count, path, model.label, seed,
                out ? " -> " : "", out ? out : "", dir ? " -> " : "", dir ? dir : "");
    pcl_model_destroy(decoder);
    if (loaded) app_ae_free(&model, 1);
    free(images);
    pcl_context_destroy(context);
    return rc;
}

/* ---- reconstruct ---------------------------------------------------------------------- */

static const app_option reconstruct_options[] = {{"--model", "M"}, {"--data", "DIR"}, {"--images", "DIR"},
                                                 {"--protocol", "P"}, {"--count", "N"}, {"--zoom", "Z"},
                                                 {"--seed", "N"}, {"--study", "DIR"}, {"--study-count", "N"},
                                                 {NULL, NULL}};

/* Figure 6's order of the models' columns: MS-SSIM, MSE, MAE, then the
 * rest as given; order[0] is the original. */
static void figure6_order(const app_ae_model *models, int count, int *order)
{
    static const char *const losses[] = {"msssim", "mse", "mae"};
    int n = 0, used[MAX_MODELS] = {0};
    order[n++] = 0;
    for (int l = 0; l < 3; l++)
        for (int m = 0; m < count; m++)
            if (!used[m] && strcmp(models[m].loss, losses[l]) == 0) order[n++] = m + 1, used[m] = 1;
    for (int m = 0; m < count; m++)
        if (!used[m]) order[n++] = m + 1;
}

static int run_reconstruct(int argc, char **argv)
{
    const char *cmd = "elvae reconstruct", *out = NULL, *paths[MAX_MODELS], *data = NULL, *images = NULL;
    const char *study = NULL;
    pcl_device_selection selection = {0};
    int count = 8, zoom = 2, model_count = 0, protocol = APP_AE_PROTOCOL_AUTO, study_count = 64;
    long seed = 1;
    app_args r;
    app_args_init(&r, cmd, usage, reconstruct_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option && out) app_args_error(&r, "expects one OUT.png, got an extra '%s'", r.value);
        else if (!r.option) out = r.value;
        else if (app_args_is(&r, "--model")) app_args_append(&r, paths, &model_count, MAX_MODELS, "--model files");
        else if (app_args_is(&r, "--data")) data = r.value;
        else if (app_args_is(&r, "--images")) images = r.value;
        else if (app_args_is(&r, "--protocol")) app_args_choice(&r, app_ae_protocol_names, &protocol);
        else if (app_args_is(&r, "--count")) app_args_int(&r, 1, 64, &count);
        else if (app_args_is(&r, "--zoom")) app_args_int(&r, 1, 16, &zoom);
        else if (app_args_is(&r, "--seed")) app_args_long(&r, 0, 0x7fffffffL, &seed);
        else if (app_args_is(&r, "--study")) study = r.value;
        else if (app_args_is(&r, "--study-count")) app_args_int(&r, 1, 100000, &study_count);
    }
    const char *root = pcl_data_root(data);
    struct stat st;
    char partial[4200];
    snprintf(partial, sizeof partial, "%s.partial", study ? study : "");
    if (r.exit_code < 0 && study && stat(study, &st) == 0) app_args_error(&r, "--study %s: already exists", study);
    if (r.exit_code < 0 && study) app_output_check(&r, "--study", partial);
    if (r.exit_code < 0 && study && (model_count < 2 || model_count > 3))
        app_args_error(&r, "--study compares 2 or 3 models, not %d", model_count);
    if (r.exit_code < 0 && !model_count) app_args_error(&r, "needs --model M");
    if (r.exit_code < 0 && !images && !root) app_args_error(&r, "needs --data DIR (or PERCEPTCL_DATA) or --images DIR");
    if (r.exit_code < 0 && !images && !(protocol = app_ae_resolve_protocol(&r, root, protocol)))
        protocol = APP_AE_PROTOCOL_AUTO;
    if (r.exit_code < 0 && !out) app_args_error(&r, "expects OUT.png");
    if (r.exit_code < 0) app_output_check(&r, "OUT.png", out);
    if (r.exit_code >= 0) return r.exit_code;
    app_ae_set set = {0};
    char set_name[128];
    app_ae_model models[MAX_MODELS];
    app_ae_eval eval = {0};
    int loaded = 0;
    pcl_context *context = NULL;
    int rc = app_ae_open_test(cmd, root, protocol, images, &set, set_name, sizeof set_name);
    if (rc == 0 && !(context = app_open_context(&selection))) rc = 1;
    if (rc == 0) rc = app_ae_load(cmd, context, archs, 2, paths, model_count, models);
    if (rc == 0) loaded = model_count;
    pcl_ssim_options ssim = msssim_options(0), msssim = ssim;
    ssim.scales = 1;
    /* app_ae_evaluate runs the models in inference mode: the sampler gives z = mu. */
    if (rc == 0) rc = app_ae_evaluate(cmd, context, models, model_count, &set.source, &ssim, &msssim, &eval);
    if (rc == 0 && count > eval.images)
        rc = (fprintf(stderr, "perceptcl %s: --count %d: the test set has %ld images\n", cmd, count, eval.images), 2);
    long picked[64];
    int order[MAX_MODELS + 1];
    const int writer = app_is_root(); /* every rank has the same pictures: rank 0 writes them */
    if (rc == 0) {
        app_ae_pick(eval.images, count, (uint64_t)seed, picked);
        figure6_order(models, model_count, order);
        if (writer) rc = app_ae_grid_write(cmd, &eval, picked, count, order, model_count + 1, zoom, out);
    }
    const int grid_written = rc == 0 && writer;
    if (rc == 0 && study && study_count > eval.images)
        rc = (fprintf(stderr, "perceptcl %s: --study-count %d: the test set has %ld images\n", cmd, study_count,
                      eval.images), 2);
    long *study_picked = rc == 0 && study ? malloc((size_t)study_count * sizeof *study_picked) : NULL;
    if (rc == 0 && study && !study_picked) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    if (rc == 0 && study && writer) {
        const char *labels[MAX_MODELS];
        for (int m = 0; m < model_count; m++) labels[m] = models[m].label;
        app_ae_pick(eval.images, study_count, (uint64_t)seed, study_picked);
        rc = app_ae_study_write(cmd, &eval, labels, study_picked, study_count, study);
    }
    free(study_picked);
    if (rc != 0 && grid_written) remove(out); /* written before a later failure: all or nothing */
    if (rc == 0 && writer) {
        fprintf(stderr, "perceptcl %s: %d images of %s, columns: original", cmd, count, set_name);
        for (int p = 1; p <= model_count; p++) fprintf(stderr, " | %s", models[order[p] - 1].label);
        fprintf(stderr, " (posterior mode) -> %s\n", out);
    }
    app_ae_eval_free(&eval);
    app_ae_free(models, loaded);
    app_ae_set_free(&set);
    if (context) pcl_context_destroy(context);
    return rc;
}

/* ---- select ----------------------------------------------------------------------------- */

static const app_option select_options[] = {{"--model", "M"},   {"--data", "DIR"}, {"--reference", "DIR"},
                                            {"--protocol", "P"}, {"--samples", "N"}, {"--seed", "N"},
                                            {"--report", "PREFIX"}, {NULL, NULL}};

/* n reference images: seeded training images of the protocol (paper:
 * STL-10 unlabeled; substitute: windows of BSD200 + T91 as training draws
 * them), or the first n of a folder (all of it when it has fewer: *n). */
static int reference_images(const char *cmd, const char *root, int paper, const char *dir, uint64_t seed, long *n,
                            float **out)
{
    app_ae_set s = {0};
    int rc = dir ? app_ae_set_open_folder(cmd, &s, dir, APP_AE_SIDE)
             : paper ? app_ae_set_open_corpus(cmd, &s, PCL_CORPUS_STL10_UNLABELED_BIN, root)
                     : app_ae_set_open_corpus(cmd, &s, PCL_CORPUS_BSD200, root) ||
                           app_ae_set_open_corpus(cmd, &s, PCL_CORPUS_T91, root);
    if (rc == 0)
        rc = app_ae_set_finish(cmd, &s, dir || paper ? &app_ae_draw96_as_is : &app_ae_draw96_windows_flipped,
                               dir || paper ? 0 : (size_t)*n, NULL, 0);
    if (rc == 0 && (size_t)*n > s.source.count) *n = (long)s.source.count;
    const size_t per = (size_t)APP_AE_SIDE * APP_AE_SIDE;
    size_t *indices = rc == 0 ? seeded_permutation(s.source.count, seed) : NULL;
    float *images = rc == 0 ? malloc((size_t)*n * per * sizeof *images) : NULL, *target = malloc(per * sizeof *target);
    if (rc == 0 && (!indices || !images || !target)) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    for (long k = 0; rc == 0 && k < *n; k++) {
        const size_t index = dir ? (size_t)k : indices[k];
        if (s.source.fill(s.source.user, &index, 1, seed, images + (size_t)k * per, target) != PCL_OK)
            rc = app_fail(cmd, "reference images");
    }
    free(indices);
    free(target);
    app_ae_set_free(&s);
    if (rc != 0) free(images), images = NULL;
    *out = images;
    return rc;
}

typedef struct candidate {
    const char *path;
    double c, mmd2, statistic, p_value;
    int tested; /* against the winner: 0 when the test's variance was not positive */
    float *samples;
} candidate;

/* The test of y against z; its MMD^2 are defined even where the test is not
 * (PCL_ERR_UNDEFINED: a variance <= 0, e.g. two collapsed models' samples, each
 * one image repeated): *tested says which. 0, or 1 after an error line. */
static int mmd_test(const char *cmd, pcl_context *context, const float *x, long m, const float *y, const float *z,
                    long n, pcl_mmd_options *options, pcl_mmd_result *result, int *tested)
{
    const size_t per = (size_t)APP_AE_SIDE * APP_AE_SIDE;
    const pcl_status s =
        pcl_mmd_relative_similarity(context, x, (size_t)m, y, (size_t)n, z, (size_t)n, per, options, result);
    if (s != PCL_OK && s != PCL_ERR_UNDEFINED) return app_fail(cmd, "MMD test");
    *tested = s == PCL_OK;
    return 0;
}

static int run_select(int argc, char **argv)
{
    const char *cmd = "elvae select", *paths[MAX_MODELS], *data = NULL, *reference = NULL, *report = NULL;
    pcl_device_selection selection = {0};
    int model_count = 0, protocol = APP_AE_PROTOCOL_AUTO;
    long samples = 1000, seed = 1;
    app_args r;
    app_args_init(&r, cmd, usage, select_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--model")) app_args_append(&r, paths, &model_count, MAX_MODELS, "--model files");
        else if (app_args_is(&r, "--data")) data = r.value;
        else if (app_args_is(&r, "--reference")) reference = r.value;
        else if (app_args_is(&r, "--protocol")) app_args_choice(&r, app_ae_protocol_names, &protocol);
        else if (app_args_is(&r, "--samples")) app_args_long(&r, 3, 100000, &samples);
        else if (app_args_is(&r, "--seed")) app_args_long(&r, 0, 0x7fffffffL, &seed);
        else if (app_args_is(&r, "--report")) report = r.value;
    }
    const char *root = pcl_data_root(data);
    char md[4200], js[4200];
    snprintf(md, sizeof md, "%s.md", report ? report : "");
    snprintf(js, sizeof js, "%s.json", report ? report : "");
    if (r.exit_code < 0 && model_count < 2) app_args_error(&r, "needs two or more --model files (one per C)");
    if (r.exit_code < 0 && !reference && !root)
        app_args_error(&r, "needs --data DIR (or PERCEPTCL_DATA) or --reference DIR");
    if (r.exit_code < 0 && !reference && !(protocol = app_ae_resolve_protocol(&r, root, protocol)))
        protocol = APP_AE_PROTOCOL_AUTO;
    if (r.exit_code < 0 && report && app_output_check(&r, "--report", md)) app_output_check(&r, "--report", js);
    if (r.exit_code >= 0) return r.exit_code;

    candidate cands[MAX_MODELS] = {{0}};
    app_ae_model models[MAX_MODELS];
    int loaded = 0, rc = 0;
    for (int m = 0; m < model_count && rc == 0; m++) {
        cands[m].path = paths[m];
        rc = model_number(cmd, paths[m], "c", &cands[m].c);
    }
    float *x = NULL;
    long m_ref = samples;
    if (rc == 0)
        rc = reference_images(cmd, root, protocol == APP_AE_PROTOCOL_PAPER, reference, (uint64_t)seed, &m_ref, &x);
    pcl_context *context = rc == 0 ? app_open_context(&selection) : NULL;
    if (rc == 0 && !context) rc = 1;
    if (rc == 0) rc = app_ae_load(cmd, context, archs, 2, paths, model_count, models);
    if (rc == 0) loaded = model_count;
    for (int m = 1; m < loaded && m < MAX_MODELS && rc == 0; m++)
        if (strcmp(models[m].loss, models[0].loss) != 0)
            rc = (fprintf(stderr, "perceptcl %s: %s was trained with %s, %s with %s: select compares C for one loss\n",
                          cmd, paths[m], models[m].loss, paths[0], models[0].loss), 1);
    const size_t per = (size_t)APP_AE_SIDE * APP_AE_SIDE;
    for (int m = 0; m < loaded && rc == 0; m++) {
        pcl_model *decoder = NULL;
        int latent = 0;
        if (!(cands[m].samples = malloc((size_t)samples * per * sizeof(float))))
            rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
        if (rc == 0) rc = decoder_build(cmd, context, &models[m], &decoder, &latent);
        if (rc == 0) rc = draw_samples(cmd, context, decoder, latent, samples, (uint64_t)seed, cands[m].samples);
        pcl_model_destroy(decoder);
    }
    /* One bandwidth for every comparison: the median heuristic of the first pair's test. */
    pcl_mmd_options options = pcl_mmd_options_default();
    pcl_mmd_result result;
    int tested; /* the ranking needs only the MMD^2 */
    if (rc == 0) rc = mmd_test(cmd, context, x, m_ref, cands[0].samples, cands[1].samples, samples, &options, &result,
                               &tested);
    if (rc == 0) options.sigma = result.sigma;
    int best = 0;
    for (int m = 0; m < loaded && rc == 0; m++) {
        const int other = m == 0 ? 1 : 0;
        rc = mmd_test(cmd, context, x, m_ref, cands[m].samples, cands[other].samples, samples, &options, &result,
                      &tested);
        if (rc == 0) cands[m].mmd2 = result.mmd2_xy;
        if (rc == 0 && cands[m].mmd2 < cands[best].mmd2) best = m;
    }
    for (int m = 0; m < loaded && rc == 0; m++) {
        if (m == best) continue;
        rc = mmd_test(cmd, context, x, m_ref, cands[m].samples, cands[best].samples, samples, &options, &result,
                      &cands[m].tested);
        if (rc == 0) cands[m].statistic = result.statistic, cands[m].p_value = result.p_value;
    }
    /* The report: a row per (loss, C). */
    char *markdown = NULL;
    size_t length = 0;
    json_t *rows = rc == 0 ? json_array() : NULL, *doc = NULL;
    FILE *mdout = rc == 0 ? open_memstream(&markdown, &length) : NULL;
    if (rc == 0 && (!rows || !mdout)) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1);
    if (rc == 0) {
        fprintf(mdout, "## EL-VAE: C for the %s loss by the relative-similarity MMD test\n\n", models[0].label);
        fprintf(mdout, "%ld prior samples per model (seed %ld) against %ld %s, on pixels (96x96 in [-1, 1]); "
                       "Gaussian kernel, bandwidth %.6g for every comparison (median heuristic). Winner: the "
                       "smallest MMD^2. The statistic and p-value test each model (Y) against the winner (Z): a "
                       "small p says the winner is significantly closer to the reference. The paper chose C = 1000 "
                       "for every loss.\n\n",
                samples, seed, m_ref,
                reference ? "images of --reference"
                : protocol == APP_AE_PROTOCOL_PAPER ? "STL-10 unlabeled training images"
                                                    : "training windows (substitute: BSD200 + T91)",
                options.sigma);
        fprintf(mdout, "| loss | C | MMD^2 | statistic vs winner | p-value | winner | model |\n"
                       "|---|---:|---:|---:|---:|---|---|\n");
        int untested = 0;
        for (int m = 0; m < loaded; m++) {
            const int shown = m != best && cands[m].tested;
            char stat[32] = "-", p[32] = "-";
            if (shown) snprintf(stat, sizeof stat, "%.3f", cands[m].statistic);
            if (shown) snprintf(p, sizeof p, "%.4g", cands[m].p_value);
            if (m != best && !shown) snprintf(stat, sizeof stat, "undefined (*)"), untested = 1;
            fprintf(mdout, "| %s | %g | %.6g | %s | %s | %s | %s |\n", models[m].loss, cands[m].c, cands[m].mmd2, stat, p,
                    m == best ? "yes" : "", paths[m]);
            json_t *row = json_pack("{s:s, s:f, s:f, s:o, s:o, s:b, s:s}", "loss", models[m].loss, "c", cands[m].c,
                                    "mmd2", cands[m].mmd2, "statistic",
                                    shown ? json_real(cands[m].statistic) : json_null(), "p_value",
                                    shown ? json_real(cands[m].p_value) : json_null(), "winner", m == best, "model",
                                    paths[m]);
            if (row && m != best && !shown && json_object_set_new(row, "test", json_string("undefined")) != 0) rc = 1;
            if (!row || json_array_append_new(rows, row) != 0) rc = 1;
        }
        if (untested)
            fprintf(mdout, "\n(*) The test's variance estimate against the winner was not positive: the two "
                           "models' samples are too alike to test (e.g. both collapsed to one image); their MMD^2 "
                           "still rank them.\n");
        fprintf(mdout, "\nChosen: C = %g.\n", cands[best].c);
    }
    if (mdout && fclose(mdout) != 0) rc = 1;
    if (rc == 0) {
        doc = json_pack("{s:s, s:I, s:I, s:I, s:f, s:s, s:f, s:O}", "loss", models[0].loss, "samples",
                        (json_int_t)samples, "reference_images", (json_int_t)m_ref, "seed", (json_int_t)seed, "sigma",
                        options.sigma, "reference",
                        reference ? reference : protocol == APP_AE_PROTOCOL_PAPER ? "STL-10 unlabeled" : "BSD200,T91",
                        "chosen_c", cands[best].c, "candidates", rows);
        if (!doc) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1);
    }
    if (rc == 0 && report) rc = app_write_markdown_json(cmd, report, markdown, doc);
    if (rc == 0) fputs(markdown, stdout);
    json_decref(doc);
    json_decref(rows);
    free(markdown);
    for (int m = 0; m < model_count; m++) free(cands[m].samples);
    free(x);
    app_ae_free(models, loaded);
    if (context) pcl_context_destroy(context);
    return rc;
}

int app_elvae(int argc, char **argv)
{
    static const app_subcommand subcommands[] = {{"train", run_train},
                                                 {"sample", run_sample},
                                                 {"reconstruct", run_reconstruct},
                                                 {"select", run_select},
                                                 {NULL, NULL}};
    return app_run_subcommand("elvae", usage, subcommands, argc, argv);
}
