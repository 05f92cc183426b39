/* perceptcl srcnn: SRCNN 9-5-5 super-resolution trained with MSE, MAE or
 * MS-SSIM (Snell et al. 2017, section 6 and appendix D), evaluated with the
 * SRCNN protocol beside the paper's Table 2, and used on images.
 *
 *   perceptcl srcnn train    ...   train on folders of images (never the test sets)
 *   perceptcl srcnn eval     ...   Table 2: PSNR / SSIM per set, bicubic and each model
 *   perceptcl srcnn upscale  ...   colour upscaling of one image (network Y, bicubic Cb/Cr)
 *   perceptcl srcnn compare  ...   Figure-8-like strip of crops as a PNG
 *
 * The network is a table (architectures.c), the data a pipeline
 * (pcl_srcnn_training_pipeline), training the shared flags (train_cmd.c),
 * evaluation pcl_sr_evaluate_folder_sharded and a report (report.c), compare's
 * images pcl_srcnn_colour_truth and its scores pcl_sr_score_crop. */
#include "app.h"
#include "perceptcl/sr.h"
#include "perceptcl/srcnn.h"
#include "perceptcl/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: perceptcl srcnn train   --loss mse|mae|msssim|msssim-l1 --train DIR [--train DIR2]\n"
    "                               --out MODEL.safetensors\n"
    "                               [--scale 4] [--epochs 10] [--max-steps N] [--batch 128]\n"
    "                               [--lr 1e-3 | --srcnn-lr] [--momentum 0.9] [--optimizer sgd|adam]\n"
    "                               [--weight-init gaussian|he] [--init MODEL] [--seed 1]\n"
    "                               [--msssim-weights equal|standard] [--stride 14] [--limit-patches N]\n"
    "                               [--weight-decay W] [--resume] [--log CSV] [--curve SVG]\n"
    "                               [--checkpoint-minutes 10]\n"
    "       perceptcl srcnn eval    --model M [--model M2 ...] [--scale 4] [--report PREFIX] DIR...\n"
    "       perceptcl srcnn upscale --model M [--scale 4] IN OUT.png\n"
    "       perceptcl srcnn compare --model M [--model M2 ...] [--scale 4] [--crop X,Y,W,H] [--zoom 3]\n"
    "                               IMAGE OUT.png\n\n"
    "SRCNN 9-5-5 (64, 32, 1 filters, ReLU) on the Y channel (BT.601, rgb2ycbcr) scaled to [0, 1].\n\n"
    "train: 33x33 sub-images at stride 14 (SRCNN's generate_train.m) of every image in the folders:\n"
    "  Y, modcrop to the scale, MATLAB bicubic down by 1/scale and up (on floats). Valid convolutions:\n"
    "  the 17x17 output is compared with the centre 17x17 of the ground truth. Weights Gaussian\n"
    "  std 0.001, biases 0; SGD, momentum 0.9, mini-batch 128. --lr (default 1e-3, the paper's) is\n"
    "  in the units of SRCNN's Caffe solver, whose Euclidean loss is the sum over a patch's pixels\n"
    "  / (2 x batch): perceptcl's loss is the per-pixel mean, so the optimizer is given lr x 289/2,\n"
    "  which makes MSE steps equal to Caffe's; MAE and MS-SSIM get the same factor. --srcnn-lr:\n"
    "  SRCNN's 1e-4 with 1e-5 on the last layer.\n"
    "  --optimizer adam: Adam (betas 0.9, 0.999) instead of SGD; its --lr (default 1e-4) is Adam's\n"
    "  step size as given, not in Caffe units. --weight-init he: He-normal weights (std\n"
    "  sqrt(2 / fan_in)) instead of Gaussian std 0.001. The paper's recipe (SGD, std 0.001) needs\n"
    "  ~10^8 back-propagations; Adam from He weights gets most of the way in ~10^6 (models/README.md).\n"
    "  MS-SSIM: 5 scales, downsampling by 2, L = 1, same mode (windows clamped at the edges),\n"
    "  exponents all 1 (the paper's; --msssim-weights standard for Wang's). Valid-mode MS-SSIM is\n"
    "  undefined on a 17x17 patch (its coarsest level is 2x2, under the 11x11 window), hence same\n"
    "  mode. The loss minimised is 1 - MS-SSIM. From the Gaussian initialisation the network outputs\n"
    "  ~0, where MS-SSIM with exponents 1 is a product of six terms near 0: its gradient vanishes,\n"
    "  and once a term is <= 0 the value and gradient are exactly 0 (loss 1, stuck). --init starts\n"
    "  from trained weights instead (e.g. the MSE model: fine-tuning), which avoids that plateau.\n"
    "  msssim-l1: 0.84 (1 - MS-SSIM) + 0.16 mean |error| (Zhao et al. 2017; include/perceptcl/loss.h),\n"
    "  the same MS-SSIM.\n"
    "  Every epoch, and every --checkpoint-minutes (default 10) within one, writes\n"
    "  MODEL.safetensors.train (weights, optimizer state, position, the run's flags) atomically;\n"
    "  --resume continues it exactly, given the same flags (only --epochs, --max-steps and\n"
    "  --checkpoint-minutes may change; other differences are refused, each named). Outputs are checked\n"
    "  before any work. The final weights go to MODEL.safetensors (conv1.weight ... conv3.bias,\n"
    "  PyTorch's Conv2d layout, see include/perceptcl/srcnn.h); no train_loss in its metadata when\n"
    "  the run completed no epoch.\n\n"
    "eval: the SRCNN protocol (as perceptcl sr-eval) with each model's Y in place of bicubic's; the\n"
    "  network runs with replicate padding, so its output has the input's size. Prints Table 2's\n"
    "  shape (PSNR and SSIM per set for bicubic and each model) beside the paper's figures;\n"
    "  --report PREFIX also writes PREFIX.md and PREFIX.json. Under mpirun the ranks share each\n"
    "  folder's images out and rank 0 prints and writes the same report as one process.\n\n"
    "upscale: IN is the low-resolution image; the output is scale times larger: bicubic Cb and Cr,\n"
    "  network Y (8-bit YCbCr as MATLAB's rgb2ycbcr on uint8). Gray images stay gray.\n\n"
    "compare: IMAGE is a ground-truth image; it is downscaled and upscaled as in eval, and the\n"
    "  strip shows the same crop, left to right: bicubic, each --model in order, original,\n"
    "  enlarged --zoom times (nearest). Default crop: the 64x64 window (stride 8) with the\n"
    "  largest Y variance. The crop's PSNR / SSIM on Y are printed.\n\n"
    "Errors: one line on stderr, non-zero exit, no output file written.\n\n";


#define MAX_MODELS 8
#define MAX_DIRS 16

/* A test-time model and what its file says about itself. */
typedef struct loaded_model {
    pcl_model *model;
    char label[64];  /* column title: the loss ("MSE") or the file name */
    int scale;       /* from the file's metadata, 0 if absent */
} loaded_model;

/* Loads each model for test time; warns when a file says it was trained for
 * another scale than the one it is used at. */
static int load_models(pcl_context *context, const char *command, const char **paths, int count, int scale,
                       loaded_model *models)
{
    for (int m = 0; m < count; m++) {
        pcl_checkpoint *meta = NULL;
        loaded_model *lm = &models[m];
        if (pcl_srcnn_create(context, PCL_SRCNN_MODE_REPLICATE, &lm->model) != PCL_OK ||
            pcl_model_load(lm->model, paths[m], &meta) != PCL_OK)
            return app_fail(command, paths[m]);
        const char *loss = pcl_checkpoint_metadata(meta, "loss"), *trained = pcl_checkpoint_metadata(meta, "scale");
        app_base_name(paths[m], lm->label, sizeof lm->label);
        for (int p = 1; loss && p < APP_PAPER_COLUMNS; p++)
            if (strcmp(loss, app_paper_columns[p]) == 0)
                snprintf(lm->label, sizeof lm->label, "%s", app_paper_labels[p]);
        long s = 0;
        lm->scale = trained && app_parse_long(trained, 2, 8, &s) ? (int)s : 0;
        if (lm->scale && lm->scale != scale)
            fprintf(stderr, "perceptcl %s: warning: %s was trained for x%d, used at x%d\n", command, paths[m],
                    lm->scale, scale);
        pcl_checkpoint_destroy(meta);
    }
    return 0;
}

static void free_models(loaded_model *models, int count)
{
    for (int m = 0; m < count; m++) pcl_model_destroy(models[m].model);
}

/* ---- train ------------------------------------------------------------------ */

static const app_option train_options[] = {
    APP_TRAIN_OPTIONS,        {"--train", "DIR"},    {"--init", "MODEL"},         {"--scale", "S"},
    {"--stride", "N"},        {"--limit-patches", "N"}, {"--weight-init", "NAME"}, {"--msssim-weights", "W"},
    {"--srcnn-lr", NULL},     {NULL, NULL}};

static int run_train(int argc, char **argv)
{
    static const char *const inits[] = {"gaussian", "he", NULL}, *const exponents[] = {"equal", "standard", NULL};
    const char *cmd = "srcnn train", *dirs[MAX_DIRS], *init = NULL;
    pcl_device_selection selection = {0};
    app_train t = app_train_defaults();
    t.losses = 1u << PCL_LOSS_KIND_MSE | 1u << PCL_LOSS_KIND_MAE | 1u << PCL_LOSS_KIND_MSSSIM |
               1u << PCL_LOSS_KIND_MSSSIM_L1;
    t.batch = 128;
    t.sgd_lr = 1e-3; /* Caffe units, see the usage text */
    t.adam_lr = 1e-4;
    t.record_name = "patches";
    int dir_count = 0, scale = 4, stride = PCL_SRCNN_STRIDE, he = 0, standard = 0, srcnn_lr = 0;
    long limit = 0;
    app_args r;
    app_args_init(&r, cmd, usage, train_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (app_train_arg(&t, &r)) continue;
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--train") && dir_count == MAX_DIRS) app_args_error(&r, "too many --train folders");
        else if (app_args_is(&r, "--train")) dirs[dir_count++] = r.value;
        else if (app_args_is(&r, "--init")) init = r.value;
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
        else if (app_args_is(&r, "--stride")) app_args_int(&r, 1, 1024, &stride);
        else if (app_args_is(&r, "--limit-patches")) app_args_long(&r, 1, 1000000000, &limit);
        else if (app_args_is(&r, "--weight-init")) app_args_choice(&r, inits, &he);
        else if (app_args_is(&r, "--msssim-weights")) app_args_choice(&r, exponents, &standard);
        else if (app_args_is(&r, "--srcnn-lr")) srcnn_lr = 1;
    }
    if (r.exit_code < 0 && !dir_count) app_args_error(&r, "needs --train DIR");
    if (r.exit_code < 0 && srcnn_lr && t.lr_given) app_args_error(&r, "--lr and --srcnn-lr exclude each other");
    if (r.exit_code < 0 && srcnn_lr && t.adam)
        app_args_error(&r, "--srcnn-lr is SGD's recipe; give Adam's rate with --lr");
    if (srcnn_lr) t.sgd_lr = 1e-4;
    json_t *folders = json_array();
    for (int d = 0; folders && d < dir_count; d++) json_array_append_new(folders, json_string(dirs[d]));
    /* SGD's rate in Caffe units: the optimizer gets lr x (label pixels) / 2 (see the usage text). */
    const int label = PCL_SRCNN_INPUT_SIZE - 2 * PCL_SRCNN_BORDER;
    const double caffe_units = label * label / 2.0;
    json_t *recipe = json_pack("{s:i, s:o, s:i, s:I, s:s, s:s, s:s, s:b, s:f}", "scale", scale, "train", folders,
                               "stride", stride, "limit_patches", (json_int_t)limit, "weight_init",
                               he ? "he" : "gaussian-0.001", "init", init ? init : "", "msssim_weights",
                               standard ? "standard" : "equal", "srcnn_lr", srcnn_lr, "sgd_lr_scale",
                               t.adam ? 1.0 : caffe_units);
    if (app_train_ready(&t, &r, recipe) >= 0) return r.exit_code;

    /* Data first: a bad folder fails before the device is opened. */
    pcl_pipeline *pipeline = NULL;
    pcl_data_source source;
    if (pcl_srcnn_training_pipeline(dirs, dir_count, scale, stride, (size_t)limit, &pipeline) != PCL_OK ||
        pcl_pipeline_source(pipeline, &source) != PCL_OK)
        return pcl_pipeline_destroy(pipeline), app_fail(cmd, "training data");
    const char *loss = pcl_loss_kind_name(t.loss);
    fprintf(stderr, "perceptcl srcnn train: %zu sub-images %dx%d (labels %dx%d) from %zu images, x%d, loss %s\n",
            source.count, source.input[1], source.input[2], source.target[1], source.target[2],
            pcl_pipeline_images(pipeline), scale, loss);
    pcl_context *context = app_open_context(&selection);
    if (!context) return pcl_pipeline_destroy(pipeline), 1;
    pcl_model *model = NULL;
    pcl_optimizer *optimizer = NULL;
    pcl_trainer *trainer = NULL;
    pcl_trainer_config config;
    pcl_ssim_options ssim = pcl_ssim_options_default();
    ssim.mode = PCL_SSIM_MODE_SAME;
    ssim.data_range = 1.0;
    ssim.scales = 5;
    ssim.weights = standard ? PCL_SSIM_WEIGHTS_STANDARD : PCL_SSIM_WEIGHTS_EQUAL;
    char title[128], data[4096] = "", name[256], scale_text[16], count[32];
    snprintf(title, sizeof title, "SRCNN 9-5-5 x%d, %s loss", scale, loss);
    int rc = pcl_srcnn_create(context, PCL_SRCNN_MODE_VALID, &model) != PCL_OK ||
             (he ? pcl_model_init_weights(model, PCL_INIT_HE_NORMAL, 0.0, (uint64_t)t.seed)
                 : pcl_srcnn_init(model, 0.001, (uint64_t)t.seed)) != PCL_OK ||
             (init && pcl_model_load(model, init, NULL) != PCL_OK) ||
             (srcnn_lr && pcl_model_set_lr_multiplier(model, 4, 0.1) != PCL_OK)
                 ? app_fail(cmd, "model") : 0;
    if (rc == 0) rc = app_train_setup(&t, context, caffe_units, &config, &optimizer);
    config.ssim_options = &ssim;
    config.title = title;
    if (rc == 0 && pcl_trainer_create(model, optimizer, &config, &trainer) != PCL_OK) rc = app_fail(cmd, "trainer");
    pcl_trainer_result result = {0};
    if (rc == 0 && pcl_trainer_run(trainer, &source, NULL, &result) != PCL_OK) rc = app_fail(cmd, "training");
    for (int d = 0; d < dir_count; d++)
        snprintf(data + strlen(data), sizeof data - strlen(data), "%s%s", d ? "," : "",
                 app_base_name(dirs[d], name, sizeof name));
    snprintf(scale_text, sizeof scale_text, "%d", scale);
    snprintf(count, sizeof count, "%zu", source.count);
    const char *keys_values[] = {"scale", scale_text, "sub_images", count, "data", data, "init",
                                 init ? app_base_name(init, name, sizeof name) : NULL, "input",
                                 "Y/255 of bicubic-upscaled BT.601 Y", NULL};
    pcl_checkpoint *meta = NULL;
    if (rc == 0) rc = app_train_metadata(cmd, keys_values, &meta);
    if (rc == 0) rc = app_train_save(&t, model, &result, meta);
    pcl_checkpoint_destroy(meta);
    pcl_trainer_destroy(trainer);
    pcl_optimizer_destroy(optimizer);
    pcl_model_destroy(model);
    pcl_pipeline_destroy(pipeline);
    pcl_context_destroy(context);
    return rc;
}

/* ---- eval ------------------------------------------------------------------- */

static const app_option eval_options[] = {{"--model", "M"}, {"--scale", "S"}, {"--report", "PREFIX"}, {NULL, NULL}};

static const app_metric table2_metrics[] = {{"psnr", "PSNR", 2, 4}, {"ssim", "SSIM", 4, 6}};

/* A model as an estimator of the protocol: its Y from the bicubic Y. */
static pcl_status apply_model(void *model, const pcl_image *bicubic_y, pcl_image **estimate)
{
    return pcl_srcnn_apply(model, bicubic_y, estimate);
}

static int run_eval(int argc, char **argv)
{
    const char *cmd = "srcnn eval";
    pcl_device_selection selection = {0};
    const char *model_paths[MAX_MODELS], *dirs[MAX_DIRS], *report = NULL;
    int model_count = 0, dir_count = 0, scale = 4;
    app_args r;
    app_args_init(&r, cmd, usage, eval_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_append(&r, dirs, &dir_count, MAX_DIRS, "folders");
        else if (app_args_is(&r, "--model"))
            app_args_append(&r, model_paths, &model_count, MAX_MODELS, "--model files");
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
        else if (app_args_is(&r, "--report")) report = r.value;
    }
    if (r.exit_code < 0 && !dir_count) app_args_error(&r, "needs a folder of test images");
    if (r.exit_code >= 0) return r.exit_code;
    pcl_context *context = app_open_context(&selection);
    if (!context) return 1;
    loaded_model models[MAX_MODELS] = {0};
    int rc = load_models(context, cmd, model_paths, model_count, scale, models);
    pcl_sr_estimator estimators[MAX_MODELS];
    for (int m = 0; m < model_count; m++) estimators[m] = (pcl_sr_estimator){apply_model, models[m].model};
    /* Table 2: a row per set, bicubic and each model, beside the paper's columns (x4 only). */
    char names[MAX_DIRS][128];
    double values[MAX_DIRS][2 * (1 + MAX_MODELS)], paper[MAX_DIRS][2 * APP_PAPER_COLUMNS]; /* [column][psnr, ssim] */
    app_report_row rows[MAX_DIRS];
    for (int d = 0; d < dir_count && rc == 0; d++) {
        pcl_sr_score means[1 + MAX_MODELS];
        size_t images = 0;
        if (pcl_sr_evaluate_folder_sharded(context, app_comm(), dirs[d], scale, estimators, model_count, &images,
                                           means) != PCL_OK)
            rc = app_fail(cmd, dirs[d]);
        for (int c = 0; c <= model_count && rc == 0; c++)
            values[d][2 * c] = means[c].psnr, values[d][2 * c + 1] = means[c].ssim;
        const app_paper_row *row = app_paper_row_find(app_base_name(dirs[d], names[d], sizeof names[d]));
        for (int p = 0; row && p < APP_PAPER_COLUMNS; p++)
            paper[d][2 * p] = row->psnr[p], paper[d][2 * p + 1] = row->ssim[p];
        rows[d] = (app_report_row){names[d], (long)images, values[d], row ? paper[d] : NULL};
    }
    const char *columns[1 + MAX_MODELS] = {"bicubic"};
    json_t *list = json_array();
    for (int m = 0; list && m < model_count; m++) {
        columns[1 + m] = models[m].label;
        if (json_array_append_new(list, json_pack("{s:s, s:s}", "label", models[m].label, "path", model_paths[m])))
            json_decref(list), list = NULL;
    }
    char title[128];
    snprintf(title, sizeof title, "SRCNN 9-5-5, x%d: PSNR (dB) and SSIM on Y (SRCNN protocol)", scale);
    json_t *header = list ? json_pack("{s:s, s:i, s:o}", "protocol", "srcnn", "scale", scale, "models", list) : NULL;
    app_report table = {title, "set", "sets", "images", table2_metrics, 2, columns, 1 + model_count,
                        app_paper_labels, scale == 4 ? APP_PAPER_COLUMNS : 0, rows, dir_count,
                        "Paper: Snell et al. 2017, Table 2 (SRCNN trained on ImageNet patches). "
                        "Columns other than bicubic and the paper's are the models given to eval.",
                        header};
    if (rc == 0 && !header) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1);
    if (rc == 0 && app_is_root()) rc = app_report_emit(cmd, &table, report); /* every rank has the same table */
    json_decref(header);
    free_models(models, model_count);
    pcl_context_destroy(context);
    return rc;
}

/* ---- upscale ---------------------------------------------------------------- */

static const app_option upscale_options[] = {{"--model", "M"}, {"--scale", "S"}, {NULL, NULL}};

static int run_upscale(int argc, char **argv)
{
    const char *cmd = "srcnn upscale", *model_path = NULL, *files[2];
    pcl_device_selection selection = {0};
    int file_count = 0, scale = 4;
    app_args r;
    app_args_init(&r, cmd, usage, upscale_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option && file_count == 2) app_args_error(&r, "expects IN OUT, got an extra '%s'", r.value);
        else if (!r.option) files[file_count++] = r.value;
        else if (app_args_is(&r, "--model") && model_path)
            app_args_error(&r, "takes one --model, got a second '%s'", r.value);
        else if (app_args_is(&r, "--model")) model_path = r.value;
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
    }
    if (r.exit_code < 0 && !model_path) app_args_error(&r, "needs --model M");
    if (r.exit_code < 0 && file_count != 2) app_args_error(&r, "expects IN OUT");
    if (r.exit_code >= 0) return r.exit_code;
    pcl_image *image = NULL, *rgb = NULL;
    if (pcl_image_read(files[0], &image) != PCL_OK) return app_fail(cmd, files[0]);
    pcl_context *context = app_open_context(&selection);
    if (!context) return pcl_image_destroy(image), 1;
    loaded_model model = {0};
    int rc = load_models(context, cmd, &model_path, 1, scale, &model);
    if (rc == 0 && pcl_srcnn_upscale_colour(model.model, image, scale, &rgb) != PCL_OK) rc = app_fail(cmd, files[0]);
    if (rc == 0 && pcl_image_write_png(files[1], rgb) != PCL_OK) rc = app_fail(cmd, files[1]);
    if (rc == 0) fprintf(stderr, "perceptcl srcnn upscale: %dx%d -> %dx%d: %s\n", image->width, image->height,
                         rgb->width, rgb->height, files[1]);
    pcl_image_destroy(image);
    pcl_image_destroy(rgb);
    free_models(&model, 1);
    pcl_context_destroy(context);
    return rc;
}

/* ---- compare ---------------------------------------------------------------- */

static const app_option compare_options[] = {
    {"--model", "M"}, {"--scale", "S"}, {"--zoom", "Z"}, {"--crop", "X,Y,W,H"}, {NULL, NULL}};

static int run_compare(int argc, char **argv)
{
    const char *cmd = "srcnn compare", *model_paths[MAX_MODELS], *files[2];
    pcl_device_selection selection = {0};
    int model_count = 0, file_count = 0, crop_given = 0, crop[4] = {0}, scale = 4, zoom = 3;
    app_args r;
    app_args_init(&r, cmd, usage, compare_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option && file_count == 2) app_args_error(&r, "expects IMAGE OUT.png, got an extra '%s'", r.value);
        else if (!r.option) files[file_count++] = r.value;
        else if (app_args_is(&r, "--model"))
            app_args_append(&r, model_paths, &model_count, MAX_MODELS, "--model files");
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
        else if (app_args_is(&r, "--zoom")) app_args_int(&r, 1, 16, &zoom);
        else if (!(crop_given = app_crop_parse(r.value, crop)))
            app_args_error(&r, "--crop must be X,Y,W,H (X, Y >= 0; W, H >= 1), not '%s'", r.value);
    }
    if (r.exit_code < 0 && !model_count) app_args_error(&r, "needs --model M");
    if (r.exit_code < 0 && file_count != 2) app_args_error(&r, "expects IMAGE OUT.png");
    if (r.exit_code >= 0) return r.exit_code;
    /* The ground truth (modcropped YCbCr) and its bicubic x scale round trip, as in eval. */
    pcl_image *image = NULL, *gnd = NULL, *up = NULL, *strip = NULL;
    if (pcl_image_read(files[0], &image) != PCL_OK) return app_fail(cmd, files[0]);
    int rc = pcl_srcnn_colour_truth(image, scale, &gnd, &up) != PCL_OK ? app_fail(cmd, files[0]) : 0;
    pcl_image_destroy(image);
    if (rc == 0 && !crop_given) app_crop_busiest(gnd, 64, crop); /* channel 0: Y */
    if (rc == 0 && !app_crop_inside(crop, gnd->width, gnd->height))
        rc = (fprintf(stderr, "perceptcl srcnn compare: --crop %d,%d,%d,%d is outside the %dx%d (modcropped) image\n",
                      crop[0], crop[1], crop[2], crop[3], gnd->width, gnd->height), 2);
    pcl_context *context = NULL;
    loaded_model models[MAX_MODELS] = {0};
    if (rc == 0 && !(context = app_open_context(&selection))) rc = 1;
    if (rc == 0) rc = load_models(context, cmd, model_paths, model_count, scale, models);
    /* Panels: bicubic, models..., original. */
    const int panels = model_count + 2;
    if (rc == 0) rc = app_strip_create(cmd, panels, crop, zoom, gnd->channels, &strip);
    if (rc == 0) printf("| panel | crop PSNR (dB) | crop SSIM |\n|---|---|---|\n");
    for (int p = 0; p < panels && rc == 0; p++) {
        pcl_image *rgb = NULL;
        const char *label = p == 0 ? "bicubic" : p == panels - 1 ? "original" : models[p - 1].label;
        pcl_sr_score score;
        if (pcl_srcnn_colour_output(p == 0 || p == panels - 1 ? NULL : models[p - 1].model, p == panels - 1 ? gnd : up,
                                    &rgb) != PCL_OK ||
            (p < panels - 1 && pcl_sr_score_crop(context, gnd, rgb, crop, &score) != PCL_OK))
            rc = app_fail(cmd, label);
        if (rc == 0) rc = app_strip_put(cmd, strip, p, rgb, crop, zoom);
        if (rc == 0 && p < panels - 1) printf("| %s | %.2f | %.4f |\n", label, score.psnr, score.ssim);
        pcl_image_destroy(rgb);
    }
    if (rc == 0 && pcl_image_write_png(files[1], strip) != PCL_OK) rc = app_fail(cmd, files[1]);
    if (rc == 0)
        fprintf(stderr, "perceptcl srcnn compare: crop %d,%d,%d,%d x%d, panels: bicubic, %d model(s), original -> %s\n",
                crop[0], crop[1], crop[2], crop[3], zoom, model_count, files[1]);
    pcl_image_destroy(strip);
    pcl_image_destroy(gnd);
    pcl_image_destroy(up);
    free_models(models, model_count);
    if (context) pcl_context_destroy(context);
    return rc;
}

int app_srcnn(int argc, char **argv)
{
    static const app_subcommand subcommands[] = {
        {"train", run_train}, {"eval", run_eval}, {"upscale", run_upscale}, {"compare", run_compare}, {NULL, NULL}};
    return app_run_subcommand("srcnn", usage, subcommands, argc, argv);
}
