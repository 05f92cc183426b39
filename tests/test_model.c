/* The sequential model (model.h) against the same layers composed by hand:
 * forward outputs, parameter gradients and batch normalisation's running
 * statistics must be bitwise equal (the model only plumbs tensors between
 * the layers, so any difference is a plumbing bug), over batch sizes that
 * change between calls (3, 2, 3, 1) so the intermediate tensors are
 * reallocated; reshape layers at the front (a view of the caller's x), in
 * the middle and at the end (a view of the caller's dy). Names follow
 * PyTorch's nn.Sequential. The VAE sampler's KL: pcl_model_kl against a
 * float64 evaluation of the closed form on the sampler's input; its
 * gradient enters with kl_weight / n (the hand composition sets that weight
 * on its own sampler, so a model that scaled otherwise fails the bitwise
 * gradient comparison). */
#include "perceptcl/layers.h"
#include "perceptcl/model.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/train.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

#define OK(call) ck_assert_msg((call) == PCL_OK, "%s", pcl_last_error())

static pcl_context *ctx;

enum { C0 = 2, H0 = 6, W0 = 5 };

/* Model A: conv net with reshapes in the middle and at the end. */
static pcl_layer *make_a(int i)
{
    pcl_layer *l = NULL;
    switch (i) {
    case 0: {
        pcl_conv2d_config c = {C0, 3, 3, 3, 1, 1, 1, PCL_PADDING_REPLICATE, 0, PCL_GEMM_AUTO};
        OK(pcl_conv2d_create(ctx, &c, &l));
        break;
    }
    case 1: OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l)); break;
    case 2: OK(pcl_batchnorm_create(ctx, 3, 0.1f, 1e-5f, &l)); break;
    case 3: OK(pcl_upsample_create(ctx, 2, &l)); break;
    case 4: {
        pcl_conv2d_config c = {3, 2, 3, 3, 2, 1, 1, PCL_PADDING_ZERO, 0, PCL_GEMM_AUTO};
        OK(pcl_conv2d_create(ctx, &c, &l));
        break;
    }
    case 5: OK(pcl_activation_create(ctx, PCL_ACTIVATION_TANH, &l)); break;
    case 6: OK(pcl_reshape_create(ctx, 2 * H0 * W0, 1, 1, &l)); break;
    case 7: OK(pcl_dense_create(ctx, 2 * H0 * W0, 5, PCL_GEMM_AUTO, &l)); break;
    case 8: OK(pcl_reshape_create(ctx, 1, 5, 1, &l)); break;
    }
    return l;
}
enum { LAYERS_A = 9 };

/* Model B: a leading flatten, dense, VAE sampler, dense. */
enum { LAT = 3 };
static pcl_layer *make_b(int i)
{
    pcl_layer *l = NULL;
    switch (i) {
    case 0: OK(pcl_reshape_create(ctx, C0 * H0 * W0, 1, 1, &l)); break;
    case 1: OK(pcl_dense_create(ctx, C0 * H0 * W0, 2 * LAT, PCL_GEMM_AUTO, &l)); break;
    case 2: OK(pcl_vae_sampler_create(ctx, LAT, &l)); break;
    case 3: OK(pcl_dense_create(ctx, LAT, 4, PCL_GEMM_AUTO, &l)); break;
    }
    return l;
}
enum { LAYERS_B = 4 };

static void fill_random(float *p, size_t n, uint64_t *state, double scale)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(scale * (2 * pcl_random_uniform(state) - 1));
}

static void copy_tensor(pcl_tensor *dst, pcl_tensor *src)
{
    float *tmp = malloc(pcl_tensor_count(src) * sizeof *tmp);
    OK(pcl_tensor_download(src, tmp));
    OK(pcl_tensor_upload(dst, tmp));
    free(tmp);
}

static void assert_same(pcl_tensor *a, pcl_tensor *b, const char *what)
{
    ck_assert_uint_eq(pcl_tensor_count(a), pcl_tensor_count(b));
    size_t n = pcl_tensor_count(a);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    OK(pcl_tensor_download(a, x));
    OK(pcl_tensor_download(b, y));
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(!isnan(x[i]), "%s: NaN at %zu", what, i);
        ck_assert_msg(!memcmp(&x[i], &y[i], sizeof(float)), "%s[%zu]: model %.9g, by hand %.9g", what, i, x[i], y[i]);
    }
    free(x);
    free(y);
}

/* Runs model and hand composition on a batch of n and compares. */
static void compare_once(pcl_model *m, pcl_layer **hand, int layers, int n, uint64_t *rng, uint64_t noise_seed)
{
    pcl_tensor *x;
    OK(pcl_tensor_create(ctx, n, C0, H0, W0, &x));
    float *hx = malloc(pcl_tensor_count(x) * sizeof *hx);
    fill_random(hx, pcl_tensor_count(x), rng, 1.0);
    OK(pcl_tensor_upload(x, hx));

    /* by hand: one tensor per activation and gradient, reshapes copying */
    pcl_tensor *act[16] = {x}, *grad[16] = {NULL};
    for (int i = 0; i < layers; i++) {
        int in[4] = {act[i]->n, act[i]->c, act[i]->h, act[i]->w}, out[4];
        OK(pcl_layer_output_shape(hand[i], in, out));
        OK(pcl_tensor_create(ctx, out[0], out[1], out[2], out[3], &act[i + 1]));
        OK(pcl_tensor_fill(act[i + 1], NAN));
        if (pcl_layer_get_kind(hand[i]) == PCL_LAYER_VAE_SAMPLER)
            pcl_vae_sampler_set_seed(hand[i], pcl_train_step_seed(noise_seed, (uint64_t)i));
        OK(pcl_layer_forward(hand[i], act[i], act[i + 1]));
    }
    pcl_model_set_noise_seed(m, noise_seed);
    pcl_tensor *y;
    OK(pcl_model_forward(m, x, &y));
    ck_assert_msg(pcl_tensor_same_shape(y, act[layers]), "output shape");
    int in[4] = {n, C0, H0, W0}, out[4];
    OK(pcl_model_output_shape(m, in, out));
    ck_assert(out[0] == y->n && out[1] == y->c && out[2] == y->h && out[3] == y->w);
    assert_same(y, act[layers], "output");

    /* the KL of the last forward, against float64 on the sampler's input */
    if (pcl_model_has_kl(m)) {
        float *h = malloc((size_t)n * 2 * LAT * sizeof *h);
        OK(pcl_tensor_download(act[2], h));
        double sum = 0;
        for (int b = 0; b < n; b++)
            for (int j = 0; j < LAT; j++) {
                double mu = h[b * 2 * LAT + j], lv = h[b * 2 * LAT + LAT + j];
                sum += 0.5 * (mu * mu + exp(lv) - 1 - lv);
            }
        double kl;
        OK(pcl_model_kl(m, &kl));
        ck_assert_msg(fabs(kl - sum / n) <= 1e-5 * (1 + fabs(sum / n)), "KL %.9g, float64 %.9g", kl, sum / n);
        free(h);
    }

    pcl_tensor *dy;
    OK(pcl_tensor_create(ctx, y->n, y->c, y->h, y->w, &dy));
    float *hdy = malloc(pcl_tensor_count(dy) * sizeof *hdy);
    fill_random(hdy, pcl_tensor_count(dy), rng, 1.0);
    OK(pcl_tensor_upload(dy, hdy));
    grad[layers] = dy;
    for (int i = layers - 1; i >= 0; i--) {
        if (i >= 1) {
            OK(pcl_tensor_create(ctx, act[i]->n, act[i]->c, act[i]->h, act[i]->w, &grad[i]));
            OK(pcl_tensor_fill(grad[i], NAN));
        }
        if (pcl_layer_get_kind(hand[i]) == PCL_LAYER_VAE_SAMPLER)
            pcl_vae_sampler_set_kl_weight(hand[i], (float)(pcl_model_kl_weight(m) / n));
        OK(pcl_layer_backward(hand[i], act[i], act[i + 1], grad[i + 1], i >= 1 ? grad[i] : NULL));
    }
    OK(pcl_model_backward(m, dy));
    for (int i = 0; i < layers; i++) {
        pcl_layer *ml = pcl_model_layer(m, i);
        for (int p = 0; p < pcl_layer_param_count(ml); p++) {
            pcl_tensor *g1, *g2;
            OK(pcl_layer_param(ml, p, NULL, &g1, NULL));
            OK(pcl_layer_param(hand[i], p, NULL, &g2, NULL));
            char what[64];
            snprintf(what, sizeof what, "n=%d layer %d param %d gradient", n, i, p);
            assert_same(g1, g2, what);
        }
        for (int b = 0; b < pcl_layer_buffer_count(ml); b++) {
            pcl_tensor *b1, *b2;
            OK(pcl_layer_buffer(ml, b, &b1, NULL));
            OK(pcl_layer_buffer(hand[i], b, &b2, NULL));
            assert_same(b1, b2, "running statistics");
        }
    }
    /* the caller's x and dy are untouched */
    float *check = malloc(pcl_tensor_count(x) * sizeof *check);
    OK(pcl_tensor_download(x, check));
    ck_assert(!memcmp(check, hx, pcl_tensor_count(x) * sizeof *check));
    free(check);
    check = malloc(pcl_tensor_count(dy) * sizeof *check);
    OK(pcl_tensor_download(dy, check));
    ck_assert(!memcmp(check, hdy, pcl_tensor_count(dy) * sizeof *check));
    free(check);
    for (int i = 1; i <= layers; i++) pcl_tensor_destroy(act[i]);
    for (int i = 1; i < layers; i++) pcl_tensor_destroy(grad[i]);
    pcl_tensor_destroy(dy);
    pcl_tensor_destroy(x);
    free(hx);
    free(hdy);
}

static void run_model(pcl_layer *(*make)(int), int layers, double kl_weight)
{
    pcl_model *m;
    OK(pcl_model_create(ctx, &m));
    pcl_layer *hand[16];
    for (int i = 0; i < layers; i++) {
        OK(pcl_model_add(m, make(i)));
        hand[i] = make(i);
    }
    ck_assert_int_eq(pcl_model_layer_count(m), layers);
    OK(pcl_model_init_weights(m, PCL_INIT_HE_NORMAL, 0, 7));
    uint64_t rng = 99;
    for (int i = 0; i < layers; i++) {
        pcl_layer *ml = pcl_model_layer(m, i);
        for (int p = 0; p < pcl_layer_param_count(ml); p++) {
            pcl_tensor *v1, *v2;
            OK(pcl_layer_param(ml, p, &v1, NULL, NULL));
            OK(pcl_layer_param(hand[i], p, &v2, NULL, NULL));
            /* random non-zero biases and batch-norm parameters too */
            float *tmp = malloc(pcl_tensor_count(v1) * sizeof *tmp);
            OK(pcl_tensor_download(v1, tmp));
            int all_zero = 1;
            for (size_t k = 0; k < pcl_tensor_count(v1); k++) all_zero &= tmp[k] == 0;
            if (all_zero) {
                fill_random(tmp, pcl_tensor_count(v1), &rng, 0.3);
                OK(pcl_tensor_upload(v1, tmp));
            }
            free(tmp);
            copy_tensor(v2, v1);
        }
    }
    pcl_model_set_kl_weight(m, kl_weight);
    const int batches[] = {3, 2, 3, 1};
    for (int k = 0; k < 4; k++) {
        OK(pcl_model_zero_grad(m));
        for (int i = 0; i < layers; i++) OK(pcl_layer_zero_grad(hand[i]));
        compare_once(m, hand, layers, batches[k], &rng, 1000 + (uint64_t)k);
    }
    /* inference mode reaches every layer */
    pcl_model_set_training(m, 0);
    for (int i = 0; i < layers; i++) {
        ck_assert(!pcl_layer_is_training(pcl_model_layer(m, i)));
        pcl_layer_set_training(hand[i], 0);
    }
    OK(pcl_model_zero_grad(m));
    for (int i = 0; i < layers; i++) OK(pcl_layer_zero_grad(hand[i]));
    compare_once(m, hand, layers, 2, &rng, 5);
    for (int i = 0; i < layers; i++) pcl_layer_destroy(hand[i]);
    pcl_model_destroy(m);
}

START_TEST(test_model_a) { run_model(make_a, LAYERS_A, 1.0); }
END_TEST

START_TEST(test_model_b) { run_model(make_b, LAYERS_B, 0.5); }
END_TEST

START_TEST(test_names)
{
    pcl_model *m;
    OK(pcl_model_create(ctx, &m));
    for (int i = 0; i < LAYERS_A; i++) OK(pcl_model_add(m, make_a(i)));
    const char *expected[] = {"0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var",
                              "4.weight", "4.bias", "7.weight", "7.bias"};
    pcl_train_weights *w = pcl_model_weights(m);
    ck_assert_int_eq(pcl_train_weights_count(w), 10);
    for (int i = 0; i < 10; i++) {
        const char *name;
        OK(pcl_train_weights_entry(w, i, &name, NULL));
        ck_assert_str_eq(name, expected[i]);
    }
    ck_assert_uint_eq(pcl_model_param_floats(m), 3 * C0 * 9 + 3 + 3 + 3 + 2 * 3 * 9 + 2 + 5 * 2 * H0 * W0 + 5);
    /* the optimizer gets the parameters under the same names with multipliers */
    OK(pcl_model_set_lr_multiplier(m, 7, 0.1));
    ck_assert_int_eq(pcl_model_set_lr_multiplier(m, 9, 1.0), PCL_ERR_INVALID_ARGUMENT);
    pcl_optimizer *opt;
    pcl_sgd_config c = pcl_sgd_config_default();
    OK(pcl_sgd_create(ctx, &c, &opt));
    OK(pcl_model_add_to_optimizer(m, opt));
    ck_assert_int_eq(pcl_optimizer_param_count(opt), 8);
    const char *params[] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "7.weight", "7.bias"};
    for (int i = 0; i < 8; i++) {
        const char *name;
        double mult;
        OK(pcl_optimizer_param(opt, i, NULL, NULL, &name, &mult));
        ck_assert_str_eq(name, params[i]);
        ck_assert(mult == (i >= 6 ? 0.1 : 1.0));
    }
    pcl_optimizer_destroy(opt);
    /* an input that does not fit names the layer */
    int in[4] = {1, C0, H0 + 2, W0}, out[4];
    ck_assert_int_eq(pcl_model_output_shape(m, in, out), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(pcl_last_error(), "layer 6"), "%s", pcl_last_error());
    pcl_tensor *x, *y;
    OK(pcl_tensor_create(ctx, 1, C0, H0 + 2, W0, &x));
    ck_assert_int_ne(pcl_model_forward(m, x, &y), PCL_OK);
    pcl_tensor_destroy(x);
    /* backward without forward, and a dy of the wrong shape */
    pcl_tensor *dy;
    OK(pcl_tensor_create(ctx, 1, 1, 5, 1, &dy));
    ck_assert_int_eq(pcl_model_backward(m, dy), PCL_ERR_INVALID_ARGUMENT);
    OK(pcl_tensor_create(ctx, 2, C0, H0, W0, &x));
    OK(pcl_tensor_fill(x, 0.5f));
    OK(pcl_model_forward(m, x, &y));
    ck_assert_int_eq(pcl_model_backward(m, dy), PCL_ERR_INVALID_ARGUMENT);
    pcl_tensor_destroy(dy);
    pcl_tensor_destroy(x);
    pcl_model_destroy(m);
}
END_TEST

START_TEST(test_init)
{
    /* He normal per layer from pcl_train_step_seed(seed, i), biases 0 */
    pcl_model *m;
    OK(pcl_model_create(ctx, &m));
    for (int i = 0; i < LAYERS_A; i++) OK(pcl_model_add(m, make_a(i)));
    OK(pcl_model_init_weights(m, PCL_INIT_GAUSSIAN, 0.001, 3));
    pcl_tensor *w, *b, *ref;
    OK(pcl_layer_param(pcl_model_layer(m, 4), 0, &w, NULL, NULL));
    OK(pcl_layer_param(pcl_model_layer(m, 4), 1, &b, NULL, NULL));
    OK(pcl_tensor_create(ctx, w->n, w->c, w->h, w->w, &ref));
    OK(pcl_tensor_init_gaussian(ref, 0.001, pcl_train_step_seed(3, 4)));
    assert_same(w, ref, "conv weight");
    float hb[2];
    OK(pcl_tensor_download(b, hb));
    ck_assert(hb[0] == 0 && hb[1] == 0);
    pcl_tensor_destroy(ref);
    pcl_model_destroy(m);
}
END_TEST

int main(void)
{
    pcl_status status = pcl_context_create(NULL, &ctx);
    if (status != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 77;
    }
    Suite *suite = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_model_a);
    tcase_add_test(tc, test_model_b);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_init);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(ctx);
    return failed ? 1 : 0;
}
