/* perceptcl: the processes of one job, for data-parallel training and
 * sharded evaluation over MPI (one process, a "rank", per OpenCL device).
 *
 *   pcl_comm_open(&argc, &argv, &comm)   once per process, before anything else
 *   pcl_comm_rank(comm), pcl_comm_size(comm), pcl_comm_local_rank(comm)
 *   pcl_comm_sum_floats(comm, values, count)     the same sum on every rank
 *   pcl_comm_shard(comm, count, &begin, &end)    this rank's part of count records
 *   pcl_comm_gather_doubles(comm, mine, n, all, total)   every rank's values, in rank order
 *   pcl_comm_close(comm)
 *
 * MPI is optional at build time (meson -Dmpi=enabled|disabled|auto;
 * pcl_comm_has_mpi says whether this build has it). pcl_comm_open starts MPI
 * only when the process was started by an MPI launcher (mpirun / mpiexec /
 * srun set PMIX_RANK, OMPI_COMM_WORLD_SIZE or PMI_SIZE); otherwise, and in a
 * build without MPI, the job is this one process (rank 0 of 1) and every call
 * below is the identity. A NULL comm is also a job of one process.
 *
 * Determinism: the sums add the ranks' values in rank order 0, 1, ..., N-1
 * (a reduce-scatter with MPI_Alltoallv, the ordered sum of each part, then
 * MPI_Allgatherv), so every rank gets bitwise the same result and two runs
 * with the same N give the same bits, whatever MPI's own reduction
 * algorithms would do. */
#ifndef PERCEPTCL_COMM_H
#define PERCEPTCL_COMM_H

#include "perceptcl/export.h"
#include "perceptcl/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_comm pcl_comm;

/* 1 when this library was built with MPI. */
PCL_API int pcl_comm_has_mpi(void);

/* Joins the job (MPI_Init under a launcher; argc and argv may be NULL).
 * Under a launcher in a build without MPI: PCL_ERR_UNSUPPORTED, saying that
 * N copies of one process would each train alone. */
PCL_API pcl_status pcl_comm_open(int *argc, char ***argv, pcl_comm **comm);
/* Leaves the job (MPI_Finalize); NULL is allowed. */
PCL_API void pcl_comm_close(pcl_comm *comm);
/* Ends every rank of the job now with exit code (MPI_Abort), after
 * flushing stdout and stderr: what a rank that failed does, so that the
 * others do not wait for it forever. A job of one process: exit(code). */
PCL_API void pcl_comm_abort(pcl_comm *comm, int code);

PCL_API int pcl_comm_rank(const pcl_comm *comm);       /* 0 .. size - 1 */
PCL_API int pcl_comm_size(const pcl_comm *comm);       /* >= 1 */
PCL_API int pcl_comm_local_rank(const pcl_comm *comm); /* among the ranks on this machine */
PCL_API int pcl_comm_local_size(const pcl_comm *comm);

/* values[0 .. count) becomes the sum over the ranks of their values[i], added
 * in rank order (see above), on every rank. Every rank passes the same count. */
PCL_API pcl_status pcl_comm_sum_floats(pcl_comm *comm, float *values, size_t count);
PCL_API pcl_status pcl_comm_sum_doubles(pcl_comm *comm, double *values, size_t count);

/* Copies root's bytes into every other rank's data (MPI_Bcast). */
PCL_API pcl_status pcl_comm_broadcast(pcl_comm *comm, void *data, size_t bytes, int root);

/* This rank's contiguous part [*begin, *end) of count records: rank r of N
 * gets [r * count / N, (r + 1) * count / N) (floor), so the parts follow each
 * other in rank order and differ in size by at most one. */
PCL_API void pcl_comm_shard(const pcl_comm *comm, size_t count, size_t *begin, size_t *end);

/* all[0 .. total) = every rank's mine[0 .. count) one after the other in
 * rank order (MPI_Allgatherv), on every rank. The counts may differ between
 * ranks; their sum must be total (PCL_ERR_INVALID_ARGUMENT otherwise).
 * count may be 0. In place: mine may point at this rank's own place in all
 * (all + the counts of the ranks before it), as after computing a shard
 * there; otherwise the two must not overlap. */
PCL_API pcl_status pcl_comm_gather_doubles(pcl_comm *comm, const double *mine, size_t count, double *all,
                                           size_t total);

#ifdef __cplusplus
}
#endif
#endif
