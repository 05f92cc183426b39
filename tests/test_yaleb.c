/* perceptcl yaleb: libsvm through apps/yaleb_svm.c on problems with known
 * answers, the grid search on constructed cases, feature files (apps/yaleb_features.c)
 * and the svm command on a small file. No OpenCL device needed. */
#include "../apps/yaleb.h"
#include "check_run.h"
#include "perceptcl/rng.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/pcl-yaleb-XXXXXX";

static void setup(void) { ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/pcl-yaleb-XXXXXX"))); }
static void teardown(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(command), 0);
}

/* Uniform in [-1, 1) from the project's generator. */
static double uniform(uint64_t *state) { return (double)(pcl_rng_next(state) >> 11) * 0x1p-52 - 1.0; }

static size_t *range(size_t from, size_t to)
{
    size_t *r = malloc((to - from) * sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (size_t i = from; i < to; i++) r[i - from] = i;
    return r;
}

/* Three classes around (0, 0), (10, 0) and (0, 10), each point within 1 of
 * its centre: a line separates each pair, so a linear SVM gets all test rows right. */
START_TEST(separable_classes_no_error)
{
    enum { N = 90, TRAIN = 60 };
    double x[N * 2], y[N], predictions[N - TRAIN];
    uint64_t state = 7;
    for (int i = 0; i < N; i++) {
        int c = i % 3;
        y[i] = 5 + c; /* labels need not start at 0 */
        x[2 * i] = (c == 1 ? 10 : 0) + uniform(&state);
        x[2 * i + 1] = (c == 2 ? 10 : 0) + uniform(&state);
    }
    size_t *train = range(0, TRAIN), *test = range(TRAIN, N);
    char error[256];
    for (int g = 0; g < 7; g++) {
        ck_assert_int_eq(yaleb_svm_fit_predict(YALEB_SVM_IDENTITY, yaleb_svm_identity_grid[g], x, 2, y, train, TRAIN,
                                               test, N - TRAIN, predictions, error, sizeof error), 0);
        ck_assert_double_eq(yaleb_svm_error(YALEB_SVM_IDENTITY, y, test, N - TRAIN, predictions), 0);
    }
    /* One wrong prediction out of 30 reads as 3.33 %. */
    predictions[4] = 99;
    ck_assert_double_eq_tol(yaleb_svm_error(YALEB_SVM_IDENTITY, y, test, N - TRAIN, predictions), 100.0 / 30, 1e-12);
    free(train), free(test);
}
END_TEST

/* y = 3 x0 - 2 x1 + 5 on [-1, 1]^2, no noise: the RBF SVR's tube is
 * epsilon = 0.1 wide, so a fit within the tube has MSE below 0.01; a
 * constant prediction (the mean) would have MSE (9 + 4) / 3 = 4.33. */
START_TEST(linear_target_small_mse)
{
    enum { N = 300, TRAIN = 200 };
    double x[N * 2], y[N], predictions[N - TRAIN];
    uint64_t state = 11;
    for (int i = 0; i < N; i++) {
        x[2 * i] = uniform(&state), x[2 * i + 1] = uniform(&state);
        y[i] = 3 * x[2 * i] - 2 * x[2 * i + 1] + 5;
    }
    size_t *train = range(0, TRAIN), *test = range(TRAIN, N);
    char error[256];
    ck_assert_int_eq(yaleb_svm_fit_predict(YALEB_SVM_REGRESS, 100, x, 2, y, train, TRAIN, test, N - TRAIN,
                                           predictions, error, sizeof error), 0);
    double mse = yaleb_svm_error(YALEB_SVM_REGRESS, y, test, N - TRAIN, predictions);
    double reference = 0;
    for (int i = 0; i < N - TRAIN; i++) reference += pow(predictions[i] - y[TRAIN + i], 2) / (N - TRAIN);
    ck_assert_double_eq_tol(mse, reference, 1e-12);
    ck_assert_msg(mse < 0.01, "MSE %g (tube 0.1: below 0.01 expected)", mse);
    free(train), free(test);
}
END_TEST

/* Features are z-scored on the training rows: scaling a feature by 1000 and
 * shifting it by -3 changes no prediction (beyond rounding). */
START_TEST(standardisation_makes_units_irrelevant)
{
    enum { N = 120, TRAIN = 80 };
    double x[N * 2], scaled[N * 2], y[N], a[N - TRAIN], b[N - TRAIN];
    uint64_t state = 5;
    for (int i = 0; i < N; i++) {
        x[2 * i] = uniform(&state), x[2 * i + 1] = uniform(&state);
        scaled[2 * i] = 1000 * x[2 * i] - 3, scaled[2 * i + 1] = x[2 * i + 1];
        y[i] = sin(3 * x[2 * i]) + x[2 * i + 1];
    }
    size_t *train = range(0, TRAIN), *test = range(TRAIN, N);
    char error[256];
    ck_assert_int_eq(yaleb_svm_fit_predict(YALEB_SVM_REGRESS, 10, x, 2, y, train, TRAIN, test, N - TRAIN, a, error,
                                           sizeof error), 0);
    ck_assert_int_eq(yaleb_svm_fit_predict(YALEB_SVM_REGRESS, 10, scaled, 2, y, train, TRAIN, test, N - TRAIN, b,
                                           error, sizeof error), 0);
    for (int i = 0; i < N - TRAIN; i++) ck_assert_double_eq_tol(a[i], b[i], 1e-6);
    free(train), free(test);
}
END_TEST

/* Identity, constructed so every C in the grid is perfect: two classes at
 * -1 and +1 (spread 0.01) in one feature, z-scored to about -1 and +1. The
 * hard margin needs w = 1, reached with one support vector per class at
 * alpha = 1/2, so every C >= 1 (the identity grid from C = 1 up) separates
 * the classes exactly: every CV error is 0, and the tie goes to the smallest
 * C, the first. (C = 0.01 and 0.1 are left out: all alphas at the bound C,
 * libsvm's bias is then the middle of an interval and may misclassify.) */
START_TEST(grid_tie_picks_smallest_c)
{
    enum { N = 60 };
    const double *grid = yaleb_svm_identity_grid + 2;
    double x[N], y[N], cv[5];
    uint64_t state = 3;
    for (int i = 0; i < N; i++) y[i] = i % 2, x[i] = (i % 2 ? 1 : -1) + 0.01 * uniform(&state);
    size_t *rows = range(0, N);
    int best = -1;
    char error[256];
    ck_assert_double_eq(grid[0], 1);
    ck_assert_int_eq(yaleb_svm_grid_search(YALEB_SVM_IDENTITY, grid, 5, x, 1, y, rows, N, 3, 1, cv, &best, error,
                                           sizeof error), 0);
    for (int g = 0; g < 5; g++) ck_assert_double_eq(cv[g], 0);
    ck_assert_int_eq(best, 0);
    free(rows);
}
END_TEST

/* Regression, constructed so only the largest C can fit: y = 100 x on
 * [-1, 1]. An SVR's prediction is b + sum (a_i - a_i*) K(x_i, x) with
 * 0 <= a_i, a_i* <= C and K <= 1, so it stays within C x (training rows) =
 * C x 40 of b: C = 1 cannot leave [b - 40, b + 40] and C = 10 (at most 400,
 * in practice far less, since K falls with distance) bends short of the ends, while
 * C = 100 fits. Expected: the CV errors fall with C and C = 100 is chosen. */
START_TEST(grid_picks_large_c_when_small_cannot_fit)
{
    enum { N = 60 };
    static const double grid[3] = {1, 10, 100};
    double x[N], y[N], cv[3];
    for (int i = 0; i < N; i++) x[i] = -1 + 2.0 * i / (N - 1), y[i] = 100 * x[i];
    size_t *rows = range(0, N);
    int best = -1;
    char error[256];
    ck_assert_int_eq(yaleb_svm_grid_search(YALEB_SVM_REGRESS, grid, 3, x, 1, y, rows, N, 3, 2, cv, &best, error,
                                           sizeof error), 0);
    ck_assert_msg(cv[0] > cv[1] && cv[1] > cv[2], "CV MSE %g, %g, %g should fall with C", cv[0], cv[1], cv[2]);
    ck_assert_int_eq(best, 2);
    free(rows);
}
END_TEST

/* PCA against its definition, on rank-3 data in 12 dimensions: x = 5 a u1 +
 * 2 b u2 + c u3 + 7 (a shift), with a, b, c uniform and u1..u3 orthonormal
 * (a rotated basis). Checked in float64 against the sample covariance S
 * built here directly: each component u is a unit eigenvector (|S u - l u|
 * small), the components are orthonormal, the variances come largest first
 * and the three of them add up to trace(S) (the data has rank 3), and out
 * holds each centred row's coordinates. */
START_TEST(pca_matches_its_definition)
{
    enum { N = 400, D = 12, K = 3 };
    double x[N * D], out[N * K], variances[K], u[3][D] = {{0}};
    uint64_t state = 21;
    for (int j = 0; j < 3; j++) { /* orthonormal directions: Gram-Schmidt of random vectors */
        for (int d = 0; d < D; d++) u[j][d] = uniform(&state);
        for (int i = 0; i < j; i++) {
            double dot = 0;
            for (int d = 0; d < D; d++) dot += u[i][d] * u[j][d];
            for (int d = 0; d < D; d++) u[j][d] -= dot * u[i][d];
        }
        double norm = 0;
        for (int d = 0; d < D; d++) norm += u[j][d] * u[j][d];
        for (int d = 0; d < D; d++) u[j][d] /= sqrt(norm);
    }
    for (int r = 0; r < N; r++) {
        double a = uniform(&state), b = uniform(&state), c = uniform(&state);
        for (int d = 0; d < D; d++) x[r * D + d] = 5 * a * u[0][d] + 2 * b * u[1][d] + c * u[2][d] + 7;
    }
    char error[256];
    ck_assert_int_eq(yaleb_pca(x, N, D, K, 1, out, variances, error, sizeof error), 0);
    double mean[D] = {0}, cov[D][D] = {{0}}, trace = 0;
    for (int r = 0; r < N; r++)
        for (int d = 0; d < D; d++) mean[d] += x[r * D + d] / N;
    for (int r = 0; r < N; r++)
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) cov[i][j] += (x[r * D + i] - mean[i]) * (x[r * D + j] - mean[j]) / (N - 1);
    for (int d = 0; d < D; d++) trace += cov[d][d];
    ck_assert_double_eq_tol((variances[0] + variances[1] + variances[2]), trace, 1e-9 * trace);
    ck_assert(variances[0] > variances[1] && variances[1] > variances[2] && variances[2] > 0);
    /* The components from the coordinates: v_c = sum_r (x_r - mean) out_rc / ((N - 1) l_c). */
    double v[K][D] = {{0}};
    for (int c = 0; c < K; c++)
        for (int r = 0; r < N; r++)
            for (int d = 0; d < D; d++) v[c][d] += (x[r * D + d] - mean[d]) * out[r * K + c] / ((N - 1) * variances[c]);
    for (int c = 0; c < K; c++) {
        for (int e = 0; e < K; e++) {
            double dot = 0;
            for (int d = 0; d < D; d++) dot += v[c][d] * v[e][d];
            ck_assert_double_eq_tol(dot, c == e, 1e-9);
        }
        for (int i = 0; i < D; i++) {
            double su = 0;
            for (int j = 0; j < D; j++) su += cov[i][j] * v[c][j];
            ck_assert_double_eq_tol(su, variances[c] * v[c][i], 1e-9 * variances[0]);
        }
    }
    /* Out of range: refused with one line. */
    ck_assert_int_eq(yaleb_pca(x, N, D, D + 1, 1, out, variances, error, sizeof error), 1);
    ck_assert_ptr_nonnull(strstr(error, "13 components of 12 features"));
}
END_TEST

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(features_round_trip)
{
    int subject[2] = {11, 39}, azimuth[2] = {-130, 0}, elevation[2] = {20, -35};
    double values[4] = {0.1f, -1.0 / 3, 1e-30, 12345.678f};
    yaleb_features f = {2, 2, subject, azimuth, elevation, values}, back;
    char path[256], error[512];
    snprintf(path, sizeof path, "%s/f.csv", dir);
    ck_assert_int_eq(yaleb_features_write(path, &f, error, sizeof error), 0);
    ck_assert_int_eq(yaleb_features_read(path, &back, error, sizeof error), 0);
    ck_assert_int_eq((int)back.count, 2);
    ck_assert_int_eq(back.dims, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(back.subject[i], subject[i]);
        ck_assert_int_eq(back.azimuth[i], azimuth[i]);
        ck_assert_int_eq(back.elevation[i], elevation[i]);
    }
    /* 9 significant digits: float32 values come back exactly. */
    ck_assert_float_eq((float)back.values[0], 0.1f);
    ck_assert_float_eq((float)back.values[3], 12345.678f);
    ck_assert_double_eq_tol(back.values[1], -1.0 / 3, 1e-9);
    yaleb_features_free(&back);
}
END_TEST

/* Each bad file: refused, one line naming the file and the line. */
START_TEST(bad_feature_files_refused)
{
    static const struct {
        const char *text, *expected;
    } cases[] = {
        {"subject,azimuth,elevation,f0,f1\n1,0,0,0.5\n", ":2: 4 columns, the header has 5"},
        {"subject,azimuth,elevation,f0,f1\n1,0,0,0.5,1\n2,0,0,0.5,1,7\n", ":3: 6 columns, the header has 5"},
        {"subject,azimuth,elevation,f0\n1,0,0,nan\n", ":2: f0 'nan' is not a finite number"},
        {"subject,azimuth,elevation,f0\n1,0,0,inf\n", ":2: f0 'inf' is not a finite number"},
        {"subject,azimuth,elevation,f0\n1,0,0,\n", ":2: f0 '' is not a finite number"},
        {"subject,azimuth,elevation,f0\n,0,0,1\n", ":2: the subject label is missing"},
        {"subject,azimuth,elevation,f0\n1,,0,1\n", ":2: the azimuth label is missing"},
        {"subject,azimuth,elevation,f0\n1,0,1.5,1\n", ":2: the elevation label '1.5' is not an integer"},
        {"subject,azimuth,f0\n1,0,1\n", ":1: the header is not"},
        {"subject,azimuth,elevation,f1\n1,0,0,1\n", ":1: the header is not"},
        {"subject,azimuth,elevation,f0\n", ":2: no face after the header"},
        {"", ":1: empty file"},
    };
    char path[256], error[512];
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(path, cases[i].text);
        yaleb_features f;
        ck_assert_int_eq(yaleb_features_read(path, &f, error, sizeof error), 1);
        ck_assert_msg(strncmp(error, path, strlen(path)) == 0 && strstr(error, cases[i].expected) &&
                          !strchr(error, '\n'),
                      "case %zu: '%s' should name %s and say '%s'", i, error, path, cases[i].expected);
        ck_assert_ptr_null(f.values);
    }
}
END_TEST

/* Runs perceptcl with args; stderr into err (its text), returns the exit status. */
static int run_perceptcl(const char *args, char *err, size_t size)
{
    char command[1024], err_path[300];
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    snprintf(command, sizeof command, "%s %s >%s/stdout 2>%s", PCL_PERCEPTCL, args, dir, err_path);
    int status = system(command);
    FILE *f = fopen(err_path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(err, 1, size - 1, f);
    err[n] = '\0';
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The command on 200 faces: subject separable (subject s at f0 = 10 s),
 * azimuth = 20 f1 and elevation = 10 f2 with f1, f2 in [-1, 1]: identity
 * error 0 and both MSEs far below the targets' variances (133 and 33). */
START_TEST(svm_command_on_a_constructed_file)
{
    enum { N = 200 };
    int subject[N], azimuth[N], elevation[N];
    double values[N * 3];
    uint64_t state = 9;
    for (int i = 0; i < N; i++) {
        subject[i] = 1 + i % 4;
        values[3 * i] = 10 * subject[i] + uniform(&state);
        azimuth[i] = (int)lround(20 * uniform(&state)), elevation[i] = (int)lround(10 * uniform(&state));
        values[3 * i + 1] = azimuth[i] / 20.0, values[3 * i + 2] = elevation[i] / 10.0;
    }
    yaleb_features f = {N, 3, subject, azimuth, elevation, values};
    char path[256], args[1024], err[4096], error[512];
    snprintf(path, sizeof path, "%s/small.csv", dir);
    ck_assert_int_eq(yaleb_features_write(path, &f, error, sizeof error), 0);
    snprintf(args, sizeof args, "yaleb svm %s --split-seed 4 --report %s/r", path, dir);
    ck_assert_int_eq(run_perceptcl(args, err, sizeof err), 0);
    char json_path[300];
    snprintf(json_path, sizeof json_path, "%s/r.json", dir);
    json_error_t json_error;
    json_t *doc = json_load_file(json_path, 0, &json_error);
    ck_assert_ptr_nonnull(doc);
    json_t *results = json_object_get(json_object_get(json_array_get(json_object_get(doc, "files"), 0),
                                                      "results"), "features");
    ck_assert_ptr_nonnull(results);
    ck_assert_double_eq(json_real_value(json_object_get(results, "identity_error")), 0);
    double azimuth_mse = json_real_value(json_object_get(results, "azimuth_mse"));
    double elevation_mse = json_real_value(json_object_get(results, "elevation_mse"));
    ck_assert_msg(azimuth_mse >= 0 && azimuth_mse < 5, "azimuth MSE %g", azimuth_mse);
    ck_assert_msg(elevation_mse >= 0 && elevation_mse < 2, "elevation MSE %g", elevation_mse);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "test")), 40);
    json_decref(doc);

    /* The same seed gives the same report byte for byte. */
    char first[300], second[300], command[700];
    snprintf(first, sizeof first, "%s/r.md", dir);
    snprintf(second, sizeof second, "%s/r2.md", dir);
    snprintf(args, sizeof args, "yaleb svm %s --split-seed 4 --report %s/r2", path, dir);
    ck_assert_int_eq(run_perceptcl(args, err, sizeof err), 0);
    snprintf(command, sizeof command, "cmp -s %s %s", first, second);
    ck_assert_int_eq(system(command), 0);

    /* A bad file: exit 1, one line naming the file and line. */
    write_text(path, "subject,azimuth,elevation,f0\n1,0,0,nan\n");
    snprintf(args, sizeof args, "yaleb svm %s", path);
    ck_assert_int_eq(run_perceptcl(args, err, sizeof err), 1);
    ck_assert_msg(strstr(err, ":2: f0 'nan'") && strchr(err, '\n') == err + strlen(err) - 1, "stderr: %s", err);
    /* Usage errors: exit 2. */
    ck_assert_int_eq(run_perceptcl("yaleb svm", err, sizeof err), 2);
    ck_assert_int_eq(run_perceptcl("yaleb features --data x --out y", err, sizeof err), 2);
}
END_TEST

/* features --pixels on a small Yale tree of constant faces: a constant
 * image stays constant through the bicubic resize (its weights sum to 1),
 * so with --pca 0 every feature of a face of gray v is 2 v / 255 - 1, and the
 * labels come from the names. --pca 2 writes two features per face. */
START_TEST(pixel_features_of_constant_faces)
{
    static const struct {
        const char *name;
        int subject, azimuth, elevation, gray;
    } faces[] = {
        {"yaleB01_P00A+000E+00.pgm", 1, 0, 0, 0},
        {"yaleB01_P00A-130E+20.pgm", 1, -130, 20, 255},
        {"yaleB02_P00A+035E-40.pgm", 2, 35, -40, 51},
        {"yaleB02_P00A+010E+05.pgm", 2, 10, 5, 204},
    };
    enum { FACES = sizeof faces / sizeof faces[0], W = 168, H = 192 };
    static unsigned char pixels[W * H];
    char path[512], args[1024], err[4096], error[512];
    for (int i = 0; i < FACES; i++) {
        snprintf(path, sizeof path, "%s/yale/yaleB%02d", dir, faces[i].subject);
        char command[600];
        snprintf(command, sizeof command, "mkdir -p '%s'", path);
        ck_assert_int_eq(system(command), 0);
        snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", faces[i].name);
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "P5\n%d %d\n255\n", W, H);
        memset(pixels, faces[i].gray, sizeof pixels);
        ck_assert_int_eq((int)fwrite(pixels, 1, sizeof pixels, f), W * H);
        ck_assert_int_eq(fclose(f), 0);
    }
    snprintf(args, sizeof args, "yaleb features --pixels --pca 0 --data %s/yale --out %s/raw.csv", dir, dir);
    ck_assert_msg(run_perceptcl(args, err, sizeof err) == 0, "stderr: %s", err);
    yaleb_features f;
    snprintf(path, sizeof path, "%s/raw.csv", dir);
    ck_assert_int_eq(yaleb_features_read(path, &f, error, sizeof error), 0);
    ck_assert_int_eq((int)f.count, FACES);
    ck_assert_int_eq(f.dims, 48 * 48);
    for (size_t r = 0; r < f.count; r++) {
        int i = 0; /* the dataset's order need not be ours: find the face by its labels */
        while (i < FACES && (faces[i].subject != f.subject[r] || faces[i].azimuth != f.azimuth[r] ||
                             faces[i].elevation != f.elevation[r]))
            i++;
        ck_assert_int_lt(i, FACES);
        for (int d = 0; d < f.dims; d++)
            ck_assert_double_eq_tol(f.values[r * (size_t)f.dims + d], 2.0 * faces[i].gray / 255 - 1, 1e-5);
    }
    yaleb_features_free(&f);
    snprintf(args, sizeof args, "yaleb features --pixels --pca 2 --data %s/yale --out %s/pca.csv", dir, dir);
    ck_assert_msg(run_perceptcl(args, err, sizeof err) == 0, "stderr: %s", err);
    snprintf(path, sizeof path, "%s/pca.csv", dir);
    ck_assert_int_eq(yaleb_features_read(path, &f, error, sizeof error), 0);
    ck_assert_int_eq((int)f.count, FACES);
    ck_assert_int_eq(f.dims, 2);
    yaleb_features_free(&f);
    /* A missing folder: exit 1, one line, no file. */
    snprintf(args, sizeof args, "yaleb features --pixels --data %s/none --out %s/none.csv", dir, dir);
    ck_assert_int_eq(run_perceptcl(args, err, sizeof err), 1);
    ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
    snprintf(path, sizeof path, "%s/none.csv", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/* table: mean and sample sd per label over seeds, the direction per column
 * (msssim below mse and mae on every shared seed), refusals in one line;
 * plot: a panel per file, a point per face. */
START_TEST(table_and_plot_commands)
{
    /* identity: msssim 3 / 4 beats mse 5 / 6 and mae 5.5 / 6.5 on both seeds; azimuth: msssim wins seed 1 only. */
    static const struct { const char *label; int seed; double id, az, el; } reports[] = {
        {"mse", 1, 5, 200, 40}, {"mse", 2, 6, 210, 41}, {"mae", 1, 5.5, 250, 42},
        {"mae", 2, 6.5, 190, 43}, {"msssim", 1, 3, 150, 30}, {"msssim", 2, 4, 220, 31}};
    char args[4096] = "yaleb table", path[512], err[4096];
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
        snprintf(path, sizeof path, "%s/r%zu.json", dir, i);
        json_t *doc = json_pack("{s:i, s:[{s:{s:{s:f, s:f, s:f}}}]}", "split_seed", reports[i].seed, "files", "results",
                                "features", "identity_error", reports[i].id, "azimuth_mse", reports[i].az,
                                "elevation_mse", reports[i].el);
        ck_assert_int_eq(json_dump_file(doc, path, 0), 0);
        json_decref(doc);
        snprintf(args + strlen(args), sizeof args - strlen(args), " %s=%s", reports[i].label, path);
    }
    snprintf(args + strlen(args), sizeof args - strlen(args), " --report %s/t", dir);
    ck_assert_msg(run_perceptcl(args, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/t.json", dir);
    json_error_t json_error;
    json_t *doc = json_load_file(path, 0, &json_error);
    ck_assert_ptr_nonnull(doc);
    json_t *mse = json_array_get(json_object_get(doc, "rows"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(mse, "features")), "mse");
    ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(mse, "mean"), "identity_error")), 5.5, 1e-9);
    ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(mse, "sd"), "azimuth_mse")),
                            sqrt(50.0), 0.5e-4); /* the report's 4 decimals */
    json_t *direction = json_object_get(doc, "direction");
    ck_assert(json_is_true(json_object_get(json_object_get(direction, "identity_error"), "every_seed")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(direction, "azimuth_mse"), "msssim_best_seeds")), 1);
    ck_assert(json_is_false(json_object_get(json_object_get(direction, "azimuth_mse"), "every_seed")));
    json_decref(doc);
    /* The same label and seed twice; a missing report; not LABEL=FILE. */
    snprintf(args, sizeof args, "yaleb table mse=%s/r0.json mse=%s/r0.json", dir, dir);
    ck_assert_int_eq(run_perceptcl(args, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "two reports of mse with split seed 1") && strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
    snprintf(args, sizeof args, "yaleb table mse=%s/none.json", dir);
    ck_assert_int_eq(run_perceptcl(args, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(err, "none.json"));
    ck_assert_int_eq(run_perceptcl("yaleb table r0.json", err, sizeof err), 2);

    /* plot: two files of 30 faces, a circle per face and panel. */
    enum { N = 30 };
    int subject[N], azimuth[N], elevation[N];
    double values[N * 4];
    uint64_t state = 3;
    for (int i = 0; i < N; i++) {
        subject[i] = 1 + i % 3, azimuth[i] = -130 + 9 * i, elevation[i] = 0;
        for (int d = 0; d < 4; d++) values[4 * i + d] = uniform(&state) + (d == 0 ? azimuth[i] / 50.0 : 0);
    }
    yaleb_features f = {N, 4, subject, azimuth, elevation, values};
    char error[512], svg[1 << 16];
    snprintf(path, sizeof path, "%s/p.csv", dir);
    ck_assert_int_eq(yaleb_features_write(path, &f, error, sizeof error), 0);
    snprintf(args, sizeof args, "yaleb plot a=%s b=%s --out %s/p.svg", path, path, dir);
    ck_assert_msg(run_perceptcl(args, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/p.svg", dir);
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    svg[fread(svg, 1, sizeof svg - 1, file)] = '\0';
    fclose(file);
    int circles = 0;
    for (const char *c = svg; (c = strstr(c, "<circle")); c++) circles++;
    ck_assert_int_eq(circles, 2 * N);
    ck_assert(strstr(svg, ">a (4 features)<") && strstr(svg, "</svg>"));
    snprintf(args, sizeof args, "yaleb plot a=%s/none.csv --out %s/q.svg", dir, dir);
    ck_assert_int_eq(run_perceptcl(args, err, sizeof err), 1);
    snprintf(path, sizeof path, "%s/q.svg", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/* The committed Table 1 (reports/yaleb): the svm reports of split seed 1
 * (pixels and the three losses' features) give their test errors back from
 * their committed feature files with the C's their grid searches chose (the
 * final fits on train + validation), to the reports' 4 decimals. One seed's
 * reports, not every seed's: each seed adds minutes of libsvm fits at C up to
 * 10^4 (seed 3's MSE features hit libsvm's iteration limit), and the other
 * seeds' reports come from the same code with another split. */
START_TEST(committed_reports_reproduce)
{
    static const char *const keys[3] = {"identity", "azimuth", "elevation"};
    static const char *const result_keys[3] = {"identity_error", "azimuth_mse", "elevation_mse"};
    const char *reports = PCL_SOURCE_DIR "/reports/yaleb";
    DIR *folder = opendir(reports);
    ck_assert_msg(folder != NULL, "%s: missing", reports);
    int checked = 0;
    for (struct dirent *e; (e = readdir(folder));) {
        size_t length = strlen(e->d_name);
        if (length < 9 || strcmp(e->d_name + length - 9, "-svm.json") != 0) continue;
        char path[1024], error[512];
        snprintf(path, sizeof path, "%s/%s", reports, e->d_name);
        json_error_t json_error;
        json_t *doc = json_load_file(path, 0, &json_error);
        ck_assert_msg(doc != NULL, "%s: %s", path, json_error.text);
        if (json_integer_value(json_object_get(doc, "split_seed")) != 1) {
            json_decref(doc);
            continue;
        }
        const char *features = json_string_value(json_object_get(doc, "features"));
        ck_assert_ptr_nonnull(features);
        snprintf(path, sizeof path, "%s/%s", reports, features);
        yaleb_features f;
        ck_assert_msg(yaleb_features_read(path, &f, error, sizeof error) == 0, "%s", error);
        size_t sizes[3], *rows = malloc(f.count * sizeof *rows);
        double *y = malloc(f.count * sizeof *y), *predictions = malloc(f.count * sizeof *predictions);
        ck_assert(rows && y && predictions);
        uint64_t seed = (uint64_t)json_integer_value(json_object_get(doc, "split_seed"));
        ck_assert_int_eq(yaleb_split(f.count, seed, sizes, rows, error, sizeof error), 0);
        const size_t pool = sizes[0] + sizes[1];
        json_t *results = json_object_get(json_object_get(json_array_get(json_object_get(doc, "files"), 0),
                                                          "results"), "features");
        for (int t = 0; t < 3; t++) {
            for (size_t i = 0; i < f.count; i++) y[i] = t == 0 ? f.subject[i] : t == 1 ? f.azimuth[i] : f.elevation[i];
            double C = json_number_value(json_object_get(json_object_get(json_object_get(doc, "cv"), keys[t]), "C"));
            yaleb_svm_task task = t == 0 ? YALEB_SVM_IDENTITY : YALEB_SVM_REGRESS;
            ck_assert_msg(yaleb_svm_fit_predict(task, C, f.values, f.dims, y, rows, pool, rows + pool, sizes[2],
                                                predictions, error, sizeof error) == 0, "%s", error);
            double got = yaleb_svm_error(task, y, rows + pool, sizes[2], predictions);
            double want = json_number_value(json_object_get(results, result_keys[t]));
            ck_assert_msg(fabs(got - want) <= 0.5e-4 + 1e-9 * fabs(want), "%s: %s %.6f, the report %.4f", e->d_name,
                          keys[t], got, want);
        }
        free(rows), free(y), free(predictions);
        yaleb_features_free(&f);
        json_decref(doc);
        checked++;
    }
    closedir(folder);
    ck_assert_msg(checked == 4, "%d svm reports of split seed 1 in %s (pixels, mse, mae, msssim)", checked, reports);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("yaleb");
    TCase *svm = tcase_create("svm");
    tcase_add_test(svm, separable_classes_no_error);
    tcase_add_test(svm, linear_target_small_mse);
    tcase_add_test(svm, standardisation_makes_units_irrelevant);
    tcase_add_test(svm, grid_tie_picks_smallest_c);
    tcase_add_test(svm, grid_picks_large_c_when_small_cannot_fit);
    tcase_add_test(svm, pca_matches_its_definition);
#ifndef __SANITIZE_ADDRESS__ /* libsvm's final fits take minutes at C = 1000 and add nothing under the
                                sanitizer: the same wrapper runs in the other tests */
    tcase_add_test(svm, committed_reports_reproduce);
#endif
    suite_add_tcase(suite, svm);
    TCase *files = tcase_create("files");
    tcase_add_checked_fixture(files, setup, teardown);
    tcase_add_test(files, features_round_trip);
    tcase_add_test(files, bad_feature_files_refused);
    tcase_add_test(files, svm_command_on_a_constructed_file);
    tcase_add_test(files, pixel_features_of_constant_faces);
    tcase_add_test(files, table_and_plot_commands);
    suite_add_tcase(suite, files);
    return pcl_check_run(suite, 0) == 0 ? 0 : 1;
}
