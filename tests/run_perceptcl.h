/* Runs the perceptcl command as a user would, for the tests of its apps. */
#ifndef PCL_TEST_RUN_PERCEPTCL_H
#define PCL_TEST_RUN_PERCEPTCL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* The file's first size - 1 bytes into buffer, NUL-terminated ("" if absent). */
static inline void pcl_test_read_text(const char *path, char *buffer, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buffer, 1, size - 1, f) : 0;
    buffer[n] = '\0';
    if (f) fclose(f);
}

/* Runs "LAUNCHER perceptcl ARGS" (PCL_PERCEPTCL; launcher "" or an mpirun
 * line) in folder work, its stdout and stderr kept in work/stdout.txt and
 * work/stderr.txt and copied into out (may be NULL) and err. Returns the
 * exit code, 128 when it did not exit. */
static inline int pcl_test_run_launched(const char *work, const char *launcher, const char *args, char *out,
                                        size_t out_size, char *err, size_t err_size)
{
    char command[8192], path[512];
    snprintf(command, sizeof command, "cd %s && %s %s %s >stdout.txt 2>stderr.txt", work, launcher, PCL_PERCEPTCL,
             args);
    int status = system(command);
    if (out) {
        snprintf(path, sizeof path, "%s/stdout.txt", work);
        pcl_test_read_text(path, out, out_size);
    }
    snprintf(path, sizeof path, "%s/stderr.txt", work);
    pcl_test_read_text(path, err, err_size);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* "perceptcl ARGS" as one process. */
static inline int pcl_test_run_perceptcl(const char *work, const char *args, char *out, size_t out_size, char *err,
                                         size_t err_size)
{
    return pcl_test_run_launched(work, "", args, out, out_size, err, err_size);
}

#ifdef PCL_MPIRUN
/* The same under "mpirun --oversubscribe -np ranks" (PCL_MPIRUN): every
 * rank's stdout and stderr land in the same two files. */
static inline int pcl_test_run_mpi(const char *work, int ranks, const char *args, char *out, size_t out_size,
                                   char *err, size_t err_size)
{
    char launcher[1024];
    snprintf(launcher, sizeof launcher, "%s --oversubscribe -np %d", PCL_MPIRUN, ranks);
    return pcl_test_run_launched(work, launcher, args, out, out_size, err, err_size);
}
#endif

#endif
