/* Data pipelines (pipeline.h): each transform against an independent
 * reference (hand formulas in float64, a float64 MATLAB imresize written
 * here from its documented algorithm, raw CIFAR-10 record bytes), seeded
 * crops and flips reproducible and seed-dependent, patch counts and
 * positions, the record limit, SRCNN's generate_train.m procedure on real
 * T91 images, and errors for bad parameters and bad files naming the file. */
#include "perceptcl/color.h"
#include "perceptcl/pipeline.h"
#include "perceptcl/sr.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_run.h"

static char work[64];

/* ---- CIFAR-10 records in memory: byte = pixel function ------------------------ */

enum { NREC = 3, SIDE = 32, REC = 1 + 3 * SIDE * SIDE };
static unsigned char cifar[NREC * REC];

static unsigned char raw_value(int record, int x, int y, int c)
{
    return (unsigned char)((x * 7 + y * 13 + c * 50 + record * 3) & 255);
}

static pcl_dataset *cifar_dataset(void)
{
    for (int r = 0; r < NREC; r++) {
        unsigned char *rec = cifar + (size_t)r * REC;
        rec[0] = (unsigned char)r; /* label */
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < SIDE; y++)
                for (int x = 0; x < SIDE; x++) rec[1 + c * SIDE * SIDE + y * SIDE + x] = raw_value(r, x, y, c);
    }
    pcl_dataset *d = NULL;
    ck_assert_msg(pcl_dataset_open_memory(PCL_BINARY_FORMAT_CIFAR10, cifar, sizeof cifar, NULL, 0, "memory.bin", &d) == PCL_OK,
                  "%s", pcl_last_error());
    return d;
}

/* Fills every record of a pipeline's source with seed. */
static void fill_all(pcl_pipeline *p, uint64_t seed, pcl_data_source *src, float **in, float **tg)
{
    ck_assert_int_eq(pcl_pipeline_source(p, src), PCL_OK);
    size_t ni = (size_t)src->input[0] * src->input[1] * src->input[2];
    size_t nt = (size_t)src->target[0] * src->target[1] * src->target[2];
    size_t *idx = malloc(src->count * sizeof *idx);
    for (size_t i = 0; i < src->count; i++) idx[i] = i;
    *in = malloc(src->count * ni * sizeof(float));
    *tg = malloc(src->count * nt * sizeof(float));
    ck_assert_msg(src->fill(src->user, idx, src->count, seed, *in, *tg) == PCL_OK, "%s", pcl_last_error());
    free(idx);
}

/* ---- the pixel transforms ------------------------------------------------------------ */

/* A 2-record folder of 8-bit PNGs: a 3x2 RGB image and a 3x2 gray one. */
static const float rgb_pixels[6][3] = {{255, 0, 0},   {0, 255, 0},     {0, 0, 255},
                                       {12, 200, 77}, {255, 255, 255}, {1, 2, 3}};
static const float gray_pixels[6] = {0, 17, 128, 200, 254, 255};

static void write_folder(const char *dir)
{
    mkdir(dir, 0700);
    pcl_image *rgb = NULL, *gray = NULL;
    ck_assert_int_eq(pcl_image_create(&rgb, 3, 2, 3), PCL_OK);
    ck_assert_int_eq(pcl_image_create(&gray, 3, 2, 1), PCL_OK);
    memcpy(rgb->data, rgb_pixels, sizeof rgb_pixels);
    memcpy(gray->data, gray_pixels, sizeof gray_pixels);
    char path[256];
    snprintf(path, sizeof path, "%s/a.png", dir);
    ck_assert_int_eq(pcl_image_write_png(path, rgb), PCL_OK);
    snprintf(path, sizeof path, "%s/b.png", dir);
    ck_assert_int_eq(pcl_image_write_png(path, gray), PCL_OK);
    pcl_image_destroy(rgb);
    pcl_image_destroy(gray);
}

static double round_half_away(double v) { return v < 0 ? -floor(-v + 0.5) : floor(v + 0.5); }

START_TEST(pixel_transforms_match_formulas)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/pixels", work);
    write_folder(dir);
    pcl_dataset *d = NULL;
    pcl_folder_options options = {0};
    ck_assert_int_eq(pcl_dataset_open_folder(dir, &options, &d), PCL_OK);
    /* One RGB and one gray record in one pipeline need one channel count:
     * each case is run on one record (the limit keeps the RGB one). */
    for (int kind = 0; kind < 4; kind++) {
        pcl_transform steps[2] = {{.kind = PCL_TRANSFORM_KIND_LUMA}, {.kind = PCL_TRANSFORM_KIND_SCALE}};
        steps[0].kind = kind < 2 ? PCL_TRANSFORM_KIND_LUMA : PCL_TRANSFORM_KIND_YCBCR_Y;
        steps[1].range = kind % 2 ? PCL_RANGE_SIGNED : PCL_RANGE_UNIT;
        pcl_pipeline_options opt = {1};
        pcl_pipeline *p = NULL;
        ck_assert_msg(pcl_pipeline_create(&d, 1, steps, 2, &opt, &p) == PCL_OK, "%s", pcl_last_error());
        pcl_data_source src;
        float *in, *tg;
        fill_all(p, 0, &src, &in, &tg);
        ck_assert_uint_eq(src.count, 1);
        ck_assert(src.input[0] == 1 && src.input[1] == 2 && src.input[2] == 3);
        for (int i = 0; i < 6; i++) {
            const float *px = rgb_pixels[i];
            double v;
            if (kind < 2) { /* ITU-R 601-2 with PIL's 16-bit weights, rounded */
                v = floor((px[0] * 19595.0 + px[1] * 38470.0 + px[2] * 7471.0 + 32768.0) / 65536.0);
                ck_assert(fabs(v - (0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2])) <= 0.5 + 1e-3);
            } else { /* rgb2ycbcr Y, rounded */
                v = round_half_away(16.0 + (65.481 * px[0] + 128.553 * px[1] + 24.966 * px[2]) / 255.0);
            }
            float expect = (float)(kind % 2 ? 2.0 * v / 255.0 - 1.0 : v / 255.0);
            ck_assert_msg(in[i] == expect && tg[i] == expect, "kind %d pixel %d: %.9g, expected %.9g", kind, i, in[i],
                          expect);
        }
        free(in), free(tg);
        pcl_pipeline_destroy(p);
    }
    /* White (255, 255, 255) is Y 235; red luma 76 (hand values). */
    {
        pcl_transform y = {.kind = PCL_TRANSFORM_KIND_YCBCR_Y}, l = {.kind = PCL_TRANSFORM_KIND_LUMA};
        pcl_pipeline_options opt = {1};
        pcl_pipeline *p = NULL;
        pcl_image *a = NULL, *b = NULL;
        ck_assert_int_eq(pcl_pipeline_create(&d, 1, &y, 1, &opt, &p), PCL_OK);
        ck_assert_int_eq(pcl_pipeline_record(p, 0, 0, &a, &b), PCL_OK);
        ck_assert_float_eq(a->data[4], 235.0f);
        pcl_image_destroy(a), pcl_image_destroy(b), pcl_pipeline_destroy(p);
        ck_assert_int_eq(pcl_pipeline_create(&d, 1, &l, 1, &opt, &p), PCL_OK);
        ck_assert_int_eq(pcl_pipeline_record(p, 0, 0, &a, &b), PCL_OK);
        ck_assert_float_eq(a->data[0], 76.0f);
        pcl_image_destroy(a), pcl_image_destroy(b), pcl_pipeline_destroy(p);
    }
    /* A gray image is kept by both (SRCNN takes gray as Y). */
    pcl_dataset *gray_only = NULL;
    char gray_dir[160], from[256], to[256];
    snprintf(gray_dir, sizeof gray_dir, "%s/gray", work);
    mkdir(gray_dir, 0700);
    snprintf(from, sizeof from, "%s/b.png", dir);
    snprintf(to, sizeof to, "%s/b.png", gray_dir);
    ck_assert_int_eq(link(from, to), 0);
    ck_assert_int_eq(pcl_dataset_open_folder(gray_dir, &options, &gray_only), PCL_OK);
    for (int kind = 0; kind < 2; kind++) {
        pcl_transform t = {.kind = kind ? PCL_TRANSFORM_KIND_YCBCR_Y : PCL_TRANSFORM_KIND_LUMA};
        pcl_pipeline *p = NULL;
        pcl_image *a = NULL, *b = NULL;
        ck_assert_int_eq(pcl_pipeline_create(&gray_only, 1, &t, 1, NULL, &p), PCL_OK);
        ck_assert_int_eq(pcl_pipeline_record(p, 0, 0, &a, &b), PCL_OK);
        for (int i = 0; i < 6; i++) ck_assert_float_eq(a->data[i], gray_pixels[i]);
        pcl_image_destroy(a), pcl_image_destroy(b), pcl_pipeline_destroy(p);
    }
    pcl_dataset_destroy(gray_only);
    pcl_dataset_destroy(d);
}
END_TEST

/* ---- MATLAB imresize in float64 (independent of src/image/resize.c) ------------ */

static double cubic(double x)
{
    double a = fabs(x), a2 = a * a, a3 = a2 * a;
    if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
    if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
    return 0;
}

/* One dimension: out_len values from in_len samples src[k * step], scale = out / in. */
static void resize_line(const double *src, size_t step, int in_len, int out_len, double scale, double *dst,
                        size_t dst_step)
{
    const double width = scale < 1 ? 4.0 / scale : 4.0;
    for (int x = 1; x <= out_len; x++) {
        double u = x / scale + 0.5 * (1 - 1 / scale);
        int left = (int)floor(u - width / 2);
        int taps = (int)ceil(width) + 2;
        double sum = 0, wsum = 0;
        for (int k = 0; k < taps; k++) {
            int j = left + k; /* 1-based */
            double w = scale < 1 ? scale * cubic(scale * (u - j)) : cubic(u - j);
            int m = ((j - 1) % (2 * in_len) + 2 * in_len) % (2 * in_len); /* symmetric mirror */
            int idx = m < in_len ? m : 2 * in_len - 1 - m;
            sum += w * src[(size_t)idx * step];
            wsum += w;
        }
        dst[(size_t)(x - 1) * dst_step] = sum / wsum;
    }
}

/* 1-channel w x h -> ow x oh, height first (both scales equal in the uses here). */
static double *resize_ref(const double *src, int w, int h, int ow, int oh)
{
    double *mid = malloc((size_t)w * oh * sizeof *mid), *out = malloc((size_t)ow * oh * sizeof *out);
    for (int x = 0; x < w; x++) resize_line(src + x, (size_t)w, h, oh, (double)oh / h, mid + x, (size_t)w);
    for (int y = 0; y < oh; y++) resize_line(mid + (size_t)y * w, 1, w, ow, (double)ow / w, out + (size_t)y * ow, 1);
    free(mid);
    return out;
}

START_TEST(resize_matches_float64_imresize)
{
    pcl_dataset *d = cifar_dataset();
    /* Down 32 -> 12 (antialiased kernel) and up 32 -> 45. */
    for (int c = 0; c < 2; c++) {
        const int side = c ? 45 : 12;
        pcl_transform steps[2] = {{.kind = PCL_TRANSFORM_KIND_LUMA},
                                  {.kind = PCL_TRANSFORM_KIND_RESIZE, .width = side, .height = side}};
        pcl_pipeline *p = NULL;
        ck_assert_msg(pcl_pipeline_create(&d, 1, steps, 2, NULL, &p) == PCL_OK, "%s", pcl_last_error());
        pcl_data_source src;
        float *in, *tg;
        fill_all(p, 0, &src, &in, &tg);
        ck_assert(src.input[0] == 1 && src.input[1] == side && src.input[2] == side);
        double worst = 0;
        for (int r = 0; r < NREC; r++) {
            double *gray = malloc(SIDE * SIDE * sizeof *gray);
            for (int y = 0; y < SIDE; y++)
                for (int x = 0; x < SIDE; x++)
                    gray[y * SIDE + x] = floor((raw_value(r, x, y, 0) * 19595.0 + raw_value(r, x, y, 1) * 38470.0 +
                                                raw_value(r, x, y, 2) * 7471.0 + 32768.0) / 65536.0);
            double *ref = resize_ref(gray, SIDE, SIDE, side, side);
            for (int i = 0; i < side * side; i++) {
                const float got = in[(size_t)r * side * side + i];
                ck_assert(got == tg[(size_t)r * side * side + i]);
                ck_assert(isfinite(got));
                double e = fabs(got - ref[i]);
                if (e > worst) worst = e;
            }
            free(ref), free(gray);
        }
        /* float32 storage after each of two passes on values <= ~300, the
         * second pass's weights summing to <= 1.3 in absolute value:
         * |error| <= 300 * 2^-24 * (1 + 1.3) + 300 * 2^-24 < 1e-4. */
        ck_assert_msg(worst < 1e-4, "resize to %d: worst error %g", side, worst);
        free(in), free(tg);
        pcl_pipeline_destroy(p);
    }
    pcl_dataset_destroy(d);
}
END_TEST

/* ---- seeded crops and flips ------------------------------------------------------------ */

START_TEST(random_crop_and_flip_follow_the_documented_draws)
{
    pcl_dataset *d = cifar_dataset();
    const int W = 20, H = 24;
    pcl_transform steps[3] = {{.kind = PCL_TRANSFORM_KIND_RANDOM_CROP, .width = W, .height = H},
                              {.kind = PCL_TRANSFORM_KIND_FLIP, .horizontal = 1, .vertical = 1},
                              {.kind = PCL_TRANSFORM_KIND_SCALE, .range = PCL_RANGE_SIGNED}};
    pcl_pipeline *p = NULL;
    ck_assert_msg(pcl_pipeline_create(&d, 1, steps, 3, NULL, &p) == PCL_OK, "%s", pcl_last_error());
    pcl_data_source src;
    int seen[2][2] = {{0}}, xs_differ = 0;
    float *first = NULL;
    for (uint64_t seed = 0; seed < 40; seed++) {
        float *in, *tg, *again_in, *again_tg;
        fill_all(p, seed, &src, &in, &tg);
        ck_assert(src.input[0] == 3 && src.input[1] == H && src.input[2] == W);
        fill_all(p, seed, &src, &again_in, &again_tg);
        ck_assert_mem_eq(in, again_in, (size_t)NREC * 3 * W * H * sizeof(float)); /* reproducible */
        ck_assert_mem_eq(in, tg, (size_t)NREC * 3 * W * H * sizeof(float));       /* same window for both */
        for (int r = 0; r < NREC; r++) {
            uint64_t rng = pcl_train_step_seed(seed, (uint64_t)r);
            int x0 = (int)pcl_rng_below(&rng, SIDE - W + 1), y0 = (int)pcl_rng_below(&rng, SIDE - H + 1);
            int h = (int)pcl_rng_below(&rng, 2), v = (int)pcl_rng_below(&rng, 2);
            seen[h][v]++;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        double raw = raw_value(r, x0 + (h ? W - 1 - x : x), y0 + (v ? H - 1 - y : y), c);
                        float expect = (float)(2.0 * raw / 255.0 - 1.0);
                        ck_assert_float_eq(in[(((size_t)r * 3 + c) * H + y) * W + x], expect);
                    }
        }
        const size_t bytes = (size_t)NREC * 3 * W * H * sizeof(float);
        if (!first) {
            first = malloc(bytes);
            memcpy(first, in, bytes);
        } else if (memcmp(first, in, bytes)) {
            xs_differ = 1;
        }
        free(in), free(tg), free(again_in), free(again_tg);
    }
    ck_assert_msg(xs_differ, "every seed gave the same crops");
    for (int h = 0; h < 2; h++)
        for (int v = 0; v < 2; v++) ck_assert_msg(seen[h][v] > 0, "flip %d/%d never drawn", h, v);
    /* pcl_pipeline_record draws as fill does. */
    pcl_image *a = NULL, *b = NULL;
    float *in, *tg;
    fill_all(p, 7, &src, &in, &tg);
    ck_assert_int_eq(pcl_pipeline_record(p, 2, 7, &a, &b), PCL_OK);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < W * H; i++) ck_assert(a->data[i * 3 + c] == in[((size_t)2 * 3 + c) * W * H + i]);
    pcl_image_destroy(a), pcl_image_destroy(b);
    free(in), free(tg), free(first);
    pcl_pipeline_destroy(p);
    pcl_dataset_destroy(d);
}
END_TEST

/* A square window of a seeded side, drawn as documented, resized by the
 * float64 imresize reference: equal within the resize test's bound. */
START_TEST(random_resized_crop_follows_the_documented_draws)
{
    pcl_dataset *d = cifar_dataset();
    const int OUT = 12, LO = 14, HI = 40; /* HI beyond the 32x32 records: capped at 32 */
    pcl_transform steps[2] = {{.kind = PCL_TRANSFORM_KIND_LUMA},
                              {.kind = PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP, .width = OUT, .height = OUT,
                               .min_side = LO, .max_side = HI}};
    pcl_pipeline *p = NULL;
    ck_assert_msg(pcl_pipeline_create(&d, 1, steps, 2, NULL, &p) == PCL_OK, "%s", pcl_last_error());
    int smallest = SIDE, largest = 0;
    for (uint64_t seed = 0; seed < 30; seed++) {
        pcl_data_source src;
        float *in, *tg;
        fill_all(p, seed, &src, &in, &tg);
        ck_assert(src.input[0] == 1 && src.input[1] == OUT && src.input[2] == OUT);
        ck_assert_mem_eq(in, tg, (size_t)NREC * OUT * OUT * sizeof(float));
        for (int r = 0; r < NREC; r++) {
            uint64_t rng = pcl_train_step_seed(seed, (uint64_t)r);
            int side = LO + (int)pcl_rng_below(&rng, SIDE - LO + 1);
            int x0 = (int)pcl_rng_below(&rng, SIDE - side + 1), y0 = (int)pcl_rng_below(&rng, SIDE - side + 1);
            smallest = side < smallest ? side : smallest, largest = side > largest ? side : largest;
            double *window = malloc((size_t)side * side * sizeof *window);
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++) {
                    int X = x0 + x, Y = y0 + y;
                    window[y * side + x] = floor((raw_value(r, X, Y, 0) * 19595.0 + raw_value(r, X, Y, 1) * 38470.0 +
                                                  raw_value(r, X, Y, 2) * 7471.0 + 32768.0) / 65536.0);
                }
            double *ref = resize_ref(window, side, side, OUT, OUT);
            for (int i = 0; i < OUT * OUT; i++) {
                float got = in[(size_t)r * OUT * OUT + i];
                ck_assert_msg(isfinite(got) && fabs(got - ref[i]) < 1e-4, "seed %llu record %d pixel %d: %g vs %g",
                              (unsigned long long)seed, r, i, got, ref[i]);
            }
            free(ref), free(window);
        }
        free(in), free(tg);
    }
    ck_assert_msg(smallest < 20 && largest > 26, "sides drawn only in %d..%d", smallest, largest);
    pcl_pipeline_destroy(p);
    pcl_dataset_destroy(d);
}
END_TEST

/* ---- patches ----------------------------------------------------------------------------- */

START_TEST(patch_counts_positions_and_limit)
{
    pcl_dataset *d = cifar_dataset();
    /* 10x10 at stride 7 in 32x32: (32 - 10) / 7 + 1 = 4 positions per axis,
     * 16 per record, 48 in all; target the centre 4x4 (offset 3). */
    pcl_transform t = {.kind = PCL_TRANSFORM_KIND_PATCHES, .size = 10, .stride = 7, .target_size = 4};
    pcl_pipeline *p = NULL;
    ck_assert_msg(pcl_pipeline_create(&d, 1, &t, 1, NULL, &p) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_pipeline_count(p), 48);
    ck_assert_uint_eq(pcl_pipeline_images(p), 3);
    pcl_data_source src;
    float *in, *tg;
    fill_all(p, 0, &src, &in, &tg);
    ck_assert(src.input[0] == 3 && src.input[1] == 10 && src.input[2] == 10);
    ck_assert(src.target[0] == 3 && src.target[1] == 4 && src.target[2] == 4);
    for (int k = 0; k < 48; k++) {
        int r = k / 16, y0 = (k % 16) / 4 * 7, x0 = (k % 4) * 7; /* rows of positions, each left to right */
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 10; y++)
                for (int x = 0; x < 10; x++)
                    ck_assert_float_eq(in[(((size_t)k * 3 + c) * 10 + y) * 10 + x], raw_value(r, x0 + x, y0 + y, c));
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    ck_assert_float_eq(tg[(((size_t)k * 3 + c) * 4 + y) * 4 + x],
                                       raw_value(r, x0 + 3 + x, y0 + 3 + y, c));
        }
    }
    pcl_pipeline_destroy(p);
    /* The limit keeps the first 20 and stops reading after record 1. */
    pcl_pipeline_options opt = {20};
    ck_assert_int_eq(pcl_pipeline_create(&d, 1, &t, 1, &opt, &p), PCL_OK);
    ck_assert_uint_eq(pcl_pipeline_count(p), 20);
    ck_assert_uint_eq(pcl_pipeline_images(p), 2);
    float *lin, *ltg;
    fill_all(p, 0, &src, &lin, &ltg);
    ck_assert_mem_eq(lin, in, (size_t)20 * 300 * sizeof(float));
    ck_assert_mem_eq(ltg, tg, (size_t)20 * 48 * sizeof(float));
    free(lin), free(ltg);
    pcl_pipeline_destroy(p);
    /* Without patches the limit counts dataset records. */
    opt.limit = 2;
    ck_assert_int_eq(pcl_pipeline_create(&d, 1, NULL, 0, &opt, &p), PCL_OK);
    ck_assert_uint_eq(pcl_pipeline_count(p), 2);
    pcl_pipeline_destroy(p);
    /* Two datasets are read one after the other; patches + flips after them. */
    pcl_dataset *two[2] = {d, d};
    pcl_transform steps[2] = {t, {.kind = PCL_TRANSFORM_KIND_FLIP, .horizontal = 1}};
    ck_assert_int_eq(pcl_pipeline_create(two, 2, steps, 2, NULL, &p), PCL_OK);
    ck_assert_uint_eq(pcl_pipeline_count(p), 96);
    float *fin, *ftg;
    fill_all(p, 3, &src, &fin, &ftg);
    for (int k = 0; k < 96; k++) {
        uint64_t rng = pcl_train_step_seed(3, (uint64_t)k);
        int h = (int)pcl_rng_below(&rng, 2);
        const float *ref = in + (size_t)(k % 48) * 300, *reft = tg + (size_t)(k % 48) * 48;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 10; y++)
                for (int x = 0; x < 10; x++)
                    ck_assert_float_eq(fin[(size_t)k * 300 + (c * 10 + y) * 10 + x],
                                       ref[(c * 10 + y) * 10 + (h ? 9 - x : x)]);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    ck_assert_float_eq(ftg[(size_t)k * 48 + (c * 4 + y) * 4 + x],
                                       reft[(c * 4 + y) * 4 + (h ? 3 - x : x)]);
    }
    free(fin), free(ftg);
    pcl_pipeline_destroy(p);
    free(in), free(tg);
    pcl_dataset_destroy(d);
}
END_TEST

/* ---- SRCNN's generate_train.m on real images ------------------------------------ */

/* Two T91 images (as PNG copies: the same 8-bit values) through ycbcr-y,
 * sr-degrade 3, scale, 33x33 patches at stride 14 with 17x17 targets,
 * against the procedure computed here in float64: Y rounded, modcrop,
 * imresize down by 1/3 and up, /255, the patch grid. */
START_TEST(srcnn_procedure_on_t91)
{
    static const char *const names[2] = {"t1.bmp", "tt27.bmp"};
    char dir[128], path[512];
    snprintf(dir, sizeof dir, "%s/t91_two", work);
    mkdir(dir, 0700);
    pcl_image *images[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/datasets/T91/%s", PCL_SHARED_DIR, names[i]);
        if (pcl_image_read(path, &images[i]) != PCL_OK) {
            fprintf(stderr, "SKIP: %s: %s\n", path, pcl_last_error());
            pcl_image_destroy(images[0]);
            return;
        }
        snprintf(path, sizeof path, "%s/%d.png", dir, i);
        ck_assert_int_eq(pcl_image_write_png(path, images[i]), PCL_OK);
    }
    const int scale = 3, s = 33, l = 17, stride = 14;
    pcl_transform steps[4] = {{.kind = PCL_TRANSFORM_KIND_YCBCR_Y},
                              {.kind = PCL_TRANSFORM_KIND_SR_DEGRADE, .scale = scale},
                              {.kind = PCL_TRANSFORM_KIND_SCALE, .range = PCL_RANGE_UNIT},
                              {.kind = PCL_TRANSFORM_KIND_PATCHES, .size = s, .stride = stride, .target_size = l}};
    pcl_dataset *d = NULL;
    pcl_folder_options options = {0};
    ck_assert_int_eq(pcl_dataset_open_folder(dir, &options, &d), PCL_OK);
    pcl_pipeline *p = NULL;
    ck_assert_msg(pcl_pipeline_create(&d, 1, steps, 4, NULL, &p) == PCL_OK, "%s", pcl_last_error());
    pcl_data_source src;
    float *in, *tg;
    fill_all(p, 0, &src, &in, &tg);
    size_t k = 0;
    double worst = 0;
    for (int i = 0; i < 2; i++) {
        const pcl_image *im = images[i];
        const int W = im->width - im->width % scale, H = im->height - im->height % scale;
        double *y = malloc((size_t)W * H * sizeof *y);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                const float *px = im->data + ((size_t)r * im->width + c) * im->channels;
                y[(size_t)r * W + c] = im->channels == 1 ? px[0]
                                                         : round_half_away(16.0 + (65.481 * px[0] + 128.553 * px[1] +
                                                                                   24.966 * px[2]) / 255.0);
            }
        double *low = resize_ref(y, W, H, W / scale, H / scale);
        double *up = resize_ref(low, W / scale, H / scale, W, H);
        for (int y0 = 0; y0 + s <= H; y0 += stride)
            for (int x0 = 0; x0 + s <= W; x0 += stride, k++) {
                ck_assert_uint_lt(k, src.count);
                for (int r = 0; r < s; r++)
                    for (int c = 0; c < s; c++) {
                        double e = fabs(in[k * s * s + (size_t)r * s + c] - up[(size_t)(y0 + r) * W + x0 + c] / 255.0);
                        if (!(e <= worst)) worst = e; /* a NaN makes worst NaN */
                    }
                for (int r = 0; r < l; r++)
                    for (int c = 0; c < l; c++)
                        ck_assert_float_eq(tg[k * l * l + (size_t)r * l + c],
                                           (float)(y[(size_t)(y0 + 8 + r) * W + x0 + 8 + c] / 255.0));
            }
        free(y), free(low), free(up);
    }
    ck_assert_uint_eq(k, src.count);
    printf("srcnn procedure: %zu pairs, worst input error %g\n", k, worst);
    /* As resize_matches_float64_imresize, on the 0..255 scale, then / 255. */
    ck_assert_msg(worst < 1e-4 / 255.0 + 1e-7, "worst input error %g", worst);
    free(in), free(tg);
    pcl_pipeline_destroy(p);
    pcl_dataset_destroy(d);
    pcl_image_destroy(images[0]);
    pcl_image_destroy(images[1]);
}
END_TEST

/* SR degradation of a gray record equals the protocol's pcl_sr_prepare. */
START_TEST(sr_degrade_is_the_protocol)
{
    pcl_dataset *d = cifar_dataset();
    pcl_transform steps[2] = {{.kind = PCL_TRANSFORM_KIND_LUMA}, {.kind = PCL_TRANSFORM_KIND_SR_DEGRADE, .scale = 3}};
    pcl_transform first = steps[0];
    pcl_pipeline *p = NULL, *gray = NULL;
    ck_assert_int_eq(pcl_pipeline_create(&d, 1, steps, 2, NULL, &p), PCL_OK);
    ck_assert_int_eq(pcl_pipeline_create(&d, 1, &first, 1, NULL, &gray), PCL_OK);
    pcl_image *in = NULL, *tg = NULL, *g = NULL, *g2 = NULL, *truth = NULL, *bicubic = NULL;
    ck_assert_int_eq(pcl_pipeline_record(p, 1, 0, &in, &tg), PCL_OK);
    ck_assert_int_eq(pcl_pipeline_record(gray, 1, 0, &g, &g2), PCL_OK);
    ck_assert_int_eq(pcl_sr_prepare(g, 3, &truth, &bicubic), PCL_OK);
    ck_assert_int_eq(tg->width, 30); /* modcrop(32, 3) */
    ck_assert_int_eq(in->width, 30);
    ck_assert_mem_eq(tg->data, truth->data, pcl_image_size(truth) * sizeof(float));
    ck_assert_mem_eq(in->data, bicubic->data, pcl_image_size(bicubic) * sizeof(float));
    pcl_image_destroy(in), pcl_image_destroy(tg), pcl_image_destroy(g), pcl_image_destroy(g2);
    pcl_image_destroy(truth), pcl_image_destroy(bicubic);
    pcl_pipeline_destroy(p), pcl_pipeline_destroy(gray);
    pcl_dataset_destroy(d);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------------------- */

static void expect_refused(pcl_dataset *d, const pcl_transform *steps, int n, const char *words)
{
    pcl_pipeline *p = (pcl_pipeline *)1;
    pcl_status s = pcl_pipeline_create(&d, 1, steps, n, NULL, &p);
    ck_assert_msg(s != PCL_OK, "accepted; expected an error with '%s'", words);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(pcl_last_error(), words), "'%s' lacks '%s'", pcl_last_error(), words);
}

START_TEST(bad_parameters_and_files_are_refused)
{
    pcl_dataset *d = cifar_dataset();
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_SR_DEGRADE, .scale = 1}, 1, "transform 0 (sr-degrade)");
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_RESIZE, .width = 0, .height = 4}, 1, "resize");
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_RANDOM_CROP, .width = 33, .height = 4}, 1,
                   "does not fit a 32x32");
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_FLIP}, 1, "neither horizontal nor vertical");
    expect_refused(d,
                   &(pcl_transform){.kind = PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP, .width = 8, .height = 8,
                                    .min_side = 20, .max_side = 10},
                   1, "window sides 20..10");
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_SCALE, .range = (pcl_range)7}, 1, "unknown range 7");
    expect_refused(d, &(pcl_transform){.kind = (pcl_transform_kind)42}, 1, "unknown kind 42");
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_PATCHES, .size = 10, .stride = 0}, 1, "stride 0");
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_PATCHES, .size = 10, .stride = 5, .target_size = 5}, 1,
                   "even difference");
    expect_refused(d, &(pcl_transform){.kind = PCL_TRANSFORM_KIND_PATCHES, .size = 40, .stride = 5}, 1,
                   "no 40x40 patch fits");
    pcl_transform patches = {.kind = PCL_TRANSFORM_KIND_PATCHES, .size = 8, .stride = 8};
    pcl_transform twice[2] = {patches, patches};
    expect_refused(d, twice, 2, "a second patches step");
    pcl_transform random_first[2] = {{.kind = PCL_TRANSFORM_KIND_FLIP, .horizontal = 1}, patches};
    expect_refused(d, random_first, 2, "transform 0 (flip) is random");
    /* Luma needs 8-bit integers: after a scale it names the record and the step. */
    pcl_transform late_luma[2] = {{.kind = PCL_TRANSFORM_KIND_SCALE}, {.kind = PCL_TRANSFORM_KIND_LUMA}};
    expect_refused(d, late_luma, 2, "record 0 (memory.bin), transform 1 (luma)");
    pcl_pipeline *p = NULL;
    ck_assert_int_eq(pcl_pipeline_create(NULL, 1, NULL, 0, NULL, &p), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_pipeline_create(&d, 1, NULL, 2, NULL, &p), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_pipeline_source(NULL, &(pcl_data_source){0}), PCL_ERR_INVALID_ARGUMENT);
    pcl_dataset_destroy(d);

    /* Files: a corrupt image fails at create (record 0 is read) naming it; an
     * image of another size fails at fill naming it. */
    char dir[128], path[256];
    snprintf(dir, sizeof dir, "%s/bad_files", work);
    write_folder(dir); /* a.png 3x2 RGB, b.png 3x2 gray */
    pcl_image *big = NULL;
    ck_assert_int_eq(pcl_image_create(&big, 5, 5, 3), PCL_OK);
    snprintf(path, sizeof path, "%s/c.png", dir);
    ck_assert_int_eq(pcl_image_write_png(path, big), PCL_OK);
    pcl_image_destroy(big);
    pcl_folder_options rgb = {.channels = 3};
    ck_assert_int_eq(pcl_dataset_open_folder(dir, &rgb, &d), PCL_OK);
    ck_assert_int_eq(pcl_pipeline_create(&d, 1, NULL, 0, NULL, &p), PCL_OK);
    pcl_data_source src;
    ck_assert_int_eq(pcl_pipeline_source(p, &src), PCL_OK);
    float in[3 * 25], tg[3 * 25];
    size_t idx[2] = {1, 2};
    ck_assert_int_eq(src.fill(src.user, idx, 1, 0, in, tg), PCL_OK);
    ck_assert_int_eq(src.fill(src.user, idx + 1, 1, 0, in, tg), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "c.png") && strstr(pcl_last_error(), "resize or random-crop"), "%s",
                  pcl_last_error());
    pcl_pipeline_destroy(p);
    pcl_dataset_destroy(d);
    snprintf(path, sizeof path, "%s/a.png", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("\x89PNG\r\n\x1a\n not really", f);
    fclose(f);
    ck_assert_int_eq(pcl_dataset_open_folder(dir, &rgb, &d), PCL_OK);
    ck_assert_int_ne(pcl_pipeline_create(&d, 1, NULL, 0, NULL, &p), PCL_OK);
    ck_assert_msg(strstr(pcl_last_error(), "a.png"), "%s", pcl_last_error());
    pcl_pipeline_destroy(p);
    pcl_dataset_destroy(d);
}
END_TEST

/* ---- the one shuffle ----------------------------------------------------------------------- */

/* pcl_permutation, pcl_train_shuffle and pcl_rng_shuffle give one order. */
START_TEST(one_shuffle)
{
    enum { N = 257 };
    size_t a[N], b[N], c[N];
    pcl_permutation(a, N, 99);
    uint64_t s1 = 99, s2 = 99;
    pcl_train_shuffle(b, N, &s1);
    for (size_t i = 0; i < N; i++) c[i] = i;
    pcl_rng_shuffle(c, N, &s2);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_mem_eq(a, c, sizeof a);
    ck_assert_uint_eq(s1, s2);
    /* Hand rule for n = 2: j = below(2), swap(1, j). */
    uint64_t s3 = 5;
    size_t two[2] = {0, 1};
    size_t j = (size_t)pcl_rng_below(&s3, 2);
    size_t expect0 = j == 0 ? 1 : 0;
    uint64_t s4 = 5;
    pcl_rng_shuffle(two, 2, &s4);
    ck_assert_uint_eq(two[0], expect0);
}
END_TEST

static void cleanup(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", work);
}

int main(void)
{
    snprintf(work, sizeof work, "/tmp/pcl_pipeline_XXXXXX");
    if (!mkdtemp(work)) return 1;
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pixel_transforms_match_formulas);
    tcase_add_test(tc, resize_matches_float64_imresize);
    tcase_add_test(tc, random_crop_and_flip_follow_the_documented_draws);
    tcase_add_test(tc, random_resized_crop_follows_the_documented_draws);
    tcase_add_test(tc, patch_counts_positions_and_limit);
    tcase_add_test(tc, srcnn_procedure_on_t91);
    tcase_add_test(tc, sr_degrade_is_the_protocol);
    tcase_add_test(tc, bad_parameters_and_files_are_refused);
    tcase_add_test(tc, one_shuffle);
    suite_add_tcase(s, tc);
    int failed = pcl_check_run(s, 0);
    cleanup();
    return failed ? 1 : 0;
}
