/* perceptcl yaleb train, features --model and reconstruct (yaleb.h): the
 * autoencoders of experiment 4 (appendix C), the 32 bottleneck units they
 * give each face, and what they make of the test faces. */
#include "app.h"
#include "autoencoder.h"
#include "yaleb.h"

#include "perceptcl/architectures.h"
#include "perceptcl/checkpoint.h"
#include "perceptcl/model.h"
#include "perceptcl/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PIXELS = YALEB_SIDE * YALEB_SIDE, FORWARD_BATCH = 64 };

static const char train_usage[] =
    "usage: perceptcl yaleb train --data DIR --loss mse|mae|msssim --out MODEL.safetensors [--seed 1]\n"
    "           [--epochs 300] [--patience 20] [--batch 32] [--lr 1e-3] [--msssim-weights equal|standard]\n"
    "           [--log CSV] [--curve SVG] [--resume] [--checkpoint-minutes 10] [device flags]\n\n"
    "The Yale B autoencoder of appendix C (architectures.h, pcl_arch_yaleb_ae_48: 5x5 stride-2\n"
    "convolutions 128, 256, 512 on 48x48, a 32-unit ReLU bottleneck, batch normalisation on every\n"
    "layer but the output's tanh; PyTorch's default initialisation), trained with Adam (lr 1e-3, batch\n"
    "32, as the paper) on the training part of the seeded 60/20/20 split of the faces (yaleb svm's split:\n"
    "the same --seed there is --split-seed), early stopping on the validation part: training ends when the\n"
    "validation loss has not improved for --patience epochs (or after --epochs) and the best epoch's\n"
    "weights are saved. Faces: MATLAB-compatible bicubic with antialiasing to 48x48, pixels in [-1, 1].\n"
    "msssim: 1 - MS-SSIM, 5 scales in same mode (48x48 is below valid mode's minimum), L = 2, the\n"
    "paper's equal exponents unless --msssim-weights standard. --resume continues --out's training\n"
    "state (--out.train, written every epoch and every --checkpoint-minutes) after an interruption.\n";

/* The faces rows[0 .. count) as one float array (count x 48 x 48). */
static float *part_pixels(const yaleb_features *faces, const size_t *rows, size_t count)
{
    float *pixels = malloc(count * PIXELS * sizeof *pixels);
    for (size_t i = 0; pixels && i < count; i++)
        for (int p = 0; p < PIXELS; p++) pixels[i * PIXELS + p] = (float)faces->values[rows[i] * PIXELS + p];
    return pixels;
}

int yaleb_run_train(int argc, char **argv)
{
    static const char *const exponents[] = {"equal", "standard", NULL};
    static const app_option options[] = {APP_TRAIN_OPTIONS, APP_TRAIN_EARLY_STOP_OPTIONS, {"--data", "DIR"},
                                         {"--msssim-weights", "W"}, {NULL, NULL}};
    const char *cmd = "yaleb train", *dir = NULL;
    pcl_device_selection selection = {0};
    app_train t = app_train_defaults();
    t.losses = 1u << PCL_LOSS_KIND_MSE | 1u << PCL_LOSS_KIND_MAE | 1u << PCL_LOSS_KIND_MSSSIM;
    t.adam = 1, t.adam_lr = 1e-3, t.batch = 32, t.epochs = 300, t.patience = 20;
    t.record_name = "faces";
    int standard = 0;
    app_args r;
    app_args_init(&r, cmd, train_usage, options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (app_train_arg(&t, &r)) continue;
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--data")) dir = r.value;
        else if (app_args_is(&r, "--msssim-weights")) app_args_choice(&r, exponents, &standard);
    }
    if (r.exit_code < 0 && !dir) app_args_error(&r, "needs --data DIR (CroppedYale)");
    json_t *recipe = json_pack("{s:s, s:s, s:s, s:s}", "data", dir ? dir : "", "split", "60/20/20 by --seed",
                               "init", "torch-default", "msssim_weights", standard ? "standard" : "equal");
    if (app_train_ready(&t, &r, recipe) >= 0) return r.exit_code;

    /* Data first: a bad folder fails before the device is opened. */
    yaleb_features faces;
    char error[512];
    if (yaleb_faces_load(dir, &faces, error, sizeof error))
        return fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1;
    size_t sizes[3], *rows = malloc(faces.count * sizeof *rows);
    float *train = NULL, *validation = NULL;
    int rc = !rows ? (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1) : 0;
    if (rc == 0 && yaleb_split(faces.count, (uint64_t)t.seed, sizes, rows, error, sizeof error))
        rc = (fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1);
    if (rc == 0) {
        train = part_pixels(&faces, rows, sizes[0]);
        validation = part_pixels(&faces, rows + sizes[0], sizes[1]);
        if (!train || !validation) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    }
    yaleb_features_free(&faces);
    free(rows);
    if (rc) return free(train), free(validation), rc;
    fprintf(stderr, "perceptcl %s: %zu training, %zu validation faces (seed %ld), loss %s\n", cmd, sizes[0], sizes[1],
            t.seed, pcl_loss_kind_name(t.loss));
    /* An autoencoder: each face is its own target. */
    pcl_array_source train_arrays = {train, train, sizes[0], {1, YALEB_SIDE, YALEB_SIDE}, {1, YALEB_SIDE, YALEB_SIDE}};
    pcl_array_source validation_arrays = {validation, validation, sizes[1], {1, YALEB_SIDE, YALEB_SIDE},
                                          {1, YALEB_SIDE, YALEB_SIDE}};
    pcl_data_source train_source = pcl_data_source_from_arrays(&train_arrays);
    pcl_data_source validation_source = pcl_data_source_from_arrays(&validation_arrays);

    pcl_ssim_options ssim = pcl_ssim_options_default();
    ssim.mode = PCL_SSIM_MODE_SAME;
    ssim.data_range = 2.0;
    ssim.scales = 5;
    ssim.weights = standard ? PCL_SSIM_WEIGHTS_STANDARD : PCL_SSIM_WEIGHTS_EQUAL;
    char title[128], seed[32], counts[64];
    snprintf(title, sizeof title, "Yale B autoencoder, %s loss, seed %ld", pcl_loss_kind_name(t.loss), t.seed);
    snprintf(seed, sizeof seed, "%ld", t.seed);
    snprintf(counts, sizeof counts, "%zu/%zu/%zu", sizes[0], sizes[1], sizes[2]);
    const char *keys_values[] = {"data", "CroppedYale", "split_seed", seed, "split_train_validation_test", counts,
                                 "input", "48x48 bicubic (antialiased), [-1, 1]", NULL};
    app_ae_job job = {&pcl_arch_yaleb_ae_48, train_source, &validation_source, ssim, title, keys_values, NULL, 0};
    rc = app_ae_train_run(&t, &selection, &job);
    free(train), free(validation);
    return rc;
}

/* Each face's code: the 32 units after the bottleneck's ReLU, batch
 * normalisation in inference mode (running statistics). */
static int encode(const char *cmd, pcl_model *model, const yaleb_features *faces, yaleb_features *codes)
{
    pcl_context *context = pcl_model_context(model);
    const int code_layers = pcl_arch_yaleb_ae_48.code_layers;
    float *batch = malloc(FORWARD_BATCH * PIXELS * sizeof *batch), *out = NULL;
    int rc = batch ? 0 : (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    pcl_model_set_training(model, 0);
    for (size_t start = 0; rc == 0 && start < faces->count; start += FORWARD_BATCH) {
        size_t n = faces->count - start < FORWARD_BATCH ? faces->count - start : FORWARD_BATCH;
        for (size_t i = 0; i < n * PIXELS; i++) batch[i] = (float)faces->values[start * PIXELS + i];
        pcl_tensor *x = NULL, *y = NULL;
        if (pcl_tensor_create(context, (int)n, 1, YALEB_SIDE, YALEB_SIDE, &x) != PCL_OK ||
            pcl_tensor_upload(x, batch) != PCL_OK || pcl_model_forward_to(model, x, code_layers, &y) != PCL_OK) {
            rc = app_fail(cmd, "encoding the faces");
        } else {
            size_t width = (size_t)y->c * y->h * y->w;
            if (!codes->values) {
                codes->dims = (int)width;
                codes->values = malloc(faces->count * width * sizeof *codes->values);
                out = malloc(FORWARD_BATCH * width * sizeof *out);
            }
            if (!codes->values || !out) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
            else if (pcl_tensor_download(y, out) != PCL_OK) rc = app_fail(cmd, "reading the codes");
            for (size_t i = 0; rc == 0 && i < n * width; i++) codes->values[start * width + i] = out[i];
        }
        pcl_tensor_destroy(x);
    }
    free(batch), free(out);
    return rc;
}

int yaleb_features_of_model(const char *cmd, const pcl_device_selection *selection, const char *model_path,
                            const char *dir, const char *out)
{
    yaleb_features faces, codes = {0};
    char error[512];
    if (yaleb_faces_load(dir, &faces, error, sizeof error))
        return fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1;
    /* The file's architecture is checked before the device is opened (a file without one,
     * as PyTorch writes it, is judged by its tensors' names and shapes). */
    pcl_checkpoint *meta = NULL;
    int rc = pcl_checkpoint_read(model_path, &meta) != PCL_OK ? app_fail(cmd, model_path) : 0;
    const char *arch = meta ? pcl_checkpoint_metadata(meta, "architecture") : NULL;
    if (rc == 0 && arch && strcmp(arch, pcl_arch_yaleb_ae_48.name) != 0)
        rc = (fprintf(stderr, "perceptcl %s: %s: a %s model, not %s\n", cmd, model_path, arch,
                      pcl_arch_yaleb_ae_48.name), 1);
    pcl_checkpoint_destroy(meta);
    pcl_context *context = rc == 0 ? app_open_context(selection) : NULL;
    pcl_model *model = NULL;
    if (rc == 0 && !context) rc = 1;
    if (rc == 0 && (pcl_model_build_architecture(context, &pcl_arch_yaleb_ae_48, &model) != PCL_OK ||
                    pcl_model_load(model, model_path, NULL) != PCL_OK))
        rc = app_fail(cmd, model_path);
    if (rc == 0) rc = encode(cmd, model, &faces, &codes);
    if (rc == 0) {
        codes.count = faces.count;
        codes.subject = faces.subject, codes.azimuth = faces.azimuth, codes.elevation = faces.elevation;
        faces.subject = faces.azimuth = faces.elevation = NULL; /* now codes' */
        if (yaleb_features_write(out, &codes, error, sizeof error))
            rc = (fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1);
        else
            fprintf(stderr, "perceptcl %s: %zu faces, %d bottleneck features of %s -> %s\n", cmd, codes.count,
                    codes.dims, model_path, out);
    }
    yaleb_features_free(&faces);
    yaleb_features_free(&codes);
    pcl_model_destroy(model);
    pcl_context_destroy(context);
    return rc;
}

/* ---- reconstruct ------------------------------------------------------------ */

static const char reconstruct_usage[] =
    "usage: perceptcl yaleb reconstruct --model M [--model M ...] --data DIR --out GRID.png [--zoom 3]\n"
    "           [--report PREFIX] [device flags]\n\n"
    "The test faces of the models' split (every model must record one split seed: yaleb train's\n"
    "--seed) through each model (batch normalisation in inference mode): the mean MSE, MAE (pixels in\n"
    "[-1, 1]), SSIM and MS-SSIM (L = 2; MS-SSIM 5 scales in same mode, equal exponents) of each model,\n"
    "per-image wins of each pair, and GRID.png: 8 test faces (all of them when fewer) from light on the\n"
    "left to light on the right (azimuth evenly spaced through the test faces'), original then each model.\n";

/* The split seed a model file records (yaleb train's metadata). 0, or 1 after an error line. */
static int recorded_split_seed(const char *cmd, const char *path, long *seed)
{
    pcl_checkpoint *meta = NULL;
    if (pcl_checkpoint_read(path, &meta) != PCL_OK) return app_fail(cmd, path);
    const char *text = pcl_checkpoint_metadata(meta, "split_seed");
    int rc = text && app_parse_long(text, 0, 0x7fffffffL, seed)
                 ? 0
                 : (fprintf(stderr, "perceptcl %s: %s: no split_seed in its metadata (not a model of yaleb train)\n",
                            cmd, path), 1);
    pcl_checkpoint_destroy(meta);
    return rc;
}

static const int *sort_key; /* qsort has no user pointer */
static int by_azimuth(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (sort_key[i] != sort_key[j]) return sort_key[i] < sort_key[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* The means of each model on the test faces and the per-image wins, as
 * Markdown on stdout and, with a prefix, PREFIX.md and PREFIX.json. */
static int reconstruction_report(const char *cmd, const app_ae_eval *eval, const app_ae_model *models, long seed,
                                 const char *prefix)
{
    const char *labels[8];
    char *text = NULL, *wins = NULL;
    size_t length = 0;
    FILE *md = open_memstream(&text, &length);
    json_t *doc = json_pack("{s:s, s:I, s:I}", "title", "Yale B test faces through each autoencoder", "split_seed",
                            (json_int_t)seed, "test_faces", (json_int_t)eval->images);
    json_t *means = json_array();
    if (!md || !doc || !means) return fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1;
    fprintf(md, "# Yale B test faces through each autoencoder (split seed %ld, %ld faces)\n\n| model | training |", seed,
            eval->images);
    for (int k = 0; k < APP_AE_METRICS; k++) fprintf(md, " %s |", app_ae_metric_labels[k]);
    fprintf(md, "\n|---|---|");
    for (int k = 0; k < APP_AE_METRICS; k++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (int m = 0; m < eval->models; m++) {
        labels[m] = models[m].label;
        json_t *row = json_pack("{s:s, s:s}", "model", models[m].label, "cost", models[m].cost);
        fprintf(md, "| %s | %s |", models[m].label, models[m].cost);
        for (int k = 0; k < APP_AE_METRICS; k++) {
            double v = app_ae_mean(eval, m, k);
            fprintf(md, " %.4f |", v);
            json_object_set_new(row, app_ae_metric_keys[k], json_real(app_round(v, 6)));
        }
        fprintf(md, "\n");
        json_array_append_new(means, row);
    }
    fprintf(md, "\nPixels in [-1, 1] (MSE and MAE on that scale); SSIM and MS-SSIM with L = 2, MS-SSIM 5 scales in "
                "same mode with equal exponents.\n\n");
    wins = eval->models > 1 ? app_ae_wins_markdown(eval, labels) : NULL;
    if (wins) fputs(wins, md);
    json_object_set_new(doc, "means", means);
    if (eval->models > 1) json_object_set_new(doc, "wins", app_ae_wins_json(eval, labels));
    int rc = fclose(md) != 0 || !text || (eval->models > 1 && !wins);
    if (rc) fprintf(stderr, "perceptcl %s: out of memory\n", cmd);
    else if (prefix) rc = app_write_markdown_json(cmd, prefix, text, doc);
    if (rc == 0) fputs(text, stdout);
    free(text), free(wins);
    json_decref(doc);
    return rc;
}

int yaleb_run_reconstruct(int argc, char **argv)
{
    enum { MAX_MODELS = 4, ROWS = 8 };
    const char *cmd = "yaleb reconstruct", *paths[MAX_MODELS], *dir = NULL, *out = NULL, *report = NULL;
    int count = 0, zoom = 3;
    pcl_device_selection selection = {0};
    static const app_option options[] = {{"--model", "M"}, {"--data", "DIR"}, {"--out", "PNG"}, {"--zoom", "Z"},
                                         {"--report", "PREFIX"}, {NULL, NULL}};
    app_args r;
    app_args_init(&r, cmd, reconstruct_usage, options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--model")) app_args_append(&r, paths, &count, MAX_MODELS, "models");
        else if (app_args_is(&r, "--data")) dir = r.value;
        else if (app_args_is(&r, "--out")) out = r.value;
        else if (app_args_is(&r, "--zoom")) app_args_int(&r, 1, 16, &zoom);
        else if (app_args_is(&r, "--report")) report = r.value;
    }
    if (r.exit_code < 0 && (!count || !dir || !out)) app_args_error(&r, "needs --model, --data and --out");
    if (r.exit_code < 0) app_output_check(&r, "--out", out);
    if (r.exit_code >= 0) return r.exit_code;

    long seed = -1;
    for (int m = 0; m < count; m++) {
        long own;
        if (recorded_split_seed(cmd, paths[m], &own)) return 1;
        if (m && own != seed)
            return fprintf(stderr, "perceptcl %s: %s has split seed %ld, %s %ld: one split only\n", cmd, paths[m], own,
                           paths[0], seed), 1;
        seed = own;
    }
    yaleb_features faces;
    char error[512];
    if (yaleb_faces_load(dir, &faces, error, sizeof error)) return fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1;
    size_t sizes[3], *rows = malloc(faces.count * sizeof *rows);
    float *test = NULL;
    int rc = !rows ? (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1) : 0;
    if (rc == 0 && yaleb_split(faces.count, (uint64_t)seed, sizes, rows, error, sizeof error))
        rc = (fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1);
    const size_t *test_rows = rows + sizes[0] + sizes[1];
    const int grid_rows = sizes[2] < ROWS ? (int)sizes[2] : ROWS; /* a small set: all its test faces */
    if (rc == 0 && !(test = part_pixels(&faces, test_rows, sizes[2])))
        rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    /* The grid's faces: test positions ordered by azimuth, 8 evenly spaced. */
    long picked[ROWS];
    size_t *order = rc == 0 ? malloc(sizes[2] * sizeof *order) : NULL;
    if (rc == 0 && !order) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    if (rc == 0) {
        int *azimuth = malloc(sizes[2] * sizeof *azimuth);
        if (!azimuth) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
        for (size_t i = 0; rc == 0 && i < sizes[2]; i++) order[i] = i, azimuth[i] = faces.azimuth[test_rows[i]];
        if (rc == 0) {
            sort_key = azimuth;
            qsort(order, sizes[2], sizeof *order, by_azimuth);
            for (int k = 0; k < grid_rows; k++)
                picked[k] = (long)order[grid_rows > 1 ? (size_t)k * (sizes[2] - 1) / (size_t)(grid_rows - 1) : 0];
        }
        free(azimuth);
    }
    free(order);
    pcl_array_source arrays = {test, test, sizes[2], {1, YALEB_SIDE, YALEB_SIDE}, {1, YALEB_SIDE, YALEB_SIDE}};
    pcl_data_source source = pcl_data_source_from_arrays(&arrays);
    pcl_context *context = rc == 0 ? app_open_context(&selection) : NULL;
    if (rc == 0 && !context) rc = 1;
    app_ae_model models[MAX_MODELS];
    const pcl_architecture *archs[1] = {&pcl_arch_yaleb_ae_48};
    app_ae_eval eval = {0};
    int loaded = 0;
    if (rc == 0) rc = app_ae_load(cmd, context, archs, 1, paths, count, models);
    if (rc == 0) loaded = count;
    pcl_ssim_options ssim = pcl_ssim_options_default(), msssim = pcl_ssim_options_default();
    ssim.data_range = msssim.data_range = 2.0;
    msssim.scales = 5, msssim.mode = PCL_SSIM_MODE_SAME, msssim.weights = PCL_SSIM_WEIGHTS_EQUAL;
    if (rc == 0) rc = app_ae_evaluate(cmd, context, models, count, &source, &ssim, &msssim, &eval);
    /* every rank has the same scores and pictures: rank 0 writes them */
    if (rc == 0 && app_is_root()) rc = app_ae_grid_write(cmd, &eval, picked, grid_rows, NULL, 0, zoom, out);
    if (rc == 0 && app_is_root()) rc = reconstruction_report(cmd, &eval, models, seed, report);
    app_ae_eval_free(&eval);
    app_ae_free(models, loaded);
    pcl_context_destroy(context);
    yaleb_features_free(&faces);
    free(rows), free(test);
    return rc;
}
