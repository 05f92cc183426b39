/* perceptcl srcnn: SRCNN 9-5-5 super-resolution trained with MSE, MAE or
 * MS-SSIM (Snell et al. 2017, section 6 and appendix D), evaluated with the
 * SRCNN protocol beside the paper's Table 2, and used on images.
 *
 *   perceptcl srcnn train    ...   train on folders of images (never the test sets)
 *   perceptcl srcnn eval     ...   Table 2: PSNR / SSIM per set, bicubic and each model
 *   perceptcl srcnn upscale  ...   colour upscaling of one image (network Y, bicubic Cb/Cr)
 *   perceptcl srcnn compare  ...   Figure-8-like strip of crops as a PNG */
#include "app.h"
#include "perceptcl/color.h"
#include "perceptcl/resize.h"
#include "perceptcl/sr.h"
#include "perceptcl/srcnn.h"
#include "perceptcl/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: perceptcl srcnn train   --loss mse|mae|msssim|msssim-l1 --train DIR [--train DIR2]\n"
    "                               --out MODEL.safetensors\n"
    "                               [--scale 4] [--epochs 10] [--max-steps N] [--batch 128]\n"
    "                               [--lr 1e-3 | --srcnn-lr] [--momentum 0.9] [--optimizer sgd|adam]\n"
    "                               [--weight-init gaussian|he] [--init MODEL] [--seed 1]\n"
    "                               [--msssim-weights equal|standard] [--stride 14] [--limit-patches N]\n"
    "                               [--resume] [--log CSV] [--curve SVG]\n"
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
    "  Every epoch writes MODEL.safetensors.train (weights, optimizer state, position) atomically;\n"
    "  --resume continues it exactly. The final weights go to MODEL.safetensors (conv1.weight ...\n"
    "  conv3.bias, PyTorch's Conv2d layout, see include/perceptcl/srcnn.h).\n\n"
    "eval: the SRCNN protocol (as perceptcl sr-eval) with each model's Y in place of bicubic's; the\n"
    "  network runs with replicate padding, so its output has the input's size. Prints Table 2's\n"
    "  shape (PSNR and SSIM per set for bicubic and each model) beside the paper's figures;\n"
    "  --report PREFIX also writes PREFIX.md and PREFIX.json.\n\n"
    "upscale: IN is the low-resolution image; the output is scale times larger: bicubic Cb and Cr,\n"
    "  network Y (8-bit YCbCr as MATLAB's rgb2ycbcr on uint8). Gray images stay gray.\n\n"
    "compare: IMAGE is a ground-truth image; it is downscaled and upscaled as in eval, and the\n"
    "  strip shows the same crop, left to right: bicubic, each --model in order, original,\n"
    "  enlarged --zoom times (nearest). Default crop: the 64x64 window (stride 8) with the\n"
    "  largest Y variance. The crop's PSNR / SSIM on Y are printed.\n\n"
    "Errors: one line on stderr, non-zero exit, no output file written.\n\n";


#define MAX_MODELS 8
#define MAX_DIRS 16

/* train's own checks (they move to apps/train_cmd.c); the other subcommands
 * report through the argument reader. */
static int bad_usage(const char *command, const char *message, const char *arg)
{
    fprintf(stderr, "perceptcl %s: %s%s%s%s\n", command, message, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return 2;
}

static const app_option train_options[] = {
    {"--loss", "L"},         {"--train", "DIR"},       {"--out", "MODEL"},         {"--init", "MODEL"},
    {"--log", "CSV"},        {"--curve", "SVG"},       {"--scale", "S"},           {"--epochs", "N"},
    {"--max-steps", "N"},    {"--batch", "N"},         {"--seed", "N"},            {"--stride", "N"},
    {"--limit-patches", "N"}, {"--lr", "RATE"},        {"--momentum", "M"},        {"--optimizer", "NAME"},
    {"--weight-init", "NAME"}, {"--msssim-weights", "W"}, {"--resume", NULL},      {"--srcnn-lr", NULL},
    {NULL, NULL}};

/* A test-time model and what its file says about itself. */
typedef struct loaded_model {
    pcl_model *model;
    char label[64];  /* column title: the loss ("MSE") or the file name */
    int paper_index; /* column of the paper's Table 2 for this loss, -1 if none */
    int scale;       /* from the file's metadata, 0 if absent */
} loaded_model;

static int load_models(pcl_context *context, const char *command, const char **paths, int count,
                       loaded_model *models)
{
    for (int m = 0; m < count; m++) {
        pcl_checkpoint *meta = NULL;
        loaded_model *lm = &models[m];
        if (pcl_srcnn_create(context, PCL_SRCNN_MODE_REPLICATE, &lm->model) != PCL_OK ||
            pcl_model_load(lm->model, paths[m], &meta) != PCL_OK)
            return app_fail(command, paths[m]);
        const char *loss = pcl_checkpoint_metadata(meta, "loss");
        const char *scale = pcl_checkpoint_metadata(meta, "scale");
        lm->paper_index = -1;
        app_base_name(paths[m], lm->label, sizeof lm->label);
        for (int p = 1; loss && p < 4; p++)
            if (strcmp(loss, app_paper_columns[p]) == 0) {
                lm->paper_index = p;
                snprintf(lm->label, sizeof lm->label, "%s", app_paper_labels[p]);
            }
        long s = 0;
        lm->scale = scale && app_parse_long(scale, 2, 8, &s) ? (int)s : 0;
        pcl_checkpoint_destroy(meta);
    }
    return 0;
}

static void free_models(loaded_model *models, int count)
{
    for (int m = 0; m < count; m++) pcl_model_destroy(models[m].model);
}

/* ---- train ------------------------------------------------------------------ */

static int run_train(int argc, char **argv)
{
    const char *cmd = "srcnn train";
    pcl_device_selection selection = {0};
    pcl_loss_kind loss_kind = PCL_LOSS_KIND_MSE;
    const char *loss = NULL, *out = NULL, *log_path = NULL, *curve_path = NULL, *init_path = NULL;
    const char *dirs[MAX_DIRS];
    int dir_count = 0, resume = 0, srcnn_lr = 0, lr_given = 0, adam = 0, he_init = 0;
    long scale = 4, epochs = 10, batch = 128, seed = 1, stride = PCL_SRCNN_STRIDE, max_steps = 0, limit = 0;
    double lr = 1e-3, momentum = 0.9;
    pcl_ssim_weights weights = PCL_SSIM_WEIGHTS_EQUAL;
    app_args r;
    app_args_init(&r, cmd, usage, train_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        const char *a = r.option ? r.option : r.value, *v = r.value;
        if (a[0] != '-') return bad_usage(cmd, "unexpected argument", a);
        if (strcmp(a, "--resume") == 0) resume = 1;
        else if (strcmp(a, "--srcnn-lr") == 0) srcnn_lr = 1;
        else if (strcmp(a, "--loss") == 0) {
            if (pcl_loss_kind_parse(v, &loss_kind) != PCL_OK || loss_kind == PCL_LOSS_KIND_SSIM)
                return bad_usage(cmd, "--loss must be mse, mae, msssim or msssim-l1, not", v);
            loss = pcl_loss_kind_name(loss_kind);
        } else if (strcmp(a, "--train") == 0) {
            if (dir_count == MAX_DIRS) return bad_usage(cmd, "too many --train folders", NULL);
            dirs[dir_count++] = v;
        } else if (strcmp(a, "--out") == 0) out = v;
        else if (strcmp(a, "--init") == 0) init_path = v;
        else if (strcmp(a, "--log") == 0) log_path = v;
        else if (strcmp(a, "--curve") == 0) curve_path = v;
        else if (strcmp(a, "--scale") == 0) {
            if (!app_parse_long(v, 2, 8, &scale)) return bad_usage(cmd, "--scale must be 2..8, not", v);
        } else if (strcmp(a, "--epochs") == 0) {
            if (!app_parse_long(v, 1, 1000000, &epochs)) return bad_usage(cmd, "--epochs must be >= 1, not", v);
        } else if (strcmp(a, "--max-steps") == 0) {
            if (!app_parse_long(v, 1, 1000000000, &max_steps)) return bad_usage(cmd, "--max-steps must be >= 1, not", v);
        } else if (strcmp(a, "--batch") == 0) {
            if (!app_parse_long(v, 1, 65536, &batch)) return bad_usage(cmd, "--batch must be 1..65536, not", v);
        } else if (strcmp(a, "--seed") == 0) {
            if (!app_parse_long(v, 0, 0x7fffffffL, &seed)) return bad_usage(cmd, "--seed must be a non-negative integer, not", v);
        } else if (strcmp(a, "--stride") == 0) {
            if (!app_parse_long(v, 1, 1024, &stride)) return bad_usage(cmd, "--stride must be 1..1024, not", v);
        } else if (strcmp(a, "--limit-patches") == 0) {
            if (!app_parse_long(v, 1, 1000000000, &limit)) return bad_usage(cmd, "--limit-patches must be >= 1, not", v);
        } else if (strcmp(a, "--lr") == 0) {
            if (!app_parse_double(v, &lr) || !(lr > 0)) return bad_usage(cmd, "--lr must be a number > 0, not", v);
            lr_given = 1;
        } else if (strcmp(a, "--momentum") == 0) {
            if (!app_parse_double(v, &momentum) || momentum < 0 || momentum >= 1)
                return bad_usage(cmd, "--momentum must be in [0, 1), not", v);
        } else if (strcmp(a, "--optimizer") == 0) {
            if (strcmp(v, "sgd") && strcmp(v, "adam")) return bad_usage(cmd, "--optimizer must be sgd or adam, not", v);
            adam = strcmp(v, "adam") == 0;
        } else if (strcmp(a, "--weight-init") == 0) {
            if (strcmp(v, "gaussian") && strcmp(v, "he")) return bad_usage(cmd, "--weight-init must be gaussian or he, not", v);
            he_init = strcmp(v, "he") == 0;
        } else if (strcmp(a, "--msssim-weights") == 0) {
            if (strcmp(v, "equal") == 0) weights = PCL_SSIM_WEIGHTS_EQUAL;
            else if (strcmp(v, "standard") == 0) weights = PCL_SSIM_WEIGHTS_STANDARD;
            else return bad_usage(cmd, "--msssim-weights must be equal or standard, not", v);
        } else return bad_usage(cmd, "unknown option", a);
    }
    if (r.exit_code >= 0) return r.exit_code;
    if (!loss) return bad_usage(cmd, "needs --loss mse|mae|msssim|msssim-l1", NULL);
    if (!dir_count) return bad_usage(cmd, "needs --train DIR", NULL);
    if (!out) return bad_usage(cmd, "needs --out MODEL.safetensors", NULL);
    if (srcnn_lr && lr_given) return bad_usage(cmd, "--lr and --srcnn-lr exclude each other", NULL);
    if (srcnn_lr && adam) return bad_usage(cmd, "--srcnn-lr is SGD's recipe; give Adam's rate with --lr", NULL);
    if (srcnn_lr || (adam && !lr_given)) lr = 1e-4;
    char state_path[4200];
    snprintf(state_path, sizeof state_path, "%s.train", out);
    if (resume && access(state_path, R_OK) != 0)
        return fprintf(stderr, "perceptcl srcnn train: --resume: no training state at %s\n", state_path), 1;

    /* Data first: a bad folder fails before the device is opened. */
    pcl_pipeline *pipeline = NULL;
    pcl_data_source source;
    if (pcl_srcnn_training_pipeline(dirs, dir_count, (int)scale, (int)stride, (size_t)limit, &pipeline) != PCL_OK ||
        pcl_pipeline_source(pipeline, &source) != PCL_OK) {
        pcl_pipeline_destroy(pipeline);
        return app_fail(cmd, "training data");
    }
    fprintf(stderr, "perceptcl srcnn train: %zu sub-images %dx%d (labels %dx%d) from %zu images, x%ld, loss %s\n",
            source.count, source.input[1], source.input[2], source.target[1], source.target[2],
            pcl_pipeline_images(pipeline), scale, loss);

    pcl_context *context = app_open_context(&selection);
    if (!context) return pcl_pipeline_destroy(pipeline), 1;
    pcl_model *model = NULL;
    pcl_optimizer *optimizer = NULL;
    pcl_trainer *trainer = NULL;
    int rc = 0;
    const int label_pixels = source.target[1] * source.target[2];
    pcl_sgd_config sgd = pcl_sgd_config_default();
    sgd.learning_rate = lr * label_pixels / 2.0; /* Caffe units, see the usage text */
    sgd.momentum = momentum;
    pcl_adam_config adam_config = pcl_adam_config_default();
    adam_config.learning_rate = lr;
    pcl_ssim_options ssim_options = pcl_ssim_options_default();
    ssim_options.mode = PCL_SSIM_MODE_SAME;
    ssim_options.data_range = 1.0;
    ssim_options.scales = 5;
    ssim_options.weights = weights;
    char title[128];
    snprintf(title, sizeof title, "SRCNN 9-5-5 x%ld, %s loss", scale, loss);

    if (pcl_srcnn_create(context, PCL_SRCNN_MODE_VALID, &model) != PCL_OK ||
        (he_init ? pcl_model_init_weights(model, PCL_INIT_HE_NORMAL, 0.0, (uint64_t)seed)
                 : pcl_srcnn_init(model, 0.001, (uint64_t)seed)) != PCL_OK ||
        (init_path && pcl_model_load(model, init_path, NULL) != PCL_OK) ||
        (srcnn_lr && pcl_model_set_lr_multiplier(model, 4, 0.1) != PCL_OK) ||
        (adam ? pcl_adam_create(context, &adam_config, &optimizer) : pcl_sgd_create(context, &sgd, &optimizer)) != PCL_OK)
        rc = app_fail(cmd, "model");
    pcl_trainer_config config = pcl_trainer_config_default();
    config.loss = loss_kind;
    config.ssim_options = &ssim_options;
    config.batch = (size_t)batch;
    config.epochs = epochs;
    config.max_steps = max_steps;
    config.seed = (uint64_t)seed;
    config.checkpoint_path = state_path;
    config.resume_path = resume ? state_path : NULL;
    config.log_path = log_path;
    config.curve_path = curve_path;
    config.title = title;
    if (rc == 0 && pcl_trainer_create(model, optimizer, &config, &trainer) != PCL_OK) rc = app_fail(cmd, "trainer");
    pcl_trainer_result result = {0};
    if (rc == 0 && pcl_trainer_run(trainer, &source, NULL, &result) != PCL_OK) rc = app_fail(cmd, "training");
    if (rc == 0) {
        pcl_checkpoint *meta = NULL;
        char value[4096];
        pcl_status s = pcl_checkpoint_create(&meta);
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "loss", loss);
        snprintf(value, sizeof value, "%ld", scale);
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "scale", value);
        snprintf(value, sizeof value, "%lld", (long long)result.epochs);
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "epochs", value);
        snprintf(value, sizeof value, "%lld", (long long)result.steps);
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "steps", value);
        snprintf(value, sizeof value, "%.9g", result.train_loss);
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "train_loss", value);
        snprintf(value, sizeof value, "%zu", source.count);
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "sub_images", value);
        int at = adam ? snprintf(value, sizeof value, "adam lr=%g", lr)
                      : snprintf(value, sizeof value, "sgd lr=%g (caffe units; optimizer %g)%s momentum=%g", lr,
                                 sgd.learning_rate, srcnn_lr ? " last-layer x0.1" : "", momentum);
        snprintf(value + at, sizeof value - (size_t)at, " init=%s batch=%ld seed=%ld%s%s",
                 init_path ? "file" : he_init ? "he" : "gaussian-0.001", batch, seed,
                 pcl_loss_kind_uses_ssim(loss_kind)
                     ? (weights == PCL_SSIM_WEIGHTS_EQUAL ? " msssim=same,5 scales,equal exponents"
                                                          : " msssim=same,5 scales,standard exponents")
                     : "",
                 loss_kind == PCL_LOSS_KIND_MSSSIM_L1 ? " msssim-l1 alpha=0.84" : "");
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "training", value);
        size_t used = 0;
        value[0] = '\0';
        for (int d = 0; d < dir_count && used < sizeof value; d++) {
            char name[256];
            int n = snprintf(value + used, sizeof value - used, "%s%s", d ? "," : "", app_base_name(dirs[d], name, sizeof name));
            if (n > 0) used += (size_t)n;
        }
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "train_sets", value);
        if (s == PCL_OK && init_path) s = pcl_checkpoint_set_metadata(meta, "init", app_base_name(init_path, value, sizeof value));
        if (s == PCL_OK) s = pcl_checkpoint_set_metadata(meta, "input", "Y/255 of bicubic-upscaled BT.601 Y");
        if (s == PCL_OK) s = pcl_model_save(model, out, meta);
        if (s != PCL_OK) rc = app_fail(cmd, out);
        pcl_checkpoint_destroy(meta);
        if (rc == 0 && isnan(result.train_loss)) /* --max-steps ended the run before an epoch completed */
            fprintf(stderr, "perceptcl srcnn train: %lld steps (no full epoch in this run) -> %s\n",
                    (long long)result.steps, out);
        else if (rc == 0)
            fprintf(stderr, "perceptcl srcnn train: %lld epochs, %lld steps, last epoch loss %.6g, %.1f patches/s -> %s\n",
                    (long long)result.epochs, (long long)result.steps, result.train_loss, result.images_per_second, out);
    }
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

/* Table 2: a row per set, bicubic and each model, the paper's columns at x4. */
static int print_table2(const char *cmd, char (*names)[128], const size_t *images, const double *values,
                        int dir_count, const loaded_model *models, const char **model_paths, int model_count,
                        int scale, const char *report_prefix)
{
    const char *columns[1 + MAX_MODELS] = {"bicubic"};
    for (int m = 0; m < model_count; m++) columns[1 + m] = models[m].label;
    app_report_row rows[MAX_DIRS];
    double paper[MAX_DIRS][APP_PAPER_COLUMNS * 2];
    for (int d = 0; d < dir_count; d++) {
        const app_paper_row *row = app_paper_row_find(names[d]);
        for (int p = 0; row && p < APP_PAPER_COLUMNS; p++) {
            paper[d][2 * p] = row->psnr[p];
            paper[d][2 * p + 1] = row->ssim[p];
        }
        rows[d] = (app_report_row){names[d], (long)images[d], &values[d * 2 * (1 + MAX_MODELS)], row ? paper[d] : NULL};
    }
    char title[128];
    snprintf(title, sizeof title, "SRCNN 9-5-5, x%d: PSNR (dB) and SSIM on Y (SRCNN protocol)", scale);
    json_t *list = json_array();
    for (int m = 0; list && m < model_count; m++)
        if (json_array_append_new(list, json_pack("{s:s, s:s}", "label", models[m].label, "path", model_paths[m])) != 0)
            json_decref(list), list = NULL;
    json_t *header = list ? json_pack("{s:s, s:i, s:o}", "protocol", "srcnn", "scale", scale, "models", list) : NULL;
    if (!header) return fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1;
    /* The paper's Table 2 is x4 only. */
    app_report report = {title, "set", "sets", "images", table2_metrics, 2, columns, 1 + model_count,
                         app_paper_labels, scale == 4 ? APP_PAPER_COLUMNS : 0, rows, dir_count,
                         "Paper: Snell et al. 2017, Table 2 (SRCNN trained on ImageNet patches). "
                         "Columns other than bicubic and the paper's are the models given to eval.",
                         header};
    int rc = 0;
    if (report_prefix) {
        char md[4200], js[4200];
        snprintf(md, sizeof md, "%s.md", report_prefix);
        snprintf(js, sizeof js, "%s.json", report_prefix);
        rc = app_report_write(cmd, &report, md, js);
    }
    char *markdown = rc == 0 ? app_report_markdown(&report) : NULL;
    if (rc == 0 && !markdown) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1);
    if (markdown) fputs(markdown, stdout);
    free(markdown);
    json_decref(header);
    return rc;
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
        if (!r.option && dir_count == MAX_DIRS) app_args_error(&r, "more than %d folders", MAX_DIRS);
        else if (!r.option) dirs[dir_count++] = r.value;
        else if (app_args_is(&r, "--model") && model_count == MAX_MODELS)
            app_args_error(&r, "more than %d --model files", MAX_MODELS);
        else if (app_args_is(&r, "--model")) model_paths[model_count++] = r.value;
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
        else if (app_args_is(&r, "--report")) report = r.value;
    }
    if (r.exit_code < 0 && !dir_count) app_args_error(&r, "needs a folder of test images");
    if (r.exit_code >= 0) return r.exit_code;
    pcl_context *context = app_open_context(&selection);
    if (!context) return 1;
    loaded_model models[MAX_MODELS] = {0};
    int rc = load_models(context, cmd, model_paths, model_count, models);
    for (int m = 0; m < model_count && rc == 0; m++)
        if (models[m].scale && models[m].scale != scale)
            fprintf(stderr, "perceptcl srcnn eval: warning: %s was trained for x%d, evaluated at x%d\n", model_paths[m],
                    models[m].scale, scale);
    pcl_sr_estimator estimators[MAX_MODELS];
    for (int m = 0; m < model_count; m++) estimators[m] = (pcl_sr_estimator){apply_model, models[m].model};
    char names[MAX_DIRS][128];
    size_t images[MAX_DIRS];
    double values[MAX_DIRS][2 * (1 + MAX_MODELS)]; /* per set: [column][psnr, ssim] */
    for (int d = 0; d < dir_count && rc == 0; d++) {
        pcl_sr_score means[1 + MAX_MODELS];
        app_base_name(dirs[d], names[d], sizeof names[d]);
        if (pcl_sr_evaluate_folder(context, dirs[d], scale, estimators, model_count, &images[d], means) != PCL_OK)
            rc = app_fail(cmd, dirs[d]);
        for (int c = 0; c <= model_count; c++) {
            values[d][2 * c] = means[c].psnr;
            values[d][2 * c + 1] = means[c].ssim;
        }
    }
    if (rc == 0)
        rc = print_table2(cmd, names, images, &values[0][0], dir_count, models, model_paths, model_count, scale, report);
    free_models(models, model_count);
    pcl_context_destroy(context);
    return rc;
}

/* ---- colour pipeline (upscale, compare) ------------------------------------- */

/* 8-bit YCbCr (rgb2ycbcr on uint8) of a gray, RGB or RGBA image; gray keeps
 * one channel (its values are the Y the protocol uses). */
static pcl_status to_ycbcr(const pcl_image *image, pcl_image **out)
{
    *out = NULL;
    if (image->max_value != 255.0f) {
        pcl_image *scaled = NULL;
        pcl_status s = pcl_image_clone(image, &scaled);
        if (s != PCL_OK) return s;
        for (size_t i = 0; i < pcl_image_size(scaled); i++)
            scaled->data[i] = roundf(scaled->data[i] * 255.0f / image->max_value);
        scaled->max_value = 255.0f;
        s = to_ycbcr(scaled, out);
        pcl_image_destroy(scaled);
        return s;
    }
    if (image->channels == 1) return pcl_image_clone(image, out);
    if (image->channels == 2) {
        pcl_image *gray = NULL;
        pcl_status s = pcl_color_channel(image, 0, &gray);
        if (s == PCL_OK) *out = gray;
        return s;
    }
    return pcl_color_rgb_to_ycbcr(image, PCL_YCBCR_MODE_ROUND_U8, out);
}

/* Network Y (NULL model: bicubic Y) merged with the other channels of the
 * upscaled YCbCr image, back to 8-bit RGB (or gray). */
static pcl_status colour_result(pcl_model *model, const pcl_image *ycc_up, pcl_image **rgb)
{
    *rgb = NULL;
    pcl_image *planes[3] = {0}, *y = NULL, *merged = NULL;
    pcl_status s = pcl_color_split(ycc_up, planes);
    if (s == PCL_OK) {
        if (model) s = pcl_srcnn_apply(model, planes[0], &y);
        else s = pcl_image_clone(planes[0], &y);
    }
    if (s == PCL_OK) {
        pcl_image_destroy(planes[0]);
        planes[0] = y;
        y = NULL;
        s = pcl_color_merge(planes, ycc_up->channels, &merged);
    }
    if (s == PCL_OK) {
        if (ycc_up->channels == 3) s = pcl_color_ycbcr_to_rgb(merged, PCL_YCBCR_MODE_ROUND_U8, rgb);
        else {
            for (size_t i = 0; i < pcl_image_size(merged); i++) {
                float v = merged->data[i];
                merged->data[i] = v <= 0 ? 0 : v >= 255 ? 255 : floorf(v + 0.5f);
            }
            *rgb = merged;
            merged = NULL;
        }
    }
    for (int c = 0; c < 3; c++) pcl_image_destroy(planes[c]);
    pcl_image_destroy(y);
    pcl_image_destroy(merged);
    return s;
}

static const app_option upscale_options[] = {{"--model", "M"}, {"--scale", "S"}, {NULL, NULL}};

static int run_upscale(int argc, char **argv)
{
    const char *cmd = "srcnn upscale";
    pcl_device_selection selection = {0};
    const char *model_path = NULL, *files[2];
    int file_count = 0, scale = 4;
    app_args r;
    app_args_init(&r, cmd, usage, upscale_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option && file_count == 2) app_args_error(&r, "expects IN OUT, got an extra '%s'", r.value);
        else if (!r.option) files[file_count++] = r.value;
        else if (app_args_is(&r, "--model")) model_path = r.value;
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
    }
    if (r.exit_code < 0 && !model_path) app_args_error(&r, "needs --model M");
    if (r.exit_code < 0 && file_count != 2) app_args_error(&r, "expects IN OUT");
    if (r.exit_code >= 0) return r.exit_code;
    pcl_image *image = NULL, *ycc = NULL, *up = NULL, *rgb = NULL;
    if (pcl_image_read(files[0], &image) != PCL_OK) return app_fail(cmd, files[0]);
    if (to_ycbcr(image, &ycc) != PCL_OK) {
        pcl_image_destroy(image);
        return app_fail(cmd, files[0]);
    }
    pcl_image_destroy(image);
    pcl_context *context = app_open_context(&selection);
    if (!context) return pcl_image_destroy(ycc), 1;
    loaded_model model = {0};
    int rc = load_models(context, cmd, &model_path, 1, &model);
    if (rc == 0 && (pcl_resize_bicubic_scale(ycc, (double)scale, PCL_RESIZE_DEFAULT, &up) != PCL_OK ||
                    colour_result(model.model, up, &rgb) != PCL_OK))
        rc = app_fail(cmd, files[0]);
    if (rc == 0 && pcl_image_write_png(files[1], rgb) != PCL_OK) rc = app_fail(cmd, files[1]);
    if (rc == 0) fprintf(stderr, "perceptcl srcnn upscale: %dx%d -> %dx%d: %s\n", ycc->width, ycc->height, rgb->width,
                         rgb->height, files[1]);
    pcl_image_destroy(ycc);
    pcl_image_destroy(up);
    pcl_image_destroy(rgb);
    free_models(&model, 1);
    pcl_context_destroy(context);
    return rc;
}

/* ---- compare ---------------------------------------------------------------- */

/* The size x size window (stride 8) of largest variance of a 1-channel image. */
static void busiest_window(const pcl_image *y, int size, int *bx, int *by)
{
    double best = -1;
    *bx = *by = 0;
    for (int y0 = 0; y0 + size <= y->height; y0 += 8)
        for (int x0 = 0; x0 + size <= y->width; x0 += 8) {
            double s = 0, s2 = 0;
            for (int r = 0; r < size; r++)
                for (int c = 0; c < size; c++) {
                    double v = y->data[(size_t)(y0 + r) * y->width + x0 + c];
                    s += v;
                    s2 += v * v;
                }
            double n = (double)size * size, var = s2 / n - (s / n) * (s / n);
            if (var > best) {
                best = var;
                *bx = x0;
                *by = y0;
            }
        }
}

static const app_option compare_options[] = {
    {"--model", "M"}, {"--scale", "S"}, {"--zoom", "Z"}, {"--crop", "X,Y,W,H"}, {NULL, NULL}};

static int run_compare(int argc, char **argv)
{
    const char *cmd = "srcnn compare";
    pcl_device_selection selection = {0};
    const char *model_paths[MAX_MODELS], *files[2];
    int model_count = 0, file_count = 0, crop_given = 0, crop[4] = {0}, scale = 4, zoom = 3;
    app_args r;
    app_args_init(&r, cmd, usage, compare_options, &selection, argc, argv);
    while (app_args_next(&r)) {
        char tail;
        if (!r.option && file_count == 2) app_args_error(&r, "expects IMAGE OUT.png, got an extra '%s'", r.value);
        else if (!r.option) files[file_count++] = r.value;
        else if (app_args_is(&r, "--model") && model_count == MAX_MODELS)
            app_args_error(&r, "more than %d --model files", MAX_MODELS);
        else if (app_args_is(&r, "--model")) model_paths[model_count++] = r.value;
        else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
        else if (app_args_is(&r, "--zoom")) app_args_int(&r, 1, 16, &zoom);
        else if (sscanf(r.value, "%d,%d,%d,%d%c", &crop[0], &crop[1], &crop[2], &crop[3], &tail) != 4 ||
                 crop[0] < 0 || crop[1] < 0 || crop[2] < 1 || crop[3] < 1)
            app_args_error(&r, "--crop must be X,Y,W,H (X, Y >= 0; W, H >= 1), not '%s'", r.value);
        else crop_given = 1;
    }
    if (r.exit_code < 0 && !model_count) app_args_error(&r, "needs --model M");
    if (r.exit_code < 0 && file_count != 2) app_args_error(&r, "expects IMAGE OUT.png");
    if (r.exit_code >= 0) return r.exit_code;
    pcl_image *image = NULL, *ycc = NULL, *gnd = NULL, *low = NULL, *up = NULL;
    if (pcl_image_read(files[0], &image) != PCL_OK) return app_fail(cmd, files[0]);
    int rc = 0;
    if (to_ycbcr(image, &ycc) != PCL_OK || pcl_image_modcrop(ycc, scale, &gnd) != PCL_OK ||
        pcl_resize_bicubic_scale(gnd, 1.0 / (double)scale, PCL_RESIZE_DEFAULT, &low) != PCL_OK ||
        pcl_resize_bicubic(low, gnd->width, gnd->height, PCL_RESIZE_DEFAULT, &up) != PCL_OK)
        rc = app_fail(cmd, files[0]);
    pcl_image_destroy(image);
    pcl_image_destroy(ycc);
    pcl_image_destroy(low);
    if (rc == 0 && !crop_given) {
        int size = gnd->width < gnd->height ? gnd->width : gnd->height;
        if (size > 64) size = 64;
        pcl_image *y = NULL;
        if (pcl_color_channel(gnd, 0, &y) != PCL_OK) rc = app_fail(cmd, files[0]);
        else busiest_window(y, size, &crop[0], &crop[1]);
        crop[2] = crop[3] = size;
        pcl_image_destroy(y);
    }
    if (rc == 0 && (crop[0] + crop[2] > gnd->width || crop[1] + crop[3] > gnd->height))
        rc = (fprintf(stderr, "perceptcl srcnn compare: --crop %d,%d,%d,%d is outside the %dx%d (modcropped) image\n",
                      crop[0], crop[1], crop[2], crop[3], gnd->width, gnd->height), 2);
    pcl_context *context = NULL;
    loaded_model models[MAX_MODELS] = {0};
    if (rc == 0 && !(context = app_open_context(&selection))) rc = 1;
    if (rc == 0) rc = load_models(context, cmd, model_paths, model_count, models);
    /* Panels: bicubic, models..., original; each the crop, zoomed. */
    int panels = model_count + 2, gap = 4, pw = crop[2] * zoom, ph = crop[3] * zoom;
    pcl_image *strip = NULL, *truth_rgb = NULL;
    if (rc == 0 && (colour_result(NULL, gnd, &truth_rgb) != PCL_OK ||
                    pcl_image_create(&strip, panels * pw + (panels - 1) * gap, ph, truth_rgb->channels) != PCL_OK))
        rc = app_fail(cmd, "strip");
    if (rc == 0)
        for (size_t i = 0; i < pcl_image_size(strip); i++) strip->data[i] = 255.0f;
    if (rc == 0) printf("| panel | crop PSNR (dB) | crop SSIM |\n|---|---|---|\n");
    for (int p = 0; p < panels && rc == 0; p++) {
        pcl_image *rgb = NULL, *ypanel = NULL, *ytruth = NULL;
        const char *label = p == 0 ? "bicubic" : p == panels - 1 ? "original" : models[p - 1].label;
        pcl_status s = p == panels - 1 ? pcl_image_clone(truth_rgb, &rgb)
                                       : colour_result(p == 0 ? NULL : models[p - 1].model, up, &rgb);
        if (s != PCL_OK) {
            rc = app_fail(cmd, label);
            break;
        }
        for (int r = 0; r < ph; r++)
            for (int c = 0; c < pw; c++)
                for (int ch = 0; ch < rgb->channels; ch++)
                    strip->data[((size_t)r * strip->width + (size_t)p * (pw + gap) + c) * strip->channels + ch] =
                        rgb->data[((size_t)(crop[1] + r / zoom) * rgb->width + crop[0] + c / zoom) * rgb->channels + ch];
        if (p < panels - 1) {
            /* The crop's scores on Y (recomputed from the 8-bit colour panel when in colour). */
            pcl_image *yc = NULL, *tc = NULL;
            pcl_sr_score score = {0, 0};
            s = rgb->channels == 3 ? pcl_color_rgb_to_y(rgb, PCL_YCBCR_MODE_ROUND_U8, &ypanel) : pcl_image_clone(rgb, &ypanel);
            if (s == PCL_OK) s = pcl_color_channel(gnd, 0, &ytruth);
            if (s == PCL_OK) s = pcl_image_crop(ypanel, crop[0], crop[1], crop[2], crop[3], &yc);
            if (s == PCL_OK) s = pcl_image_crop(ytruth, crop[0], crop[1], crop[2], crop[3], &tc);
            if (s == PCL_OK && crop[2] >= 11 && crop[3] >= 11) s = pcl_sr_score_pair(context, tc, yc, 0, &score);
            else if (s == PCL_OK) s = pcl_sr_psnr(tc, yc, &score.psnr);
            if (s != PCL_OK) rc = app_fail(cmd, label);
            else printf("| %s | %.2f | %.4f |\n", label, score.psnr, score.ssim);
            pcl_image_destroy(yc);
            pcl_image_destroy(tc);
        }
        pcl_image_destroy(rgb);
        pcl_image_destroy(ypanel);
        pcl_image_destroy(ytruth);
    }
    if (rc == 0 && pcl_image_write_png(files[1], strip) != PCL_OK) rc = app_fail(cmd, files[1]);
    if (rc == 0)
        fprintf(stderr, "perceptcl srcnn compare: crop %d,%d,%d,%d x%d, panels: bicubic, %d model(s), original -> %s\n",
                crop[0], crop[1], crop[2], crop[3], zoom, model_count, files[1]);
    pcl_image_destroy(strip);
    pcl_image_destroy(truth_rgb);
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
