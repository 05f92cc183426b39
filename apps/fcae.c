/* perceptcl fcae: experiment 1 of Snell et al. 2017 (sec. 3.1, app. A.1,
 * A.3): the fully-connected autoencoder with a 256-bit binary code on 32x32
 * grayscale, trained once with MSE and once with SSIM, compared image by
 * image on held-out CIFAR-10 beside the paper's 97.33% and 69.71%, and
 * Figure 3's triplets.
 *
 *   perceptcl fcae train        ...   one net (pcl_arch_fc_binary_ae, app_ae_train_run)
 *   perceptcl fcae eval         ...   per-image wins with intervals, means, Figure 3, study items
 *   perceptcl fcae reconstruct  ...   original | each net, for seeded query images or a folder
 *
 * The network is a table (architectures.c), the images sets of the shared
 * module (autoencoder.h), training the shared flags (train_cmd.c), the
 * report report.c beside app_paper_fc_wins. */
#include "app.h"
#include "autoencoder.h"

#include "perceptcl/architectures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: perceptcl fcae train --loss mse|ssim|mae|msssim --out MODEL.safetensors\n"
    "                            [--data DIR] [--protocol auto|paper|substitute] [--train DIR ...]\n"
    "                            [--validation DIR] [--narrow] [--init he|torch] [--epoch-size N]\n"
    "                            [--epochs 100] [--patience 1] [--min-delta D] [--max-steps N] [--batch 64]\n"
    "                            [--lr RATE] [--momentum 0.9] [--weight-decay 5e-5] [--optimizer sgd|adam]\n"
    "                            [--seed 1] [--resume] [--log CSV] [--curve SVG]\n"
    "                            [--checkpoint-minutes 10]\n"
    "       perceptcl fcae eval --model MSE_NET --model SSIM_NET [--model M ...] [--data DIR | --images DIR]\n"
    "                            [--protocol P] [--report PREFIX] [--grid OUT.png] [--study DIR]\n"
    "                            [--study-count 64] [--seed 1] [--zoom 4]\n"
    "       perceptcl fcae reconstruct --model M [--model M2 ...] [--data DIR | --images DIR]\n"
    "                            [--protocol P] [--count 8] [--zoom 4] [--seed 1] OUT.png\n\n"
    "Appendix A.1: 32x32 grayscale (ITU-R 601-2 luma) in [-1, 1]; dense 1024 -> 8192 -> 4096 -> 2048\n"
    "-> 1024 -> 512 -> 256, ReLU; the 256 code units are tanh thresholded to -1/+1 (0 -> -1) in the\n"
    "forward pass, in training and at test time, their gradient (1 - tanh^2) times the incoming one\n"
    "(the authors' Caffe layer); mirrored decoder, tanh output; about 106 M parameters\n"
    "(pcl_arch_fc_binary_ae). --narrow: hidden widths / 16 and a 16-bit code\n"
    "(pcl_arch_fc_binary_ae_narrow, 1.4 M; tests and smoke runs, not the paper's).\n\n"
    "Data (--data DIR, or $PERCEPTCL_DATA: a data root as `perceptcl datasets` reads it):\n"
    "  paper       (when DIR has tiny_images.bin and cifar-10-batches-bin/ complete) training: Tiny\n"
    "              Images, every 39th of the 79,302,017 (2,033,386; the paper's ~2 M \"first 30\n"
    "              images of every English proper noun\" need the keyword index, not read here);\n"
    "              CIFAR-10's 60,000 (train then test batches) split with seed 2017 into a\n"
    "              48,000-image search database (validation) and 12,000 queries.\n"
    "  substitute  (otherwise) training: seeded square windows of side 32..256 of BSD200, T91, the\n"
    "              246 STL-10 unlabeled PNGs and the 200 lossless CIFAR-10 training PNGs, resized\n"
    "              to 32x32 (MATLAB bicubic, antialiased) and mirrored left-right at random, made on\n"
    "              the fly; validation and queries: the 10,000-image CIFAR-10 test copy (lossy\n"
    "              JPEG) split with seed 2017 into 8,000 and 2,000.\n"
    "  --train DIR / --validation DIR replace the training (drawn as the substitute's) / validation\n"
    "  images (32x32); --images DIR (eval, reconstruct): a folder of 32x32 query images.\n"
    "  An epoch is --epoch-size records (default: the 2,033,386 Tiny Images, 200,000 windows for\n"
    "  the substitute, one per image for --train folders).\n\n"
    "train: SGD, momentum 0.9, weight decay 5e-5, batch 64 (the paper's); early stopping when the\n"
    "  validation loss (the training loss's own metric) has not improved after one epoch\n"
    "  (--patience 1), keeping the best weights. The losses are per-image means over pixels: mse\n"
    "  mean (y - x)^2, mae mean |y - x|, ssim 1 - SSIM (one scale, valid mode: a 22x22 map, L = 2),\n"
    "  msssim 1 - MS-SSIM (5 scales, same mode, equal exponents, L = 2); the batch loss is their\n"
    "  mean over the batch. The paper's lr (5e-5 MSE, 5e-2 SSIM) was for Caffe's conventions (MSE\n"
    "  summed over an image's 1024 pixels and halved: 512x ours; an approximate SSIM gradient):\n"
    "  defaults here, measured (README, \"Experiment 1\"): --lr 2.5e-2 for mse and mae (5e-5 x 512),\n"
    "  5e-2 for ssim and msssim. Every epoch, and every --checkpoint-minutes within one, writes\n"
    "  MODEL.safetensors.train; --resume continues it exactly (same flags; --epochs, --max-steps and\n"
    "  --checkpoint-minutes may change). --init: He-normal weights and zero\n"
    "  biases (he, default), or PyTorch's U(+-1/sqrt(fan_in)) for both (torch), which fades the\n"
    "  signal through the 12 dense ReLU layers (README).\n\n"
    "eval: the MSE net (a model trained with --loss mse) and the SSIM net (--loss ssim) on the\n"
    "  queries: the fraction of images where the SSIM net's SSIM is higher and where the MSE net's\n"
    "  MSE is lower, with Wilson 95% intervals and ties apart, beside the paper's 97.33% and 69.71%;\n"
    "  every model's mean SSIM, MSE, MAE and MS-SSIM; every pair's per-image wins; the training\n"
    "  cost. --grid: Figure 3 (MSE net | original | SSIM net), the 8 queries where the SSIM net's\n"
    "  SSIM gain is largest, then the 8 where it is smallest, enlarged --zoom; --study DIR:\n"
    "  --study-count seeded queries, originals and reconstructions, and DIR/items.json for\n"
    "  perceptcl study make (2 or 3 models).\n\n"
    "reconstruct: OUT.png, a row per seeded query (or every image of --images, up to --count):\n"
    "  original, then each model.\n\n"
    "Errors: one line on stderr, non-zero exit, no output file written.\n\n";

enum { MAX_DIRS = 8, SIDE = 32, MIN_WINDOW = 32, MAX_WINDOW = 256, SPLIT_SEED = 2017 };
enum { TINY_STRIDE = 39, SUBSTITUTE_EPOCH = 200000, FIGURE3_HALF = 8 };

static const pcl_architecture *const archs[] = {&pcl_arch_fc_binary_ae, &pcl_arch_fc_binary_ae_narrow};

/* The losses' SSIM options: ssim one scale, valid mode (32x32 -> 22x22);
 * msssim five scales, same mode (valid mode ends below the window), the
 * paper's equal exponents; L = 2 (pixels in [-1, 1]). */
static pcl_ssim_options ssim_options(int scales)
{
    pcl_ssim_options o = pcl_ssim_options_default();
    o.data_range = 2.0;
    o.scales = scales;
    o.mode = scales == 1 ? PCL_SSIM_MODE_VALID : PCL_SSIM_MODE_SAME;
    o.weights = PCL_SSIM_WEIGHTS_EQUAL;
    return o;
}

/* ---- data ---------------------------------------------------------------------- */

static const app_ae_draw as_is = {SIDE, 0, 0, 0}, windows = {SIDE, MIN_WINDOW, MAX_WINDOW, 1};

/* The paper's protocol is there: Tiny Images and the CIFAR-10 binaries. */
static int paper_data(const char *root)
{
    const pcl_corpus corpora[3] = {PCL_CORPUS_TINY_IMAGES, PCL_CORPUS_CIFAR10_TRAIN_BIN, PCL_CORPUS_CIFAR10_TEST_BIN};
    for (int c = 0; c < 3; c++) {
        pcl_corpus_report report;
        if (!root || pcl_corpus_check(corpora[c], root, 0, &report) != PCL_OK || !report.complete) return 0;
    }
    return 1;
}

/* --protocol against the data root: APP_AE_PROTOCOL_PAPER or APP_AE_PROTOCOL_SUBSTITUTE, or 0 after a usage error. */
static int resolve_protocol(app_args *r, const char *root, int protocol)
{
    if (protocol == APP_AE_PROTOCOL_PAPER && !paper_data(root))
        return app_args_error(r, "--protocol paper needs tiny_images.bin and cifar-10-batches-bin/ under %s",
                              root ? root : "--data DIR");
    if (protocol == APP_AE_PROTOCOL_AUTO) protocol = paper_data(root) ? APP_AE_PROTOCOL_PAPER : APP_AE_PROTOCOL_SUBSTITUTE;
    return protocol;
}

/* CIFAR-10 split into the protocol's validation (part 0) or query (part 1) images. */
static int open_cifar(const char *app, const char *root, int protocol, int part, app_ae_set *s)
{
    size_t *map = NULL;
    if (protocol == APP_AE_PROTOCOL_PAPER) {
        const size_t sizes[2] = {48000, 12000};
        return app_ae_set_open_corpus(app, s, PCL_CORPUS_CIFAR10_TRAIN_BIN, root) ||
               app_ae_set_open_corpus(app, s, PCL_CORPUS_CIFAR10_TEST_BIN, root) ||
               app_ae_split(app, 60000, sizes, SPLIT_SEED, part, &map) ||
               app_ae_set_finish(app, s, &as_is, 0, map, sizes[part]);
    }
    const size_t sizes[2] = {8000, 2000};
    return app_ae_set_open_corpus(app, s, PCL_CORPUS_CIFAR10_TEST_JPEG, root) ||
           app_ae_split(app, 10000, sizes, SPLIT_SEED, part, &map) ||
           app_ae_set_finish(app, s, &as_is, 0, map, sizes[part]);
}

/* The query images: --images, or the protocol's. name: what the report calls them. */
static int open_queries(const char *app, const char *root, int protocol, const char *images, app_ae_set *s,
                        char *name, size_t size)
{
    if (images) {
        app_base_name(images, name, size);
        return app_ae_set_open_folder(app, s, images, SIDE) || app_ae_set_finish(app, s, &as_is, 0, NULL, 0);
    }
    snprintf(name, size, protocol == APP_AE_PROTOCOL_PAPER ? "CIFAR-10 queries (12,000 of 60,000)"
                                                    : "CIFAR-10 test copy, queries (2,000 of 10,000)");
    return open_cifar(app, root, protocol, 1, s);
}

/* Every TINY_STRIDE-th Tiny Image. */
static int open_tiny(const char *app, const char *root, app_ae_set *s, size_t epoch)
{
    if (app_ae_set_open_corpus(app, s, PCL_CORPUS_TINY_IMAGES, root)) return 1;
    const size_t n = (pcl_dataset_count(s->datasets[0]) + TINY_STRIDE - 1) / TINY_STRIDE;
    size_t *map = malloc(n * sizeof *map);
    if (!map) return fprintf(stderr, "perceptcl %s: out of memory for %zu indices\n", app, n), 1;
    for (size_t k = 0; k < n; k++) map[k] = k * TINY_STRIDE;
    return app_ae_set_finish(app, s, &as_is, epoch, map, n);
}

/* ---- train --------------------------------------------------------------------- */

static const app_option train_options[] = {
    APP_TRAIN_OPTIONS,   APP_TRAIN_EARLY_STOP_OPTIONS, {"--data", "DIR"},       {"--protocol", "P"},
    {"--train", "DIR"},  {"--validation", "DIR"},      {"--narrow", NULL},      {"--epoch-size", "N"},
    {"--init", "I"},     {NULL, NULL}};
static const char *const init_names[] = {"he", "torch", NULL};

static int run_train(int argc, char **argv)
{
    const char *cmd = "fcae train", *dirs[MAX_DIRS], *validation_dir = NULL, *data = NULL;
    pcl_device_selection selection = {0};
    app_train t = app_train_defaults();
    t.losses = 1u << PCL_LOSS_KIND_MSE | 1u << PCL_LOSS_KIND_MAE | 1u << PCL_LOSS_KIND_SSIM |
               1u << PCL_LOSS_KIND_MSSSIM;
    t.batch = 64, t.epochs = 100, t.patience = 1, t.momentum = 0.9, t.weight_decay = 5e-5;
    t.record_name = "images";
    int dir_count = 0, narrow = 0, protocol = APP_AE_PROTOCOL_AUTO, torch_init = 0;
    long epoch_size = 0;
    app_args r;
    app_args_init(&r, cmd, usage, train_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (app_train_arg(&t, &r)) continue;
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--train")) app_args_append(&r, dirs, &dir_count, MAX_DIRS, "--train folders");
        else if (app_args_is(&r, "--validation")) validation_dir = r.value;
        else if (app_args_is(&r, "--data")) data = r.value;
        else if (app_args_is(&r, "--protocol")) app_args_choice(&r, app_ae_protocol_names, &protocol);
        else if (app_args_is(&r, "--narrow")) narrow = 1;
        else if (app_args_is(&r, "--init")) app_args_choice(&r, init_names, &torch_init);
        else if (app_args_is(&r, "--epoch-size")) app_args_long(&r, 1, 1000000000, &epoch_size);
    }
    /* The learning rates measured to train (README, "Experiment 1"). */
    t.sgd_lr = pcl_loss_kind_uses_ssim(t.loss) ? 5e-2 : 2.5e-2;
    const char *root = pcl_data_root(data);
    if (r.exit_code < 0 && !root && (!dir_count || !validation_dir))
        app_args_error(&r, "needs --data DIR (or PERCEPTCL_DATA), or --train DIR and --validation DIR");
    if (r.exit_code < 0 && (dir_count || validation_dir) && protocol == APP_AE_PROTOCOL_PAPER)
        app_args_error(&r, "--protocol paper takes its images from --data, not --train / --validation");
    if (r.exit_code < 0 && (!dir_count || !validation_dir) && !(protocol = resolve_protocol(&r, root, protocol)))
        protocol = APP_AE_PROTOCOL_AUTO;
    const pcl_architecture *arch = narrow ? &pcl_arch_fc_binary_ae_narrow : &pcl_arch_fc_binary_ae;
    const int paper = protocol == APP_AE_PROTOCOL_PAPER && !dir_count;
    json_t *folders = json_array();
    for (int d = 0; folders && d < dir_count; d++) json_array_append_new(folders, json_string(dirs[d]));
    json_t *recipe = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:i, s:i, s:s}", "architecture", arch->name,
                               "protocol", paper ? "paper" : "substitute", "data", root ? root : "", "train", folders,
                               "validation", validation_dir ? validation_dir : "", "epoch_size",
                               (json_int_t)epoch_size, "window_min", MIN_WINDOW, "window_max", MAX_WINDOW, "init",
                               init_names[torch_init]);
    if (app_train_ready(&t, &r, recipe) >= 0) return r.exit_code;

    /* Data first: a bad folder fails before the device is opened. */
    app_ae_set train = {0}, validation = {0};
    int rc = 0;
    for (int d = 0; d < dir_count && rc == 0; d++) rc = app_ae_set_open_folder(cmd, &train, dirs[d], 0);
    if (rc == 0 && dir_count) rc = app_ae_set_finish(cmd, &train, &windows, (size_t)epoch_size, NULL, 0);
    if (rc == 0 && !dir_count && paper) rc = open_tiny(cmd, root, &train, (size_t)epoch_size);
    if (rc == 0 && !dir_count && !paper) {
        const pcl_corpus corpora[4] = {PCL_CORPUS_BSD200, PCL_CORPUS_T91, PCL_CORPUS_STL10_UNLABELED_PNG,
                                       PCL_CORPUS_CIFAR10_TRAIN200_PNG};
        for (int c = 0; c < 4 && rc == 0; c++) rc = app_ae_set_open_corpus(cmd, &train, corpora[c], root);
        if (rc == 0)
            rc = app_ae_set_finish(cmd, &train, &windows, epoch_size ? (size_t)epoch_size : SUBSTITUTE_EPOCH, NULL,
                                   0);
    }
    if (rc == 0 && validation_dir)
        rc = app_ae_set_open_folder(cmd, &validation, validation_dir, SIDE) ||
             app_ae_set_finish(cmd, &validation, &as_is, 0, NULL, 0);
    if (rc == 0 && !validation_dir) /* the protocol's, also under --train folders */
        rc = open_cifar(cmd, root, protocol == APP_AE_PROTOCOL_PAPER ? APP_AE_PROTOCOL_PAPER : APP_AE_PROTOCOL_SUBSTITUTE, 0, &validation);
    if (rc == 0)
        fprintf(stderr, "perceptcl %s: %s, %s protocol: %zu training records per epoch from %zu images, %zu "
                        "validation images, loss %s, lr %g\n",
                cmd, arch->name, paper ? "paper's" : "substitute", train.source.count,
                pcl_pipeline_images(train.pipeline), validation.source.count, pcl_loss_kind_name(t.loss), t.lr);
    char title[128], train_names[1024] = "", name[256];
    snprintf(title, sizeof title, "%s, %s loss", arch->name, pcl_loss_kind_name(t.loss));
    for (int d = 0; d < dir_count; d++)
        snprintf(train_names + strlen(train_names), sizeof train_names - strlen(train_names), "%s%s", d ? "," : "",
                 app_base_name(dirs[d], name, sizeof name));
    const char *keys_values[] = {"protocol", paper ? "paper" : "substitute", "data",
                                 dir_count ? train_names
                                 : paper   ? "Tiny Images (every 39th)"
                                           : "BSD200,T91,STL-10 unlabeled 246,CIFAR-10 train 200",
                                 "input", "32x32 luma (ITU-R 601-2) in [-1, 1]", "init", init_names[torch_init],
                                 NULL};
    app_ae_job job = {arch, train.source, &validation.source, ssim_options(t.loss == PCL_LOSS_KIND_MSSSIM ? 5 : 1),
                      title, keys_values, NULL, !torch_init};
    if (rc == 0) rc = app_ae_train_run(&t, &selection, &job);
    app_ae_set_free(&train);
    app_ae_set_free(&validation);
    return rc;
}

/* ---- eval and reconstruct: what they share (autoencoder_cmd.c) ----------------- */

/* Opens the queries, then the device and the models, and scores them. */
static int test_run_start(const char *cmd, const pcl_device_selection *selection, const char *root,
                          const app_ae_test_options *o, app_ae_test_run *t)
{
    const pcl_ssim_options ssim = ssim_options(1), msssim = ssim_options(5);
    return open_queries(cmd, root, o->protocol, o->images, &t->set, t->set_name, sizeof t->set_name) ||
           app_ae_session_start(cmd, selection, archs, 2, o->paths, o->count, &t->set.source, &ssim, &msssim, &t->s);
}

/* ---- eval ------------------------------------------------------------------------- */

static const app_option eval_options[] = {
    {"--model", "M"},  {"--data", "DIR"},  {"--images", "DIR"},   {"--protocol", "P"}, {"--report", "PREFIX"},
    {"--grid", "PNG"}, {"--study", "DIR"}, {"--study-count", "N"}, {"--seed", "N"},    {"--zoom", "Z"},
    {NULL, NULL}};

static const app_metric wins_metric[1] = {{"better_own_metric_pct", "images better on its own metric (%)", 2, 2}};

/* One model trained with loss (the file's "loss"), or -1. */
static int model_of_loss(const app_ae_test_run *t, const char *loss)
{
    for (int m = 0; m < t->s.model_count; m++)
        if (strcmp(t->s.models[m].loss, loss) == 0) return m;
    return -1;
}

static json_t *wins_json(const app_ae_wins *w)
{
    return json_pack("{s:I, s:I, s:I, s:f, s:f, s:f}", "better", (json_int_t)w->a, "worse", (json_int_t)w->b, "ties",
                     (json_int_t)w->ties, "rate", app_round((double)w->a / (double)w->images, 4), "low",
                     app_round(w->a_low, 4), "high", app_round(w->a_high, 4));
}

/* The note under the table: protocol, conventions, intervals, means, costs, every pair's wins. */
static char *eval_note(const app_ae_test_run *t, const app_ae_test_options *o, const app_ae_wins *ssim_wins,
                       const app_ae_wins *mse_wins)
{
    char *text = NULL, *wins = app_ae_wins_markdown(&t->s.eval, t->s.labels);
    size_t length = 0;
    FILE *out = wins ? open_memstream(&text, &length) : NULL;
    if (!out) return free(wins), NULL;
    fprintf(out, "Queries: %s, %ld images, 32x32 luma in [-1, 1]; %s.\n\n", t->set_name, t->s.eval.images,
            o->images ? "a folder given with --images"
            : o->protocol == APP_AE_PROTOCOL_PAPER
                ? "the paper's protocol: CIFAR-10's 60,000 split with seed 2017 into 48,000 validation and 12,000 "
                  "queries; trained on every 39th Tiny Image (the paper: ~2 M, the first 30 per proper noun)"
                : "substitute protocol (no Tiny Images): trained on seeded 32..256-pixel windows of BSD200, T91, "
                  "246 STL-10 unlabeled and 200 CIFAR-10 training PNGs resized to 32x32; validated on 8,000 and "
                  "queried on 2,000 images of the lossy JPEG copy of the CIFAR-10 test set (split seed 2017)");
    fprintf(out, "SSIM net better SSIM: %ld of %ld (%.2f%%, Wilson 95%% %.2f-%.2f%%), ties %ld; paper 97.33%% of "
                 "12,000.\n\nMSE net better MSE: %ld of %ld (%.2f%%, Wilson 95%% %.2f-%.2f%%), ties %ld; paper "
                 "69.71%% of 12,000.\n\n",
            ssim_wins->a, ssim_wins->images, 100.0 * ssim_wins->a / ssim_wins->images, 100 * ssim_wins->a_low,
            100 * ssim_wins->a_high, ssim_wins->ties, mse_wins->a, mse_wins->images,
            100.0 * mse_wins->a / mse_wins->images, 100 * mse_wins->a_low, 100 * mse_wins->a_high, mse_wins->ties);
    fprintf(out, "Means over the queries (MSE, MAE: per-pixel means on [-1, 1], 4x and 2x their values on [0, 1]; "
                 "SSIM: one scale, valid mode, L = 2; MS-SSIM: 5 scales, same mode, equal exponents, L = 2):\n\n"
                 "| model | SSIM | MSE | MAE | MS-SSIM | training |\n|---|---|---|---|---|---|\n");
    const app_ae_eval *e = &t->s.eval;
    for (int m = 0; m < t->s.model_count; m++)
        fprintf(out, "| %s | %.4f | %.5f | %.4f | %.4f | %s |\n", t->s.labels[m], app_ae_mean(e, m, APP_AE_SSIM),
                app_ae_mean(e, m, APP_AE_MSE), app_ae_mean(e, m, APP_AE_MAE), app_ae_mean(e, m, APP_AE_MSSSIM),
                t->s.models[m].cost);
    fprintf(out, "\nPer-image wins of every pair (ties apart; Wilson 95%% intervals):\n\n%s", wins);
    free(wins);
    if (fclose(out) != 0) return free(text), NULL;
    return text;
}

static int run_eval(int argc, char **argv)
{
    const char *cmd = "fcae eval";
    pcl_device_selection selection = {0};
    app_ae_test_options o = {.seed = 1, .zoom = 4};
    app_ae_eval_outputs out = {.study_count = 64};
    app_args r;
    app_args_init(&r, cmd, usage, eval_options, &selection, argc, argv);
    const char *root = app_ae_eval_args(&r, &o, &out, resolve_protocol);
    if (r.exit_code < 0 && o.count < 2) app_args_error(&r, "needs the MSE net and the SSIM net (--model M twice)");
    if (r.exit_code >= 0) return r.exit_code;

    app_ae_test_run t = {0};
    int rc = test_run_start(cmd, &selection, root, &o, &t);
    const int mse = rc == 0 ? model_of_loss(&t, "mse") : -1, ssim = rc == 0 ? model_of_loss(&t, "ssim") : -1;
    if (rc == 0 && (mse < 0 || ssim < 0))
        rc = (fprintf(stderr, "perceptcl %s: needs a model trained with --loss mse and one with --loss ssim (%s)\n",
                      cmd, mse < 0 ? "no mse" : "no ssim"), 1);
    app_ae_wins ssim_wins = {0}, mse_wins = {0};
    if (rc == 0) {
        ssim_wins = app_ae_count_wins(&t.s.eval, ssim, mse, APP_AE_SSIM);
        mse_wins = app_ae_count_wins(&t.s.eval, mse, ssim, APP_AE_MSE);
    }
    /* One row (the queries), a column per net: its share of images better on its own metric. */
    const char *columns[2] = {"MSE", "SSIM"};
    const double values[2] = {rc == 0 ? 100.0 * mse_wins.a / mse_wins.images : 0,
                              rc == 0 ? 100.0 * ssim_wins.a / ssim_wins.images : 0};
    app_report_row row = {t.set_name, t.s.eval.images, values, app_paper_fc_wins.values};
    char *note = rc == 0 ? eval_note(&t, &o, &ssim_wins, &mse_wins) : NULL;
    json_t *models = json_array(), *wins = rc == 0 ? app_ae_wins_json(&t.s.eval, t.s.labels) : NULL;
    for (int m = 0; models && m < t.s.model_count; m++) {
        json_t *item = json_pack("{s:s, s:s, s:s, s:s}", "label", t.s.labels[m], "path", o.paths[m], "loss",
                                 t.s.models[m].loss, "cost", t.s.models[m].cost);
        for (int k = 0; item && k < APP_AE_METRICS; k++)
            json_object_set_new(item, app_ae_metric_keys[k], json_real(app_round(app_ae_mean(&t.s.eval, m, k), 6)));
        if (json_array_append_new(models, item) != 0) json_decref(models), models = NULL;
    }
    json_t *header =
        models && wins
            ? json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "protocol",
                        o.images ? "images" : o.protocol == APP_AE_PROTOCOL_PAPER ? "paper" : "substitute", "pixel_scale",
                        "[-1, 1]", "ssim", "1 scale, valid mode, L = 2", "ssim_net_better_ssim", wins_json(&ssim_wins),
                        "mse_net_better_mse", wins_json(&mse_wins), "models", models, "wins", wins)
            : NULL;
    if (!header) json_decref(models), json_decref(wins);
    if (rc == 0 && (!note || !header)) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1);
    app_report table = {"Fully-connected binary autoencoders on 32x32: per-image wins (sec. 3.1, app. A.3)",
                        "set", "sets", "images", wins_metric, 1, columns, 2, app_paper_fc_wins.row_labels, 2, &row, 1,
                        note, header};
    long picked[2 * FIGURE3_HALF];
    /* Figure 3: the 8 queries where the SSIM net's SSIM gain is largest, then the 8 where it is smallest. */
    out.row_count = rc == 0 && out.grid ? app_ae_extremes(&t.s.eval, ssim, mse, APP_AE_SSIM, FIGURE3_HALF, picked) : 0;
    if (out.row_count < 0) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    const int panels[3] = {1 + mse, 0, 1 + ssim};
    out.rows = picked, out.panels = panels, out.panel_count = 3;
    if (rc == 0) rc = app_ae_eval_write(cmd, &t, &o, &out, &table);
    free(note);
    json_decref(header);
    app_ae_test_run_end(&t);
    return rc;
}

/* ---- reconstruct -------------------------------------------------------------------- */

static const app_option reconstruct_options[] = {{"--model", "M"}, {"--data", "DIR"}, {"--images", "DIR"},
                                                 {"--protocol", "P"}, {"--count", "N"}, {"--zoom", "Z"},
                                                 {"--seed", "N"}, {NULL, NULL}};

static int run_reconstruct(int argc, char **argv)
{
    static const app_ae_reconstruct_command command = {"fcae reconstruct", usage, reconstruct_options,
                                                       {.seed = 1, .zoom = 4}, resolve_protocol, test_run_start};
    return app_ae_run_reconstruct(argc, argv, &command);
}

int app_fcae(int argc, char **argv)
{
    static const app_subcommand subcommands[] = {
        {"train", run_train}, {"eval", run_eval}, {"reconstruct", run_reconstruct}, {NULL, NULL}};
    return app_run_subcommand("fcae", usage, subcommands, argc, argv);
}
