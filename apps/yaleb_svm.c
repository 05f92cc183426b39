/* libsvm through perceptcl: the SVM and SVR of Table 1 (yaleb.h). */
#include "yaleb.h"

#include "perceptcl/rng.h"

#include <libsvm/svm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double yaleb_svm_identity_grid[7] = {0.01, 0.1, 1, 10, 100, 1000, 10000};
const double yaleb_svm_regress_grid[4] = {1, 10, 100, 1000};

static void quiet(const char *text) { (void)text; }

/* Dense rows as libsvm's sparse nodes: dims entries (index 1..dims) and the
 * -1 terminator per row, every value z-scored with mean and scale. */
static struct svm_node *nodes_make(const double *x, int dims, const size_t *rows, size_t count, const double *mean,
                                   const double *scale)
{
    struct svm_node *nodes = malloc((count * (size_t)(dims + 1) + 1) * sizeof *nodes);
    if (!nodes) return NULL;
    for (size_t r = 0; r < count; r++) {
        struct svm_node *row = nodes + r * (size_t)(dims + 1);
        for (int d = 0; d < dims; d++)
            row[d] = (struct svm_node){d + 1, (x[rows[r] * (size_t)dims + d] - mean[d]) / scale[d]};
        row[dims] = (struct svm_node){-1, 0};
    }
    return nodes;
}

int yaleb_svm_fit_predict(yaleb_svm_task task, double C, const double *x, int dims, const double *y,
                          const size_t *train, size_t train_count, const size_t *test, size_t test_count,
                          double *predictions, char *error, size_t error_size)
{
    if (dims < 1 || train_count < 2 || train_count > (size_t)INT32_MAX || !(C > 0)) {
        snprintf(error, error_size, "svm: needs features, 2+ training rows and C > 0 (dims %d, rows %zu, C %g)", dims,
                 train_count, C);
        return 1;
    }
    svm_set_print_string_function(quiet);
    double *mean = calloc((size_t)dims, sizeof *mean), *scale = calloc((size_t)dims, sizeof *scale);
    double *targets = malloc(train_count * sizeof *targets);
    struct svm_node **row_pointers = malloc(train_count * sizeof *row_pointers);
    struct svm_node *train_nodes = NULL, *test_nodes = NULL;
    int rc = 1;
    if (!mean || !scale || !targets || !row_pointers) goto out_of_memory;
    for (int d = 0; d < dims; d++) {
        double sum = 0, squares = 0;
        for (size_t r = 0; r < train_count; r++) sum += x[train[r] * (size_t)dims + d];
        mean[d] = sum / (double)train_count;
        for (size_t r = 0; r < train_count; r++) {
            double v = x[train[r] * (size_t)dims + d] - mean[d];
            squares += v * v;
        }
        double sd = sqrt(squares / (double)train_count);
        scale[d] = sd > 0 ? sd : 1; /* a constant feature carries nothing; keep it at 0 */
    }
    train_nodes = nodes_make(x, dims, train, train_count, mean, scale);
    test_nodes = nodes_make(x, dims, test, test_count, mean, scale);
    if (!train_nodes || !test_nodes) goto out_of_memory;
    for (size_t r = 0; r < train_count; r++) {
        targets[r] = y[train[r]];
        row_pointers[r] = train_nodes + r * (size_t)(dims + 1);
    }
    struct svm_problem problem = {(int)train_count, targets, row_pointers};
    /* libsvm's defaults (svm-train) except the kernel, C and gamma = 1 / dims. */
    struct svm_parameter parameter = {0};
    parameter.svm_type = task == YALEB_SVM_IDENTITY ? C_SVC : EPSILON_SVR;
    parameter.kernel_type = task == YALEB_SVM_IDENTITY ? LINEAR : RBF;
    parameter.degree = 3;
    parameter.gamma = 1.0 / dims;
    parameter.cache_size = 100;
    parameter.eps = 1e-3;
    parameter.C = C;
    parameter.nu = 0.5;
    parameter.p = 0.1;
    parameter.shrinking = 1;
    const char *bad = svm_check_parameter(&problem, &parameter);
    if (bad) {
        snprintf(error, error_size, "svm: libsvm refused the parameters: %s", bad);
        goto done;
    }
    struct svm_model *model = svm_train(&problem, &parameter);
    if (!model) goto out_of_memory;
    for (size_t r = 0; r < test_count; r++) predictions[r] = svm_predict(model, test_nodes + r * (size_t)(dims + 1));
    svm_free_and_destroy_model(&model); /* before the nodes: the model points into them */
    rc = 0;
    goto done;
out_of_memory:
    snprintf(error, error_size, "svm: out of memory for %zu rows of %d features", train_count, dims);
done:
    free(mean), free(scale), free(targets), free(row_pointers), free(train_nodes), free(test_nodes);
    return rc;
}

double yaleb_svm_error(yaleb_svm_task task, const double *y, const size_t *rows, size_t count,
                       const double *predictions)
{
    double sum = 0;
    for (size_t r = 0; r < count; r++) {
        double difference = predictions[r] - y[rows[r]];
        sum += task == YALEB_SVM_IDENTITY ? (difference != 0) : difference * difference;
    }
    double mean = count ? sum / (double)count : NAN;
    return task == YALEB_SVM_IDENTITY ? 100 * mean : mean;
}

int yaleb_svm_grid_search(yaleb_svm_task task, const double *grid, int grid_count, const double *x, int dims,
                          const double *y, const size_t *rows, size_t count, int folds, uint64_t seed,
                          double *cv_errors, int *best, char *error, size_t error_size)
{
    if (folds < 2 || count < (size_t)folds * 2 || grid_count < 1) {
        snprintf(error, error_size, "svm: cross-validation needs 2+ folds, 2+ rows per fold and a grid (%zu rows, %d folds)",
                 count, folds);
        return 1;
    }
    size_t *order = malloc(count * sizeof *order), *train = malloc(count * sizeof *train);
    size_t *held = malloc(count * sizeof *held);
    double *predictions = malloc(count * sizeof *predictions), *truth = malloc(count * sizeof *truth);
    int rc = 0;
    if (!order || !train || !held || !predictions || !truth) {
        snprintf(error, error_size, "svm: out of memory for cross-validation over %zu rows", count);
        rc = 1;
    }
    if (rc == 0) {
        memcpy(order, rows, count * sizeof *order);
        pcl_rng_shuffle(order, count, &seed);
    }
    *best = 0;
    for (int g = 0; g < grid_count && rc == 0; g++) {
        size_t done = 0;
        for (int f = 0; f < folds && rc == 0; f++) {
            size_t train_count = 0, held_count = 0;
            for (size_t i = 0; i < count; i++) {
                if ((int)(i % (size_t)folds) == f) held[held_count++] = order[i];
                else train[train_count++] = order[i];
            }
            rc = yaleb_svm_fit_predict(task, grid[g], x, dims, y, train, train_count, held, held_count,
                                       predictions + done, error, error_size);
            for (size_t i = 0; i < held_count; i++) truth[done + i] = y[held[i]];
            done += held_count;
        }
        if (rc) break;
        /* truth is in prediction order: score against it with rows 0..count. */
        for (size_t i = 0; i < count; i++) held[i] = i;
        cv_errors[g] = yaleb_svm_error(task, truth, held, count, predictions);
        if (cv_errors[g] < cv_errors[*best]) *best = g;
    }
    free(order), free(train), free(held), free(predictions), free(truth);
    return rc;
}
