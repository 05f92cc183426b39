/* The gradient exchange of data-parallel training, per experiment.
 *
 *   mpirun -np N build/bench/bench_comm [--reps R]
 *
 * For each of the paper's networks (architectures.h): its parameters (from
 * the layer tables), the bytes each rank sends per step in the exchange
 * (reduce-scatter + all-gather: 2 (N - 1) / N of the gradient, what a ring
 * all-reduce moves too), the measured time of pcl_comm_sum_floats on that
 * gradient here (median of R), and the modelled time on links of 10 and 100
 * Gbit/s (bytes / bandwidth, latency ignored: one exchange per 4 MiB bucket
 * makes it negligible at these sizes). Run as one process it prints the model
 * for N = 2 without measuring. Markdown on rank 0's stdout.
 *
 * The second table asks when the exchange hides behind the compute: a
 * training step costs 2 (3 MACs - first layer's MACs) FLOPs per image (as
 * bench_train and torch_ref/flops.py count them); on a device that sustains
 * R FLOP/s, a rank needs at least (exchange seconds) x R / (FLOPs per image)
 * images per step for its backward to last as long as the exchange (the
 * exchange overlaps the backward, so more images than that make it free;
 * fewer leave the link the bottleneck). R: this CPU's ~100 GFLOP/s (what
 * bench_train measures here) and 20 TFLOP/s for a GPU (an assumption, about
 * a third of an H100's FP32 peak: no GPU was measured). */
#include "perceptcl/architectures.h"
#include "perceptcl/comm.h"

#include "bench_common.h"

#include <string.h>

/* Parameters of a layer table: what the trainer exchanges. */
static size_t parameters(const pcl_architecture *arch)
{
    size_t total = 0;
    for (int i = 0; i < arch->count; i++) {
        const pcl_layer_spec *s = &arch->spec[i];
        switch (s->kind) {
        case PCL_LAYER_KIND_CONV2D:
            total += (size_t)s->out * s->in * s->kernel * s->kernel + (size_t)s->out;
            break;
        case PCL_LAYER_KIND_DENSE: total += (size_t)s->out * s->in + (size_t)s->out; break;
        case PCL_LAYER_KIND_BATCHNORM: total += 2 * (size_t)s->out; break;
        default: break;
        }
    }
    return total;
}

int main(int argc, char **argv)
{
    pcl_comm *comm;
    CHECK(pcl_comm_open(&argc, &argv, &comm));
    int reps = 5;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    if (reps < 1 || reps > 1000) reps = 5;
    const int ranks = pcl_comm_size(comm), modelled = ranks > 1 ? ranks : 2, root = pcl_comm_rank(comm) == 0;
    const pcl_architecture *archs[] = {&pcl_arch_srcnn_955,    &pcl_arch_fc_binary_ae, &pcl_arch_conv_ae_96,
                                       &pcl_arch_conv_ae_96_b512, &pcl_arch_elvae_96,    &pcl_arch_yaleb_ae_48};
    if (root)
        printf("| network | parameters | MB sent per rank per step (N = %d) | measured here | 10 Gbit/s | 100 Gbit/s |\n"
               "|---|---|---|---|---|---|\n",
               modelled);
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        const size_t p = parameters(archs[a]);
        const double bytes = 2.0 * (modelled - 1) / modelled * 4.0 * (double)p;
        char measured[64] = "(one process)";
        if (ranks > 1) {
            float *g = calloc(p, sizeof *g);
            if (!g) return fprintf(stderr, "bench_comm: out of memory\n"), 1;
            double t[1000];
            for (int r = 0; r < reps; r++) {
                for (size_t i = 0; i < p; i++) g[i] = (float)(i % 7) * 1e-3f;
                const double t0 = now();
                CHECK(pcl_comm_sum_floats(comm, g, p));
                t[r] = now() - t0;
            }
            qsort(t, (size_t)reps, sizeof t[0], cmp_double);
            snprintf(measured, sizeof measured, "%.1f ms (%.2f GB/s)", 1e3 * t[reps / 2], bytes / t[reps / 2] / 1e9);
            free(g);
        }
        if (root)
            printf("| %s | %.2f M | %.1f | %s | %.1f ms | %.2f ms |\n", archs[a]->name, (double)p / 1e6, bytes / 1e6,
                   measured, 1e3 * bytes * 8.0 / 10e9, 1e3 * bytes * 8.0 / 100e9);
    }
    if (root) {
        printf("\n| network | GFLOP per image (train step) | images per rank per step to hide the exchange: "
               "CPU 100 GFLOP/s, 10 / 100 Gbit/s | GPU 20 TFLOP/s, 10 / 100 Gbit/s |\n|---|---|---|---|\n");
        for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
            double macs, first;
            CHECK(arch_macs(archs[a], 1, &macs, &first));
            const double flops = 2.0 * (3.0 * macs - first);
            const double bytes = 2.0 * (modelled - 1) / modelled * 4.0 * (double)parameters(archs[a]);
            double need[2][2];
            for (int d = 0; d < 2; d++)
                for (int l = 0; l < 2; l++)
                    need[d][l] = bytes * 8.0 / (l ? 100e9 : 10e9) * (d ? 20e12 : 100e9) / flops;
            printf("| %s | %.3f | %.1f / %.1f | %.0f / %.0f |\n", archs[a]->name, flops / 1e9, need[0][0],
                   need[0][1], need[1][0], need[1][1]);
        }
    }
    pcl_comm_close(comm);
    return 0;
}
