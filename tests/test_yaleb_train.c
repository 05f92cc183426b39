/* perceptcl yaleb train and features --model (experiment 4) on a small
 * Yale tree: a short run writes a model whose validation loss is finite and
 * falls, its features are the 32 ReLU units of every face with their labels,
 * a resume continues and refuses another loss, and bad input gives one line,
 * a non-zero exit and no file. */
#include "../apps/yaleb.h"
#include "perceptcl/image.h"
#include "check_run.h"
#include "run_perceptcl.h"

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char work[64];
static char out_text[1 << 14], err_text[1 << 14];

enum { SUBJECTS = 3, PER_SUBJECT = 6, FACES = SUBJECTS * PER_SUBJECT, W = 168, H = 192 };

/* Faces that differ by subject (a blob's place) and light (a gradient's
 * direction and strength), named as the cropped Yale B files are. */
static void write_faces(const char *root)
{
    static unsigned char pixels[W * H];
    for (int s = 1; s <= SUBJECTS; s++)
        for (int k = 0; k < PER_SUBJECT; k++) {
            int azimuth = -60 + 25 * k, elevation = 10 * (k % 3) - 10;
            char path[512], command[600];
            snprintf(path, sizeof path, "%s/yaleB%02d", root, s);
            snprintf(command, sizeof command, "mkdir -p '%s'", path);
            ck_assert_int_eq(system(command), 0);
            snprintf(path + strlen(path), sizeof path - strlen(path), "/yaleB%02d_P00A%+04dE%+03d.pgm", s, azimuth,
                     elevation);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double light = 0.5 + 0.4 * (azimuth / 60.0) * (x - W / 2.0) / W + 0.2 * elevation / 10.0 * y / H;
                    double blob = exp(-(pow(x - 40.0 * s, 2) + pow(y - 96.0, 2)) / 800.0);
                    double v = 255.0 * fmin(1.0, fmax(0.0, light * (0.6 + 0.4 * blob)));
                    pixels[y * W + x] = (unsigned char)lround(v);
                }
            FILE *f = fopen(path, "wb");
            ck_assert_ptr_nonnull(f);
            fprintf(f, "P5\n%d %d\n255\n", W, H);
            ck_assert_int_eq((int)fwrite(pixels, 1, sizeof pixels, f), W * H);
            ck_assert_int_eq(fclose(f), 0);
        }
}

static int run(const char *format, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *format, ...)
{
    char args[2048];
    va_list list;
    va_start(list, format);
    vsnprintf(args, sizeof args, format, list);
    va_end(list);
    return pcl_test_run_perceptcl(work, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

static int exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    return access(path, F_OK) == 0;
}

/* One error line on stderr, containing needle. */
static void expect_one_line(const char *needle)
{
    ck_assert_msg(strstr(err_text, needle), "stderr lacks '%s': %s", needle, err_text);
    ck_assert_msg(strchr(err_text, '\n') == err_text + strlen(err_text) - 1, "not one line: %s", err_text);
}

/* A column of a CSV log ("train_loss", "validation_loss"), in order. */
static int log_column(const char *name, const char *key, double *losses, int max)
{
    char path[256], line[1024];
    snprintf(path, sizeof path, "%s/%s", work, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    int column = 0, found = -1;
    for (char *field = strtok(line, ",\n"); field; field = strtok(NULL, ",\n"), column++)
        if (!strcmp(field, key)) found = column;
    ck_assert_int_ge(found, 0);
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char *field = strtok(line, ",\n");
        for (int c = 0; c < found && field; c++) field = strtok(NULL, ",\n");
        ck_assert_ptr_nonnull(field);
        losses[n++] = strtod(field, NULL);
    }
    fclose(f);
    return n;
}

START_TEST(train_features_and_resume)
{
    char data[128];
    snprintf(data, sizeof data, "%s/yale", work);
    write_faces(data);
    /* 18 faces: 11 / 4 / 3; batch 4 is 3 steps an epoch. */
    ck_assert_msg(run("yaleb train --data %s --loss mse --seed 3 --batch 4 --epochs 4 --out m.safetensors --log m.csv",
                      data) == 0, "%s", err_text);
    ck_assert_msg(strstr(err_text, "11 training, 4 validation faces"), "%s", err_text);
    /* The training loss falls; the validation loss (batch normalisation's running statistics,
     * far from settled after 12 steps) is finite. */
    double losses[8];
    ck_assert_int_eq(log_column("m.csv", "train_loss", losses, 8), 4);
    ck_assert_msg(losses[3] < losses[0], "training loss %g -> %g", losses[0], losses[3]);
    ck_assert_int_eq(log_column("m.csv", "validation_loss", losses, 8), 4);
    for (int i = 0; i < 4; i++) ck_assert_msg(isfinite(losses[i]) && losses[i] > 0, "epoch %d: %g", i + 1, losses[i]);

    /* Features: every face, its labels from the names, 32 ReLU units, the same twice. */
    ck_assert_msg(run("yaleb features --model m.safetensors --data %s --out f.csv", data) == 0, "%s", err_text);
    char path[256], error[512];
    snprintf(path, sizeof path, "%s/f.csv", work);
    yaleb_features f;
    ck_assert_int_eq(yaleb_features_read(path, &f, error, sizeof error), 0);
    ck_assert_int_eq((int)f.count, FACES);
    ck_assert_int_eq(f.dims, 32);
    int positive = 0, per_subject[SUBJECTS + 1] = {0};
    for (size_t r = 0; r < f.count; r++) {
        ck_assert(f.subject[r] >= 1 && f.subject[r] <= SUBJECTS);
        per_subject[f.subject[r]]++;
        ck_assert((f.azimuth[r] + 60) % 25 == 0 && f.elevation[r] >= -10 && f.elevation[r] <= 10);
        for (int d = 0; d < 32; d++) {
            double v = f.values[r * 32 + d];
            ck_assert_msg(isfinite(v) && v >= 0, "face %zu feature %d: %g", r, d, v);
            positive += v > 0;
        }
    }
    for (int s = 1; s <= SUBJECTS; s++) ck_assert_int_eq(per_subject[s], PER_SUBJECT);
    ck_assert_int_gt(positive, 0);
    yaleb_features_free(&f);
    ck_assert_msg(run("yaleb features --model m.safetensors --data %s --out g.csv && cmp -s f.csv g.csv", data) == 0,
                  "%s", err_text);

    /* Resume: one more epoch; another loss is refused, naming it, before any work. */
    ck_assert_msg(run("yaleb train --data %s --loss mse --seed 3 --batch 4 --epochs 5 --out m.safetensors "
                      "--log m.csv --resume", data) == 0, "%s", err_text);
    ck_assert_int_eq(log_column("m.csv", "validation_loss", losses, 8), 5);
    ck_assert_int_eq(run("yaleb train --data %s --loss mae --seed 3 --batch 4 --epochs 6 --out m.safetensors --resume",
                         data), 1);
    expect_one_line("loss");
    /* 1 - MS-SSIM at 48x48 (5 scales, same mode) trains. */
    ck_assert_msg(run("yaleb train --data %s --loss msssim --batch 4 --max-steps 2 --out s.safetensors", data) == 0,
                  "%s", err_text);

    /* reconstruct: the 3 test faces of split seed 3 as a grid (original | MSE), the report's means;
     * models of two splits refused. */
    ck_assert_msg(run("yaleb reconstruct --model m.safetensors --data %s --out g.png --report rr", data) == 0, "%s",
                  err_text);
    pcl_image *grid = NULL;
    snprintf(path, sizeof path, "%s/g.png", work);
    ck_assert_int_eq(pcl_image_read(path, &grid), PCL_OK);
    ck_assert_int_eq(grid->width, 2 * 48 * 3 + 4);
    ck_assert_int_eq(grid->height, 3 * 48 * 3 + 2 * 4);
    pcl_image_destroy(grid);
    ck_assert_msg(strstr(out_text, "split seed 3, 3 faces") && strstr(out_text, "| MSE |"), "%s", out_text);
    ck_assert(exists("rr.md") && exists("rr.json"));
    ck_assert_int_eq(run("yaleb reconstruct --model m.safetensors --model s.safetensors --data %s --out h.png", data),
                     1);
    expect_one_line("split seed 1");
    ck_assert(!exists("h.png"));
}
END_TEST

START_TEST(bad_input_one_line_no_file)
{
    ck_assert_int_eq(run("yaleb train --data %s/none --loss mse --out x.safetensors", work), 1);
    expect_one_line("none");
    ck_assert(!exists("x.safetensors") && !exists("x.safetensors.train"));
    ck_assert_int_eq(run("yaleb train --data %s --loss ssim --out x.safetensors", work), 2);
    expect_one_line("--loss must be mse|mae|msssim");
    ck_assert_int_eq(run("yaleb train --loss mse --out x.safetensors"), 2);
    expect_one_line("needs --data");
    ck_assert_int_eq(run("yaleb features --pixels --model m.safetensors --data . --out y.csv"), 2);
    expect_one_line("one of --pixels and --model");
    /* A model of another architecture (SRCNN): refused naming the file; no features written. */
    char data[128];
    snprintf(data, sizeof data, "%s/yale2", work);
    write_faces(data);
    ck_assert_int_eq(run("yaleb features --model %s/models/srcnn_x4_mse.safetensors --data %s --out y.csv",
                         PCL_SOURCE_DIR, data), 1);
    expect_one_line("srcnn_x4_mse.safetensors");
    ck_assert(!exists("y.csv"));
}
END_TEST

int main(void)
{
    snprintf(work, sizeof work, "/tmp/pcl_yaleb_train_XXXXXX");
    if (!mkdtemp(work)) return 1;
    Suite *suite = suite_create("yaleb_train");
    TCase *tc = tcase_create("yaleb_train");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, train_features_and_resume);
    tcase_add_test(tc, bad_input_one_line_no_file);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 1);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    if (failed == 0 && system(command) != 0) return 1;
    return failed == 0 ? 0 : 1;
}
