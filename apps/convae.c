/* perceptcl convae: the convolutional autoencoders of Snell et al. 2017,
 * sec. 3.1 and appendix A.2, trained with MSE, MAE or 1 - MS-SSIM on 96x96
 * grayscale, evaluated beside the paper's Table 3, and Figure 4's grid.
 *
 *   perceptcl convae train        ...   one net (an architecture table + pipelines, autoencoder.c)
 *   perceptcl convae eval         ...   Table 3 on the test set, per-image win counts, study items
 *   perceptcl convae reconstruct  ...   Figure 4: original | each net, for seeded test images
 *
 * The networks are tables (pcl_arch_conv_ae_96, _b512, _narrow), the data
 * pipelines (pipeline.h), training the shared flags (train_cmd.c) through
 * app_ae_train_run, scoring and pictures autoencoder.c, the report report.c
 * beside app_paper_table3. */
#include "app.h"
#include "autoencoder.h"

#include "perceptcl/architectures.h"
#include "perceptcl/datasets.h"
#include "perceptcl/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: perceptcl convae train --loss mse|mae|msssim --out MODEL.safetensors\n"
    "                              [--data DIR] [--protocol auto|paper|substitute] [--train DIR ...]\n"
    "                              [--validation DIR] [--bottleneck 128|512] [--narrow]\n"
    "                              [--msssim-weights equal|standard] [--epoch-size N] [--validation-crops 4]\n"
    "                              [--epochs 100] [--patience 5] [--min-delta D] [--max-steps N] [--batch 64]\n"
    "                              [--lr 1e-4] [--optimizer adam|sgd] [--seed 1] [--resume] [--log CSV]\n"
    "                              [--curve SVG] [--checkpoint-minutes 10]\n"
    "       perceptcl convae eval --model M [--model M2 ...] [--data DIR | --images DIR] [--protocol P]\n"
    "                              [--report PREFIX] [--grid OUT.png] [--study DIR] [--study-count 64]\n"
    "                              [--seed 1] [--zoom 2]\n"
    "       perceptcl convae reconstruct --model M [--model M2 ...] [--data DIR | --images DIR]\n"
    "                              [--protocol P] [--count 8] [--zoom 2] [--seed 1] OUT.png\n\n"
    "Appendix A.2: 96x96 grayscale (ITU-R 601-2 luma) in [-1, 1]; three 5x5 stride-2 convolutions\n"
    "(128, 256, 512 filters, ReLU), a dense tanh bottleneck of 128 units (--bottleneck 512: the\n"
    "paper's other variant), mirrored decoder (dense, then nearest 2x upsampling + 5x5 convolution,\n"
    "ReLU), tanh output; about 27 M parameters (128) or 84 M (512). --narrow: the same with 8, 16,\n"
    "32 filters (pcl_arch_conv_ae_96_narrow, 1.2 M; tests and smoke runs, not the paper's).\n\n"
    "Data (--data DIR, or $PERCEPTCL_DATA: a data root as `perceptcl datasets` reads it):\n"
    "  paper       (when DIR has stl10_binary/ complete) STL-10's 100,000 unlabeled images for\n"
    "              training; its 13,000 labelled train + test images split with seed 2017 into\n"
    "              10,400 validation and 2,600 test images.\n"
    "  substitute  (otherwise) training: seeded square windows of side 96..320 of BSD200 and T91,\n"
    "              resized to 96x96 (MATLAB bicubic, antialiased: objects at about STL-10's scale)\n"
    "              and mirrored left-right at random; validation: --validation-crops windows per\n"
    "              BSD100 image drawn the same way (fixed: the same every epoch); test: the 256 real\n"
    "              STL-10 images (STL10/test_examples10 and STL10/unlabeled_examples246).\n"
    "  --train DIR / --validation DIR replace the training / validation images with folders drawn\n"
    "  as the substitute's; --images DIR (eval, reconstruct): a folder of 96x96 test images.\n"
    "  An epoch is --epoch-size records (default: 100,000 for the paper's protocol, 20,000 windows\n"
    "  for the substitute, one per image for --train folders of more).\n\n"
    "train: Adam (betas 0.9, 0.999, eps 1e-8), lr 1e-4, batch 64 for every loss (the paper gives\n"
    "  none of them; lr 1e-3 makes the first steps saturate the output tanh: bench/RESULTS.md, \"W4a's\n"
    "  loss\"), PyTorch's default initialisation (U(+-1/sqrt(fan_in)) weights and biases), early\n"
    "  stopping on the validation loss (the training loss's own metric) after --patience epochs\n"
    "  without improvement, keeping the best weights. msssim: 1 - MS-SSIM, 5 scales, L = 2, same\n"
    "  mode (valid mode is undefined at 96x96), the paper's equal exponents (--msssim-weights\n"
    "  standard: Wang's). Every epoch, and every --checkpoint-minutes within one, writes\n"
    "  MODEL.safetensors.train; --resume continues it exactly (same flags; --epochs, --max-steps and\n"
    "  --checkpoint-minutes may change).\n\n"
    "eval: every model on the test set: per-image MSE and MAE (on [-1, 1]; /4 and /2 on [0, 1]),\n"
    "  SSIM and MS-SSIM (same mode, L = 2, MS-SSIM with equal exponents as trained): Table 3's\n"
    "  matrix (a column per model, a line per metric) beside the paper's, the per-image win counts\n"
    "  of every pair on every metric with Wilson 95% intervals (ties apart), the training cost.\n"
    "  --grid: Figure 4's grid for 8 seeded test images; --study DIR: --study-count seeded test\n"
    "  images, originals and reconstructions, and DIR/items.json for perceptcl study make (2 or 3\n"
    "  models).\n\n"
    "reconstruct: OUT.png, a row per seeded test image: original, then each model, enlarged --zoom.\n\n"
    "Errors: one line on stderr, non-zero exit, no output file written.\n\n";

enum { MAX_MODELS = 8 };
static const char *const exponents[] = {"equal", "standard", NULL};

static const pcl_architecture *const archs[] = {&pcl_arch_conv_ae_96, &pcl_arch_conv_ae_96_b512,
                                                &pcl_arch_conv_ae_96_narrow};

/* ---- train --------------------------------------------------------------------- */

static const app_option train_options[] = {
    APP_TRAIN_OPTIONS,          APP_TRAIN_EARLY_STOP_OPTIONS, {"--data", "DIR"},        {"--protocol", "P"},
    {"--train", "DIR"},         {"--validation", "DIR"},      {"--bottleneck", "N"},    {"--narrow", NULL},
    {"--msssim-weights", "W"},  {"--epoch-size", "N"},        {"--validation-crops", "N"}, {"--init", "MODEL"},
    {NULL, NULL}};

static int run_train(int argc, char **argv)
{
    const char *cmd = "convae train", *dirs[APP_AE_MAX_DIRS], *validation_dir = NULL, *data = NULL, *init = NULL;
    pcl_device_selection selection = {0};
    app_train t = app_train_defaults();
    t.losses = 1u << PCL_LOSS_KIND_MSE | 1u << PCL_LOSS_KIND_MAE | 1u << PCL_LOSS_KIND_MSSSIM;
    t.adam = 1, t.adam_lr = 1e-4, t.batch = 64, t.epochs = 100, t.patience = 5;
    t.record_name = "images";
    int dir_count = 0, bottleneck = 128, narrow = 0, standard = 0, protocol = APP_AE_PROTOCOL_AUTO, crops = 4;
    long epoch_size = 0;
    app_args r;
    app_args_init(&r, cmd, usage, train_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (app_train_arg(&t, &r)) continue;
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--train")) app_args_append(&r, dirs, &dir_count, APP_AE_MAX_DIRS, "--train folders");
        else if (app_args_is(&r, "--validation")) validation_dir = r.value;
        else if (app_args_is(&r, "--init")) init = r.value;
        else if (app_args_is(&r, "--data")) data = r.value;
        else if (app_args_is(&r, "--protocol")) app_args_choice(&r, app_ae_protocol_names, &protocol);
        else if (app_args_is(&r, "--bottleneck") && app_args_int(&r, 1, 1 << 20, &bottleneck) && bottleneck != 128 &&
                 bottleneck != 512)
            app_args_error(&r, "--bottleneck must be 128 or 512 (the paper's), not %d", bottleneck);
        else if (app_args_is(&r, "--narrow")) narrow = 1;
        else if (app_args_is(&r, "--msssim-weights")) app_args_choice(&r, exponents, &standard);
        else if (app_args_is(&r, "--epoch-size")) app_args_long(&r, 1, 1000000000, &epoch_size);
        else if (app_args_is(&r, "--validation-crops")) app_args_int(&r, 1, 1000, &crops);
    }
    const char *root = pcl_data_root(data);
    if (r.exit_code < 0 && narrow && bottleneck != 128) app_args_error(&r, "--narrow has the 128-unit bottleneck");
    if (r.exit_code < 0 && !root && (!dir_count || !validation_dir))
        app_args_error(&r, "needs --data DIR (or PERCEPTCL_DATA), or --train DIR and --validation DIR");
    if (r.exit_code < 0 && (dir_count || validation_dir) && protocol == APP_AE_PROTOCOL_PAPER)
        app_args_error(&r, "--protocol paper takes its images from --data, not --train / --validation");
    if (r.exit_code < 0 && !(protocol = app_ae_resolve_protocol(&r, root, protocol))) protocol = APP_AE_PROTOCOL_AUTO;
    const pcl_architecture *arch = narrow ? &pcl_arch_conv_ae_96_narrow
                                   : bottleneck == 512 ? &pcl_arch_conv_ae_96_b512 : &pcl_arch_conv_ae_96;
    const int paper = protocol == APP_AE_PROTOCOL_PAPER && !dir_count;
    json_t *folders = json_array();
    for (int d = 0; folders && d < dir_count; d++) json_array_append_new(folders, json_string(dirs[d]));
    json_t *recipe =
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:i, s:i, s:i, s:s}", "architecture", arch->name, "protocol",
                  paper ? "paper" : "substitute", "data", root ? root : "", "train", folders, "validation",
                  validation_dir ? validation_dir : "", "msssim_weights", standard ? "standard" : "equal", "epoch_size",
                  (json_int_t)epoch_size, "validation_crops", crops, "window_min", APP_AE_MIN_WINDOW, "window_max",
                  APP_AE_MAX_WINDOW, "init", init ? init : "");
    if (r.exit_code < 0 && init && access(init, R_OK) != 0) app_args_error(&r, "--init %s: not readable", init);
    if (app_train_ready(&t, &r, recipe) >= 0) return r.exit_code;

    /* Data first: a bad folder fails before the device is opened. */
    app_ae_set train = {0}, validation = {0};
    size_t *map = NULL, map_count = 0;
    int rc = 0;
    for (int d = 0; d < dir_count && rc == 0; d++) rc = app_ae_set_open_folder(cmd, &train, dirs[d], 0);
    if (rc == 0 && !dir_count && paper) rc = app_ae_set_open_corpus(cmd, &train, PCL_CORPUS_STL10_UNLABELED_BIN, root);
    if (rc == 0 && !dir_count && !paper)
        rc = app_ae_set_open_corpus(cmd, &train, PCL_CORPUS_BSD200, root) ||
             app_ae_set_open_corpus(cmd, &train, PCL_CORPUS_T91, root);
    if (rc == 0)
        rc = app_ae_set_finish(cmd, &train, paper ? &app_ae_draw96_as_is : &app_ae_draw96_windows_flipped,
                               epoch_size ? (size_t)epoch_size : paper || dir_count ? 0 : 20000, NULL, 0);
    if (rc == 0 && validation_dir) rc = app_ae_set_open_folder(cmd, &validation, validation_dir, 0);
    if (rc == 0 && !validation_dir && paper)
        rc = app_ae_set_open_corpus(cmd, &validation, PCL_CORPUS_STL10_TRAIN_BIN, root) ||
             app_ae_set_open_corpus(cmd, &validation, PCL_CORPUS_STL10_TEST_BIN, root) ||
             app_ae_paper_split(cmd, 0, &map, &map_count);
    if (rc == 0 && !validation_dir && !paper) rc = app_ae_set_open_corpus(cmd, &validation, PCL_CORPUS_BSD100, root);
    if (rc == 0) {
        size_t images = 0;
        for (int d = 0; d < validation.count; d++) images += pcl_dataset_count(validation.datasets[d]);
        rc = paper ? app_ae_set_finish(cmd, &validation, &app_ae_draw96_as_is, 0, map, map_count)
                   : app_ae_set_finish(cmd, &validation, &app_ae_draw96_windows, images * (size_t)crops, NULL, 0);
        map = NULL; /* owned by the set now (freed with it, also after a failure) */
    }
    free(map);
    if (rc == 0)
        fprintf(stderr, "perceptcl %s: %s, %s protocol: %zu training records per epoch from %zu images, %zu "
                        "validation records, loss %s\n",
                cmd, arch->name, paper ? "paper's" : "substitute", train.source.count,
                pcl_pipeline_images(train.pipeline), validation.source.count, pcl_loss_kind_name(t.loss));
    char title[128], train_names[1024] = "", name[256];
    snprintf(title, sizeof title, "%s, %s loss", arch->name, pcl_loss_kind_name(t.loss));
    for (int d = 0; d < dir_count; d++)
        snprintf(train_names + strlen(train_names), sizeof train_names - strlen(train_names), "%s%s", d ? "," : "",
                 app_base_name(dirs[d], name, sizeof name));
    const char *keys_values[] = {"protocol", paper ? "paper" : "substitute", "data",
                                 dir_count ? train_names : paper ? "STL-10 unlabeled" : "BSD200,T91", "input",
                                 "96x96 luma (ITU-R 601-2) in [-1, 1]", "msssim_weights",
                                 standard ? "standard" : "equal", "init",
                                 init ? app_base_name(init, name, sizeof name) : NULL, NULL};
    app_ae_job job = {arch, train.source, &validation.source, pcl_ssim_options_default(), title, keys_values, init, 0};
    job.ssim.mode = PCL_SSIM_MODE_SAME;
    job.ssim.data_range = 2.0;
    job.ssim.scales = 5;
    job.ssim.weights = standard ? PCL_SSIM_WEIGHTS_STANDARD : PCL_SSIM_WEIGHTS_EQUAL;
    if (rc == 0) rc = app_ae_train_run(&t, &selection, &job);
    app_ae_set_free(&train);
    app_ae_set_free(&validation);
    return rc;
}

/* ---- eval and reconstruct: what they share (autoencoder_cmd.c) ----------------- */

/* Opens the test images, then the device and the models, and scores them. */
static int test_run_start(const char *cmd, const pcl_device_selection *selection, const char *root,
                          const app_ae_test_options *o, app_ae_test_run *t)
{
    pcl_ssim_options ssim = pcl_ssim_options_default(), msssim;
    ssim.mode = PCL_SSIM_MODE_SAME;
    ssim.data_range = 2.0;
    msssim = ssim;
    msssim.scales = 5;
    msssim.weights = o->standard ? PCL_SSIM_WEIGHTS_STANDARD : PCL_SSIM_WEIGHTS_EQUAL;
    return app_ae_open_test(cmd, root, o->protocol, o->images, &t->set, t->set_name, sizeof t->set_name) ||
           app_ae_session_start(cmd, selection, archs, 3, o->paths, o->count, &t->set.source, &ssim, &msssim, &t->s);
}

/* ---- eval ------------------------------------------------------------------------- */

static const app_option eval_options[] = {
    {"--model", "M"},  {"--data", "DIR"},  {"--images", "DIR"},   {"--protocol", "P"},     {"--report", "PREFIX"},
    {"--grid", "PNG"}, {"--study", "DIR"}, {"--study-count", "N"}, {"--seed", "N"},        {"--zoom", "Z"},
    {"--msssim-weights", "W"}, {NULL, NULL}};

static const app_metric table3_metrics[] = {{"mse", "MSE", 4, 6}, {"mae", "MAE", 4, 6}, {"msssim", "MS-SSIM", 4, 6}};
static const int table3_metric_index[3] = {APP_AE_MSE, APP_AE_MAE, APP_AE_MSSSIM};

/* The note under Table 3: protocol, scale, SSIM means, costs, win counts. */
static char *eval_note(const app_ae_test_run *t, int protocol, const char *images, int standard)
{
    char *text = NULL, *wins = app_ae_wins_markdown(&t->s.eval, t->s.labels);
    size_t length = 0;
    FILE *out = wins ? open_memstream(&text, &length) : NULL;
    if (!out) return free(wins), NULL;
    fprintf(out, "Test set: %s, %ld images, 96x96 luma in [-1, 1]; %s.\n\n", t->set_name, t->s.eval.images,
            images ? "a folder given with --images"
            : protocol == APP_AE_PROTOCOL_PAPER
                ? "the paper's protocol (STL-10 binaries; 2,600 of the 13,000 labelled images, split seed 2017)"
                : "substitute protocol (no STL-10 binaries): trained on windows of BSD200 + T91, validated on "
                  "BSD100 windows, tested on the 256 real STL-10 images in ../shared/datasets");
    fprintf(out, "MSE and MAE are per-pixel means on [-1, 1], the networks' scale (on [0, 1]: MSE / 4, MAE / 2). "
                 "MS-SSIM: 5 scales, same mode, L = 2, %s exponents. The paper does not say its scale: its MSE "
                 "net's MSE 0.0233 is 22.3 dB PSNR on [-1, 1] or 16.3 dB on [0, 1]",
            standard ? "Wang's (--msssim-weights standard)" : "the paper's equal");
    for (int m = 0; m < t->s.model_count; m++) {
        double mse = app_ae_mean(&t->s.eval, m, APP_AE_MSE);
        fprintf(out, "%s %s's: %.2f dB", m ? "," : "; ours,", t->s.labels[m], 10.0 * log10(4.0 / mse));
    }
    fprintf(out, ".\n\nMean SSIM (same mode, L = 2):");
    for (int m = 0; m < t->s.model_count; m++)
        fprintf(out, "%s %s %.4f", m ? "," : "", t->s.labels[m], app_ae_mean(&t->s.eval, m, APP_AE_SSIM));
    fprintf(out, ".\n\nTraining cost:");
    for (int m = 0; m < t->s.model_count; m++)
        fprintf(out, "%s %s: %s", m ? ";" : "", t->s.labels[m], t->s.models[m].cost);
    fprintf(out, ".\n\nPer-image wins (the better value on each image; ties apart; Wilson 95%% intervals):\n\n%s",
            wins);
    free(wins);
    if (fclose(out) != 0) return free(text), NULL;
    return text;
}

static int run_eval(int argc, char **argv)
{
    const char *cmd = "convae eval";
    pcl_device_selection selection = {0};
    app_ae_test_options o = {.seed = 1, .zoom = 2};
    app_ae_eval_outputs out = {.study_count = 64};
    app_args r;
    app_args_init(&r, cmd, usage, eval_options, &selection, argc, argv);
    const char *root = app_ae_eval_args(&r, &o, &out, app_ae_resolve_protocol);
    if (r.exit_code >= 0) return r.exit_code;

    app_ae_test_run t = {0};
    int rc = test_run_start(cmd, &selection, root, &o, &t);
    /* Table 3: one row (the test set), a line per metric, a column per model, the paper's beside. */
    double values[MAX_MODELS * 3];
    for (int m = 0; rc == 0 && m < t.s.model_count; m++)
        for (int k = 0; k < 3; k++) values[m * 3 + k] = app_ae_mean(&t.s.eval, m, table3_metric_index[k]);
    app_report_row row = {t.set_name, t.s.eval.images, values, app_paper_table3.values};
    char *note = rc == 0 ? eval_note(&t, o.protocol, o.images, o.standard) : NULL;
    json_t *models = json_array(), *wins = rc == 0 ? app_ae_wins_json(&t.s.eval, t.s.labels) : NULL;
    for (int m = 0; models && m < t.s.model_count; m++)
        if (json_array_append_new(models, json_pack("{s:s, s:s, s:s, s:s, s:f}", "label", t.s.labels[m], "path",
                                                    o.paths[m], "loss", t.s.models[m].loss, "cost", t.s.models[m].cost,
                                                    "ssim", app_round(app_ae_mean(&t.s.eval, m, APP_AE_SSIM), 6))))
            json_decref(models), models = NULL;
    json_t *header = models && wins ? json_pack("{s:s, s:s, s:o, s:o}", "protocol",
                                                o.images ? "images" : o.protocol == APP_AE_PROTOCOL_PAPER ? "paper"
                                                                                                 : "substitute",
                                                "pixel_scale", "[-1, 1]", "models", models, "wins", wins)
                                    : NULL;
    if (!header) json_decref(models), json_decref(wins);
    if (rc == 0 && (!note || !header)) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1);
    app_report table = {"Convolutional autoencoders on 96x96: held-out reconstruction (Table 3)", "set", "sets",
                        "images", table3_metrics, 3, t.s.labels, t.s.model_count,
                        app_paper_table3.row_labels, 3, &row, 1, note, header};
    long picked[8];
    out.row_count = t.s.eval.images < 8 ? (int)t.s.eval.images : 8;
    out.rows = picked;
    if (rc == 0 && out.grid) app_ae_pick(t.s.eval.images, out.row_count, (uint64_t)o.seed, picked);
    if (rc == 0) rc = app_ae_eval_write(cmd, &t, &o, &out, &table);
    free(note);
    json_decref(header);
    app_ae_test_run_end(&t);
    return rc;
}

/* ---- reconstruct -------------------------------------------------------------------- */

static const app_option reconstruct_options[] = {{"--model", "M"}, {"--data", "DIR"}, {"--images", "DIR"},
                                                 {"--protocol", "P"}, {"--count", "N"}, {"--zoom", "Z"},
                                                 {"--seed", "N"}, {"--msssim-weights", "W"}, {NULL, NULL}};

static int run_reconstruct(int argc, char **argv)
{
    static const app_ae_reconstruct_command command = {"convae reconstruct", usage, reconstruct_options,
                                                       {.seed = 1, .zoom = 2}, app_ae_resolve_protocol,
                                                       test_run_start};
    return app_ae_run_reconstruct(argc, argv, &command);
}

int app_convae(int argc, char **argv)
{
    static const app_subcommand subcommands[] = {
        {"train", run_train}, {"eval", run_eval}, {"reconstruct", run_reconstruct}, {NULL, NULL}};
    return app_run_subcommand("convae", usage, subcommands, argc, argv);
}
