/* The trainer's data-parallel mode through the library (trainer.h), under
 * mpirun with 3 ranks: global batches of 8 split 2 / 3 / 3 and a last batch
 * of 6 (2 / 2 / 2), so the ranks' shares differ. Each rank also trains the
 * same model as one process (comm NULL) and so knows the answer:
 *  - without batch normalisation, N ranks give one process's weights to
 *    1e-5 of each tensor's largest value (test_mpi_train.c derives the bound);
 *  - the validation loss of the sharded pass is one process's evaluation of
 *    the same weights to 1e-12 (doubles summed in another grouping);
 *  - with batch normalisation (its batch statistics are per rank, so no
 *    one-process answer), every rank ends with the same bits, running
 *    statistics included, and a run stopped after 5 steps and resumed ends
 *    bitwise where the uninterrupted run does.
 * Not a Check suite: mpirun starts the ranks; exit 0 on every rank when all hold. */
#include "perceptcl/comm.h"
#include "perceptcl/model.h"
#include "perceptcl/tensor.h"
#include "perceptcl/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pcl_comm *comm;
static pcl_context *context;
static int failures;

static void expect(int ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "rank %d: %s\n", pcl_comm_rank(comm), what);
    failures++;
}

static void check(pcl_status status, const char *what)
{
    if (status == PCL_OK) return;
    fprintf(stderr, "rank %d: %s: %s\n", pcl_comm_rank(comm), what, pcl_last_error());
    pcl_comm_abort(comm, 1);
}

enum { RECORDS = 30, VALIDATION = 11, IN = 16, OUT = 5 };
static float inputs[RECORDS + VALIDATION][IN], targets[RECORDS + VALIDATION][OUT];

static const pcl_layer_spec plain[] = {
    PCL_SPEC_CONV2D(NULL, 1, 3, 3, 1, 1, PCL_PADDING_ZERO),
    PCL_SPEC_RELU,
    PCL_SPEC_DENSE(NULL, 3 * 4 * 4, OUT),
    PCL_SPEC_TANH,
};
static const pcl_layer_spec with_bn[] = {
    PCL_SPEC_CONV2D(NULL, 1, 3, 3, 1, 1, PCL_PADDING_ZERO),
    PCL_SPEC_BATCHNORM(NULL, 3),
    PCL_SPEC_RELU,
    PCL_SPEC_DENSE(NULL, 3 * 4 * 4, OUT),
    PCL_SPEC_TANH,
};

/* Every tensor of the model (parameters and buffers) in one host array. */
static float *model_values(pcl_model *m, size_t *count)
{
    pcl_train_weights *w = pcl_model_weights(m);
    size_t total = 0;
    for (int i = 0; i < pcl_train_weights_count(w); i++) {
        pcl_tensor *t;
        check(pcl_train_weights_entry(w, i, NULL, &t), "entry");
        total += pcl_tensor_count(t);
    }
    float *v = malloc(total * sizeof *v);
    size_t at = 0;
    for (int i = 0; i < pcl_train_weights_count(w); i++) {
        pcl_tensor *t;
        check(pcl_train_weights_entry(w, i, NULL, &t), "entry");
        check(pcl_tensor_download(t, v + at), "download");
        at += pcl_tensor_count(t);
    }
    *count = total;
    return v;
}

typedef struct run {
    const pcl_layer_spec *spec;
    int layers;
    pcl_comm *comm;
    int64_t epochs, max_steps;
    const char *checkpoint, *resume;
} run;

/* Trains a fresh model (seeded weights, SGD with momentum) as the run says;
 * its values, the result, and the one-process evaluation of the final weights. */
static float *train(const run *r, size_t *count, pcl_trainer_result *result, double *evaluated)
{
    pcl_model *model;
    check(pcl_model_build(context, r->spec, r->layers, &model), "model");
    check(pcl_model_init_weights(model, PCL_INIT_HE_NORMAL, 0.0, 11), "init");
    pcl_sgd_config sgd = pcl_sgd_config_default();
    sgd.learning_rate = 0.05;
    sgd.momentum = 0.9;
    pcl_optimizer *optimizer;
    check(pcl_sgd_create(context, &sgd, &optimizer), "optimizer");
    pcl_trainer_config config = pcl_trainer_config_default();
    config.batch = 8;
    config.epochs = r->epochs;
    config.max_steps = r->max_steps;
    config.seed = 3;
    config.comm = r->comm;
    config.checkpoint_path = r->checkpoint;
    config.resume_path = r->resume;
    config.progress_mode = PCL_PROGRESS_MODE_OFF;
    config.bucket_bytes = 256; /* several buckets, to exercise the overlap */
    pcl_trainer *trainer;
    check(pcl_trainer_create(model, optimizer, &config, &trainer), "trainer");
    pcl_array_source train_arrays = {&inputs[0][0], &targets[0][0], RECORDS, {1, 4, 4}, {OUT, 1, 1}};
    pcl_array_source validation_arrays = {&inputs[RECORDS][0], &targets[RECORDS][0], VALIDATION, {1, 4, 4},
                                          {OUT, 1, 1}};
    pcl_data_source train_source = pcl_data_source_from_arrays(&train_arrays);
    pcl_data_source validation_source = pcl_data_source_from_arrays(&validation_arrays);
    check(pcl_trainer_run(trainer, &train_source, &validation_source, result), "run");
    float *values = model_values(model, count);
    pcl_trainer_destroy(trainer);
    /* the final weights evaluated by one process */
    config.comm = NULL;
    config.checkpoint_path = config.resume_path = NULL;
    check(pcl_trainer_create(model, optimizer, &config, &trainer), "evaluator");
    pcl_model_set_training(model, 0);
    check(pcl_trainer_evaluate(trainer, &validation_source, evaluated), "evaluate");
    pcl_trainer_destroy(trainer);
    pcl_optimizer_destroy(optimizer);
    pcl_model_destroy(model);
    return values;
}

/* max |a - b| / max |a| over the arrays */
static double relative_difference(const float *a, const float *b, size_t count)
{
    double largest = 0.0, diff = 0.0;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
        largest = fmax(largest, fabs(a[i]));
        diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
    }
    return diff / largest;
}

/* Whether every rank holds these bits: rank 0's copy against each. */
static int same_on_every_rank(const float *values, size_t count)
{
    float *root = malloc(count * sizeof *root);
    memcpy(root, values, count * sizeof *root);
    check(pcl_comm_broadcast(comm, root, count * sizeof *root, 0), "broadcast");
    double differs = memcmp(root, values, count * sizeof *root) != 0;
    free(root);
    check(pcl_comm_sum_doubles(comm, &differs, 1), "sum");
    return differs == 0.0;
}

int main(int argc, char **argv)
{
    check(pcl_comm_open(&argc, &argv, &comm), "pcl_comm_open");
    pcl_device_selection selection = {0};
    selection.local_rank = pcl_comm_local_rank(comm);
    check(pcl_context_create(&selection, &context), "context");
    uint64_t state = 7;
    pcl_random_gaussian_fill(&inputs[0][0], sizeof inputs / sizeof(float), &state);
    for (size_t i = 0; i < sizeof targets / sizeof(float); i++) (&targets[0][0])[i] = (float)(0.8 * pcl_random_uniform(&state) - 0.4);

    /* no batch normalisation: N ranks = one process */
    size_t count, count1;
    pcl_trainer_result parallel, single;
    double evaluated, evaluated1;
    run r = {plain, 4, comm, 3, 0, NULL, NULL};
    float *p = train(&r, &count, &parallel, &evaluated);
    r.comm = NULL;
    float *s = train(&r, &count1, &single, &evaluated1);
    expect(count == count1, "different tensor sizes");
    const double d = relative_difference(s, p, count);
    char text[160];
    snprintf(text, sizeof text, "N ranks differ from one process by %g of the largest weight (bound 1e-5)", d);
    expect(d <= 1e-5, text);
    snprintf(text, sizeof text, "sharded validation loss %.17g, one process's evaluation %.17g", parallel.validation_loss,
             evaluated);
    expect(fabs(parallel.validation_loss - evaluated) <= 1e-12 * fabs(evaluated), text);
    expect(parallel.steps == 12 && parallel.epochs == 3, "not 3 epochs of 4 steps");
    expect(same_on_every_rank(p, count), "the ranks' weights differ (no batch normalisation)");
    free(p), free(s);

    /* batch normalisation: the same bits everywhere; a stopped run resumes exactly */
    char path[64] = "";
    if (pcl_comm_rank(comm) == 0) {
        strcpy(path, "/tmp/pcl_mpi_trainer_XXXXXX");
        expect(mkdtemp(path) != NULL, "mkdtemp");
    }
    check(pcl_comm_broadcast(comm, path, sizeof path, 0), "broadcast path");
    char state_path[128];
    snprintf(state_path, sizeof state_path, "%s/state.safetensors", path);
    run whole = {with_bn, 5, comm, 3, 0, NULL, NULL};
    float *w = train(&whole, &count, &parallel, &evaluated);
    expect(same_on_every_rank(w, count), "the ranks' weights or running statistics differ");
    run stopped = {with_bn, 5, comm, 3, 5, state_path, NULL};
    free(train(&stopped, &count1, &single, &evaluated1));
    double barrier = 0.0; /* rank 0 has written the state before anyone reads it */
    check(pcl_comm_sum_doubles(comm, &barrier, 1), "barrier");
    run resumed = {with_bn, 5, comm, 3, 0, NULL, state_path};
    float *v = train(&resumed, &count1, &single, &evaluated1);
    expect(count == count1 && memcmp(w, v, count * sizeof *w) == 0,
           "the resumed run with batch normalisation differs from the uninterrupted one");
    free(w), free(v);
    check(pcl_comm_sum_doubles(comm, &barrier, 1), "barrier");
    if (pcl_comm_rank(comm) == 0) {
        unlink(state_path);
        rmdir(path);
    }

    double failed = failures;
    check(pcl_comm_sum_doubles(comm, &failed, 1), "sum");
    if (pcl_comm_rank(comm) == 0)
        printf("mpi_trainer_check: %d ranks, %s\n", pcl_comm_size(comm), failed ? "FAILED" : "all checks passed");
    pcl_context_destroy(context);
    pcl_comm_close(comm);
    return failed ? 1 : 0;
}
