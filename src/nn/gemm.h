/* Matrix multiply on the device, by perceptcl's own kernel or by CLBlast.
 * Row-major: C[m,n] = alpha * sum_k op(A)[m,k] op(B)[k,n] + beta * C[m,n],
 * op(A) = A (stored m x k, row stride lda) or A^T (stored k x m); likewise B.
 * Offsets and strides are in floats. The reduction over k runs in a fixed
 * order for a given backend, device and work-group limit (deterministic). */
#ifndef PERCEPTCL_GEMM_H
#define PERCEPTCL_GEMM_H

#include "runtime/internal.h"
#include "perceptcl/layers.h"

/* AUTO -> the backend used on this device (PERCEPTCL_GEMM overrides). */
pcl_gemm_backend pcl_gemm_resolve(pcl_context *context, pcl_gemm_backend backend);
const char *pcl_gemm_backend_name(pcl_gemm_backend backend);

pcl_status pcl_gemm(pcl_context *context, pcl_gemm_backend backend, int trans_a, int trans_b, size_t m, size_t n,
                    size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                    size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc);

/* Scratch a caller keeps between calls (packed panels, split-K partial sums)
 * so that repeated GEMMs do not reallocate; zero-initialise, release with
 * pcl_gemm_scratch_release. NULL where a pcl_gemm_ex takes one: temporary.
 * shared = 1: the buffers are the context's scratch (pcl_context_scratch),
 * shared with every other layer of the context, not this struct's own. */
typedef struct pcl_gemm_scratch {
    cl_mem a, b, partial;
    size_t a_bytes, b_bytes, partial_bytes;
    int shared;
} pcl_gemm_scratch;
void pcl_gemm_scratch_release(pcl_gemm_scratch *scratch);

pcl_status pcl_gemm_ex(pcl_context *context, pcl_gemm_backend backend, pcl_gemm_scratch *scratch, int trans_a,
                       int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda,
                       cl_mem b, size_t b_offset, size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc);

/* The packed path of the own backend (CPU devices; kernels/gemm.cl).
 * Whether the own backend uses it on this context: */
int pcl_gemm_own_packed(pcl_context *context);
/* Panel sizes in floats, and the width of a B panel (callers that write
 * packed B panels themselves, e.g. a convolution's im2col). */
size_t pcl_gemm_packed_a_floats(size_t m, size_t k);
size_t pcl_gemm_packed_b_floats(size_t n, size_t k);
int pcl_gemm_packed_nr(void);
int pcl_gemm_packed_mr(void);
pcl_status pcl_gemm_pack_a(pcl_context *context, int trans_a, size_t m, size_t k, cl_mem a, size_t a_offset,
                           size_t lda, cl_mem ap);
pcl_status pcl_gemm_pack_b(pcl_context *context, int trans_b, size_t n, size_t k, cl_mem b, size_t b_offset,
                           size_t ldb, cl_mem bp);
/* pcl_gemm's packed path with C's period addressing (below): packs B, and
 * A too unless MR divides m and a_offset is 0 (then A is read in place). */
pcl_status pcl_gemm_packed_ex(pcl_context *context, pcl_gemm_scratch *scratch, int trans_a, int trans_b, size_t m,
                              size_t n, size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b,
                              size_t b_offset, size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc,
                              size_t period, size_t ldp);
/* C = alpha Ap Bp + beta C from packed panels. C's element (i, j) is at
 * c_offset + i*ldc + (j / period)*ldp + j % period (period 0: row-major). */
pcl_status pcl_gemm_packed(pcl_context *context, pcl_gemm_scratch *scratch, size_t m, size_t n, size_t k,
                           float alpha, cl_mem ap, cl_mem bp, float beta, cl_mem c, size_t c_offset, size_t ldc,
                           size_t period, size_t ldp);

#endif
