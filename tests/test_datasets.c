/* Dataset readers: real files from shared/datasets, binary corpora built in a
 * temp folder from real images in their documented layouts (so the expected
 * pixels are known independently of the reader), corrupted copies of both,
 * and splits/shuffles against a Python-computed splitmix64 reference. */
#include "perceptcl/datasets.h"
#include "perceptcl/image.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_run.h"

#define DATA PCL_SHARED_DIR "/datasets"

static char tmp_root[256];

static int have_shared(void)
{
    if (access(DATA "/SOURCES.md", R_OK) == 0) return 1;
    fprintf(stderr, "skipped: %s not found\n", DATA);
    return 0;
}

static void make_tmp(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/pcl_datasets_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void remove_tree(const char *path)
{
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    ck_assert_int_eq(system(command), 0);
}

static void teardown_tmp(void)
{
    if (tmp_root[0]) remove_tree(tmp_root);
    tmp_root[0] = '\0';
}

static char *tmp_path(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", tmp_root, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, size, f), size);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *data = read_file(from, &n);
    write_file(to, data, n);
    free(data);
}

/* The error must be a single line naming the file and containing what. */
static void expect_error(pcl_status status, pcl_status want, const char *file, const char *what)
{
    const char *message = pcl_last_error();
    ck_assert_msg(status == want, "expected %s, got %s (%s)", pcl_status_name(want), pcl_status_name(status), message);
    ck_assert_msg(strchr(message, '\n') == NULL, "message has several lines: %s", message);
    if (file) ck_assert_msg(strstr(message, file) != NULL, "message does not name %s: %s", file, message);
    if (what) ck_assert_msg(strstr(message, what) != NULL, "message lacks '%s': %s", what, message);
}

/* CIFAR-10 class indices of the first ten images of data_batch_1 (frog,
 * truck, truck, deer, automobile, automobile, bird, horse, ship, cat). */
static const int cifar_first_labels[10] = {6, 9, 9, 4, 1, 1, 2, 7, 8, 3};

/* Loads shared CIFAR train PNG number k (1-based) as 8-bit RGB. */
static pcl_image *cifar_png(int k)
{
    char path[512];
    snprintf(path, sizeof path, DATA "/CIFAR10/train_first200_png/%d.png", k);
    pcl_image *image = NULL;
    ck_assert_msg(pcl_image_read(path, &image) == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(image->width, 32);
    ck_assert_int_eq(image->height, 32);
    ck_assert_int_ge(image->channels, 3);
    return image;
}

static unsigned char px(const pcl_image *im, int x, int y, int c)
{
    float v = im->data[((size_t)y * im->width + x) * im->channels + c];
    ck_assert(v >= 0.0f && v <= 255.0f && v == floorf(v));
    return (unsigned char)v;
}

/* A CIFAR-10 batch of the first n PNGs: label byte, then R, G, B planes row-major. */
static unsigned char *build_cifar_batch(int n)
{
    unsigned char *batch = malloc((size_t)n * 3073);
    for (int k = 0; k < n; k++) {
        pcl_image *im = cifar_png(k + 1);
        unsigned char *r = batch + (size_t)k * 3073;
        r[0] = (unsigned char)cifar_first_labels[k];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) r[1 + c * 1024 + y * 32 + x] = px(im, x, y, c);
        pcl_image_destroy(im);
    }
    return batch;
}

START_TEST(cifar_bin_matches_png_pixels)
{
    if (!have_shared()) return;
    unsigned char *batch = build_cifar_batch(10);
    write_file(tmp_path("data_batch_1.bin"), batch, 6 * 3073);
    write_file(tmp_path("data_batch_2.bin"), batch + 6 * 3073, 4 * 3073);
    const char *paths[2] = {tmp_path("data_batch_1.bin"), tmp_path("data_batch_2.bin")};
    pcl_dataset *d = NULL;
    ck_assert_msg(pcl_dataset_open_cifar10_bin(paths, 2, &d) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), 10);
    ck_assert_str_eq(pcl_dataset_class_name(d, 6), "frog");
    /* out of order, across the file boundary, CHW and HWC */
    size_t idx[4] = {9, 0, 5, 6};
    float *chw = malloc(4 * 3072 * sizeof *chw), *hwc = malloc(4 * 3072 * sizeof *hwc);
    int labels[4];
    ck_assert_msg(pcl_dataset_read_batch(d, idx, 4, PCL_LAYOUT_CHW, chw, 4 * 3072, labels) == PCL_OK, "%s",
                  pcl_last_error());
    ck_assert_int_eq(pcl_dataset_read_batch(d, idx, 4, PCL_LAYOUT_HWC, hwc, 4 * 3072, NULL), PCL_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(labels[i], cifar_first_labels[idx[i]]);
        pcl_image *im = cifar_png((int)idx[i] + 1);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    ck_assert_float_eq(chw[i * 3072 + c * 1024 + y * 32 + x], px(im, x, y, c));
                    ck_assert_float_eq(hwc[i * 3072 + (y * 32 + x) * 3 + c], px(im, x, y, c));
                }
        pcl_image_destroy(im);
    }
    pcl_record_info info;
    ck_assert_int_eq(pcl_dataset_record_info(d, 7, &info), PCL_OK);
    ck_assert_str_eq(info.path, paths[1]);
    ck_assert_uint_eq(info.offset, 1 * 3073);
    pcl_image *one = NULL;
    int label = -1;
    ck_assert_int_eq(pcl_dataset_read_image(d, 3, &one, &label), PCL_OK);
    ck_assert_int_eq(label, 4);
    ck_assert_int_eq(one->channels, 3);
    pcl_image *ref = cifar_png(4);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            for (int c = 0; c < 3; c++) ck_assert_float_eq(one->data[(y * 32 + x) * 3 + c], px(ref, x, y, c));
    pcl_image_destroy(ref);
    pcl_image_destroy(one);
    /* too small a buffer and a bad index are refused */
    expect_error(pcl_dataset_read_batch(d, idx, 4, PCL_LAYOUT_CHW, chw, 4 * 3072 - 1, NULL), PCL_ERR_INVALID_ARGUMENT,
                 NULL, "floats");
    size_t bad_index = 10;
    expect_error(pcl_dataset_read_batch(d, &bad_index, 1, PCL_LAYOUT_CHW, chw, 3072, NULL), PCL_ERR_INVALID_ARGUMENT,
                 NULL, "out of range");
    pcl_dataset_destroy(d);
    free(chw);
    free(hwc);
    free(batch);
}
END_TEST

START_TEST(cifar_bin_corrupt_refused)
{
    if (!have_shared()) return;
    unsigned char *batch = build_cifar_batch(5);
    const char *path = tmp_path("bad_batch.bin");
    const char *paths[1] = {path};
    pcl_dataset *d = NULL;

    /* size not a multiple of the record */
    write_file(path, batch, 5 * 3073 - 100);
    expect_error(pcl_dataset_open_cifar10_bin(paths, 1, &d), PCL_ERR_FORMAT, path, "multiple of the 3073-byte");
    ck_assert_ptr_null(d);
    write_file(path, batch, 0);
    expect_error(pcl_dataset_open_cifar10_bin(paths, 1, &d), PCL_ERR_FORMAT, path, "empty");
    const char *missing[1] = {tmp_path("nope.bin")};
    expect_error(pcl_dataset_open_cifar10_bin(missing, 1, &d), PCL_ERR_IO, "nope.bin", "cannot open");

    /* label byte 10 in record 3: that batch fails whole, others still read */
    batch[3 * 3073] = 10;
    write_file(path, batch, 5 * 3073);
    ck_assert_int_eq(pcl_dataset_open_cifar10_bin(paths, 1, &d), PCL_OK);
    float *dst = malloc(3 * 3072 * sizeof *dst);
    for (int i = 0; i < 3 * 3072; i++) dst[i] = -7.0f;
    int labels[3] = {-9, -9, -9};
    size_t idx[3] = {0, 3, 4};
    expect_error(pcl_dataset_read_batch(d, idx, 3, PCL_LAYOUT_HWC, dst, 3 * 3072, labels), PCL_ERR_FORMAT, path,
                 "record 3 (offset 9219): expected a CIFAR-10 label byte 0..9, got 10");
    for (int i = 0; i < 3 * 3072; i++) ck_assert_float_eq(dst[i], -7.0f); /* no partial batch */
    ck_assert_int_eq(labels[0], -9);
    size_t good[2] = {0, 4};
    ck_assert_int_eq(pcl_dataset_read_batch(d, good, 2, PCL_LAYOUT_HWC, dst, 3 * 3072, labels), PCL_OK);
    size_t checked = 0;
    expect_error(pcl_dataset_verify(d, &checked), PCL_ERR_FORMAT, path, "record 3");
    ck_assert_uint_eq(checked, 3);

    /* file truncated after opening */
    ck_assert_int_eq(truncate(path, 4 * 3073 + 10), 0);
    size_t last = 4;
    expect_error(pcl_dataset_read_batch(d, &last, 1, PCL_LAYOUT_HWC, dst, 3072, labels), PCL_ERR_FORMAT, path,
                 "truncated");
    pcl_dataset_destroy(d);
    free(dst);
    free(batch);
}
END_TEST

/* STL-10 classes of test_examples10 in name order. */
START_TEST(stl_bin_matches_png_pixels)
{
    if (!have_shared()) return;
    pcl_dataset *png = NULL;
    ck_assert_msg(pcl_dataset_open(PCL_CORPUS_STL10_TEST_PNG, DATA, &png) == PCL_OK, "%s", pcl_last_error());
    const size_t n = pcl_dataset_count(png);
    ck_assert_uint_eq(n, 10);
    unsigned char *x = malloc(n * 27648), y[10];
    pcl_image *images[10];
    for (size_t k = 0; k < n; k++) {
        pcl_record_info info;
        ck_assert_int_eq(pcl_dataset_record_info(png, k, &info), PCL_OK);
        /* read the file ourselves (RGBA), not through the dataset */
        ck_assert_int_eq(pcl_image_read(info.path, &images[k]), PCL_OK);
        ck_assert_int_eq(images[k]->channels, 4);
        y[k] = (unsigned char)(info.label + 1);
        for (int c = 0; c < 3; c++)
            for (int yy = 0; yy < 96; yy++)
                for (int xx = 0; xx < 96; xx++) x[k * 27648 + c * 9216 + xx * 96 + yy] = px(images[k], xx, yy, c);
    }
    /* names in sorted order: airplane bird car cat deer dog horse monkey ship truck = STL order */
    for (size_t k = 0; k < n; k++) ck_assert_int_eq(y[k], (int)k + 1);
    write_file(tmp_path("test_X.bin"), x, n * 27648);
    write_file(tmp_path("test_y.bin"), y, n);
    pcl_dataset *d = NULL;
    ck_assert_msg(pcl_dataset_open_stl10_bin(tmp_path("test_X.bin"), tmp_path("test_y.bin"), &d) == PCL_OK, "%s",
                  pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), n);
    ck_assert_str_eq(pcl_dataset_class_name(d, 7), "monkey");
    float *batch = malloc(n * 27648 * sizeof *batch);
    size_t idx[10];
    int labels[10];
    for (size_t k = 0; k < n; k++) idx[k] = n - 1 - k;
    ck_assert_int_eq(pcl_dataset_read_batch(d, idx, n, PCL_LAYOUT_CHW, batch, n * 27648, labels), PCL_OK);
    /* the PNG folder reader (alpha dropped) gives the same pixels */
    float *from_png = malloc(n * 27648 * sizeof *from_png);
    int png_labels[10];
    ck_assert_int_eq(pcl_dataset_read_batch(png, idx, n, PCL_LAYOUT_CHW, from_png, n * 27648, png_labels), PCL_OK);
    for (size_t i = 0; i < n; i++) {
        const pcl_image *im = images[idx[i]];
        ck_assert_int_eq(labels[i], (int)idx[i]);
        ck_assert_int_eq(png_labels[i], (int)idx[i]);
        for (int c = 0; c < 3; c++)
            for (int yy = 0; yy < 96; yy++)
                for (int xx = 0; xx < 96; xx++) {
                    size_t at = i * 27648 + (size_t)c * 9216 + (size_t)yy * 96 + xx;
                    ck_assert_float_eq(batch[at], px(im, xx, yy, c));
                    ck_assert_float_eq(from_png[at], batch[at]);
                }
    }
    pcl_dataset_destroy(d);

    /* unlabeled: no y file */
    ck_assert_int_eq(pcl_dataset_open_stl10_bin(tmp_path("test_X.bin"), NULL, &d), PCL_OK);
    int label = 5;
    pcl_image *one = NULL;
    ck_assert_int_eq(pcl_dataset_read_image(d, 2, &one, &label), PCL_OK);
    ck_assert_int_eq(label, -1);
    ck_assert_float_eq(one->data[(10 * 96 + 20) * 3 + 1], px(images[2], 20, 10, 1));
    pcl_image_destroy(one);
    pcl_dataset_destroy(d);

    /* corrupt labels: 0 and 11 are outside 1..10; count mismatch; X size */
    unsigned char bad_y[10];
    memcpy(bad_y, y, n);
    bad_y[4] = 11;
    write_file(tmp_path("bad_y.bin"), bad_y, n);
    expect_error(pcl_dataset_open_stl10_bin(tmp_path("test_X.bin"), tmp_path("bad_y.bin"), &d), PCL_ERR_FORMAT,
                 "bad_y.bin", "offset 4 (label of record 4): expected a STL-10 label 1..10, got 11");
    bad_y[4] = 0;
    write_file(tmp_path("bad_y.bin"), bad_y, n);
    expect_error(pcl_dataset_open_stl10_bin(tmp_path("test_X.bin"), tmp_path("bad_y.bin"), &d), PCL_ERR_FORMAT,
                 "bad_y.bin", "got 0");
    write_file(tmp_path("bad_y.bin"), y, n - 1);
    expect_error(pcl_dataset_open_stl10_bin(tmp_path("test_X.bin"), tmp_path("bad_y.bin"), &d), PCL_ERR_FORMAT,
                 "bad_y.bin", "expected 10 label bytes");
    write_file(tmp_path("bad_X.bin"), x, n * 27648 - 1);
    expect_error(pcl_dataset_open_stl10_bin(tmp_path("bad_X.bin"), tmp_path("test_y.bin"), &d), PCL_ERR_FORMAT,
                 "bad_X.bin", "27648-byte STL-10 record");
    ck_assert_ptr_null(d);
    for (size_t k = 0; k < n; k++) pcl_image_destroy(images[k]);
    pcl_dataset_destroy(png);
    free(batch);
    free(from_png);
    free(x);
}
END_TEST

START_TEST(tiny_images_column_major_and_streamed)
{
    if (!have_shared()) return;
    unsigned char rec[3 * 3072];
    pcl_image *im[3];
    for (int k = 0; k < 3; k++) {
        im[k] = cifar_png(k + 11);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) rec[k * 3072 + c * 1024 + x * 32 + y] = px(im[k], x, y, c);
    }
    write_file(tmp_path("tiny_images.bin"), rec, sizeof rec);
    pcl_dataset *d = NULL;
    ck_assert_int_eq(pcl_dataset_open_tiny_images(tmp_path("tiny_images.bin"), &d), PCL_OK);
    ck_assert_uint_eq(pcl_dataset_count(d), 3);
    ck_assert_int_eq(pcl_dataset_class_count(d), 0);
    float out[3072];
    int label = 3;
    size_t idx = 2;
    ck_assert_int_eq(pcl_dataset_read_batch(d, &idx, 1, PCL_LAYOUT_HWC, out, 3072, &label), PCL_OK);
    ck_assert_int_eq(label, -1);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            for (int c = 0; c < 3; c++) ck_assert_float_eq(out[(y * 32 + x) * 3 + c], px(im[2], x, y, c));
    pcl_dataset_destroy(d);
    for (int k = 0; k < 3; k++) pcl_image_destroy(im[k]);

    write_file(tmp_path("tiny_images.bin"), rec, sizeof rec - 1);
    expect_error(pcl_dataset_open_tiny_images(tmp_path("tiny_images.bin"), &d), PCL_ERR_FORMAT, "tiny_images.bin",
                 "offset 6144: expected a size that is a multiple of the 3072-byte Tiny Images record");

    /* A sparse file of the full corpus size (243 GB, no disk used): opening
     * and reading the last record must not read the file whole. */
    int fd = open(tmp_path("tiny_images.bin"), O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    const off_t full = (off_t)79302017 * 3072;
    int sparse_ok = ftruncate(fd, full) == 0 && pwrite(fd, rec, 3072, full - 3072) == 3072;
    close(fd);
    if (!sparse_ok) {
        fprintf(stderr, "skipped the sparse 243 GB file: %s\n", strerror(errno));
        return;
    }
    ck_assert_int_eq(pcl_dataset_open_tiny_images(tmp_path("tiny_images.bin"), &d), PCL_OK);
    ck_assert_uint_eq(pcl_dataset_count(d), 79302017);
    size_t ends[2] = {79302016, 40000000};
    float two[2 * 3072];
    ck_assert_int_eq(pcl_dataset_read_batch(d, ends, 2, PCL_LAYOUT_CHW, two, 2 * 3072, NULL), PCL_OK);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                ck_assert_float_eq(two[c * 1024 + y * 32 + x], rec[c * 1024 + x * 32 + y]);
                ck_assert_float_eq(two[3072 + c * 1024 + y * 32 + x], 0.0f);
            }
    pcl_dataset_destroy(d);
    /* and pcl_corpus_check calls it complete by size */
    pcl_corpus_report r;
    ck_assert_int_eq(pcl_corpus_check(PCL_CORPUS_TINY_IMAGES, tmp_root, 0, &r), PCL_OK);
    ck_assert_int_eq(r.present, 1);
    ck_assert_msg(r.complete == 1, "%s", r.message);
    ck_assert_uint_eq(r.records, 79302017);
}
END_TEST

START_TEST(memory_formats)
{
    unsigned char rec[2 * 3073] = {0};
    rec[0] = 9;
    rec[3073] = 3;
    rec[3073 + 1 + 1024 + 5 * 32 + 7] = 200; /* record 1, G plane, (x 7, y 5) */
    pcl_dataset *d = NULL;
    ck_assert_int_eq(pcl_dataset_open_memory(PCL_BINARY_FORMAT_CIFAR10, rec, sizeof rec, NULL, 0, "mem", &d), PCL_OK);
    pcl_image *im = NULL;
    int label = -1;
    ck_assert_int_eq(pcl_dataset_read_image(d, 1, &im, &label), PCL_OK);
    ck_assert_int_eq(label, 3);
    ck_assert_float_eq(im->data[(5 * 32 + 7) * 3 + 1], 200.0f);
    ck_assert_float_eq(im->data[(7 * 32 + 5) * 3 + 1], 0.0f);
    pcl_image_destroy(im);
    pcl_dataset_destroy(d);
    expect_error(pcl_dataset_open_memory(PCL_BINARY_FORMAT_TINY_IMAGES, rec, 3073, NULL, 0, "mem", &d), PCL_ERR_FORMAT, "mem",
                 "3072-byte");
    expect_error(pcl_dataset_open_memory(PCL_BINARY_FORMAT_CIFAR10, rec, 3073, rec, 1, "mem", &d), PCL_ERR_INVALID_ARGUMENT,
                 NULL, "separate label");
    /* STL column-major: byte c*9216 + x*96 + y is pixel (x, y) */
    unsigned char *stl = calloc(27648, 1);
    stl[2 * 9216 + 3 * 96 + 50] = 77; /* B at x 3, y 50 */
    unsigned char y = 10;
    ck_assert_int_eq(pcl_dataset_open_memory(PCL_BINARY_FORMAT_STL10, stl, 27648, &y, 1, "stl", &d), PCL_OK);
    ck_assert_int_eq(pcl_dataset_read_image(d, 0, &im, &label), PCL_OK);
    ck_assert_int_eq(label, 9);
    ck_assert_float_eq(im->data[(50 * 96 + 3) * 3 + 2], 77.0f);
    pcl_image_destroy(im);
    pcl_dataset_destroy(d);
    free(stl);
}
END_TEST

START_TEST(sr_folders)
{
    if (!have_shared()) return;
    static const struct {
        pcl_corpus corpus;
        size_t count;
        const char *first;
        int w, h;
    } sets[] = {
        {PCL_CORPUS_SET5, 5, "baby.png", 512, 512},   {PCL_CORPUS_SET14, 14, "baboon.png", 500, 480},
        {PCL_CORPUS_BSD100, 100, "101085.jpg", 0, 0}, {PCL_CORPUS_BSD200, 200, "100075.jpg", 0, 0},
        {PCL_CORPUS_T91, 91, "t1.bmp", 197, 176},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        pcl_dataset *d = NULL;
        ck_assert_msg(pcl_dataset_open(sets[s].corpus, DATA, &d) == PCL_OK, "%s", pcl_last_error());
        ck_assert_uint_eq(pcl_dataset_count(d), sets[s].count);
        pcl_record_info info;
        ck_assert_int_eq(pcl_dataset_record_info(d, 0, &info), PCL_OK);
        ck_assert_str_eq(strrchr(info.path, '/') + 1, sets[s].first);
        pcl_image *im = NULL;
        ck_assert_msg(pcl_dataset_read_image(d, 0, &im, NULL) == PCL_OK, "%s", pcl_last_error());
        ck_assert_int_eq(im->channels, 3);
        if (sets[s].w) {
            ck_assert_int_eq(im->width, sets[s].w);
            ck_assert_int_eq(im->height, sets[s].h);
        }
        pcl_image_destroy(im);
        /* sizes differ: batches are refused with a pointer to read_image */
        size_t zero = 0;
        float f;
        expect_error(pcl_dataset_read_batch(d, &zero, 1, PCL_LAYOUT_HWC, &f, 1, NULL), PCL_ERR_INVALID_ARGUMENT, NULL,
                     "pcl_dataset_read_image");
        pcl_dataset_destroy(d);
    }
    /* Set14 bridge is 8-bit gray: RGB replicates it exactly */
    pcl_dataset *d = NULL;
    ck_assert_int_eq(pcl_dataset_open(PCL_CORPUS_SET14, DATA, &d), PCL_OK);
    pcl_image *gray = NULL, *rgb = NULL;
    ck_assert_int_eq(pcl_image_read(DATA "/Set14/bridge.png", &gray), PCL_OK);
    ck_assert_int_eq(gray->channels, 1);
    ck_assert_int_eq(pcl_dataset_read_image(d, 2, &rgb, NULL), PCL_OK);
    for (size_t p = 0; p < 512 * 512; p += 997)
        for (int c = 0; c < 3; c++) ck_assert_float_eq(rgb->data[p * 3 + c], gray->data[p]);
    pcl_image_destroy(gray);
    pcl_image_destroy(rgb);
    pcl_dataset_destroy(d);
}
END_TEST

START_TEST(class_tree_and_fixed_size)
{
    if (!have_shared()) return;
    /* an ImageNet-style tree of two classes with real CIFAR JPEGs */
    mkdir(tmp_path("tree"), 0755);
    mkdir(tmp_path("tree/cat"), 0755);
    mkdir(tmp_path("tree/airplane"), 0755);
    copy_file(DATA "/CIFAR10/test_jpeg/cat/0000.jpg", tmp_path("tree/cat/a.jpg"));
    copy_file(DATA "/CIFAR10/test_jpeg/cat/0001.jpg", tmp_path("tree/cat/b.JPG"));
    copy_file(DATA "/CIFAR10/test_jpeg/airplane/0000.jpg", tmp_path("tree/airplane/x.jpeg"));
    write_file(tmp_path("tree/cat/Thumbs.db"), "junk", 4);
    pcl_folder_options o = {.class_subfolders = 1, .width = 32, .height = 32, .channels = 3};
    pcl_dataset *d = NULL;
    ck_assert_msg(pcl_dataset_open_folder(tmp_path("tree"), &o, &d) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), 3);
    ck_assert_int_eq(pcl_dataset_class_count(d), 2);
    ck_assert_str_eq(pcl_dataset_class_name(d, 0), "airplane");
    float batch[3 * 3072];
    int labels[3];
    size_t idx[3] = {0, 1, 2};
    ck_assert_int_eq(pcl_dataset_read_batch(d, idx, 3, PCL_LAYOUT_HWC, batch, 3 * 3072, labels), PCL_OK);
    ck_assert_int_eq(labels[0], 0);
    ck_assert_int_eq(labels[1], 1);
    ck_assert_int_eq(labels[2], 1);
    pcl_image *ref = NULL;
    ck_assert_int_eq(pcl_image_read(DATA "/CIFAR10/test_jpeg/cat/0001.jpg", &ref), PCL_OK);
    for (int i = 0; i < 3072; i++) ck_assert_float_eq(batch[2 * 3072 + i], ref->data[i]);
    pcl_image_destroy(ref);
    pcl_dataset_destroy(d);

    /* a 33x32 image in a fixed-size corpus: the batch holding it fails whole */
    pcl_image *odd = NULL;
    ck_assert_int_eq(pcl_image_create(&odd, 33, 32, 3), PCL_OK);
    ck_assert_int_eq(pcl_image_write_png(tmp_path("tree/cat/c.png"), odd), PCL_OK);
    pcl_image_destroy(odd);
    ck_assert_int_eq(pcl_dataset_open_folder(tmp_path("tree"), &o, &d), PCL_OK);
    for (int i = 0; i < 3 * 3072; i++) batch[i] = 1234.0f;
    size_t with_odd[2] = {1, 3};
    expect_error(pcl_dataset_read_batch(d, with_odd, 2, PCL_LAYOUT_HWC, batch, 3 * 3072, labels), PCL_ERR_FORMAT,
                 "tree/cat/c.png", "expected a 32x32 image, got 33x32");
    ck_assert_float_eq(batch[0], 1234.0f);
    pcl_dataset_destroy(d);

    /* a corrupt JPEG (truncated) in the tree */
    size_t n;
    unsigned char *jpeg = read_file(DATA "/CIFAR10/test_jpeg/cat/0002.jpg", &n);
    write_file(tmp_path("tree/cat/c.png"), jpeg, n / 2);
    free(jpeg);
    ck_assert_int_eq(pcl_dataset_open_folder(tmp_path("tree"), &o, &d), PCL_OK);
    size_t three = 3;
    pcl_status st = pcl_dataset_read_batch(d, &three, 1, PCL_LAYOUT_HWC, batch, 3072, labels);
    expect_error(st, PCL_ERR_FORMAT, "c.png", NULL);
    pcl_dataset_destroy(d);

    /* expected class folders: a missing one and an unexpected one */
    static const char *const classes[3] = {"airplane", "cat", "dog"};
    o.class_names = classes;
    o.class_count = 3;
    expect_error(pcl_dataset_open_folder(tmp_path("tree"), &o, &d), PCL_ERR_FORMAT, "tree", "class folder 'dog'");
    o.class_count = 1;
    expect_error(pcl_dataset_open_folder(tmp_path("tree"), &o, &d), PCL_ERR_FORMAT, "tree/cat", "got 'cat'");
    /* an empty folder */
    mkdir(tmp_path("empty"), 0755);
    expect_error(pcl_dataset_open_folder(tmp_path("empty"), NULL, &d), PCL_ERR_FORMAT, "empty", "found none");
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(cifar_png_folders)
{
    if (!have_shared()) return;
    pcl_dataset *d = NULL;
    ck_assert_msg(pcl_dataset_open(PCL_CORPUS_CIFAR10_TEST_JPEG, DATA, &d) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), 10000);
    pcl_record_info info;
    ck_assert_int_eq(pcl_dataset_record_info(d, 3 * 1000 + 17, &info), PCL_OK);
    ck_assert_int_eq(info.label, 3);
    ck_assert_ptr_nonnull(strstr(info.path, "/cat/0017.jpg"));
    pcl_dataset_destroy(d);

    ck_assert_msg(pcl_dataset_open(PCL_CORPUS_CIFAR10_TRAIN200_PNG, DATA, &d) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), 200);
    for (size_t k = 0; k < 10; k++) {
        ck_assert_int_eq(pcl_dataset_record_info(d, k, &info), PCL_OK);
        ck_assert_int_eq(info.label, cifar_first_labels[k]);
    }
    ck_assert_int_eq(pcl_dataset_record_info(d, 199, &info), PCL_OK);
    ck_assert_ptr_nonnull(strstr(info.path, "/200.png"));
    ck_assert_int_eq(info.label, 0); /* 200.png,airplane */
    pcl_dataset_destroy(d);

    /* corrupted copies of labels.csv */
    mkdir(tmp_path("CIFAR10"), 0755);
    mkdir(tmp_path("CIFAR10/train_first200_png"), 0755);
    copy_file(DATA "/CIFAR10/train_first200_png/1.png", tmp_path("CIFAR10/train_first200_png/1.png"));
    copy_file(DATA "/CIFAR10/train_first200_png/2.png", tmp_path("CIFAR10/train_first200_png/2.png"));
    static const struct {
        const char *csv, *what;
    } cases[] = {
        {"1.png,frog\n2.png,truk\n", "line 2 (offset 11): expected one of the 10 class names"},
        {"1.png,frog\n2.png;truck\n", "line 2 (offset 11): expected '<file name>,<class name>'"},
        {"1.png,frog\n1.png,truck\n", "'1.png' is listed twice"},
        {"1.png,frog\n3.png,truck\n", "line 2 lists '3.png'"},
        {"1.png,frog,cat\n", "line 1 (offset 0)"},
        {"../x.png,frog\n", "line 1"},
        {"\n\n", "found none"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(tmp_path("CIFAR10/train_first200_png/labels.csv"), cases[i].csv, strlen(cases[i].csv));
        expect_error(pcl_dataset_open(PCL_CORPUS_CIFAR10_TRAIN200_PNG, tmp_root, &d), PCL_ERR_FORMAT, "labels.csv",
                     cases[i].what);
        ck_assert_ptr_null(d);
    }
    const char *ok = "1.png,frog\r\n2.png,truck";
    write_file(tmp_path("CIFAR10/train_first200_png/labels.csv"), ok, strlen(ok));
    ck_assert_msg(pcl_dataset_open(PCL_CORPUS_CIFAR10_TRAIN200_PNG, tmp_root, &d) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), 2);
    pcl_dataset_destroy(d);
}
END_TEST

START_TEST(yale_names)
{
    int s, a, e;
    ck_assert_int_eq(pcl_yale_parse_name("yaleB11_P00A+000E+00.pgm", &s, &a, &e), PCL_OK);
    ck_assert_int_eq(s, 11);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(e, 0);
    ck_assert_int_eq(pcl_yale_parse_name("yaleB39_P00A-130E+20.pgm", &s, &a, &e), PCL_OK);
    ck_assert_int_eq(s, 39);
    ck_assert_int_eq(a, -130);
    ck_assert_int_eq(e, 20);
    ck_assert_int_eq(pcl_yale_parse_name("yaleB01_P00A+035E-40.pgm", &s, &a, &e), PCL_OK);
    ck_assert_int_eq(e, -40);
    static const char *const bad[] = {
        "yaleB11_P00A+000E+0.pgm", "yaleB11_P00A000E+00.pgm", "yaleB1_P00A+000E+00.pgm",  "yaleB11_P00A+000E+00.pgm.bad",
        "yaleB11_P00_Ambient.pgm", "yaleB00_P00A+000E+00.pgm", "yaleB11_P00A+200E+00.pgm", "yaleB11_P00A+000E+95.pgm",
        "",                        "yaleB11_P00A+000E+00.PGMx",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(pcl_yale_parse_name(bad[i], &s, &a, &e), PCL_ERR_FORMAT, bad[i], "expected a name yaleBnn");
}
END_TEST

/* The P5 pixels of a Yale file, parsed here independently of the PNM reader. */
static void yale_raw(const char *path, unsigned char *pixels)
{
    size_t n;
    unsigned char *data = read_file(path, &n);
    static const char header[] = "P5\n168 192\n255\n";
    ck_assert_uint_eq(n, strlen(header) + 168 * 192);
    ck_assert_int_eq(memcmp(data, header, strlen(header)), 0);
    memcpy(pixels, data + strlen(header), 168 * 192);
    free(data);
}

START_TEST(yale_cropped)
{
    if (!have_shared()) return;
    pcl_dataset *d = NULL;
    ck_assert_msg(pcl_dataset_open(PCL_CORPUS_YALE_CROPPED, DATA, &d) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), 2414);
    ck_assert_int_eq(pcl_dataset_class_count(d), 38);
    ck_assert_str_eq(pcl_dataset_class_name(d, 13), "yaleB15"); /* no yaleB14 */
    size_t per_class[38] = {0};
    pcl_record_info info;
    for (size_t i = 0; i < 2414; i++) {
        ck_assert_int_eq(pcl_dataset_record_info(d, i, &info), PCL_OK);
        per_class[info.label]++;
        ck_assert(info.azimuth >= -130 && info.azimuth <= 130 && info.elevation >= -40 && info.elevation <= 90);
    }
    ck_assert_uint_eq(per_class[10], 60); /* yaleB11 */
    ck_assert_uint_eq(per_class[11], 59); /* yaleB12 */
    ck_assert_uint_eq(per_class[0], 64);
    ck_assert_int_eq(pcl_dataset_record_info(d, 0, &info), PCL_OK);
    ck_assert_str_eq(strrchr(info.path, '/') + 1, "yaleB01_P00A+000E+00.pgm");
    ck_assert_int_eq(info.subject, 1);
    size_t idx[2] = {0, 2413};
    float *batch = malloc(2 * 168 * 192 * sizeof *batch);
    int labels[2];
    ck_assert_int_eq(pcl_dataset_read_batch(d, idx, 2, PCL_LAYOUT_CHW, batch, 2 * 168 * 192, labels), PCL_OK);
    ck_assert_int_eq(labels[1], 37);
    unsigned char raw[168 * 192];
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(pcl_dataset_record_info(d, idx[k], &info), PCL_OK);
        yale_raw(info.path, raw);
        for (int p = 0; p < 168 * 192; p++) ck_assert_float_eq(batch[k * 168 * 192 + p], raw[p]);
    }
    free(batch);
    pcl_dataset_destroy(d);

    /* a copy of one subject with the files the reader must skip or refuse */
    mkdir(tmp_path("yale"), 0755);
    mkdir(tmp_path("yale/yaleB02"), 0755);
    copy_file(DATA "/CroppedYale/yaleB02/yaleB02_P00A+000E+00.pgm", tmp_path("yale/yaleB02/yaleB02_P00A+000E+00.pgm"));
    copy_file(DATA "/CroppedYale/yaleB02/yaleB02_P00A+000E+00.pgm", tmp_path("yale/yaleB02/yaleB02_P00_Ambient.pgm"));
    copy_file(DATA "/CroppedYale/yaleB02/yaleB02_P00A+000E+00.pgm",
              tmp_path("yale/yaleB02/yaleB02_P00A+010E+00.pgm.bad"));
    write_file(tmp_path("yale/yaleB02/yaleB02_P00.info"), "x\n", 2);
    write_file(tmp_path("yale/WS_FTP.LOG"), "x\n", 2);
    ck_assert_msg(pcl_dataset_open_yale(tmp_path("yale"), &d) == PCL_OK, "%s", pcl_last_error());
    ck_assert_uint_eq(pcl_dataset_count(d), 1);
    pcl_dataset_destroy(d);
    /* a wrong-size image: refused when read */
    pcl_image *small = NULL;
    ck_assert_int_eq(pcl_image_create(&small, 168, 191, 1), PCL_OK);
    ck_assert_int_eq(pcl_image_write_pnm(tmp_path("yale/yaleB02/yaleB02_P00A+000E+00.pgm"), small), PCL_OK);
    pcl_image_destroy(small);
    ck_assert_int_eq(pcl_dataset_open_yale(tmp_path("yale"), &d), PCL_OK);
    pcl_image *im = NULL;
    expect_error(pcl_dataset_read_image(d, 0, &im, NULL), PCL_ERR_FORMAT, "yaleB02_P00A+000E+00.pgm",
                 "expected a 168x192 image, got 168x191");
    ck_assert_ptr_null(im);
    pcl_dataset_destroy(d);
    /* unparsable name, subject mismatch, bad folder */
    write_file(tmp_path("yale/yaleB02/yaleB02_P00A+00E+00.pgm"), "P5", 2);
    expect_error(pcl_dataset_open_yale(tmp_path("yale"), &d), PCL_ERR_FORMAT, "yale/yaleB02/yaleB02_P00A+00E+00.pgm",
                 "expected a name yaleBnn");
    ck_assert_ptr_null(d);
    ck_assert_int_eq(rename(tmp_path("yale/yaleB02/yaleB02_P00A+00E+00.pgm"),
                            tmp_path("yale/yaleB02/yaleB03_P00A+000E+00.pgm")), 0);
    expect_error(pcl_dataset_open_yale(tmp_path("yale"), &d), PCL_ERR_FORMAT, "yaleB03_P00A+000E+00.pgm",
                 "expected subject 02 (its folder), the name says 03");
    remove(tmp_path("yale/yaleB02/yaleB03_P00A+000E+00.pgm"));
    mkdir(tmp_path("yale/faces"), 0755);
    expect_error(pcl_dataset_open_yale(tmp_path("yale"), &d), PCL_ERR_FORMAT, "yale/faces", "yaleBnn only");
}
END_TEST

START_TEST(splits_and_shuffles)
{
    /* reference permutations from a Python splitmix64 + rejection + Fisher-Yates */
    static const size_t ref42[10] = {0, 9, 5, 8, 6, 4, 7, 2, 1, 3};
    static const size_t ref0[10] = {6, 3, 2, 9, 8, 1, 4, 7, 0, 5};
    size_t p[10];
    ck_assert_int_eq(pcl_permutation(p, 10, 42), PCL_OK);
    for (int i = 0; i < 10; i++) ck_assert_uint_eq(p[i], ref42[i]);
    ck_assert_int_eq(pcl_permutation(p, 10, 0), PCL_OK);
    for (int i = 0; i < 10; i++) ck_assert_uint_eq(p[i], ref0[i]);
    uint64_t state = 0;
    ck_assert_uint_eq(pcl_rng_next(&state), 0xE220A8397B1DCDAFull); /* splitmix64(0), published value */

    /* 60/20/20 of the 2,414 Yale images: 1448.4 / 482.8 / 482.8 -> 1448 / 483 / 483 */
    size_t sizes[3];
    const double f[3] = {0.6, 0.2, 0.2};
    ck_assert_int_eq(pcl_split_sizes(2414, f, 3, sizes), PCL_OK);
    ck_assert_uint_eq(sizes[0], 1448);
    ck_assert_uint_eq(sizes[1], 483);
    ck_assert_uint_eq(sizes[2], 483);
    const double thirds[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    ck_assert_int_eq(pcl_split_sizes(10, thirds, 3, sizes), PCL_OK);
    ck_assert_uint_eq(sizes[0] + sizes[1] + sizes[2], 10);
    ck_assert_uint_eq(sizes[0], 4); /* ties go to the earlier part */
    const double over[2] = {0.7, 0.4}, neg[2] = {1.5, -0.5}, nan2[2] = {NAN, 1.0};
    expect_error(pcl_split_sizes(10, over, 2, sizes), PCL_ERR_INVALID_ARGUMENT, NULL, "expected 1");
    expect_error(pcl_split_sizes(10, neg, 2, sizes), PCL_ERR_INVALID_ARGUMENT, NULL, "expected >= 0");
    expect_error(pcl_split_sizes(10, nan2, 2, sizes), PCL_ERR_INVALID_ARGUMENT, NULL, NULL);

    /* 48,000 / 12,000 of 60,000: disjoint, complete, deterministic, seed-dependent */
    const size_t n = 60000, parts[2] = {48000, 12000};
    size_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    unsigned char *seen = calloc(n, 1);
    ck_assert_int_eq(pcl_split(n, parts, 2, 7, a), PCL_OK);
    ck_assert_int_eq(pcl_split(n, parts, 2, 7, b), PCL_OK);
    ck_assert_int_eq(memcmp(a, b, n * sizeof *a), 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_lt(a[i], n);
        ck_assert_int_eq(seen[a[i]]++, 0);
    }
    ck_assert_int_eq(pcl_split(n, parts, 2, 8, b), PCL_OK);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += a[i] == b[i];
    ck_assert_uint_lt(same, 20); /* expected about 1 */
    const size_t too_many[2] = {48000, 12001};
    expect_error(pcl_split(n, too_many, 2, 7, a), PCL_ERR_INVALID_ARGUMENT, NULL, "more than");
    free(a);
    free(b);
    free(seen);

    /* all 6 orders of 3 items come up equally often: chi-square, 5 dof */
    size_t counts[6] = {0};
    for (uint64_t seed = 0; seed < 60000; seed++) {
        size_t q[3] = {0, 1, 2};
        ck_assert_int_eq(pcl_shuffle(q, 3, seed * 0x9E3779B97F4A7C15ull + 1), PCL_OK);
        counts[q[0] * 2 + (q[1] > q[2])]++;
    }
    double chi = 0;
    for (int i = 0; i < 6; i++) chi += (counts[i] - 10000.0) * (counts[i] - 10000.0) / 10000.0;
    ck_assert_msg(chi < 20.5, "chi-square %g over 6 orders (p < 0.001 bound 20.5)", chi); /* 5 dof, p = 0.001 */
}
END_TEST

START_TEST(scaling)
{
    float v[5] = {0.0f, 255.0f, 127.5f, 51.0f, 1.0f};
    ck_assert_int_eq(pcl_dataset_scale(v, 5, 255.0f, PCL_RANGE_SIGNED), PCL_OK);
    ck_assert_float_eq(v[0], -1.0f);
    ck_assert_float_eq(v[1], 1.0f);
    ck_assert_float_eq(v[2], 0.0f);
    ck_assert_float_eq(v[3], (float)(2.0 * 51.0 / 255.0 - 1.0)); /* -0.6 */
    ck_assert_float_eq(v[4], (float)(2.0 / 255.0 - 1.0));
    float u[3] = {0.0f, 255.0f, 51.0f};
    ck_assert_int_eq(pcl_dataset_scale(u, 3, 255.0f, PCL_RANGE_UNIT), PCL_OK);
    ck_assert_float_eq(u[0], 0.0f);
    ck_assert_float_eq(u[1], 1.0f);
    ck_assert_float_eq(u[2], 0.2f); /* 51/255 = 0.2 exactly, rounded once */
    float w[3] = {1.0f, NAN, 3.0f};
    expect_error(pcl_dataset_scale(w, 3, 255.0f, PCL_RANGE_UNIT), PCL_ERR_INVALID_ARGUMENT, NULL, "value 1");
    ck_assert_float_eq(w[0], 1.0f); /* untouched */
    expect_error(pcl_dataset_scale(u, 3, 0.0f, PCL_RANGE_UNIT), PCL_ERR_INVALID_ARGUMENT, NULL, "max_value");
}
END_TEST

START_TEST(corpus_check_reports)
{
    if (!have_shared()) return;
    pcl_corpus_report r;
    ck_assert_int_eq(pcl_corpus_check(PCL_CORPUS_SET14, DATA, 0, &r), PCL_OK);
    ck_assert(r.present && r.complete);
    ck_assert_uint_eq(r.records, 14);
    ck_assert_int_eq(pcl_corpus_check(PCL_CORPUS_CIFAR10_TRAIN_BIN, DATA, 0, &r), PCL_OK);
    ck_assert_int_eq(r.present, 0);
    /* PERCEPTCL_DATA is the default root */
    setenv("PERCEPTCL_DATA", DATA, 1);
    ck_assert_int_eq(pcl_corpus_check(PCL_CORPUS_SET5, NULL, 1, &r), PCL_OK);
    ck_assert(r.present && r.complete);
    unsetenv("PERCEPTCL_DATA");
    expect_error(pcl_corpus_check(PCL_CORPUS_SET5, NULL, 0, &r), PCL_ERR_INVALID_ARGUMENT, NULL, "PERCEPTCL_DATA");

    /* one CIFAR batch of the right size and one short one: present, incomplete */
    mkdir(tmp_path("cifar-10-batches-bin"), 0755);
    int fd = open(tmp_path("cifar-10-batches-bin/data_batch_1.bin"), O_CREAT | O_WRONLY, 0644);
    ck_assert_int_eq(ftruncate(fd, 30730000), 0);
    close(fd);
    ck_assert_int_eq(pcl_corpus_check(PCL_CORPUS_CIFAR10_TRAIN_BIN, tmp_root, 0, &r), PCL_OK);
    ck_assert(r.present && !r.complete);
    ck_assert_str_eq(r.message, "missing data_batch_2.bin");
    for (int i = 2; i <= 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "cifar-10-batches-bin/data_batch_%d.bin", i);
        fd = open(tmp_path(name), O_CREAT | O_WRONLY, 0644);
        ck_assert_int_eq(ftruncate(fd, i == 4 ? 30730000 - 3073 : 30730000), 0);
        close(fd);
    }
    ck_assert_int_eq(pcl_corpus_check(PCL_CORPUS_CIFAR10_TRAIN_BIN, tmp_root, 0, &r), PCL_OK);
    ck_assert(r.present && !r.complete);
    ck_assert_str_eq(r.message, "data_batch_4.bin: expected 30730000 bytes, got 30726927");
    /* Set5 with an image missing */
    mkdir(tmp_path("Set5"), 0755);
    copy_file(DATA "/Set5/baby.png", tmp_path("Set5/baby.png"));
    ck_assert_int_eq(pcl_corpus_check(PCL_CORPUS_SET5, tmp_root, 0, &r), PCL_OK);
    ck_assert(r.present && !r.complete);
    ck_assert_str_eq(r.message, "expected 5 images, found 1");
}
END_TEST

static Suite *datasets_suite(void)
{
    Suite *s = suite_create("datasets");
    TCase *tc = tcase_create("readers");
    tcase_add_checked_fixture(tc, make_tmp, teardown_tmp);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cifar_bin_matches_png_pixels);
    tcase_add_test(tc, cifar_bin_corrupt_refused);
    tcase_add_test(tc, stl_bin_matches_png_pixels);
    tcase_add_test(tc, tiny_images_column_major_and_streamed);
    tcase_add_test(tc, memory_formats);
    tcase_add_test(tc, sr_folders);
    tcase_add_test(tc, class_tree_and_fixed_size);
    tcase_add_test(tc, cifar_png_folders);
    tcase_add_test(tc, yale_names);
    tcase_add_test(tc, yale_cropped);
    tcase_add_test(tc, splits_and_shuffles);
    tcase_add_test(tc, scaling);
    tcase_add_test(tc, corpus_check_reports);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pcl_check_run(datasets_suite(), 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
