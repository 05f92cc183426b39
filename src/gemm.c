/* Matrix multiply dispatch: perceptcl's tiled kernel (kernels/gemm.cl) or
 * CLBlast, chosen per device (see pcl_gemm_resolve and bench/bench_layers). */
#include "gemm.h"

#include "context.h"

#include <clblast_c.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pcl_gemm_backend_name(pcl_gemm_backend backend)
{
    switch (backend) {
    case PCL_GEMM_OWN: return "own";
    case PCL_GEMM_CLBLAST: return "clblast";
    default: return "auto";
    }
}

pcl_gemm_backend pcl_gemm_resolve(pcl_context *context, pcl_gemm_backend backend)
{
    if (backend != PCL_GEMM_AUTO) return backend;
    const char *env = getenv("PERCEPTCL_GEMM");
    if (env && strcmp(env, "own") == 0) return PCL_GEMM_OWN;
    if (env && strcmp(env, "clblast") == 0) return PCL_GEMM_CLBLAST;
    /* Measured on PoCL (bench/RESULTS.md): the own kernel beats untuned
     * CLBlast on CPU devices. GPUs: CLBlast ships tuned parameters for many. */
    return context->info.type == PCL_DEVICE_TYPE_CPU ? PCL_GEMM_OWN : PCL_GEMM_CLBLAST;
}

typedef struct gemm_shape {
    int wg_m, wg_n, wpt_m, wpt_n, tile_k;
} gemm_shape;

/* The tile shape for this device's work-group limit; PERCEPTCL_GEMM_SHAPE
 * ("wg_m,wg_n,wpt_m,wpt_n,tile_k") overrides it for tuning. */
static gemm_shape choose_shape(size_t limit)
{
    gemm_shape s = {8, 8, 4, 4, 16};
    const char *env = getenv("PERCEPTCL_GEMM_SHAPE");
    gemm_shape e;
    if (env && sscanf(env, "%d,%d,%d,%d,%d", &e.wg_m, &e.wg_n, &e.wpt_m, &e.wpt_n, &e.tile_k) == 5 && e.wg_m > 0 &&
        e.wg_n > 0 && e.wpt_m > 0 && e.wpt_n > 0 && e.tile_k > 0 && (size_t)e.wg_m * e.wg_n <= limit)
        return e;
    if (limit >= 256) s.wg_m = s.wg_n = 16;
    else if (limit >= 64) s.wg_m = s.wg_n = 8;
    else if (limit >= 16) s.wg_m = s.wg_n = 4;
    else if (limit >= 4) s.wg_m = s.wg_n = 2;
    else s.wg_m = s.wg_n = 1;
    return s;
}

/* The CPU-device kernel: RM rows x 16 columns per item, no local memory
 * (PoCL vectorises it well; the tiled kernel's local-memory panels it does
 * not). A transposed B is transposed into a temporary buffer first. */
#define ROWS_RM 6

static pcl_status rows_gemm(pcl_context *context, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                            float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                            size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
{
    cl_mem bt = NULL;
    if (trans_b) {
        /* B is stored n x k: make the k x n copy. */
        PCL_TRY(pcl_buffer_create(context, n * k * sizeof(float), &bt));
        cl_kernel kernel;
        cl_int rows = (cl_int)n, cols = (cl_int)k, ld = (cl_int)ldb;
        cl_ulong off = b_offset;
        pcl_status status = pcl_kernel_get(context, "gemm.cl", NULL, "transpose", &kernel);
        if (status == PCL_OK)
            status = pcl_kernel_set_args(kernel, "transpose", 6, sizeof rows, &rows, sizeof cols, &cols, sizeof b, &b,
                                         sizeof off, &off, sizeof ld, &ld, sizeof bt, &bt);
        size_t global[2] = {k, n};
        if (status == PCL_OK) status = pcl_kernel_launch(context, kernel, "transpose", 2, global, NULL);
        if (status != PCL_OK) {
            pcl_buffer_release(bt);
            return status;
        }
        b = bt, b_offset = 0, ldb = n;
    }
    char options[64];
    snprintf(options, sizeof options, "-DTRANS_A=%d -DRM=%d -DNDIM=1", trans_a ? 1 : 0, ROWS_RM);
    cl_kernel kernel;
    pcl_status status = pcl_kernel_get(context, "gemm.cl", options, "gemm_rows", &kernel);
    cl_int M = (cl_int)m, N = (cl_int)n, K = (cl_int)k, LDA = (cl_int)lda, LDB = (cl_int)ldb, LDC = (cl_int)ldc;
    cl_ulong ao = a_offset, bo = b_offset, co = c_offset;
    if (status == PCL_OK)
        status = pcl_kernel_set_args(kernel, "gemm_rows", 14, sizeof M, &M, sizeof N, &N, sizeof K, &K, sizeof alpha,
                                     &alpha, sizeof a, &a, sizeof ao, &ao, sizeof LDA, &LDA, sizeof b, &b, sizeof bo,
                                     &bo, sizeof LDB, &LDB, sizeof beta, &beta, sizeof c, &c, sizeof co, &co,
                                     sizeof LDC, &LDC);
    size_t global[2] = {(m + ROWS_RM - 1) / ROWS_RM, (n + 15) / 16}; /* NDIM = 1: dimension 1 walks columns */
    if (status == PCL_OK) status = pcl_kernel_launch(context, kernel, "gemm_rows", 2, global, NULL);
    /* The in-order queue keeps bt alive for the enqueued kernel after release. */
    if (bt) pcl_buffer_release(bt);
    return status;
}

static pcl_status own_gemm(pcl_context *context, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                           float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                           size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
{
    /* Which own kernel: rows on CPU devices, tiled elsewhere;
     * PERCEPTCL_GEMM_KERNEL=rows|tiled overrides (tests run both). */
    const char *which = getenv("PERCEPTCL_GEMM_KERNEL");
    int rows = which && *which ? strcmp(which, "rows") == 0 : context->info.type == PCL_DEVICE_TYPE_CPU;
    if (rows)
        return rows_gemm(context, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb, beta, c,
                         c_offset, ldc);
    size_t limit = context->info.max_work_group_size;
    if (context->work_group_limit && context->work_group_limit < limit) limit = context->work_group_limit;
    gemm_shape s = choose_shape(limit ? limit : 1);
    char options[160];
    snprintf(options, sizeof options, "-DTRANS_A=%d -DTRANS_B=%d -DWG_M=%d -DWG_N=%d -DWPT_M=%d -DWPT_N=%d -DTILE_K=%d",
             trans_a ? 1 : 0, trans_b ? 1 : 0, s.wg_m, s.wg_n, s.wpt_m, s.wpt_n, s.tile_k);
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(context, "gemm.cl", options, "gemm", &kernel));
    cl_int M = (cl_int)m, N = (cl_int)n, K = (cl_int)k, LDA = (cl_int)lda, LDB = (cl_int)ldb, LDC = (cl_int)ldc;
    cl_ulong ao = a_offset, bo = b_offset, co = c_offset;
    PCL_TRY(pcl_kernel_set_args(kernel, "gemm", 14, sizeof M, &M, sizeof N, &N, sizeof K, &K, sizeof alpha, &alpha,
                                sizeof a, &a, sizeof ao, &ao, sizeof LDA, &LDA, sizeof b, &b, sizeof bo, &bo,
                                sizeof LDB, &LDB, sizeof beta, &beta, sizeof c, &c, sizeof co, &co, sizeof LDC,
                                &LDC));
    size_t tile_m = (size_t)s.wg_m * s.wpt_m, tile_n = (size_t)s.wg_n * s.wpt_n;
    size_t global[2] = {(n + tile_n - 1) / tile_n * s.wg_n, (m + tile_m - 1) / tile_m * s.wg_m};
    size_t local[2] = {(size_t)s.wg_n, (size_t)s.wg_m};
    return pcl_kernel_launch(context, kernel, "gemm", 2, global, local);
}

static pcl_status clblast_gemm(pcl_context *context, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                               float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                               size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
{
    cl_command_queue queue = context->queue;
    CLBlastStatusCode code =
        CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                     trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, a_offset, lda, b,
                     b_offset, ldb, beta, c, c_offset, ldc, &queue, NULL);
    if (code != CLBlastSuccess)
        return pcl_fail(PCL_ERR_OPENCL, "CLBlastSgemm(%zux%zux%zu) failed on '%s': CLBlast status %d%s%s", m, n, k,
                        context->info.name, (int)code, code > -1000 ? ", " : "",
                        code > -1000 ? pcl_cl_error_name((cl_int)code) : "");
    return PCL_OK;
}

pcl_status pcl_gemm(pcl_context *context, pcl_gemm_backend backend, int trans_a, int trans_b, size_t m, size_t n,
                    size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                    size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
{
    if (!context || !a || !b || !c) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_gemm: NULL argument");
    if (m == 0 || n == 0) return PCL_OK;
    size_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    if (lda < a_cols || ldb < b_cols || ldc < n)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_gemm: row strides %zu, %zu, %zu below the widths %zu, %zu, %zu",
                        lda, ldb, ldc, a_cols, b_cols, n);
    /* The own kernel indexes with int within each matrix. */
    size_t a_rows = trans_a ? k : m, b_rows = trans_b ? n : k;
    if (a_rows * lda > INT_MAX || b_rows * ldb > INT_MAX || m * ldc > INT_MAX)
        return pcl_fail(PCL_ERR_TOO_LARGE, "pcl_gemm: a %zux%zux%zu product exceeds 2^31 elements per matrix", m, n,
                        k);
    if (k == 0) {
        /* Nothing to sum: C = beta C. Not needed by the layers. */
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_gemm: k = 0");
    }
    switch (pcl_gemm_resolve(context, backend)) {
    case PCL_GEMM_CLBLAST:
        return clblast_gemm(context, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb, beta, c,
                            c_offset, ldc);
    default:
        return own_gemm(context, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb, beta, c,
                        c_offset, ldc);
    }
}
