/* comm.h under mpirun (3 ranks: uneven shards, an order that matters): each
 * rank makes every rank's values from the rank's seed, so it knows the
 * answer without asking: the sums must be the rank-order sums bitwise, the
 * gathers the concatenation in rank order, the shards a partition. Not a
 * Check suite: mpirun starts the ranks; exit 0 on every rank when all hold. */
#include "perceptcl/comm.h"
#include "perceptcl/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* One line per failure, written at once (the ranks share stderr). */
#define EXPECT(cond, ...)                                                                                            \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            char line_[512];                                                                                         \
            int at_ = snprintf(line_, sizeof line_, "rank %d: ", pcl_comm_rank(comm));                               \
            snprintf(line_ + at_, sizeof line_ - (size_t)at_, __VA_ARGS__);                                          \
            fprintf(stderr, "%s\n", line_);                                                                          \
            failures++;                                                                                              \
        }                                                                                                            \
    } while (0)

/* Rank r's values: Gaussians of very different magnitudes, so that the
 * order of the additions changes the float result. */
static void values_of(int rank, float *v, size_t count)
{
    uint64_t state = 1000 + (uint64_t)rank;
    pcl_random_gaussian_fill(v, count, &state);
    for (size_t i = 0; i < count; i++) v[i] *= (float)pow(10.0, (double)((i + (size_t)rank) % 9) - 4.0);
}

int main(int argc, char **argv)
{
    pcl_comm *comm = NULL;
    if (pcl_comm_open(&argc, &argv, &comm) != PCL_OK) {
        fprintf(stderr, "pcl_comm_open: %s\n", pcl_last_error());
        return 1;
    }
    const int rank = pcl_comm_rank(comm), ranks = pcl_comm_size(comm);
    if (ranks < 2) {
        fprintf(stderr, "mpi_comm_check: run under mpirun with 2 or more ranks (got %d)\n", ranks);
        pcl_comm_close(comm);
        return 1;
    }
    EXPECT(pcl_comm_local_rank(comm) >= 0 && pcl_comm_local_rank(comm) < pcl_comm_local_size(comm),
           "local rank %d of %d", pcl_comm_local_rank(comm), pcl_comm_local_size(comm));

    /* ordered sums, float and double, of a length that no rank count divides */
    const size_t count = 1009;
    float *mine = malloc(count * sizeof *mine), *other = malloc(count * sizeof *other),
          *expected = malloc(count * sizeof *expected);
    double *mine_d = malloc(count * sizeof *mine_d), *expected_d = malloc(count * sizeof *expected_d);
    values_of(rank, mine, count);
    for (size_t i = 0; i < count; i++) mine_d[i] = (double)mine[i] * (1.0 + 1e-9 * (double)rank);
    for (int r = 0; r < ranks; r++) {
        values_of(r, other, count);
        for (size_t i = 0; i < count; i++) {
            expected[i] = r == 0 ? other[i] : expected[i] + other[i];
            const double d = (double)other[i] * (1.0 + 1e-9 * (double)r);
            expected_d[i] = r == 0 ? d : expected_d[i] + d;
        }
    }
    EXPECT(pcl_comm_sum_floats(comm, mine, count) == PCL_OK, "sum_floats: %s", pcl_last_error());
    EXPECT(pcl_comm_sum_doubles(comm, mine_d, count) == PCL_OK, "sum_doubles: %s", pcl_last_error());
    EXPECT(memcmp(mine, expected, count * sizeof *mine) == 0, "the float sums are not the rank-order sums");
    EXPECT(memcmp(mine_d, expected_d, count * sizeof *mine_d) == 0, "the double sums are not the rank-order sums");

    /* shards: a partition in rank order, sizes within one */
    size_t begin, end;
    const size_t records = 10;
    pcl_comm_shard(comm, records, &begin, &end);
    double bounds[2] = {(double)begin, (double)end}, all_bounds[64];
    EXPECT(ranks <= 32, "too many ranks for this check");
    EXPECT(pcl_comm_gather_doubles(comm, bounds, 2, all_bounds, 2 * (size_t)ranks) == PCL_OK, "gather: %s",
           pcl_last_error());
    for (int r = 0; r < ranks; r++) {
        EXPECT(all_bounds[2 * r] == (r ? all_bounds[2 * r - 1] : 0.0), "shard %d does not follow shard %d", r, r - 1);
        const double size = all_bounds[2 * r + 1] - all_bounds[2 * r];
        EXPECT(size == floor((double)records / ranks) || size == ceil((double)records / ranks), "shard %d has %g records",
               r, size);
    }
    EXPECT(all_bounds[2 * ranks - 1] == (double)records, "the shards end at %g of %zu", all_bounds[2 * ranks - 1],
           records);

    /* gathers of uneven counts (rank r gives r + 1 values r, r + 0.5, ...), in rank order */
    double given[32], gathered[600];
    for (int k = 0; k <= rank; k++) given[k] = rank + 0.5 * k;
    const size_t total = (size_t)ranks * (size_t)(ranks + 1) / 2;
    EXPECT(pcl_comm_gather_doubles(comm, given, (size_t)rank + 1, gathered, total) == PCL_OK, "gather: %s",
           pcl_last_error());
    for (int r = 0, at = 0; r < ranks; r++)
        for (int k = 0; k <= r; k++, at++)
            EXPECT(gathered[at] == r + 0.5 * k, "gathered[%d] = %g, rank %d's value %d is %g", at, gathered[at], r, k,
                   r + 0.5 * k);
    /* the same in place: each rank's values already at its place in the array */
    double in_place[600];
    for (int r = 0, at = 0; r < ranks; r++)
        for (int k = 0; k <= r; k++, at++) in_place[at] = r == rank ? r + 0.5 * k : -1.0;
    const size_t offset = (size_t)rank * (size_t)(rank + 1) / 2;
    EXPECT(pcl_comm_gather_doubles(comm, in_place + offset, (size_t)rank + 1, in_place, total) == PCL_OK,
           "gather in place: %s", pcl_last_error());
    EXPECT(memcmp(in_place, gathered, total * sizeof *gathered) == 0, "the gather in place differs");
    /* a wrong total is refused on every rank, and nobody hangs */
    EXPECT(pcl_comm_gather_doubles(comm, given, (size_t)rank + 1, gathered, total + 1) == PCL_ERR_INVALID_ARGUMENT,
           "a wrong total was accepted");

    /* broadcast from the last rank */
    char text[32];
    snprintf(text, sizeof text, "from rank %d", rank);
    EXPECT(pcl_comm_broadcast(comm, text, sizeof text, ranks - 1) == PCL_OK, "broadcast: %s", pcl_last_error());
    char want[32];
    snprintf(want, sizeof want, "from rank %d", ranks - 1);
    EXPECT(strcmp(text, want) == 0, "broadcast gave '%s'", text);

    free(mine), free(other), free(expected), free(mine_d), free(expected_d);
    /* every rank's verdict, so that a failure anywhere fails everywhere */
    double failed = failures;
    pcl_comm_sum_doubles(comm, &failed, 1);
    if (rank == 0) printf("mpi_comm_check: %d ranks, %s\n", ranks, failed ? "FAILED" : "all checks passed");
    pcl_comm_close(comm);
    return failed ? 1 : 0;
}
