/* Colour conversions, MATLAB-compatible bicubic resizing, crops and patches.
 *
 * References:
 * - luma and YCbCr: values derived by hand from the published formulas (the
 *   arithmetic is written out beside each check) and Pillow 9.4's
 *   convert('L') on a few pixels where its fixed-point rounding matters;
 * - ycbcr2rgb: the widely published BT.601 inverse coefficients
 *   (R = 1.164383 (Y-16) + 1.596027 (Cr-128), ...), given to 6 decimals;
 * - resize: (1) hand-derived 1-D values from the kernel of Keys (1981) with
 *   a = -0.5 and MATLAB's contributions() rule (checked with exact rational
 *   arithmetic in Python at development time); (2) ref_resize below, a direct
 *   2-D float64 sum written from the same formulas with a generic Keys 'a',
 *   reflection by repeated folding and a window wider than the support;
 *   (3) Pillow 9.4's Image.resize(BICUBIC) on mode 'F' images, which uses the
 *   same kernel, centre and antialias rule but clamps at borders, so only
 *   pixels whose support lies inside the image are compared with it. */
#include "perceptcl/color.h"
#include "perceptcl/image.h"
#include "perceptcl/resize.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_run.h"

static pcl_image *image_from(int w, int h, int ch, const float *values)
{
    pcl_image *im;
    ck_assert_int_eq(pcl_image_create(&im, w, h, ch), PCL_OK);
    memcpy(im->data, values, sizeof(float) * (size_t)w * (size_t)h * (size_t)ch);
    return im;
}

static float at(const pcl_image *im, int x, int y, int c)
{
    return im->data[((size_t)y * (size_t)im->width + (size_t)x) * (size_t)im->channels + (size_t)c];
}

/* |got - want| <= tol, and NaN fails. */
static void expect_near(double got, double want, double tol, const char *what)
{
    ck_assert_msg(fabs(got - want) <= tol, "%s: expected %.9g, got %.9g (tol %g)", what, want, got, tol);
}

/* ---- luma -------------------------------------------------------------------- */

START_TEST(luma_exact_and_pil)
{
    /* Pixels: red, green, blue, white, and three where PIL's fixed-point
     * rounding differs from rounding the exact value (values from Pillow 9.4). */
    const float rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 230, 156, 247, 188, 204, 110, 255, 228, 34};
    pcl_image *src = image_from(7, 1, 3, rgb);
    pcl_image *exact, *pil;
    ck_assert_int_eq(pcl_color_luma(src, PCL_LUMA_MODE_EXACT, &exact), PCL_OK);
    ck_assert_int_eq(pcl_color_luma(src, PCL_LUMA_MODE_PIL, &pil), PCL_OK);
    ck_assert_int_eq(exact->channels, 1);
    /* 255*0.299 = 76.245; 255*0.587 = 149.685; 255*0.114 = 29.07; sum of weights = 1. */
    const double want_exact[] = {76.245, 149.685, 29.07, 255.0,
                                 230 * 0.299 + 156 * 0.587 + 247 * 0.114, /* = 188.5 */
                                 188 * 0.299 + 204 * 0.587 + 110 * 0.114, /* = 188.5 */
                                 255 * 0.299 + 228 * 0.587 + 34 * 0.114}; /* = 213.957 */
    for (int i = 0; i < 7; i++) expect_near(exact->data[i], want_exact[i], 3e-5, "exact luma");
    /* PIL: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, e.g.
     * red: (4996725 + 32768) >> 16 = 5029493 >> 16 = 76;
     * (230,156,247): 4506850 + 6001320 + 1845337 + 32768 = 12386275 < 189*65536 = 12386304 -> 188;
     * (188,204,110): exact 188.5 too, but PIL gives 189 (Pillow 9.4);
     * (255,228,34): exact 213.957, PIL gives 214. */
    const float want_pil[] = {76, 150, 29, 255, 188, 189, 214};
    for (int i = 0; i < 7; i++) ck_assert_float_eq(pil->data[i], want_pil[i]);
    ck_assert_int_eq(pcl_color_luma_u8(128, 64, 32), 79); /* Pillow 9.4 */

    /* PIL mode refuses non-integers and out-of-range values; a NaN too. */
    pcl_image *bad = image_from(1, 1, 3, (float[]){1.5f, 2, 3}), *out = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_color_luma(bad, PCL_LUMA_MODE_PIL, &out), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    bad->data[0] = NAN;
    ck_assert_int_eq(pcl_color_luma(bad, PCL_LUMA_MODE_PIL, &out), PCL_ERR_INVALID_ARGUMENT);

    pcl_image_destroy(bad);
    pcl_image_destroy(pil);
    pcl_image_destroy(exact);
    pcl_image_destroy(src);
}
END_TEST

/* ---- YCbCr ------------------------------------------------------------------- */

START_TEST(ycbcr_matlab_values)
{
    const float rgb[] = {255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 100, 150, 200};
    pcl_image *src = image_from(5, 1, 3, rgb);
    pcl_image *f, *u8;
    ck_assert_int_eq(pcl_color_rgb_to_ycbcr(src, PCL_YCBCR_MODE_FLOAT, &f), PCL_OK);
    ck_assert_int_eq(pcl_color_rgb_to_ycbcr(src, PCL_YCBCR_MODE_ROUND_U8, &u8), PCL_OK);
    /* white: Y = 16 + (65.481 + 128.553 + 24.966) = 16 + 219 = 235; Cb = 128 + (-37.797 - 74.203 + 112) = 128;
     *        Cr = 128 + (112 - 93.786 - 18.214) = 128.
     * black: 16, 128, 128.
     * red:   Y = 16 + 65.481 = 81.481; Cb = 128 - 37.797 = 90.203; Cr = 128 + 112 = 240.
     * blue:  Y = 16 + 24.966 = 40.966; Cb = 240; Cr = 128 - 18.214 = 109.786.
     * (100,150,200): Y = 16 + (6548.1 + 19282.95 + 4993.2)/255 = 16 + 30824.25/255 = 136.8794118;
     *        Cb = 128 + (-3779.7 - 11130.45 + 22400)/255 = 128 + 7489.85/255 = 157.3719608;
     *        Cr = 128 + (11200 - 14067.9 - 3642.8)/255 = 128 - 6510.7/255 = 102.4678431. */
    const double want[] = {235, 128, 128, 16, 128, 128, 81.481, 90.203, 240, 40.966, 240, 109.786,
                           136.8794118, 157.3719608, 102.4678431};
    for (int i = 0; i < 15; i++) expect_near(f->data[i], want[i], 3e-5, "rgb2ycbcr");
    /* MATLAB on uint8 rounds: red -> [81 90 240], blue -> [41 240 110], (100,150,200) -> [137 157 102]. */
    const float want_u8[] = {235, 128, 128, 16, 128, 128, 81, 90, 240, 41, 240, 110, 137, 157, 102};
    for (int i = 0; i < 15; i++) ck_assert_float_eq(u8->data[i], want_u8[i]);

    pcl_image *y;
    ck_assert_int_eq(pcl_color_rgb_to_y(src, PCL_YCBCR_MODE_FLOAT, &y), PCL_OK);
    ck_assert_int_eq(y->channels, 1);
    for (int i = 0; i < 5; i++) ck_assert_float_eq(y->data[i], f->data[3 * i]);
    pcl_image_destroy(y);
    /* Gray input is R = G = B: Y = 16 + 219 v / 255; v = 51 -> 16 + 43.8 = 59.8. */
    pcl_image *gray = image_from(1, 1, 1, (float[]){51});
    ck_assert_int_eq(pcl_color_rgb_to_y(gray, PCL_YCBCR_MODE_FLOAT, &y), PCL_OK);
    expect_near(y->data[0], 59.8, 2e-5, "gray Y");
    pcl_image_destroy(y);
    pcl_image_destroy(gray);

    pcl_image_destroy(u8);
    pcl_image_destroy(f);
    pcl_image_destroy(src);
}
END_TEST

START_TEST(ycbcr_inverse)
{
    const float ycc[] = {235, 128, 128, 16, 128, 128, 100, 90, 200, 180, 60, 30};
    pcl_image *src = image_from(4, 1, 3, ycc);
    pcl_image *rgb;
    ck_assert_int_eq(pcl_color_ycbcr_to_rgb(src, PCL_YCBCR_MODE_FLOAT, &rgb), PCL_OK);
    for (int i = 0; i < 4; i++) {
        double y = ycc[3 * i] - 16.0, cb = ycc[3 * i + 1] - 128.0, cr = ycc[3 * i + 2] - 128.0;
        /* Published BT.601 studio-swing inverse (6 decimals): error <= 3 * 5e-7 * 219 + MATLAB's
         * small cross terms (3e-6 * 112), well under 2e-3. */
        expect_near(rgb->data[3 * i + 0], 1.164383 * y + 1.596027 * cr, 2e-3, "R");
        expect_near(rgb->data[3 * i + 1], 1.164383 * y - 0.391762 * cb - 0.812968 * cr, 2e-3, "G");
        expect_near(rgb->data[3 * i + 2], 1.164383 * y + 2.017232 * cb, 2e-3, "B");
    }
    /* White and black land on 255 and 0 exactly after rounding; out-of-gamut values clamp. */
    pcl_image *u8;
    ck_assert_int_eq(pcl_color_ycbcr_to_rgb(src, PCL_YCBCR_MODE_ROUND_U8, &u8), PCL_OK);
    for (int c = 0; c < 3; c++) {
        ck_assert_float_eq(u8->data[c], 255);
        ck_assert_float_eq(u8->data[3 + c], 0);
    }
    for (size_t i = 0; i < pcl_image_size(u8); i++) {
        ck_assert(u8->data[i] >= 0 && u8->data[i] <= 255 && u8->data[i] == floorf(u8->data[i]));
        ck_assert(fabsf(u8->data[i] - fminf(fmaxf(rgb->data[i], 0), 255)) <= 0.5f);
    }
    /* Round trip in float: RGB -> YCbCr -> RGB within float32 rounding of values near 255. */
    pcl_image *ramp;
    ck_assert_int_eq(pcl_image_create(&ramp, 64, 1, 3), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(ramp); i++) ramp->data[i] = (float)((i * 53) % 256);
    pcl_image *there, *back;
    ck_assert_int_eq(pcl_color_rgb_to_ycbcr(ramp, PCL_YCBCR_MODE_FLOAT, &there), PCL_OK);
    ck_assert_int_eq(pcl_color_ycbcr_to_rgb(there, PCL_YCBCR_MODE_FLOAT, &back), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(ramp); i++) expect_near(back->data[i], ramp->data[i], 1e-3, "round trip");

    pcl_image_destroy(back);
    pcl_image_destroy(there);
    pcl_image_destroy(ramp);
    pcl_image_destroy(u8);
    pcl_image_destroy(rgb);
    pcl_image_destroy(src);
}
END_TEST

START_TEST(split_merge_to_rgb)
{
    const float rgba[] = {1, 2, 3, 4, 5, 6, 7, 8};
    pcl_image *src = image_from(2, 1, 4, rgba);
    pcl_image *planes[4];
    ck_assert_int_eq(pcl_color_split(src, planes), PCL_OK);
    for (int c = 0; c < 4; c++) {
        ck_assert_int_eq(planes[c]->channels, 1);
        ck_assert_float_eq(planes[c]->data[0], rgba[c]);
        ck_assert_float_eq(planes[c]->data[1], rgba[4 + c]);
    }
    pcl_image *merged;
    ck_assert_int_eq(pcl_color_merge(planes, 4, &merged), PCL_OK);
    ck_assert_int_eq(memcmp(merged->data, rgba, sizeof rgba), 0);
    pcl_image *rgb;
    ck_assert_int_eq(pcl_color_to_rgb(src, &rgb), PCL_OK); /* alpha dropped */
    const float want_rgb[] = {1, 2, 3, 5, 6, 7};
    ck_assert_int_eq(memcmp(rgb->data, want_rgb, sizeof want_rgb), 0);
    pcl_image_destroy(rgb);
    ck_assert_int_eq(pcl_color_to_rgb(planes[1], &rgb), PCL_OK); /* gray replicated */
    const float want_gray[] = {2, 2, 2, 6, 6, 6};
    ck_assert_int_eq(memcmp(rgb->data, want_gray, sizeof want_gray), 0);
    pcl_image *channel = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_color_channel(src, 4, &channel), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(channel);
    pcl_image_destroy(rgb);
    pcl_image_destroy(merged);
    for (int c = 0; c < 4; c++) pcl_image_destroy(planes[c]);
    pcl_image_destroy(src);
}
END_TEST

/* ---- resize ------------------------------------------------------------------- */

/* Keys (1981) cubic convolution kernel with parameter a, as published:
 * (a+2)|x|^3 - (a+3)|x|^2 + 1 for |x| <= 1, a|x|^3 - 5a|x|^2 + 8a|x| - 4a for 1 < |x| < 2. */
static double keys(double x, double a)
{
    x = fabs(x);
    if (x <= 1.0) return (a + 2.0) * x * x * x - (a + 3.0) * x * x + 1.0;
    if (x < 2.0) return a * x * x * x - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a;
    return 0.0;
}

/* Half-sample symmetric reflection by folding: ..., 1, 0 | 0, 1, ..., n-1 | n-1, n-2, ... */
static int reflect(int i, int n)
{
    while (i < 0 || i >= n) i = i < 0 ? -1 - i : 2 * n - 1 - i;
    return i;
}

/* Weights of output o (0-based) in a dimension of length n resized by s: the
 * output pixel centre maps to u = (o + 0.5) / s - 0.5 (0-based, the same as
 * MATLAB's x/s + 0.5(1 - 1/s) in 1-based indices); downscaling with
 * antialiasing uses s*K(s*t). Window [first, first + count) covers the support. */
static int ref_weights(int o, double s, int antialias, double *w, int *first)
{
    double u = (o + 0.5) / s - 0.5;
    int stretch = antialias && s < 1.0;
    double support = stretch ? 2.0 / s : 2.0;
    int lo = (int)floor(u - support) - 2, hi = (int)ceil(u + support) + 2, count = hi - lo + 1;
    double sum = 0.0;
    for (int k = 0; k < count; k++) {
        double t = u - (lo + k);
        w[k] = stretch ? s * keys(s * t, -0.5) : keys(t, -0.5);
        sum += w[k];
    }
    for (int k = 0; k < count; k++) w[k] /= sum;
    *first = lo;
    return count;
}

/* Direct 2-D float64 sum (no separable passes). */
static double *ref_resize(const pcl_image *src, int ow, int oh, double sx, double sy, int antialias)
{
    double *out = calloc((size_t)ow * (size_t)oh * (size_t)src->channels, sizeof(double));
    double wx[512], wy[512];
    for (int oy = 0; oy < oh; oy++) {
        int fy, ny = ref_weights(oy, sy, antialias, wy, &fy);
        for (int ox = 0; ox < ow; ox++) {
            int fx, nx = ref_weights(ox, sx, antialias, wx, &fx);
            for (int c = 0; c < src->channels; c++) {
                double acc = 0.0;
                for (int j = 0; j < ny; j++)
                    for (int i = 0; i < nx; i++)
                        acc += wy[j] * wx[i] *
                               at(src, reflect(fx + i, src->width), reflect(fy + j, src->height), c);
                out[((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)src->channels + (size_t)c] = acc;
            }
        }
    }
    return out;
}

static double round_clamp_u8(double v)
{
    v = v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v;
    return floor(v + 0.5);
}

/* MATLAB's uint8 path: separable passes, smaller scale first (rows on ties),
 * each rounded and clamped. 1-channel sources only. */
static double *ref_resize_u8(const pcl_image *src, int ow, int oh, double sx, double sy)
{
    int w = src->width, h = src->height;
    double *cur = malloc(sizeof(double) * (size_t)w * (size_t)h), weights[512];
    for (int i = 0; i < w * h; i++) cur[i] = src->data[i];
    for (int pass = 0; pass < 2; pass++) {
        int rows = (pass == 0) == (sy <= sx);
        int nw = rows ? w : ow, nh = rows ? oh : h;
        double *next = malloc(sizeof(double) * (size_t)nw * (size_t)nh);
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++) {
                int first, n = ref_weights(rows ? y : x, rows ? sy : sx, 1, weights, &first);
                double acc = 0.0;
                for (int k = 0; k < n; k++)
                    acc += weights[k] * (rows ? cur[reflect(first + k, h) * w + x] : cur[y * w + reflect(first + k, w)]);
                next[y * nw + x] = round_clamp_u8(acc);
            }
        free(cur);
        cur = next;
        w = nw;
        h = nh;
    }
    return cur;
}

/* The 40x32 test pattern also given to Pillow: ((7x + 13y) mod 17) * 15 + x / 4. */
static pcl_image *pattern(int channels)
{
    pcl_image *im;
    ck_assert_int_eq(pcl_image_create(&im, 40, 32, channels), PCL_OK);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 40; x++)
            for (int c = 0; c < channels; c++)
                im->data[((size_t)y * 40 + (size_t)x) * (size_t)channels + (size_t)c] =
                    (float)(((x * 7 + y * 13 + 5 * c) % 17) * 15) + 0.25f * (float)x;
    return im;
}

START_TEST(resize_hand_values_1d)
{
    /* Row [10 20 40 80] to 8 wide (height unchanged: scale 1 is the identity,
     * since K(0) = 1 and K(+-1) = K(+-2) = 0). Output 1 (1-based): u = 1/2 + 0.5(1 - 1/2) = 0.75,
     * taps at 1-based -2..3 with distances 2.75, 1.75, 0.75, -0.25, -1.25, -2.25:
     * K = 0, -0.0234375, 0.2265625, 0.8671875, -0.0703125, 0 (sum 1); indices mirror
     * -1 -> 2, 0 -> 1: out = 1.09375 a - 0.09375 b = 10.9375 - 1.875 = 9.0625.
     * All 8 (exact rationals, Python Fraction): 9.0625 11.5625 16.5625 23.828125 33.359375
     * 49.53125 72.34375 83.75. */
    pcl_image *row = image_from(4, 1, 1, (float[]){10, 20, 40, 80}), *up;
    ck_assert_int_eq(pcl_resize_bicubic(row, 8, 1, PCL_RESIZE_DEFAULT, &up), PCL_OK);
    const double want_up[] = {9.0625, 11.5625, 16.5625, 23.828125, 33.359375, 49.53125, 72.34375, 83.75};
    for (int i = 0; i < 8; i++) expect_near(up->data[i], want_up[i], 1e-5, "upscale x2");
    pcl_image_destroy(up);
    ck_assert_int_eq(pcl_resize_bicubic(row, 8, 1, PCL_RESIZE_ROUND_U8, &up), PCL_OK);
    ck_assert_float_eq(up->data[0], 9.0f);
    ck_assert_float_eq(up->data[7], 84.0f); /* 83.75 */
    pcl_image_destroy(up);
    pcl_image_destroy(row);

    /* Row [10 20 40 0] to 2 wide. With antialiasing: h(t) = 0.5 K(t/2), width 8, u = 1.5;
     * weights over mirrored taps give out(1) = 0.546875 a + 0.3984375 b + 0.1015625 c - 0.046875 d
     * = 5.46875 + 7.96875 + 4.0625 = 17.5, and by symmetry out(2) = 17.5 as well.
     * Without: K over taps -1..4 at distances 2.5 .. -2.5: 0, -0.0625, 0.5625, 0.5625, -0.0625, 0:
     * out(1) = 0.5 a + 0.5625 b - 0.0625 c = 5 + 11.25 - 2.5 = 13.75; out(2) = 21.25. */
    row = image_from(4, 1, 1, (float[]){10, 20, 40, 0});
    pcl_image *down;
    ck_assert_int_eq(pcl_resize_bicubic(row, 2, 1, PCL_RESIZE_DEFAULT, &down), PCL_OK);
    expect_near(down->data[0], 17.5, 1e-5, "antialiased downscale");
    expect_near(down->data[1], 17.5, 1e-5, "antialiased downscale");
    pcl_image_destroy(down);
    ck_assert_int_eq(pcl_resize_bicubic(row, 2, 1, PCL_RESIZE_NO_ANTIALIAS, &down), PCL_OK);
    expect_near(down->data[0], 13.75, 1e-5, "plain downscale");
    expect_near(down->data[1], 21.25, 1e-5, "plain downscale");
    pcl_image_destroy(down);
    pcl_image_destroy(row);
}
END_TEST

/* Compares the library with ref_resize on every pixel, borders included.
 * Tolerance: values up to ~260, float32 output rounding 260 * 2^-24 ~ 2e-5,
 * plus float64 summation differences (negligible); 1e-4 leaves margin. */
static void compare_with_reference(const pcl_image *src, const pcl_image *got, double sx, double sy, int antialias)
{
    double *want = ref_resize(src, got->width, got->height, sx, sy, antialias);
    for (size_t i = 0; i < pcl_image_size(got); i++) {
        char what[96];
        snprintf(what, sizeof what, "%dx%d -> %dx%d sample %zu", src->width, src->height, got->width, got->height, i);
        expect_near(got->data[i], want[i], 1e-4, what);
    }
    free(want);
}

START_TEST(resize_matches_direct_reference)
{
    pcl_image *src = pattern(3);
    const int sizes[][2] = {{20, 16}, {120, 96}, {27, 21}, {13, 11}, {40, 32}, {41, 7}, {5, 64}, {1, 1}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int aa = 0; aa <= 1; aa++) {
            pcl_image *out;
            ck_assert_int_eq(pcl_resize_bicubic(src, sizes[k][0], sizes[k][1],
                                                aa ? PCL_RESIZE_DEFAULT : PCL_RESIZE_NO_ANTIALIAS, &out),
                             PCL_OK);
            ck_assert_int_eq(out->width, sizes[k][0]);
            ck_assert_int_eq(out->height, sizes[k][1]);
            compare_with_reference(src, out, (double)sizes[k][0] / 40.0, (double)sizes[k][1] / 32.0, aa);
            pcl_image_destroy(out);
        }
    }
    /* By scale: the output is ceil(s * size) and the kernel uses s itself
     * (1/3: 40 -> 14, 32 -> 11, weights from 1/3, not 14/40 or 11/32). */
    const double scales[] = {1.0 / 3.0, 0.5, 2.0, 3.0, 0.3, 1.7};
    for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
        pcl_image *out;
        ck_assert_int_eq(pcl_resize_bicubic_scale(src, scales[k], PCL_RESIZE_DEFAULT, &out), PCL_OK);
        ck_assert_int_eq(out->width, (int)ceil(scales[k] * 40));
        ck_assert_int_eq(out->height, (int)ceil(scales[k] * 32));
        compare_with_reference(src, out, scales[k], scales[k], 1);
        pcl_image_destroy(out);
    }
    pcl_image_destroy(src);
}
END_TEST

START_TEST(resize_matches_pillow_interior)
{
    /* Pillow 9.4: Image.fromarray(pattern, 'F').resize((w, h), Image.BICUBIC), values at pixels whose
     * kernel support lies inside the image (Pillow clamps at borders, MATLAB mirrors). */
    struct {
        int w, h, x, y;
        double v;
    } cases[] = {
        {20, 16, 2, 2, 129.754532},   {20, 16, 10, 6, 120.099899}, {20, 16, 17, 13, 128.625000},
        {20, 16, 3, 12, 107.691132},  {120, 96, 6, 6, 131.033951}, {120, 96, 60, 34, 144.361115},
        {120, 96, 113, 89, 132.481476}, {120, 96, 7, 88, 0.500000}, {27, 21, 2, 2, 152.905273},
        {27, 21, 13, 7, 122.500374},  {27, 21, 24, 18, 113.057175}, {27, 21, 3, 17, 176.071915},
    };
    pcl_image *src = pattern(1);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pcl_image *out;
        ck_assert_int_eq(pcl_resize_bicubic(src, cases[k].w, cases[k].h, PCL_RESIZE_DEFAULT, &out), PCL_OK);
        /* Pillow prints 6 decimals and keeps a float32 intermediate: 1e-4 covers both. */
        expect_near(at(out, cases[k].x, cases[k].y, 0), cases[k].v, 1e-4, "Pillow interior");
        pcl_image_destroy(out);
    }
    pcl_image_destroy(src);
}
END_TEST

START_TEST(resize_round_u8_and_constants)
{
    /* A constant stays constant (weights sum to 1), any size, any mode. */
    pcl_image *flat;
    ck_assert_int_eq(pcl_image_create(&flat, 9, 7, 1), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(flat); i++) flat->data[i] = 77.0f;
    pcl_image *out;
    ck_assert_int_eq(pcl_resize_bicubic_scale(flat, 0.37, PCL_RESIZE_DEFAULT, &out), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(out); i++) expect_near(out->data[i], 77.0, 1e-4, "constant");
    pcl_image_destroy(out);
    pcl_image_destroy(flat);

    /* Rounding after each pass (MATLAB uint8), compared with ref_resize_u8: the
     * same separable passes in MATLAB's order (smaller scale first), each
     * rounded half away from zero and clamped. Both sides are integers; a
     * float32-vs-float64 difference can only flip a value lying within ~1e-4
     * of a .5 tie, so at most a handful may differ by 1. */
    pcl_image *src = pattern(1);
    for (size_t i = 0; i < pcl_image_size(src); i++) src->data[i] = floorf(src->data[i]);
    const int shapes[][2] = {{23, 50}, {50, 23}, {13, 13}, {80, 64}};
    for (size_t k = 0; k < 4; k++) {
        int ow = shapes[k][0], oh = shapes[k][1];
        pcl_image *rounded;
        ck_assert_int_eq(pcl_resize_bicubic(src, ow, oh, PCL_RESIZE_ROUND_U8, &rounded), PCL_OK);
        double *want = ref_resize_u8(src, ow, oh, ow / 40.0, oh / 32.0);
        int off_by_one = 0;
        for (size_t i = 0; i < pcl_image_size(rounded); i++) {
            float v = rounded->data[i];
            ck_assert(v >= 0.0f && v <= 255.0f && v == floorf(v));
            ck_assert_msg(fabs(v - want[i]) <= 1.0, "%dx%d sample %zu: expected %g, got %g", ow, oh, i, want[i],
                          (double)v);
            off_by_one += v != want[i];
        }
        ck_assert_int_le(off_by_one, 2);
        free(want);
        pcl_image_destroy(rounded);
    }

    /* Bad arguments. */
    out = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, 0.0, 0, &out), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, NAN, 0, &out), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_resize_bicubic(src, 0, 5, 0, &out), PCL_ERR_INVALID_ARGUMENT);
    pcl_image_destroy(src);
    /* The exposed kernel is Keys' with a = -0.5. */
    for (double x = -2.5; x <= 2.5; x += 0.125) expect_near(pcl_resize_cubic(x), keys(x, -0.5), 1e-15, "kernel");
}
END_TEST

/* ---- crops and patches ------------------------------------------------------------ */

START_TEST(crops)
{
    pcl_image *src = pattern(2);
    pcl_image *c;
    ck_assert_int_eq(pcl_image_crop(src, 3, 5, 4, 2, &c), PCL_OK);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++)
            for (int ch = 0; ch < 2; ch++) ck_assert_float_eq(at(c, x, y, ch), at(src, 3 + x, 5 + y, ch));
    pcl_image_destroy(c);
    c = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_image_crop(src, 37, 0, 4, 2, &c), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(c);

    /* modcrop keeps the top-left: 40x32 by 3 -> 39x30; by 8 -> 40x32. */
    ck_assert_int_eq(pcl_image_modcrop(src, 3, &c), PCL_OK);
    ck_assert_int_eq(c->width, 39);
    ck_assert_int_eq(c->height, 30);
    ck_assert_float_eq(at(c, 38, 29, 1), at(src, 38, 29, 1));
    pcl_image_destroy(c);
    ck_assert_int_eq(pcl_image_modcrop(src, 8, &c), PCL_OK);
    ck_assert_int_eq(c->width, 40);
    ck_assert_int_eq(c->height, 32);
    pcl_image_destroy(c);

    /* Random crops: same seed, same windows; every position inside; both extremes reachable. */
    uint64_t s1 = 42, s2 = 42;
    int seen_left = 0, seen_right = 0;
    for (int i = 0; i < 2000; i++) {
        int x1, y1, x2, y2;
        pcl_image *a, *b;
        ck_assert_int_eq(pcl_image_random_crop(src, 33, 30, &s1, &a, &x1, &y1), PCL_OK);
        ck_assert_int_eq(pcl_image_random_crop(src, 33, 30, &s2, &b, &x2, &y2), PCL_OK);
        ck_assert_int_eq(x1, x2);
        ck_assert_int_eq(y1, y2);
        ck_assert(x1 >= 0 && x1 <= 7 && y1 >= 0 && y1 <= 2);
        seen_left |= x1 == 0;
        seen_right |= x1 == 7;
        ck_assert_float_eq(at(a, 0, 0, 0), at(src, x1, y1, 0));
        pcl_image_destroy(a);
        pcl_image_destroy(b);
    }
    ck_assert(seen_left && seen_right);
    pcl_image_destroy(src);
}
END_TEST

START_TEST(patches)
{
    pcl_image *src = pattern(3);
    size_t count;
    /* SRCNN rule: positions 0, s, 2s, ... while the patch fits. */
    ck_assert_int_eq(pcl_image_patch_count(src, 20, 7, &count), PCL_OK);
    ck_assert_uint_eq(count, 3u * 2u); /* x: 0, 7, 14 (21 + 20 > 40); y: 0, 7 (14 + 20 > 32) */
    ck_assert_int_eq(pcl_image_patch_count(src, 41, 1, &count), PCL_OK);
    ck_assert_uint_eq(count, 0u);

    size_t per = 20 * 20 * 3, capacity = 6 * per + 8;
    float *hwc = malloc(capacity * sizeof(float)), *chw = malloc(capacity * sizeof(float));
    for (size_t i = 0; i < capacity; i++) hwc[i] = chw[i] = -1.0f; /* guard values past the end */
    ck_assert_int_eq(pcl_image_extract_patches(src, 20, 7, PCL_LAYOUT_HWC, hwc, capacity, &count), PCL_OK);
    ck_assert_int_eq(pcl_image_extract_patches(src, 20, 7, PCL_LAYOUT_CHW, chw, capacity, &count), PCL_OK);
    ck_assert_uint_eq(count, 6);
    for (size_t p = 0; p < 6; p++) {
        int x0 = (int)(p % 3) * 7, y0 = (int)(p / 3) * 7;
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 20; x++)
                for (int c = 0; c < 3; c++) {
                    float want = at(src, x0 + x, y0 + y, c);
                    ck_assert_float_eq(hwc[p * per + ((size_t)y * 20 + (size_t)x) * 3 + (size_t)c], want);
                    ck_assert_float_eq(chw[p * per + ((size_t)c * 20 + (size_t)y) * 20 + (size_t)x], want);
                }
    }
    for (size_t i = 6 * per; i < capacity; i++) {
        ck_assert_float_eq(hwc[i], -1.0f);
        ck_assert_float_eq(chw[i], -1.0f);
    }
    ck_assert_int_eq(pcl_image_extract_patches(src, 20, 7, PCL_LAYOUT_HWC, hwc, 6 * per - 1, &count),
                     PCL_ERR_INVALID_ARGUMENT);
    free(hwc);
    free(chw);
    pcl_image_destroy(src);
}
END_TEST

START_TEST(resize_output_size_checked_before_allocating)
{
    /* Issue 18, defect 5: --scale 1e-9 overflowed the tap count ("cannot
     * allocate 1 x -2147483646 weights", an ASan abort), 5e-8 ran for minutes
     * on a one-pixel output, 3000 allocated 5.9 GB before refusing. */
    float values[40 * 30];
    for (int i = 0; i < 40 * 30; i++) values[i] = (float)(i % 251);
    pcl_image *src = image_from(40, 30, 1, values), *out = (pcl_image *)0x1;
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, 1e-9, 0, &out), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(pcl_last_error(), "below one pixel") && strstr(pcl_last_error(), "1/30"), "%s",
                  pcl_last_error());
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, 5e-8, 0, &out), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, 0.999 / 30, 0, &out), PCL_ERR_INVALID_ARGUMENT);
    /* The smallest scale, 1/30, gives 2x1 (ceil(40/30) x 1), finite and within the input's range. */
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, 1.0 / 30, 0, &out), PCL_OK);
    ck_assert_int_eq(out->width, 2);
    ck_assert_int_eq(out->height, 1);
    for (int i = 0; i < 2; i++) ck_assert(out->data[i] >= -1.0f && out->data[i] <= 251.0f);
    pcl_image_destroy(out);
    /* Enlarging past the pixel limit (image.h) is refused before any buffer is made. */
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, 3000, 0, &out), PCL_ERR_TOO_LARGE); /* 120000x90000 */
    ck_assert_int_eq(pcl_resize_bicubic_scale(src, 200, 0, &out), PCL_ERR_TOO_LARGE);  /* 8000x6000 */
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "8000x6000"));
    ck_assert_int_eq(pcl_resize_bicubic(src, 8000, 6000, 0, &out), PCL_ERR_TOO_LARGE);
    ck_assert_int_eq(pcl_image_set_max_pixels(100), PCL_OK); /* the limit is the image readers' one */
    ck_assert_int_eq(pcl_resize_bicubic(src, 11, 10, 0, &out), PCL_ERR_TOO_LARGE);
    ck_assert_int_eq(pcl_resize_bicubic(src, 10, 10, 0, &out), PCL_OK);
    pcl_image_destroy(out);
    ck_assert_int_eq(pcl_image_set_max_pixels(0), PCL_OK);
    pcl_image_destroy(src);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("color_resize");
    TCase *color = tcase_create("color");
    tcase_add_test(color, luma_exact_and_pil);
    tcase_add_test(color, ycbcr_matlab_values);
    tcase_add_test(color, ycbcr_inverse);
    tcase_add_test(color, split_merge_to_rgb);
    suite_add_tcase(suite, color);
    TCase *resize = tcase_create("resize");
    tcase_add_test(resize, resize_hand_values_1d);
    tcase_add_test(resize, resize_matches_direct_reference);
    tcase_add_test(resize, resize_matches_pillow_interior);
    tcase_add_test(resize, resize_round_u8_and_constants);
    tcase_add_test(resize, resize_output_size_checked_before_allocating);
    suite_add_tcase(suite, resize);
    TCase *crop = tcase_create("crop");
    tcase_add_test(crop, crops);
    tcase_add_test(crop, patches);
    suite_add_tcase(suite, crop);
    int failed = pcl_check_run(suite, 0);
    return failed == 0 ? 0 : 1;
}
