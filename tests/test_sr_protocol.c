/* The SRCNN evaluation protocol against the published bicubic figures of the
 * super-resolution literature (x4: Set5 28.42 dB / 0.8104, Set14 26.00 dB /
 * 0.7027; x3: Set5 30.39 / 0.8682, Set14 27.55 / 0.7742; x2: Set5 33.66 /
 * 0.9299, Set14 30.24 / 0.8688), plus hand-checked PSNR and shave rules. */
#include "perceptcl/color.h"
#include "perceptcl/tensor.h"
#include "perceptcl/sr.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Mean PSNR and SSIM of the bicubic baseline over the images of a folder,
 * image by image; returns 0 if the folder is absent. */
static int bicubic_row(pcl_context *context, const char *dir_path, int scale, double *psnr, double *ssim)
{
    DIR *dir = opendir(dir_path);
    if (!dir) return 0;
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && count < 64)
        if (strstr(entry->d_name, ".png")) names[count++] = strdup(entry->d_name);
    closedir(dir);
    qsort(names, (size_t)count, sizeof names[0], compare_names);
    *psnr = *ssim = 0;
    for (int i = 0; i < count; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        pcl_image *image = NULL, *gnd = NULL, *bic = NULL;
        ck_assert_msg(pcl_image_read(path, &image) == PCL_OK, "%s", pcl_last_error());
        ck_assert_msg(pcl_sr_prepare(image, scale, &gnd, &bic) == PCL_OK, "%s", pcl_last_error());
        pcl_sr_score score;
        ck_assert_msg(pcl_sr_score_pair(context, gnd, bic, scale, &score) == PCL_OK, "%s", pcl_last_error());
        ck_assert(isfinite(score.psnr) && isfinite(score.ssim));
        *psnr += score.psnr / count;
        *ssim += score.ssim / count;
        pcl_image_destroy(image);
        pcl_image_destroy(gnd);
        pcl_image_destroy(bic);
        free(names[i]);
    }
    return count;
}

START_TEST(bicubic_matches_published_figures)
{
    static const struct {
        const char *set;
        int scale, images;
        double psnr, ssim;
    } rows[] = {
        {"Set5", 4, 5, 28.42, 0.8104},  {"Set14", 4, 14, 26.00, 0.7027}, {"Set5", 3, 5, 30.39, 0.8682},
        {"Set14", 3, 14, 27.55, 0.7742}, {"Set5", 2, 5, 33.66, 0.9299},  {"Set14", 2, 14, 30.24, 0.8688},
    };
    pcl_context *context = NULL;
    ck_assert_msg(pcl_context_create(NULL, &context) == PCL_OK, "%s", pcl_last_error());
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        double psnr, ssim;
        char dir_path[1024];
        snprintf(dir_path, sizeof dir_path, "%s/datasets/%s", PCL_SHARED_DIR, rows[r].set);
        int count = bicubic_row(context, dir_path, rows[r].scale, &psnr, &ssim);
        if (count == 0) {
            fprintf(stderr, "SKIP: %s not found under %s/datasets\n", rows[r].set, PCL_SHARED_DIR);
            continue;
        }
        printf("%s x%d bicubic: PSNR %.3f dB (published %.2f), SSIM %.4f (published %.4f)\n", rows[r].set,
               rows[r].scale, psnr, rows[r].psnr, ssim, rows[r].ssim);
        ck_assert_int_eq(count, rows[r].images);
        ck_assert_msg(fabs(psnr - rows[r].psnr) <= 0.05, "%s x%d PSNR %.3f", rows[r].set, rows[r].scale, psnr);
        ck_assert_msg(fabs(ssim - rows[r].ssim) <= 0.002, "%s x%d SSIM %.4f", rows[r].set, rows[r].scale, ssim);
    }
    pcl_context_destroy(context);
}
END_TEST

/* Estimators for pcl_sr_evaluate_folder: the bicubic image itself, a flat
 * gray, and one that fails. */
static pcl_status copy_estimate(void *user, const pcl_image *bicubic, pcl_image **out)
{
    (void)user;
    return pcl_image_clone(bicubic, out);
}

static pcl_status flat_estimate(void *user, const pcl_image *bicubic, pcl_image **out)
{
    pcl_status s = pcl_image_create(out, bicubic->width, bicubic->height, 1);
    for (size_t i = 0; s == PCL_OK && i < pcl_image_size(*out); i++) (*out)->data[i] = *(const float *)user;
    return s;
}

static pcl_status wrong_size_estimate(void *user, const pcl_image *bicubic, pcl_image **out)
{
    (void)user;
    return pcl_image_create(out, bicubic->width - 1, bicubic->height, 1);
}

/* The first `limit` bytes of file `from` as file `to` (a truncated copy
 * when limit is below its size). */
static void copy_prefix(const char *from, const char *to, size_t limit)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    ck_assert_msg(in && out, "cannot copy %s to %s", from, to);
    char buffer[65536];
    size_t n, total = 0;
    while (total < limit && (n = fread(buffer, 1, sizeof buffer, in)) > 0) {
        if (n > limit - total) n = limit - total;
        ck_assert_uint_eq(fwrite(buffer, 1, n, out), n);
        total += n;
    }
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* PSNR, in float64, of the shaved ground truth of every image of a folder
 * against a flat value: the mean over the folder. */
static double flat_psnr(const char *dir_path, int scale, double value)
{
    static const char *const names[] = {"baby.png", "bird.png", "butterfly.png", "head.png", "woman.png"};
    double mean = 0;
    for (int i = 0; i < 5; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        pcl_image *image = NULL, *gnd = NULL;
        ck_assert_msg(pcl_image_read(path, &image) == PCL_OK, "%s", pcl_last_error());
        ck_assert_int_eq(pcl_sr_prepare(image, scale, &gnd, NULL), PCL_OK);
        double sum = 0;
        size_t n = 0;
        for (int y = scale; y < gnd->height - scale; y++)
            for (int x = scale; x < gnd->width - scale; x++, n++) {
                double d = (double)gnd->data[(size_t)y * (size_t)gnd->width + (size_t)x] - value;
                sum += d * d;
            }
        mean += 10.0 * log10(255.0 * 255.0 * (double)n / sum) / 5;
        pcl_image_destroy(image);
        pcl_image_destroy(gnd);
    }
    return mean;
}

START_TEST(evaluate_folder_with_estimators)
{
    pcl_context *context = NULL;
    ck_assert_msg(pcl_context_create(NULL, &context) == PCL_OK, "%s", pcl_last_error());
    char folder[1024];
    snprintf(folder, sizeof folder, "%s/data/Set5", PCL_SOURCE_DIR);
    float gray = 128.0f;
    const pcl_sr_estimator estimators[] = {{copy_estimate, NULL}, {flat_estimate, &gray}};
    pcl_sr_score means[3];
    size_t images = 0;
    ck_assert_msg(pcl_sr_evaluate_folder(context, folder, 4, estimators, 2, &images, means) == PCL_OK, "%s",
                  pcl_last_error());
    ck_assert_uint_eq(images, 5);
    /* Bicubic: the image-by-image loop above; the copy of bicubic: the same scores. */
    double psnr, ssim;
    ck_assert_int_eq(bicubic_row(context, folder, 4, &psnr, &ssim), 5);
    ck_assert_double_eq_tol(means[0].psnr, psnr, 1e-9);
    ck_assert_double_eq_tol(means[0].ssim, ssim, 1e-9);
    ck_assert_double_eq_tol(means[1].psnr, psnr, 1e-9);
    ck_assert_double_eq_tol(means[1].ssim, ssim, 1e-9);
    /* A flat gray: PSNR by hand; SSIM below bicubic's. */
    ck_assert_double_eq_tol(means[2].psnr, flat_psnr(folder, 4, 128.0), 1e-9);
    ck_assert_msg(isfinite(means[2].ssim) && means[2].ssim < ssim, "flat SSIM %g, bicubic %g", means[2].ssim, ssim);

    /* Errors: an estimate of the wrong size names the image; a folder without images; NULL. */
    const pcl_sr_estimator wrong = {wrong_size_estimate, NULL};
    ck_assert_int_ne(pcl_sr_evaluate_folder(context, folder, 4, &wrong, 1, &images, means), PCL_OK);
    ck_assert_msg(strstr(pcl_last_error(), "Set5/baby.png") != NULL, "%s", pcl_last_error());
    char empty[] = "/tmp/pcl-sr-empty-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(empty));
    ck_assert_int_ne(pcl_sr_evaluate_folder(context, empty, 4, NULL, 0, &images, means), PCL_OK);
    ck_assert_msg(strstr(pcl_last_error(), empty) != NULL, "%s", pcl_last_error());
    rmdir(empty);
    /* A truncated image first (before any scoring) or after a good one
     * (once the good one is scored): an error that names it, no means. */
    char mixed[] = "/tmp/pcl-sr-mixed-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(mixed));
    char source[1200], good[1200], bad[1200];
    snprintf(source, sizeof source, "%s/baby.png", folder);
    snprintf(good, sizeof good, "%s/b.png", mixed);
    copy_prefix(source, good, (size_t)-1);
    for (int first = 1; first >= 0; first--) {
        snprintf(bad, sizeof bad, "%s/%s.png", mixed, first ? "a" : "c");
        copy_prefix(source, bad, 200);
        ck_assert_int_ne(pcl_sr_evaluate_folder(context, mixed, 4, estimators, 2, &images, means), PCL_OK);
        ck_assert_msg(strstr(pcl_last_error(), bad) != NULL, "%s", pcl_last_error());
        ck_assert_uint_eq(images, 0);
        remove(bad);
    }
    remove(good);
    rmdir(mixed);
    ck_assert_int_eq(pcl_sr_evaluate_folder(context, folder, 4, NULL, 1, &images, means), PCL_ERR_INVALID_ARGUMENT);
    pcl_context_destroy(context);
}
END_TEST

START_TEST(psnr_and_shave_by_hand)
{
    pcl_image *a = NULL, *b = NULL, *s = NULL;
    ck_assert_int_eq(pcl_image_create(&a, 4, 4, 1), PCL_OK);
    ck_assert_int_eq(pcl_image_create(&b, 4, 4, 1), PCL_OK);
    /* One pixel off by 16 of 16 pixels: MSE 16, PSNR 10 log10(65025 / 16). */
    b->data[5] = 16.0f;
    double psnr;
    ck_assert_int_eq(pcl_sr_psnr(a, b, &psnr), PCL_OK);
    ck_assert_double_eq_tol(psnr, 10.0 * log10(65025.0 / 16.0), 1e-12);
    ck_assert_int_eq(pcl_sr_psnr(a, a, &psnr), PCL_OK);
    ck_assert(isinf(psnr) && psnr > 0);
    /* Shave 1: the centre 2x2; rounding half away from zero and clamping. */
    b->data[5] = 2.5f;
    b->data[6] = 300.0f;
    b->data[9] = -4.0f;
    b->data[10] = 7.49f;
    ck_assert_int_eq(pcl_sr_shave_u8(b, 1, &s), PCL_OK);
    ck_assert_int_eq(s->width, 2);
    ck_assert_float_eq(s->data[0], 3.0f);
    ck_assert_float_eq(s->data[1], 255.0f);
    ck_assert_float_eq(s->data[2], 0.0f);
    ck_assert_float_eq(s->data[3], 7.0f);
    pcl_image_destroy(s);
    ck_assert_int_eq(pcl_sr_shave_u8(b, 2, &s), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_sr_prepare(a, 1, NULL, NULL), PCL_ERR_INVALID_ARGUMENT);
    pcl_image_destroy(a);
    pcl_image_destroy(b);
}
END_TEST

/* A crop's score (srcnn compare): the estimate's Y (a gray estimate as is,
 * an RGB one through rgb2ycbcr's rounded Y) against the truth's channel 0,
 * cropped, scored as a pair without shave; PSNR checked in float64 by hand;
 * a crop under SSIM's window gets PSNR only; a crop outside is an error. */
START_TEST(score_crop_matches_cropped_pair)
{
    pcl_context *context = NULL;
    ck_assert_msg(pcl_context_create(NULL, &context) == PCL_OK, "%s", pcl_last_error());
    uint64_t state = 7;
    pcl_image *truth = NULL, *gray = NULL, *rgb = NULL, *y = NULL, *tc = NULL, *ec = NULL;
    ck_assert_int_eq(pcl_image_create(&truth, 40, 30, 3), PCL_OK);
    ck_assert_int_eq(pcl_image_create(&gray, 40, 30, 1), PCL_OK);
    ck_assert_int_eq(pcl_image_create(&rgb, 40, 30, 3), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(truth); i++) {
        truth->data[i] = (float)(int)(256 * pcl_random_uniform(&state));
        rgb->data[i] = (float)(int)(256 * pcl_random_uniform(&state));
    }
    for (int i = 0; i < 40 * 30; i++) { /* the truth's Y plus noise, clamped to 0..255 */
        float v = truth->data[3 * i] + (float)(int)(21 * pcl_random_uniform(&state)) - 10.0f;
        gray->data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    const int crop[4] = {5, 3, 24, 20};
    pcl_sr_score score, pair;
    ck_assert_msg(pcl_sr_score_crop(context, truth, gray, crop, &score) == PCL_OK, "%s", pcl_last_error());
    double sum = 0;
    for (int r = 3; r < 23; r++)
        for (int c = 5; c < 29; c++) {
            double d = (double)truth->data[3 * (r * 40 + c)] - (double)gray->data[r * 40 + c];
            sum += d * d;
        }
    ck_assert_double_eq_tol(score.psnr, 10.0 * log10(255.0 * 255.0 / (sum / (24 * 20))), 1e-9);
    ck_assert_int_eq(pcl_color_channel(truth, 0, &y), PCL_OK);
    ck_assert_int_eq(pcl_image_crop(y, 5, 3, 24, 20, &tc), PCL_OK);
    ck_assert_int_eq(pcl_image_crop(gray, 5, 3, 24, 20, &ec), PCL_OK);
    ck_assert_int_eq(pcl_sr_score_pair(context, tc, ec, 0, &pair), PCL_OK);
    ck_assert(isfinite(score.ssim) && score.ssim > 0 && score.ssim < 1);
    ck_assert_double_eq(score.ssim, pair.ssim);
    pcl_image_destroy(y), pcl_image_destroy(ec);
    /* RGB estimate: its rounded BT.601 Y. */
    ck_assert_msg(pcl_sr_score_crop(context, truth, rgb, crop, &score) == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(pcl_color_rgb_to_y(rgb, PCL_YCBCR_MODE_ROUND_U8, &y), PCL_OK);
    ck_assert_int_eq(pcl_image_crop(y, 5, 3, 24, 20, &ec), PCL_OK);
    ck_assert_int_eq(pcl_sr_score_pair(context, tc, ec, 0, &pair), PCL_OK);
    ck_assert_double_eq(score.psnr, pair.psnr);
    ck_assert_double_eq(score.ssim, pair.ssim);
    /* 10 wide: under the 11x11 window, PSNR only. */
    const int narrow[4] = {0, 0, 10, 30};
    ck_assert_int_eq(pcl_sr_score_crop(context, truth, gray, narrow, &score), PCL_OK);
    ck_assert(isfinite(score.psnr) && score.ssim == 0);
    const int outside[4] = {30, 0, 11, 11};
    ck_assert_int_ne(pcl_sr_score_crop(context, truth, gray, outside, &score), PCL_OK);
    pcl_image_destroy(truth), pcl_image_destroy(gray), pcl_image_destroy(rgb);
    pcl_image_destroy(y), pcl_image_destroy(tc), pcl_image_destroy(ec);
    pcl_context_destroy(context);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("sr_protocol");
    TCase *tc = tcase_create("sr_protocol");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, psnr_and_shave_by_hand);
    tcase_add_test(tc, bicubic_matches_published_figures);
    tcase_add_test(tc, evaluate_folder_with_estimators);
    tcase_add_test(tc, score_crop_matches_cropped_pair);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
