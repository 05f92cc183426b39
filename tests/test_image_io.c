/* Image readers and writers.
 *
 * References, all independent of the code under test:
 * - real corpora in shared/datasets: sizes and pixel values below were read
 *   with Pillow 9.4 (Debian /usr/bin/python3) at development time, e.g.
 *     python3 -c "from PIL import Image; import numpy as np;
 *                 print(np.asarray(Image.open('Set5/baby.png'))[100, 200])"
 *   and hard-coded here (a[y, x] in numpy is pixel (x, y) here). A full-corpus
 *   comparison (all 13,280 files decode to the same sizes and bytes as Pillow)
 *   was also run at development time; see the report of commit history.
 * - tests/data/ (all files): tiny files written at development time by Pillow (palette,
 *   tRNS, 16-bit gray, gray+alpha, 1-bit, gray and CMYK JPEG) or by a
 *   hand-written Python PNG encoder using only zlib (Adam7-interlaced RGB,
 *   16-bit RGB); expected values are the arrays they were made from (or
 *   Pillow's decode, for JPEG). tests/data/README.md lists them.
 * - PNM, PFM and BMP files built byte by byte here from the format specs.
 * - corrupt copies: real files truncated or with header bytes flipped. */
#include "perceptcl/image.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_run.h"

#define DATASETS PCL_SHARED_DIR "/datasets"
#define FIXTURES PCL_SOURCE_DIR "/tests/data"

static char temp_dir[256];

static const char *temp_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", temp_dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, size, f), size);
    fclose(f);
}

static unsigned char *load_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)n);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

/* True if a writer left a "<name>.tmp.<pid>" file behind in the temp folder. */
static int temp_files_left(void)
{
    DIR *dir = opendir(temp_dir);
    ck_assert_ptr_nonnull(dir);
    int found = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (strstr(e->d_name, ".tmp.")) found = 1;
    closedir(dir);
    return found;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static pcl_image *read_ok(const char *path)
{
    pcl_image *image = NULL;
    pcl_status status = pcl_image_read(path, &image);
    ck_assert_msg(status == PCL_OK, "%s: %s", pcl_status_name(status), pcl_last_error());
    ck_assert_ptr_nonnull(image);
    return image;
}

static float px(const pcl_image *image, int x, int y, int c)
{
    return image->data[((size_t)y * (size_t)image->width + (size_t)x) * (size_t)image->channels + (size_t)c];
}

/* Pixel (x, y) equals the given values exactly (NaN fails ==). */
static void expect_pixel(const pcl_image *image, int x, int y, const int *values)
{
    for (int c = 0; c < image->channels; c++)
        ck_assert_msg(px(image, x, y, c) == (float)values[c], "pixel (%d, %d) channel %d: expected %d, got %g", x,
                      y, c, values[c], (double)px(image, x, y, c));
}

static void expect_format_error(const char *path, const char *why)
{
    pcl_image *image = (pcl_image *)0x1; /* must be reset to NULL */
    pcl_status status = pcl_image_read(path, &image);
    ck_assert_msg(status == PCL_ERR_FORMAT, "%s (%s): expected PCL_ERR_FORMAT, got %s: %s", path, why,
                  pcl_status_name(status), pcl_last_error());
    ck_assert_ptr_null(image);
    const char *message = pcl_last_error();
    ck_assert_msg(strstr(message, path) != NULL, "message lacks the path: %s", message);
    ck_assert_msg(strstr(message, "offset") || strstr(message, "row") || strstr(message, "header"),
                  "message names no offset, row or header: %s", message);
    ck_assert_msg(strchr(message, '\n') == NULL, "message is not one line: %s", message);
}

/* ---- real corpora ---------------------------------------------------------- */

static int have_datasets;

#define REQUIRE_DATASETS()                                                                 \
    do {                                                                                   \
        if (!have_datasets) {                                                              \
            printf("SKIP %s: %s is absent\n", __func__, DATASETS);                         \
            return;                                                                        \
        }                                                                                  \
    } while (0)

START_TEST(set5_png_rgb)
{
    REQUIRE_DATASETS();
    pcl_image *im = read_ok(DATASETS "/Set5/baby.png");
    ck_assert_int_eq(im->width, 512);
    ck_assert_int_eq(im->height, 512);
    ck_assert_int_eq(im->channels, 3);
    ck_assert_float_eq(im->max_value, 255.0f);
    expect_pixel(im, 0, 0, (int[]){252, 254, 251});
    expect_pixel(im, 200, 100, (int[]){228, 165, 128});
    expect_pixel(im, 511, 511, (int[]){65, 74, 57});
    pcl_image_destroy(im);
}
END_TEST

START_TEST(set14_bridge_gray_png)
{
    REQUIRE_DATASETS();
    pcl_image *im = read_ok(DATASETS "/Set14/bridge.png");
    ck_assert_int_eq(im->width, 512);
    ck_assert_int_eq(im->height, 512);
    ck_assert_int_eq(im->channels, 1);
    expect_pixel(im, 0, 0, (int[]){93});
    expect_pixel(im, 100, 256, (int[]){223});
    expect_pixel(im, 511, 511, (int[]){0});
    pcl_image_destroy(im);
}
END_TEST

START_TEST(bsd100_jpeg)
{
    REQUIRE_DATASETS();
    /* Pillow decodes with the same libjpeg-turbo defaults (islow IDCT, fancy upsampling). */
    pcl_image *im = read_ok(DATASETS "/BSD100/101085.jpg");
    ck_assert_int_eq(im->width, 321);
    ck_assert_int_eq(im->height, 481);
    ck_assert_int_eq(im->channels, 3);
    expect_pixel(im, 0, 0, (int[]){201, 200, 196});
    expect_pixel(im, 160, 240, (int[]){65, 76, 70});
    expect_pixel(im, 320, 480, (int[]){158, 177, 147});
    pcl_image_destroy(im);
}
END_TEST

START_TEST(t91_bmp)
{
    REQUIRE_DATASETS();
    pcl_image *im = read_ok(DATASETS "/T91/t1.bmp");
    ck_assert_int_eq(im->width, 197); /* odd width: rows carry 1 padding byte */
    ck_assert_int_eq(im->height, 176);
    ck_assert_int_eq(im->channels, 3);
    expect_pixel(im, 0, 0, (int[]){140, 49, 142});
    expect_pixel(im, 100, 50, (int[]){204, 182, 158});
    expect_pixel(im, 196, 175, (int[]){213, 168, 207});
    pcl_image_destroy(im);
}
END_TEST

START_TEST(yale_pgm)
{
    REQUIRE_DATASETS();
    pcl_image *im = read_ok(DATASETS "/CroppedYale/yaleB01/yaleB01_P00A+000E+00.pgm");
    ck_assert_int_eq(im->width, 168);
    ck_assert_int_eq(im->height, 192);
    ck_assert_int_eq(im->channels, 1);
    expect_pixel(im, 0, 0, (int[]){80});
    expect_pixel(im, 84, 96, (int[]){137});
    expect_pixel(im, 167, 191, (int[]){11});
    pcl_image_destroy(im);
}
END_TEST

START_TEST(stl10_rgba_png)
{
    REQUIRE_DATASETS();
    pcl_image *im = read_ok(DATASETS "/STL10/test_examples10/original_airplane_4599.png");
    ck_assert_int_eq(im->width, 96);
    ck_assert_int_eq(im->height, 96);
    ck_assert_int_eq(im->channels, 4);
    expect_pixel(im, 0, 0, (int[]){80, 132, 190, 255});
    expect_pixel(im, 48, 48, (int[]){132, 143, 159, 255});
    expect_pixel(im, 95, 95, (int[]){83, 131, 191, 255});
    pcl_image_destroy(im);
}
END_TEST

/* ---- small fixture files ------------------------------------------------------ */

static void expect_all(const pcl_image *im, int w, int h, int ch, const int *values)
{
    ck_assert_int_eq(im->width, w);
    ck_assert_int_eq(im->height, h);
    ck_assert_int_eq(im->channels, ch);
    for (int i = 0; i < w * h * ch; i++)
        ck_assert_msg(im->data[i] == (float)values[i], "sample %d: expected %d, got %g", i, values[i],
                      (double)im->data[i]);
}

START_TEST(png_variants)
{
    pcl_image *im = read_ok(FIXTURES "/png_palette.png");
    expect_all(im, 5, 3, 3,
               (int[]){0,   0,  255, 10, 20, 30, 0,  0,  255, 0,   0,  255, 10,  20, 30, 0,   0,  255, 255, 0,  0,  10,
                       20,  30, 10,  20, 30, 0,  0,  255, 10, 20,  30, 255, 0,  0,   255, 0,  0,   255, 0,   0,  10, 20,
                       30});
    pcl_image_destroy(im);

    im = read_ok(FIXTURES "/png_palette_trns.png"); /* tRNS becomes an alpha channel */
    expect_all(im, 5, 3, 4,
               (int[]){0,  0,   255, 0,   10,  20,  30, 255, 0,  0,  255, 0,  0,  0,  255, 0,  10, 20,  30, 255,
                       0,  0,   255, 0,   255, 0,   0,  255, 10, 20, 30,  255, 10, 20, 30, 255, 0,  0,  255, 0,
                       10, 20,  30,  255, 255, 0,   0,  255, 255, 0,  0,   255, 255, 0,  0,  255, 10, 20,  30, 255});
    pcl_image_destroy(im);

    im = read_ok(FIXTURES "/png_gray16.png");
    expect_all(im, 5, 3, 1,
               (int[]){0, 1, 255, 256, 65535, 1000, 2000, 30000, 40000, 50000, 7, 77, 777, 7777, 65534});
    ck_assert_float_eq(im->max_value, 65535.0f);
    pcl_image_destroy(im);

    im = read_ok(FIXTURES "/png_gray_alpha.png");
    expect_all(im, 5, 3, 2,
               (int[]){120, 155, 180, 105, 120, 155, 120, 155, 180, 105, 120, 155, 0,   255, 180,
                       105, 180, 105, 120, 155, 180, 105, 0,   255, 0,   255, 0,   255, 180, 105});
    pcl_image_destroy(im);

    im = read_ok(FIXTURES "/png_1bit.png"); /* 1-bit gray scales to 0/255 */
    expect_all(im, 5, 3, 1, (int[]){0, 255, 0, 0, 255, 0, 0, 255, 255, 0, 255, 0, 0, 0, 255});
    pcl_image_destroy(im);

    im = read_ok(FIXTURES "/png_rgb16.png");
    expect_all(im, 4, 3, 3,
               (int[]){47663, 244,   14953, 40471, 525,   54398, 35813, 43495, 49899, 10122, 17181, 34983,
                       25429, 17537, 26347, 63235, 29362, 57693, 58911, 12204, 42632, 33409, 38790, 61587,
                       54954, 55518, 28177, 46394, 33046, 41924, 65140, 2759,  45928, 48612, 11209, 31032});
    pcl_image_destroy(im);

    im = read_ok(FIXTURES "/png_rgb_interlaced.png"); /* Adam7 */
    ck_assert_int_eq(im->width, 11);
    ck_assert_int_eq(im->height, 9);
    expect_pixel(im, 0, 0, (int[]){139, 74, 229});
    expect_pixel(im, 7, 4, (int[]){121, 77, 87});
    expect_pixel(im, 10, 8, (int[]){153, 94, 63});
    double sum = 0.0;
    for (size_t i = 0; i < pcl_image_size(im); i++) sum += im->data[i];
    ck_assert_double_eq(sum, 36558.0);
    pcl_image_destroy(im);
}
END_TEST

START_TEST(jpeg_gray_and_cmyk)
{
    pcl_image *im = read_ok(FIXTURES "/jpeg_gray.jpg");
    ck_assert_int_eq(im->width, 64);
    ck_assert_int_eq(im->height, 48);
    ck_assert_int_eq(im->channels, 1);
    expect_pixel(im, 0, 0, (int[]){0});
    expect_pixel(im, 20, 10, (int[]){147});
    expect_pixel(im, 63, 47, (int[]){255});
    double sum = 0.0;
    for (size_t i = 0; i < pcl_image_size(im); i++) sum += im->data[i];
    ck_assert_double_eq(sum, 391626.0); /* Pillow's decode, summed */
    pcl_image_destroy(im);

    expect_format_error(FIXTURES "/jpeg_cmyk.jpg", "CMYK");
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "CMYK"));
}
END_TEST

/* ---- PNM / PFM built by hand ------------------------------------------------------ */

START_TEST(pnm_ascii_and_binary)
{
    const char *p2 = "P2\n# a comment\n3 2\n# another\n9\n0 1 2\n3 4 9\n";
    write_bytes(temp_path("a.pgm"), p2, strlen(p2));
    pcl_image *im = read_ok(temp_path("a.pgm"));
    expect_all(im, 3, 2, 1, (int[]){0, 1, 2, 3, 4, 9});
    ck_assert_float_eq(im->max_value, 9.0f);
    pcl_image_destroy(im);

    const char *p3 = "P3 2 1 255  255 0 10   1 2 3";
    write_bytes(temp_path("a.ppm"), p3, strlen(p3));
    im = read_ok(temp_path("a.ppm"));
    expect_all(im, 2, 1, 3, (int[]){255, 0, 10, 1, 2, 3});
    pcl_image_destroy(im);

    unsigned char p5[] = {'P', '5', '\n', '2', ' ', '2', '\n', '2', '5', '5', '\n', 0, 128, 255, 7};
    write_bytes(temp_path("b.pgm"), p5, sizeof p5);
    im = read_ok(temp_path("b.pgm"));
    expect_all(im, 2, 2, 1, (int[]){0, 128, 255, 7});
    pcl_image_destroy(im);

    /* maxval > 255: two bytes per sample, most significant first. */
    unsigned char p5w[] = {'P', '5', ' ', '2', ' ', '1', ' ', '1', '0', '0', '0', '\n', 0x03, 0xE8, 0x01, 0x02};
    write_bytes(temp_path("c.pgm"), p5w, sizeof p5w);
    im = read_ok(temp_path("c.pgm"));
    expect_all(im, 2, 1, 1, (int[]){1000, 258});
    ck_assert_float_eq(im->max_value, 1000.0f);
    pcl_image_destroy(im);

    unsigned char p6[] = {'P', '6', '\n', '1', ' ', '2', '\n', '2', '5', '5', '\n', 1, 2, 3, 4, 5, 6};
    write_bytes(temp_path("d.ppm"), p6, sizeof p6);
    im = read_ok(temp_path("d.ppm"));
    expect_all(im, 1, 2, 3, (int[]){1, 2, 3, 4, 5, 6});
    pcl_image_destroy(im);

    /* Sample above maxval and a short ASCII raster are corrupt. */
    const char *over = "P2 2 1 9 3 10";
    write_bytes(temp_path("e.pgm"), over, strlen(over));
    expect_format_error(temp_path("e.pgm"), "sample > maxval");
    const char *short_ascii = "P2 2 2 9 3 1 2";
    write_bytes(temp_path("f.pgm"), short_ascii, strlen(short_ascii));
    expect_format_error(temp_path("f.pgm"), "short ASCII");
}
END_TEST

static void put_float(unsigned char *dst, float v, int little_endian)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    for (int b = 0; b < 4; b++) dst[little_endian ? b : 3 - b] = (unsigned char)(bits >> (8 * b));
}

START_TEST(pfm_endianness_and_row_order)
{
    /* 2x2 gray; file rows run bottom to top. Scale -1: little endian. */
    const float top[2] = {1.5f, -2.25f}, bottom[2] = {1e-30f, 3.0e30f};
    for (int le = 0; le <= 1; le++) {
        unsigned char file[64];
        int n = sprintf((char *)file, "Pf\n2 2\n%s\n", le ? "-1.0" : "1.0");
        put_float(file + n + 0, bottom[0], le);
        put_float(file + n + 4, bottom[1], le);
        put_float(file + n + 8, top[0], le);
        put_float(file + n + 12, top[1], le);
        write_bytes(temp_path("g.pfm"), file, (size_t)n + 16);
        pcl_image *im = read_ok(temp_path("g.pfm"));
        ck_assert_int_eq(im->channels, 1);
        ck_assert_float_eq(px(im, 0, 0, 0), top[0]);
        ck_assert_float_eq(px(im, 1, 0, 0), top[1]);
        ck_assert_float_eq(px(im, 0, 1, 0), bottom[0]);
        ck_assert_float_eq(px(im, 1, 1, 0), bottom[1]);
        pcl_image_destroy(im);
        /* One byte short of the raster. */
        write_bytes(temp_path("g.pfm"), file, (size_t)n + 15);
        expect_format_error(temp_path("g.pfm"), "short PFM");
    }
    const char *zero_scale = "PF\n1 1\n0\n............";
    write_bytes(temp_path("h.pfm"), zero_scale, strlen(zero_scale));
    expect_format_error(temp_path("h.pfm"), "zero scale");
}
END_TEST

/* ---- BMP built by hand ----------------------------------------------------------- */

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int b = 0; b < 4; b++) p[b] = (unsigned char)(v >> (8 * b));
}

/* BITMAPFILEHEADER + 40-byte BITMAPINFOHEADER + palette + rows (already padded). */
static size_t make_bmp(unsigned char *out, int width, int height, int bpp, uint32_t compression,
                       const unsigned char *palette, int colors, const unsigned char *rows, size_t row_bytes)
{
    size_t offset = 14 + 40 + (size_t)colors * 4;
    size_t size = offset + row_bytes;
    memset(out, 0, offset);
    out[0] = 'B';
    out[1] = 'M';
    put32(out + 2, (uint32_t)size);
    put32(out + 10, (uint32_t)offset);
    put32(out + 14, 40);
    put32(out + 18, (uint32_t)width);
    put32(out + 22, (uint32_t)height);
    put16(out + 26, 1);
    put16(out + 28, (unsigned)bpp);
    put32(out + 30, compression);
    put32(out + 46, (uint32_t)colors);
    if (colors) memcpy(out + 54, palette, (size_t)colors * 4);
    memcpy(out + offset, rows, row_bytes);
    return size;
}

START_TEST(bmp_variants)
{
    unsigned char file[512];
    /* 24-bit, 3x2, bottom-up: stored rows are bottom then top, BGR, padded to 12 bytes. */
    const unsigned char rows24[] = {
        /* bottom row (y = 1) */ 3, 2, 1, 6, 5, 4, 9, 8, 7, 0, 0, 0,
        /* top row (y = 0) */ 30, 20, 10, 60, 50, 40, 90, 80, 70, 0, 0, 0};
    size_t n = make_bmp(file, 3, 2, 24, 0, NULL, 0, rows24, sizeof rows24);
    write_bytes(temp_path("a.bmp"), file, n);
    pcl_image *im = read_ok(temp_path("a.bmp"));
    expect_all(im, 3, 2, 3, (int[]){10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    pcl_image_destroy(im);

    /* The same rows with a negative height: top-down, the first stored row is y = 0. */
    n = make_bmp(file, 3, -2, 24, 0, NULL, 0, rows24, sizeof rows24);
    write_bytes(temp_path("b.bmp"), file, n);
    im = read_ok(temp_path("b.bmp"));
    expect_all(im, 3, 2, 3, (int[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90});
    pcl_image_destroy(im);

    /* 8-bit paletted, colour palette (B, G, R, 0 entries): 3 channels. */
    const unsigned char palette[] = {0, 0, 255, 0, /**/ 0, 255, 0, 0, /**/ 12, 34, 56, 0};
    const unsigned char rows8[] = {2, 1, 0, 0, /* bottom */ 0, 1, 2, 0 /* top */};
    n = make_bmp(file, 3, 2, 8, 0, palette, 3, rows8, sizeof rows8);
    write_bytes(temp_path("c.bmp"), file, n);
    im = read_ok(temp_path("c.bmp"));
    expect_all(im, 3, 2, 3, (int[]){255, 0, 0, 0, 255, 0, 56, 34, 12, 56, 34, 12, 0, 255, 0, 255, 0, 0});
    pcl_image_destroy(im);

    /* 8-bit with an all-gray palette: 1 channel. An index past the palette is corrupt. */
    const unsigned char gray_palette[] = {0, 0, 0, 0, 100, 100, 100, 0, 255, 255, 255, 0};
    n = make_bmp(file, 3, 2, 8, 0, gray_palette, 3, rows8, sizeof rows8);
    write_bytes(temp_path("d.bmp"), file, n);
    im = read_ok(temp_path("d.bmp"));
    expect_all(im, 3, 2, 1, (int[]){0, 100, 255, 255, 100, 0});
    pcl_image_destroy(im);
    const unsigned char bad_index[] = {3, 1, 0, 0, 0, 1, 2, 0};
    n = make_bmp(file, 3, 2, 8, 0, gray_palette, 3, bad_index, sizeof bad_index);
    write_bytes(temp_path("e.bmp"), file, n);
    expect_format_error(temp_path("e.bmp"), "palette index");

    /* 32-bit BI_RGB: B, G, R, padding byte; 3 channels. */
    const unsigned char rows32[] = {1, 2, 3, 99, 4, 5, 6, 99};
    n = make_bmp(file, 2, 1, 32, 0, NULL, 0, rows32, sizeof rows32);
    write_bytes(temp_path("f.bmp"), file, n);
    im = read_ok(temp_path("f.bmp"));
    expect_all(im, 2, 1, 3, (int[]){3, 2, 1, 6, 5, 4});
    pcl_image_destroy(im);

    /* RLE8 and 16-bit files are refused by name. */
    n = make_bmp(file, 3, 2, 8, 1, palette, 3, rows8, sizeof rows8);
    write_bytes(temp_path("g.bmp"), file, n);
    expect_format_error(temp_path("g.bmp"), "RLE8");
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "RLE8"));
    n = make_bmp(file, 2, 1, 16, 0, NULL, 0, rows32, sizeof rows32);
    write_bytes(temp_path("h.bmp"), file, n);
    expect_format_error(temp_path("h.bmp"), "16-bit");
}
END_TEST

START_TEST(unknown_and_missing)
{
    const char *text = "hello, not an image";
    write_bytes(temp_path("x.png"), text, strlen(text)); /* the extension does not matter */
    expect_format_error(temp_path("x.png"), "text");
    write_bytes(temp_path("empty"), "", 0);
    expect_format_error(temp_path("empty"), "empty");
    pcl_image *im = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_image_read(temp_path("does-not-exist.png"), &im), PCL_ERR_IO);
    ck_assert_ptr_null(im);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "does-not-exist.png"));
}
END_TEST

/* ---- corrupt copies of real files ---------------------------------------------- */

static void truncation_series(const char *source, const char *name)
{
    size_t size;
    unsigned char *data = load_bytes(source, &size);
    /* Offsets inside the signature, the headers, early and late image data,
     * and one byte short of the end. */
    size_t cuts[] = {1, 2, 7, 9, 20, 33, 60, 100, 300, size / 4, size / 2, size - size / 8, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] >= size) continue;
        const char *path = temp_path(name);
        write_bytes(path, data, cuts[i]);
        char why[64];
        snprintf(why, sizeof why, "truncated to %zu of %zu bytes", cuts[i], size);
        expect_format_error(path, why);
    }
    free(data);
}

static void flip_series(const char *source, const char *name, const size_t *offsets, size_t count)
{
    size_t size;
    unsigned char *data = load_bytes(source, &size);
    for (size_t i = 0; i < count; i++) {
        unsigned char *copy = malloc(size);
        memcpy(copy, data, size);
        copy[offsets[i]] ^= 0xFF;
        const char *path = temp_path(name);
        write_bytes(path, copy, size);
        char why[64];
        snprintf(why, sizeof why, "byte %zu flipped", offsets[i]);
        expect_format_error(path, why);
        free(copy);
    }
    free(data);
}

START_TEST(corrupt_png)
{
    REQUIRE_DATASETS();
    truncation_series(DATASETS "/Set5/butterfly.png", "butterfly.png");
    truncation_series(DATASETS "/STL10/test_examples10/original_airplane_4599.png", "airplane.png");
    truncation_series(FIXTURES "/png_rgb_interlaced.png", "interlaced.png");
    /* Signature, IHDR length, IHDR type, width (fails the CRC), colour type. */
    const size_t offsets[] = {1, 10, 13, 18, 25};
    flip_series(DATASETS "/Set5/butterfly.png", "butterfly.png", offsets, 5);
}
END_TEST

START_TEST(corrupt_jpeg)
{
    REQUIRE_DATASETS();
    truncation_series(DATASETS "/BSD100/101085.jpg", "101085.jpg");
    truncation_series(FIXTURES "/jpeg_gray.jpg", "gray.jpg");
    /* SOI marker, then the first marker after SOI. */
    const size_t offsets[] = {1, 2, 3};
    flip_series(DATASETS "/BSD100/101085.jpg", "101085.jpg", offsets, 3);
}
END_TEST

START_TEST(corrupt_bmp)
{
    REQUIRE_DATASETS();
    truncation_series(DATASETS "/T91/t1.bmp", "t1.bmp");
    /* Magic, DIB header size, planes, bits per pixel, compression. */
    const size_t offsets[] = {1, 14, 26, 28, 30};
    flip_series(DATASETS "/T91/t1.bmp", "t1.bmp", offsets, 5);
}
END_TEST

START_TEST(corrupt_pgm)
{
    REQUIRE_DATASETS();
    truncation_series(DATASETS "/CroppedYale/yaleB01/yaleB01_P00A+000E+00.pgm", "yale.pgm");
    /* Magic digit, first width digit, first maxval digit. */
    const size_t offsets[] = {1, 3, 11};
    flip_series(DATASETS "/CroppedYale/yaleB01/yaleB01_P00A+000E+00.pgm", "yale.pgm", offsets, 3);
}
END_TEST

/* Found by tests/fuzz/fuzz_pnm (datasets/FUZZING.md): a 24-byte ASCII PGM whose
 * header claims 3277 x 165535 samples made the reader allocate 2.2 GB before
 * reading any. Each ASCII sample needs a separator and a digit, so the header
 * must be refused as soon as it is read, naming what the file lacks (the
 * "ASCII samples" message, not the later "expected a sample, file ends"). */
START_TEST(fuzz_pnm_ascii_header_larger_than_file)
{
    static const char input[] = "P2 3277 165535 1\r\r\r\r\r\r#\n";
    const char *path = temp_path("fuzz_ascii_oom.pgm");
    write_bytes(path, input, sizeof input - 1);
    expect_format_error(path, "ASCII header claims more samples than the file holds");
    ck_assert_msg(strstr(pcl_last_error(), "expected 542458195 ASCII samples") != NULL,
                  "not refused at the header: %s", pcl_last_error());

    /* The bound is exact: 2 bytes per sample is enough (3 samples, 6 bytes). */
    static const char tight[] = "P2 3 1 9\n1 2 3";
    const char *tight_path = temp_path("fuzz_ascii_tight.pgm");
    write_bytes(tight_path, tight, sizeof tight - 1);
    pcl_image *image = read_ok(tight_path);
    const int expected[3][1] = {{1}, {2}, {3}};
    for (int x = 0; x < 3; x++) expect_pixel(image, x, 0, expected[x]);
    pcl_image_destroy(image);
}
END_TEST

/* CRC-32 of PNG chunks (ISO 3309, reflected 0xEDB88320), bit by bit. */
static uint32_t png_crc(const unsigned char *bytes, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= bytes[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

static size_t png_chunk(unsigned char *out, const char *type, const unsigned char *payload, uint32_t n)
{
    const unsigned char length[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                                     (unsigned char)n};
    memcpy(out, length, 4);
    memcpy(out + 4, type, 4);
    if (n) memcpy(out + 8, payload, n);
    uint32_t crc = png_crc(out + 4, 4 + (size_t)n);
    for (int k = 0; k < 4; k++) out[8 + n + (uint32_t)k] = (unsigned char)(crc >> (24 - 8 * k));
    return 12 + (size_t)n;
}

/* Found by probing tests/fuzz/fuzz_png with a hand-edited header (see
 * datasets/FUZZING.md): a 59-byte PNG with valid CRCs claiming 16384 x 16384
 * RGBA made the reader allocate 4 GiB of floats and 1 GiB of rows before
 * decoding a row. Deflate expands at most 1032:1, so 1 GiB of raw pixels needs
 * at least 1,040,448 bytes of file: refused at the header. */
START_TEST(fuzz_png_header_larger_than_file)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    /* width 16384, height 16384, depth 8, colour type 6 (RGBA), deflate, filter 0, no interlace */
    static const unsigned char ihdr[13] = {0, 0, 0x40, 0, 0, 0, 0x40, 0, 8, 6, 0, 0, 0};
    static const unsigned char idat[2] = {0x78, 0x9C}; /* a zlib header, then nothing */
    unsigned char file[128];
    size_t n = 0;
    memcpy(file, signature, 8);
    n = 8;
    n += png_chunk(file + n, "IHDR", ihdr, 13);
    n += png_chunk(file + n, "IDAT", idat, 2);
    n += png_chunk(file + n, "IEND", NULL, 0);
    ck_assert_uint_eq(n, 59);
    const char *path = temp_path("fuzz_png_oom.png");
    write_bytes(path, file, n);
    expect_format_error(path, "PNG header claims more pixels than deflate can expand the file to");
    ck_assert_msg(strstr(pcl_last_error(), "need at least 1040448 bytes of compressed data") != NULL,
                  "not refused at the header: %s", pcl_last_error());
}
END_TEST

/* Found by tests/fuzz/fuzz_jpeg with a hand-edited header (datasets/FUZZING.md):
 * a small JPEG whose frame header claims 16000 x 16000 made libjpeg and the
 * reader allocate ~3 GB before finding the data short. A Huffman-coded JPEG
 * spends at least one bit per 8x8 block: 4,000,000 blocks need 500,000 bytes. */
START_TEST(fuzz_jpeg_header_larger_than_file)
{
    char source[1024];
    snprintf(source, sizeof source, "%s", FIXTURES "/jpeg_gray.jpg");
    size_t size = 0;
    unsigned char *bytes = load_bytes(source, &size);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < size && !sof; i++)
        if (bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC1 || bytes[i + 1] == 0xC2)) sof = i;
    ck_assert_msg(sof != 0, "no SOF marker in %s", source);
    /* SOF: FF Cn, length (2), precision (1), height (2), width (2). */
    bytes[sof + 5] = 16000 >> 8;
    bytes[sof + 6] = 16000 & 0xFF;
    bytes[sof + 7] = 16000 >> 8;
    bytes[sof + 8] = 16000 & 0xFF;
    const char *path = temp_path("fuzz_jpeg_oom.jpg");
    write_bytes(path, bytes, size);
    free(bytes);
    expect_format_error(path, "JPEG header claims more blocks than the file has bits");
    ck_assert_msg(strstr(pcl_last_error(), "need at least 500000 bytes of coded data") != NULL,
                  "not refused at the header: %s", pcl_last_error());
}
END_TEST

/* ---- writers ------------------------------------------------------------------- */

static pcl_image *make_pattern(int w, int h, int ch)
{
    pcl_image *im;
    ck_assert_int_eq(pcl_image_create(&im, w, h, ch), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(im); i++) im->data[i] = (float)((i * 37 + 11) % 256);
    return im;
}

START_TEST(png_roundtrip)
{
    for (int ch = 1; ch <= 4; ch++) {
        pcl_image *im = make_pattern(7, 5, ch);
        const char *path = temp_path("rt.png");
        ck_assert_int_eq(pcl_image_write_png(path, im), PCL_OK);
        ck_assert(!temp_files_left());
        pcl_image *back = read_ok(path);
        ck_assert_int_eq(back->channels, ch);
        for (size_t i = 0; i < pcl_image_size(im); i++) ck_assert_float_eq(back->data[i], im->data[i]);
        pcl_image_destroy(im);
        pcl_image_destroy(back);
    }
    /* Clamping and rounding: halves go up, out-of-range values saturate. */
    pcl_image *im;
    ck_assert_int_eq(pcl_image_create(&im, 8, 1, 1), PCL_OK);
    const float in[8] = {-3.0f, 0.49999997f, 0.5f, 1.49f, 254.5f, 255.4f, 1e9f, -INFINITY};
    const int expect[8] = {0, 0, 1, 1, 255, 255, 255, 0};
    memcpy(im->data, in, sizeof in);
    ck_assert_int_eq(pcl_image_write_png(temp_path("clamp.png"), im), PCL_OK);
    pcl_image *back = read_ok(temp_path("clamp.png"));
    expect_all(back, 8, 1, 1, expect);
    pcl_image_destroy(back);
    pcl_image_destroy(im);
}
END_TEST

START_TEST(writers_atomic_on_error)
{
    pcl_image *im = make_pattern(4, 4, 3);
    const char *path = temp_path("keep.png");
    ck_assert_int_eq(pcl_image_write_png(path, im), PCL_OK);
    size_t before_size;
    unsigned char *before = load_bytes(path, &before_size);

    /* A NaN is refused; the existing file stays as it was and no temp file is left. */
    pcl_image *bad = make_pattern(4, 4, 3);
    bad->data[17] = NAN;
    ck_assert_int_eq(pcl_image_write_png(path, bad), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "NaN"));
    ck_assert_int_eq(pcl_image_write_pnm(path, bad), PCL_ERR_INVALID_ARGUMENT);
    size_t after_size;
    unsigned char *after = load_bytes(path, &after_size);
    ck_assert_uint_eq(after_size, before_size);
    ck_assert_int_eq(memcmp(before, after, before_size), 0);

    /* An unwritable destination: PCL_ERR_IO naming the path, nothing created. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.png", temp_dir);
    ck_assert_int_eq(pcl_image_write_png(missing, im), PCL_ERR_IO);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), missing));
    ck_assert_int_eq(pcl_image_write_pfm(missing, im), PCL_ERR_IO);

    /* Channel counts a format cannot hold. */
    pcl_image *two;
    ck_assert_int_eq(pcl_image_create(&two, 2, 2, 2), PCL_OK);
    ck_assert_int_eq(pcl_image_write_pnm(temp_path("two.pgm"), two), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_image_write_pfm(temp_path("two.pfm"), two), PCL_ERR_INVALID_ARGUMENT);
    ck_assert(!file_exists(temp_path("two.pgm")));
    ck_assert(!temp_files_left());

    free(before);
    free(after);
    pcl_image_destroy(two);
    pcl_image_destroy(bad);
    pcl_image_destroy(im);
}
END_TEST

START_TEST(pnm_pfm_roundtrip)
{
    pcl_image *gray = make_pattern(5, 3, 1);
    ck_assert_int_eq(pcl_image_write_pnm(temp_path("rt.pgm"), gray), PCL_OK);
    /* The exact bytes of the header, from the Netpbm spec. */
    size_t size;
    unsigned char *bytes = load_bytes(temp_path("rt.pgm"), &size);
    const char *header = "P5\n5 3\n255\n";
    ck_assert_uint_eq(size, strlen(header) + 15);
    ck_assert_int_eq(memcmp(bytes, header, strlen(header)), 0);
    ck_assert_int_eq(bytes[strlen(header) + 14], (int)gray->data[14]);
    free(bytes);
    pcl_image *back = read_ok(temp_path("rt.pgm"));
    for (size_t i = 0; i < pcl_image_size(gray); i++) ck_assert_float_eq(back->data[i], gray->data[i]);
    pcl_image_destroy(back);

    pcl_image *rgb = make_pattern(4, 3, 3);
    ck_assert_int_eq(pcl_image_write_pnm(temp_path("rt.ppm"), rgb), PCL_OK);
    back = read_ok(temp_path("rt.ppm"));
    ck_assert_int_eq(back->channels, 3);
    for (size_t i = 0; i < pcl_image_size(rgb); i++) ck_assert_float_eq(back->data[i], rgb->data[i]);
    pcl_image_destroy(back);

    /* PFM keeps float32 bit-exactly, including negatives, denormals and huge values. */
    const float specials[6] = {-1.5f, 1e-40f, 3.4e38f, -0.0f, 0.1f, 12345.678f};
    for (int i = 0; i < 6; i++) rgb->data[i] = specials[i];
    ck_assert_int_eq(pcl_image_write_pfm(temp_path("rt.pfm"), rgb), PCL_OK);
    back = read_ok(temp_path("rt.pfm"));
    ck_assert_int_eq(back->channels, 3);
    ck_assert_int_eq(memcmp(back->data, rgb->data, pcl_image_size(rgb) * sizeof(float)), 0);
    pcl_image_destroy(back);
    bytes = load_bytes(temp_path("rt.pfm"), &size);
    ck_assert_int_eq(memcmp(bytes, "PF\n4 3\n-1.0\n", 12), 0);
    /* First stored row is the bottom one (y = 2), little endian. */
    float first;
    memcpy(&first, bytes + 12, 4);
    ck_assert_float_eq(first, px(rgb, 0, 2, 0));
    free(bytes);

    pcl_image_destroy(rgb);
    pcl_image_destroy(gray);
}
END_TEST

/* ---- hostile and careless input (issue 18) -------------------------------------- */

START_TEST(pfm_non_finite_refused_naming_the_file)
{
    /* Defect 7: a NaN or infinite PFM sample went on to the metrics (which blamed
     * the other file) or came out of resize as NaN. The reader refuses it, naming
     * the file and the pixel (top-left origin: file row 0 is the bottom row). */
    const float specials[3] = {NAN, INFINITY, -INFINITY};
    const char *const words[3] = {"NaN", "infinite", "infinite"};
    for (int k = 0; k < 3; k++) {
        unsigned char file[64];
        int header = snprintf((char *)file, sizeof file, "Pf\n2 2\n-1.0\n");
        const float values[4] = {0.25f, 0.5f, 0.75f, specials[k]}; /* file order: bottom row, then top */
        for (int i = 0; i < 4; i++) put_float(file + header + 4 * i, values[i], 1);
        const char *path = temp_path("special.pfm");
        write_bytes(path, file, (size_t)header + 16);
        pcl_image *image = (pcl_image *)0x1;
        ck_assert_int_eq(pcl_image_read(path, &image), PCL_ERR_FORMAT);
        ck_assert_ptr_null(image);
        ck_assert_ptr_nonnull(strstr(pcl_last_error(), path));
        ck_assert_msg(strstr(pcl_last_error(), "pixel (1, 0) channel 0") && strstr(pcl_last_error(), words[k]),
                      "%s", pcl_last_error());
    }
    /* The shared check, on an image made in memory. */
    pcl_image *im = make_pattern(3, 2, 3);
    ck_assert_int_eq(pcl_image_check_finite("mem", im), PCL_OK);
    im->data[(1 * 3 + 2) * 3 + 1] = NAN;
    ck_assert_int_eq(pcl_image_check_finite("mem", im), PCL_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "mem: pixel (2, 1) channel 1 is NaN"));
    pcl_image_destroy(im);
}
END_TEST

START_TEST(directory_is_said_to_be_one)
{
    /* Defect 10: a directory given as an image said "got 0 bytes 00 00 00 00". */
    const char *dir = temp_path("folder.png");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    pcl_image *image = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_image_read(dir, &image), PCL_ERR_IO);
    ck_assert_ptr_null(image);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), dir));
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "is a directory"));
    ck_assert_int_eq(pcl_image_read_png(dir, &image), PCL_ERR_IO); /* the format readers too */
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "is a directory"));
    rmdir(dir);
}
END_TEST

START_TEST(pixel_limit_refuses_bombs_before_decoding)
{
    /* Defect 6: a 65 KB zero-filled 8192x8192 PNG made ssim use 3 GB. The
     * readers refuse a header over the pixel limit before decoding. */
    size_t limit = 0;
    unsetenv("PERCEPTCL_MAX_PIXELS");
    ck_assert_int_eq(pcl_image_set_max_pixels(0), PCL_OK);
    ck_assert_int_eq(pcl_image_max_pixels(&limit), PCL_OK);
    ck_assert_uint_eq(limit, (size_t)1 << 25);
    ck_assert_uint_ge(limit, (size_t)7680 * 4320); /* an 8K UHD frame fits */

    /* A real bomb: one row over 2^25 pixels of zeros, ~33 KB of PNG. */
    pcl_image *big;
    ck_assert_int_eq(pcl_image_create(&big, 8192, 4097, 1), PCL_OK);
    const char *bomb = temp_path("bomb.png");
    ck_assert_int_eq(pcl_image_write_png(bomb, big), PCL_OK);
    pcl_image_destroy(big);
    size_t size;
    free(load_bytes(bomb, &size));
    ck_assert_uint_lt(size, 200000);
    pcl_image *image = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_image_read(bomb, &image), PCL_ERR_TOO_LARGE);
    ck_assert_ptr_null(image);
    ck_assert_msg(strstr(pcl_last_error(), bomb) && strstr(pcl_last_error(), "8192x4097") &&
                      strstr(pcl_last_error(), "PERCEPTCL_MAX_PIXELS"), "%s", pcl_last_error());
    /* Raised by the environment, then by the call (which wins). */
    setenv("PERCEPTCL_MAX_PIXELS", "40000000", 1);
    image = read_ok(bomb);
    ck_assert_int_eq(image->width, 8192);
    pcl_image_destroy(image);
    setenv("PERCEPTCL_MAX_PIXELS", "lots", 1);
    ck_assert_int_eq(pcl_image_read(bomb, &image), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "PERCEPTCL_MAX_PIXELS"));
    unsetenv("PERCEPTCL_MAX_PIXELS");

    /* Every format checks it: a 3x2 image under a limit of 5 pixels. */
    ck_assert_int_eq(pcl_image_set_max_pixels(5), PCL_OK);
    pcl_image *small = make_pattern(3, 2, 3);
    const char *names[3] = {"small.png", "small.ppm", "small.pfm"};
    ck_assert_int_eq(pcl_image_write_png(temp_path(names[0]), small), PCL_OK);
    ck_assert_int_eq(pcl_image_write_pnm(temp_path(names[1]), small), PCL_OK);
    ck_assert_int_eq(pcl_image_write_pfm(temp_path(names[2]), small), PCL_OK);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(pcl_image_read(temp_path(names[k]), &image), PCL_ERR_TOO_LARGE);
        ck_assert_ptr_nonnull(strstr(pcl_last_error(), names[k]));
    }
    ck_assert_int_eq(pcl_image_set_max_pixels(6), PCL_OK);
    for (int k = 0; k < 3; k++) pcl_image_destroy(read_ok(temp_path(names[k])));
    ck_assert_int_eq(pcl_image_set_max_pixels(0), PCL_OK);
    pcl_image_destroy(small);
}
END_TEST

START_TEST(png16_keeps_the_depth)
{
    /* Defect 4's writer: 16-bit samples round-trip exactly; another maxval
     * (1023) is scaled to 65535 and rounded. */
    pcl_image *im;
    ck_assert_int_eq(pcl_image_create(&im, 5, 3, 2), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(im); i++) im->data[i] = (float)((i * 4099 + 7) % 65536);
    im->max_value = 65535.0f;
    const char *path = temp_path("deep.png");
    ck_assert_int_eq(pcl_image_write_png16(path, im), PCL_OK);
    pcl_image *back = read_ok(path);
    ck_assert_float_eq(back->max_value, 65535.0f);
    ck_assert_int_eq(back->channels, 2);
    for (size_t i = 0; i < pcl_image_size(im); i++) ck_assert_float_eq(back->data[i], im->data[i]);
    pcl_image_destroy(back);
    im->max_value = 1023.0f;
    for (size_t i = 0; i < pcl_image_size(im); i++) im->data[i] = (float)(i * 67 % 1024);
    im->data[0] = 1100.0f; /* above max_value: clamped */
    im->data[1] = -3.0f;
    ck_assert_int_eq(pcl_image_write_png16(path, im), PCL_OK);
    back = read_ok(path);
    ck_assert_float_eq(back->data[0], 65535.0f);
    ck_assert_float_eq(back->data[1], 0.0f);
    for (size_t i = 2; i < pcl_image_size(im); i++)
        ck_assert_float_eq(back->data[i], (float)floor((double)im->data[i] * 65535.0 / 1023.0 + 0.5));
    pcl_image_destroy(back);
    im->data[3] = NAN;
    ck_assert_int_eq(pcl_image_write_png16(path, im), PCL_ERR_INVALID_ARGUMENT);
    pcl_image_destroy(im);
}
END_TEST

static void remove_temp_dir(void)
{
    char command[400];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    if (temp_dir[0] && system(command) != 0) fprintf(stderr, "could not remove %s\n", temp_dir);
}

int main(void)
{
    snprintf(temp_dir, sizeof temp_dir, "%s/pcl_image_io_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(temp_dir)) {
        fprintf(stderr, "cannot create a temporary folder: %s\n", strerror(errno));
        return 1;
    }
    have_datasets = file_exists(DATASETS "/Set5/baby.png");
    if (!have_datasets) printf("SKIP: %s is absent; the tests on real corpora are skipped\n", DATASETS);

    Suite *suite = suite_create("image_io");
    TCase *corpora = tcase_create("corpora");
    tcase_add_test(corpora, set5_png_rgb);
    tcase_add_test(corpora, set14_bridge_gray_png);
    tcase_add_test(corpora, bsd100_jpeg);
    tcase_add_test(corpora, t91_bmp);
    tcase_add_test(corpora, yale_pgm);
    tcase_add_test(corpora, stl10_rgba_png);
    suite_add_tcase(suite, corpora);

    TCase *formats = tcase_create("formats");
    tcase_add_test(formats, png_variants);
    tcase_add_test(formats, jpeg_gray_and_cmyk);
    tcase_add_test(formats, pnm_ascii_and_binary);
    tcase_add_test(formats, pfm_endianness_and_row_order);
    tcase_add_test(formats, bmp_variants);
    tcase_add_test(formats, unknown_and_missing);
    suite_add_tcase(suite, formats);

    TCase *corrupt = tcase_create("corrupt");
    tcase_add_test(corrupt, corrupt_png);
    tcase_add_test(corrupt, corrupt_jpeg);
    tcase_add_test(corrupt, corrupt_bmp);
    tcase_add_test(corrupt, corrupt_pgm);
    tcase_add_test(corrupt, fuzz_pnm_ascii_header_larger_than_file);
    tcase_add_test(corrupt, fuzz_png_header_larger_than_file);
    tcase_add_test(corrupt, fuzz_jpeg_header_larger_than_file);
    suite_add_tcase(suite, corrupt);

    TCase *writers = tcase_create("writers");
    tcase_add_test(writers, png_roundtrip);
    tcase_add_test(writers, writers_atomic_on_error);
    tcase_add_test(writers, pnm_pfm_roundtrip);
    tcase_add_test(writers, png16_keeps_the_depth);

    TCase *hostile = tcase_create("hostile");
    tcase_set_timeout(hostile, 60);
    tcase_add_test(hostile, pfm_non_finite_refused_naming_the_file);
    tcase_add_test(hostile, directory_is_said_to_be_one);
    tcase_add_test(hostile, pixel_limit_refuses_bombs_before_decoding);
    suite_add_tcase(suite, hostile);
    suite_add_tcase(suite, writers);

    int failed = pcl_check_run(suite, 0);
    remove_temp_dir();
    return failed == 0 ? 0 : 1;
}
