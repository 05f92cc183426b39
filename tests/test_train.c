/* Training-loop pieces that need no device:
 *   - seeded shuffles equal pcl_permutation(seed) (datasets.h, itself checked
 *     against a Python splitmix64 reference) for the first epoch, and each
 *     later epoch continues the same stream; a position redraws its epoch;
 *   - batch counts (hand-derived), step seeds distinct and stable;
 *   - the progress display with a fake clock: plain lines at the interval,
 *     a \r-redrawn bar, images/s and ETA hand-derived from the clock;
 *   - the CSV log: exact text, NaN as empty fields, append on resume;
 *   - the SVG loss curve: well-formed pieces, ticks at round values, point
 *     positions hand-derived from the plot geometry, escaping, atomic write. */
#include "perceptcl/datasets.h"
#include "perceptcl/image.h"
#include "perceptcl/train.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pcl_test_train_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int count_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buffer[1 << 16];
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    buffer[n] = '\0';
    return buffer;
}

START_TEST(test_shuffle)
{
    enum { N = 97 };
    size_t a[N], b[N], c[N];
    uint64_t state = 2017;
    pcl_train_shuffle(a, N, &state);
    ck_assert(pcl_permutation(b, N, 2017) == PCL_OK);
    ck_assert(!memcmp(a, b, sizeof a));
    /* A permutation. */
    int seen[N] = {0};
    for (int i = 0; i < N; i++) seen[a[i]]++;
    for (int i = 0; i < N; i++) ck_assert_int_eq(seen[i], 1);
    /* Positions: epoch 0 draws from the seed; epoch 1 from where epoch 0's
     * draw ended; redrawing an epoch gives the same order. */
    pcl_train_position p = pcl_train_position_start(2017);
    pcl_train_epoch_order(&p, b, N);
    ck_assert(!memcmp(a, b, sizeof a));
    pcl_train_next_epoch(&p);
    ck_assert_int_eq(p.epoch, 1);
    ck_assert_uint_eq(p.epoch_rng, state);
    pcl_train_epoch_order(&p, b, N);
    pcl_train_shuffle(c, N, &state);
    ck_assert(!memcmp(b, c, sizeof b));
    ck_assert(memcmp(a, b, sizeof a) != 0);
    pcl_train_position q = p;
    pcl_train_epoch_order(&q, c, N); /* resume mid-epoch: same order */
    ck_assert(!memcmp(b, c, sizeof b));
    ck_assert_uint_eq(q.rng, p.rng);

    ck_assert_uint_eq(pcl_train_batch_count(10, 3, 0), 4);
    ck_assert_uint_eq(pcl_train_batch_count(10, 3, 1), 3);
    ck_assert_uint_eq(pcl_train_batch_count(9, 3, 0), 3);
    ck_assert_uint_eq(pcl_train_batch_count(2, 3, 1), 0);
    ck_assert_uint_eq(pcl_train_batch_count(5, 0, 0), 0);
    /* Step seeds: stable, distinct over many steps and seeds. */
    ck_assert_uint_eq(pcl_train_step_seed(1, 5), pcl_train_step_seed(1, 5));
    for (uint64_t s = 0; s < 200; s++)
        for (uint64_t t = s + 1; t < 200; t++) {
            ck_assert(pcl_train_step_seed(7, s) != pcl_train_step_seed(7, t));
            ck_assert(pcl_train_step_seed(s, 3) != pcl_train_step_seed(t, 3));
        }
}
END_TEST

static double fake_now;
static double fake_clock(void *user)
{
    (void)user;
    return fake_now;
}

START_TEST(test_progress)
{
    /* A file is not a terminal: AUTO gives LINES. */
    FILE *f = tmpfile();
    pcl_progress *p;
    ck_assert(pcl_progress_create(f, PCL_PROGRESS_MODE_AUTO, 2.0, &p) == PCL_OK);
    ck_assert_int_eq(pcl_progress_get_mode(p), PCL_PROGRESS_MODE_LINES);
    pcl_progress_set_clock(p, fake_clock, NULL);
    /* Epoch 1 of 2, 10 batches of 8 images, one per second: after batch k,
     * 8 img/s and ETA (10 - k + 10) s. Lines at 2 s intervals. */
    fake_now = 100.0;
    pcl_progress_epoch_begin(p, 0, 2, 10, 0);
    for (int k = 1; k <= 10; k++) {
        fake_now += 1.0;
        pcl_progress_batch(p, 0.5 / k, 8);
    }
    ck_assert_msg(fabs(pcl_progress_images_per_second(p) - 8.0) < 1e-12, "%g", pcl_progress_images_per_second(p));
    pcl_progress_epoch_end(p, 0.25, NAN);
    pcl_progress_destroy(p);
    rewind(f);
    char text[4096] = {0};
    ck_assert(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    ck_assert_msg(!strchr(text, '\r'), "lines mode wrote \\r: %s", text);
    /* Batch 2 at t = 102 is the first 2 s after the start: ETA 18 s. */
    ck_assert_msg(strstr(text, "epoch 1/2 batch 2/10 loss 0.375 (last 0.25) 8.0 img/s ETA 0:00:18\n"), "%s", text);
    ck_assert_msg(strstr(text, "epoch 1/2 batch 10/10 loss"), "%s", text);
    ck_assert_msg(!strstr(text, "batch 3/10"), "printed more often than every 2 s: %s", text);
    ck_assert_msg(strstr(text, "epoch 1/2: train loss 0.25, validation loss -, 8.0 img/s, took 0:00:10, ETA 0:00:10\n"),
                  "%s", text);
    int lines = 0;
    for (char *c = text; *c; c++) lines += *c == '\n';
    ck_assert_int_eq(lines, 6); /* batches 2, 4, 6, 8, 10 and the summary */

    /* The bar: redrawn in place, summary replaces it; a resumed epoch (3 of
     * 10 batches done, their losses summing to 12) measures its rate from the
     * batches it ran and shows the mean loss over all of them. */
    f = tmpfile();
    ck_assert(pcl_progress_create(f, PCL_PROGRESS_MODE_BAR, 5.0, &p) == PCL_OK);
    pcl_progress_set_clock(p, fake_clock, NULL);
    fake_now = 0.0;
    pcl_progress_epoch_begin(p, 4, 0, 10, 3);
    pcl_progress_epoch_done_loss(p, 12.0);
    for (int k = 0; k < 7; k++) {
        fake_now += 0.5;
        pcl_progress_batch(p, 1.0, 4);
    }
    pcl_progress_epoch_end(p, 1.0, 0.5);
    pcl_progress_destroy(p);
    rewind(f);
    memset(text, 0, sizeof text);
    ck_assert(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    ck_assert_msg(strstr(text, "\repoch 5 [#########...............] 4/10 loss 3.25 8.0 img/s ETA 0:00:03\033[K"), "%s",
                  text);
    ck_assert_msg(strstr(text, "\repoch 5 [########################] 10/10 loss 1.9 8.0 img/s ETA 0:00:00"), "%s",
                  text);
    ck_assert_msg(strstr(text, "\repoch 5: train loss 1, validation loss 0.5, 8.0 img/s, took 0:00:04"), "%s",
                  text);
    ck_assert_msg(text[strlen(text) - 1] == '\n', "bar left without a newline");

    ck_assert_int_eq(pcl_progress_create(NULL, PCL_PROGRESS_MODE_LINES, 1.0, &p), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_progress_create(stderr, PCL_PROGRESS_MODE_LINES, -1.0, &p), PCL_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_log)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/train.csv", tmpdir);
    pcl_train_log *log;
    ck_assert(pcl_train_log_open(path, 0, &log) == PCL_OK);
    ck_assert(pcl_train_log_write(log, 0, 100, 0.5, NAN, 1234.5, 10.25) == PCL_OK);
    /* Flushed at once: readable before close. */
    ck_assert_str_eq(slurp(path), "epoch,step,train_loss,validation_loss,images_per_s,elapsed_s\n"
                                  "0,100,0.5,,1234.5,10.25\n");
    ck_assert(pcl_train_log_write(log, 1, 200, 0.1f, 0.125, INFINITY, 20) == PCL_OK);
    ck_assert(pcl_train_log_close(log) == PCL_OK);
    /* Append (resume): no second header. */
    ck_assert(pcl_train_log_open(path, 1, &log) == PCL_OK);
    ck_assert(pcl_train_log_write(log, 2, 300, 0.0625, 0.0625, 99, 30) == PCL_OK);
    ck_assert(pcl_train_log_close(log) == PCL_OK);
    ck_assert_str_eq(slurp(path), "epoch,step,train_loss,validation_loss,images_per_s,elapsed_s\n"
                                  "0,100,0.5,,1234.5,10.25\n"
                                  "1,200,0.100000001,0.125,,20\n"
                                  "2,300,0.0625,0.0625,99,30\n");
    /* And the curve of that log. */
    char svg[512];
    snprintf(svg, sizeof svg, "%s/loss.svg", tmpdir);
    ck_assert_msg(pcl_loss_curve_from_log(path, svg, "run") == PCL_OK, "%s", pcl_last_error());
    char *text = slurp(svg);
    ck_assert(strstr(text, "<svg") && strstr(text, "</svg>\n"));
    ck_assert(strstr(text, ">train</text>") && strstr(text, ">validation</text>"));
    ck_assert_int_eq(count_files(), 2);
    /* Not a log. */
    ck_assert(pcl_train_log_open(path, 0, &log) == PCL_OK); /* truncates to just the header */
    ck_assert(pcl_train_log_close(log) == PCL_OK);
    FILE *f = fopen(path, "a");
    fputs("x,y\n", f);
    fclose(f);
    ck_assert_int_eq(pcl_loss_curve_from_log(path, svg, NULL), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "line 2"), "%s", pcl_last_error());
    /* Found by fuzz_loss_log (issue 18): an empty or header-only log was refused
     * by the SVG writer with a message naming neither file. */
    ck_assert(pcl_train_log_open(path, 0, &log) == PCL_OK);
    ck_assert(pcl_train_log_close(log) == PCL_OK);
    ck_assert_int_eq(pcl_loss_curve_from_log(path, svg, NULL), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), path) && strstr(pcl_last_error(), "no"), "%s", pcl_last_error());
    f = fopen(path, "w");
    fclose(f);
    ck_assert_int_eq(pcl_loss_curve_from_log(path, svg, NULL), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), path) && strstr(pcl_last_error(), "empty"), "%s", pcl_last_error());
    remove_tmpdir();
}
END_TEST

START_TEST(test_curve)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/curve.svg", tmpdir);
    /* x 0..10: raw step 10/6 = 1.67 -> 2, ticks 0, 2, ..., 10. The plot area
     * is 620 x 340 from (80, 40). */
    double x[11], y[11], v[11];
    for (int i = 0; i <= 10; i++) {
        x[i] = i;
        y[i] = 1.0 - 0.08 * i;
        v[i] = i == 5 ? NAN : 0.9 - 0.05 * i;
    }
    pcl_curve_series s[2] = {{"train <mse>", x, y, 11}, {"validation", x, v, 11}};
    ck_assert_msg(pcl_loss_curve_write_svg(path, "A & B", "step", "loss", s, 2, 0) == PCL_OK, "%s", pcl_last_error());
    char *text = slurp(path);
    ck_assert(strstr(text, "A &amp; B"));
    ck_assert(strstr(text, "train &lt;mse&gt;"));
    /* y range 0.2..1: raw step 0.8/6 = 0.133, magnitude 0.1, ratio 1.33 ->
     * 0.2; the smallest y (1 - 0.08 * 10 in double) lies just below 0.2, so
     * the axis runs from the tick 0 to 1. (0, 1.0) is the top-left corner
     * (80, 40); (10, 0.2) is at x 700, y 40 + 340 * 0.8 = 312. */
    ck_assert_msg(strstr(text, "points=\"80.00,40.00 "), "%s", text);
    ck_assert_msg(strstr(text, " 700.00,312.00\"/>"), "%s", text);
    ck_assert(strstr(text, ">10</text>") && strstr(text, ">0.6</text>"));
    ck_assert(!strstr(text, ">12</text>"));
    /* The validation curve skips its NaN point: 10 points. */
    char *second = strstr(strstr(text, "<polyline") + 1, "<polyline");
    ck_assert_ptr_nonnull(second);
    int spaces = 0;
    for (char *c = strstr(second, "points=\""); *c != '/'; c++) spaces += *c == ' ';
    ck_assert_int_eq(spaces, 9);
    /* Log scale: 1e-3 .. 1e-1, decades and 2, 5 between. */
    double ly[3] = {1e-3, 1e-2, 1e-1}, lx[3] = {1, 2, 3};
    pcl_curve_series ls = {"loss", lx, ly, 3};
    ck_assert(pcl_loss_curve_write_svg(path, "log", "epoch", "loss", &ls, 1, 1) == PCL_OK);
    text = slurp(path);
    ck_assert(strstr(text, ">0.001</text>") && strstr(text, ">0.1</text>") && strstr(text, "(log scale)"));
    /* Nothing to draw yet: still a valid picture. */
    ck_assert(pcl_loss_curve_write_svg(path, "empty", "epoch", "loss", NULL, 0, 0) == PCL_OK);
    ck_assert_int_eq(count_files(), 1);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/missing/c.svg", tmpdir);
    ck_assert_int_eq(pcl_loss_curve_write_svg(bad, "t", "x", "y", s, 2, 0), PCL_ERR_IO);
    ck_assert_msg(strstr(pcl_last_error(), bad), "%s", pcl_last_error());
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_add_test(tc, test_shuffle);
    tcase_add_test(tc, test_progress);
    tcase_add_test(tc, test_log);
    tcase_add_test(tc, test_curve);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? 1 : 0;
}
