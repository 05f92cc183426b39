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
 * gradient comparison).
 *
 * Tables (pcl_model_build, architectures.h): each network's parameter count
 * against the count written out here from the paper's layer sizes, its
 * output shape; bad tables refused naming the entry; model files: save ->
 * load bit for bit with metadata, a file with a missing, mis-shaped, extra
 * or non-finite tensor refused naming it (model untouched), an
 * nn.Sequential-style file, index names for named layers (files and
 * training states written before the layers had names).
 * PyTorch's default init: bounds, moments and the documented draws; a
 * narrow conv AE (bench W4a's layers and recipe) trained with MSE + Adam
 * for 100 steps must at least halve its loss without getting stuck.
 * Memory: the device bytes a model's first forward and first backward add
 * (runtime's count of live buffers) against the tensors written out here:
 * ReLU / tanh after conv or upsample add none (in place), the gradients two
 * buffers of the largest gradient of each parity, none before the first
 * backward, and no step after the first allocates. */
#include "perceptcl/architectures.h"
#include "perceptcl/checkpoint.h"
#include "perceptcl/layers.h"
#include "perceptcl/model.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/train.h"
#include "perceptcl/trainer.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"
#include "runtime/internal.h" /* pcl_device_memory_in_use */

#define OK(call) ck_assert_msg((call) == PCL_OK, "%s", pcl_last_error())

static pcl_context *ctx;

enum { C0 = 2, H0 = 6, W0 = 5 };

/* Model A: conv net with reshapes in the middle and at the end; the model
 * stores the ReLUs after the first conv and after the batchnorm with them
 * (in place), the hand-run layers apart. */
static pcl_layer *make_a(int i)
{
    pcl_layer *l = NULL;
    switch (i) {
    case 0: {
        pcl_conv2d_config c = {C0, 3, 3, 3, 1, 1, 1, PCL_PADDING_REPLICATE, 0, PCL_GEMM_BACKEND_AUTO};
        OK(pcl_conv2d_create(ctx, &c, &l));
        break;
    }
    case 1: OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l)); break;
    case 2: OK(pcl_batchnorm_create(ctx, 3, 0.1f, 1e-5f, &l)); break;
    case 3: OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l)); break;
    case 4: OK(pcl_upsample_create(ctx, 2, &l)); break;
    case 5: {
        pcl_conv2d_config c = {3, 2, 3, 3, 2, 1, 1, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO};
        OK(pcl_conv2d_create(ctx, &c, &l));
        break;
    }
    case 6: OK(pcl_activation_create(ctx, PCL_ACTIVATION_TANH, &l)); break;
    case 7: OK(pcl_reshape_create(ctx, 2 * H0 * W0, 1, 1, &l)); break;
    case 8: OK(pcl_dense_create(ctx, 2 * H0 * W0, 5, PCL_GEMM_BACKEND_AUTO, &l)); break;
    case 9: OK(pcl_reshape_create(ctx, 1, 5, 1, &l)); break;
    }
    return l;
}
enum { LAYERS_A = 10 };

/* Model B: a leading flatten, dense, VAE sampler, dense. */
enum { LAT = 3 };
static pcl_layer *make_b(int i)
{
    pcl_layer *l = NULL;
    switch (i) {
    case 0: OK(pcl_reshape_create(ctx, C0 * H0 * W0, 1, 1, &l)); break;
    case 1: OK(pcl_dense_create(ctx, C0 * H0 * W0, 2 * LAT, PCL_GEMM_BACKEND_AUTO, &l)); break;
    case 2: OK(pcl_vae_sampler_create(ctx, LAT, &l)); break;
    case 3: OK(pcl_dense_create(ctx, LAT, 4, PCL_GEMM_BACKEND_AUTO, &l)); break;
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
        if (pcl_layer_get_kind(hand[i]) == PCL_LAYER_KIND_VAE_SAMPLER)
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
        if (pcl_layer_get_kind(hand[i]) == PCL_LAYER_KIND_VAE_SAMPLER)
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
                              "5.weight", "5.bias", "8.weight", "8.bias"};
    pcl_train_weights *w = pcl_model_weights(m);
    ck_assert_int_eq(pcl_train_weights_count(w), 10);
    for (int i = 0; i < 10; i++) {
        const char *name;
        OK(pcl_train_weights_entry(w, i, &name, NULL));
        ck_assert_str_eq(name, expected[i]);
    }
    ck_assert_uint_eq(pcl_model_param_floats(m), 3 * C0 * 9 + 3 + 3 + 3 + 2 * 3 * 9 + 2 + 5 * 2 * H0 * W0 + 5);
    /* the optimizer gets the parameters under the same names with multipliers */
    OK(pcl_model_set_lr_multiplier(m, 8, 0.1));
    ck_assert_int_eq(pcl_model_set_lr_multiplier(m, LAYERS_A, 1.0), PCL_ERR_INVALID_ARGUMENT);
    pcl_optimizer *opt;
    pcl_sgd_config c = pcl_sgd_config_default();
    OK(pcl_sgd_create(ctx, &c, &opt));
    OK(pcl_model_add_to_optimizer(m, opt));
    ck_assert_int_eq(pcl_optimizer_param_count(opt), 8);
    const char *params[] = {"0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias", "8.weight", "8.bias"};
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
    ck_assert_msg(strstr(pcl_last_error(), "layer 7"), "%s", pcl_last_error());
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
    OK(pcl_layer_param(pcl_model_layer(m, 5), 0, &w, NULL, NULL));
    OK(pcl_layer_param(pcl_model_layer(m, 5), 1, &b, NULL, NULL));
    OK(pcl_tensor_create(ctx, w->n, w->c, w->h, w->w, &ref));
    OK(pcl_tensor_init_gaussian(ref, 0.001, pcl_train_step_seed(3, 5)));
    assert_same(w, ref, "conv weight");
    float hb[2];
    OK(pcl_tensor_download(b, hb));
    ck_assert(hb[0] == 0 && hb[1] == 0);
    pcl_tensor_destroy(ref);
    pcl_model_destroy(m);
}
END_TEST


/* ---- tables -------------------------------------------------------------------- */

/* Parameters of nn.Conv2d(in, out, k) and nn.Linear(in, out), with bias. */
static size_t conv_params(size_t in, size_t out, size_t k) { return out * in * k * k + out; }
static size_t dense_params(size_t in, size_t out) { return out * in + out; }

static void expect_shape(const pcl_architecture *arch, const int want[4], size_t want_params)
{
    int in[4] = {2, arch->input[0], arch->input[1], arch->input[2]}, out[4];
    size_t params = 0;
    ck_assert_msg(pcl_model_spec_shape(arch->spec, arch->count, in, out, &params) == PCL_OK, "%s: %s", arch->name,
                  pcl_last_error());
    ck_assert_msg(!memcmp(out, want, sizeof out), "%s: output %dx%dx%dx%d", arch->name, out[0], out[1], out[2], out[3]);
    ck_assert_msg(params == want_params, "%s: %zu parameters, by hand %zu", arch->name, params, want_params);
}

/* Builds arch and checks the model's own count and shape against the walk. */
static void expect_built(const pcl_architecture *arch, const int want[4], size_t want_params)
{
    pcl_model *m;
    OK(pcl_model_build_architecture(ctx, arch, &m));
    ck_assert_str_eq(pcl_model_architecture(m), arch->name);
    ck_assert_int_eq(pcl_model_layer_count(m), arch->count);
    ck_assert_uint_eq(pcl_model_param_floats(m), want_params);
    int in[4] = {2, arch->input[0], arch->input[1], arch->input[2]}, out[4];
    OK(pcl_model_output_shape(m, in, out));
    ck_assert(!memcmp(out, want, sizeof out));
    pcl_model_destroy(m);
}

START_TEST(test_architectures)
{
    /* SRCNN 9-5-5: 1 -> 64 (9x9) -> 32 (5x5) -> 1 (5x5); 33x33 -> 17x17 valid. */
    size_t srcnn = conv_params(1, 64, 9) + conv_params(64, 32, 5) + conv_params(32, 1, 5);
    ck_assert_uint_eq(srcnn, 57281);
    const int srcnn_out[4] = {2, 1, 17, 17}, srcnn_same[4] = {2, 1, 33, 33};
    expect_shape(&pcl_arch_srcnn_955, srcnn_out, srcnn);
    expect_built(&pcl_arch_srcnn_955, srcnn_out, srcnn);
    expect_built(&pcl_arch_srcnn_955_replicate, srcnn_same, srcnn);

    /* App. A.1: 1024 -> 8192 -> ... -> 256, the mirror back to 1024. */
    const size_t widths[7] = {1024, 8192, 4096, 2048, 1024, 512, 256};
    size_t fc = 0;
    for (int i = 0; i < 6; i++) fc += dense_params(widths[i], widths[i + 1]) + dense_params(widths[i + 1], widths[i]);
    ck_assert(fc > 105000000 && fc < 107000000); /* the "about 106 M" */
    const int fc_out[4] = {2, 1, 32, 32};
    expect_shape(&pcl_arch_fc_binary_ae, fc_out, fc); /* 424 MB: walked, not built */
    /* The narrow variant: hidden widths / 16, a 16-bit code. */
    const size_t narrow_widths[7] = {1024, 512, 256, 128, 64, 32, 16};
    size_t fc_narrow = 0;
    for (int i = 0; i < 6; i++)
        fc_narrow += dense_params(narrow_widths[i], narrow_widths[i + 1]) +
                     dense_params(narrow_widths[i + 1], narrow_widths[i]);
    ck_assert(fc_narrow > 1300000 && fc_narrow < 1500000);
    expect_shape(&pcl_arch_fc_binary_ae_narrow, fc_out, fc_narrow);
    expect_built(&pcl_arch_fc_binary_ae_narrow, fc_out, fc_narrow);

    /* App. A.2: convs 1 -> 128 -> 256 -> 512 (5x5), 12x12x512 <-> bottleneck, mirrored convs. */
    const size_t features96 = 512 * 12 * 12;
    const size_t convs = conv_params(1, 128, 5) + conv_params(128, 256, 5) + conv_params(256, 512, 5) +
                         conv_params(512, 256, 5) + conv_params(256, 128, 5) + conv_params(128, 1, 5);
    const int out96[4] = {2, 1, 96, 96};
    size_t ae128 = convs + dense_params(features96, 128) + dense_params(128, features96);
    size_t ae512 = convs + dense_params(features96, 512) + dense_params(512, features96);
    expect_shape(&pcl_arch_conv_ae_96, out96, ae128);
    expect_built(&pcl_arch_conv_ae_96, out96, ae128);
    expect_shape(&pcl_arch_conv_ae_96_b512, out96, ae512);
    /* The narrow variant: filters 8, 16, 32 (1/16), 12x12x32 <-> 128. */
    const size_t narrow = conv_params(1, 8, 5) + conv_params(8, 16, 5) + conv_params(16, 32, 5) +
                          conv_params(32, 16, 5) + conv_params(16, 8, 5) + conv_params(8, 1, 5) +
                          dense_params(32 * 12 * 12, 128) + dense_params(128, 32 * 12 * 12);
    ck_assert(narrow > 1100000 && narrow < 1300000);
    expect_shape(&pcl_arch_conv_ae_96_narrow, out96, narrow);
    expect_built(&pcl_arch_conv_ae_96_narrow, out96, narrow);

    /* App. B: the same convs, a head giving mu and log sigma^2 (2 x 128), z (128) -> 12x12x512. */
    size_t elvae = convs + dense_params(features96, 2 * 128) + dense_params(128, features96);
    expect_shape(&pcl_arch_elvae_96, out96, elvae);
    /* Its narrow variant: the narrow conv AE's layers, the head 12x12x32 -> 2 x 128. */
    const size_t elvae_narrow = narrow + dense_params(32 * 12 * 12, 2 * 128) - dense_params(32 * 12 * 12, 128);
    expect_shape(&pcl_arch_elvae_96_narrow, out96, elvae_narrow);
    expect_built(&pcl_arch_elvae_96_narrow, out96, elvae_narrow);

    /* App. C: 48x48 (6x6x512 features), 32-unit bottleneck, batch norm (gamma, beta) after
     * every conv / dense but the output conv. */
    const size_t features48 = 512 * 6 * 6;
    size_t yale = convs + dense_params(features48, 32) + dense_params(32, features48) +
                  2 * (128 + 256 + 512 + 32 + features48 + 256 + 128);
    const int out48[4] = {2, 1, 48, 48};
    expect_shape(&pcl_arch_yaleb_ae_48, out48, yale);
    expect_built(&pcl_arch_yaleb_ae_48, out48, yale);

    /* Each autoencoder's code: the paper's bottleneck width, after its activation. */
    const struct { const pcl_architecture *arch; int width; } codes[] = {
        {&pcl_arch_fc_binary_ae, 256}, {&pcl_arch_conv_ae_96, 128}, {&pcl_arch_conv_ae_96_b512, 512},
        {&pcl_arch_yaleb_ae_48, 32}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const pcl_architecture *a = codes[i].arch;
        int in[4] = {2, a->input[0], a->input[1], a->input[2]}, out[4];
        ck_assert_msg(a->code_layers > 0 && a->code_layers < a->count, "%s", a->name);
        OK(pcl_model_spec_shape(a->spec, a->code_layers, in, out, NULL));
        ck_assert_msg(out[1] * out[2] * out[3] == codes[i].width, "%s: code of %d", a->name, out[1] * out[2] * out[3]);
        pcl_layer_kind last = a->spec[a->code_layers - 1].kind;
        ck_assert_msg(last == PCL_LAYER_KIND_ACTIVATION || last == PCL_LAYER_KIND_BINARY, "%s", a->name);
    }
}
END_TEST

/* The code of the Yale B autoencoder: a forward through code_layers gives
 * the 32 ReLU units; through every layer it is the full forward, bit for bit;
 * no backward follows a partial forward. */
START_TEST(test_forward_to_the_code)
{
    pcl_model *m;
    OK(pcl_model_build_architecture(ctx, &pcl_arch_yaleb_ae_48, &m));
    OK(pcl_model_init_weights(m, PCL_INIT_TORCH_DEFAULT, 0.0, 5));
    pcl_model_set_training(m, 0);
    const int n = 3, pixels = 48 * 48;
    float *host = malloc((size_t)n * pixels * sizeof *host), *full = malloc((size_t)n * pixels * sizeof *full),
          *again = malloc((size_t)n * pixels * sizeof *again), code[3 * 32];
    for (int i = 0; i < n * pixels; i++) host[i] = (float)sin(0.37 * i);
    pcl_tensor *x, *y;
    OK(pcl_tensor_create(ctx, n, 1, 48, 48, &x));
    OK(pcl_tensor_upload(x, host));
    OK(pcl_model_forward(m, x, &y));
    OK(pcl_tensor_download(y, full));
    OK(pcl_model_forward_to(m, x, pcl_arch_yaleb_ae_48.code_layers, &y));
    ck_assert(y->n == n && (size_t)y->c * y->h * y->w == 32);
    OK(pcl_tensor_download(y, code));
    int positive = 0;
    for (int i = 0; i < n * 32; i++) {
        ck_assert(isfinite(code[i]) && code[i] >= 0.0f); /* after the ReLU */
        positive += code[i] > 0.0f;
    }
    ck_assert_int_gt(positive, 0);
    ck_assert_int_eq(pcl_model_backward(m, y), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "no full forward"));
    OK(pcl_model_forward_to(m, x, pcl_arch_yaleb_ae_48.count, &y));
    OK(pcl_tensor_download(y, again));
    ck_assert_mem_eq(full, again, (size_t)n * pixels * sizeof *full);
    ck_assert_int_eq(pcl_model_forward_to(m, x, 0, &y), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_model_forward_to(m, x, pcl_arch_yaleb_ae_48.count + 1, &y), PCL_ERR_INVALID_ARGUMENT);
    pcl_tensor_destroy(x);
    free(host), free(full), free(again);
    pcl_model_destroy(m);
}
END_TEST

static void expect_refused(const pcl_layer_spec *spec, int count, const char *needle, const char *needle2)
{
    pcl_model *m = (pcl_model *)1;
    ck_assert_int_eq(pcl_model_build(ctx, spec, count, &m), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(pcl_last_error(), needle) && (!needle2 || strstr(pcl_last_error(), needle2)), "%s",
                  pcl_last_error());
}

static void expect_walk_refused(const pcl_layer_spec *spec, int count, const int in[4], const char *needle)
{
    int out[4];
    ck_assert_int_eq(pcl_model_spec_shape(spec, count, in, out, NULL), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(pcl_last_error(), needle), "%s", pcl_last_error());
}

START_TEST(test_bad_tables)
{
    const pcl_layer_spec kernel0[] = {PCL_SPEC_RELU, PCL_SPEC_CONV2D("c", 1, 2, 0, 1, 0, PCL_PADDING_ZERO)};
    expect_refused(kernel0, 2, "spec entry 1 (conv2d 'c')", "kernel 0");
    const pcl_layer_spec stride0[] = {PCL_SPEC_CONV2D(NULL, 1, 2, 3, 0, 0, PCL_PADDING_ZERO)};
    expect_refused(stride0, 1, "spec entry 0 (conv2d)", "stride 0");
    const pcl_layer_spec bad_padding[] = {PCL_SPEC_CONV2D(NULL, 1, 2, 3, 1, 1, (pcl_padding)7)};
    expect_refused(bad_padding, 1, "spec entry 0", "padding 7");
    const pcl_layer_spec bad_activation[] = {PCL_SPEC_RELU, PCL_SPEC_RELU, PCL_SPEC_ACTIVATION((pcl_activation)9)};
    expect_refused(bad_activation, 3, "spec entry 2 (activation)", "activation 9");
    const pcl_layer_spec dense0[] = {PCL_SPEC_DENSE(NULL, 0, 3)};
    expect_refused(dense0, 1, "spec entry 0 (dense)", "features 0 -> 3");
    const pcl_layer_spec twice[] = {PCL_SPEC_DENSE("fc", 4, 3), PCL_SPEC_RELU, PCL_SPEC_DENSE("fc", 3, 2)};
    expect_refused(twice, 3, "spec entry 2 (dense 'fc')", "also entry 0's");
    const pcl_layer_spec digits[] = {PCL_SPEC_DENSE("12", 4, 3)};
    expect_refused(digits, 1, "spec entry 0", "all digits");
    const pcl_layer_spec spaced[] = {PCL_SPEC_DENSE("a b", 4, 3)};
    expect_refused(spaced, 1, "spec entry 0", "character");
    const pcl_layer_spec momentum[] = {{.kind = PCL_LAYER_KIND_BATCHNORM, .out = 3, .momentum = 2.0f}};
    expect_refused(momentum, 1, "spec entry 0 (batchnorm)", "momentum 2");
    const pcl_layer_spec upsample0[] = {PCL_SPEC_UPSAMPLE(0)};
    expect_refused(upsample0, 1, "spec entry 0 (upsample)", "factor 0");
    const pcl_layer_spec reshape0[] = {PCL_SPEC_RESHAPE(4, 0, 1)};
    expect_refused(reshape0, 1, "spec entry 0 (reshape)", "4x0x1");
    const pcl_layer_spec latent0[] = {PCL_SPEC_VAE_SAMPLER(0)};
    expect_refused(latent0, 1, "spec entry 0", "latent size 0");
    const pcl_layer_spec unknown[] = {{.kind = (pcl_layer_kind)42}};
    expect_refused(unknown, 1, "spec entry 0", "kind 42");
    expect_refused(unknown, 0, "empty table", NULL);

    /* Entries that are fine alone but do not fit their input. */
    const int in[4] = {1, 1, 8, 8};
    const pcl_layer_spec channels[] = {PCL_SPEC_CONV2D(NULL, 1, 4, 3, 1, 1, PCL_PADDING_ZERO), PCL_SPEC_RELU,
                                       PCL_SPEC_CONV2D("next", 3, 2, 3, 1, 1, PCL_PADDING_ZERO)};
    expect_walk_refused(channels, 3, in, "spec entry 2 (conv2d 'next'): input has 4 channels, the layer takes 3");
    const pcl_layer_spec features[] = {PCL_SPEC_DENSE(NULL, 63, 2)};
    expect_walk_refused(features, 1, in, "spec entry 0 (dense): an input image holds 64 values, the layer takes 63");
    const pcl_layer_spec shape[] = {PCL_SPEC_RESHAPE(4, 4, 4), PCL_SPEC_RESHAPE(3, 3, 3)};
    expect_walk_refused(shape, 2, in, "spec entry 1 (reshape)");
    const pcl_layer_spec too_big[] = {PCL_SPEC_CONV2D(NULL, 1, 1, 9, 1, 0, PCL_PADDING_ZERO)};
    expect_walk_refused(too_big, 1, in, "spec entry 0 (conv2d): a 9x9 kernel does not fit");
    const pcl_layer_spec sampler[] = {PCL_SPEC_DENSE(NULL, 64, 5), PCL_SPEC_VAE_SAMPLER(3)};
    expect_walk_refused(sampler, 2, in, "spec entry 1 (vae_sampler)");
    const pcl_layer_spec bn[] = {PCL_SPEC_BATCHNORM(NULL, 2)};
    expect_walk_refused(bn, 1, in, "spec entry 0 (batchnorm)");
    /* A name already used by pcl_model_add_named is refused too. */
    pcl_model *m;
    pcl_layer *l;
    OK(pcl_model_create(ctx, &m));
    OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l));
    OK(pcl_model_add_named(m, l, "act"));
    OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l));
    ck_assert_int_eq(pcl_model_add_named(m, l, "act"), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(pcl_last_error(), "layer 1's name 'act' is already used"), "%s", pcl_last_error());
    ck_assert_int_eq(pcl_model_layer_count(m), 1);
    ck_assert_str_eq(pcl_model_layer_name(m, 0), "act");
    pcl_model_destroy(m);
}
END_TEST

/* ---- model files ------------------------------------------------------------------ */

static char work[64];

/* A small network with every kind of tensor: a named conv, batch norm
 * (buffers), a dense layer (2-D weight). */
static const pcl_layer_spec small_spec[] = {
    PCL_SPEC_CONV2D("enc", 1, 3, 3, 1, 1, PCL_PADDING_ZERO),
    PCL_SPEC_BATCHNORM(NULL, 3),
    PCL_SPEC_RELU,
    PCL_SPEC_DENSE(NULL, 3 * 4 * 4, 5),
    PCL_SPEC_TANH,
};
enum { SMALL = 5, SMALL_TENSORS = 8 };
static const char *const small_names[SMALL_TENSORS] = {"enc.weight", "enc.bias", "1.weight", "1.bias",
                                                        "1.running_mean", "1.running_var", "3.weight", "3.bias"};
static const int small_ndim[SMALL_TENSORS] = {4, 1, 1, 1, 1, 1, 2, 1};
static const int64_t small_shapes[SMALL_TENSORS][4] = {{3, 1, 3, 3}, {3}, {3}, {3}, {3}, {3}, {5, 48}, {5}};

/* Every tensor of m (model order) into one host array. */
static float *model_values(pcl_model *m, size_t *count)
{
    pcl_train_weights *w = pcl_model_weights(m);
    size_t total = 0;
    for (int i = 0; i < pcl_train_weights_count(w); i++) {
        pcl_tensor *t;
        OK(pcl_train_weights_entry(w, i, NULL, &t));
        total += pcl_tensor_count(t);
    }
    float *all = malloc(total * sizeof *all), *at = all;
    for (int i = 0; i < pcl_train_weights_count(w); i++) {
        pcl_tensor *t;
        OK(pcl_train_weights_entry(w, i, NULL, &t));
        OK(pcl_tensor_download(t, at));
        at += pcl_tensor_count(t);
    }
    *count = total;
    return all;
}

static void randomize(pcl_model *m, uint64_t seed)
{
    pcl_train_weights *w = pcl_model_weights(m);
    for (int i = 0; i < pcl_train_weights_count(w); i++) {
        pcl_tensor *t;
        OK(pcl_train_weights_entry(w, i, NULL, &t));
        size_t n = pcl_tensor_count(t);
        float *h = malloc(n * sizeof *h);
        fill_random(h, n, &seed, 1.0);
        for (size_t j = 0; j < n; j++) h[j] = fabsf(h[j]) + 0.1f; /* variances stay positive */
        OK(pcl_tensor_upload(t, h));
        free(h);
    }
}

static pcl_model *small_model(void)
{
    pcl_model *m;
    OK(pcl_model_build(ctx, small_spec, SMALL, &m));
    return m;
}

START_TEST(test_save_load)
{
    pcl_model *a = small_model(), *b = small_model();
    ck_assert_ptr_null(pcl_model_architecture(a));
    OK(pcl_model_set_architecture(a, "small-test"));
    randomize(a, 11);
    pcl_checkpoint *meta;
    OK(pcl_checkpoint_create(&meta));
    OK(pcl_checkpoint_set_metadata(meta, "loss", "msssim"));
    OK(pcl_checkpoint_set_metadata(meta, "training", "adam lr=0.001 batch=4"));
    OK(pcl_checkpoint_set_metadata(meta, "data", "unit test"));
    char path[128];
    snprintf(path, sizeof path, "%s/small.safetensors", work);
    OK(pcl_model_save(a, path, meta));
    pcl_checkpoint_destroy(meta);
    pcl_checkpoint *back = NULL;
    OK(pcl_model_load(b, path, &back));
    size_t na, nb;
    float *va = model_values(a, &na), *vb = model_values(b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(va, vb, na * sizeof *va);
    free(vb);
    ck_assert_str_eq(pcl_checkpoint_metadata(back, "format"), "perceptcl-model-1");
    ck_assert_str_eq(pcl_checkpoint_metadata(back, "architecture"), "small-test");
    ck_assert_str_eq(pcl_checkpoint_metadata(back, "perceptcl_version"), PCL_VERSION);
    ck_assert_str_eq(pcl_checkpoint_metadata(back, "loss"), "msssim");
    ck_assert_str_eq(pcl_checkpoint_metadata(back, "training"), "adam lr=0.001 batch=4");
    ck_assert_str_eq(pcl_checkpoint_metadata(back, "data"), "unit test");
    /* PyTorch's names and shapes, in model order */
    ck_assert_int_eq(pcl_checkpoint_count(back), SMALL_TENSORS);
    for (int i = 0; i < SMALL_TENSORS; i++) {
        const char *name;
        int ndim;
        const int64_t *shape;
        OK(pcl_checkpoint_entry(back, i, &name, &ndim, &shape, NULL));
        ck_assert_str_eq(name, small_names[i]);
        ck_assert_int_eq(ndim, small_ndim[i]);
        ck_assert_mem_eq(shape, small_shapes[i], (size_t)ndim * sizeof *shape);
    }
    pcl_checkpoint_destroy(back);
    free(va);
    pcl_model_destroy(a);
    pcl_model_destroy(b);
}
END_TEST

/* A file holding the small model's tensors with one of them changed by
 * edit: 'd' drops it, 's' transposes its shape, 'n' puts a NaN in it, 'x'
 * adds an unknown tensor; rename (may be NULL) renames "enc." to it. */
static void write_edited(const char *path, pcl_model *m, const char *target, char edit, const char *rename)
{
    pcl_checkpoint *cp;
    OK(pcl_checkpoint_create(&cp));
    pcl_train_weights *w = pcl_model_weights(m);
    for (int i = 0; i < pcl_train_weights_count(w); i++) {
        const char *name;
        pcl_tensor *t;
        int ndim;
        int64_t shape[4];
        OK(pcl_train_weights_entry(w, i, &name, &t));
        OK(pcl_train_weights_shape(w, i, &ndim, shape));
        size_t n = pcl_tensor_count(t);
        float *h = malloc(n * sizeof *h);
        OK(pcl_tensor_download(t, h));
        char renamed[64];
        if (rename && !strncmp(name, "enc.", 4)) snprintf(renamed, sizeof renamed, "%s.%s", rename, name + 4);
        else snprintf(renamed, sizeof renamed, "%s", name);
        int hit = target && !strcmp(name, target);
        if (hit && edit == 's' && ndim == 2) {
            int64_t swap = shape[0];
            shape[0] = shape[1], shape[1] = swap;
        }
        if (hit && edit == 'n') h[n / 2] = NAN;
        if (!(hit && edit == 'd')) OK(pcl_checkpoint_add(cp, renamed, ndim, shape, h));
        free(h);
    }
    if (edit == 'x') {
        const int64_t one[1] = {1};
        const float v = 1.0f;
        OK(pcl_checkpoint_add(cp, target, 1, one, &v));
    }
    OK(pcl_checkpoint_write(cp, path));
    pcl_checkpoint_destroy(cp);
}

START_TEST(test_load_refuses)
{
    pcl_model *a = small_model(), *b = small_model();
    randomize(a, 5);
    randomize(b, 6);
    size_t n;
    float *before = model_values(b, &n);
    char path[128];
    snprintf(path, sizeof path, "%s/edited.safetensors", work);
    static const struct {
        const char *target;
        char edit;
        const char *needle;
    } cases[] = {
        {"3.bias", 'd', "tensor '3.bias' is missing (the model's, shape [5])"},
        {"enc.weight", 'd', "tensor 'enc.weight' (or its index name) is missing"},
        {"1.running_var", 'd', "tensor '1.running_var' is missing"},
        {"3.weight", 's', "tensor '3.weight' has shape [48, 5], the model's is [5, 48]"},
        {"1.weight", 'n', "tensor '1.weight' element 1 is not finite"},
        {"decoder.weight", 'x', "tensor 'decoder.weight' is not one of the model's"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        write_edited(path, a, cases[c].target, cases[c].edit, NULL);
        pcl_checkpoint *meta = (pcl_checkpoint *)1;
        ck_assert_int_eq(pcl_model_load(b, path, &meta), PCL_ERR_FORMAT);
        ck_assert_ptr_null(meta);
        ck_assert_msg(strstr(pcl_last_error(), cases[c].needle) && strstr(pcl_last_error(), "edited.safetensors"),
                      "case %zu: %s", c, pcl_last_error());
        size_t m;
        float *after = model_values(b, &m);
        ck_assert_mem_eq(after, before, n * sizeof *after); /* untouched */
        free(after);
    }
    free(before);
    pcl_model_destroy(a);
    pcl_model_destroy(b);
}
END_TEST

/* Files named as other tools name them: the named conv's tensors under its
 * index ("0.weight", an nn.Sequential's key, or a file from before the
 * layer had a name) or another name (refused); biases as (1, C, 1, 1) and
 * (C, 1, 1, 1). */
START_TEST(test_sequential_names)
{
    pcl_model *a = small_model(), *b = small_model();
    randomize(a, 7);
    char path[128];
    snprintf(path, sizeof path, "%s/seq.safetensors", work);
    write_edited(path, a, NULL, 0, "0");
    OK(pcl_model_load(b, path, NULL));
    size_t na, nb;
    float *va = model_values(a, &na), *vb = model_values(b, &nb);
    ck_assert_mem_eq(va, vb, na * sizeof *va);
    free(va), free(vb);
    write_edited(path, a, NULL, 0, "conv");
    ck_assert_int_eq(pcl_model_load(b, path, NULL), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "'enc.weight'"), "%s", pcl_last_error());

    /* An nn.Sequential(Conv2d(1, 2, 3), ReLU(), Conv2d(2, 1, 3)) state_dict, biases in both 4-D layouts. */
    const pcl_layer_spec seq[] = {PCL_SPEC_CONV2D(NULL, 1, 2, 3, 1, 0, PCL_PADDING_ZERO), PCL_SPEC_RELU,
                                  PCL_SPEC_CONV2D(NULL, 2, 1, 3, 1, 0, PCL_PADDING_ZERO)};
    float w0[18], b0[2] = {0.25f, -0.5f}, w2[18], b2[1] = {0.125f};
    uint64_t rng = 9;
    fill_random(w0, 18, &rng, 1.0);
    fill_random(w2, 18, &rng, 1.0);
    pcl_checkpoint *cp;
    OK(pcl_checkpoint_create(&cp));
    const int64_t s_w0[4] = {2, 1, 3, 3}, s_b0[4] = {1, 2, 1, 1}, s_w2[4] = {1, 2, 3, 3}, s_b2[4] = {1, 1, 1, 1};
    OK(pcl_checkpoint_add(cp, "0.weight", 4, s_w0, w0));
    OK(pcl_checkpoint_add(cp, "0.bias", 4, s_b0, b0));
    OK(pcl_checkpoint_add(cp, "2.weight", 4, s_w2, w2));
    OK(pcl_checkpoint_add(cp, "2.bias", 4, s_b2, b2));
    OK(pcl_checkpoint_write(cp, path));
    pcl_checkpoint_destroy(cp);
    pcl_model *m;
    OK(pcl_model_build(ctx, seq, 3, &m));
    OK(pcl_model_load(m, path, NULL));
    float got[18 + 2 + 18 + 1], want[18 + 2 + 18 + 1];
    memcpy(want, w0, sizeof w0), memcpy(want + 18, b0, sizeof b0);
    memcpy(want + 20, w2, sizeof w2), memcpy(want + 38, b2, sizeof b2);
    float *all = model_values(m, &na);
    ck_assert_uint_eq(na, 39);
    memcpy(got, all, sizeof got);
    free(all);
    ck_assert_mem_eq(got, want, sizeof got);
    pcl_model_destroy(m);
    pcl_model_destroy(a);
    pcl_model_destroy(b);
}
END_TEST

/* Optimizer and training-state names follow the layer names; a state
 * written when the layers were unnamed ("0.weight", "optimizer.0.weight.
 * velocity") resumes into the named model. */
START_TEST(test_named_training_state)
{
    pcl_model *named = small_model(), *plain;
    OK(pcl_model_create(ctx, &plain));
    pcl_layer *l;
    pcl_conv2d_config c = {1, 3, 3, 3, 1, 1, 1, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO};
    OK(pcl_conv2d_create(ctx, &c, &l));
    OK(pcl_model_add(plain, l));
    OK(pcl_batchnorm_create(ctx, 3, 0.1f, 1e-5f, &l));
    OK(pcl_model_add(plain, l));
    OK(pcl_activation_create(ctx, PCL_ACTIVATION_RELU, &l));
    OK(pcl_model_add(plain, l));
    OK(pcl_dense_create(ctx, 48, 5, PCL_GEMM_BACKEND_AUTO, &l));
    OK(pcl_model_add(plain, l));
    OK(pcl_activation_create(ctx, PCL_ACTIVATION_TANH, &l));
    OK(pcl_model_add(plain, l));
    randomize(plain, 21);
    randomize(named, 22);

    pcl_sgd_config sc = pcl_sgd_config_default();
    sc.momentum = 0.9;
    pcl_optimizer *old_opt, *new_opt;
    OK(pcl_sgd_create(ctx, &sc, &old_opt));
    OK(pcl_sgd_create(ctx, &sc, &new_opt));
    OK(pcl_model_add_to_optimizer(plain, old_opt));
    OK(pcl_model_add_to_optimizer(named, new_opt));
    const char *name;
    OK(pcl_optimizer_param(new_opt, 0, NULL, NULL, &name, NULL));
    ck_assert_str_eq(name, "enc.weight");
    OK(pcl_optimizer_param(old_opt, 0, NULL, NULL, &name, NULL));
    ck_assert_str_eq(name, "0.weight");
    /* momentum state that is not zero */
    for (int i = 0; i < pcl_optimizer_param_count(old_opt); i++) {
        pcl_tensor *t;
        OK(pcl_optimizer_state(old_opt, i, 0, &t, NULL));
        OK(pcl_tensor_fill(t, 0.5f + (float)i));
    }
    char path[128];
    snprintf(path, sizeof path, "%s/old.train", work);
    pcl_train_position pos = pcl_train_position_start(3);
    OK(pcl_train_save(path, pcl_model_weights(plain), old_opt, NULL, &pos, "mse"));
    pcl_train_position back;
    OK(pcl_train_load(path, pcl_model_weights(named), new_opt, NULL, &back));
    size_t na, nb;
    float *va = model_values(plain, &na), *vb = model_values(named, &nb);
    ck_assert_mem_eq(va, vb, na * sizeof *va);
    free(va), free(vb);
    for (int i = 0; i < pcl_optimizer_param_count(new_opt); i++) {
        pcl_tensor *t;
        OK(pcl_optimizer_state(new_opt, i, 0, &t, NULL));
        float *h = malloc(pcl_tensor_count(t) * sizeof *h);
        OK(pcl_tensor_download(t, h));
        ck_assert_msg(h[0] == 0.5f + (float)i, "state %d: %g", i, h[0]);
        free(h);
    }
    /* and a new state has the new names */
    OK(pcl_train_save(path, pcl_model_weights(named), new_opt, NULL, &pos, "mse"));
    pcl_checkpoint *cp;
    OK(pcl_checkpoint_read(path, &cp));
    const float *d;
    const int64_t w_shape[4] = {3, 1, 3, 3};
    OK(pcl_checkpoint_find(cp, "enc.weight", 4, w_shape, &d));
    const char *slot;
    pcl_tensor *t;
    OK(pcl_optimizer_state(new_opt, 0, 0, &t, &slot));
    char state[64];
    snprintf(state, sizeof state, "optimizer.enc.weight.%s", slot);
    OK(pcl_checkpoint_find(cp, state, 4, w_shape, &d));
    pcl_checkpoint_destroy(cp);
    pcl_optimizer_destroy(old_opt);
    pcl_optimizer_destroy(new_opt);
    pcl_model_destroy(plain);
    pcl_model_destroy(named);
}
END_TEST

/* ---- PyTorch's default init; a narrow conv AE trains ---------------------- */

/* Checks every value of t: inside [-bound, bound], and the sample mean and
 * variance of U(-bound, bound) (0 and bound^2 / 3) within 5 standard errors
 * (bound / sqrt(3 N) and bound^2 sqrt(4 / 45 / N)); the largest |value|
 * above 0.9 bound (a smaller scale fails here, not only the moments). */
static void expect_uniform(pcl_tensor *t, double bound, const char *what)
{
    const size_t count = pcl_tensor_count(t);
    float *v = malloc(count * sizeof *v);
    OK(pcl_tensor_download(t, v));
    double sum = 0, sum2 = 0, largest = 0;
    for (size_t k = 0; k < count; k++) {
        ck_assert_msg(fabsf(v[k]) <= (float)bound, "%s[%zu] = %g outside +-%g", what, k, v[k], bound);
        sum += v[k], sum2 += (double)v[k] * v[k];
        largest = fmax(largest, fabs(v[k]));
    }
    const double n = (double)count, mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_msg(fabs(mean) <= 5 * bound / sqrt(3 * n), "%s: mean %g, bound %g, %zu values", what, mean, bound, count);
    ck_assert_msg(fabs(var - bound * bound / 3) <= 5 * bound * bound * sqrt(4.0 / 45.0 / n),
                  "%s: variance %g, expected %g", what, var, bound * bound / 3);
    ck_assert_msg(largest > 0.9 * bound, "%s: largest |value| %g, bound %g", what, largest, bound);
    free(v);
}

START_TEST(test_init_torch_default)
{
    /* nn.Conv2d / nn.Linear reset_parameters: kaiming_uniform_(a = sqrt(5))
     * gives the weight bound gain sqrt(3 / fan_in) with gain sqrt(2 / (1 + 5)),
     * i.e. 1 / sqrt(fan_in); the bias U(+-1 / sqrt(fan_in)) of the same fan_in. */
    static const pcl_layer_spec spec[] = {
        PCL_SPEC_CONV2D(NULL, 3, 64, 3, 1, 1, PCL_PADDING_ZERO), PCL_SPEC_RELU,
        PCL_SPEC_DENSE(NULL, 200, 300),
    };
    pcl_model *m;
    OK(pcl_model_build(ctx, spec, 3, &m));
    OK(pcl_model_init_weights(m, PCL_INIT_TORCH_DEFAULT, 0, 5));
    pcl_tensor *cw, *cb, *dw, *db;
    OK(pcl_layer_param(pcl_model_layer(m, 0), 0, &cw, NULL, NULL));
    OK(pcl_layer_param(pcl_model_layer(m, 0), 1, &cb, NULL, NULL));
    OK(pcl_layer_param(pcl_model_layer(m, 2), 0, &dw, NULL, NULL));
    OK(pcl_layer_param(pcl_model_layer(m, 2), 1, &db, NULL, NULL));
    expect_uniform(cw, 1 / sqrt(27.0), "conv weight"); /* fan_in 3 * 3 * 3 */
    expect_uniform(cb, 1 / sqrt(27.0), "conv bias");
    expect_uniform(dw, 1 / sqrt(200.0), "dense weight");
    expect_uniform(db, 1 / sqrt(200.0), "dense bias");
    /* the documented draws: 2 u - 1 from pcl_train_step_seed(seed, i) times
     * the bound, the bias from pcl_train_step_seed of the weight's seed, 1 */
    float w[64 * 27], b[64];
    OK(pcl_tensor_download(cw, w));
    OK(pcl_tensor_download(cb, b));
    uint64_t state = pcl_train_step_seed(5, 0);
    for (int k = 0; k < 64 * 27; k++)
        ck_assert(w[k] == (float)((2.0 * pcl_random_uniform(&state) - 1.0) / sqrt(27.0)));
    state = pcl_train_step_seed(pcl_train_step_seed(5, 0), 1);
    for (int k = 0; k < 64; k++) ck_assert(b[k] == (float)((2.0 * pcl_random_uniform(&state) - 1.0) / sqrt(27.0)));
    /* another seed, other values; an unknown initialiser refused */
    OK(pcl_model_init_weights(m, PCL_INIT_TORCH_DEFAULT, 0, 6));
    float w6[64 * 27];
    OK(pcl_tensor_download(cw, w6));
    ck_assert(memcmp(w, w6, sizeof w));
    ck_assert_int_eq(pcl_model_init_weights(m, (pcl_model_init)99, 0, 1), PCL_ERR_INVALID_ARGUMENT);
    ck_assert(strstr(pcl_last_error(), "unknown initialiser 99"));
    pcl_model_destroy(m);
}
END_TEST

/* n images of s x s: uniform noise, 5x5 box blur (edges replicated), each
 * stretched to [-1, 1] (bench_common.h's smooth_images, run.py's). */
static float *smooth_images(int n, int s, uint64_t seed)
{
    float *noise = malloc(sizeof(float) * (size_t)s * s), *x = malloc(sizeof(float) * (size_t)n * s * s);
    uint64_t state = seed;
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < s * s; i++) noise[i] = (float)pcl_random_uniform(&state);
        float *img = x + (size_t)k * s * s, lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) {
                float sum = 0;
                for (int di = -2; di <= 2; di++)
                    for (int dj = -2; dj <= 2; dj++) {
                        const int r = i + di < 0 ? 0 : i + di >= s ? s - 1 : i + di;
                        const int c = j + dj < 0 ? 0 : j + dj >= s ? s - 1 : j + dj;
                        sum += noise[r * s + c];
                    }
                img[i * s + j] = sum / 25;
                lo = fminf(lo, sum / 25), hi = fmaxf(hi, sum / 25);
            }
        for (int i = 0; i < s * s; i++) img[i] = 2 * (img[i] - lo) / (hi - lo) - 1;
    }
    free(noise);
    return x;
}

static double conv_ae_losses[200];
static int conv_ae_steps;

static pcl_status record_loss(void *user, const pcl_trainer_epoch *epoch)
{
    (void)user;
    conv_ae_losses[conv_ae_steps++] = epoch->train_loss;
    return PCL_OK;
}

START_TEST(test_conv_ae_trains)
{
    /* pcl_arch_conv_ae_96's layers at widths 8 / 16 / 32, bottleneck 32, on
     * 32x32 images (32 -> 16 -> 8 -> 4), bench W4a's recipe: PyTorch's
     * default init, Adam lr 1e-3, MSE, one batch of 16 per step. PyTorch
     * from the same weights gives the same losses to 6-7 digits (RESULTS.md,
     * "W4a's loss"): 0.1072 at step 1, 0.0876 at step 30; from this test's
     * weights and images perceptcl goes 0.102 -> 0.033 at step 100. Asserted: every loss
     * finite, the last below half the first, and the last ten all below
     * the first ten (a loss stuck after a jump, as W4a's was, fails). */
    static const pcl_layer_spec spec[] = {
        PCL_SPEC_CONV2D(NULL, 1, 8, 5, 2, 2, PCL_PADDING_ZERO),   PCL_SPEC_RELU,
        PCL_SPEC_CONV2D(NULL, 8, 16, 5, 2, 2, PCL_PADDING_ZERO),  PCL_SPEC_RELU,
        PCL_SPEC_CONV2D(NULL, 16, 32, 5, 2, 2, PCL_PADDING_ZERO), PCL_SPEC_RELU,
        PCL_SPEC_DENSE(NULL, 32 * 4 * 4, 32),                     PCL_SPEC_TANH,
        PCL_SPEC_DENSE(NULL, 32, 32 * 4 * 4),                     PCL_SPEC_RELU,
        PCL_SPEC_RESHAPE(32, 4, 4),
        PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 32, 16, 5, 1, 2, PCL_PADDING_ZERO), PCL_SPEC_RELU,
        PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 16, 8, 5, 1, 2, PCL_PADDING_ZERO),  PCL_SPEC_RELU,
        PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 8, 1, 5, 1, 2, PCL_PADDING_ZERO),   PCL_SPEC_TANH,
    };
    enum { N = 16, S = 32, STEPS = 100 };
    pcl_model *m;
    OK(pcl_model_build(ctx, spec, (int)(sizeof spec / sizeof *spec), &m));
    OK(pcl_model_init_weights(m, PCL_INIT_TORCH_DEFAULT, 0, 1));
    pcl_optimizer *opt;
    pcl_adam_config adam = pcl_adam_config_default();
    OK(pcl_adam_create(ctx, &adam, &opt));
    OK(pcl_model_add_to_optimizer(m, opt));
    float *x = smooth_images(N, S, 4);
    pcl_trainer_config config = pcl_trainer_config_default();
    config.loss = PCL_LOSS_KIND_MSE;
    config.batch = N;
    config.epochs = STEPS; /* one batch: one step per epoch */
    config.progress_mode = PCL_PROGRESS_MODE_OFF;
    config.on_epoch = record_loss;
    pcl_array_source arrays = {x, x, N, {1, S, S}, {1, S, S}};
    pcl_data_source source = pcl_data_source_from_arrays(&arrays);
    pcl_trainer *trainer;
    OK(pcl_trainer_create(m, opt, &config, &trainer));
    conv_ae_steps = 0;
    OK(pcl_trainer_run(trainer, &source, NULL, NULL));
    ck_assert_int_eq(conv_ae_steps, STEPS);
    const double *loss = conv_ae_losses;
    double first10 = INFINITY, last10 = -INFINITY;
    for (int k = 0; k < STEPS; k++) {
        ck_assert_msg(isfinite(loss[k]), "step %d: loss %g", k + 1, loss[k]);
        if (k < 10) first10 = fmin(first10, loss[k]);
        if (k >= STEPS - 10) last10 = fmax(last10, loss[k]);
    }
    ck_assert_msg(loss[STEPS - 1] < 0.5 * loss[0], "loss %g -> %g: not halved", loss[0], loss[STEPS - 1]);
    ck_assert_msg(last10 < first10, "the last ten losses (max %g) not all below the first ten (min %g)", last10,
                  first10);
    pcl_trainer_destroy(trainer);
    pcl_optimizer_destroy(opt);
    pcl_model_destroy(m);
    free(x);
}
END_TEST

START_TEST(test_memory)
{
    /* n = 2 images of 1x8x8. Outputs: conv 2x4x8x8 (512 floats), ReLU in
     * place, conv 2x6x8x8 (768), ReLU in place, upsample 2x6x16x16 (3072),
     * conv 2x1x16x16 (512), tanh in place: 4864 floats of activations.
     * Gradients, from the top: tanh's dx (512, buffer 0, not in place: its dy
     * is the caller's), the last conv's dx (3072, buffer 1), upsample's dx
     * (768, buffer 0), ReLU in place, conv's dx (512, buffer 1), ReLU in
     * place: buffers of 768 and 3072 floats. Without in-place layers and
     * shared buffers: 7424 and 6144 floats. */
    static const pcl_layer_spec spec[] = {
        PCL_SPEC_CONV2D(NULL, 1, 4, 3, 1, 1, PCL_PADDING_ZERO), PCL_SPEC_RELU,
        PCL_SPEC_CONV2D(NULL, 4, 6, 3, 1, 1, PCL_PADDING_ZERO), PCL_SPEC_RELU,
        PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 6, 1, 3, 1, 1, PCL_PADDING_ZERO), PCL_SPEC_TANH,
    };
    const int count = (int)(sizeof spec / sizeof *spec);
    pcl_model *warm, *m;
    pcl_tensor *x, *y, *dy;
    OK(pcl_model_build(ctx, spec, count, &warm));
    OK(pcl_model_build(ctx, spec, count, &m));
    OK(pcl_model_init_weights(m, PCL_INIT_HE_NORMAL, 0, 3));
    OK(pcl_tensor_create(ctx, 2, 1, 8, 8, &x));
    OK(pcl_tensor_fill(x, 0.5f));
    OK(pcl_tensor_create(ctx, 2, 1, 16, 16, &dy));
    OK(pcl_tensor_fill(dy, 0.25f));
    /* The same layers in another model first, so that the context's shared
     * scratch buffers already have the sizes these layers ask for. */
    OK(pcl_model_forward(warm, x, &y));
    OK(pcl_model_backward(warm, dy));
    OK(pcl_context_finish(ctx)); /* buffers released while kernels used them are gone */
    const size_t before = pcl_device_memory_in_use(ctx);
    OK(pcl_model_forward(m, x, &y));
    const size_t after_forward = pcl_device_memory_in_use(ctx);
    ck_assert_uint_eq(after_forward - before, 4864 * sizeof(float));
    OK(pcl_model_backward(m, dy));
    const size_t after_backward = pcl_device_memory_in_use(ctx);
    ck_assert_uint_eq(after_backward - after_forward, (768 + 3072) * sizeof(float));
    OK(pcl_model_forward(m, x, &y));
    OK(pcl_model_backward(m, dy));
    ck_assert_uint_eq(pcl_device_memory_in_use(ctx), after_backward);
    pcl_tensor_destroy(x), pcl_tensor_destroy(dy);
    pcl_model_destroy(warm), pcl_model_destroy(m);
}
END_TEST

/* ---- upsample + conv2d as one sub-pixel convolution -------------------- */

/* max |a - b| <= tol * (1 + max |b|), no NaN (a: fused, b: layers apart). */
static void assert_close(pcl_tensor *a, pcl_tensor *b, double tol, const char *what)
{
    size_t n = pcl_tensor_count(a);
    ck_assert_uint_eq(n, pcl_tensor_count(b));
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    OK(pcl_tensor_download(a, x));
    OK(pcl_tensor_download(b, y));
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(x[i]) && isfinite(y[i]), "%s[%zu]: %g, %g", what, i, x[i], y[i]);
        scale = fmax(scale, fabs(y[i]));
        worst = fmax(worst, fabs((double)x[i] - y[i]));
    }
    ck_assert_msg(worst <= tol * (1.0 + scale), "%s: fused and separate differ by %.3g (largest value %.3g)", what,
                  worst, scale);
    free(x);
    free(y);
}

static size_t forward_bytes(pcl_model *m, pcl_tensor *x)
{
    pcl_tensor *y;
    OK(pcl_context_finish(ctx));
    size_t before = pcl_device_memory_in_use(ctx);
    OK(pcl_model_forward(m, x, &y));
    OK(pcl_context_finish(ctx));
    return pcl_device_memory_in_use(ctx) - before;
}

START_TEST(test_upsample_conv_fused)
{
    /* A decoder: each 2x upsampling + 5x5 (7x7) conv runs fused by default,
     * apart with PERCEPTCL_FUSE_UPSAMPLE=0. Both must agree to float32
     * rounding in training (batch statistics) and inference (running ones,
     * the ReLU stored by the fused step) and in every parameter gradient;
     * the fused model never makes the upsampled maps (2x4x12x10,
     * 2x3x24x20 and 2x2x48x40 floats) and instead keeps each conv's phase
     * weights and their gradients (12x4x3x3 + 12, 8x3x3x3 + 8, 4x2x5x5 + 4). */
    static const pcl_layer_spec spec[] = {
        PCL_SPEC_CONV2D(NULL, 1, 4, 5, 2, 2, PCL_PADDING_ZERO),      PCL_SPEC_RELU,
        PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 4, 3, 5, 1, 2, PCL_PADDING_ZERO), PCL_SPEC_RELU,
        PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 3, 2, 5, 1, 2, PCL_PADDING_ZERO), PCL_SPEC_BATCHNORM(NULL, 2),
        PCL_SPEC_RELU,        PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 2, 1, 7, 1, 3, PCL_PADDING_REPLICATE),
        PCL_SPEC_TANH,
    };
    const int count = (int)(sizeof spec / sizeof *spec);
    pcl_model *fused, *apart;
    pcl_tensor *x, *dy, *yf, *ya;
    OK(pcl_model_build(ctx, spec, count, &fused));
    OK(pcl_model_build(ctx, spec, count, &apart));
    OK(pcl_model_init_weights(fused, PCL_INIT_TORCH_DEFAULT, 0, 5));
    OK(pcl_model_init_weights(apart, PCL_INIT_TORCH_DEFAULT, 0, 5));
    OK(pcl_tensor_create(ctx, 2, 1, 12, 10, &x));
    OK(pcl_tensor_create(ctx, 2, 1, 48, 40, &dy));
    OK(pcl_tensor_init_gaussian(x, 1.0, 6));
    OK(pcl_tensor_init_gaussian(dy, 1.0, 7));
    size_t fused_bytes = 0;
    for (int mode = 0; mode < 2; mode++) { /* the first forward of each allocates, reading the variable */
        pcl_model *warm;
        OK(pcl_model_build(ctx, spec, count, &warm));
        OK(pcl_context_finish(ctx));
        if (mode) setenv("PERCEPTCL_FUSE_UPSAMPLE", "0", 1);
        OK(pcl_model_forward(warm, x, &yf)); /* the context's scratch grown first */
        size_t bytes = forward_bytes(mode ? apart : fused, x);
        OK(pcl_context_finish(ctx));
        unsetenv("PERCEPTCL_FUSE_UPSAMPLE");
        pcl_model_destroy(warm);
        if (!mode)
            fused_bytes = bytes;
        else
            ck_assert_uint_eq(bytes + 2 * (444 + 224 + 204) * sizeof(float),
                              fused_bytes + (2 * 4 * 12 * 10 + 2 * 3 * 24 * 20 + 2 * 2 * 48 * 40) * sizeof(float));
    }
    for (int step = 0; step < 2; step++) {
        OK(pcl_model_zero_grad(fused));
        OK(pcl_model_zero_grad(apart));
        OK(pcl_model_forward(fused, x, &yf));
        OK(pcl_model_forward(apart, x, &ya));
        assert_close(yf, ya, 1e-5, "training y");
        OK(pcl_model_backward(fused, dy));
        OK(pcl_model_backward(apart, dy));
        for (int i = 0; i < count; i++) {
            pcl_layer *lf = pcl_model_layer(fused, i), *la = pcl_model_layer(apart, i);
            for (int p = 0; p < pcl_layer_param_count(lf); p++) {
                pcl_tensor *gf, *ga;
                char what[64];
                OK(pcl_layer_param(lf, p, NULL, &gf, NULL));
                OK(pcl_layer_param(la, p, NULL, &ga, NULL));
                snprintf(what, sizeof what, "layer %d parameter %d gradient", i, p);
                assert_close(gf, ga, 1e-3, what); /* sums of ~10^3 terms; conv 6 bias: 0 up to rounding (the BN) */
            }
        }
    }
    pcl_model_set_training(fused, 0);
    pcl_model_set_training(apart, 0);
    OK(pcl_model_forward(fused, x, &yf));
    OK(pcl_model_forward(apart, x, &ya));
    assert_close(yf, ya, 1e-5, "inference y");
    /* A forward that stops at a fused upsample gives its output. */
    OK(pcl_model_forward_to(fused, x, 3, &yf));
    OK(pcl_model_forward_to(apart, x, 3, &ya));
    ck_assert_int_eq(yf->h, 12);
    assert_close(yf, ya, 0.0, "upsample output");
    pcl_tensor_destroy(x), pcl_tensor_destroy(dy);
    pcl_model_destroy(fused), pcl_model_destroy(apart);
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
    tcase_add_test(tc, test_architectures);
    tcase_add_test(tc, test_forward_to_the_code);
    tcase_add_test(tc, test_bad_tables);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_load_refuses);
    tcase_add_test(tc, test_sequential_names);
    tcase_add_test(tc, test_named_training_state);
    tcase_add_test(tc, test_init_torch_default);
    tcase_add_test(tc, test_conv_ae_trains);
    tcase_add_test(tc, test_memory);
    tcase_add_test(tc, test_upsample_conv_fused);
    suite_add_tcase(suite, tc);
    snprintf(work, sizeof work, "/tmp/pcl_model_XXXXXX");
    if (!mkdtemp(work)) return 1;
    int failed = pcl_check_run(suite, 1);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    if (system(command) != 0) failed++;
    pcl_context_destroy(ctx);
    return failed ? 1 : 0;
}
