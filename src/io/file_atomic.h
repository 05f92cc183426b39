/* Durable, atomic file writing: the one way perceptcl writes a file
 * (checkpoints, loss curves, images, app reports). */
#ifndef PERCEPTCL_FILE_ATOMIC_H
#define PERCEPTCL_FILE_ATOMIC_H

#include "perceptcl/status.h"

#include <stddef.h>
#include <stdio.h>

/* One file written as a stream: open creates a temporary beside path
 * (rename is atomic only within one file system) and gives its FILE; commit
 * flushes, fsyncs, renames it over path and fsyncs the folder, so a crash at
 * any point leaves either the old file or the complete new one. abort (or a
 * failed commit) removes the temporary and leaves path as it was. */
typedef struct pcl_file_atomic {
    FILE *file;
    char *path, *temp_path;
} pcl_file_atomic;
pcl_status pcl_file_atomic_open(pcl_file_atomic *f, const char *path);
pcl_status pcl_file_atomic_commit(pcl_file_atomic *f);
void pcl_file_atomic_abort(pcl_file_atomic *f);

/* The whole of bytes as path, through pcl_file_atomic. On failure the
 * message names path and the failing call. */
pcl_status pcl_file_write_atomic(const char *path, const void *bytes, size_t length);

/* Several files, all or none. pcl_file_set_add reserves a temporary beside
 * each target (an empty file, so an unwritable folder fails before any work)
 * and gives its name: the caller writes the complete file there with any
 * writer (pcl_image_write_png, pcl_file_write_atomic, ...). commit fsyncs
 * every temporary, then renames them into place; should a rename fail, the
 * targets already replaced get their previous contents back (kept as hard
 * links until the end; on a file system without hard links such a target
 * keeps its new contents, and one that did not exist is removed again).
 * destroy removes the temporaries not committed, so a failure before the
 * commit (the usual case: a computation or a writer fails) leaves every
 * pre-existing target untouched. Apps reach this private header through the
 * static library. */
typedef struct pcl_file_set pcl_file_set;
pcl_status pcl_file_set_create(pcl_file_set **out);
pcl_status pcl_file_set_add(pcl_file_set *set, const char *path, const char **temp_path);
pcl_status pcl_file_set_add_bytes(pcl_file_set *set, const char *path, const void *bytes, size_t length);
pcl_status pcl_file_set_commit(pcl_file_set *set);
void pcl_file_set_destroy(pcl_file_set *set);

#endif
