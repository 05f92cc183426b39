/* JPEG reading (libjpeg-turbo): gray and YCbCr/RGB files; CMYK/YCCK refused.
 *
 * libjpeg's default error manager calls exit(); ours records the message and
 * longjmps back. libjpeg treats a stream that ends early as a warning (it
 * pads with an EOI marker and fills gray), so warnings are fatal here too:
 * a truncated or corrupt file must not decode to a plausible-looking image. */
#include "image/image_io.h"
#include "runtime/internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct jpeg_error_state {
    struct jpeg_error_mgr base; /* first, so the manager pointer casts to this */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 128];
    size_t file_size;
    const struct jpeg_source_mgr *source;
} jpeg_error_state;

/* Bytes of the file libjpeg has consumed so far. */
static size_t jpeg_offset(const jpeg_error_state *state)
{
    if (!state->source) return 0;
    return state->file_size - state->source->bytes_in_buffer;
}

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    snprintf(state->message, sizeof state->message, "near offset %zu of %zu bytes: expected a valid JPEG stream: %s",
             jpeg_offset(state), state->file_size, text);
    longjmp(state->jump, 1);
}

static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    /* level < 0 is a warning; trace messages (>= 0) are dropped. Warnings that
     * leave the pixels intact (odd metadata, junk between markers) are
     * tolerated; the rest (premature end, bad entropy codes) are fatal. */
    if (level >= 0) return;
    switch (cinfo->err->msg_code) {
    case JWRN_ADOBE_XFORM:
    case JWRN_JFIF_MAJOR:
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_BOGUS_ICC:
        return;
    default:
        jpeg_on_error(cinfo);
    }
}

pcl_status pcl_image_read_jpeg(const char *path, pcl_image **out)
{
    if (!out || !path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_read_jpeg: NULL argument");
    *out = NULL;
    unsigned char *file_data;
    size_t file_size;
    PCL_TRY(pcl_file_load(path, &file_data, &file_size));
    if (file_size < 3 || file_data[0] != 0xFF || file_data[1] != 0xD8) {
        free(file_data);
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 0: expected the JPEG SOI marker FF D8", path);
    }

    struct jpeg_decompress_struct cinfo;
    jpeg_error_state err;
    memset(&cinfo, 0, sizeof cinfo); /* jpeg_destroy_decompress is safe even if create fails */
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpeg_on_error;
    err.base.emit_message = jpeg_on_message;
    err.file_size = file_size;

    pcl_image *volatile image = NULL;
    unsigned char *volatile row = NULL;
    volatile long current_row = -1;
    volatile pcl_status status = PCL_ERR_FORMAT;

    if (setjmp(err.jump)) goto done;

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, file_data, (unsigned long)file_size);
    err.source = cinfo.src;
    jpeg_read_header(&cinfo, TRUE);

    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(err.message, sizeof err.message,
                 "header: expected a gray or RGB/YCbCr JPEG, got CMYK/YCCK (convert it to RGB first)");
        goto done;
    }
    if (cinfo.num_components == 1) {
        cinfo.out_color_space = JCS_GRAYSCALE;
    } else if (cinfo.num_components == 3) {
        cinfo.out_color_space = JCS_RGB;
    } else {
        snprintf(err.message, sizeof err.message, "header: expected 1 or 3 components, got %d",
                 cinfo.num_components);
        goto done;
    }
    if (!cinfo.arith_code) {
        /* Every 8x8 block of a Huffman-coded JPEG costs at least one bit (its
         * DC code), so a header claiming more blocks than the file has bits is
         * corrupt: refuse it before allocating the image (found by fuzzing: a
         * 4 KB file claiming 16000x16000 made libjpeg and us allocate 3 GB). */
        size_t blocks = (size_t)((cinfo.image_width + 7) / 8) * (size_t)((cinfo.image_height + 7) / 8);
        if (blocks / 8 > file_size) {
            snprintf(err.message, sizeof err.message,
                     "header: %ux%u pixels need at least %zu bytes of coded data, the file has %zu",
                     (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, blocks / 8, file_size);
            goto done;
        }
    }
    pcl_status pixels_status = pcl_image_check_pixels(path, (long)cinfo.image_width, (long)cinfo.image_height);
    if (pixels_status != PCL_OK) { /* before libjpeg's whole-image buffers; message recorded */
        status = pixels_status;
        goto done_recorded;
    }
    jpeg_start_decompress(&cinfo);
    int width = (int)cinfo.output_width, height = (int)cinfo.output_height;
    int channels = cinfo.output_components;
    pcl_image *created = NULL;
    pcl_status created_status = pcl_image_create_checked(path, width, height, channels, &created);
    if (created_status != PCL_OK) { /* message already recorded */
        status = created_status;
        goto done_recorded;
    }
    image = created;
    size_t stride = (size_t)width * (size_t)channels;
    row = malloc(stride);
    if (!row) {
        status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate a JPEG row", path);
        goto done_recorded;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        current_row = (long)cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(err.message, sizeof err.message, "offset %zu: expected scanline data, got none",
                     jpeg_offset(&err));
            goto done;
        }
        float *dst = image->data + (size_t)current_row * stride;
        for (size_t i = 0; i < stride; i++) dst[i] = (float)row[i];
    }
    current_row = -1;
    jpeg_finish_decompress(&cinfo);
    image->max_value = 255.0f;
    status = PCL_OK;
    goto finish;

done:
    if (current_row >= 0)
        pcl_fail(PCL_ERR_FORMAT, "%s: row %ld, %s", path, (long)current_row, err.message);
    else
        pcl_fail(PCL_ERR_FORMAT, "%s: %s", path, err.message);
    status = PCL_ERR_FORMAT;
done_recorded:
finish:
    jpeg_destroy_decompress(&cinfo);
    free(row);
    free(file_data);
    if (status != PCL_OK) {
        pcl_image_destroy(image);
        return status;
    }
    *out = image;
    return PCL_OK;
}
