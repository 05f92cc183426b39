/* Netpbm reading and writing: PGM/PPM (ASCII P2/P3, binary P5/P6 with maxval
 * 1..65535; above 255 the samples are 16-bit big-endian) and PFM ('Pf' gray,
 * 'PF' RGB; the sign of the scale gives the byte order, negative = little
 * endian; rows are stored bottom to top). A PFM holding NaN or infinity is
 * refused, naming the pixel. */
#include "image/image_io.h"
#include "runtime/internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pnm_parser {
    const char *path;
    const unsigned char *data;
    size_t size;
    size_t offset;
} pnm_parser;

/* Skips whitespace and '#' comments (to end of line). */
static void pnm_skip_space(pnm_parser *p)
{
    while (p->offset < p->size) {
        unsigned char c = p->data[p->offset];
        if (c == '#') {
            while (p->offset < p->size && p->data[p->offset] != '\n' && p->data[p->offset] != '\r') p->offset++;
        } else if (isspace(c)) {
            p->offset++;
        } else {
            break;
        }
    }
}

/* Reads an unsigned decimal integer in 0..limit. */
static pcl_status pnm_read_uint(pnm_parser *p, const char *what, long limit, long *value)
{
    pnm_skip_space(p);
    size_t start = p->offset;
    long v = 0;
    while (p->offset < p->size && isdigit(p->data[p->offset])) {
        v = v * 10 + (p->data[p->offset] - '0');
        p->offset++;
        if (v > limit)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected %s in 0..%ld, got a larger number",
                            p->path, start, what, limit);
    }
    if (p->offset == start) {
        if (start >= p->size)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected %s, file ends", p->path, start, what);
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected %s (decimal digits), got byte 0x%02x",
                        p->path, start, what, p->data[start]);
    }
    *value = v;
    return PCL_OK;
}

/* Reads the PFM scale token (a decimal float, nonzero). */
static pcl_status pnm_read_scale(pnm_parser *p, double *scale)
{
    pnm_skip_space(p);
    size_t start = p->offset;
    char token[64];
    size_t n = 0;
    while (p->offset < p->size && !isspace(p->data[p->offset]) && n + 1 < sizeof token)
        token[n++] = (char)p->data[p->offset++];
    token[n] = '\0';
    char *end = NULL;
    double v = n ? strtod(token, &end) : 0.0;
    if (n == 0 || *end != '\0' || !isfinite(v) || v == 0.0)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected a nonzero PFM scale (negative = little "
                        "endian), got \"%s\"", p->path, start, token);
    *scale = v;
    return PCL_OK;
}

/* The single whitespace byte that ends a binary header. */
static pcl_status pnm_header_end(pnm_parser *p)
{
    if (p->offset >= p->size || !isspace(p->data[p->offset]))
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected one whitespace byte ending the header",
                        p->path, p->offset);
    p->offset++;
    return PCL_OK;
}

static float pfm_sample(const unsigned char *b, int little_endian)
{
    uint32_t bits = little_endian
                        ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
                        : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static pcl_status pnm_parse(pnm_parser *p, pcl_image **out)
{
    const char *path = p->path;
    if (p->size < 2 || p->data[0] != 'P' || p->data[1] == '\0' || !strchr("2356fF", p->data[1]))
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 0: expected a PNM/PFM magic P2, P3, P5, P6, Pf or PF",
                        path);
    char kind = (char)p->data[1];
    p->offset = 2;
    int is_pfm = kind == 'f' || kind == 'F';
    int channels = (kind == '3' || kind == '6' || kind == 'F') ? 3 : 1;
    long width, height, maxval = 0;
    double scale = 0.0;
    PCL_TRY(pnm_read_uint(p, "the width", PCL_IMAGE_MAX_SIDE, &width));
    PCL_TRY(pnm_read_uint(p, "the height", PCL_IMAGE_MAX_SIDE, &height));
    if (is_pfm)
        PCL_TRY(pnm_read_scale(p, &scale));
    else
        PCL_TRY(pnm_read_uint(p, "the maxval", 65535, &maxval));
    if (!is_pfm && maxval < 1)
        return pcl_fail(PCL_ERR_FORMAT, "%s: header: expected maxval in 1..65535, got 0", path);
    if (width < 1 || height < 1)
        return pcl_fail(PCL_ERR_FORMAT, "%s: header: expected a nonzero size, got %ldx%ld", path, width, height);

    size_t samples = (size_t)width * (size_t)height * (size_t)channels;
    if (kind == '2' || kind == '3') {
        /* Each sample takes a separator and a digit at least: refuse a header
         * the file cannot fill before allocating the image it claims. */
        size_t have = p->size - p->offset;
        if (have / 2 < samples)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected %zu ASCII samples (at least %zu bytes), "
                            "file ends after %zu", path, p->offset, samples, 2 * samples, have);
        pcl_image *image;
        PCL_TRY(pcl_image_create_checked(path, (int)width, (int)height, channels, &image));
        for (size_t i = 0; i < samples; i++) {
            long v;
            pcl_status status = pnm_read_uint(p, "a sample", maxval, &v);
            if (status != PCL_OK) {
                pcl_image_destroy(image);
                size_t pixel = i / (size_t)channels;
                return pcl_fail(status, "%s (sample %zu of %zu, row %zu)", pcl_last_error(), i, samples,
                                pixel / (size_t)width);
            }
            image->data[i] = (float)v;
        }
        image->max_value = (float)maxval;
        *out = image;
        return PCL_OK;
    }

    PCL_TRY(pnm_header_end(p));
    size_t sample_bytes = is_pfm ? 4 : (maxval > 255 ? 2 : 1);
    size_t need = samples * sample_bytes;
    size_t row_bytes = (size_t)width * (size_t)channels * sample_bytes;
    if (p->size - p->offset < need) {
        size_t have = p->size - p->offset;
        return pcl_fail(PCL_ERR_FORMAT,
                        "%s: offset %zu: expected %zu bytes of pixel data (%ld rows of %zu), file ends "
                        "after %zu (in row %zu)",
                        path, p->offset, need, height, row_bytes, have, have / row_bytes);
    }
    pcl_image *image;
    PCL_TRY(pcl_image_create_checked(path, (int)width, (int)height, channels, &image));
    const unsigned char *raster = p->data + p->offset;
    if (is_pfm) {
        int little_endian = scale < 0.0;
        for (long y = 0; y < height; y++) { /* file row 0 is the bottom row */
            const unsigned char *src = raster + (size_t)y * row_bytes;
            float *dst = image->data + (size_t)(height - 1 - y) * (size_t)width * (size_t)channels;
            for (size_t i = 0; i < (size_t)width * (size_t)channels; i++)
                dst[i] = pfm_sample(src + 4 * i, little_endian);
        }
        image->max_value = 1.0f;
        pcl_status finite = pcl_image_check_finite(path, image); /* NaN/inf: the input's fault, said here */
        if (finite != PCL_OK) {
            pcl_image_destroy(image);
            return finite;
        }
    } else {
        for (size_t i = 0; i < samples; i++) {
            long v = sample_bytes == 2 ? (long)raster[2 * i] << 8 | raster[2 * i + 1] : (long)raster[i];
            if (v > maxval) {
                size_t at = p->offset + i * sample_bytes;
                pcl_image_destroy(image);
                return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu (row %zu): expected a sample <= maxval %ld, "
                                "got %ld", path, at, i / ((size_t)width * (size_t)channels), maxval, v);
            }
            image->data[i] = (float)v;
        }
        image->max_value = (float)maxval;
    }
    *out = image;
    return PCL_OK;
}

pcl_status pcl_image_read_pnm(const char *path, pcl_image **out)
{
    if (!out || !path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_read_pnm: NULL argument");
    *out = NULL;
    unsigned char *data;
    size_t size;
    PCL_TRY(pcl_file_load(path, &data, &size));
    pnm_parser parser = {path, data, size, 0};
    pcl_status status = pnm_parse(&parser, out);
    free(data);
    return status;
}

pcl_status pcl_image_write_pnm(const char *path, const pcl_image *image)
{
    if (!path || !image || !image->data)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_write_pnm: NULL argument");
    if (image->channels != 1 && image->channels != 3)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: PGM/PPM needs 1 or 3 channels, got %d", path,
                        image->channels);
    PCL_TRY(pcl_image_check_finite_for_write(path, image));
    size_t count = pcl_image_size(image);
    unsigned char *bytes = malloc(count);
    if (!bytes) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, count);
    for (size_t i = 0; i < count; i++) bytes[i] = pcl_to_u8(image->data[i]);
    pcl_file_atomic af;
    pcl_status status = pcl_file_atomic_open(&af, path);
    if (status == PCL_OK) {
        fprintf(af.file, "P%c\n%d %d\n255\n", image->channels == 1 ? '5' : '6', image->width, image->height);
        fwrite(bytes, 1, count, af.file);
        status = pcl_file_atomic_commit(&af);
    }
    free(bytes);
    return status;
}

pcl_status pcl_image_write_pfm(const char *path, const pcl_image *image)
{
    if (!path || !image || !image->data)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_write_pfm: NULL argument");
    if (image->channels != 1 && image->channels != 3)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: PFM needs 1 or 3 channels, got %d", path, image->channels);
    size_t row = (size_t)image->width * (size_t)image->channels;
    unsigned char *bytes = malloc(row * 4);
    if (!bytes) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate a PFM row", path);
    pcl_file_atomic af;
    pcl_status status = pcl_file_atomic_open(&af, path);
    if (status == PCL_OK) {
        fprintf(af.file, "P%c\n%d %d\n-1.0\n", image->channels == 1 ? 'f' : 'F', image->width, image->height);
        for (int y = image->height - 1; y >= 0; y--) { /* bottom row first */
            const float *src = image->data + (size_t)y * row;
            for (size_t i = 0; i < row; i++) {
                uint32_t bits;
                memcpy(&bits, &src[i], sizeof bits);
                for (int b = 0; b < 4; b++) bytes[4 * i + (size_t)b] = (unsigned char)(bits >> (8 * b));
            }
            fwrite(bytes, 1, row * 4, af.file);
        }
        status = pcl_file_atomic_commit(&af);
    }
    free(bytes);
    return status;
}
