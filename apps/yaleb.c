/* perceptcl yaleb: experiment 4 (Snell et al. 2017, section 5, Table 1;
 * issue 15): what features of the Extended Yale B faces tell a linear SVM
 * about identity and RBF SVRs about the light's azimuth and elevation.
 *
 *   perceptcl yaleb train ...               an autoencoder (yaleb_train.c)
 *   perceptcl yaleb features --model M ...  its bottleneck features
 *   perceptcl yaleb features --pixels ...   the pixel baseline's feature file
 *   perceptcl yaleb svm FEATURES.csv ...    Table 1's classifier stage on a feature file
 *
 * Feature files and libsvm: yaleb_features.c, yaleb_svm.c (yaleb.h). */
#include "app.h"
#include "yaleb.h"

#include "perceptcl/datasets.h"
#include "perceptcl/resize.h"
#include "perceptcl/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SIDE = YALEB_SIDE, FOLDS = 3 };

static const char usage[] =
    "usage: perceptcl yaleb train --data DIR --loss mse|mae|msssim --out MODEL [--seed 1] ...\n"
    "       perceptcl yaleb reconstruct --model M [--model M ...] --data DIR --out GRID.png [--report PREFIX]\n"
    "       perceptcl yaleb features --model MODEL --data DIR --out FEATURES.csv\n"
    "       perceptcl yaleb features --pixels [--pca 32] --data DIR --out FEATURES.csv\n"
    "       perceptcl yaleb svm FEATURES.csv [--split-seed 1] [--report PREFIX]\n"
    "       perceptcl yaleb table LABEL=SVM_REPORT.json ... [--report PREFIX]\n"
    "       perceptcl yaleb plot LABEL=FEATURES.csv ... --out PLOT.svg\n\n"
    "Extended Yale B cropped faces (DIR: CroppedYale, 2,414 images of 38 people; subject, light\n"
    "azimuth and elevation from the file names).\n\n"
    "train: the appendix-C autoencoder on the training part of the split; reconstruct: the test faces\n"
    "  through models, with a grid; table: Table 1 over seeds from svm reports; plot: features on two\n"
    "  principal components (perceptcl yaleb <command> --help for each).\n\n"
    "features --model: each face's code, the 32 units after the bottleneck's ReLU (batch normalisation\n"
    "  in inference mode), of a model of yaleb train; the faces as train sees them.\n\n"
    "features --pixels: the pixel baseline: each face resized to 48x48 (MATLAB-compatible bicubic\n"
    "  with antialiasing, on floats) and scaled to [-1, 1]; the features are the coordinates on the\n"
    "  --pca K (default 32) principal components of the 2,304 pixels over all faces (unsupervised:\n"
    "  the test faces' pixels shape the basis, their labels do not), or with --pca 0 the raw\n"
    "  pixels. The CSV's header is subject,azimuth,elevation,f0,...,f<D-1>.\n\n"
    "svm: a seeded random 60/20/20 train/validation/test split of the file's faces (pcl_split);\n"
    "  C is chosen by 3-fold cross-validation on train + validation (folds seeded from the split\n"
    "  seed), the chosen model trained on train + validation and scored on test. libsvm: identity\n"
    "  by C-SVC with a linear kernel, C in {0.01, 0.1, 1, 10, 100, 1000, 10000}; azimuth and\n"
    "  elevation by epsilon-SVR with an RBF kernel, C in {1, 10, 100, 1000}, gamma = 1 / features,\n"
    "  epsilon 0.1 (libsvm's defaults). Each feature is z-scored with the mean and standard\n"
    "  deviation of the rows a model is trained on (the training folds, then train + validation).\n"
    "  Errors: identity % misclassified, azimuth and elevation MSE (degrees^2), beside Table 1.\n"
    "  --report PREFIX also writes PREFIX.md and PREFIX.json.\n";

static int run_features(int argc, char **argv)
{
    const char *cmd = "yaleb features", *data = NULL, *out = NULL, *model = NULL;
    int pixels = 0, components = 32;
    pcl_device_selection selection = {0};
    static const app_option options[] = {{"--pixels", NULL}, {"--model", "M"}, {"--pca", "K"}, {"--data", "DIR"},
                                         {"--out", "CSV"}, {NULL, NULL}};
    app_args r;
    app_args_init(&r, cmd, usage, options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--pixels")) pixels = 1;
        else if (app_args_is(&r, "--model")) model = r.value;
        else if (app_args_is(&r, "--pca")) app_args_int(&r, 0, SIDE * SIDE, &components);
        else if (app_args_is(&r, "--data")) data = r.value;
        else if (app_args_is(&r, "--out")) out = r.value;
    }
    if (r.exit_code < 0 && pixels == !!model) app_args_error(&r, "give one of --pixels and --model M");
    if (r.exit_code < 0 && (!data || !out)) app_args_error(&r, "--data and --out are required");
    if (r.exit_code < 0) app_output_check(&r, "--out", out);
    if (r.exit_code >= 0) return r.exit_code;
    if (model) return yaleb_features_of_model(cmd, &selection, model, data, out);

    yaleb_features f;
    char error[512];
    if (yaleb_faces_load(data, &f, error, sizeof error)) return fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1;
    size_t count = f.count;
    int rc = 0;
    double *reduced = NULL, variances[SIDE * SIDE];
    if (components > 0) {
        reduced = malloc(count * (size_t)components * sizeof *reduced);
        if (!reduced) rc = (fprintf(stderr, "perceptcl %s: out of memory for the PCA\n", cmd), 1);
        else if (yaleb_pca(f.values, count, f.dims, components, 1, reduced, variances, error, sizeof error))
            rc = (fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1);
        else {
            free(f.values);
            f.values = reduced, f.dims = components;
        }
        if (rc) free(reduced);
    }
    if (rc == 0 && yaleb_features_write(out, &f, error, sizeof error))
        rc = (fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1);
    if (rc == 0)
        fprintf(stderr, "perceptcl %s: %zu faces, %d features (%s) -> %s\n", cmd, count, f.dims,
                components ? "pixel PCA" : "raw pixels", out);
    yaleb_features_free(&f);
    return rc;
}

/* One column of Table 1: the grid search on `pool`, then the chosen C
 * trained on pool and scored on test. */
static int classify(yaleb_svm_task task, const double *grid, int grid_count, const yaleb_features *f,
                    const double *y, const size_t *pool, size_t pool_count, const size_t *test, size_t test_count,
                    uint64_t seed, double *cv_errors, int *best, double *test_error, char *error, size_t size)
{
    double *predictions = malloc(test_count * sizeof *predictions);
    if (!predictions) return (snprintf(error, size, "out of memory"), 1);
    int rc = yaleb_svm_grid_search(task, grid, grid_count, f->values, f->dims, y, pool, pool_count, FOLDS, seed,
                                   cv_errors, best, error, size);
    if (rc == 0)
        rc = yaleb_svm_fit_predict(task, grid[*best], f->values, f->dims, y, pool, pool_count, test, test_count,
                                   predictions, error, size);
    if (rc == 0) *test_error = yaleb_svm_error(task, y, test, test_count, predictions);
    free(predictions);
    return rc;
}

static int run_svm(int argc, char **argv)
{
    const char *cmd = "yaleb svm", *path = NULL, *report = NULL;
    long split_seed = 1;
    static const app_option options[] = {{"--split-seed", "S"}, {"--report", "PREFIX"}, {NULL, NULL}};
    app_args r;
    app_args_init(&r, cmd, usage, options, NULL, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) {
            if (path) app_args_error(&r, "one feature file only ('%s' and '%s')", path, r.value);
            path = r.value;
        } else if (app_args_is(&r, "--split-seed")) app_args_long(&r, 0, 2147483647L, &split_seed);
        else if (app_args_is(&r, "--report")) report = r.value;
    }
    if (r.exit_code < 0 && !path) app_args_error(&r, "a feature file is required");
    if (r.exit_code >= 0) return r.exit_code;

    yaleb_features f;
    char error[512];
    if (yaleb_features_read(path, &f, error, sizeof error))
        return fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1;
    size_t n = f.count, sizes[3];
    size_t *indices = malloc(n * sizeof *indices);
    double *targets = malloc(3 * n * sizeof *targets);
    int rc = 0;
    if (!indices || !targets) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    if (rc == 0 && yaleb_split(n, (uint64_t)split_seed, sizes, indices, error, sizeof error))
        rc = (fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1);
    if (rc == 0 && (sizes[0] + sizes[1] < 2 * FOLDS || sizes[2] < 1))
        rc = (fprintf(stderr, "perceptcl %s: %s: %zu faces are too few for a 60/20/20 split and 3 folds\n", cmd,
                      path, n), 1);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        targets[i] = f.subject[i], targets[n + i] = f.azimuth[i], targets[2 * n + i] = f.elevation[i];
    }
    /* train + validation is the first sizes[0] + sizes[1] entries, test the rest. */
    size_t pool_count = sizes[0] + sizes[1], test_count = sizes[2];
    const size_t *pool = indices, *test = indices + pool_count;
    static const char *const keys[3] = {"identity", "azimuth", "elevation"};
    double cv[3][7], errors[3] = {0};
    int best[3] = {0};
    for (int t = 0; t < 3 && rc == 0; t++) {
        yaleb_svm_task task = t == 0 ? YALEB_SVM_IDENTITY : YALEB_SVM_REGRESS;
        const double *grid = t == 0 ? yaleb_svm_identity_grid : yaleb_svm_regress_grid;
        int grid_count = t == 0 ? 7 : 4;
        /* Folds of each column from the split seed, so one seed fixes the run. */
        uint64_t fold_seed = pcl_train_step_seed((uint64_t)split_seed, (uint64_t)t + 1);
        double started = app_seconds();
        if (classify(task, grid, grid_count, &f, targets + (size_t)t * n, pool, pool_count, test, test_count,
                     fold_seed, cv[t], &best[t], &errors[t], error, sizeof error))
            rc = (fprintf(stderr, "perceptcl %s: %s: %s\n", cmd, keys[t], error), 1);
        else
            fprintf(stderr, "perceptcl %s: %s: C = %g by %d-fold cross-validation, test error %.4g (%.1f s)\n", cmd,
                    keys[t], grid[best[t]], FOLDS, errors[t], app_seconds() - started);
    }
    if (rc == 0) {
        static const app_metric metrics[3] = {{"identity_error", "identity error (%)", 2, 4},
                                              {"azimuth_mse", "azimuth MSE", 2, 4},
                                              {"elevation_mse", "elevation MSE", 2, 4}};
        static const char *const columns[1] = {"features"};
        char name[256], note[1024];
        app_base_name(path, name, sizeof name);
        app_report_row row = {name, (long)test_count, errors, app_paper_table1.values};
        snprintf(note, sizeof note,
                 "Split seed %ld: %zu train + %zu validation faces (3-fold CV chose C = %g for identity, %g for "
                 "azimuth, %g for elevation), %zu test faces. %d features per face, z-scored on train + validation. "
                 "Paper: Snell et al. 2017, Table 1 (bottleneck features of autoencoders trained with each loss).",
                 split_seed, sizes[0], sizes[1], yaleb_svm_identity_grid[best[0]], yaleb_svm_regress_grid[best[1]],
                 yaleb_svm_regress_grid[best[2]], test_count, f.dims);
        json_t *cv_json = json_object();
        for (int t = 0; cv_json && t < 3; t++) {
            const double *grid = t == 0 ? yaleb_svm_identity_grid : yaleb_svm_regress_grid;
            json_t *list = json_array();
            for (int g = 0; list && g < (t == 0 ? 7 : 4); g++)
                if (json_array_append_new(list, json_pack("{s:f, s:f}", "C", grid[g], "cv_error", cv[t][g])))
                    json_decref(list), list = NULL;
            if (!list || json_object_set_new(cv_json, keys[t], json_pack("{s:f, s:o}", "C", grid[best[t]],
                                                                          "grid", list)))
                json_decref(cv_json), cv_json = NULL;
        }
        json_t *header = cv_json ? json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:o}", "features", path,
                                             "split_seed", (int)split_seed, "train", (int)sizes[0], "validation",
                                             (int)sizes[1], "test", (int)sizes[2], "dims", f.dims, "cv", cv_json)
                                 : NULL;
        app_report table = {"Yale B, Table 1: SVM / SVR test error on features", "file", "files",
                            "test_faces", metrics, 3, columns, 1, app_paper_table1.row_labels,
                            app_paper_table1.rows, &row, 1, note, header};
        if (!header) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", cmd), 1);
        else rc = app_report_emit(cmd, &table, report);
        json_decref(header);
    }
    free(indices), free(targets);
    yaleb_features_free(&f);
    return rc;
}

int app_yaleb(int argc, char **argv)
{
    static const app_subcommand subcommands[] = {
        {"train", yaleb_run_train}, {"reconstruct", yaleb_run_reconstruct}, {"features", run_features}, {"svm", run_svm}, {"table", yaleb_run_table}, {"plot", yaleb_run_plot},
        {NULL, NULL}};
    return app_run_subcommand("yaleb", usage, subcommands, argc, argv);
}
