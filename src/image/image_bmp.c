/* BMP reading: uncompressed 8-bit paletted, 24-bit and 32-bit files, bottom-up
 * (positive height) or top-down (negative height). RLE, 1/4/16-bit and other
 * compressions are refused. Like PIL: an 8-bit file with an all-gray palette
 * gives 1 channel, otherwise 3; a 32-bit file gives 3 channels (the 4th byte
 * is padding) unless its header declares an alpha mask, then 4. */
#include "image/image_io.h"
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint16_t le16(const unsigned char *b) { return (uint16_t)(b[0] | b[1] << 8); }

enum { BMP_RGB = 0, BMP_RLE8 = 1, BMP_RLE4 = 2, BMP_BITFIELDS = 3 };

static pcl_status bmp_parse(const char *path, const unsigned char *d, size_t size, pcl_image **out)
{
    if (size < 18 || d[0] != 'B' || d[1] != 'M') {
        if (size >= 2 && d[0] == 'B' && d[1] == 'M')
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected a 14-byte file header and a DIB header "
                            "size, file ends", path, size);
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 0: expected the BMP magic \"BM\"", path);
    }
    uint32_t data_offset = le32(d + 10);
    uint32_t dib_size = le32(d + 14);
    if (dib_size != 12 && dib_size != 40 && dib_size != 52 && dib_size != 56 && dib_size != 64 &&
        dib_size != 108 && dib_size != 124)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 14: expected a DIB header size of 12, 40, 52, 56, 64, "
                        "108 or 124, got %u", path, dib_size);
    if (size < 14 + (size_t)dib_size)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected a %u-byte DIB header, file ends", path, size,
                        dib_size);
    long width, height;
    unsigned planes, bpp;
    uint32_t compression = BMP_RGB, colors_used = 0;
    size_t palette_entry = 4;
    if (dib_size == 12) { /* OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries */
        width = le16(d + 18);
        height = le16(d + 20);
        planes = le16(d + 22);
        bpp = le16(d + 24);
        palette_entry = 3;
    } else {
        width = (int32_t)le32(d + 18);
        height = (int32_t)le32(d + 22);
        planes = le16(d + 26);
        bpp = le16(d + 28);
        compression = le32(d + 30);
        colors_used = le32(d + 46);
    }
    int top_down = height < 0;
    if (top_down) height = -height;
    if (planes != 1)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 26: expected 1 plane, got %u", path, planes);
    if (width < 1 || height < 1 || width > PCL_IMAGE_MAX_SIDE || height > PCL_IMAGE_MAX_SIDE)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 18: expected a size within 1..%d per side, got %ldx%ld",
                        path, PCL_IMAGE_MAX_SIDE, width, height);
    if (bpp != 8 && bpp != 24 && bpp != 32)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 28: expected 8, 24 or 32 bits per pixel, got %u "
                        "(unsupported BMP variant)", path, bpp);

    /* BI_BITFIELDS is accepted only for 32-bit files with the standard BGRA masks. */
    int channels = 3;
    if (compression == BMP_BITFIELDS && bpp == 32) {
        size_t masks_at = 14 + 40; /* after a 40-byte header the masks follow it; larger headers hold them */
        if (size < masks_at + 12)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected 12 bytes of bit masks, file ends", path,
                            size);
        uint32_t r = le32(d + masks_at), g = le32(d + masks_at + 4), b = le32(d + masks_at + 8);
        uint32_t a = (dib_size >= 56 && size >= masks_at + 16) ? le32(d + masks_at + 12) : 0;
        if (r != 0x00FF0000u || g != 0x0000FF00u || b != 0x000000FFu || (a != 0 && a != 0xFF000000u))
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected standard BGRA bit masks, got R %08x G %08x "
                            "B %08x A %08x (unsupported BMP variant)", path, masks_at, r, g, b, a);
        if (a == 0xFF000000u) channels = 4;
    } else if (compression != BMP_RGB) {
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 30: expected an uncompressed BMP (compression 0), got "
                        "compression %u (%s)", path, compression,
                        compression == BMP_RLE8 ? "RLE8" : compression == BMP_RLE4 ? "RLE4" : "other");
    }

    /* The palette of an 8-bit file: colors_used entries (0 means 256). */
    unsigned char palette[256][3];
    unsigned palette_count = 0;
    if (bpp == 8) {
        palette_count = colors_used ? colors_used : 256;
        if (palette_count > 256)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset 46: expected at most 256 palette colours, got %u", path,
                            palette_count);
        size_t palette_at = 14 + (size_t)dib_size;
        if (size < palette_at + palette_count * palette_entry)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected a palette of %u entries, file ends", path,
                            palette_at, palette_count);
        int gray = 1;
        for (unsigned i = 0; i < palette_count; i++) {
            const unsigned char *e = d + palette_at + i * palette_entry; /* B, G, R[, reserved] */
            palette[i][0] = e[2];
            palette[i][1] = e[1];
            palette[i][2] = e[0];
            if (e[0] != e[1] || e[1] != e[2]) gray = 0;
        }
        channels = gray ? 1 : 3;
    }

    size_t stride = ((size_t)width * bpp + 31) / 32 * 4; /* rows padded to 4 bytes, the last one too */
    if (data_offset > size)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 10: expected the pixel data offset within the file (%zu "
                        "bytes), got %u", path, size, data_offset);
    size_t need = stride * (size_t)height;
    if (size - data_offset < need) {
        size_t rows_present = (size - data_offset) / stride;
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu: expected %zu bytes of pixel data (%ld rows of %zu), file "
                        "ends in stored row %zu", path, size, need, height, stride, rows_present);
    }

    pcl_image *image;
    PCL_TRY(pcl_image_create_checked(path, (int)width, (int)height, channels, &image));
    for (long row = 0; row < height; row++) {
        const unsigned char *src = d + data_offset + (size_t)row * stride;
        long y = top_down ? row : height - 1 - row;
        float *dst = image->data + (size_t)y * (size_t)width * (size_t)channels;
        for (long x = 0; x < width; x++) {
            if (bpp == 8) {
                unsigned index = src[x];
                if (index >= palette_count) {
                    pcl_image_destroy(image);
                    return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu (stored row %ld): expected a palette index "
                                    "below %u, got %u", path, (size_t)(src + x - d), row, palette_count, index);
                }
                for (int c = 0; c < channels; c++) dst[x * channels + c] = palette[index][c];
            } else {
                const unsigned char *p = src + (size_t)x * (bpp / 8); /* B, G, R[, A] */
                dst[x * channels + 0] = p[2];
                dst[x * channels + 1] = p[1];
                dst[x * channels + 2] = p[0];
                if (channels == 4) dst[x * channels + 3] = p[3];
            }
        }
    }
    image->max_value = 255.0f;
    *out = image;
    return PCL_OK;
}

pcl_status pcl_image_read_bmp(const char *path, pcl_image **out)
{
    if (!out || !path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_read_bmp: NULL argument");
    *out = NULL;
    unsigned char *data;
    size_t size;
    PCL_TRY(pcl_file_load(path, &data, &size));
    pcl_status status = bmp_parse(path, data, size, out);
    free(data);
    return status;
}
