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

/* A new empty file "<path><suffix>XXXXXX" beside path, with the permissions
 * of an ordinary file; its name in *name (malloc'd), its descriptor returned. */
static pcl_status create_beside(const char *path, const char *suffix, char **name, int *fd)
{
    *name = NULL;
    *fd = -1;
    if (!path || !*path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "atomic file write: NULL or empty path");
    size_t n = strlen(path) + strlen(suffix) + sizeof "XXXXXX";
    char *temp = malloc(n);
    if (!temp) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    snprintf(temp, n, "%s%sXXXXXX", path, suffix);
    int d = mkstemp(temp);
    if (d < 0) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                                strerror(errno));
        free(temp);
        return s;
    }
    /* mkstemp makes the file private (0600); the result is an ordinary file. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(d, 0666 & ~mask) != 0) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: fchmod of temporary file %s failed: %s", path, temp,
                                strerror(errno));
        close(d);
        unlink(temp);
        free(temp);
        return s;
    }
    *name = temp;
    *fd = d;
    return PCL_OK;
}

pcl_status pcl_file_atomic_open(pcl_file_atomic *f, const char *path)
{
    f->file = NULL;
    f->path = f->temp_path = NULL;
    int fd;
    PCL_TRY(create_beside(path, ".tmp.", &f->temp_path, &fd));
    f->path = strdup(path);
    f->file = f->path ? fdopen(fd, "wb") : NULL;
    if (!f->file) {
        close(fd);
        pcl_status s = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory for a file stream", path);
        pcl_file_atomic_abort(f);
        return s;
    }
    return PCL_OK;
}

void pcl_file_atomic_abort(pcl_file_atomic *f)
{
    if (f->file) fclose(f->file);
    if (f->temp_path) unlink(f->temp_path);
    free(f->temp_path);
    free(f->path);
    f->file = NULL;
    f->path = f->temp_path = NULL;
}

pcl_status pcl_file_atomic_commit(pcl_file_atomic *f)
{
    const char *what = NULL;
    int error = 0;
    if (fflush(f->file) != 0 || ferror(f->file)) {
        what = "write";
        error = errno;
    }
    if (!what && fsync(fileno(f->file)) != 0) {
        what = "fsync";
        error = errno;
    }
    int closed = fclose(f->file);
    f->file = NULL;
    if (closed != 0 && !what) {
        what = "close";
        error = errno;
    }
    if (!what && rename(f->temp_path, f->path) != 0) {
        what = "rename";
        error = errno;
    }
    if (what) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: %s of temporary file %s failed: %s", f->path, what, f->temp_path,
                                strerror(error));
        pcl_file_atomic_abort(f);
        return s;
    }
    free(f->temp_path);
    f->temp_path = NULL; /* renamed: nothing left to remove */
    pcl_status s = sync_folder(f->path);
    pcl_file_atomic_abort(f); /* frees the names */
    return s;
}

pcl_status pcl_file_write_atomic(const char *path, const void *bytes, size_t length)
{
    if (!path || !*path || (!bytes && length))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_file_write_atomic: NULL or empty argument");
    pcl_file_atomic f;
    PCL_TRY(pcl_file_atomic_open(&f, path));
    if (length && fwrite(bytes, 1, length, f.file) != length) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: write of temporary file %s failed: %s", path, f.temp_path,
                                strerror(errno));
        pcl_file_atomic_abort(&f);
        return s;
    }
    return pcl_file_atomic_commit(&f);
}

/* ---- several files, all or none ----------------------------------------- */

typedef struct file_set_entry {
    char *path, *temp, *backup; /* backup: a hard link to the previous target while committing */
    int existed;                /* path existed when the commit began */
    int replaced;               /* the temporary has been renamed over path */
} file_set_entry;

struct pcl_file_set {
    file_set_entry *entries;
    int count;
};

pcl_status pcl_file_set_create(pcl_file_set **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? PCL_OK : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of memory for a file set");
}

pcl_status pcl_file_set_add(pcl_file_set *set, const char *path, const char **temp_path)
{
    if (temp_path) *temp_path = NULL;
    for (int i = 0; path && i < set->count; i++)
        if (strcmp(set->entries[i].path, path) == 0)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: named twice among the files of one output", path);
    file_set_entry *grown = realloc(set->entries, sizeof *grown * (size_t)(set->count + 1));
    if (!grown) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    set->entries = grown;
    file_set_entry *e = &set->entries[set->count];
    memset(e, 0, sizeof *e);
    int fd;
    PCL_TRY(create_beside(path, ".tmp.", &e->temp, &fd));
    close(fd);
    e->path = strdup(path);
    if (!e->path) {
        unlink(e->temp);
        free(e->temp);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    set->count++;
    if (temp_path) *temp_path = e->temp;
    return PCL_OK;
}

pcl_status pcl_file_set_add_bytes(pcl_file_set *set, const char *path, const void *bytes, size_t length)
{
    const char *temp;
    PCL_TRY(pcl_file_set_add(set, path, &temp));
    return pcl_file_write_atomic(temp, bytes, length);
}

/* Puts back what the targets held before the commit began. */
static void roll_back(pcl_file_set *set)
{
    for (int i = set->count - 1; i >= 0; i--) {
        file_set_entry *e = &set->entries[i];
        if (e->replaced) {
            /* A target that existed without a backup keeps its new contents:
             * better than deleting it. */
            if (e->backup) rename(e->backup, e->path);
            else if (!e->existed) unlink(e->path);
            e->replaced = 0;
        } else if (e->backup) unlink(e->backup);
        free(e->backup);
        e->backup = NULL;
    }
}

pcl_status pcl_file_set_commit(pcl_file_set *set)
{
    for (int i = 0; i < set->count; i++) {
        file_set_entry *e = &set->entries[i];
        int fd = open(e->temp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) {
            pcl_status s = pcl_fail(PCL_ERR_IO, "%s: cannot sync its temporary file %s: %s", e->path, e->temp,
                                    strerror(errno));
            if (fd >= 0) close(fd);
            return s;
        }
        close(fd);
    }
    /* A hard link keeps each previous target reachable until every rename has
     * succeeded. Where the file system has no hard links, that target cannot
     * be put back (the renames of temporaries beside their targets hardly fail). */
    for (int i = 0; i < set->count; i++) {
        file_set_entry *e = &set->entries[i];
        e->existed = access(e->path, F_OK) == 0;
        if (!e->existed) continue;
        int fd;
        pcl_status s = create_beside(e->path, ".old.", &e->backup, &fd);
        if (s != PCL_OK) return roll_back(set), s;
        close(fd);
        if (unlink(e->backup) != 0 || link(e->path, e->backup) != 0) {
            free(e->backup);
            e->backup = NULL;
        }
    }
    for (int i = 0; i < set->count; i++) {
        file_set_entry *e = &set->entries[i];
        if (rename(e->temp, e->path) != 0) {
            pcl_status s = pcl_fail(PCL_ERR_IO, "%s: cannot rename %s into place: %s", e->path, e->temp,
                                    strerror(errno));
            roll_back(set);
            return s;
        }
        e->replaced = 1;
        free(e->temp);
        e->temp = NULL;
    }
    pcl_status status = PCL_OK;
    for (int i = 0; i < set->count; i++) {
        file_set_entry *e = &set->entries[i];
        if (e->backup) unlink(e->backup);
        free(e->backup);
        e->backup = NULL;
        if (status == PCL_OK) status = sync_folder(e->path);
    }
    return status;
}

void pcl_file_set_destroy(pcl_file_set *set)
{
    if (!set) return;
    for (int i = 0; i < set->count; i++) {
        if (set->entries[i].temp) unlink(set->entries[i].temp);
        free(set->entries[i].temp);
        free(set->entries[i].backup);
        free(set->entries[i].path);
    }
    free(set->entries);
    free(set);
}
