/* Layers, tensors and the GEMM backends on a real device, against the float64
 * references of tests/layers_reference.c:
 *   - forward against the reference (outputs poisoned with NaN first, so an
 *     unwritten element fails; a NaN anywhere fails);
 *   - backward: input gradient and parameter gradients (accumulated onto a
 *     non-zero start) against the reference's analytic gradient, and both
 *     against central finite differences of the reference's forward;
 *   - awkward shapes (odd sizes, stride 2 with odd input, batch 3, channel
 *     counts that are not multiples of 4, edge-gathering replicate padding),
 *     under the device's work-group limit and under limits 1 and 16;
 *   - a bitwise re-run (determinism);
 *   - both GEMM backends (CLBlast 1.5.3 predates upstream GEMM fixes).
 * Built twice: test_layers (the opencl suite) and, with PCL_TEST_SMALL,
 * test_layers_small (the oclgrind suite, tests/oclgrind/README.md): the same
 * checks on fewer, smaller shapes, still odd-sized and covering every path.
 * Tolerances: a sum of K float32 products is within about K u sum|terms|
 * (u = 2^-24) of the exact value, so each output's bound is c (K + 2) u times
 * the same computation on absolute values (the "magnitude"). */
#include "nn/gemm.h"
#include "nn/layer_internal.h"
#include "runtime/internal.h"
#include "layers_reference.h"
#include "perceptcl/image.h"
#include "perceptcl/layers.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

#define U (1.0 / 16777216.0)

static pcl_context *ctx;
static const size_t limits[] = {0, 1, 16};

/* ---- host data -------------------------------------------------------- */

static uint64_t test_rng;

static double urand(double lo, double hi)
{
    return lo + (hi - lo) * (double)(pcl_rng_next(&test_rng) >> 11) * 0x1.0p-53;
}

typedef struct arr {
    long n;
    float *f;  /* what the device gets */
    double *d; /* the same values in double */
} arr;

static arr arr_new(long n)
{
    arr a = {n, calloc((size_t)n, sizeof(float)), calloc((size_t)n, sizeof(double))};
    ck_assert_ptr_nonnull(a.f);
    ck_assert_ptr_nonnull(a.d);
    return a;
}

static arr arr_random(long n, double lo, double hi)
{
    arr a = arr_new(n);
    for (long i = 0; i < n; i++) {
        a.f[i] = (float)urand(lo, hi);
        a.d[i] = a.f[i];
    }
    return a;
}

/* Values with |v| in [0.05, 1]: no ReLU kink within a finite-difference step. */
static arr arr_away_from_zero(long n)
{
    arr a = arr_new(n);
    for (long i = 0; i < n; i++) {
        double v = urand(0.05, 1.0);
        a.f[i] = (float)(urand(0, 1) < 0.5 ? -v : v);
        a.d[i] = a.f[i];
    }
    return a;
}

static void arr_free(arr *a)
{
    free(a->f);
    free(a->d);
    a->f = NULL;
    a->d = NULL;
}

static double *dnew(long n)
{
    double *p = calloc((size_t)n, sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}

static double *dabs(const double *v, long n)
{
    double *p = dnew(n);
    for (long i = 0; i < n; i++) p[i] = fabs(v[i]);
    return p;
}

static pcl_tensor *tensor(int n, int c, int h, int w)
{
    pcl_tensor *t = NULL;
    ck_assert_msg(pcl_tensor_create(ctx, n, c, h, w, &t) == PCL_OK, "%s", pcl_last_error());
    return t;
}

static pcl_tensor *tensor_from(const arr *a, int n, int c, int h, int w)
{
    pcl_tensor *t = tensor(n, c, h, w);
    ck_assert_int_eq((long)pcl_tensor_count(t), a->n);
    ck_assert_msg(pcl_tensor_upload(t, a->f) == PCL_OK, "%s", pcl_last_error());
    return t;
}

static pcl_tensor *poisoned(int n, int c, int h, int w)
{
    pcl_tensor *t = tensor(n, c, h, w);
    ck_assert(pcl_tensor_fill(t, NAN) == PCL_OK);
    return t;
}

static float *download(const pcl_tensor *t)
{
    float *p = malloc(pcl_tensor_count(t) * sizeof(float));
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(pcl_tensor_download(t, p) == PCL_OK, "%s", pcl_last_error());
    return p;
}

/* got[i] within tol[i] (or scale * mag[i] + floor when tol is NULL) of ref[i]; NaN fails. */
static void compare(const char *what, const float *got, const double *ref, const double *mag, double scale,
                    double floor_, long n)
{
    for (long i = 0; i < n; i++) {
        double tol = (mag ? scale * mag[i] : 0.0) + floor_;
        double err = fabs((double)got[i] - ref[i]);
        ck_assert_msg(isfinite(got[i]) && err <= tol, "%s[%ld] = %.9g, reference %.9g (error %.3g > tolerance %.3g)",
                      what, i, (double)got[i], ref[i], err, tol);
    }
}

static void set_limit(size_t limit)
{
    pcl_context_set_work_group_limit(ctx, limit);
}

static void upload_param(pcl_layer *layer, int index, const arr *a, float grad_start)
{
    pcl_tensor *value, *grad;
    ck_assert(pcl_layer_param(layer, index, &value, &grad, NULL) == PCL_OK);
    ck_assert_int_eq((long)pcl_tensor_count(value), a->n);
    ck_assert(pcl_tensor_upload(value, a->f) == PCL_OK);
    ck_assert(pcl_tensor_fill(grad, grad_start) == PCL_OK);
}

static float *download_grad(pcl_layer *layer, int index)
{
    pcl_tensor *grad;
    ck_assert(pcl_layer_param(layer, index, NULL, &grad, NULL) == PCL_OK);
    return download(grad);
}

static void assert_bitwise(const char *what, const float *a, const float *b, long n)
{
    ck_assert_msg(memcmp(a, b, (size_t)n * sizeof(float)) == 0, "%s differs between two identical runs", what);
}

/* ---- finite differences of a float64 loss ------------------------------ */

typedef double (*loss_fn)(void *state);

/* For up to 10 entries of param: central difference of loss against the
 * reference analytic gradient (tight: float64 only) and the device gradient
 * (within the device tolerance dev_tol[i]). */
static void check_fd(const char *what, double *param, long n, loss_fn loss, void *state, double h,
                     const double *analytic, const float *device, const double *dev_tol)
{
    int samples = n < 10 ? (int)n : 10;
    for (int s = 0; s < samples; s++) {
        long i = n <= 10 ? s : (long)(urand(0, 1) * n) % n;
        double saved = param[i];
        param[i] = saved + h;
        double lp = loss(state);
        param[i] = saved - h;
        double lm = loss(state);
        param[i] = saved;
        double fd = (lp - lm) / (2 * h);
        double slack = 1e-6 * (1.0 + fabs(fd));
        ck_assert_msg(fabs(fd - analytic[i]) <= slack, "%s[%ld]: reference gradient %.12g, finite difference %.12g",
                      what, i, analytic[i], fd);
        ck_assert_msg(isfinite(device[i]) && fabs(device[i] - fd) <= dev_tol[i] + slack,
                      "%s[%ld]: device gradient %.9g, finite difference %.12g", what, i, (double)device[i], fd);
    }
}

static double dot(const double *a, const double *b, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- GEMM ------------------------------------------------------------- */

/* {41, 99, 2100} and {9, 40, 9000} reach the packed path's k blocking (k >
 * 2048 over many blocks) and its split-K (few blocks, k > 8192); shapes with
 * m + k even start A at offset 0, so those with 8 | m read A in place. */
#ifdef PCL_TEST_SMALL
/* {2, 3, 2100}: the k blocking; {1, 2, 8300}: split-K. */
static const int gemm_shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {8, 16, 40}, {2, 3, 2100}, {1, 2, 8300}};
#else
static const int gemm_shapes[][3] = {{1, 1, 1},    {3, 5, 7},     {17, 33, 65},   {64, 64, 64},   {70, 129, 31},
                                     {5, 300, 2},  {41, 99, 2100}, {9, 40, 9000}, {16, 70, 2100}, {8, 33, 9000}};
#endif

static void run_gemm_case(pcl_gemm_backend backend, int ta, int tb, int m, int n, int k, double beta)
{
    int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    int lda = a_cols + 2, ldb = b_cols + 1, ldc = n + 3, a_off = (m + k) % 2 ? 3 : 0, b_off = 1, c_off = 2;
    arr a = arr_random(a_off + (long)a_rows * lda, -1, 1), b = arr_random(b_off + (long)b_rows * ldb, -1, 1);
    arr c = arr_random(c_off + (long)m * ldc, -1, 1);
    if (beta == 0.0)
        for (long i = 0; i < c.n; i++) c.f[i] = NAN; /* must be overwritten, never read */
    cl_mem ba, bb, bc;
    ck_assert(pcl_buffer_create(ctx, a.n * 4, &ba) == PCL_OK);
    ck_assert(pcl_buffer_create(ctx, b.n * 4, &bb) == PCL_OK);
    ck_assert(pcl_buffer_create(ctx, c.n * 4, &bc) == PCL_OK);
    pcl_buffer_write(ctx, ba, 0, a.n * 4, a.f);
    pcl_buffer_write(ctx, bb, 0, b.n * 4, b.f);
    pcl_buffer_write(ctx, bc, 0, c.n * 4, c.f);
    ck_assert_msg(pcl_gemm(ctx, backend, ta, tb, m, n, k, 0.75f, ba, a_off, lda, bb, b_off, ldb, (float)beta, bc,
                           c_off, ldc) == PCL_OK,
                  "%s", pcl_last_error());
    float *got = malloc(c.n * 4);
    ck_assert(pcl_buffer_read(ctx, bc, 0, c.n * 4, got) == PCL_OK);
    double *ref = dnew(c.n), *mag = dnew(c.n);
    memcpy(ref, c.d, c.n * sizeof(double));
    for (long i = 0; i < c.n; i++) mag[i] = fabs(c.d[i]);
    double *aa = dabs(a.d, a.n), *ab = dabs(b.d, b.n);
    ref_gemm(ta, tb, m, n, k, 0.75, a.d + a_off, lda, b.d + b_off, ldb, beta, ref + c_off, ldc);
    ref_gemm(ta, tb, m, n, k, 0.75, aa + a_off, lda, ab + b_off, ldb, fabs(beta), mag + c_off, ldc);
    char what[96];
    snprintf(what, sizeof what, "gemm %s %c%c %dx%dx%d beta %g", pcl_gemm_backend_name(backend), ta ? 'T' : 'N',
             tb ? 'T' : 'N', m, n, k, beta);
    for (int i = 0; i < m; i++) /* only C's m x n block; the padding must be untouched */
        compare(what, got + c_off + (long)i * ldc, ref + c_off + (long)i * ldc, mag + c_off + (long)i * ldc,
                2.0 * (k + 3) * U, 1e-30, n);
    for (long i = 0; i < c.n; i++) {
        long j = i - c_off;
        int inside = j >= 0 && j / ldc < m && j % ldc < n;
        if (!inside)
            ck_assert_msg(memcmp(&got[i], &c.f[i], 4) == 0, "%s: element %ld outside C was written", what, i);
    }
    free(got), free(ref), free(mag), free(aa), free(ab);
    arr_free(&a), arr_free(&b), arr_free(&c);
    pcl_buffer_release(ba), pcl_buffer_release(bb), pcl_buffer_release(bc);
}

/* Loop index of the GEMM-using tests: 0..2 the own packed kernels under each
 * work-group limit, 3 CLBlast, 4..6 the own tiled kernel under each limit. */
static pcl_gemm_backend gemm_variant(int i)
{
    ck_assert(pcl_context_finish(ctx) == PCL_OK); /* no kernel running while the environment changes */
    setenv("PERCEPTCL_GEMM_KERNEL", i >= 4 ? "tiled" : "packed", 1);
    /* Variant 1: the packed convolution one image per chunk (the chunk loop,
     * and weight gradients accumulated over chunks). */
    if (i == 1) setenv("PERCEPTCL_CONV_CHUNK", "1", 1);
    else unsetenv("PERCEPTCL_CONV_CHUNK");
    /* Variant 0: the direct convolution with 32 outputs per item (the default
     * takes 48-96, by output rows per item), and dw_ot
     * with 32 channels per item where it would take 64. */
    if (i == 0) setenv("PERCEPTCL_CONV_DQ", "2", 1), setenv("PERCEPTCL_CONV_OV", "2", 1);
    else unsetenv("PERCEPTCL_CONV_DQ"), unsetenv("PERCEPTCL_CONV_OV");
    /* Variant 5: dw_direct (lane sums) where dw_ot would apply. */
    if (i == 5) setenv("PERCEPTCL_CONV_DW", "lanes", 1);
    else unsetenv("PERCEPTCL_CONV_DW");
    /* Variant 2: the packed im2col path where the direct one would apply,
     * and a transposed A read in place where the default packs it. */
    if (i == 2) setenv("PERCEPTCL_CONV", "packed", 1), setenv("PERCEPTCL_GEMM_PACK_A", "0", 1);
    else unsetenv("PERCEPTCL_CONV"), unsetenv("PERCEPTCL_GEMM_PACK_A");
    set_limit(i == 3 ? 0 : limits[i % 4 == 3 ? 0 : (i < 3 ? i : i - 4)]);
    return i == 3 ? PCL_GEMM_BACKEND_CLBLAST : PCL_GEMM_BACKEND_OWN;
}

START_TEST(test_gemm)
{
    pcl_gemm_backend backend = gemm_variant(_i);
    test_rng = 1000 + (uint64_t)_i;
    for (size_t s = 0; s < sizeof gemm_shapes / sizeof gemm_shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (int bi = 0; bi < 2; bi++)
                run_gemm_case(backend, t & 1, t >> 1, gemm_shapes[s][0], gemm_shapes[s][1], gemm_shapes[s][2],
                              bi ? 0.5 : 0.0);
    set_limit(0);
}
END_TEST

/* ---- tensors and initialisers ------------------------------------------ */

/* The documented draws, written again from tensor.h's description. */
static uint64_t doc_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double doc_uniform(uint64_t *s)
{
    return (double)(doc_splitmix(s) >> 11) / 9007199254740992.0;
}

static double doc_gaussian(uint64_t *s)
{
    double u1 = 1.0 - doc_uniform(s), u2 = doc_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

START_TEST(test_tensor)
{
    pcl_tensor *t = tensor(3, 5, 7, 2);
    ck_assert_int_eq((int)pcl_tensor_count(t), 210);
    ck_assert_int_eq((int)pcl_tensor_image_count(t), 70);
    ck_assert(pcl_tensor_fill(t, 2.5f) == PCL_OK);
    float *p = download(t);
    for (int i = 0; i < 210; i++) ck_assert(p[i] == 2.5f);
    free(p);
    test_rng = 7;
    arr a = arr_random(210, -3, 3);
    ck_assert(pcl_tensor_upload(t, a.f) == PCL_OK);
    pcl_tensor *u = poisoned(1, 210, 1, 1), *v = NULL;
    ck_assert(pcl_tensor_copy(u, t) == PCL_OK);
    p = download(u);
    ck_assert(memcmp(p, a.f, 210 * 4) == 0);
    free(p);
    ck_assert(pcl_tensor_view(t, 7, 30, 1, 1, &v) == PCL_OK);
    ck_assert_ptr_eq(v->mem, t->mem);
    pcl_tensor_destroy(t); /* the view keeps the buffer alive */
    p = download(v);
    ck_assert(memcmp(p, a.f, 210 * 4) == 0);
    free(p);
    pcl_tensor *bad = NULL;
    ck_assert_int_eq(pcl_tensor_view(v, 7, 31, 1, 1, &bad), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_tensor_create(ctx, 0, 1, 1, 1, &bad), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_tensor_copy(u, (pcl_tensor *)v), PCL_OK);
    pcl_tensor_destroy(v);
    pcl_tensor_destroy(u);
    arr_free(&a);

    /* Initialisers: exactly the documented draws, and their statistics. */
    const long n = 100000;
    pcl_tensor *w = tensor(10, 10, 1000, 1);
    for (int kind = 0; kind < 3; kind++) {
        uint64_t seed = 12345 + kind, s = seed;
        if (kind == 0) ck_assert(pcl_tensor_init_gaussian(w, 0.001, seed) == PCL_OK);
        if (kind == 1) ck_assert(pcl_tensor_init_xavier_uniform(w, 300, 500, seed) == PCL_OK);
        if (kind == 2) ck_assert(pcl_tensor_init_he_normal(w, 50, seed) == PCL_OK);
        float *got = download(w);
        double scale = kind == 0 ? 0.001 : kind == 1 ? sqrt(6.0 / 800.0) : sqrt(2.0 / 50.0);
        double sum = 0, sq = 0;
        for (long i = 0; i < n; i++) {
            double e = kind == 1 ? scale * (2.0 * doc_uniform(&s) - 1.0) : scale * doc_gaussian(&s);
            ck_assert_msg(got[i] == (float)e, "initialiser %d element %ld: %.9g, documented draw %.9g", kind, i,
                          (double)got[i], e);
            sum += got[i];
            sq += (double)got[i] * got[i];
        }
        double mean = sum / n, sd = sqrt(sq / n - mean * mean);
        double want_sd = kind == 1 ? scale / sqrt(3.0) : scale;
        ck_assert_msg(fabs(mean) < 0.02 * want_sd && fabs(sd / want_sd - 1.0) < 0.02,
                      "initialiser %d: mean %g, std %g, expected 0, %g", kind, mean, sd, want_sd);
        free(got);
    }
    pcl_tensor_destroy(w);
}
END_TEST

/* ---- conv2d ------------------------------------------------------------- */

/* up = 2: the layer's sub-pixel form on an input upsampled 2x (nearest),
 * pcl_conv2d_forward_upsampled / backward_upsampled; h, w are the input's
 * before the upsampling; the reference upsamples, then convolves. */
typedef struct conv_case {
    int n, c, h, w, o, kh, kw, s, ph, pw, replicate, up;
} conv_case;

#ifdef PCL_TEST_SMALL
static const conv_case conv_cases[] = {
    {3, 3, 7, 9, 5, 3, 3, 1, 1, 1, 0, 0},  /* same-size, zero padding, batch 3 */
    {3, 2, 9, 7, 6, 5, 5, 2, 2, 2, 1, 0},  /* stride 2, odd input, replicate */
    {2, 3, 1, 4, 2, 3, 3, 1, 1, 1, 1, 0},  /* one-row image */
    {2, 4, 10, 9, 5, 4, 3, 3, 1, 2, 0, 0}, /* stride 3 phase planes */
    {2, 2, 9, 8, 3, 2, 3, 3, 1, 1, 0, 0},  /* a phase with no taps */
    {1, 2, 7, 6, 32, 3, 3, 1, 0, 0, 0, 0}, /* dw_ot, one image */
    {1, 1, 9, 10, 64, 3, 3, 2, 1, 1, 0, 0}, /* dw_ot, 64 channels, stride 2 */
    {2, 3, 5, 4, 6, 5, 5, 1, 2, 2, 0, 2}, /* sub-pixel form: decoder's 5x5 after a 2x upsampling */
    {1, 2, 3, 5, 3, 5, 5, 1, 2, 2, 1, 2}, /* sub-pixel form, replicate padding */
};
#else
static const conv_case conv_cases[] = {
    {3, 3, 7, 9, 5, 3, 3, 1, 1, 1, 0, 0},  /* same-size, zero padding */
    {3, 2, 9, 7, 6, 5, 5, 2, 2, 2, 1, 0},  /* stride 2, odd input, replicate */
    {2, 5, 8, 5, 3, 3, 2, 2, 1, 0, 0, 0},  /* rectangular kernel, stride 2 */
    {3, 1, 11, 10, 7, 9, 9, 1, 0, 0, 0, 0}, /* SRCNN-like valid 9x9 */
    {2, 3, 1, 4, 2, 3, 3, 1, 1, 1, 1, 0},  /* one-row image: both edges are one pixel */
    {1, 6, 6, 6, 5, 5, 5, 2, 3, 3, 1, 0},  /* replicate padding wider than the stride */
    {2, 6, 9, 8, 1, 5, 5, 1, 0, 0, 0, 0},  /* one output channel (SRCNN's last layer) */
    {2, 9, 6, 7, 12, 3, 5, 1, 2, 1, 0, 0}, /* partial channel blocks, padding k - 1 */
    /* Zero padding, stride > 1: the direct path's phase planes (conv-AE encoder). */
    {2, 6, 13, 12, 9, 5, 5, 2, 2, 2, 0, 0}, /* conv-AE-like 5x5 s2 p2, odd height, partial blocks */
    {3, 1, 12, 10, 6, 5, 5, 2, 2, 2, 0, 0}, /* one input channel (the first layer) */
    {2, 4, 10, 9, 5, 4, 3, 3, 1, 2, 0, 0},  /* stride 3, 4x3 kernel: phases of 2 and 1 taps */
    {1, 2, 7, 7, 3, 2, 2, 2, 0, 0, 0, 0},   /* 2x2 stride 2, no padding: one tap per phase */
    {2, 3, 8, 8, 16, 3, 3, 2, 1, 1, 0, 0},  /* 3x3 s2 p1 on an even input, full channel blocks */
    {2, 2, 9, 8, 3, 2, 3, 3, 1, 1, 0, 0},   /* kernel height 2 < stride 3: a phase with no taps */
    {1, 2, 11, 13, 4, 7, 7, 3, 4, 4, 0, 0}, /* 7x7 stride 3 pad 4: phase rows sharing a zero column */
    /* 32 or 64 output channels: the weight gradient with channels along the lanes (dw_ot). */
    {2, 3, 9, 8, 32, 5, 5, 1, 0, 0, 0, 0},   /* 12 taps per item: a partial last block (75 taps) */
    {2, 1, 12, 12, 64, 9, 9, 1, 0, 0, 0, 0}, /* SRCNN's first layer: 6 taps per item, 81 taps */
    {3, 2, 10, 11, 64, 3, 3, 2, 1, 1, 0, 0}, /* stride 2 phase planes */
    {1, 4, 7, 9, 32, 5, 5, 1, 2, 2, 0, 0},   /* one image, 'same' padding: padded rows shared */
    /* Replicate padding: the direct forward's replicated copy (pad_replicate,
     * rows sharing no columns, every kernel row read), the packed backward. */
    {2, 1, 13, 11, 64, 9, 9, 1, 4, 4, 1, 0}, /* SRCNN conv1 on an odd image, 64 outputs */
    {1, 64, 7, 9, 32, 5, 5, 1, 2, 2, 1, 0},  /* SRCNN conv2: 64 input channels */
    {2, 32, 5, 3, 1, 5, 5, 1, 2, 2, 1, 0},   /* SRCNN conv3, narrower than the kernel */
    {2, 1, 1, 1, 3, 9, 9, 1, 4, 4, 1, 0},    /* a 1-pixel image: every tap is the pixel */
    {1, 3, 2, 3, 4, 5, 5, 1, 2, 2, 1, 0},    /* smaller than the kernel both ways */
    {2, 4, 5, 6, 3, 3, 3, 1, 1, 0, 1, 0},    /* padding in one direction only */
    {2, 3, 9, 7, 5, 3, 3, 2, 1, 1, 1, 0},    /* stride 2: replicated phase planes */
    {1, 2, 11, 13, 4, 7, 7, 3, 4, 4, 1, 0},  /* stride 3, padding 4: no shared columns */
    /* The sub-pixel form of upsample 2x + conv (the decoders): phase kernels of 3 (5x5) and 5 (7x7, 9x9). */
    {2, 3, 5, 4, 6, 5, 5, 1, 2, 2, 0, 2},   /* the decoders' 5x5, odd width, partial channel blocks */
    {3, 6, 4, 3, 1, 5, 5, 1, 2, 2, 0, 2},   /* one output channel (the decoders' last layer) */
    {1, 4, 6, 6, 32, 5, 5, 1, 2, 2, 0, 2},  /* 128 phase channels (dw_ot) */
    {2, 2, 1, 3, 3, 5, 5, 1, 2, 2, 0, 2},   /* a one-row input */
    {2, 3, 3, 5, 4, 5, 5, 1, 2, 2, 1, 2},   /* replicate padding */
    {1, 2, 4, 5, 3, 7, 7, 1, 3, 3, 0, 2},   /* 7x7: 5x5 phases */
    {1, 2, 3, 4, 2, 9, 9, 1, 4, 4, 1, 2},   /* 9x9 replicate: 5x5 phases wider than the input */
};
#endif

typedef struct conv_state {
    ref_conv g;
    int up;
    double *x, *xu, *w, *b, *dy, *y; /* xu: x upsampled by up (x itself when up = 0) */
} conv_state;

static double conv_loss(void *p)
{
    conv_state *s = p;
    if (s->up) ref_upsample_forward(s->g.n * s->g.c, s->g.h / s->up, s->g.w / s->up, s->up, s->x, s->xu);
    ref_conv_forward(&s->g, s->xu, s->w, s->b, s->y);
    return dot(s->dy, s->y, (long)s->g.n * s->g.o * s->g.ho * s->g.wo);
}

static pcl_status run_forward(pcl_layer *layer, int up, const pcl_tensor *x, pcl_tensor *y)
{
    return up ? pcl_conv2d_forward_upsampled(layer, x, y, 0) : pcl_layer_forward(layer, x, y);
}

static pcl_status run_backward(pcl_layer *layer, int up, const pcl_tensor *x, const pcl_tensor *y,
                               const pcl_tensor *dy, pcl_tensor *dx)
{
    return up ? pcl_conv2d_backward_upsampled(layer, x, dy, dx) : pcl_layer_backward(layer, x, y, dy, dx);
}

static void run_conv(const conv_case *cc, pcl_gemm_backend backend)
{
    const int up = cc->up, f = up ? up : 1;
    ref_conv g = {cc->n, cc->c, cc->h * f, cc->w * f, cc->o, cc->kh, cc->kw, cc->s, cc->ph, cc->pw, cc->replicate, 0, 0};
    ref_conv_setup(&g);
    pcl_conv2d_config cfg = {cc->c, cc->o, cc->kh, cc->kw, cc->s, cc->ph, cc->pw,
                             cc->replicate ? PCL_PADDING_REPLICATE : PCL_PADDING_ZERO, 0, backend};
    pcl_layer *layer = NULL;
    ck_assert_msg(pcl_conv2d_create(ctx, &cfg, &layer) == PCL_OK, "%s", pcl_last_error());
    int in[4] = {g.n, g.c, g.h, g.w}, out[4];
    ck_assert(pcl_layer_output_shape(layer, in, out) == PCL_OK);
    ck_assert_int_eq(out[2], g.ho);
    ck_assert_int_eq(out[3], g.wo);
    if (up) ck_assert(pcl_conv2d_takes_upsampled(layer));
    const int h = cc->h, w_ = cc->w; /* the layer's input */
    long nx = (long)g.n * g.c * h * w_, nxu = (long)g.n * g.c * g.h * g.w, ny = (long)g.n * g.o * g.ho * g.wo;
    long nw = (long)g.o * g.c * g.kh * g.kw;
    arr x = arr_random(nx, -1, 1), w = arr_random(nw, -0.5, 0.5), b = arr_random(g.o, -0.5, 0.5),
        dy = arr_random(ny, -1, 1);
    upload_param(layer, 0, &w, 0.25f);
    upload_param(layer, 1, &b, -0.5f);
    pcl_tensor *tx = tensor_from(&x, g.n, g.c, h, w_), *ty = poisoned(g.n, g.o, g.ho, g.wo);
    pcl_tensor *tdy = tensor_from(&dy, g.n, g.o, g.ho, g.wo), *tdx = poisoned(g.n, g.c, h, w_);
    ck_assert_msg(run_forward(layer, up, tx, ty) == PCL_OK, "%s", pcl_last_error());
    ck_assert_msg(run_backward(layer, up, tx, ty, tdy, tdx) == PCL_OK, "%s", pcl_last_error());
    float *y = download(ty), *dx = download(tdx), *dw = download_grad(layer, 0), *db = download_grad(layer, 1);

    double *ry = dnew(ny), *my = dnew(ny), *rdx = dnew(nx), *mdx = dnew(nx), *rdw = dnew(nw), *mdw = dnew(nw);
    double *rdb = dnew(g.o), *mdb = dnew(g.o), *xu = dnew(nxu), *axu = dnew(nxu), *rdxu = dnew(nxu), *mdxu = dnew(nxu);
    double *ax = dabs(x.d, nx), *aw = dabs(w.d, nw), *ab = dabs(b.d, g.o), *ady = dabs(dy.d, ny);
    ref_upsample_forward(g.n * g.c, h, w_, f, x.d, xu);
    ref_upsample_forward(g.n * g.c, h, w_, f, ax, axu);
    ref_conv_forward(&g, xu, w.d, b.d, ry);
    ref_conv_forward(&g, axu, aw, ab, my);
    ref_conv_backward(&g, xu, w.d, dy.d, rdxu, rdw, rdb);
    ref_conv_backward(&g, axu, aw, ady, mdxu, mdw, mdb);
    ref_upsample_backward(g.n * g.c, h, w_, f, rdxu, rdx);
    ref_upsample_backward(g.n * g.c, h, w_, f, mdxu, mdx);
    double *rdw_acc = dnew(nw), *rdb_acc = dnew(g.o), *dw_tol = dnew(nw), *db_tol = dnew(g.o), *dx_tol = dnew(nx);
    /* The sub-pixel form sums up to 4 weights (forward) and 4 phase
     * gradients (backward) before or after its sums: f * f more terms. */
    long kdx = (long)g.o * g.kh * g.kw * f * f, kdw = (long)g.n * g.ho * g.wo + f * f, kfw = (long)g.c * g.kh * g.kw;
    for (long i = 0; i < nw; i++) rdw_acc[i] = 0.25 + rdw[i], dw_tol[i] = 2.0 * (kdw + 3) * U * (mdw[i] + 0.25);
    for (long i = 0; i < g.o; i++) rdb_acc[i] = -0.5 + rdb[i], db_tol[i] = 2.0 * (kdw + 3) * U * (mdb[i] + 0.5);
    for (long i = 0; i < nx; i++) dx_tol[i] = 2.0 * (kdx + 3) * U * mdx[i] + 1e-30;
    char what[128];
    snprintf(what, sizeof what, "conv %dx%dx%dx%d%s->%d k%dx%d s%d p%d,%d %s %s", g.n, g.c, h, w_,
             up ? " upsampled 2x" : "", g.o, g.kh, g.kw, g.s, g.ph, g.pw, g.replicate ? "replicate" : "zero",
             pcl_gemm_backend_name(backend));
    compare(what, y, ry, my, 2.0 * (kfw + 3) * U, 1e-30, ny);
    for (long i = 0; i < nx; i++)
        ck_assert_msg(isfinite(dx[i]) && fabs(dx[i] - rdx[i]) <= dx_tol[i], "%s dx[%ld] = %.9g, reference %.9g", what,
                      i, (double)dx[i], rdx[i]);
    for (long i = 0; i < nw; i++)
        ck_assert_msg(isfinite(dw[i]) && fabs(dw[i] - rdw_acc[i]) <= dw_tol[i], "%s dw[%ld] = %.9g, reference %.9g",
                      what, i, (double)dw[i], rdw_acc[i]);
    for (long i = 0; i < g.o; i++)
        ck_assert_msg(isfinite(db[i]) && fabs(db[i] - rdb_acc[i]) <= db_tol[i], "%s db[%ld] = %.9g, reference %.9g",
                      what, i, (double)db[i], rdb_acc[i]);

    /* Finite differences of sum(dy * y) (the device's gradient minus its start). */
    conv_state st = {g, up, x.d, up ? xu : x.d, w.d, b.d, dy.d, dnew(ny)};
    float *dw0 = malloc(nw * 4), *db0 = malloc(g.o * 4);
    for (long i = 0; i < nw; i++) dw0[i] = dw[i] - 0.25f;
    for (long i = 0; i < g.o; i++) db0[i] = db[i] + 0.5f;
    check_fd("conv dx (fd)", x.d, nx, conv_loss, &st, 1e-3, rdx, dx, dx_tol);
    check_fd("conv dw (fd)", w.d, nw, conv_loss, &st, 1e-3, rdw, dw0, dw_tol);
    check_fd("conv db (fd)", b.d, g.o, conv_loss, &st, 1e-3, rdb, db0, db_tol);

    /* Bitwise re-run, the direct path's padded copies made one image (the
     * weight gradient: one dw_direct launch) at a time, as a batch larger
     * than PERCEPTCL_CONV_PAD's floats is: the same bits. */
    upload_param(layer, 0, &w, 0.25f);
    upload_param(layer, 1, &b, -0.5f);
    ck_assert(pcl_tensor_fill(ty, NAN) == PCL_OK && pcl_tensor_fill(tdx, NAN) == PCL_OK);
    /* The environment changes only with the queue empty: PoCL's worker
     * threads call getenv while kernels run, and setenv / unsetenv under
     * them is a data race (it crashed the sanitizer build). */
    ck_assert(pcl_context_finish(ctx) == PCL_OK);
    setenv("PERCEPTCL_CONV_PAD", "1", 1);
    ck_assert(run_forward(layer, up, tx, ty) == PCL_OK);
    ck_assert(run_backward(layer, up, tx, ty, tdy, tdx) == PCL_OK);
    ck_assert(pcl_context_finish(ctx) == PCL_OK);
    unsetenv("PERCEPTCL_CONV_PAD");
    float *y2 = download(ty), *dx2 = download(tdx), *dw2 = download_grad(layer, 0), *db2 = download_grad(layer, 1);
    assert_bitwise("conv y", y, y2, ny);
    assert_bitwise("conv dx", dx, dx2, nx);
    assert_bitwise("conv dw", dw, dw2, nw);
    assert_bitwise("conv db", db, db2, g.o);

    free(y), free(dx), free(dw), free(db), free(y2), free(dx2), free(dw2), free(db2), free(dw0), free(db0);
    free(ry), free(my), free(rdx), free(mdx), free(rdw), free(mdw), free(rdb), free(mdb), free(ax), free(aw);
    free(ab), free(ady), free(rdw_acc), free(rdb_acc), free(dw_tol), free(db_tol), free(dx_tol), free(st.y);
    free(xu), free(axu), free(rdxu), free(mdxu);
    arr_free(&x), arr_free(&w), arr_free(&b), arr_free(&dy);
    pcl_tensor_destroy(tx), pcl_tensor_destroy(ty), pcl_tensor_destroy(tdy), pcl_tensor_destroy(tdx);
    pcl_layer_destroy(layer);
}

START_TEST(test_conv2d)
{
    pcl_gemm_backend backend = gemm_variant(_i);
    
    test_rng = 2000 + (uint64_t)_i;
    for (size_t c = 0; c < sizeof conv_cases / sizeof conv_cases[0]; c++) run_conv(&conv_cases[c], backend);
    set_limit(0);
}
END_TEST

/* ---- dense --------------------------------------------------------------- */

typedef struct dense_state {
    int n, in, out;
    double *x, *w, *b, *dy, *y;
} dense_state;

static double dense_loss(void *p)
{
    dense_state *s = p;
    ref_dense_forward(s->n, s->in, s->out, s->x, s->w, s->b, s->y);
    return dot(s->dy, s->y, (long)s->n * s->out);
}

static void run_dense(int n, int c, int h, int w_, int out, pcl_gemm_backend backend)
{
    int in = c * h * w_;
    pcl_layer *layer = NULL;
    ck_assert_msg(pcl_dense_create(ctx, in, out, backend, &layer) == PCL_OK, "%s", pcl_last_error());
    long nx = (long)n * in, ny = (long)n * out, nw = (long)out * in;
    arr x = arr_random(nx, -1, 1), w = arr_random(nw, -0.5, 0.5), b = arr_random(out, -0.5, 0.5),
        dy = arr_random(ny, -1, 1);
    upload_param(layer, 0, &w, 0.25f);
    upload_param(layer, 1, &b, -0.5f);
    pcl_tensor *tx = tensor_from(&x, n, c, h, w_), *ty = poisoned(n, out, 1, 1);
    pcl_tensor *tdy = tensor_from(&dy, n, out, 1, 1), *tdx = poisoned(n, c, h, w_);
    ck_assert_msg(pcl_layer_forward(layer, tx, ty) == PCL_OK, "%s", pcl_last_error());
    ck_assert_msg(pcl_layer_backward(layer, tx, ty, tdy, tdx) == PCL_OK, "%s", pcl_last_error());
    float *y = download(ty), *dx = download(tdx), *dw = download_grad(layer, 0), *db = download_grad(layer, 1);
    double *ry = dnew(ny), *my = dnew(ny), *rdx = dnew(nx), *mdx = dnew(nx), *rdw = dnew(nw), *mdw = dnew(nw);
    double *rdb = dnew(out), *mdb = dnew(out);
    double *ax = dabs(x.d, nx), *aw = dabs(w.d, nw), *ab = dabs(b.d, out), *ady = dabs(dy.d, ny);
    ref_dense_forward(n, in, out, x.d, w.d, b.d, ry);
    ref_dense_forward(n, in, out, ax, aw, ab, my);
    ref_dense_backward(n, in, out, x.d, w.d, dy.d, rdx, rdw, rdb);
    ref_dense_backward(n, in, out, ax, aw, ady, mdx, mdw, mdb);
    double *dx_tol = dnew(nx), *dw_tol = dnew(nw), *db_tol = dnew(out);
    for (long i = 0; i < nx; i++) dx_tol[i] = 2.0 * (out + 3) * U * mdx[i] + 1e-30;
    for (long i = 0; i < nw; i++) dw_tol[i] = 2.0 * (n + 3) * U * (mdw[i] + 0.25);
    for (long i = 0; i < out; i++) db_tol[i] = 2.0 * (n + 3) * U * (mdb[i] + 0.5);
    char what[96];
    snprintf(what, sizeof what, "dense %dx(%dx%dx%d)->%d %s", n, c, h, w_, out, pcl_gemm_backend_name(backend));
    compare(what, y, ry, my, 2.0 * (in + 3) * U, 1e-30, ny);
    for (long i = 0; i < nx; i++)
        ck_assert_msg(isfinite(dx[i]) && fabs(dx[i] - rdx[i]) <= dx_tol[i], "%s dx[%ld]", what, i);
    float *dw0 = malloc(nw * 4), *db0 = malloc(out * 4);
    for (long i = 0; i < nw; i++) {
        ck_assert_msg(isfinite(dw[i]) && fabs(dw[i] - (0.25 + rdw[i])) <= dw_tol[i], "%s dw[%ld]", what, i);
        dw0[i] = dw[i] - 0.25f;
    }
    for (long i = 0; i < out; i++) {
        ck_assert_msg(isfinite(db[i]) && fabs(db[i] - (rdb[i] - 0.5)) <= db_tol[i], "%s db[%ld]", what, i);
        db0[i] = db[i] + 0.5f;
    }
    dense_state st = {n, in, out, x.d, w.d, b.d, dy.d, dnew(ny)};
    check_fd("dense dx (fd)", x.d, nx, dense_loss, &st, 1e-3, rdx, dx, dx_tol);
    check_fd("dense dw (fd)", w.d, nw, dense_loss, &st, 1e-3, rdw, dw0, dw_tol);
    check_fd("dense db (fd)", b.d, out, dense_loss, &st, 1e-3, rdb, db0, db_tol);
    /* Bitwise re-run. */
    upload_param(layer, 0, &w, 0.25f);
    upload_param(layer, 1, &b, -0.5f);
    ck_assert(pcl_layer_forward(layer, tx, ty) == PCL_OK);
    ck_assert(pcl_layer_backward(layer, tx, ty, tdy, tdx) == PCL_OK);
    float *y2 = download(ty), *dx2 = download(tdx), *dw2 = download_grad(layer, 0);
    assert_bitwise("dense y", y, y2, ny);
    assert_bitwise("dense dx", dx, dx2, nx);
    assert_bitwise("dense dw", dw, dw2, nw);
    free(y), free(dx), free(dw), free(db), free(y2), free(dx2), free(dw2), free(dw0), free(db0), free(st.y);
    free(ry), free(my), free(rdx), free(mdx), free(rdw), free(mdw), free(rdb), free(mdb), free(ax), free(aw);
    free(ab), free(ady), free(dx_tol), free(dw_tol), free(db_tol);
    arr_free(&x), arr_free(&w), arr_free(&b), arr_free(&dy);
    pcl_tensor_destroy(tx), pcl_tensor_destroy(ty), pcl_tensor_destroy(tdy), pcl_tensor_destroy(tdx);
    pcl_layer_destroy(layer);
}

START_TEST(test_dense)
{
    pcl_gemm_backend backend = gemm_variant(_i);
    
    test_rng = 3000 + (uint64_t)_i;
    run_dense(3, 37, 1, 1, 13, backend);
    run_dense(1, 5, 1, 1, 7, backend);
    run_dense(3, 2, 3, 3, 11, backend); /* a conv-shaped input flattened by the layer */
    run_dense(6, 40, 1, 1, 24, backend); /* 8 | in, out: the transposed products, W read in place */
#ifndef PCL_TEST_SMALL
    run_dense(5, 130, 1, 1, 67, backend);
#endif
    set_limit(0);
}
END_TEST

/* ---- elementwise: ReLU, tanh, binary ------------------------------------- */

typedef struct elem_state {
    int kind;
    long n;
    double *x, *dy, *y;
} elem_state;

static double elem_loss(void *p)
{
    elem_state *s = p;
    ref_elementwise_surrogate(s->kind, s->n, s->x, s->y);
    return dot(s->dy, s->y, s->n);
}

START_TEST(test_elementwise)
{
    set_limit(limits[_i % 3]);
    int kind = _i / 3; /* 0 relu, 1 tanh, 2 binary */
    test_rng = 4000 + (uint64_t)_i;
    const int n = 3, c = 5, h = 7, w = 9;
    long count = (long)n * c * h * w;
    pcl_layer *layer = NULL;
    if (kind == 2) ck_assert(pcl_binary_create(ctx, &layer) == PCL_OK);
    else ck_assert(pcl_activation_create(ctx, kind ? PCL_ACTIVATION_TANH : PCL_ACTIVATION_RELU, &layer) == PCL_OK);
    ck_assert_int_eq(pcl_layer_param_count(layer), 0);
    arr x = arr_away_from_zero(count), dy = arr_random(count, -1, 1);
    x.f[0] = 0.0f, x.d[0] = 0.0; /* 0: ReLU 0, binary -1 */
    x.f[1] = 1e-30f, x.d[1] = 1e-30f;
    x.f[2] = -25.0f, x.d[2] = -25.0;
    x.f[3] = 25.0f, x.d[3] = 25.0;
    pcl_tensor *tx = tensor_from(&x, n, c, h, w), *ty = poisoned(n, c, h, w);
    pcl_tensor *tdy = tensor_from(&dy, n, c, h, w), *tdx = poisoned(n, c, h, w);
    ck_assert_msg(pcl_layer_forward(layer, tx, ty) == PCL_OK, "%s", pcl_last_error());
    ck_assert_msg(pcl_layer_backward(layer, tx, ty, tdy, tdx) == PCL_OK, "%s", pcl_last_error());
    float *y = download(ty), *dx = download(tdx);
    double *ry = dnew(count), *rdx = dnew(count), *my = dabs(x.d, count), *mdx = dabs(dy.d, count);
    ref_elementwise_forward(kind, count, x.d, ry);
    ref_elementwise_backward(kind, count, x.d, dy.d, rdx);
    /* tanh: a few ulp (OpenCL allows 5); ReLU and binary: exact. */
    compare(kind == 0 ? "relu y" : kind == 1 ? "tanh y" : "binary y", y, ry, my, kind == 1 ? 8 * U : 0, 0, count);
    compare("dx", dx, rdx, mdx, kind == 0 ? 0 : 24 * U, 0, count);
    if (kind == 2) {
        ck_assert(y[0] == -1.0f && y[1] == 1.0f && y[2] == -1.0f && y[3] == 1.0f);
    }
    double *tol = dnew(count);
    for (long i = 0; i < count; i++) tol[i] = 24 * U * mdx[i];
    elem_state st = {kind, count, x.d, dy.d, dnew(count)};
    check_fd("elementwise dx (fd)", x.d + 4, count - 4, elem_loss, &st, 1e-5, rdx + 4, dx + 4, tol + 4);
    free(y), free(dx), free(ry), free(rdx), free(my), free(mdx), free(tol), free(st.y);
    arr_free(&x), arr_free(&dy);
    pcl_tensor_destroy(tx), pcl_tensor_destroy(ty), pcl_tensor_destroy(tdy), pcl_tensor_destroy(tdx);
    pcl_layer_destroy(layer);
    set_limit(0);
}
END_TEST

/* ---- upsample and reshape ------------------------------------------------- */

START_TEST(test_upsample)
{
    set_limit(limits[_i % 3]);
    int f = _i < 3 ? 2 : 3;
    test_rng = 5000 + (uint64_t)_i;
    const int n = 3, c = 5, h = 3, w = 7;
    long nx = (long)n * c * h * w, ny = nx * f * f;
    pcl_layer *layer = NULL;
    ck_assert(pcl_upsample_create(ctx, f, &layer) == PCL_OK);
    arr x = arr_random(nx, -1, 1), dy = arr_random(ny, -1, 1);
    pcl_tensor *tx = tensor_from(&x, n, c, h, w), *ty = poisoned(n, c, h * f, w * f);
    pcl_tensor *tdy = tensor_from(&dy, n, c, h * f, w * f), *tdx = poisoned(n, c, h, w);
    ck_assert_msg(pcl_layer_forward(layer, tx, ty) == PCL_OK, "%s", pcl_last_error());
    ck_assert_msg(pcl_layer_backward(layer, tx, ty, tdy, tdx) == PCL_OK, "%s", pcl_last_error());
    float *y = download(ty), *dx = download(tdx);
    double *ry = dnew(ny), *rdx = dnew(nx), *mdx = dnew(nx), *ady = dabs(dy.d, ny);
    ref_upsample_forward(n * c, h, w, f, x.d, ry);
    ref_upsample_backward(n * c, h, w, f, dy.d, rdx);
    ref_upsample_backward(n * c, h, w, f, ady, mdx);
    compare("upsample y", y, ry, NULL, 0, 0, ny);
    compare("upsample dx", dx, rdx, mdx, (f * f + 1) * U, 0, nx);
    free(y), free(dx), free(ry), free(rdx), free(mdx), free(ady);
    arr_free(&x), arr_free(&dy);
    pcl_tensor_destroy(tx), pcl_tensor_destroy(ty), pcl_tensor_destroy(tdy), pcl_tensor_destroy(tdx);
    pcl_layer_destroy(layer);
    set_limit(0);
}
END_TEST

START_TEST(test_reshape)
{
    test_rng = 6000;
    const int n = 3, c = 5, h = 3, w = 7;
    long count = (long)n * c * h * w;
    pcl_layer *flat = NULL;
    ck_assert(pcl_reshape_create(ctx, c * h * w, 1, 1, &flat) == PCL_OK);
    arr x = arr_random(count, -1, 1), dy = arr_random(count, -1, 1);
    pcl_tensor *tx = tensor_from(&x, n, c, h, w), *view = NULL, *ty = poisoned(n, c * h * w, 1, 1);
    ck_assert(pcl_reshape_view(flat, tx, &view) == PCL_OK);
    ck_assert_ptr_eq(view->mem, tx->mem); /* no copy */
    ck_assert_int_eq(view->c, c * h * w);
    ck_assert(pcl_layer_forward(flat, tx, view) == PCL_OK);
    ck_assert(pcl_layer_forward(flat, tx, ty) == PCL_OK);
    float *a = download(view), *b = download(ty);
    ck_assert(memcmp(a, x.f, count * 4) == 0 && memcmp(b, x.f, count * 4) == 0);
    pcl_tensor *tdy = tensor_from(&dy, n, c * h * w, 1, 1), *tdx = poisoned(n, c, h, w);
    ck_assert(pcl_layer_backward(flat, tx, ty, tdy, tdx) == PCL_OK);
    float *d = download(tdx);
    ck_assert(memcmp(d, dy.f, count * 4) == 0);
    pcl_tensor *wrong = poisoned(n, 7, 1, 1);
    ck_assert_int_eq(pcl_layer_forward(flat, tx, wrong), PCL_ERR_INVALID_ARGUMENT);
    free(a), free(b), free(d);
    arr_free(&x), arr_free(&dy);
    pcl_tensor_destroy(wrong), pcl_tensor_destroy(view), pcl_tensor_destroy(tx), pcl_tensor_destroy(ty);
    pcl_tensor_destroy(tdy), pcl_tensor_destroy(tdx);
    pcl_layer_destroy(flat);
}
END_TEST

/* ---- batch normalisation --------------------------------------------------- */

typedef struct bn_state {
    int n, c, hw;
    double eps;
    double *x, *gamma, *beta, *dy, *y;
} bn_state;

static double bn_loss(void *p)
{
    bn_state *s = p;
    ref_batchnorm_forward_train(s->n, s->c, s->hw, s->eps, s->x, s->gamma, s->beta, s->y, NULL, NULL);
    return dot(s->dy, s->y, (long)s->n * s->c * s->hw);
}

static void run_batchnorm(int n, int c, int h, int w)
{
    const double eps = 1e-5, momentum = 0.1;
    int hw = h * w;
    long count = (long)n * c * hw;
    double per = (double)n * hw;
    pcl_layer *layer = NULL;
    ck_assert(pcl_batchnorm_create(ctx, c, (float)momentum, (float)eps, &layer) == PCL_OK);
    ck_assert_int_eq(pcl_layer_param_count(layer), 2);
    ck_assert_int_eq(pcl_layer_buffer_count(layer), 2);
    arr x = arr_random(count, -2, 3), gamma = arr_random(c, 0.5, 1.5), beta = arr_random(c, -0.5, 0.5),
        dy = arr_random(count, -1, 1);
    upload_param(layer, 0, &gamma, 0.25f);
    upload_param(layer, 1, &beta, -0.5f);
    pcl_tensor *tx = tensor_from(&x, n, c, h, w), *ty = poisoned(n, c, h, w);
    pcl_tensor *tdy = tensor_from(&dy, n, c, h, w), *tdx = poisoned(n, c, h, w);
    ck_assert_msg(pcl_layer_forward(layer, tx, ty) == PCL_OK, "%s", pcl_last_error());
    ck_assert_msg(pcl_layer_backward(layer, tx, ty, tdy, tdx) == PCL_OK, "%s", pcl_last_error());
    float *y = download(ty), *dx = download(tdx), *dg = download_grad(layer, 0), *dbt = download_grad(layer, 1);
    double *ry = dnew(count), *rdx = dnew(count), *rdg = dnew(c), *rdb = dnew(c), *mean = dnew(c), *var = dnew(c);
    ref_batchnorm_forward_train(n, c, hw, eps, x.d, gamma.d, beta.d, ry, mean, var);
    ref_batchnorm_backward_train(n, c, hw, eps, x.d, gamma.d, dy.d, rdx, rdg, rdb);
    /* Magnitudes: |gamma| |x - mean| r + |beta| for y; for dx the sum of the
     * absolute terms; the statistics carry up to ~count u relative error. */
    double *ty_tol = dnew(count), *dx_tol = dnew(count), *dg_tol = dnew(c), *db_tol = dnew(c);
    for (int ch = 0; ch < c; ch++) {
        double r = 1.0 / sqrt(var[ch] + eps), s1 = 0, s2 = 0;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                long k = ((long)i * c + ch) * hw + p;
                s1 += fabs(dy.d[k]);
                s2 += fabs(dy.d[k] * (x.d[k] - mean[ch]) * r);
            }
        double rel = 8.0 * (per + 8) * U;
        dg_tol[ch] = rel * (s2 + 0.25);
        db_tol[ch] = rel * (s1 + 0.5);
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                long k = ((long)i * c + ch) * hw + p;
                double ax = (fabs(x.d[k]) + fabs(mean[ch])) * r;
                ty_tol[k] = rel * (fabs(gamma.d[ch]) * ax + fabs(beta.d[ch]));
                dx_tol[k] = rel * fabs(gamma.d[ch]) * r * (fabs(dy.d[k]) + s1 / per + ax * s2 / per);
            }
    }
    compare("batchnorm y", y, ry, ty_tol, 1.0, 1e-30, count);
    compare("batchnorm dx", dx, rdx, dx_tol, 1.0, 1e-30, count);
    float *dg0 = malloc(c * 4), *db0 = malloc(c * 4);
    for (int i = 0; i < c; i++) {
        ck_assert_msg(isfinite(dg[i]) && fabs(dg[i] - (0.25 + rdg[i])) <= dg_tol[i], "batchnorm dgamma[%d]", i);
        ck_assert_msg(isfinite(dbt[i]) && fabs(dbt[i] - (rdb[i] - 0.5)) <= db_tol[i], "batchnorm dbeta[%d]", i);
        dg0[i] = dg[i] - 0.25f, db0[i] = dbt[i] + 0.5f;
    }
    bn_state st = {n, c, hw, eps, x.d, gamma.d, beta.d, dy.d, dnew(count)};
    check_fd("batchnorm dx (fd)", x.d, count, bn_loss, &st, 1e-5, rdx, dx, dx_tol);
    check_fd("batchnorm dgamma (fd)", gamma.d, c, bn_loss, &st, 1e-5, rdg, dg0, dg_tol);
    check_fd("batchnorm dbeta (fd)", beta.d, c, bn_loss, &st, 1e-5, rdb, db0, db_tol);

    /* Running statistics after one training step from (0, 1). */
    pcl_tensor *rm, *rv;
    ck_assert(pcl_layer_buffer(layer, 0, &rm, NULL) == PCL_OK && pcl_layer_buffer(layer, 1, &rv, NULL) == PCL_OK);
    float *grm = download(rm), *grv = download(rv);
    double *erm = dnew(c), *erv = dnew(c), *mrm = dnew(c), *mrv = dnew(c);
    for (int i = 0; i < c; i++) {
        erm[i] = momentum * mean[i];
        erv[i] = (1 - momentum) + momentum * var[i] * per / (per - 1);
        mrm[i] = 8.0 * (per + 8) * U * momentum * 3.0 + 1e-30;
        mrv[i] = 8.0 * (per + 8) * U * (1 + momentum * var[i] * per / (per - 1) + 9.0);
    }
    for (int i = 0; i < c; i++) {
        ck_assert_msg(fabs(grm[i] - erm[i]) <= mrm[i], "running_mean[%d] = %g, expected %g", i, grm[i], erm[i]);
        ck_assert_msg(fabs(grv[i] - erv[i]) <= mrv[i], "running_var[%d] = %g, expected %g", i, grv[i], erv[i]);
    }

    /* Bitwise re-run of the training step (running statistics move on; outputs must not). */
    upload_param(layer, 0, &gamma, 0.25f);
    upload_param(layer, 1, &beta, -0.5f);
    ck_assert(pcl_layer_forward(layer, tx, ty) == PCL_OK && pcl_layer_backward(layer, tx, ty, tdy, tdx) == PCL_OK);
    float *y2 = download(ty), *dx2 = download(tdx), *dg2 = download_grad(layer, 0);
    assert_bitwise("batchnorm y", y, y2, count);
    assert_bitwise("batchnorm dx", dx, dx2, count);
    assert_bitwise("batchnorm dgamma", dg, dg2, c);

    /* Inference mode: the running statistics (as the device holds them). */
    free(grm), free(grv);
    grm = download(rm), grv = download(rv);
    double *dm = dnew(c), *dv = dnew(c);
    for (int i = 0; i < c; i++) dm[i] = grm[i], dv[i] = grv[i];
    pcl_layer_set_training(layer, 0);
    ck_assert(pcl_layer_zero_grad(layer) == PCL_OK);
    ck_assert(pcl_tensor_fill(ty, NAN) == PCL_OK && pcl_tensor_fill(tdx, NAN) == PCL_OK);
    ck_assert(pcl_layer_forward(layer, tx, ty) == PCL_OK && pcl_layer_backward(layer, tx, ty, tdy, tdx) == PCL_OK);
    float *ye = download(ty), *dxe = download(tdx), *dge = download_grad(layer, 0), *dbe = download_grad(layer, 1);
    float *grm2 = download(rm);
    ck_assert_msg(memcmp(grm2, grm, c * 4) == 0, "inference changed the running mean");
    double *rye = dnew(count), *rdxe = dnew(count), *rdge = dnew(c), *rdbe = dnew(c);
    ref_batchnorm_forward_eval(n, c, hw, eps, x.d, gamma.d, beta.d, dm, dv, rye);
    ref_batchnorm_backward_eval(n, c, hw, eps, x.d, gamma.d, dm, dv, dy.d, rdxe, rdge, rdbe);
    compare("batchnorm eval y", ye, rye, ty_tol, 1.0, 16 * U, count);
    compare("batchnorm eval dx", dxe, rdxe, dx_tol, 1.0, 16 * U, count);
    compare("batchnorm eval dgamma", dge, rdge, dg_tol, 1.0, 16 * U, c);
    compare("batchnorm eval dbeta", dbe, rdbe, db_tol, 1.0, 16 * U, c);

    free(y), free(dx), free(dg), free(dbt), free(ry), free(rdx), free(rdg), free(rdb), free(mean), free(var);
    free(ty_tol), free(dx_tol), free(dg_tol), free(db_tol), free(dg0), free(db0), free(st.y), free(grm), free(grv);
    free(erm), free(erv), free(mrm), free(mrv), free(y2), free(dx2), free(dg2), free(dm), free(dv), free(ye);
    free(dxe), free(dge), free(dbe), free(grm2), free(rye), free(rdxe), free(rdge), free(rdbe);
    arr_free(&x), arr_free(&gamma), arr_free(&beta), arr_free(&dy);
    pcl_tensor_destroy(tx), pcl_tensor_destroy(ty), pcl_tensor_destroy(tdy), pcl_tensor_destroy(tdx);
    pcl_layer_destroy(layer);
}

START_TEST(test_batchnorm)
{
    set_limit(limits[_i]);
    test_rng = 7000 + (uint64_t)_i;
    run_batchnorm(3, 5, 3, 7);  /* conv input: per channel over n, h, w */
    run_batchnorm(3, 13, 1, 1); /* dense input: per feature over n */
    run_batchnorm(2, 3, 1, 1);
    set_limit(0);
}
END_TEST

/* ---- VAE sampler ---------------------------------------------------------- */

typedef struct vae_state {
    int n, L;
    double w;
    double *x, *eps, *dz, *z, *kl;
} vae_state;

static double vae_loss(void *p)
{
    vae_state *s = p;
    ref_vae_forward(s->n, s->L, 1, s->x, s->eps, s->z, s->kl);
    double l = dot(s->dz, s->z, (long)s->n * s->L);
    for (int i = 0; i < s->n; i++) l += s->w * s->kl[i];
    return l;
}

START_TEST(test_vae_sampler)
{
    set_limit(limits[_i]);
    test_rng = 8000 + (uint64_t)_i;
    const int n = 3, L = 7;
    const double kl_weight = 0.75;
    long nx = 2L * n * L, nz = (long)n * L;
    pcl_layer *layer = NULL;
    ck_assert(pcl_vae_sampler_create(ctx, L, &layer) == PCL_OK);
    pcl_vae_sampler_set_seed(layer, 99);
    pcl_vae_sampler_set_kl_weight(layer, (float)kl_weight);
    arr x = arr_random(nx, -1.5, 1.5), dz = arr_random(nz, -1, 1);
    pcl_tensor *tx = tensor_from(&x, n, 2 * L, 1, 1), *tz = poisoned(n, L, 1, 1);
    pcl_tensor *tdz = tensor_from(&dz, n, L, 1, 1), *tdx = poisoned(n, 2 * L, 1, 1);
    ck_assert_msg(pcl_layer_forward(layer, tx, tz) == PCL_OK, "%s", pcl_last_error());
    ck_assert_msg(pcl_layer_backward(layer, tx, tz, tdz, tdx) == PCL_OK, "%s", pcl_last_error());
    float *z = download(tz), *dx = download(tdx), *eps = malloc(nz * 4), kl[3];
    ck_assert(pcl_vae_sampler_noise(layer, eps, (size_t)nz) == PCL_OK);
    ck_assert(pcl_vae_sampler_kl(layer, kl, n) == PCL_OK);
    /* The noise is the documented stream from the seed. */
    uint64_t s = 99;
    double *deps = dnew(nz);
    for (long i = 0; i < nz; i++) {
        float e = (float)doc_gaussian(&s);
        ck_assert_msg(eps[i] == e, "eps[%ld] = %g, documented draw %g", i, eps[i], e);
        deps[i] = e;
    }
    double *rz = dnew(nz), *rkl = dnew(n), *rdx = dnew(nx), *tolz = dnew(nz), *tolkl = dnew(n), *toldx = dnew(nx);
    ref_vae_forward(n, L, 1, x.d, deps, rz, rkl);
    ref_vae_backward(n, L, 1, kl_weight, x.d, deps, dz.d, rdx);
    /* exp is within a few ulp (OpenCL: 3). */
    for (int i = 0; i < n; i++) {
        double m = 0;
        for (int j = 0; j < L; j++) {
            double mu = x.d[i * 2 * L + j], lv = x.d[i * 2 * L + L + j];
            long k = (long)i * L + j;
            tolz[k] = 8 * U * (fabs(mu) + exp(0.5 * lv) * fabs(deps[k]));
            toldx[i * 2 * L + j] = 8 * U * (fabs(dz.d[k]) + kl_weight * fabs(mu));
            toldx[i * 2 * L + L + j] =
                8 * U * (fabs(dz.d[k] * deps[k]) * exp(0.5 * lv) + kl_weight * (exp(lv) + 1));
            m += mu * mu + exp(lv) + 1 + fabs(lv);
        }
        tolkl[i] = 4 * (L + 4) * U * m;
    }
    compare("vae z", z, rz, tolz, 1.0, 0, nz);
    compare("vae kl", kl, rkl, tolkl, 1.0, 0, n);
    compare("vae dx", dx, rdx, toldx, 1.0, 0, nx);
    vae_state st = {n, L, kl_weight, x.d, deps, dz.d, dnew(nz), dnew(n)};
    check_fd("vae dx (fd)", x.d, nx, vae_loss, &st, 1e-5, rdx, dx, toldx);
    /* Inference: z = mu exactly, the same KL. */
    pcl_layer_set_training(layer, 0);
    ck_assert(pcl_tensor_fill(tz, NAN) == PCL_OK);
    ck_assert(pcl_layer_forward(layer, tx, tz) == PCL_OK);
    float *zm = download(tz), kl2[3];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < L; j++) ck_assert(zm[i * L + j] == x.f[i * 2 * L + j]);
    ck_assert(pcl_vae_sampler_kl(layer, kl2, n) == PCL_OK);
    assert_bitwise("vae kl", kl, kl2, n);
    free(z), free(dx), free(eps), free(deps), free(rz), free(rkl), free(rdx), free(tolz), free(tolkl), free(toldx);
    free(st.z), free(st.kl), free(zm);
    arr_free(&x), arr_free(&dz);
    pcl_tensor_destroy(tx), pcl_tensor_destroy(tz), pcl_tensor_destroy(tdz), pcl_tensor_destroy(tdx);
    pcl_layer_destroy(layer);
    set_limit(0);
}
END_TEST

/* ---- argument checks ------------------------------------------------------- */

START_TEST(test_bad_arguments)
{
    pcl_layer *layer = NULL;
    pcl_conv2d_config bad = {1, 1, 3, 3, 0, 0, 0, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO};
    ck_assert_int_eq(pcl_conv2d_create(ctx, &bad, &layer), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(layer);
    ck_assert(strstr(pcl_last_error(), "stride") != NULL);
    pcl_conv2d_config ok = {2, 3, 5, 5, 1, 0, 0, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO};
    ck_assert(pcl_conv2d_create(ctx, &ok, &layer) == PCL_OK);
    int in[4] = {1, 2, 4, 4}, out[4];
    ck_assert_int_eq(pcl_layer_output_shape(layer, in, out), PCL_ERR_INVALID_ARGUMENT); /* kernel > input */
    in[1] = 3;
    in[2] = in[3] = 9;
    ck_assert_int_eq(pcl_layer_output_shape(layer, in, out), PCL_ERR_INVALID_ARGUMENT); /* channels */
    /* No sub-pixel form without "same" padding, and none asked for. */
    ck_assert(!pcl_conv2d_takes_upsampled(layer));
    pcl_tensor *x = tensor(1, 2, 4, 4), *y = tensor(1, 3, 8, 8);
    ck_assert_int_eq(pcl_conv2d_forward_upsampled(layer, x, y, 0), PCL_ERR_INVALID_ARGUMENT);
    ck_assert(strstr(pcl_last_error(), "sub-pixel") != NULL);
    pcl_layer_destroy(layer);
    const pcl_conv2d_config no_gain[] = {{2, 3, 3, 3, 1, 1, 1, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO},
                                         {2, 3, 5, 5, 2, 2, 2, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO},
                                         {2, 3, 5, 3, 1, 2, 1, PCL_PADDING_ZERO, 0, PCL_GEMM_BACKEND_AUTO}};
    for (int i = 0; i < 3; i++) {
        ck_assert(pcl_conv2d_create(ctx, &no_gain[i], &layer) == PCL_OK);
        ck_assert(!pcl_conv2d_takes_upsampled(layer));
        pcl_layer_destroy(layer);
    }
    ok.pad_h = ok.pad_w = 2; /* takes it, but y must be twice x */
    ck_assert(pcl_conv2d_create(ctx, &ok, &layer) == PCL_OK);
    ck_assert(pcl_conv2d_takes_upsampled(layer));
    pcl_tensor *y_wrong = tensor(1, 3, 4, 4);
    ck_assert_int_eq(pcl_conv2d_forward_upsampled(layer, x, y_wrong, 0), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_conv2d_backward_upsampled(layer, x, y_wrong, NULL), PCL_ERR_INVALID_ARGUMENT);
    pcl_tensor_destroy(x), pcl_tensor_destroy(y), pcl_tensor_destroy(y_wrong);
    pcl_layer_destroy(layer);
    ck_assert_int_eq(pcl_dense_create(ctx, 0, 3, PCL_GEMM_BACKEND_AUTO, &layer), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_batchnorm_create(ctx, 3, 0.1f, 0.0f, &layer), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_upsample_create(ctx, 0, &layer), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_vae_sampler_create(ctx, 0, &layer), PCL_ERR_INVALID_ARGUMENT);
}
END_TEST

int main(void)
{
    pcl_status status = pcl_context_create(NULL, &ctx);
    if (status != PCL_OK) {
        fprintf(stderr, "no OpenCL device: %s\n", pcl_last_error());
        return 77; /* meson: skipped */
    }
    Suite *suite = suite_create("layers");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_tensor);
#ifdef PCL_TEST_SMALL
    /* The own kernels' variants (gemm_variant): 0 direct conv with 48 outputs
     * per item and dw_ot at 32 channels, 1 one image per packed chunk (limit
     * 1), 2 the packed im2col path (limit 16), 5 the tiled GEMM with
     * dw_direct (limit 1); CLBlast's kernels (3) are not the library's. */
    static const int variants[] = {0, 1, 2, 5};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        tcase_add_loop_test(tc, test_gemm, variants[v], variants[v] + 1);
        tcase_add_loop_test(tc, test_conv2d, variants[v], variants[v] + 1);
        tcase_add_loop_test(tc, test_dense, variants[v], variants[v] + 1);
    }
#else
    tcase_add_loop_test(tc, test_gemm, 0, 7);
    tcase_add_loop_test(tc, test_conv2d, 0, 7);
    tcase_add_loop_test(tc, test_dense, 0, 7);
#endif
    tcase_add_loop_test(tc, test_elementwise, 0, 9);
    tcase_add_loop_test(tc, test_upsample, 0, 6);
    tcase_add_test(tc, test_reshape);
    tcase_add_loop_test(tc, test_batchnorm, 0, 3);
    tcase_add_loop_test(tc, test_vae_sampler, 0, 3);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(suite, tc);
    /* One context for all tests: no fork, so kernels build once. */
    int failed = pcl_check_run(suite, 1);
    pcl_context_destroy(ctx);
    return failed ? 1 : 0;
}
