/* Matrix multiply on the device, by perceptcl's own kernel or by CLBlast.
 * Row-major: C[m,n] = alpha * sum_k op(A)[m,k] op(B)[k,n] + beta * C[m,n],
 * op(A) = A (stored m x k, row stride lda) or A^T (stored k x m); likewise B.
 * Offsets and strides are in floats. The reduction over k runs in a fixed
 * order for a given backend, device and work-group limit (deterministic). */
#ifndef PERCEPTCL_GEMM_H
#define PERCEPTCL_GEMM_H

#include "internal.h"
#include "perceptcl/layers.h"

/* AUTO -> the backend used on this device (PERCEPTCL_GEMM overrides). */
pcl_gemm_backend pcl_gemm_resolve(pcl_context *context, pcl_gemm_backend backend);
const char *pcl_gemm_backend_name(pcl_gemm_backend backend);

pcl_status pcl_gemm(pcl_context *context, pcl_gemm_backend backend, int trans_a, int trans_b, size_t m, size_t n,
                    size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                    size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc);

#endif
