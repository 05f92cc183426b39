/* perceptcl elvae (apps/elvae*.c): the EL-VAE objective
 * L = C * Delta / D_bar + KL taken by the trainer as Delta + (D_bar / C) KL
 * (apps/elvae.h): one SGD step of learning rate 1 through the trainer reads
 * out the trainer's gradient, which times C / D_bar must be L's gradient by
 * central finite differences of L (the model's forward with the same noise,
 * the loss's per-image value, the model's KL), for mse, mae and msssim on a
 * tiny VAE; D_bar (app_elvae_norm) against a float64 host computation of
 * the same seeded pairs; bad input to the normalisation. */
#include "../apps/elvae.h"
#include "perceptcl/model.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

static pcl_context *context;

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
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(context);
    return failed == 0 ? 0 : 1;
}
