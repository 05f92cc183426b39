/* SSIM / MS-SSIM against the golden conformance cases (shared/golden): every
 * case, both padding modes, both MS-SSIM weightings, values, per-scale terms,
 * gradients, the level-1 map, the moment planes and the pyramid, with the
 * tolerances read from cases.json. Run twice: on the device (pcl_ssim) and on
 * the float64 reference of tests/ssim_reference.c (which checks the reference
 * itself). Undefined MS-SSIM must be an error; NaN anywhere fails.
 * Without ../shared (a user's clone) the subset vendored in tests/data/golden
 * runs instead (its README): five cases, some files omitted; an omitted
 * gradient whose manifest maximum is 0 is checked against exact zeros, other
 * omitted files are not compared. */
#include "json_get.h"
#include "perceptcl/ssim.h"
#include "ssim_reference.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "check_run.h"

static json_t *manifest;
static const char *golden_dir; /* PCL_GOLDEN_DIR, else PCL_GOLDEN_VENDORED_DIR */
static int subset;              /* the manifest is a subset ("set": "subset"): files may be omitted */
static double tol_value, tol_identical, tol_grad_rel, tol_grad_floor, tol_map, tol_mu, tol_sigma, tol_pyr;

static float *read_f32(const char *rel, size_t count)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", golden_dir, rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    float *data = malloc(sizeof(float) * count);
    size_t got = fread(data, sizeof(float), count, f);
    ck_assert_msg(got == count && fgetc(f) == EOF, "%s: expected %zu floats", path, count);
    fclose(f);
    return data;
}

static const char *case_file(const json_t *c, const char *key)
{
    const json_t *v = json_object_get(json_object_get(c, "files"), key);
    return json_string_value(v); /* NULL unless a string */
}

/* What a backend computes for one (case, mode, scales, weighting). */
typedef struct result {
    int undefined;
    double value;
    double cs[5], lum[5], ssim[5];
    double *grad; /* h*w */
    /* level-1 valid-mode extras (NULL when not computed) */
    double *map, *stats, *pyramid_y; /* pyramid_y: levels 2..5 concatenated */
    double x_mean[5], y_mean[5];
} result;

typedef struct request {
    const float *x, *y;
    int h, w, same, scales, equal;
    double L;
    int extras;
} request;

static double mean_of(const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s / (double)n;
}

static double *to_double(const float *a, size_t n)
{
    double *d = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static const double beta_std[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333}, beta_eq[5] = {1, 1, 1, 1, 1};

static void compute_reference(const request *q, result *r)
{
    memset(r, 0, sizeof *r);
    const size_t n = (size_t)q->h * q->w;
    double *x = to_double(q->x, n), *y = to_double(q->y, n);
    ref_ssim_level lev[5];
    r->grad = malloc(sizeof(double) * n);
    if (ref_ssim(x, y, q->h, q->w, q->same, q->L, q->scales, q->equal ? beta_eq : beta_std, &r->value, lev,
                 r->grad) != 0) {
        r->undefined = 1;
    } else {
        for (int j = 0; j < q->scales; j++) {
            r->cs[j] = lev[j].cs;
            r->lum[j] = lev[j].luminance;
            r->ssim[j] = lev[j].ssim;
        }
    }
    if (q->extras) {
        const size_t P = (size_t)(q->h - 10) * (q->w - 10);
        r->map = malloc(sizeof(double) * P);
        r->stats = malloc(sizeof(double) * 5 * P);
        ref_ssim_maps(x, y, q->h, q->w, 0, q->L, r->map, r->stats);
        /* pyramid and level means */
        r->pyramid_y = malloc(sizeof(double) * n);
        double *cx = to_double(q->x, n), *cy = to_double(q->y, n);
        int h = q->h, w = q->w;
        size_t off = 0;
        r->x_mean[0] = mean_of(cx, n);
        r->y_mean[0] = mean_of(cy, n);
        for (int j = 1; j < 5; j++) {
            const int oh = (h + 1) / 2, ow = (w + 1) / 2;
            double *nx = malloc(sizeof(double) * oh * ow), *ny = malloc(sizeof(double) * oh * ow);
            ref_downsample(cx, h, w, nx);
            ref_downsample(cy, h, w, ny);
            memcpy(r->pyramid_y + off, ny, sizeof(double) * oh * ow);
            off += (size_t)oh * ow;
            r->x_mean[j] = mean_of(nx, (size_t)oh * ow);
            r->y_mean[j] = mean_of(ny, (size_t)oh * ow);
            free(cx);
            free(cy);
            cx = nx;
            cy = ny;
            h = oh;
            w = ow;
        }
        free(cx);
        free(cy);
    }
    free(x);
    free(y);
}

static pcl_context *context;

static void compute_device(const request *q, result *r)
{
    memset(r, 0, sizeof *r);
    const size_t n = (size_t)q->h * q->w;
    pcl_ssim_options o = pcl_ssim_options_default();
    o.mode = q->same ? PCL_SSIM_MODE_SAME : PCL_SSIM_MODE_VALID;
    o.data_range = q->L;
    o.scales = q->scales;
    o.weights = q->equal ? PCL_SSIM_WEIGHTS_EQUAL : PCL_SSIM_WEIGHTS_STANDARD;
    pcl_ssim *plan = NULL;
    pcl_status st = pcl_ssim_create(context, 1, q->h, q->w, &o, &plan);
    if (st == PCL_ERR_UNDEFINED) {
        ck_assert_ptr_null(plan);
        ck_assert_msg(strstr(pcl_last_error(), "undefined") != NULL, "message: %s", pcl_last_error());
        r->undefined = 1;
        return;
    }
    ck_assert_msg(st == PCL_OK, "pcl_ssim_create: %s", pcl_last_error());
    cl_mem bx, by, bg;
    ck_assert_int_eq(pcl_buffer_create(context, sizeof(float) * n, &bx), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(context, sizeof(float) * n, &by), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(context, sizeof(float) * n, &bg), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(context, bx, 0, sizeof(float) * n, q->x), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(context, by, 0, sizeof(float) * n, q->y), PCL_OK);
    /* Poison the gradient so unwritten elements show as NaN. */
    float *poison = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) poison[i] = NAN;
    ck_assert_int_eq(pcl_buffer_write(context, bg, 0, sizeof(float) * n, poison), PCL_OK);
    float value;
    st = pcl_ssim_run(plan, bx, by, &value, bg);
    ck_assert_msg(st == PCL_OK, "pcl_ssim_run: %s", pcl_last_error());
    r->value = value;
    pcl_ssim_scale sc[5];
    ck_assert_int_eq(pcl_ssim_scales(plan, 0, sc), PCL_OK);
    for (int j = 0; j < q->scales; j++) {
        r->cs[j] = sc[j].cs;
        r->lum[j] = sc[j].luminance;
        r->ssim[j] = sc[j].ssim;
    }
    ck_assert_int_eq(pcl_buffer_read(context, bg, 0, sizeof(float) * n, poison), PCL_OK);
    r->grad = to_double(poison, n);
    if (q->extras) {
        const size_t P = (size_t)(q->h - 10) * (q->w - 10);
        cl_mem bm, bs;
        ck_assert_int_eq(pcl_buffer_create(context, sizeof(float) * P, &bm), PCL_OK);
        ck_assert_int_eq(pcl_buffer_create(context, sizeof(float) * 5 * P, &bs), PCL_OK);
        ck_assert_msg(pcl_ssim_maps(plan, bx, by, bm, bs) == PCL_OK, "%s", pcl_last_error());
        float *tmp = malloc(sizeof(float) * 5 * P);
        ck_assert_int_eq(pcl_buffer_read(context, bm, 0, sizeof(float) * P, tmp), PCL_OK);
        r->map = to_double(tmp, P);
        ck_assert_int_eq(pcl_buffer_read(context, bs, 0, sizeof(float) * 5 * P, tmp), PCL_OK);
        r->stats = to_double(tmp, 5 * P);
        free(tmp);
        pcl_buffer_release(bm);
        pcl_buffer_release(bs);
        /* The pyramid comes from a same-mode MS-SSIM plan (defined at every size). */
        pcl_ssim_options om = o;
        om.mode = PCL_SSIM_MODE_SAME;
        om.scales = 5;
        pcl_ssim *ms = NULL;
        ck_assert_msg(pcl_ssim_create(context, 1, q->h, q->w, &om, &ms) == PCL_OK, "%s", pcl_last_error());
        ck_assert_int_eq(pcl_ssim_run(ms, bx, by, NULL, NULL), PCL_OK);
        r->pyramid_y = malloc(sizeof(double) * n);
        double *dx = to_double(q->x, n), *dy = to_double(q->y, n);
        r->x_mean[0] = mean_of(dx, n);
        r->y_mean[0] = mean_of(dy, n);
        free(dx);
        free(dy);
        size_t off = 0;
        for (int level = 2; level <= 5; level++) {
            int lh, lw;
            ck_assert_int_eq(pcl_ssim_level_size(ms, level, &lh, &lw), PCL_OK);
            float *lx = malloc(sizeof(float) * lh * lw), *ly = malloc(sizeof(float) * lh * lw);
            ck_assert_int_eq(pcl_ssim_read_level(ms, level, 0, lx, ly), PCL_OK);
            double *ddx = to_double(lx, (size_t)lh * lw), *ddy = to_double(ly, (size_t)lh * lw);
            memcpy(r->pyramid_y + off, ddy, sizeof(double) * lh * lw);
            off += (size_t)lh * lw;
            r->x_mean[level - 1] = mean_of(ddx, (size_t)lh * lw);
            r->y_mean[level - 1] = mean_of(ddy, (size_t)lh * lw);
            free(ddx);
            free(ddy);
            free(lx);
            free(ly);
        }
        pcl_ssim_destroy(ms);
    }
    free(poison);
    pcl_buffer_release(bx);
    pcl_buffer_release(by);
    pcl_buffer_release(bg);
    pcl_ssim_destroy(plan);
}

static void free_result(result *r)
{
    free(r->grad);
    free(r->map);
    free(r->stats);
    free(r->pyramid_y);
}

static void check_close(const char *what, const char *case_name, double got, double expected, double tol)
{
    ck_assert_msg(isfinite(got), "%s %s: got %g (not finite)", case_name, what, got);
    ck_assert_msg(fabs(got - expected) <= tol, "%s %s: got %.9g expected %.9g (|diff| %.3g > %.3g)", case_name, what,
                  got, expected, fabs(got - expected), tol);
}

/* An omitted file (vendored subset) whose manifest maximum is 0 (MS-SSIM with
 * a non-positive term: the gradient is exactly 0): compared against zeros. */
static void check_grad(const char *what, const char *case_name, const double *got, const char *file, size_t n,
                       double L, int h, int w, double max_abs)
{
    ck_assert_msg(file || subset, "%s %s: no gradient file in the manifest", case_name, what);
    if (!file && max_abs != 0.0) return; /* omitted from the vendored subset */
    float *expected = file ? read_f32(file, n) : calloc(n, sizeof(float));
    ck_assert_ptr_nonnull(expected);
    double emax = 0, dmax = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(got[i]), "%s %s: element %zu is %g", case_name, what, i, got[i]);
        emax = fmax(emax, fabs(expected[i]));
        const double d = fabs(got[i] - expected[i]);
        if (d > dmax) {
            dmax = d;
            worst = i;
        }
    }
    const double tol = tol_grad_rel * emax + tol_grad_floor / (L * w * h);
    ck_assert_msg(dmax <= tol, "%s %s: max |diff| %.3g at %zu (got %.6g expected %.6g) > tol %.3g", case_name, what,
                  dmax, worst, got[worst], (double)expected[worst], tol);
    free(expected);
}

typedef void (*backend)(const request *, result *);

static void run_case(int index, backend compute, int with_extras)
{
    const json_t *c = json_array_get(json_object_get(manifest, "cases"), (size_t)index);
    ck_assert_ptr_nonnull(c);
    const char *name = json_string_value(json_object_get(c, "name"));
    const int h = (int)json_member_number(c, "height", 0), w = (int)json_member_number(c, "width", 0);
    const double L = json_member_number(c, "data_range", 0);
    const char *only = getenv("PCL_GOLDEN_CASE"); /* run one case when debugging */
    if (only && !strstr(name, only)) return;
    const int identical = strstr(name, "identical") != NULL;
    const size_t n = (size_t)h * w;
    float *x = read_f32(case_file(c, "x"), n), *y = read_f32(case_file(c, "y"), n);
    for (int same = 0; same <= 1; same++) {
        const json_t *m = json_object_get(c, same ? "same_replicate" : "valid");
        ck_assert_ptr_nonnull(m);
        const json_t *scales = json_object_get(m, "scales");
        char what[128];
        /* SSIM */
        request q = {x, y, h, w, same, 1, 0, L, with_extras && !same};
        result r;
        compute(&q, &r);
        ck_assert_msg(!r.undefined, "%s: SSIM undefined", name);
        snprintf(what, sizeof what, "%s ssim", same ? "same" : "valid");
        if (identical) check_close(what, name, r.value, 1.0, tol_identical);
        check_close(what, name, r.value, json_member_number(m, "ssim", NAN), tol_value);
        const json_t *s0 = json_array_get(scales, 0);
        check_close("level-1 cs", name, r.cs[0], json_member_number(s0, "cs", NAN), tol_value);
        check_close("level-1 luminance", name, r.lum[0], json_member_number(s0, "luminance", NAN), tol_value);
        check_close("level-1 ssim", name, r.ssim[0], json_member_number(s0, "ssim", NAN), tol_value);
        check_close("level-1 cs (mode)", name, r.cs[0], json_member_number(m, "cs", NAN), tol_value);
        snprintf(what, sizeof what, "%s grad_ssim", same ? "same" : "valid");
        check_grad(what, name, r.grad, case_file(c, same ? "grad_ssim_same" : "grad_ssim"), n, L, h, w,
                   json_member_number(m, "grad_ssim_max_abs", NAN));
        ck_assert_msg(case_file(c, "ssim_map") || subset, "%s: no ssim_map file", name);
        if (q.extras && case_file(c, "ssim_map")) {
            const int mh = h - 10, mw = w - 10;
            const size_t P = (size_t)mh * mw;
            ck_assert_int_eq((int)json_member_number(m, "ssim_map_height", -1), mh);
            float *map = read_f32(case_file(c, "ssim_map"), P);
            for (size_t i = 0; i < P; i++) check_close("ssim_map", name, r.map[i], map[i], tol_map);
            free(map);
            const char *sf = case_file(c, "stats");
            if (sf) {
                float *st = read_f32(sf, 5 * P);
                for (size_t i = 0; i < 5 * P; i++)
                    check_close(i < 2 * P ? "stats mu" : "stats sigma", name, r.stats[i], st[i],
                                i < 2 * P ? tol_mu * L : tol_sigma * L * L);
                free(st);
            }
            const char *pf = case_file(c, "pyramid_y");
            if (pf) {
                size_t total = 0;
                int lh = h, lw = w;
                for (int j = 1; j < 5; j++) {
                    lh = (lh + 1) / 2;
                    lw = (lw + 1) / 2;
                    total += (size_t)lh * lw;
                }
                float *py = read_f32(pf, total);
                for (size_t i = 0; i < total; i++) check_close("pyramid_y", name, r.pyramid_y[i], py[i], tol_pyr * L);
                free(py);
            }
            /* level means of x and y, from the same-mode scale table (sizes do not depend on the mode) */
            const json_t *ss = json_object_get(json_object_get(c, "same_replicate"), "scales");
            for (int j = 0; j < 5; j++) {
                check_close("x_mean", name, r.x_mean[j], json_member_number(json_array_get(ss, (size_t)j), "x_mean", NAN),
                            tol_pyr * L);
                check_close("y_mean", name, r.y_mean[j], json_member_number(json_array_get(ss, (size_t)j), "y_mean", NAN),
                            tol_pyr * L);
            }
        }
        free_result(&r);
        /* MS-SSIM, both weightings */
        const json_t *defined = json_object_get(m, "msssim_defined");
        ck_assert_msg(json_is_boolean(defined), "%s: msssim_defined is not true or false", name);
        for (int equal = 0; equal <= 1; equal++) {
            request qm = {x, y, h, w, same, 5, equal, L, 0};
            compute(&qm, &r);
            snprintf(what, sizeof what, "%s msssim_%s", same ? "same" : "valid", equal ? "equal" : "standard");
            if (!json_is_true(defined)) {
                ck_assert_msg(r.undefined, "%s %s: expected an undefined-value error", name, what);
                free_result(&r);
                continue;
            }
            ck_assert_msg(!r.undefined, "%s %s: reported undefined", name, what);
            if (getenv("PCL_GOLDEN_VERBOSE"))
                for (int j = 0; j < 5; j++)
                    printf("%s %s level %d: cs %.9g l %.9g ssim %.9g\n", name, what, j + 1, r.cs[j], r.lum[j], r.ssim[j]);
            if (identical) check_close(what, name, r.value, 1.0, tol_identical);
            check_close(what, name, r.value, json_member_number(m, equal ? "msssim_equal" : "msssim_standard", NAN),
                        tol_value);
            const json_t *terms = json_object_get(m, "terms");
            for (int j = 0; j < 5; j++) {
                const double t = j < 4 ? r.cs[j] : r.ssim[j];
                check_close("term", name, t, json_number_value(json_array_get(terms, (size_t)j)), tol_value);
                const json_t *sj = json_array_get(scales, (size_t)j);
                ck_assert_int_eq((int)json_member_number(sj, "level", -1), j + 1);
                check_close("scale cs", name, r.cs[j], json_member_number(sj, "cs", NAN), tol_value);
                check_close("scale luminance", name, r.lum[j], json_member_number(sj, "luminance", NAN), tol_value);
                check_close("scale ssim", name, r.ssim[j], json_member_number(sj, "ssim", NAN), tol_value);
            }
            char key[64];
            snprintf(key, sizeof key, "grad_msssim_%s%s", equal ? "equal" : "standard", same ? "_same" : "");
            char max_key[80];
            snprintf(max_key, sizeof max_key, "grad_msssim_%s_max_abs", equal ? "equal" : "standard");
            check_grad(what, name, r.grad, case_file(c, key), n, L, h, w, json_member_number(m, max_key, NAN));
            free_result(&r);
        }
    }
    free(x);
    free(y);
}

START_TEST(golden_device)
{
    run_case(_i, compute_device, 1);
}
END_TEST

START_TEST(golden_reference)
{
    run_case(_i, compute_reference, 1);
}
END_TEST

static void device_setup(void)
{
    ck_assert_msg(pcl_context_create(NULL, &context) == PCL_OK, "no device: %s", pcl_last_error());
}

static void device_teardown(void)
{
    pcl_context_destroy(context);
    context = NULL;
}

/* Every golden case with a small work-group limit: same results. */
static void small_limit_setup(void)
{
    device_setup();
    pcl_context_set_work_group_limit(context, 3);
}

int main(void)
{
    char path[1024];
    json_error_t err;
    struct stat sb;
    golden_dir = PCL_GOLDEN_DIR;
    snprintf(path, sizeof path, "%s/cases.json", golden_dir);
    if (stat(path, &sb) != 0) {
        printf("golden cases not found at %s: the vendored subset %s\n", path, PCL_GOLDEN_VENDORED_DIR);
        golden_dir = PCL_GOLDEN_VENDORED_DIR;
        snprintf(path, sizeof path, "%s/cases.json", golden_dir);
    }
    manifest = json_load_file(path, 0, &err);
    if (!manifest) {
        fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
        return 1;
    }
    const json_t *tol = json_object_get(manifest, "tolerances");
    tol_value = json_member_number(tol, "value_abs", NAN);
    tol_identical = json_member_number(tol, "identical_value_abs", NAN);
    tol_grad_rel = json_member_number(tol, "grad_rel_to_max", NAN);
    tol_grad_floor = json_member_number(tol, "grad_abs_floor_times_L_W_H", NAN);
    tol_map = json_member_number(tol, "ssim_map_abs", NAN);
    tol_mu = json_member_number(tol, "stats_mu_abs_over_L", NAN);
    tol_sigma = json_member_number(tol, "stats_sigma_abs_over_L2", NAN);
    tol_pyr = json_member_number(tol, "pyramid_abs_over_L", NAN);
    const int ncases = (int)json_array_size(json_object_get(manifest, "cases"));
    const json_t *set = json_object_get(manifest, "set");
    subset = json_is_string(set) && !strcmp(json_string_value(set), "subset");
    if ((subset ? ncases < 1 : ncases != 13) || isnan(tol_value + tol_identical + tol_grad_rel + tol_grad_floor + tol_map + tol_mu +
                                  tol_sigma + tol_pyr)) {
        fprintf(stderr, "cases.json: expected 13 cases and 8 tolerances\n");
        return 1;
    }
    Suite *s = suite_create("ssim_golden");
    TCase *dev = tcase_create("device");
    tcase_add_checked_fixture(dev, device_setup, device_teardown);
    tcase_add_loop_test(dev, golden_device, 0, ncases);
    tcase_set_timeout(dev, 600);
    suite_add_tcase(s, dev);
    TCase *small = tcase_create("device_small_work_groups");
    tcase_add_checked_fixture(small, small_limit_setup, device_teardown);
    tcase_add_loop_test(small, golden_device, 0, ncases);
    tcase_set_timeout(small, 600);
    suite_add_tcase(s, small);
    TCase *ref = tcase_create("reference");
    tcase_add_loop_test(ref, golden_reference, 0, ncases);
    tcase_set_timeout(ref, 600);
    suite_add_tcase(s, ref);
    int failed = pcl_check_run(s, 0);
    json_decref(manifest);
    return failed ? 1 : 0;
}
