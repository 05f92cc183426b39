/* Fixed-size binary record corpora: CIFAR-10 batches, STL-10 X and y files,
 * 80M Tiny Images. Files are opened and sized at open; records are fetched
 * with pread() by index when read, so a 243 GB tiny_images.bin costs one
 * file descriptor, not memory. The record formats are in binary_format.c. */
#include "dataset_internal.h"
#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pcl_status new_binary(pcl_binary_format format, int segments, pcl_dataset **out)
{
    const pcl_binary_spec *spec = pcl_binary_spec_get(format);
    PCL_TRY(pcl_dataset_alloc(PCL_DATASET_BINARY, out));
    pcl_dataset *d = *out;
    d->spec = spec;
    d->width = spec->width;
    d->height = spec->height;
    d->channels = 3;
    d->segments = calloc((size_t)segments, sizeof *d->segments);
    if (!d->segments) {
        pcl_dataset_destroy(d);
        *out = NULL;
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate %d record files", segments);
    }
    pcl_status status = pcl_dataset_set_classes(d, spec->class_names, spec->classes);
    if (status != PCL_OK) {
        pcl_dataset_destroy(d);
        *out = NULL;
    }
    return status;
}

/* Checks that size holds whole records and appends the segment. */
static pcl_status add_segment(pcl_dataset *d, const char *path, int fd, const unsigned char *memory, uint64_t size)
{
    const size_t rs = d->spec->record_size;
    pcl_segment *s = &d->segments[d->segment_count];
    s->fd = -1;
    s->path = strdup(path);
    if (!s->path) {
        if (fd >= 0) close(fd);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
    }
    s->fd = fd;
    s->memory = memory;
    s->size = size;
    d->segment_count++;
    if (size == 0) return pcl_fail(PCL_ERR_FORMAT, "%s: offset 0: expected %s records of %zu bytes, the file is empty",
                                   path, d->spec->name, rs);
    if (size % rs != 0)
        return pcl_fail(PCL_ERR_FORMAT,
                        "%s: offset %llu: expected a size that is a multiple of the %zu-byte %s record, got %llu "
                        "bytes (%llu records and %llu bytes over)",
                        path, (unsigned long long)(size - size % rs), rs, d->spec->name, (unsigned long long)size,
                        (unsigned long long)(size / rs), (unsigned long long)(size % rs));
    s->first = d->count;
    s->records = (size_t)(size / rs);
    d->count += s->records;
    return PCL_OK;
}

static pcl_status add_file(pcl_dataset *d, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        return pcl_fail(PCL_ERR_IO, "%s: cannot stat: %s", path, strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pcl_fail(PCL_ERR_IO, "%s: expected a regular file", path);
    }
    return add_segment(d, path, fd, NULL, (uint64_t)st.st_size);
}

/* Reads a whole small file (a label file). */
static pcl_status load_small(const char *path, size_t limit, unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > limit) {
        close(fd);
        return pcl_fail(PCL_ERR_FORMAT, "%s: expected a regular label file of at most %zu bytes", path, limit);
    }
    size_t length = (size_t)st.st_size;
    unsigned char *buffer = malloc(length ? length : 1);
    if (!buffer) {
        close(fd);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, length);
    }
    size_t done = 0;
    while (done < length) {
        ssize_t got = pread(fd, buffer + done, length - done, (off_t)done);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            int saved = errno;
            close(fd);
            free(buffer);
            return pcl_fail(PCL_ERR_IO, "%s: offset %zu: read failed: %s", path, done,
                            got < 0 ? strerror(saved) : "unexpected end of file");
        }
        done += (size_t)got;
    }
    close(fd);
    *data = buffer;
    *size = length;
    return PCL_OK;
}

static pcl_status attach_labels(pcl_dataset *d, unsigned char *labels, size_t size, const char *where,
                                const char *x_where)
{
    if (size != d->count) {
        free(labels);
        return pcl_fail(PCL_ERR_FORMAT, "%s: expected %zu label bytes (one per record of %s), got %zu", where, d->count,
                        x_where, size);
    }
    pcl_status status = pcl_binary_check_labels(d->spec, labels, size, where);
    if (status != PCL_OK) {
        free(labels);
        return status;
    }
    d->labels = labels;
    return PCL_OK;
}

static pcl_status finish(pcl_dataset *d, pcl_status status, pcl_dataset **out)
{
    if (status != PCL_OK) {
        pcl_dataset_destroy(d);
        return status;
    }
    *out = d;
    return PCL_OK;
}

pcl_status pcl_dataset_open_cifar10_bin(const char *const *paths, int count, pcl_dataset **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_cifar10_bin: out is NULL");
    *out = NULL;
    if (!paths || count < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_cifar10_bin: no files");
    for (int i = 0; i < count; i++)
        if (!paths[i]) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_cifar10_bin: paths[%d] is NULL", i);
    pcl_dataset *d;
    PCL_TRY(new_binary(PCL_BINARY_FORMAT_CIFAR10, count, &d));
    pcl_status status = PCL_OK;
    for (int i = 0; status == PCL_OK && i < count; i++) status = add_file(d, paths[i]);
    return finish(d, status, out);
}

pcl_status pcl_dataset_open_stl10_bin(const char *x_path, const char *y_path, pcl_dataset **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_stl10_bin: out is NULL");
    *out = NULL;
    if (!x_path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_stl10_bin: x_path is NULL");
    pcl_dataset *d;
    PCL_TRY(new_binary(PCL_BINARY_FORMAT_STL10, 1, &d));
    pcl_status status = add_file(d, x_path);
    if (status == PCL_OK && y_path) {
        unsigned char *labels;
        size_t size;
        /* one byte per record; the biggest official y file has 8,000 */
        status = load_small(y_path, (size_t)1 << 26, &labels, &size);
        if (status == PCL_OK) status = attach_labels(d, labels, size, y_path, x_path);
    }
    if (status == PCL_OK && !y_path) {
        for (int i = 0; i < d->class_count; i++) free(d->class_names[i]);
        free(d->class_names);
        d->class_names = NULL;
        d->class_count = 0;
    }
    return finish(d, status, out);
}

pcl_status pcl_dataset_open_tiny_images(const char *path, pcl_dataset **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_tiny_images: out is NULL");
    *out = NULL;
    if (!path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_tiny_images: path is NULL");
    pcl_dataset *d;
    PCL_TRY(new_binary(PCL_BINARY_FORMAT_TINY_IMAGES, 1, &d));
    return finish(d, add_file(d, path), out);
}

pcl_status pcl_dataset_open_memory(pcl_binary_format format, const void *data, size_t size, const void *labels,
                                   size_t labels_size, const char *name, pcl_dataset **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_memory: out is NULL");
    *out = NULL;
    if (!pcl_binary_spec_get(format))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_memory: unknown format %d", (int)format);
    if (!data && size) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_memory: data is NULL");
    if (labels && format != PCL_BINARY_FORMAT_STL10)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_memory: only STL-10 has a separate label file");
    if (!name) name = "<memory>";
    pcl_dataset *d;
    PCL_TRY(new_binary(format, 1, &d));
    pcl_status status = add_segment(d, name, -1, data, size);
    if (status == PCL_OK && labels) {
        unsigned char *copy = malloc(labels_size ? labels_size : 1);
        if (!copy) status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate %zu label bytes", labels_size);
        else {
            if (labels_size) memcpy(copy, labels, labels_size);
            status = attach_labels(d, copy, labels_size, "<labels>", name);
        }
    }
    if (status == PCL_OK && format == PCL_BINARY_FORMAT_STL10 && !labels) {
        for (int i = 0; i < d->class_count; i++) free(d->class_names[i]);
        free(d->class_names);
        d->class_names = NULL;
        d->class_count = 0;
    }
    return finish(d, status, out);
}
