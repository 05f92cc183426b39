/* The processes of one job (comm.h): MPI when built with it and started by
 * a launcher, else a job of one process where every call is the identity. */
#include "perceptcl/comm.h"

#include "runtime/internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PCL_HAVE_MPI
#include <mpi.h>
#endif

struct pcl_comm {
    int rank, size, local_rank, local_size;
    int mpi; /* this process called MPI_Init */
};

int pcl_comm_has_mpi(void)
{
#ifdef PCL_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

/* Whether an MPI launcher started this process (its environment says so). */
static int launched_by_mpi(void)
{
    static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (getenv(names[i])) return 1;
    return 0;
}

#ifdef PCL_HAVE_MPI
static pcl_status mpi_fail(int code, const char *call)
{
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", code);
    return pcl_fail(PCL_ERR_IO, "%s failed: %s", call, text);
}

#define MPI_TRY(call)                                                                                                \
    do {                                                                                                             \
        int mpi_code_ = (call);                                                                                      \
        if (mpi_code_ != MPI_SUCCESS) return mpi_fail(mpi_code_, #call);                                             \
    } while (0)

static pcl_status mpi_open(pcl_comm *c, int *argc, char ***argv)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) MPI_TRY(MPI_Init(argc, argv));
    c->mpi = !initialized;
    /* Errors come back as codes (and so as messages), not as MPI's abort. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &c->rank));
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &c->size));
    MPI_Comm local;
    MPI_TRY(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &local));
    MPI_Comm_rank(local, &c->local_rank);
    MPI_Comm_size(local, &c->local_size);
    MPI_Comm_free(&local);
    return PCL_OK;
}
#endif

pcl_status pcl_comm_open(int *argc, char ***argv, pcl_comm **comm)
{
    if (!comm) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_comm_open: comm is NULL");
    *comm = NULL;
    pcl_comm *c = calloc(1, sizeof *c);
    if (!c) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_comm_open: out of memory");
    c->size = c->local_size = 1;
    if (launched_by_mpi()) {
#ifdef PCL_HAVE_MPI
        pcl_status status = mpi_open(c, argc, argv);
        if (status != PCL_OK) {
            free(c);
            return status;
        }
#else
        (void)argc, (void)argv;
        free(c);
        return pcl_fail(PCL_ERR_UNSUPPORTED, "started by an MPI launcher, but this perceptcl was built without MPI "
                        "(every copy would train alone): rebuild with meson setup -Dmpi=enabled");
#endif
    }
    *comm = c;
    return PCL_OK;
}

void pcl_comm_close(pcl_comm *comm)
{
    if (!comm) return;
#ifdef PCL_HAVE_MPI
    if (comm->mpi) MPI_Finalize();
#endif
    free(comm);
}

void pcl_comm_abort(pcl_comm *comm, int code)
{
    fflush(stdout);
    fflush(stderr);
#ifdef PCL_HAVE_MPI
    if (comm && comm->size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    (void)comm;
    exit(code);
}

int pcl_comm_rank(const pcl_comm *comm) { return comm ? comm->rank : 0; }
int pcl_comm_size(const pcl_comm *comm) { return comm ? comm->size : 1; }
int pcl_comm_local_rank(const pcl_comm *comm) { return comm ? comm->local_rank : 0; }
int pcl_comm_local_size(const pcl_comm *comm) { return comm ? comm->local_size : 1; }

void pcl_comm_shard(const pcl_comm *comm, size_t count, size_t *begin, size_t *end)
{
    const size_t r = (size_t)pcl_comm_rank(comm), n = (size_t)pcl_comm_size(comm);
    /* floor(count * r / n) without overflow: (q n + m) r / n = q r + m r / n */
    const size_t q = count / n, m = count % n;
    *begin = q * r + m * r / n;
    *end = q * (r + 1) + m * (r + 1) / n;
}

#ifdef PCL_HAVE_MPI
/* Values per MPI call: MPI counts are ints. */
enum { PIECE = 1 << 28 };

/* The ordered sum of one piece (count <= PIECE) of floats or doubles. */
static pcl_status sum_piece(pcl_comm *c, void *values, size_t count, MPI_Datatype type, size_t element,
                            void *scratch)
{
    const int n = c->size;
    int sendcounts[n], displs[n], recvcounts[n], rdispls[n];
    for (int j = 0; j < n; j++) {
        const size_t b = count * (size_t)j / (size_t)n, e = count * (size_t)(j + 1) / (size_t)n;
        sendcounts[j] = (int)(e - b);
        displs[j] = (int)b;
    }
    const int mine = sendcounts[c->rank];
    for (int s = 0; s < n; s++) recvcounts[s] = mine, rdispls[s] = s * mine;
    /* reduce-scatter: rank j gathers every rank's part j ... */
    MPI_TRY(MPI_Alltoallv(values, sendcounts, displs, type, scratch, recvcounts, rdispls, type, MPI_COMM_WORLD));
    /* ... adds them in rank order ... */
    char *own = (char *)values + (size_t)displs[c->rank] * element;
    if (type == MPI_FLOAT) {
        const float *parts = scratch;
        float *out = (float *)own;
        for (int i = 0; i < mine; i++) {
            float sum = parts[i];
            for (int s = 1; s < n; s++) sum += parts[(size_t)s * mine + i];
            out[i] = sum;
        }
    } else {
        const double *parts = scratch;
        double *out = (double *)own;
        for (int i = 0; i < mine; i++) {
            double sum = parts[i];
            for (int s = 1; s < n; s++) sum += parts[(size_t)s * mine + i];
            out[i] = sum;
        }
    }
    /* ... and every rank gets every part. */
    MPI_TRY(MPI_Allgatherv(MPI_IN_PLACE, 0, type, values, sendcounts, displs, type, MPI_COMM_WORLD));
    return PCL_OK;
}

static pcl_status sum_values(pcl_comm *c, void *values, size_t count, MPI_Datatype type, size_t element)
{
    const size_t piece = count < PIECE ? count : PIECE;
    /* room for every rank's share of one piece: N * ceil(piece / N) */
    void *scratch = malloc(((piece + (size_t)c->size - 1) / (size_t)c->size) * (size_t)c->size * element + element);
    if (!scratch) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_comm_sum: out of memory for %zu values", piece);
    pcl_status status = PCL_OK;
    for (size_t at = 0; at < count && status == PCL_OK; at += PIECE) {
        const size_t n = count - at < PIECE ? count - at : PIECE;
        status = sum_piece(c, (char *)values + at * element, n, type, element, scratch);
    }
    free(scratch);
    return status;
}
#endif

/* The public sums: a job of one has nothing to add. */
static pcl_status sum_checked(pcl_comm *comm, void *values, size_t count, size_t element, const char *name)
{
    if (pcl_comm_size(comm) == 1 || count == 0) return PCL_OK;
    if (!values) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: values is NULL", name);
#ifdef PCL_HAVE_MPI
    return sum_values(comm, values, count, element == sizeof(float) ? MPI_FLOAT : MPI_DOUBLE, element);
#else
    return PCL_OK;
#endif
}

pcl_status pcl_comm_sum_floats(pcl_comm *comm, float *values, size_t count)
{
    return sum_checked(comm, values, count, sizeof *values, "pcl_comm_sum_floats");
}

pcl_status pcl_comm_sum_doubles(pcl_comm *comm, double *values, size_t count)
{
    return sum_checked(comm, values, count, sizeof *values, "pcl_comm_sum_doubles");
}

pcl_status pcl_comm_broadcast(pcl_comm *comm, void *data, size_t bytes, int root)
{
    if (pcl_comm_size(comm) == 1 || bytes == 0) return PCL_OK;
    if (!data || root < 0 || root >= comm->size)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_comm_broadcast: NULL data or root %d of %d ranks", root,
                        comm->size);
#ifdef PCL_HAVE_MPI
    for (size_t at = 0; at < bytes; at += PIECE) {
        const size_t n = bytes - at < PIECE ? bytes - at : PIECE;
        MPI_TRY(MPI_Bcast((char *)data + at, (int)n, MPI_BYTE, root, MPI_COMM_WORLD));
    }
#endif
    return PCL_OK;
}

pcl_status pcl_comm_gather_doubles(pcl_comm *comm, const double *mine, size_t count, double *all, size_t total)
{
    if ((count && !mine) || (total && !all))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_comm_gather_doubles: NULL values");
    if (pcl_comm_size(comm) == 1) {
        if (count != total)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_comm_gather_doubles: %zu values, %zu expected", count, total);
        if (count) memmove(all, mine, count * sizeof *all);
        return PCL_OK;
    }
#ifdef PCL_HAVE_MPI
    const int n = comm->size;
    long long my = (long long)count, counts[n];
    MPI_TRY(MPI_Allgather(&my, 1, MPI_LONG_LONG, counts, 1, MPI_LONG_LONG, MPI_COMM_WORLD));
    int icounts[n], displs[n];
    size_t sum = 0;
    for (int r = 0; r < n; r++) {
        if (sum > INT_MAX || (size_t)counts[r] > (size_t)INT_MAX - sum)
            return pcl_fail(PCL_ERR_TOO_LARGE, "pcl_comm_gather_doubles: more than %d values", INT_MAX);
        icounts[r] = (int)counts[r];
        displs[r] = (int)sum;
        sum += (size_t)counts[r];
    }
    if (sum != total)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_comm_gather_doubles: the ranks have %zu values, %zu expected",
                        sum, total);
    const int in_place = mine == all + displs[comm->rank];
    MPI_TRY(MPI_Allgatherv(in_place ? MPI_IN_PLACE : mine, in_place ? 0 : (int)count, MPI_DOUBLE, all, icounts,
                           displs, MPI_DOUBLE, MPI_COMM_WORLD));
#endif
    return PCL_OK;
}
