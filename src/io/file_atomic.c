/* Durable atomic replacement: temporary file in the same folder (rename is
 * only atomic within one file system), fsync of the data before the rename
 * (else a crash can leave a renamed but empty file), fsync of the folder
 * after it (else the rename itself can be lost). */
#include "io/file_atomic.h"

#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pcl_status sync_folder(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    const char *folder = dirname(copy);
    int fd = open(folder, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: cannot open folder %s to sync it: %s", path, folder,
                                strerror(errno));
        free(copy);
        return s;
    }
    /* Some file systems refuse fsync on folders (EINVAL): the rename is then
     * as durable as they make it. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: fsync of folder %s failed: %s", path, folder, strerror(errno));
        close(fd);
        free(copy);
        return s;
    }
    close(fd);
    free(copy);
    return PCL_OK;
}

pcl_status pcl_file_write_atomic(const char *path, const void *bytes, size_t length)
{
    if (!path || !*path || (!bytes && length))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_file_write_atomic: NULL or empty argument");
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    char *temp = malloc(n);
    if (!temp) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    snprintf(temp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(temp);
    if (fd < 0) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                                strerror(errno));
        free(temp);
        return s;
    }
    const char *what = NULL;
    int error = 0;
    /* mkstemp makes the file private (0600); a checkpoint is an ordinary file. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        what = "fchmod";
        error = errno;
    }
    const unsigned char *p = bytes;
    size_t left = length;
    while (!what && left > 0) {
        ssize_t wrote = write(fd, p, left);
        if (wrote < 0) {
            if (errno == EINTR) continue;
            what = "write";
            error = errno;
            break;
        }
        p += wrote;
        left -= (size_t)wrote;
    }
    if (!what && fsync(fd) != 0) {
        what = "fsync";
        error = errno;
    }
    if (close(fd) != 0 && !what) {
        what = "close";
        error = errno;
    }
    if (!what && rename(temp, path) != 0) {
        what = "rename";
        error = errno;
    }
    if (what) {
        unlink(temp);
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: %s of temporary file %s failed after %zu of %zu bytes: %s", path,
                                what, temp, length - left, length, strerror(error));
        free(temp);
        return s;
    }
    free(temp);
    return sync_folder(path);
}
