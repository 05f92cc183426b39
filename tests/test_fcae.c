/* perceptcl fcae (experiment 1) and the shared module's image sets and
 * split (apps/autoencoder.c): the split's parts against a direct check, a
 * set's windows; then the app as a user runs it with the narrow variant on
 * the 200 lossless CIFAR-10 training PNGs and 1,000 CIFAR-10 test images: an
 * SSIM net and an MSE net trained a few hundred steps (the MSE net resumed), the SSIM net better
 * in SSIM on most queries, the report beside the paper's rates, Figure 3,
 * the study items, reconstruct, early stopping, and bad input (one line,
 * non-zero exit, nothing written). The binary layer's forward (-1/+1, 0 ->
 * -1) and its (1 - tanh^2) backward formula are checked in test_layers.c
 * (test_elementwise, kind 2) against layers_reference.c. */
#include "../apps/autoencoder.h"
#include "json_get.h"
#include "perceptcl/architectures.h"
#include "perceptcl/image.h"
#include "perceptcl/tensor.h"

#include "run_perceptcl.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_run.h"

static pcl_context *context;
static char work[64];
static char out_text[1 << 16], err_text[1 << 14];

#define OK(call) ck_assert_msg((call) == PCL_OK, "%s: %s", #call, pcl_last_error())

#define TRAIN PCL_SHARED_DIR "/datasets/CIFAR10/train_first200_png"
#define QUERIES PCL_SHARED_DIR "/datasets/CIFAR10/test_jpeg/cat"

/* ---- the shared module's sets and split ----------------------------------------- */

START_TEST(split_and_set)
{
    /* The two parts of a seeded split: the sizes asked, disjoint, together every index;
     * the same seed gives the same parts. */
    enum { N = 100 };
    const size_t sizes[2] = {80, 20};
    size_t *a = NULL, *b = NULL, *again = NULL;
    ck_assert_int_eq(app_ae_split("test", N, sizes, 2017, 0, &a), 0);
    ck_assert_int_eq(app_ae_split("test", N, sizes, 2017, 1, &b), 0);
    ck_assert_int_eq(app_ae_split("test", N, sizes, 2017, 1, &again), 0);
    ck_assert(memcmp(b, again, 20 * sizeof *b) == 0);
    int seen[N] = {0};
    for (int i = 0; i < 80; i++) ck_assert(a[i] < N), seen[a[i]]++;
    for (int i = 0; i < 20; i++) ck_assert(b[i] < N), seen[b[i]]++;
    for (int i = 0; i < N; i++) ck_assert_msg(seen[i] == 1, "index %d seen %d times", i, seen[i]);
    free(again);

    /* A set of 2 windows per CIFAR PNG (32x32: the window is the image, mirrored or not),
     * through the map of part 1: record i is PNG b[i % 20], on [-1, 1]. */
    app_ae_set set = {0};
    const app_ae_draw draw = {32, 32, 256, 1};
    ck_assert_int_eq(app_ae_set_open_folder("test", &set, TRAIN, 32), 0);
    ck_assert_int_eq(app_ae_set_finish("test", &set, &draw, 40, b, 20), 0);
    ck_assert_int_eq((int)set.source.count, 40);
    size_t indices[2] = {3, 23};
    float x[2 * 1024], t[2 * 1024];
    OK(set.source.fill(set.source.user, indices, 2, 1, x, t));
    pcl_image *image = NULL;
    int label;
    pcl_dataset *folder = NULL;
    pcl_folder_options options = {.width = 32, .height = 32, .channels = 1};
    OK(pcl_dataset_open_folder(TRAIN, &options, &folder));
    OK(pcl_dataset_read_image(folder, b[3], &image, &label));
    for (int k = 0; k < 2; k++) { /* each copy: the image or its mirror, within the pipeline's rounding */
        double direct = 0, mirrored = 0;
        for (int y = 0; y < 32; y++)
            for (int c = 0; c < 32; c++) {
                double v = x[k * 1024 + y * 32 + c];
                ck_assert(v >= -1.0 && v <= 1.0);
                direct = fmax(direct, fabs(v - (image->data[y * 32 + c] / 127.5 - 1.0)));
                mirrored = fmax(mirrored, fabs(v - (image->data[y * 32 + 31 - c] / 127.5 - 1.0)));
            }
        ck_assert_msg(fmin(direct, mirrored) < 1e-5, "copy %d: %g from the image, %g from its mirror", k, direct,
                      mirrored);
    }
    pcl_image_destroy(image);
    pcl_dataset_destroy(folder);
    app_ae_set_free(&set); /* frees b */
    free(a);

    /* Images of another size: one line naming both sizes. */
    app_ae_set small = {0};
    const app_ae_draw as_is = {16, 0, 0, 0};
    ck_assert_int_eq(app_ae_set_open_folder("test", &small, TRAIN, 0), 0);
    ck_assert_int_ne(app_ae_set_finish("test", &small, &as_is, 0, NULL, 0), 0);
    app_ae_set_free(&small);
}
END_TEST

START_TEST(extremes)
{
    /* 7 images, model 0 against model 1: SSIM advantages 0.3, -0.1, 0.5, 0, 0.2, -0.4, 0.2 (a tie
     * broken by index); MSE 0's advantage is 1 - 0's value (lower is better). */
    const double gain[7] = {0.3, -0.1, 0.5, 0.0, 0.2, -0.4, 0.2};
    double scores[2 * 7 * APP_AE_METRICS] = {0};
    for (int i = 0; i < 7; i++) {
        scores[i * APP_AE_METRICS + APP_AE_SSIM] = 0.5 + gain[i];
        scores[(7 + i) * APP_AE_METRICS + APP_AE_SSIM] = 0.5;
        scores[i * APP_AE_METRICS + APP_AE_MSE] = gain[i];
        scores[(7 + i) * APP_AE_METRICS + APP_AE_MSE] = 0.0;
    }
    app_ae_eval e = {.images = 7, .models = 2, .scores = scores};
    long rows[14];
    ck_assert_int_eq(app_ae_extremes(&e, 0, 1, APP_AE_SSIM, 2, rows), 4);
    const long expected[4] = {2, 0, 1, 5}; /* largest two, then the smallest two, decreasing */
    for (int k = 0; k < 4; k++) ck_assert_int_eq(rows[k], expected[k]);
    ck_assert_int_eq(app_ae_extremes(&e, 0, 1, APP_AE_SSIM, 8, rows), 7); /* fewer than 16: all, in order */
    const long all[7] = {2, 0, 4, 6, 3, 1, 5};
    for (int k = 0; k < 7; k++) ck_assert_int_eq(rows[k], all[k]);
    ck_assert_int_eq(app_ae_extremes(&e, 0, 1, APP_AE_MSE, 1, rows), 2); /* lower MSE: the advantage is -gain */
    ck_assert_int_eq(rows[0], 5);
    ck_assert_int_eq(rows[1], 2);
}
END_TEST

START_TEST(narrow_code_is_binary)
{
    /* The narrow table's encoder (its first 12 entries: five dense + ReLU, dense, binary) on 64
     * CIFAR-10 images: every code unit -1 or +1, 16 of them, and not all alike. */
    const pcl_architecture *arch = &pcl_arch_fc_binary_ae_narrow;
    ck_assert(arch->spec[11].kind == PCL_LAYER_KIND_BINARY);
    pcl_model *encoder = NULL;
    OK(pcl_model_build(context, arch->spec, 12, &encoder));
    OK(pcl_model_init_weights(encoder, PCL_INIT_HE_NORMAL, 0, 3));
    pcl_model_set_training(encoder, 0);
    app_ae_set set = {0};
    const app_ae_draw as_is = {32, 0, 0, 0};
    ck_assert_int_eq(app_ae_set_open_folder("test", &set, TRAIN, 32), 0);
    ck_assert_int_eq(app_ae_set_finish("test", &set, &as_is, 64, NULL, 0), 0);
    size_t indices[64];
    static float x[64 * 1024], t[64 * 1024];
    for (int i = 0; i < 64; i++) indices[i] = (size_t)i;
    OK(set.source.fill(set.source.user, indices, 64, 0, x, t));
    pcl_tensor *input = NULL, *code = NULL;
    OK(pcl_tensor_create(context, 64, 1, 32, 32, &input));
    OK(pcl_tensor_upload(input, x));
    OK(pcl_model_forward(encoder, input, &code));
    ck_assert_int_eq((int)pcl_tensor_count(code), 64 * 16);
    float bits[64 * 16];
    OK(pcl_tensor_download(code, bits));
    int plus = 0;
    for (int k = 0; k < 64 * 16; k++) {
        ck_assert_msg(bits[k] == 1.0f || bits[k] == -1.0f, "code unit %d: %g", k, bits[k]);
        plus += bits[k] > 0;
    }
    ck_assert(plus > 0 && plus < 64 * 16);
    pcl_tensor_destroy(input);
    pcl_model_destroy(encoder);
    app_ae_set_free(&set);
}
END_TEST

/* ---- the app ----------------------------------------------------------------------- */

static int run(const char *args)
{
    return pcl_test_run_perceptcl(work, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

static int exists(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    return access(path, F_OK) == 0;
}

/* The lines of a CSV log (header excluded). */
static int log_lines(const char *name)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    FILE *f = fopen(path, "r");
    int n = -1;
    while (f && fgets(line, sizeof line, f)) n++;
    if (f) fclose(f);
    return n < 0 ? 0 : n;
}

static int error_lines(void)
{
    int n = 0;
    for (const char *p = err_text; (p = strstr(p, "perceptcl fcae")); p++) n++;
    return n;
}

static void png_size(const char *name, int *width, int *height)
{
    char path[512];
    pcl_image *image = NULL;
    snprintf(path, sizeof path, "%s/%s", work, name);
    OK(pcl_image_read(path, &image));
    *width = image->width, *height = image->height;
    pcl_image_destroy(image);
}

/* 300 steps of 16 (3 epochs of 1,600 windows of the 200 PNGs), validated on them. */
#define TINY "--narrow --train " TRAIN " --validation " TRAIN " --epoch-size 1600 --batch 16 --epochs 3 "

START_TEST(train_eval_reconstruct)
{
    ck_assert_msg(run("fcae train --loss mse " TINY "--out mse.safetensors --log mse.csv --curve mse.svg") == 0, "%s",
                  err_text);
    ck_assert_int_eq(log_lines("mse.csv"), 3);
    ck_assert(exists("mse.svg") && exists("mse.safetensors.train"));
    /* Resume: one more epoch continues the state (4 lines, 400 steps); another lr is refused. */
    ck_assert_msg(run("fcae train --loss mse " TINY "--epochs 4 --resume --out mse.safetensors --log mse.csv") == 0,
                  "%s", err_text);
    ck_assert_int_eq(log_lines("mse.csv"), 4);
    ck_assert_msg(strstr(err_text, "4 epochs, 400 steps"), "%s", err_text);
    ck_assert_int_ne(run("fcae train --loss mse " TINY "--epochs 5 --lr 1 --resume --out mse.safetensors"), 0);
    ck_assert_msg(strstr(err_text, "lr") && error_lines() == 1, "%s", err_text);
    ck_assert_msg(run("fcae train --loss ssim " TINY "--out ssim.safetensors") == 0, "%s", err_text);

    /* eval on 1,000 CIFAR-10 test cats: the SSIM net better in SSIM on most. */
    ck_assert_msg(run("fcae eval --model mse.safetensors --model ssim.safetensors --images " QUERIES
                      " --report report --grid fig3.png --study study --study-count 4") == 0,
                  "%s", err_text);
    ck_assert_msg(strstr(out_text, "| paper: MSE | paper: SSIM |") && strstr(out_text, "| 69.71 | 97.33 |"), "%s",
                  out_text);
    char path[512];
    snprintf(path, sizeof path, "%s/report.json", work);
    json_t *doc = json_load_file(path, 0, NULL);
    ck_assert(doc && exists("report.md"));
    const json_t *ssim = json_object_get(doc, "ssim_net_better_ssim");
    const json_t *mse = json_object_get(doc, "mse_net_better_mse");
    double better = json_member_number(ssim, "better", NAN), worse = json_member_number(ssim, "worse", NAN),
           ties = json_member_number(ssim, "ties", NAN);
    ck_assert_msg(better + worse + ties == 1000, "%g + %g + %g", better, worse, ties);
    /* 655 on the 2-core Xeon VM (PoCL); a majority with room for another device's rounding. */
    ck_assert_msg(better > 550, "the SSIM net has the higher SSIM on %g of 1000 queries", better);
    double rate = json_member_number(ssim, "rate", NAN), low = json_member_number(ssim, "low", NAN),
           high = json_member_number(ssim, "high", NAN);
    ck_assert(low < rate && rate < high && fabs(rate - better / 1000) < 1e-4);
    ck_assert(json_member_number(mse, "better", NAN) + json_member_number(mse, "worse", NAN) +
                  json_member_number(mse, "ties", NAN) == 1000);
    /* The table's cells are these rates, in percent. */
    const json_t *results = json_object_get(json_array_get(json_object_get(doc, "sets"), 0), "results");
    ck_assert(fabs(json_member_number(json_object_get(results, "SSIM"), "better_own_metric_pct", NAN) - 100 * rate) <
              0.006);
    /* The training cost: steps, images seen (400 x 16), epochs, time, device. */
    const char *cost = json_string_value(json_object_get(json_array_get(json_object_get(doc, "models"), 0), "cost"));
    ck_assert_msg(cost && strstr(cost, "400 steps, 6400 images, 4 epochs,"), "%s", cost ? cost : "(none)");
    json_decref(doc);
    int width, height;
    png_size("fig3.png", &width, &height);
    ck_assert_int_eq(width, 3 * 128 + 2 * 4); /* MSE | original | SSIM at zoom 4 */
    ck_assert_int_eq(height, 16 * 128 + 15 * 4);
    ck_assert(exists("study/items.json") && exists("study/m2") && !exists("study.partial"));
    ck_assert_msg(run("study make --items study/items.json --out page") == 0, "%s", err_text);

    /* reconstruct 3 queries. */
    ck_assert_msg(run("fcae reconstruct --model mse.safetensors --model ssim.safetensors --images " QUERIES
                      " --count 3 rec.png") == 0,
                  "%s", err_text);
    png_size("rec.png", &width, &height);
    ck_assert_int_eq(width, 3 * 128 + 2 * 4);
    ck_assert_int_eq(height, 3 * 128 + 2 * 4);

    /* Early stopping: no epoch improves by 100, so patience 1 (the default) stops after the second. */
    ck_assert_msg(run("fcae train --loss mae --narrow --train " TRAIN " --validation " TRAIN
                      " --epoch-size 64 --batch 16 --epochs 5 --min-delta 100 --out mae.safetensors --log mae.csv") ==
                      0,
                  "%s", err_text);
    ck_assert_msg(strstr(err_text, "early stop after epoch 2"), "%s", err_text);
    ck_assert_int_eq(log_lines("mae.csv"), 2);

    /* Two MSE nets: no SSIM net to compare; one line, no report. */
    ck_assert_int_ne(run("fcae eval --model mse.safetensors --model mse.safetensors --images " QUERIES " --report r3"),
                     0);
    ck_assert_msg(strstr(err_text, "--loss ssim") && error_lines() == 1, "%s", err_text);
    ck_assert(!exists("r3.md") && !exists("r3.json"));
}
END_TEST

START_TEST(bad_input)
{
    static const char *const usage_errors[][2] = {
        {"fcae train --narrow --train " TRAIN " --validation " TRAIN " --out x.safetensors", "needs --loss"},
        {"fcae train --loss msssim-l1 --train " TRAIN " --validation " TRAIN " --out x.safetensors", "--loss must be"},
        {"fcae train --loss mse --train " TRAIN " --out x.safetensors", "--validation"},
        {"fcae eval --model a --images " QUERIES, "MSE net and the SSIM net"},
        {"fcae reconstruct --model a --images " QUERIES, "expects OUT.png"},
        {"fcae bake", "unknown"},
    };
    for (size_t i = 0; i < sizeof usage_errors / sizeof usage_errors[0]; i++) {
        ck_assert_msg(run(usage_errors[i][0]) == 2, "%s: exit code; %s", usage_errors[i][0], err_text);
        ck_assert_msg(strstr(err_text, usage_errors[i][1]), "%s: '%s' not in: %s", usage_errors[i][0],
                      usage_errors[i][1], err_text);
        ck_assert_msg(strchr(err_text, '\n') == err_text + strlen(err_text) - 1, "%s: not one line: %s",
                      usage_errors[i][0], err_text);
        ck_assert(!exists("x.safetensors"));
    }

    /* Query images that cannot be read: one line naming the file, no report, no grid. */
    char command[1024];
    snprintf(command, sizeof command, "mkdir -p %s/bad && echo junk > %s/bad/a.png", work, work);
    ck_assert_int_eq(system(command), 0);
    pcl_model *model = NULL;
    OK(pcl_model_build_architecture(context, &pcl_arch_conv_ae_96_narrow, &model));
    OK(pcl_model_init_weights(model, PCL_INIT_TORCH_DEFAULT, 0, 1));
    snprintf(command, sizeof command, "%s/conv.safetensors", work);
    OK(pcl_model_save(model, command, NULL));
    pcl_model_destroy(model);
    ck_assert_int_ne(run("fcae eval --model conv.safetensors --model conv.safetensors --images bad --report r1 "
                         "--grid g1.png"),
                     0);
    ck_assert_msg(strstr(err_text, "a.png") && error_lines() == 1, "%s", err_text);
    ck_assert(!exists("r1.md") && !exists("r1.json") && !exists("g1.png"));
    ck_assert_int_ne(run("fcae reconstruct --model conv.safetensors --images bad out.png"), 0);
    ck_assert_msg(strstr(err_text, "a.png") && error_lines() == 1, "%s", err_text);
    ck_assert(!exists("out.png"));

    /* A model of another architecture: refused, naming both. */
    ck_assert_int_ne(run("fcae eval --model conv.safetensors --model conv.safetensors --images " QUERIES
                         " --report r2 --grid g2.png"),
                     0);
    ck_assert_msg(strstr(err_text, "architecture conv-ae-96-narrow, expected one of fc-binary-ae-32") &&
                      error_lines() == 1,
                  "%s", err_text);
    ck_assert(!exists("r2.md") && !exists("r2.json") && !exists("g2.png"));

    /* Training images that cannot be read: one line, nothing written. */
    ck_assert_int_ne(run("fcae train --loss mse --narrow --train bad --validation " TRAIN " --out x.safetensors"), 0);
    ck_assert_msg(strstr(err_text, "a.png") && error_lines() == 1, "%s", err_text);
    ck_assert(!exists("x.safetensors") && !exists("x.safetensors.train"));
}
END_TEST

int main(void)
{
    if (pcl_context_create(NULL, &context) != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 77;
    }
    snprintf(work, sizeof work, "/tmp/pcl_fcae_XXXXXX");
    if (!mkdtemp(work)) return 1;
    Suite *suite = suite_create("fcae");
    TCase *tc = tcase_create("fcae");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, split_and_set);
    tcase_add_test(tc, extremes);
    tcase_add_test(tc, narrow_code_is_binary);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, train_eval_reconstruct);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    if (failed == 0 && system(command) != 0) fprintf(stderr, "could not remove %s\n", work);
    pcl_context_destroy(context);
    return failed == 0 ? 0 : 1;
}
