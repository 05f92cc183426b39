/* Sharded evaluation under mpirun (--oversubscribe): every eval command of
 * N ranks writes and prints byte for byte what one process does. Rank 0
 * runs in one folder and the other ranks in an empty folder of their own,
 * every input given by absolute path and every output by a relative one:
 * anything another rank wrote would land in its folder, which must stay
 * empty, and anything it printed would be in the shared stdout, which must
 * equal one process's.
 *
 *   srcnn eval on Set5 and Set14 (5 and 14 images) with 2 ranks, and on
 *   Set5 with 3 ranks (shards of 1, 2 and 2 images): Table 2's Markdown,
 *   JSON and stdout identical to one process;
 *   sr-eval --json with 3 ranks likewise;
 *   convae eval of two narrow nets trained for two steps, on 70 crops of
 *   Set14 (batches of 32, 32 and 6) with 2 and 3 ranks: the report, stdout,
 *   the grid PNG and the study kit's items identical; convae reconstruct's
 *   grid likewise;
 *   a rank that fails on an image of its part ends the job. */
#include "perceptcl/datasets.h"
#include "perceptcl/image.h"

#include "run_perceptcl.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "check_run.h"

static char work[64];
static char out_text[1 << 16], err_text[1 << 15];

#define SETS PCL_SHARED_DIR "/datasets"
#define SRCNN_MSE PCL_SOURCE_DIR "/models/srcnn_x4_mse.safetensors"
#define STL10_10 PCL_SHARED_DIR "/datasets/STL10/test_examples10"

static void setup(void)
{
    strcpy(work, "/tmp/pcl_mpi_eval_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(work));
}

static void teardown(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    ck_assert_int_eq(system(command), 0);
}

/* work/name, created. */
static const char *folder(const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", work, name);
    ck_assert_msg(mkdir(path, 0777) == 0, "mkdir %s", path);
    return path;
}

/* The entries of a folder besides . and .. */
static int entries(const char *path)
{
    DIR *d = opendir(path);
    ck_assert_msg(d != NULL, "%s", path);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* "perceptcl ARGS" in work/name: one process, or rank 0 of `ranks` there
 * and the other ranks in work/name.others, which must stay empty. Exit 0. */
static void run(const char *name, int ranks, const char *args)
{
    char dir[256], others[256], launcher[2048];
    folder(name, dir, sizeof dir);
    int rc;
    if (ranks == 1) {
        rc = pcl_test_run_perceptcl(dir, args, out_text, sizeof out_text, err_text, sizeof err_text);
    } else {
        char other_name[128];
        snprintf(other_name, sizeof other_name, "%s.others", name);
        folder(other_name, others, sizeof others);
        snprintf(launcher, sizeof launcher, "%s --oversubscribe -np 1 -wdir %s %s %s : -np %d -wdir %s", PCL_MPIRUN,
                 dir, PCL_PERCEPTCL, args, ranks - 1, others);
        rc = pcl_test_run_launched(dir, launcher, args, out_text, sizeof out_text, err_text, sizeof err_text);
    }
    ck_assert_msg(rc == 0, "%d ranks: perceptcl %s: exit %d: %s", ranks, args, rc, err_text);
    if (ranks > 1) ck_assert_msg(entries(others) == 0, "%d ranks: the ranks other than 0 wrote into %s", ranks, others);
}

/* A whole file (malloc'd), its size in *size; fails when absent or empty. */
static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s is missing", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_msg(n > 0, "%s is empty", path);
    rewind(f);
    char *data = malloc((size_t)n);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

/* work/a/file and work/b/file are the same bytes. */
static void same_file(const char *a, const char *b, const char *file)
{
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s/%s", work, a, file);
    snprintf(pb, sizeof pb, "%s/%s/%s", work, b, file);
    size_t na, nb;
    char *x = slurp(pa, &na), *y = slurp(pb, &nb);
    ck_assert_msg(na == nb && memcmp(x, y, na) == 0, "%s differs from %s", pb, pa);
    free(x);
    free(y);
}

START_TEST(srcnn_eval_two_ranks_equal_one_process)
{
    const char *args = "srcnn eval --model " SRCNN_MSE " --report table2 " SETS "/Set5 " SETS "/Set14";
    run("one", 1, args);
    ck_assert_msg(strstr(out_text, "| Set5 | 5 | PSNR |") && strstr(out_text, "| Set14 | 14 | SSIM |"), "%s",
                  out_text);
    run("two", 2, args);
    const char *files[] = {"table2.md", "table2.json", "stdout.txt"};
    for (int i = 0; i < 3; i++) same_file("one", "two", files[i]);
}
END_TEST

/* 5 images over 3 ranks: shards of 1, 2 and 2. */
START_TEST(uneven_shards_equal_one_process)
{
    const char *args = "srcnn eval --model " SRCNN_MSE " --report table2 " SETS "/Set5";
    run("one", 1, args);
    run("three", 3, args);
    const char *files[] = {"table2.md", "table2.json", "stdout.txt"};
    for (int i = 0; i < 3; i++) same_file("one", "three", files[i]);
    run("bicubic1", 1, "sr-eval --json " SETS "/Set5");
    ck_assert_msg(strstr(out_text, "\"images\": 5"), "%s", out_text);
    run("bicubic3", 3, "sr-eval --json " SETS "/Set5");
    same_file("bicubic1", "bicubic3", "stdout.txt");
}
END_TEST

/* work/crops: n 96x96 crops of Set14's images (a grid of windows in
 * each image, image after image). */
static void make_crops(int n)
{
    char dir[256], path[512];
    folder("crops", dir, sizeof dir);
    pcl_folder_options options = {0};
    pcl_dataset *set = NULL;
    ck_assert_msg(pcl_dataset_open_folder(SETS "/Set14", &options, &set) == PCL_OK, "%s", pcl_last_error());
    int made = 0;
    for (size_t i = 0; i < pcl_dataset_count(set) && made < n; i++) {
        pcl_record_info info = {0};
        pcl_image *image = NULL;
        ck_assert_int_eq(pcl_dataset_record_info(set, i, &info), PCL_OK);
        ck_assert_msg(pcl_image_read(info.path, &image) == PCL_OK, "%s", pcl_last_error());
        for (int y = 0; y + 96 <= image->height && made < n; y += 96)
            for (int x = 0; x + 96 <= image->width && made < n; x += 96) {
                pcl_image *crop = NULL;
                ck_assert_int_eq(pcl_image_crop(image, x, y, 96, 96, &crop), PCL_OK);
                snprintf(path, sizeof path, "%s/crop%03d.png", dir, made++);
                ck_assert_msg(pcl_image_write_png(path, crop) == PCL_OK, "%s", pcl_last_error());
                pcl_image_destroy(crop);
            }
        pcl_image_destroy(image);
    }
    pcl_dataset_destroy(set);
    ck_assert_int_eq(made, n);
}

START_TEST(convae_eval_ranks_equal_one_process)
{
    make_crops(70);
    char args[4096];
    /* two narrow nets of two steps each: different reconstructions, so wins are counted */
    const char *recipe = "--narrow --train " STL10_10 " --validation " STL10_10 " --epoch-size 16 --batch 8 --epochs 1";
    snprintf(args, sizeof args, "convae train --loss mse %s --out %s/mse.safetensors", recipe, work);
    run("train-mse", 1, args);
    snprintf(args, sizeof args, "convae train --loss msssim --seed 2 %s --out %s/msssim.safetensors", recipe, work);
    run("train-msssim", 1, args);
    snprintf(args, sizeof args,
             "convae eval --model %s/mse.safetensors --model %s/msssim.safetensors --images %s/crops --report table3 "
             "--grid grid.png --study study --study-count 5 --seed 3",
             work, work, work);
    run("one", 1, args);
    ck_assert_msg(strstr(out_text, "| crops | 70 | MSE |"), "%s", out_text);
    run("two", 2, args);
    run("three", 3, args);
    const char *files[] = {"table3.md", "table3.json", "stdout.txt", "grid.png", "study/items.json"};
    for (int i = 0; i < 5; i++) {
        same_file("one", "two", files[i]);
        same_file("one", "three", files[i]);
    }
    /* the study's pictures: the originals and each net's reconstructions */
    char path[512];
    snprintf(path, sizeof path, "%s/one/study/m2", work);
    ck_assert_int_eq(entries(path), 5);
    DIR *d = opendir(path);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        const char *kinds[] = {"original", "m1", "m2"};
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "study/%s/%s", kinds[k], e->d_name);
            same_file("one", "two", path);
            same_file("one", "three", path);
        }
    }
    closedir(d);
    /* reconstruct (shared with fcae): Figure 4's grid */
    snprintf(args, sizeof args,
             "convae reconstruct --model %s/mse.safetensors --model %s/msssim.safetensors --images %s/crops "
             "--count 5 --seed 4 figure4.png",
             work, work, work);
    run("reconstruct1", 1, args);
    run("reconstruct2", 2, args);
    same_file("reconstruct1", "reconstruct2", "figure4.png");
}
END_TEST

/* Set5 with its last image (woman.png) cut in half: rank 1 of 2 fails on it
 * while rank 0 waits for its scores; the job must end, non-zero, naming the
 * image, with no report written. */
START_TEST(a_rank_failing_on_its_images_ends_the_job)
{
    char dir[256], command[1024];
    folder("set5", dir, sizeof dir);
    snprintf(command, sizeof command, "cp %s/Set5/*.png %s && truncate -s 30000 %s/woman.png", SETS, dir, dir);
    ck_assert_int_eq(system(command), 0);
    folder("job", dir, sizeof dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(command, sizeof command, "srcnn eval --model " SRCNN_MSE " --report table2 %s/set5", work);
    const int rc = pcl_test_run_mpi(dir, 2, command, out_text, sizeof out_text, err_text, sizeof err_text);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert_msg(rc != 0, "the job exited 0: %s", err_text);
    ck_assert_msg(strstr(err_text, "woman.png"), "the message does not name the image: %s", err_text);
    ck_assert_msg(seconds < 60.0, "the job took %.1f s to end", seconds);
    ck_assert_msg(entries(dir) == 2, "besides stdout.txt and stderr.txt, something was written in %s", dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mpi_eval");
    TCase *tc = tcase_create("mpi_eval");
    tcase_set_timeout(tc, 900);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, srcnn_eval_two_ranks_equal_one_process);
    tcase_add_test(tc, uneven_shards_equal_one_process);
    tcase_add_test(tc, convae_eval_ranks_equal_one_process);
    tcase_add_test(tc, a_rank_failing_on_its_images_ends_the_job);
    suite_add_tcase(s, tc);
    return pcl_check_run(s, 0) ? EXIT_FAILURE : EXIT_SUCCESS;
}
