/* Optimizers on a real device against a float64 host reference of the update
 * rules documented for torch.optim.SGD and torch.optim.Adam (written here
 * from those formulas, not from src/nn/optimizer_*.c):
 *   - hand-derived values for one element (SGD with momentum, Adam's first
 *     step moves by lr sign(g));
 *   - several steps with new random gradients each step, two tensors with
 *     different learning-rate multipliers (SRCNN: 1e-4, last layer 1e-5);
 *     after every step the device's parameters and state are compared with
 *     one float64 step from the device's previous float32 state (so the
 *     bound is that of one step, not an accumulated drift);
 *   - work-group limits 1 and 16 and an awkward size (1, 1031 elements);
 *   - a bitwise re-run; NaN anywhere fails; bad arguments refused.
 * Tolerances: each float32 operation is within u = 2^-24 of its result and
 * OpenCL allows 3 ulp for sqrt and 2.5 ulp for division, so an output is
 * within k u times the same computation on absolute values (its
 * "magnitude"); k counts the operations (SGD 8, Adam 32 on the update). */
#include "perceptcl/image.h"
#include "perceptcl/optimizer.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

#define U (1.0 / 16777216.0)

static pcl_context *ctx;
static uint64_t rng = 12345;

static float urand(double lo, double hi)
{
    return (float)(lo + (hi - lo) * (double)(pcl_rng_next(&rng) >> 11) * 0x1.0p-53);
}

static pcl_tensor *tensor_of(const float *v, int n)
{
    pcl_tensor *t;
    ck_assert_msg(pcl_tensor_create(ctx, 1, n, 1, 1, &t) == PCL_OK, "%s", pcl_last_error());
    ck_assert(pcl_tensor_upload(t, v) == PCL_OK);
    return t;
}

static void download(const pcl_tensor *t, float *v)
{
    ck_assert_msg(pcl_tensor_download(t, v) == PCL_OK, "%s", pcl_last_error());
}

static void check_close(const char *what, int step, int i, double got, double want, double tol)
{
    ck_assert_msg(!isnan(got), "%s step %d [%d]: NaN", what, step, i);
    ck_assert_msg(fabs(got - want) <= tol, "%s step %d [%d]: got %.9g, want %.9g (tol %.3g)", what, step, i, got,
                  want, tol);
}

/* ---- hand-derived values ----------------------------------------------- */

START_TEST(test_hand_values)
{
    /* SGD lr 0.1, momentum 0.9, g = 0.5 twice from p = 1:
     * step 1: b = 0.5, p = 0.95; step 2: b = 0.9 * 0.5 + 0.5 = 0.95, p = 0.855. */
    float p0 = 1.0f, g0 = 0.5f, out;
    pcl_tensor *p = tensor_of(&p0, 1), *g = tensor_of(&g0, 1);
    pcl_sgd_config sc = pcl_sgd_config_default();
    sc.learning_rate = 0.1;
    sc.momentum = 0.9;
    pcl_optimizer *opt;
    ck_assert(pcl_sgd_create(ctx, &sc, &opt) == PCL_OK);
    ck_assert(pcl_optimizer_add(opt, p, g, "w", 1.0) == PCL_OK);
    ck_assert_int_eq(pcl_optimizer_state_count(opt), 1);
    ck_assert(pcl_optimizer_step(opt) == PCL_OK);
    download(p, &out);
    ck_assert_msg(fabs(out - 0.95) <= 2 * U, "sgd step 1: %.9g", out);
    ck_assert(pcl_optimizer_step(opt) == PCL_OK);
    download(p, &out);
    ck_assert_msg(fabs(out - 0.855) <= 4 * U, "sgd step 2: %.9g", out);
    pcl_tensor *b;
    const char *name;
    ck_assert(pcl_optimizer_state(opt, 0, 0, &b, &name) == PCL_OK);
    ck_assert_str_eq(name, "momentum_buffer");
    download(b, &out);
    ck_assert_msg(fabs(out - 0.95) <= 2 * U, "momentum buffer: %.9g", out);
    ck_assert_uint_eq(pcl_optimizer_steps(opt), 2);
    pcl_optimizer_destroy(opt);

    /* Adam's first step: m = (1 - b1) g, v = (1 - b2) g^2, so the corrected
     * ratio is g / (|g| + eps) and p moves by lr sign(g) (to within eps/|g|). */
    p0 = 1.0f;
    g0 = -0.25f;
    ck_assert(pcl_tensor_upload(p, &p0) == PCL_OK);
    ck_assert(pcl_tensor_upload(g, &g0) == PCL_OK);
    pcl_adam_config ac = pcl_adam_config_default();
    ac.learning_rate = 0.01;
    ck_assert(pcl_adam_create(ctx, &ac, &opt) == PCL_OK);
    ck_assert(pcl_optimizer_add(opt, p, g, "w", 1.0) == PCL_OK);
    ck_assert(pcl_optimizer_step(opt) == PCL_OK);
    download(p, &out);
    ck_assert_msg(fabs(out - 1.01) <= 1e-6, "adam step 1: %.9g", out);
    ck_assert(pcl_optimizer_state(opt, 0, 1, &b, &name) == PCL_OK);
    ck_assert_str_eq(name, "exp_avg_sq");
    download(b, &out);
    ck_assert_msg(fabs(out - 0.001 * 0.0625) <= 1e-6 * 0.0000625, "adam v: %.9g", out);
    pcl_optimizer_destroy(opt);
    pcl_tensor_destroy(p);
    pcl_tensor_destroy(g);
}
END_TEST

/* ---- several steps against the float64 reference ------------------------- */

typedef struct run_case {
    const char *label;
    int adam;
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps;
    int nesterov;
    size_t wg_limit;
} run_case;

static const run_case cases[] = {
    {"sgd plain", 0, 1e-2, 0, 0, 0, 0, 0, 0, 0, 0},
    {"sgd srcnn", 0, 1e-4, 0.9, 0, 0, 0, 0, 0, 0, 0},
    {"sgd damp+wd", 0, 5e-2, 0.9, 0.1, 1e-3, 0, 0, 0, 0, 1},
    {"sgd nesterov", 0, 3e-2, 0.8, 0, 1e-2, 0, 0, 0, 1, 16},
    {"adam default", 1, 1e-3, 0, 0, 0, 0.9, 0.999, 1e-8, 0, 0},
    {"adam wd", 1, 2e-2, 0, 0, 5e-3, 0.8, 0.99, 1e-6, 0, 1},
    {"adam big eps", 1, 1e-1, 0, 0, 0, 0.5, 0.9, 1e-1, 0, 16},
};

#define NT 2
#define STEPS 12

/* One reference step of tensor values (double) from float32 state; writes
 * expected p, state and their tolerances. */
static void reference_step(const run_case *c, int t, double lr, int n, const float *p, const float *g,
                           const float *s0, const float *s1, double *ep, double *tp, double *e0, double *t0,
                           double *e1, double *t1)
{
    for (int i = 0; i < n; i++) {
        double d = g[i], dm = fabs(g[i]);
        if (c->weight_decay != 0) {
            d += c->weight_decay * p[i];
            dm += c->weight_decay * fabs(p[i]);
        }
        if (!c->adam) {
            if (c->momentum != 0) {
                double b = t == 1 ? d : c->momentum * s0[i] + (1 - c->dampening) * d;
                double bm = t == 1 ? dm : c->momentum * fabs(s0[i]) + (1 - c->dampening) * dm;
                e0[i] = b;
                t0[i] = 8 * U * bm;
                if (c->nesterov) {
                    d = d + c->momentum * b;
                    dm = dm + c->momentum * bm;
                } else {
                    d = b;
                    dm = bm;
                }
            }
            ep[i] = p[i] - lr * d;
            tp[i] = 8 * U * (fabs(p[i]) + lr * dm);
        } else {
            double m = c->beta1 * s0[i] + (1 - c->beta1) * d;
            double mm = c->beta1 * fabs(s0[i]) + (1 - c->beta1) * dm;
            double v = c->beta2 * s1[i] + (1 - c->beta2) * d * d;
            e0[i] = m;
            t0[i] = 6 * U * mm;
            e1[i] = v;
            t1[i] = 8 * U * (c->beta2 * s1[i] + (1 - c->beta2) * dm * dm);
            /* Documented form: m_hat / (sqrt(v_hat) + eps). */
            double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
            double denom = sqrt(v / bc2) + c->eps;
            double upd = lr * (m / bc1) / denom;
            ep[i] = p[i] - upd;
            tp[i] = 2 * U * fabs(p[i]) + 32 * U * lr / bc1 * (mm + fabs(m)) / denom;
        }
    }
}

START_TEST(test_steps)
{
    const run_case *c = &cases[_i];
    const int sizes[NT] = {1031, 1};
    const double mult[NT] = {1.0, 0.1};
    pcl_context_set_work_group_limit(ctx, c->wg_limit);
    pcl_optimizer *opt;
    if (c->adam) {
        pcl_adam_config ac = {c->lr, c->beta1, c->beta2, c->eps, c->weight_decay};
        ck_assert_msg(pcl_adam_create(ctx, &ac, &opt) == PCL_OK, "%s", pcl_last_error());
    } else {
        pcl_sgd_config sc = {c->lr, c->momentum, c->dampening, c->weight_decay, c->nesterov};
        ck_assert_msg(pcl_sgd_create(ctx, &sc, &opt) == PCL_OK, "%s", pcl_last_error());
    }
    pcl_tensor *p[NT], *g[NT];
    float *hp[NT], *hg[NT], *hs0[NT], *hs1[NT];
    for (int k = 0; k < NT; k++) {
        int n = sizes[k];
        hp[k] = malloc(n * sizeof(float));
        hg[k] = malloc(n * sizeof(float));
        hs0[k] = calloc(n, sizeof(float));
        hs1[k] = calloc(n, sizeof(float));
        for (int i = 0; i < n; i++) hp[k][i] = urand(-1, 1);
        p[k] = tensor_of(hp[k], n);
        g[k] = tensor_of(hp[k], n);
        char name[16];
        snprintf(name, sizeof name, "%d.weight", k);
        ck_assert_msg(pcl_optimizer_add(opt, p[k], g[k], name, mult[k]) == PCL_OK, "%s", pcl_last_error());
    }
    int slots = pcl_optimizer_state_count(opt);
    ck_assert_int_eq(slots, c->adam ? 2 : c->momentum != 0 ? 1 : 0);
    double *ep = malloc(1031 * 6 * sizeof(double));
    double *tp = ep + 1031, *e0 = tp + 1031, *t0 = e0 + 1031, *e1 = t0 + 1031, *t1 = e1 + 1031;
    float *got = malloc(1031 * sizeof(float));
    for (int t = 1; t <= STEPS; t++) {
        for (int k = 0; k < NT; k++) {
            /* Gradients of mixed scale, some exact zeros (Adam's v stays 0 there). */
            for (int i = 0; i < sizes[k]; i++) hg[k][i] = i % 17 == 3 ? 0.0f : urand(-1, 1) * (float)(1 + i % 5);
            ck_assert(pcl_tensor_upload(g[k], hg[k]) == PCL_OK);
        }
        /* Every other step also zeroes the gradients it read; the update is the same. */
        const int zero_grad = t % 2 == 0;
        ck_assert_msg((zero_grad ? pcl_optimizer_step_zero_grad(opt) : pcl_optimizer_step(opt)) == PCL_OK, "%s",
                      pcl_last_error());
        for (int k = 0; k < NT; k++) {
            int n = sizes[k];
            download(g[k], got);
            for (int i = 0; i < n; i++)
                ck_assert_msg(zero_grad ? got[i] == 0.0f : !memcmp(&got[i], &hg[k][i], sizeof(float)),
                              "%s step %d: gradient [%d] %g after the step (zeroed: %d)", c->label, t, i, got[i],
                              zero_grad);
            reference_step(c, t, c->lr * mult[k], n, hp[k], hg[k], hs0[k], hs1[k], ep, tp, e0, t0, e1, t1);
            download(p[k], hp[k]);
            for (int i = 0; i < n; i++) check_close(c->label, t, i, hp[k][i], ep[i], tp[i]);
            for (int s = 0; s < slots; s++) {
                pcl_tensor *st;
                ck_assert(pcl_optimizer_state(opt, k, s, &st, NULL) == PCL_OK);
                float *hs = s == 0 ? hs0[k] : hs1[k];
                download(st, hs);
                for (int i = 0; i < n; i++)
                    check_close(s == 0 ? "state 0" : "state 1", t, i, hs[i], s == 0 ? e0[i] : e1[i],
                                s == 0 ? t0[i] : t1[i]);
            }
        }
    }
    ck_assert_uint_eq(pcl_optimizer_steps(opt), STEPS);
    free(got);
    free(ep);
    for (int k = 0; k < NT; k++) {
        free(hp[k]);
        free(hg[k]);
        free(hs0[k]);
        free(hs1[k]);
        pcl_tensor_destroy(p[k]);
        pcl_tensor_destroy(g[k]);
    }
    pcl_optimizer_destroy(opt);
    pcl_context_set_work_group_limit(ctx, 0);
}
END_TEST

/* ---- bitwise re-run, and continuing from restored state ----------------- */

/* Runs Adam for `steps` steps from a fixed start; if split > 0, copies the
 * state out after split steps into a fresh optimizer (as a checkpoint
 * restore does) and continues there. Returns the final parameters. */
static void adam_run(int steps, int split, float *result)
{
    enum { N = 257 };
    float p0[N], gs[N];
    uint64_t r = 99;
    for (int i = 0; i < N; i++) p0[i] = (float)((double)(pcl_rng_next(&r) >> 11) * 0x1.0p-53 - 0.5);
    pcl_tensor *p = tensor_of(p0, N), *g = tensor_of(p0, N);
    pcl_adam_config ac = pcl_adam_config_default();
    ac.learning_rate = 0.05;
    pcl_optimizer *opt;
    ck_assert(pcl_adam_create(ctx, &ac, &opt) == PCL_OK);
    ck_assert(pcl_optimizer_add(opt, p, g, "p", 1.0) == PCL_OK);
    for (int t = 0; t < steps; t++) {
        if (split > 0 && t == split) {
            float m[N], v[N];
            pcl_tensor *sm, *sv;
            ck_assert(pcl_optimizer_state(opt, 0, 0, &sm, NULL) == PCL_OK);
            ck_assert(pcl_optimizer_state(opt, 0, 1, &sv, NULL) == PCL_OK);
            download(sm, m);
            download(sv, v);
            uint64_t k = pcl_optimizer_steps(opt);
            pcl_optimizer_destroy(opt);
            ck_assert(pcl_adam_create(ctx, &ac, &opt) == PCL_OK);
            ck_assert(pcl_optimizer_add(opt, p, g, "p", 1.0) == PCL_OK);
            ck_assert(pcl_optimizer_state(opt, 0, 0, &sm, NULL) == PCL_OK);
            ck_assert(pcl_optimizer_state(opt, 0, 1, &sv, NULL) == PCL_OK);
            ck_assert(pcl_tensor_upload(sm, m) == PCL_OK);
            ck_assert(pcl_tensor_upload(sv, v) == PCL_OK);
            pcl_optimizer_set_steps(opt, k);
        }
        for (int i = 0; i < N; i++) gs[i] = (float)((double)(pcl_rng_next(&r) >> 11) * 0x1.0p-53 - 0.5);
        ck_assert(pcl_tensor_upload(g, gs) == PCL_OK);
        ck_assert(pcl_optimizer_step(opt) == PCL_OK);
    }
    download(p, result);
    for (int i = 0; i < N; i++) ck_assert_msg(!isnan(result[i]), "NaN at %d", i);
    pcl_optimizer_destroy(opt);
    pcl_tensor_destroy(p);
    pcl_tensor_destroy(g);
}

START_TEST(test_bitwise)
{
    float a[257], b[257], c[257];
    adam_run(10, 0, a);
    adam_run(10, 0, b);
    adam_run(10, 5, c);
    ck_assert_msg(!memcmp(a, b, sizeof a), "re-run differs");
    ck_assert_msg(!memcmp(a, c, sizeof a), "run continued from copied state differs");
}
END_TEST

START_TEST(test_bad_arguments)
{
    pcl_optimizer *opt;
    pcl_sgd_config sc = pcl_sgd_config_default();
    sc.learning_rate = 0;
    ck_assert_int_eq(pcl_sgd_create(ctx, &sc, &opt), PCL_ERR_INVALID_ARGUMENT);
    sc = pcl_sgd_config_default();
    sc.nesterov = 1;
    ck_assert_int_eq(pcl_sgd_create(ctx, &sc, &opt), PCL_ERR_INVALID_ARGUMENT);
    ck_assert(strstr(pcl_last_error(), "Nesterov"));
    pcl_adam_config ac = pcl_adam_config_default();
    ac.beta2 = 1.0;
    ck_assert_int_eq(pcl_adam_create(ctx, &ac, &opt), PCL_ERR_INVALID_ARGUMENT);
    ac = pcl_adam_config_default();
    ck_assert(pcl_adam_create(ctx, &ac, &opt) == PCL_OK);
    float v[4] = {0};
    pcl_tensor *p = tensor_of(v, 4), *g = tensor_of(v, 3);
    ck_assert_int_eq(pcl_optimizer_add(opt, p, g, "p", 1.0), PCL_ERR_INVALID_ARGUMENT); /* sizes */
    pcl_tensor_destroy(g);
    g = tensor_of(v, 4);
    ck_assert_int_eq(pcl_optimizer_add(opt, p, g, "p", -1.0), PCL_ERR_INVALID_ARGUMENT);
    ck_assert(pcl_optimizer_add(opt, p, g, "p", 1.0) == PCL_OK);
    ck_assert_int_eq(pcl_optimizer_add(opt, p, g, "q", 1.0), PCL_ERR_INVALID_ARGUMENT); /* same tensor */
    ck_assert(pcl_optimizer_step(opt) == PCL_OK);
    pcl_tensor *q = tensor_of(v, 4);
    ck_assert_int_eq(pcl_optimizer_add(opt, q, g, "q", 1.0), PCL_ERR_INVALID_ARGUMENT); /* after a step */
    ck_assert_int_eq(pcl_optimizer_set_learning_rate(opt, NAN), PCL_ERR_INVALID_ARGUMENT);
    pcl_optimizer_kind kind;
    ck_assert(pcl_optimizer_kind_parse("Adam", &kind) == PCL_OK && kind == PCL_OPTIMIZER_KIND_ADAM);
    ck_assert_int_eq(pcl_optimizer_kind_parse("rmsprop", &kind), PCL_ERR_INVALID_ARGUMENT);
    char text[128];
    ck_assert(pcl_optimizer_describe(opt, text, sizeof text) == PCL_OK);
    ck_assert(strstr(text, "beta2=0.999"));
    pcl_optimizer_destroy(opt);
    pcl_tensor_destroy(p);
    pcl_tensor_destroy(q);
    pcl_tensor_destroy(g);
}
END_TEST

int main(void)
{
    pcl_status status = pcl_context_create(NULL, &ctx);
    if (status != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 77; /* meson: skipped */
    }
    Suite *suite = suite_create("optimizer");
    TCase *tc = tcase_create("optimizer");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_hand_values);
    tcase_add_loop_test(tc, test_steps, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_bitwise);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(ctx);
    return failed ? 1 : 0;
}
