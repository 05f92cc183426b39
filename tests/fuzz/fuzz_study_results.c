/* libFuzzer target: the study kit's plan and results readers
 * (apps/study_analyze.c, reached through `perceptcl study analyze`). The input
 * is a plan.json and a participant's results file, split at the first NUL
 * byte; both are written under /dev/shm and `study analyze --study DIR
 * --examples 0 RESULTS` runs on them (no example figures: they read the
 * study's images), its output sent to /dev/null. ASan catches memory
 * errors; the target aborts if the command returns anything but 0
 * (analysed), 1 (refused) or 2 (usage). */
#define _GNU_SOURCE
#include "study.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[64], plan[96], results[96];
    static int null_fd = -1;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/dev/shm/pcl_fuzz_study_%ld", (long)getpid());
        mkdir(dir, 0700);
        snprintf(plan, sizeof plan, "%s/plan.json", dir);
        snprintf(results, sizeof results, "%s/results.json", dir);
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    }
    const uint8_t *split = memchr(data, '\0', size);
    size_t plan_size = split ? (size_t)(split - data) : size;
    write_file(plan, data, plan_size);
    write_file(results, split ? split + 1 : data, split ? size - plan_size - 1 : 0);
    char *argv[] = {"analyze", "--examples", "0", "--study", dir, results, NULL};
    fflush(stdout);
    int out = dup(1), err = dup(2);
    dup2(null_fd, 1), dup2(null_fd, 2);
    int rc = app_study_run_analyze(6, argv);
    fflush(stdout);
    dup2(out, 1), dup2(err, 2);
    close(out), close(err);
    if (rc < 0 || rc > 2) abort();
    return 0;
}
