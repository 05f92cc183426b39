/* pcl_image_read: picks the codec by the file's magic bytes. Kept apart from
 * image.c so that image.c -> codecs never happens: image.c <- codecs <- here. */
#include "image/image_io.h"
#include "runtime/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

pcl_status pcl_image_read(const char *path, pcl_image **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_read: out is NULL");
    *out = NULL;
    if (!path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_read: path is NULL");
    unsigned char magic[8] = {0};
    PCL_TRY(pcl_file_check_regular(path));
    FILE *file = fopen(path, "rb");
    if (!file) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(magic, 1, sizeof magic, file);
    fclose(file);

    if (got >= 4 && magic[0] == 0x89 && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G')
        return pcl_image_read_png(path, out);
    if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF)
        return pcl_image_read_jpeg(path, out);
    if (got >= 2 && magic[0] == 'P' &&
        (magic[1] == '2' || magic[1] == '3' || magic[1] == '5' || magic[1] == '6' ||
         magic[1] == 'f' || magic[1] == 'F'))
        return pcl_image_read_pnm(path, out);
    if (got >= 2 && magic[0] == 'B' && magic[1] == 'M') return pcl_image_read_bmp(path, out);
    return pcl_fail(PCL_ERR_FORMAT,
                    "%s: offset 0: expected the magic bytes of PNG, JPEG, PNM/PFM or BMP, got %zu bytes "
                    "%02x %02x %02x %02x",
                    path, got, magic[0], magic[1], magic[2], magic[3]);
}
