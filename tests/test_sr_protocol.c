/* The SRCNN evaluation protocol against the published bicubic figures of the
 * super-resolution literature (x4: Set5 28.42 dB / 0.8104, Set14 26.00 dB /
 * 0.7027; x3: Set5 30.39 / 0.8682, Set14 27.55 / 0.7742; x2: Set5 33.66 /
 * 0.9299, Set14 30.24 / 0.8688), plus hand-checked PSNR and shave rules. */
#include "perceptcl/sr.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Mean PSNR and SSIM of the bicubic baseline over the images of a folder;
 * returns 0 if the folder is absent. */
static int bicubic_row(pcl_context *context, const char *folder, int scale, double *psnr, double *ssim)
{
    char dir_path[1024];
    snprintf(dir_path, sizeof dir_path, "%s/datasets/%s", PCL_SHARED_DIR, folder);
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
        int count = bicubic_row(context, rows[r].set, rows[r].scale, &psnr, &ssim);
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

int main(void)
{
    Suite *suite = suite_create("sr_protocol");
    TCase *tc = tcase_create("sr_protocol");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, psnr_and_shave_by_hand);
    tcase_add_test(tc, bicubic_matches_published_figures);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
