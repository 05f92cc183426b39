/* perceptcl elvae (apps/elvae*.c): the EL-VAE objective
 * L = C * Delta / D_bar + KL taken by the trainer as Delta + (D_bar / C) KL
 * (apps/elvae.h): one SGD step of learning rate 1 through the trainer reads
 * out the trainer's gradient, which times C / D_bar must be L's gradient by
 * central finite differences of L (the model's forward with the same noise,
 * the loss's per-image value, the model's KL), for mse, mae and msssim on a
 * tiny VAE; D_bar (app_elvae_norm) against a float64 host computation of
 * the same seeded pairs; bad input to the normalisation. Then the app as a
 * user runs it: the narrow variant's objective falls over a few dozen
 * steps, D_bar and the KL weight in the model's metadata, resume; sample,
 * reconstruct and select on tiny models; bad input (one line, non-zero
 * exit, no partial files). */
#include "../apps/elvae.h"
#include "perceptcl/architectures.h"
#include "perceptcl/checkpoint.h"
#include "perceptcl/image.h"
#include "perceptcl/model.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "check_run.h"
#include "run_perceptcl.h"

static pcl_context *context;
static char work[64];
static char out_text[1 << 16], err_text[1 << 14];

#define OK(call) ck_assert_msg((call) == PCL_OK, "%s: %s", #call, pcl_last_error())

/* n random images of c x s x s in [-0.8, 0.8], smoothed along rows (so that
 * MS-SSIM sees structure). */
static float *random_images(int n, int s, uint64_t seed)
{
    float *x = malloc((size_t)n * s * s * sizeof *x);
    uint64_t state = seed;
    float previous = 0;
    for (int i = 0; i < n * s * s; i++) {
        float u = (float)(1.6 * pcl_random_uniform(&state) - 0.8);
        x[i] = previous = (i % s) ? 0.5f * previous + 0.5f * u : u;
    }
    return x;
}

/* ---- the objective's gradient -------------------------------------------------------- */

enum { S = 32, P = S * S, LATENT = 4 };
static const pcl_layer_spec tiny_vae[] = {
    PCL_SPEC_DENSE(NULL, P, 2 * LATENT), PCL_SPEC_VAE_SAMPLER(LATENT), PCL_SPEC_DENSE(NULL, LATENT, P),
    PCL_SPEC_TANH, PCL_SPEC_RESHAPE(1, S, S)};
static const pcl_loss_kind objective_losses[] = {PCL_LOSS_KIND_MSE, PCL_LOSS_KIND_MAE, PCL_LOSS_KIND_MSSSIM};

static pcl_ssim_options loss_ssim(void)
{
    pcl_ssim_options o = pcl_ssim_options_default();
    o.mode = PCL_SSIM_MODE_SAME, o.data_range = 2.0, o.scales = 5, o.weights = PCL_SSIM_WEIGHTS_EQUAL;
    return o;
}

/* L = C * Delta(x, f(z)) / norm + KL for one image, z drawn with noise seed
 * noise (the trainer's first step's), in double from the device's floats. */
static double objective(pcl_model *m, pcl_loss *loss, pcl_loss_kind kind, const pcl_tensor *x, uint64_t noise,
                        double norm, double c)
{
    pcl_tensor *y;
    float value;
    double kl;
    pcl_model_set_noise_seed(m, noise);
    OK(pcl_model_forward(m, x, &y));
    OK(pcl_loss_run(loss, x->mem, y->mem, &value, NULL));
    OK(pcl_model_kl(m, &kl));
    return c * pcl_loss_kind_training_loss(kind, value) / norm + kl;
}

START_TEST(objective_gradient_matches_finite_differences)
{
    const pcl_loss_kind kind = objective_losses[_i];
    const double norm = 0.37, c = 10.0;
    const uint64_t seed = 5;
    float *x = random_images(1, S, 3);
    pcl_model *m;
    OK(pcl_model_build(context, tiny_vae, 5, &m));
    OK(pcl_model_init_weights(m, PCL_INIT_TORCH_DEFAULT, 0, 9));
    pcl_model_set_kl_weight(m, app_elvae_kl_weight(norm, c));
    /* The parameters before the step (layers 0 and 2: weight and bias each). */
    pcl_tensor *params[4];
    float *before[4], *after[4];
    int counts[4];
    for (int k = 0; k < 4; k++) {
        OK(pcl_layer_param(pcl_model_layer(m, k < 2 ? 0 : 2), k % 2, &params[k], NULL, NULL));
        counts[k] = (int)pcl_tensor_count(params[k]);
        before[k] = malloc((size_t)counts[k] * sizeof(float));
        after[k] = malloc((size_t)counts[k] * sizeof(float));
        OK(pcl_tensor_download(params[k], before[k]));
    }
    /* One SGD step of learning rate 1 through the trainer: theta - g. */
    pcl_sgd_config sgd = pcl_sgd_config_default();
    sgd.learning_rate = 1.0;
    pcl_optimizer *opt;
    OK(pcl_sgd_create(context, &sgd, &opt));
    pcl_ssim_options o = loss_ssim();
    pcl_trainer_config config = pcl_trainer_config_default();
    config.loss = kind, config.ssim_options = &o, config.batch = 1, config.epochs = 1, config.seed = seed;
    config.progress_mode = PCL_PROGRESS_MODE_OFF;
    pcl_array_source arrays = {x, x, 1, {1, S, S}, {1, S, S}};
    pcl_data_source source = pcl_data_source_from_arrays(&arrays);
    pcl_trainer *trainer;
    pcl_trainer_result result;
    OK(pcl_trainer_create(m, opt, &config, &trainer));
    OK(pcl_trainer_run(trainer, &source, NULL, &result));
    ck_assert_int_eq(result.steps, 1);
    pcl_trainer_destroy(trainer);
    for (int k = 0; k < 4; k++) OK(pcl_tensor_download(params[k], after[k]));
    for (int k = 0; k < 4; k++) OK(pcl_tensor_upload(params[k], before[k]));
    /* Finite differences of L at theta (training mode, the step's noise). */
    pcl_tensor *tx;
    pcl_loss *loss;
    pcl_loss_options lo = pcl_loss_options_default();
    lo.ssim = o;
    OK(pcl_tensor_create(context, 1, 1, S, S, &tx));
    OK(pcl_tensor_upload(tx, x));
    OK(pcl_loss_create(context, kind, 1, S, S, &lo, &loss));
    pcl_model_set_training(m, 1);
    const uint64_t noise = pcl_train_step_seed(seed, 0);
    const double h = 2e-3;
    uint64_t pick = 77;
    double worst = 0;
    int checked = 0, large = 0;
    for (int k = 0; k < 4; k++)
        for (int t = 0; t < 12; t++) {
            const int i = (int)pcl_rng_below(&pick, (uint64_t)counts[k]);
            const double analytic = c / norm * ((double)before[k][i] - after[k][i]);
            float *w = before[k];
            const float w0 = w[i];
            w[i] = (float)(w0 + h);
            OK(pcl_tensor_upload(params[k], w));
            const double plus = objective(m, loss, kind, tx, noise, norm, c);
            w[i] = (float)(w0 - h);
            OK(pcl_tensor_upload(params[k], w));
            const double minus = objective(m, loss, kind, tx, noise, norm, c);
            w[i] = w0;
            OK(pcl_tensor_upload(params[k], w));
            const double numeric = (plus - minus) / ((double)(float)(w0 + h) - (double)(float)(w0 - h));
            /* float32 L (about 10) over 2h: ~1e-6 / 4e-3; the read-out theta - g
             * rounds g to ~6e-8 |theta| (times C / norm = 27). */
            const double tolerance = 2e-3 + 2e-2 * fabs(numeric);
            ck_assert_msg(isfinite(analytic) && isfinite(numeric), "%s: tensor %d [%d] not finite",
                          pcl_loss_kind_name(kind), k, i);
            ck_assert_msg(fabs(analytic - numeric) <= tolerance,
                          "%s: tensor %d [%d]: dL/dtheta %.6g (trainer's gradient * C / norm), finite differences "
                          "%.6g", pcl_loss_kind_name(kind), k, i, analytic, numeric);
            worst = fmax(worst, fabs(analytic - numeric));
            checked++;
            large += fabs(numeric) > 0.05;
        }
    /* The check must see gradients, not only zeros. */
    ck_assert_msg(large >= 8, "%s: only %d of %d gradients above 0.05", pcl_loss_kind_name(kind), large, checked);
    pcl_loss_destroy(loss);
    pcl_tensor_destroy(tx);
    for (int k = 0; k < 4; k++) free(before[k]), free(after[k]);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
    free(x);
}
END_TEST

/* The two conversions, by hand: w = D_bar / C and L = (C / D_bar) * loss. */
START_TEST(kl_weight_and_objective_scale)
{
    ck_assert_double_eq_tol(app_elvae_kl_weight(0.5, 1000.0), 5e-4, 1e-18);
    ck_assert_double_eq_tol(app_elvae_objective(2.0, 0.5, 1000.0), 4000.0, 1e-9);
}
END_TEST

/* ---- the normalisation ------------------------------------------------------------- */

START_TEST(norm_matches_host_reference)
{
    enum { N = 7, Q = 8 * 8, PAIRS = 10000 };
    float *x = random_images(N, 8, 21);
    pcl_array_source arrays = {x, x, N, {1, 8, 8}, {1, 8, 8}};
    pcl_data_source source = pcl_data_source_from_arrays(&arrays);
    const pcl_loss_kind kinds[2] = {PCL_LOSS_KIND_MSE, PCL_LOSS_KIND_MAE};
    for (int k = 0; k < 2; k++) {
        double norm = 0, sum = 0;
        ck_assert_int_eq(app_elvae_norm("test", context, &source, kinds[k], NULL, PAIRS, 4, &norm), 0);
        uint64_t state = 4;
        int same = 0;
        for (int p = 0; p < PAIRS; p++) {
            const uint64_t a = pcl_rng_below(&state, N), b = pcl_rng_below(&state, N);
            same += a == b;
            double d = 0;
            for (int i = 0; i < Q; i++) {
                const double e = (double)x[a * Q + i] - x[b * Q + i];
                d += k ? fabs(e) : e * e;
            }
            sum += d / Q;
        }
        ck_assert_msg(same > 0, "pairs are drawn with replacement: some (a, a)");
        ck_assert_msg(fabs(norm - sum / PAIRS) <= 1e-5 * sum / PAIRS, "%s: D_bar %.9g, float64 %.9g",
                      pcl_loss_kind_name(kinds[k]), norm, sum / PAIRS);
    }
    /* Another seed draws other pairs. */
    double n4, n5;
    ck_assert_int_eq(app_elvae_norm("test", context, &source, PCL_LOSS_KIND_MSE, NULL, 50, 4, &n4), 0);
    ck_assert_int_eq(app_elvae_norm("test", context, &source, PCL_LOSS_KIND_MSE, NULL, 50, 5, &n5), 0);
    ck_assert(n4 != n5);
    free(x);
}
END_TEST

START_TEST(norm_msssim_and_bad_input)
{
    enum { N = 5 };
    float *x = random_images(N, S, 8);
    pcl_array_source arrays = {x, x, N, {1, S, S}, {1, S, S}};
    pcl_data_source source = pcl_data_source_from_arrays(&arrays);
    pcl_ssim_options o = loss_ssim();
    double norm = -1;
    ck_assert_int_eq(app_elvae_norm("test", context, &source, PCL_LOSS_KIND_MSSSIM, &o, 200, 1, &norm), 0);
    ck_assert_msg(norm > 0.05 && norm < 2.0, "1 - MS-SSIM of random pairs %g", norm);
    /* Images all alike: D_bar 0 cannot normalise. */
    for (int i = 1; i < N; i++) memcpy(x + i * P, x, P * sizeof *x);
    ck_assert_int_eq(app_elvae_norm("test", context, &source, PCL_LOSS_KIND_MSE, NULL, 100, 1, &norm), 1);
    ck_assert_int_eq(app_elvae_norm("test", context, &source, PCL_LOSS_KIND_MSE, NULL, 0, 1, &norm), 1);
    free(x);
}
END_TEST


/* ---- the app ------------------------------------------------------------------------ */

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

static pcl_image *read_png(const char *name)
{
    char path[512];
    pcl_image *image = NULL;
    snprintf(path, sizeof path, "%s/%s", work, name);
    OK(pcl_image_read(path, &image));
    return image;
}

/* Columns 3 and 4 of each line of a CSV (header excluded): a log's train and
 * validation loss, --terms' Delta and KL. */
static int read_columns(const char *name, double *train, double *validation, int max)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    FILE *f = fopen(path, "r");
    int n = -1;
    while (f && fgets(line, sizeof line, f)) {
        long epoch, step;
        if (n >= 0 && n < max)
            ck_assert_int_eq(sscanf(line, "%ld,%ld,%lf,%lf", &epoch, &step, &train[n], &validation[n]), 4);
        n++;
    }
    if (f) fclose(f);
    return n < 0 ? 0 : n;
}

static double metadata_number(const char *name, const char *key)
{
    char path[512];
    pcl_checkpoint *file = NULL;
    snprintf(path, sizeof path, "%s/%s", work, name);
    OK(pcl_checkpoint_read(path, &file));
    const char *text = pcl_checkpoint_metadata(file, key);
    ck_assert_msg(text != NULL, "%s: no %s", name, key);
    const double value = strtod(text, NULL);
    pcl_checkpoint_destroy(file);
    return value;
}

/* A narrow EL-VAE with He-normal weights of seed (its prior samples differ
 * from image to image: a trained-for-a-few-steps one gives near-gray ones),
 * saved as perceptcl elvae train would name its loss and C. */
static void save_model(const char *name, const char *loss, const char *c, uint64_t seed)
{
    pcl_model *m;
    pcl_checkpoint *meta;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    OK(pcl_model_build_architecture(context, &pcl_arch_elvae_96_narrow, &m));
    OK(pcl_model_init_weights(m, PCL_INIT_HE_NORMAL, 0, seed));
    OK(pcl_checkpoint_create(&meta));
    OK(pcl_checkpoint_set_metadata(meta, "loss", loss));
    OK(pcl_checkpoint_set_metadata(meta, "c", c));
    OK(pcl_model_save(m, path, meta));
    pcl_checkpoint_destroy(meta);
    pcl_model_destroy(m);
}

/* A collapsed model: the output layer's weights and bias 0, so that every
 * sample is the same image (tanh(0) = 0), as a VAE whose KL term won. */
static void save_collapsed_model(const char *name, const char *c)
{
    pcl_model *m;
    pcl_checkpoint *meta;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    OK(pcl_model_build_architecture(context, &pcl_arch_elvae_96_narrow, &m));
    OK(pcl_model_init_weights(m, PCL_INIT_HE_NORMAL, 0, 5));
    pcl_train_weights *w = pcl_model_weights(m);
    for (int i = pcl_train_weights_count(w) - 2; i < pcl_train_weights_count(w); i++) {
        pcl_tensor *t;
        OK(pcl_train_weights_entry(w, i, NULL, &t));
        float *zeros = calloc(pcl_tensor_count(t), sizeof *zeros);
        OK(pcl_tensor_upload(t, zeros));
        free(zeros);
    }
    OK(pcl_checkpoint_create(&meta));
    OK(pcl_checkpoint_set_metadata(meta, "loss", "mse"));
    OK(pcl_checkpoint_set_metadata(meta, "c", c));
    OK(pcl_model_save(m, path, meta));
    pcl_checkpoint_destroy(meta);
    pcl_model_destroy(m);
}

#define IMAGES PCL_SHARED_DIR "/datasets/STL10/test_examples10"
#define TINY "--narrow --train " IMAGES " --validation " IMAGES " --epoch-size 48 --batch 8 --lr 1e-3 --norm-pairs 500 "

START_TEST(narrow_training_lowers_the_objective)
{
    /* 36 steps (6 epochs of 6) with MSE and C = 1000: the logged loss, (D_bar / C) L, falls. */
    ck_assert_msg(run("elvae train --loss mse --c 1000 " TINY "--epochs 3 --out mse.safetensors --log mse.csv "
                      "--curve mse.svg --terms terms.csv --terms-curve terms.svg") == 0, "%s", err_text);
    ck_assert_msg(run("elvae train --loss mse --c 1000 " TINY "--epochs 6 --out mse.safetensors --log mse.csv "
                      "--curve mse.svg --terms terms.csv --terms-curve terms.svg --resume") == 0,
                  "resume: %s", err_text);
    double train[8], validation[8], delta[8], kl[8];
    ck_assert_int_eq(read_columns("mse.csv", train, validation, 8), 6);
    ck_assert_int_eq(read_columns("terms.csv", delta, kl, 8), 6);
    ck_assert_msg(train[5] < 0.8 * train[0], "loss %g -> %g", train[0], train[5]);
    /* D_bar, C and the KL weight recorded: w = D_bar / C, D_bar of MSE between unrelated images > 0. */
    const double norm = metadata_number("mse.safetensors", "loss_norm"), c = metadata_number("mse.safetensors", "c");
    ck_assert(c == 1000.0);
    ck_assert_msg(norm > 0.01 && norm < 4.0, "D_bar %g", norm);
    ck_assert_double_eq_tol(metadata_number("mse.safetensors", "kl_weight"), norm / c, 1e-15 * norm / c);
    ck_assert_double_eq_tol(metadata_number("mse.safetensors", "objective_scale"), c / norm, 1e-12 * c / norm);
    ck_assert(exists("mse.svg") && exists("terms.svg"));
    /* The two terms on the validation set make up the trainer's validation loss, Delta + (D_bar / C) KL. */
    for (int e = 0; e < 6; e++) {
        const double sum = delta[e] + norm / c * kl[e];
        ck_assert_msg(kl[e] > 0 && fabs(sum - validation[e]) <= 2e-6 * validation[e],
                      "epoch %d: Delta %.9g + w KL %.9g = "
                      "%.9g, the log's validation loss %.9g",
                      e, delta[e], kl[e], sum, validation[e]);
    }
    /* Another C is another recipe: resuming the state with it is refused. */
    ck_assert_int_ne(run("elvae train --loss mse --c 10 " TINY "--epochs 7 --out mse.safetensors --resume"), 0);
    ck_assert_msg(strstr(err_text, "--resume"), "%s", err_text);
}
END_TEST

/* --norm-file: D_bar computed by the first run and written, taken by the next
 * run of the same loss and data (another C), refused for another loss, and a
 * file that is not JSON named with its line. */
START_TEST(norm_file_shared_across_runs)
{
#define NORM_RUN(loss, c, out, file) \
    run("elvae train --loss " loss " --c " c " " TINY "--epochs 1 --out " out " --norm-file " file)
    ck_assert_msg(NORM_RUN("mse", "1000", "a.safetensors", "norm.json") == 0, "%s", err_text);
    ck_assert(exists("norm.json") && !exists("norm.json.part"));
    ck_assert_msg(NORM_RUN("mse", "10", "b.safetensors", "norm.json") == 0, "%s", err_text);
    ck_assert_msg(strstr(out_text, "from norm.json"), "%s", out_text);
    const double computed = metadata_number("a.safetensors", "loss_norm");
    ck_assert_msg(computed > 0 && metadata_number("b.safetensors", "loss_norm") == computed, "D_bar %.17g and %.17g",
                  computed, metadata_number("b.safetensors", "loss_norm"));
    ck_assert_int_ne(NORM_RUN("mae", "10", "c.safetensors", "norm.json"), 0);
    ck_assert_msg(strstr(err_text, "norm.json") && strstr(err_text, "loss \"mse\""), "%s", err_text);
    ck_assert(!exists("c.safetensors"));
    char path[512];
    snprintf(path, sizeof path, "%s/bad.json", work);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"key\":\n", f);
    fclose(f);
    ck_assert_int_ne(NORM_RUN("mse", "10", "d.safetensors", "bad.json"), 0);
    ck_assert_msg(strstr(err_text, "bad.json: line"), "%s", err_text);
#undef NORM_RUN
}
END_TEST

START_TEST(sample_reconstruct_select)
{
    save_model("a.safetensors", "mse", "1", 1);
    save_model("b.safetensors", "mse", "10", 2);
    save_model("c.safetensors", "msssim", "1000", 3);
    /* 10 samples: a grid of 8 columns (2 rows, zoom 2, 4-pixel gaps) and 10 PNGs, the
     * grid's tiles those PNGs enlarged. */
    ck_assert_msg(run("elvae sample --model a.safetensors --count 10 --out grid.png --dir s") == 0, "%s", err_text);
    pcl_image *grid = read_png("grid.png"), *tile = read_png("s/sample-00009.png");
    ck_assert_int_eq(grid->width, 8 * 192 + 7 * 4);
    ck_assert_int_eq(grid->height, 2 * 192 + 4);
    ck_assert_int_eq(tile->width, 96);
    for (int y = 0; y < 96; y++)
        for (int x = 0; x < 96; x++)
            ck_assert_float_eq(grid->data[(size_t)(196 + 2 * y + 1) * grid->width + 196 + 2 * x],
                               tile->data[y * 96 + x]);
    double spread = 0;
    for (int i = 0; i < 96 * 96; i++) spread += fabs(tile->data[i] - tile->data[0]);
    ck_assert_msg(spread > 0, "a constant sample");
    pcl_image_destroy(grid);
    ck_assert(exists("s/sample-00000.png") && !exists("s/sample-00010.png") && !exists("s.partial"));
    /* Seeded: the first 3 of another run of 3 are the same; another seed differs. */
    ck_assert_msg(run("elvae sample --model a.safetensors --count 3 --dir t") == 0, "%s", err_text);
    ck_assert_msg(run("elvae sample --model a.safetensors --count 3 --seed 2 --dir u") == 0, "%s", err_text);
    pcl_image *same = read_png("t/sample-00002.png"), *first = read_png("s/sample-00002.png"),
              *other = read_png("u/sample-00002.png");
    ck_assert(memcmp(same->data, first->data, 96 * 96 * sizeof(float)) == 0);
    ck_assert(memcmp(other->data, first->data, 96 * 96 * sizeof(float)) != 0);
    pcl_image_destroy(same), pcl_image_destroy(first), pcl_image_destroy(other), pcl_image_destroy(tile);

    /* Reconstructions: Figure 6's order whatever the order given. */
    ck_assert_msg(run("elvae reconstruct --model a.safetensors --model c.safetensors --images " IMAGES
                      " --count 3 --study study --study-count 4 rec.png") == 0, "%s", err_text);
    ck_assert(exists("study/items.json") && exists("study/m1") && exists("study/m2") && !exists("study.partial"));
    ck_assert_msg(strstr(err_text, "original | MS-SSIM | MSE"), "%s", err_text);
    pcl_image *rec = read_png("rec.png");
    ck_assert_int_eq(rec->width, 3 * 192 + 2 * 4);
    ck_assert_int_eq(rec->height, 3 * 192 + 2 * 4);
    pcl_image_destroy(rec);

    /* Selection between two C of one loss, 60 samples against 60 training windows. */
    ck_assert_msg(run("elvae select --model a.safetensors --model b.safetensors --data " PCL_SHARED_DIR
                      "/datasets --protocol substitute --samples 60 --report sel") == 0, "%s", err_text);
    char path[512];
    snprintf(path, sizeof path, "%s/sel.json", work);
    json_t *doc = json_load_file(path, 0, NULL);
    ck_assert(doc != NULL);
    json_t *cands = json_object_get(doc, "candidates");
    ck_assert_int_eq(json_array_size(cands), 2);
    int winners = 0, winner = -1;
    double mmd[2];
    for (int k = 0; k < 2; k++) {
        json_t *row = json_array_get(cands, k);
        mmd[k] = json_real_value(json_object_get(row, "mmd2"));
        ck_assert(isfinite(mmd[k]));
        if (json_is_true(json_object_get(row, "winner"))) winners++, winner = k;
        else {
            const double p = json_real_value(json_object_get(row, "p_value"));
            ck_assert_msg(p >= 0 && p <= 1, "p %g", p);
        }
    }
    ck_assert_int_eq(winners, 1);
    ck_assert(mmd[winner] <= mmd[1 - winner]);
    ck_assert(json_real_value(json_object_get(doc, "chosen_c")) == (winner ? 10.0 : 1.0));
    json_decref(doc);
    ck_assert(exists("sel.md") && strstr(out_text, "Chosen: C ="));

    /* The same MMD^2 as perceptcl mmd on the models' sample PNGs (same seed, the same
     * bandwidth rule; only the PNGs' 8-bit rounding between them) against a folder. */
    ck_assert_msg(run("elvae select --model a.safetensors --model b.safetensors --reference " IMAGES
                      " --samples 40 --report ref") == 0, "%s", err_text);
    ck_assert_msg(run("elvae sample --model a.safetensors --count 40 --dir ra") == 0, "%s", err_text);
    ck_assert_msg(run("elvae sample --model b.safetensors --count 40 --dir rb") == 0, "%s", err_text);
    ck_assert_msg(run("mmd " IMAGES " ra rb --json") == 0, "%s", err_text);
    json_t *mmd_doc = json_loads(out_text, 0, NULL);
    snprintf(path, sizeof path, "%s/ref.json", work);
    doc = json_load_file(path, 0, NULL);
    ck_assert(mmd_doc && doc);
    for (int k = 0; k < 2; k++) {
        const double ours =
            json_real_value(json_object_get(json_array_get(json_object_get(doc, "candidates"), k), "mmd2"));
        const double theirs = json_real_value(json_object_get(mmd_doc, k ? "mmd2_b" : "mmd2_a"));
        ck_assert_msg(fabs(ours - theirs) <= 1e-3 * fabs(theirs) + 1e-6,
                      "model %d: select MMD^2 %.9g, perceptcl mmd %.9g", k, ours, theirs);
    }
    json_decref(doc);
    json_decref(mmd_doc);

    /* Two collapsed models (every sample one zero image): equal MMD^2, the first given wins,
     * and the test of the other against it is undefined (its variance estimate is negative
     * for one image repeated), reported as such instead of failing the selection. */
    save_collapsed_model("z1.safetensors", "1");
    save_collapsed_model("z10.safetensors", "10");
    ck_assert_msg(run("elvae select --model z1.safetensors --model z10.safetensors --reference " IMAGES
                      " --samples 40 --report col") == 0, "%s", err_text);
    snprintf(path, sizeof path, "%s/col.json", work);
    doc = json_load_file(path, 0, NULL);
    ck_assert(doc != NULL);
    json_t *z1 = json_array_get(json_object_get(doc, "candidates"), 0),
           *z10 = json_array_get(json_object_get(doc, "candidates"), 1);
    ck_assert(json_real_value(json_object_get(z1, "mmd2")) == json_real_value(json_object_get(z10, "mmd2")));
    ck_assert(json_is_true(json_object_get(z1, "winner")) && !json_is_true(json_object_get(z10, "winner")));
    ck_assert(json_real_value(json_object_get(doc, "chosen_c")) == 1.0);
    ck_assert_msg(json_is_null(json_object_get(z10, "p_value")), "%s", out_text);
    ck_assert_str_eq(json_string_value(json_object_get(z10, "test")), "undefined");
    ck_assert_msg(strstr(out_text, "undefined (*)") && strstr(out_text, "too alike"), "%s", out_text);
    json_decref(doc);
}
END_TEST

START_TEST(bad_input)
{
    save_model("m.safetensors", "mse", "1", 1);
    save_model("n.safetensors", "msssim", "10", 2);
    static const char *const errors[][2] = {
        {"elvae train --loss mse " TINY "--out x.safetensors", "needs --c"},
        {"elvae train --c 10 " TINY "--out x.safetensors", "needs --loss"},
        {"elvae train --loss mse --c 10 " TINY "--out x.safetensors --terms-curve t.svg", "needs --terms"},
        {"elvae train --loss ssim --c 10 " TINY "--out x.safetensors", "--loss"},
        {"elvae train --loss mse --c -1 " TINY "--out x.safetensors", "--c"},
        {"elvae train --loss mse --c 10 " TINY "--out nowhere/x.safetensors", "does not exist"},
        {"elvae sample --model m.safetensors", "needs --out"},
        {"elvae sample --model m.safetensors --dir " IMAGES, "already exists"},
        {"elvae select --model m.safetensors --reference " IMAGES, "two or more"},
        {"elvae select --model m.safetensors --model n.safetensors --reference " IMAGES " --report x", "one loss"},
        {"elvae sample --model missing.safetensors --out x.png", "missing.safetensors"},
        {"elvae sample --model mse.csv --out x.png", "mse.csv"},
        {"elvae reconstruct --model m.safetensors --images " IMAGES " --study st x.png", "2 or 3 models"},
        {"elvae bake", "unknown"},
    };
    ck_assert_int_eq(system("true"), 0);
    char command[512];
    snprintf(command, sizeof command, "echo junk > %s/mse.csv", work);
    ck_assert_int_eq(system(command), 0);
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        ck_assert_msg(run(errors[i][0]) != 0, "%s: exit code 0", errors[i][0]);
        ck_assert_msg(strstr(err_text, errors[i][1]), "%s: '%s' not in: %s", errors[i][0], errors[i][1], err_text);
        const char *line = strstr(err_text, "perceptcl elvae");
        ck_assert_msg(line && strchr(line, '\n') == err_text + strlen(err_text) - 1, "%s: not one line: %s",
                      errors[i][0], err_text);
        ck_assert(!exists("x.safetensors") && !exists("x.png") && !exists("x.md") && !exists("x.json"));
    }
    /* A model of another architecture (the conv AE): refused, no grid, no folder. */
    pcl_model *ae;
    snprintf(command, sizeof command, "%s/ae.safetensors", work);
    OK(pcl_model_build_architecture(context, &pcl_arch_conv_ae_96_narrow, &ae));
    OK(pcl_model_init_weights(ae, PCL_INIT_HE_NORMAL, 0, 1));
    OK(pcl_model_save(ae, command, NULL));
    pcl_model_destroy(ae);
    ck_assert_int_ne(run("elvae sample --model ae.safetensors --out x.png --dir y"), 0);
    ck_assert_msg(strstr(err_text, "conv-ae-96-narrow") && strstr(err_text, "elvae-96"), "%s", err_text);
    ck_assert(!exists("x.png") && !exists("y") && !exists("y.partial"));
}
END_TEST

int main(void)
{
    if (pcl_context_create(NULL, &context) != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 77;
    }
    Suite *suite = suite_create("elvae");
    TCase *tc = tcase_create("objective");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, objective_gradient_matches_finite_differences, 0, 3);
    tcase_add_test(tc, kl_weight_and_objective_scale);
    tcase_add_test(tc, norm_matches_host_reference);
    tcase_add_test(tc, norm_msssim_and_bad_input);
    suite_add_tcase(suite, tc);
    TCase *app = tcase_create("app");
    tcase_set_timeout(app, 600);
    tcase_add_test(app, narrow_training_lowers_the_objective);
    tcase_add_test(app, norm_file_shared_across_runs);
    tcase_add_test(app, sample_reconstruct_select);
    tcase_add_test(app, bad_input);
    suite_add_tcase(suite, app);
    snprintf(work, sizeof work, "/tmp/pcl_elvae_XXXXXX");
    if (!mkdtemp(work)) return 1;
    int failed = pcl_check_run(suite, 1);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    if (failed == 0 && system(command) != 0) fprintf(stderr, "could not remove %s\n", work);
    pcl_context_destroy(context);
    return failed == 0 ? 0 : 1;
}
