/* perceptcl: one command, one app per file in apps/. */
#include "app.h"

#include <stdio.h>
#include <string.h>

typedef struct app_entry {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} app_entry;

static const app_entry apps[] = {
    {"devices", app_devices, "list OpenCL platforms and devices (--json)"},
    {"ssim", app_ssim, "SSIM / MS-SSIM of images against a reference (--map, --grad, --json)"},
    {"mmd", app_mmd, "the relative-similarity MMD test: which of two image folders is closer to a reference"},
    {"resize", app_resize, "MATLAB-compatible bicubic resize of an image file"},
    {"sr-eval", app_sr_eval, "SRCNN evaluation protocol (PSNR/SSIM on Y) of the bicubic baseline"},
    {"srcnn", app_srcnn, "SRCNN super-resolution with MSE / MAE / MS-SSIM: train, eval (Table 2), upscale, compare"},
    {"fcae", app_fcae, "FC binary autoencoders, MSE against SSIM: train, eval (per-image wins), reconstruct"},
    {"convae", app_convae, "convolutional autoencoders with MSE / MAE / MS-SSIM: train, eval (Table 3), reconstruct"},
    {"elvae", app_elvae, "the expected-loss VAE with MSE / MAE / MS-SSIM: train, sample, reconstruct, select C by MMD"},
    {"datasets", app_datasets, "which corpora a data folder holds and whether they are complete"},
    {"study", app_study, "human-judgment studies: items manifest, make (2AFC / ranking web page), analyze"},
    {"yaleb", app_yaleb, "Extended Yale B (Table 1): autoencoders, bottleneck and pixel features, SVM / SVR, Table 1 over seeds"},
};

static void print_help(FILE *out)
{
    fprintf(out, "perceptcl %s: perceptual losses (SSIM, MS-SSIM) and image synthesis on OpenCL\n\n"
                 "usage: perceptcl <command> [options]   (perceptcl <command> --help for its options)\n\ncommands:\n",
            PCL_VERSION);
    for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++) fprintf(out, "  %-10s %s\n", apps[i].name, apps[i].summary);
    fprintf(out, "  help       this text\n\n%s", app_device_flags_help);
}

/* The commands that run on every rank of a job: train (data parallel),
 * eval and reconstruct (sharded). An entry without a subcommand is the whole app. */
static const char *const parallel_commands[] = {
    "srcnn train", "srcnn eval", "sr-eval", "convae train", "convae eval", "convae reconstruct", "fcae train",
    "fcae eval", "fcae reconstruct", "elvae train", "elvae reconstruct", "yaleb train", "yaleb reconstruct", NULL};

static int runs_in_parallel(int argc, char **argv)
{
    for (const char *const *c = parallel_commands; *c; c++) {
        const char *space = strchr(*c, ' ');
        const size_t n = space ? (size_t)(space - *c) : strlen(*c);
        if (strncmp(argv[1], *c, n) == 0 && argv[1][n] == '\0' &&
            (!space || (argc > 2 && strcmp(argv[2], space + 1) == 0)))
            return 1;
    }
    return 0;
}

/* Runs a command as one rank of the job (comm.h): under mpirun every rank
 * runs the parallel commands above, rank 0 alone the others (the rest wait
 * in MPI_Finalize); a rank that fails ends the job, so the others do not
 * wait for it. */
static int run_in_job(const app_entry *app, int argc, char **argv)
{
    pcl_comm *comm;
    if (pcl_comm_open(&argc, &argv, &comm) != PCL_OK) {
        fprintf(stderr, "perceptcl: %s\n", pcl_last_error());
        return 1;
    }
    app_set_comm(comm);
    if (pcl_comm_size(comm) > 1 && !runs_in_parallel(argc, argv)) {
        if (pcl_comm_rank(comm) != 0) {
            pcl_comm_close(comm);
            return 0;
        }
        const int sub = argc > 2 && argv[2][0] != '-';
        fprintf(stderr, "perceptcl %s%s%s: no parallel mode: rank 0 of %d runs it alone\n", argv[1], sub ? " " : "",
                sub ? argv[2] : "", pcl_comm_size(comm));
        app_set_comm(NULL); /* as a job of one: nothing waits for the other ranks */
    }
    const int rc = app->run(argc - 1, argv + 1);
    if (rc != 0 && pcl_comm_size(comm) > 1) pcl_comm_abort(comm, rc);
    pcl_comm_close(comm);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *command = argv[1];
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0 || strcmp(command, "version") == 0) {
        printf("perceptcl %s\n", PCL_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++)
        if (strcmp(command, apps[i].name) == 0) return run_in_job(&apps[i], argc, argv);
    fprintf(stderr, "perceptcl: unknown command '%s' (perceptcl help lists them)\n", command);
    return 2;
}
