/* perceptcl yaleb (experiment 4, issue 15): the classifier stage of Table 1
 * on features of the Extended Yale B faces. Two parts, shared by the app
 * (apps/yaleb.c) and tests/test_yaleb.c:
 *   - feature files (yaleb_features.c): a CSV, header
 *     "subject,azimuth,elevation,f0,...,f<D-1>", a face per line;
 *   - libsvm through perceptcl (yaleb_svm.c): a linear C-SVC (identity) and
 *     an RBF epsilon-SVR (light azimuth, elevation), features standardised
 *     on the training rows, C chosen by k-fold cross-validation with folds
 *     drawn from the project's seeded generator (rng.h);
 *   - PCA (yaleb_pca.c) for the pixel baseline. */
#ifndef PERCEPTCL_APPS_YALEB_H
#define PERCEPTCL_APPS_YALEB_H

#include "perceptcl/device.h"

#include <stddef.h>
#include <stdint.h>

int app_yaleb(int argc, char **argv);

/* ---- feature files (yaleb_features.c) ---------------------------------------- */
typedef struct yaleb_features {
    size_t count;                     /* faces (lines after the header) */
    int dims;                         /* D: columns f0 .. f<D-1> */
    int *subject, *azimuth, *elevation; /* [count] */
    double *values;                   /* [count][dims], finite */
} yaleb_features;

/* Reads path. Refused (nothing allocated, one line in error: "<path>:<line>:
 * <what>") when the header is not exactly the columns above, a line has
 * another column count, a label is missing or not an integer, a feature is
 * not a finite number (NaN, inf), or the file holds no face. 0, or 1. */
int yaleb_features_read(const char *path, yaleb_features *features, char *error, size_t error_size);
/* Writes the CSV (features with 9 significant digits, so float32 values come
 * back exactly) to path through a temporary file, so a failure leaves no
 * partial file. 0, or 1 with one line in error. */
int yaleb_features_write(const char *path, const yaleb_features *features, char *error, size_t error_size);
void yaleb_features_free(yaleb_features *features);

/* ---- the faces (yaleb_faces.c) -------------------------------------------------- */
enum { YALEB_SIDE = 48 }; /* the paper's 48x48 */

/* Every face of the CroppedYale folder dir, in the dataset's order, as a
 * "feature" row of its 48x48 pixels: MATLAB-compatible bicubic with
 * antialiasing (resize.h, on floats) to 48x48, scaled to [-1, 1] (2 v / 255
 * - 1), with its labels. 0, or 1 with one line in error. */
int yaleb_faces_load(const char *dir, yaleb_features *faces, char *error, size_t error_size);
/* The experiment's seeded 60/20/20 train / validation / test split of count
 * faces (pcl_split_sizes + pcl_split): the autoencoder trains on part 0 and
 * stops early on part 1; the SVMs choose C on parts 0 + 1 and are scored on
 * part 2. indices gets count entries. 0, or 1 with one line in error. */
int yaleb_split(size_t count, uint64_t seed, size_t sizes[3], size_t *indices, char *error, size_t error_size);

/* ---- the autoencoders (yaleb_train.c) ---------------------------------------------- */
/* perceptcl yaleb train ..., reconstruct ... and features --model ... */
int yaleb_run_train(int argc, char **argv);
int yaleb_run_reconstruct(int argc, char **argv);
/* Writes the feature file (yaleb_features_write) of every face's code: the
 * 32 units after the bottleneck's ReLU of a model of yaleb train
 * (pcl_arch_yaleb_ae_48.code_layers, batch normalisation in inference
 * mode). 0, or 1 after one error line. */
int yaleb_features_of_model(const char *cmd, const pcl_device_selection *selection, const char *model_path,
                            const char *dir, const char *out);

/* perceptcl yaleb table ... (yaleb_table.c): Table 1 over seeds from yaleb svm's reports. */
int yaleb_run_table(int argc, char **argv);
/* perceptcl yaleb plot ... (yaleb_plot.c): features on two principal components, by azimuth, as SVG. */
int yaleb_run_plot(int argc, char **argv);

/* ---- libsvm (yaleb_svm.c) ------------------------------------------------------ */
typedef enum yaleb_svm_task {
    YALEB_SVM_IDENTITY, /* C-SVC, linear kernel; error: % of test rows misclassified */
    YALEB_SVM_REGRESS,  /* epsilon-SVR, RBF kernel, gamma = 1 / dims, epsilon 0.1; error: MSE */
} yaleb_svm_task;

/* The paper's grids (issue 15): identity C in {0.01 .. 10000}, regression C in {1 .. 1000}. */
extern const double yaleb_svm_identity_grid[7];
extern const double yaleb_svm_regress_grid[4];

/* Trains on the rows train[0..train_count) of x ([rows][dims]) with targets
 * y (class labels as integers for identity) and predicts the rows
 * test[0..test_count) into predictions. Each feature is z-scored with the
 * mean and standard deviation (population) of the training rows (a constant
 * feature: divided by 1). libsvm's other settings are its defaults (cache
 * 100 MB, tolerance 1e-3, shrinking on, no probability estimates); its
 * printing is silenced. 0, or 1 with one line in error. */
int yaleb_svm_fit_predict(yaleb_svm_task task, double C, const double *x, int dims, const double *y,
                          const size_t *train, size_t train_count, const size_t *test, size_t test_count,
                          double *predictions, char *error, size_t error_size);
/* The test error of predictions for rows rows[0..count) of y: % wrong (identity) or MSE. */
double yaleb_svm_error(yaleb_svm_task task, const double *y, const size_t *rows, size_t count,
                       const double *predictions);
/* k-fold cross-validation over grid[0..grid_count) on rows[0..count): the
 * rows are shuffled with pcl_rng_shuffle(seed) and position i goes to fold
 * i % folds; cv_errors[g] is the error of all held-out predictions together.
 * *best is the C with the lowest error, the smallest C on a tie. 0, or 1. */
int yaleb_svm_grid_search(yaleb_svm_task task, const double *grid, int grid_count, const double *x, int dims,
                          const double *y, const size_t *rows, size_t count, int folds, uint64_t seed,
                          double *cv_errors, int *best, char *error, size_t error_size);

/* ---- PCA (yaleb_pca.c) ---------------------------------------------------------
 * The k principal components of the rows of x (n x dims; centred on their
 * mean): out (n x k) gets each row's coordinates on them, variances (k) the
 * components' sample variances (divisor n - 1), largest first. Subspace
 * iteration (k + 8 vectors, 40 steps, start vectors from seed) then
 * Rayleigh-Ritz with Jacobi; each component's sign makes its largest entry
 * positive. 0, or 1 with one line in error. */
int yaleb_pca(const double *x, size_t n, int dims, int k, uint64_t seed, double *out, double *variances,
              char *error, size_t error_size);

#endif
