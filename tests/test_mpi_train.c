/* Data-parallel training under mpirun (2 ranks, --oversubscribe): the
 * weights of N = 2 with the global batch 64 (32 per rank) against one process
 * with batch 64, bitwise repeatability for N = 2, resumes with another N,
 * and a failing rank ending the job. SRCNN on Set5's sub-images, SGD from He
 * weights (a step moves every weight), 5 batches of 64 per epoch.
 *
 * Tolerance of "the same weights" (N = 2 against N = 1): the two runs add the
 * same float32 products grouped differently (each rank sums 32 images, then
 * the two halves are added; one process sums 64 in its kernels' order), so
 * each gradient differs by a few float32 roundings, ~1e-7 of its size, and
 * after k = 4 SGD steps each weight by about k * lr * 1e-7 |g|: far below
 * 1e-5 of the tensor's largest weight, the bound asserted. The same bound
 * fails for a process that trains on half of each batch (asserted too). */
#include "perceptcl/checkpoint.h"

#include "run_perceptcl.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check_run.h"

static char work[64];
static char err_text[1 << 15];

#define SET5 PCL_SHARED_DIR "/datasets/Set5"
/* 320 sub-images: 5 global batches of 64 per epoch */
#define RECIPE "--loss mse --train " SET5 " --limit-patches 320 --weight-init he --lr 1e-4 --seed 5"

static void setup(void)
{
    strcpy(work, "/tmp/pcl_mpi_train_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(work));
}

static void teardown(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    ck_assert_int_eq(system(command), 0);
}

static void train(int ranks, const char *args)
{
    char line[2048];
    snprintf(line, sizeof line, "srcnn train " RECIPE " %s", args);
    const int rc = ranks == 1 ? pcl_test_run_perceptcl(work, line, NULL, 0, err_text, sizeof err_text)
                              : pcl_test_run_mpi(work, ranks, line, NULL, 0, err_text, sizeof err_text);
    ck_assert_msg(rc == 0, "%d ranks: perceptcl %s: exit %d: %s", ranks, line, rc, err_text);
}

static pcl_checkpoint *read_model(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    pcl_checkpoint *c = NULL;
    ck_assert_msg(pcl_checkpoint_read(path, &c) == PCL_OK, "%s: %s", path, pcl_last_error());
    return c;
}

/* The largest |a - b| over every tensor of a, each relative to that tensor's
 * largest |a| (so 0 means bitwise-equal values); NaN fails. */
static double relative_difference(const char *name_a, const char *name_b)
{
    pcl_checkpoint *a = read_model(name_a), *b = read_model(name_b);
    ck_assert_int_eq(pcl_checkpoint_count(a), pcl_checkpoint_count(b));
    double worst = 0.0;
    for (int i = 0; i < pcl_checkpoint_count(a); i++) {
        const char *name;
        int ndim;
        const int64_t *shape;
        const float *x, *y;
        ck_assert_int_eq(pcl_checkpoint_entry(a, i, &name, &ndim, &shape, &x), PCL_OK);
        ck_assert_msg(pcl_checkpoint_find(b, name, ndim, shape, &y) == PCL_OK, "%s", pcl_last_error());
        size_t count = 1;
        for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
        double largest = 0.0, diff = 0.0;
        for (size_t k = 0; k < count; k++) {
            ck_assert_msg(isfinite(x[k]) && isfinite(y[k]), "%s[%zu] not finite", name, k);
            largest = fmax(largest, fabs(x[k]));
            diff = fmax(diff, fabs((double)x[k] - (double)y[k]));
        }
        ck_assert_msg(largest > 0.0, "%s is all zeros", name);
        worst = fmax(worst, diff / largest);
    }
    pcl_checkpoint_destroy(a);
    pcl_checkpoint_destroy(b);
    return worst;
}

START_TEST(two_ranks_equal_one_process_with_the_same_batch)
{
    train(1, "--batch 64 --max-steps 4 --out one.safetensors");
    train(2, "--batch 64 --max-steps 4 --out two.safetensors");
    train(1, "--batch 32 --max-steps 4 --out half.safetensors");
    const double same = relative_difference("one.safetensors", "two.safetensors");
    const double half = relative_difference("one.safetensors", "half.safetensors");
    ck_assert_msg(same <= 1e-5, "N = 2 differs from N = 1 by %g of the largest weight (bound 1e-5)", same);
    ck_assert_msg(half > 1e-3, "half batches differ by only %g: the test cannot tell them apart", half);
}
END_TEST

START_TEST(two_rank_runs_are_bitwise_repeatable)
{
    train(2, "--batch 64 --max-steps 3 --out a.safetensors");
    train(2, "--batch 64 --max-steps 3 --out b.safetensors");
    ck_assert_msg(relative_difference("a.safetensors", "b.safetensors") == 0.0, "two N = 2 runs differ");
}
END_TEST

/* A run stopped mid-epoch (--max-steps 3 of 10 steps: the checkpoint a kill
 * would leave is the same file, written atomically) resumes with N = 2 to the
 * uninterrupted run's bits and with N = 1 to within the tolerance above. */
/* The state an interrupted N = 2 run left (two.safetensors.train), resumed
 * with N = 2 and, from a copy, with N = 1 (run: "--batch 64 --epochs E"):
 * the first must give the uninterrupted run's (whole.safetensors) bits, the
 * second its weights within the bound above. */
static void resume_with_one_and_two_ranks(const char *run)
{
    char command[512], args[256];
    snprintf(command, sizeof command, "cp %s/two.safetensors.train %s/one.safetensors.train", work, work);
    ck_assert_int_eq(system(command), 0);
    snprintf(args, sizeof args, "%s --resume --out two.safetensors", run);
    train(2, args);
    snprintf(args, sizeof args, "%s --resume --out one.safetensors", run);
    train(1, args);
    ck_assert_msg(relative_difference("whole.safetensors", "two.safetensors") == 0.0,
                  "the N = 2 resume differs from the uninterrupted run");
    const double one = relative_difference("whole.safetensors", "one.safetensors");
    ck_assert_msg(one <= 1e-5, "the N = 1 resume differs by %g of the largest weight (bound 1e-5)", one);
}

START_TEST(a_stopped_run_resumes_with_one_or_two_ranks)
{
    train(2, "--batch 64 --epochs 2 --out whole.safetensors");
    train(2, "--batch 64 --epochs 2 --max-steps 3 --out two.safetensors");
    resume_with_one_and_two_ranks("--batch 64 --epochs 2");
}
END_TEST

/* A job killed (SIGTERM to mpirun, which ends every rank) once its first
 * state is written, mid-run, resumes from that state with N = 2 to the bits
 * of the uninterrupted run and with N = 1 to within the bound above. */
START_TEST(a_killed_job_resumes_with_one_or_two_ranks)
{
    train(2, "--batch 64 --epochs 12 --out whole.safetensors");
    char command[2048];
    snprintf(command, sizeof command,
             "cd %s && { %s --oversubscribe -np 2 %s srcnn train " RECIPE " --batch 64 --epochs 12 "
             "--out two.safetensors >kill.txt 2>&1 & pid=$!; "
             "while [ ! -f two.safetensors.train ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done; "
             "kill -TERM $pid; wait $pid; true; }",
             work, PCL_MPIRUN, PCL_PERCEPTCL);
    ck_assert_int_eq(system(command), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/two.safetensors.train", work);
    pcl_checkpoint *state = NULL;
    ck_assert_msg(pcl_checkpoint_read(path, &state) == PCL_OK, "%s", pcl_last_error());
    int64_t epoch = -1;
    ck_assert_int_eq(pcl_checkpoint_metadata_i64(state, "epoch", &epoch), PCL_OK);
    pcl_checkpoint_destroy(state);
    ck_assert_msg(epoch >= 1 && epoch < 12, "the state is of epoch %lld: the job was not stopped mid-run",
                  (long long)epoch);
    snprintf(path, sizeof path, "%s/two.safetensors", work);
    ck_assert_msg(access(path, F_OK) != 0, "the killed job wrote its model");
    resume_with_one_and_two_ranks("--batch 64 --epochs 12");
}
END_TEST

/* Rank 0 is given a folder that does not exist, rank 1 a good one: rank 1
 * would wait in the first exchange forever; the job must end, non-zero,
 * with rank 0's message. */
START_TEST(a_failing_rank_ends_the_job)
{
    char launcher[1024];
    snprintf(launcher, sizeof launcher,
             "%s --oversubscribe -np 1 %s srcnn train --loss mse --train no-such-folder --out x.safetensors : -np 1",
             PCL_MPIRUN, PCL_PERCEPTCL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const int rc = pcl_test_run_launched(work, launcher, "srcnn train " RECIPE " --out x.safetensors", NULL, 0,
                                         err_text, sizeof err_text);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert_msg(rc != 0, "the job exited 0: %s", err_text);
    ck_assert_msg(strstr(err_text, "no-such-folder"), "the message does not name the folder: %s", err_text);
    ck_assert_msg(seconds < 60.0, "the job took %.1f s to end", seconds);
    char path[256];
    snprintf(path, sizeof path, "%s/x.safetensors", work);
    ck_assert_msg(access(path, F_OK) != 0, "a model file was written");
}
END_TEST

/* A command without a parallel mode (srcnn upscale) runs once, on rank 0. */
START_TEST(a_command_without_parallel_mode_runs_once)
{
    const int rc = pcl_test_run_mpi(work, 2, "srcnn upscale --model " PCL_SOURCE_DIR "/models/srcnn_x4_mse.safetensors "
                                    SET5 "/bird.png up.png", NULL, 0, err_text, sizeof err_text);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err_text);
    int lines = 0;
    for (const char *p = err_text; (p = strstr(p, "srcnn upscale: 288x288 -> 1152x1152")); p++) lines++;
    ck_assert_msg(lines == 1, "%d upscale lines: %s", lines, err_text);
    ck_assert_msg(strstr(err_text, "no parallel mode: rank 0 of 2 runs it alone"), "%s", err_text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mpi_train");
    TCase *tc = tcase_create("mpi_train");
    tcase_set_timeout(tc, 900);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, two_ranks_equal_one_process_with_the_same_batch);
    tcase_add_test(tc, two_rank_runs_are_bitwise_repeatable);
    tcase_add_test(tc, a_stopped_run_resumes_with_one_or_two_ranks);
    tcase_add_test(tc, a_killed_job_resumes_with_one_or_two_ranks);
    tcase_add_test(tc, a_failing_rank_ends_the_job);
    tcase_add_test(tc, a_command_without_parallel_mode_runs_once);
    suite_add_tcase(s, tc);
    return pcl_check_run(s, 0) ? EXIT_FAILURE : EXIT_SUCCESS;
}
