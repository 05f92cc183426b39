/* Matrix multiply dispatch: perceptcl's packed or tiled kernels (kernels/gemm.cl) or
 * CLBlast, chosen per device (see pcl_gemm_resolve and bench/bench_layers). */
#include "nn/gemm.h"

#include "runtime/context.h"

#include <clblast_c.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pcl_gemm_backend_name(pcl_gemm_backend backend)
{
    switch (backend) {
    case PCL_GEMM_BACKEND_OWN: return "own";
    case PCL_GEMM_BACKEND_CLBLAST: return "clblast";
    default: return "auto";
    }
}

pcl_gemm_backend pcl_gemm_resolve(pcl_context *context, pcl_gemm_backend backend)
{
    if (backend != PCL_GEMM_BACKEND_AUTO) return backend;
    const char *env = getenv("PERCEPTCL_GEMM");
    if (env && strcmp(env, "own") == 0) return PCL_GEMM_BACKEND_OWN;
    if (env && strcmp(env, "clblast") == 0) return PCL_GEMM_BACKEND_CLBLAST;
    /* Measured on PoCL (bench/RESULTS.md): the own kernel beats untuned
     * CLBlast on CPU devices. GPUs: CLBlast ships tuned parameters for many. */
    return context->info.type == PCL_DEVICE_TYPE_CPU ? PCL_GEMM_BACKEND_OWN : PCL_GEMM_BACKEND_CLBLAST;
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

/* The CPU-device path: pack both operands into panels, then the register-
 * blocked micro-kernel (kernels/gemm.cl, "packed path"). */
#define PACK_MR 8
#define PACK_NR 32

static pcl_status reserve(pcl_context *context, cl_mem *buffer, size_t *capacity, size_t bytes)
{
    if (*buffer && *capacity >= bytes) return PCL_OK;
    if (*buffer) pcl_buffer_release(*buffer);
    *buffer = NULL;
    *capacity = 0;
    PCL_TRY(pcl_buffer_create(context, bytes, buffer));
    *capacity = bytes;
    return PCL_OK;
}

/* reserve for a scratch buffer of s: the context's slot when s is shared. */
static pcl_status reserve_scratch(pcl_context *context, pcl_gemm_scratch *s, pcl_scratch_slot slot, cl_mem *buffer,
                                  size_t *capacity, size_t bytes)
{
    if (s->shared) return pcl_context_scratch(context, slot, bytes, buffer);
    return reserve(context, buffer, capacity, bytes);
}

void pcl_gemm_scratch_release(pcl_gemm_scratch *scratch)
{
    if (!scratch) return;
    if (scratch->shared) { /* borrowed */
        memset(scratch, 0, sizeof *scratch);
        return;
    }
    if (scratch->a) pcl_buffer_release(scratch->a);
    if (scratch->b) pcl_buffer_release(scratch->b);
    if (scratch->partial) pcl_buffer_release(scratch->partial);
    memset(scratch, 0, sizeof *scratch);
}

static void packed_options(char *options, size_t size, int trans_a, int trans_b)
{
    snprintf(options, size, "-DTRANS_A=%d -DTRANS_B=%d -DMR=%d -DNR=%d", trans_a ? 1 : 0, trans_b ? 1 : 0, PACK_MR,
             PACK_NR);
}

static void strided_options(char *options, size_t size)
{
    snprintf(options, size, "-DTRANS_A=0 -DTRANS_B=0 -DMR=%d -DNR=%d -DA_STRIDED=1", PACK_MR, PACK_NR);
}

size_t pcl_gemm_packed_a_floats(size_t m, size_t k)
{
    return (m + PACK_MR - 1) / PACK_MR * PACK_MR * k;
}

size_t pcl_gemm_packed_b_floats(size_t n, size_t k)
{
    return (n + PACK_NR - 1) / PACK_NR * PACK_NR * k;
}

int pcl_gemm_packed_nr(void)
{
    return PACK_NR;
}

int pcl_gemm_packed_mr(void)
{
    return PACK_MR;
}

static pcl_status pack(pcl_context *context, int which_b, int trans, size_t rows, size_t k, cl_mem src,
                       size_t offset, size_t ld, cl_mem dst)
{
    char options[96];
    packed_options(options, sizeof options, which_b ? 0 : trans, which_b ? trans : 0);
    const char *name = which_b ? "pack_b" : "pack_a";
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(context, "gemm.cl", options, name, &kernel));
    cl_int R = (cl_int)rows, K = (cl_int)k, LD = (cl_int)ld;
    cl_ulong off = offset;
    PCL_TRY(pcl_kernel_set_args(kernel, name, 6, sizeof R, &R, sizeof K, &K, sizeof src, &src, sizeof off, &off,
                                sizeof LD, &LD, sizeof dst, &dst));
    size_t panel = which_b ? PACK_NR : PACK_MR;
    size_t global[2] = {k, (rows + panel - 1) / panel};
    return pcl_kernel_launch(context, kernel, name, 2, global, NULL);
}

pcl_status pcl_gemm_pack_a(pcl_context *context, int trans_a, size_t m, size_t k, cl_mem a, size_t a_offset,
                           size_t lda, cl_mem ap)
{
    return pack(context, 0, trans_a, m, k, a, a_offset, lda, ap);
}

pcl_status pcl_gemm_pack_b(pcl_context *context, int trans_b, size_t n, size_t k, cl_mem b, size_t b_offset,
                           size_t ldb, cl_mem bp)
{
    return pack(context, 1, trans_b, n, k, b, b_offset, ldb, bp);
}

/* Cache blocking: the k loop is cut into blocks of KC, one launch each,
 * accumulating into C (beta = 1 after the first block, ascending order):
 * a block's B panel (KC x NR floats) then stays in L1 while the items of a
 * work-group (consecutive row panels) reuse it, and the A block in L2.
 * Few output blocks with a long k (weight gradients): split-K instead, the
 * slices' partial sums added in order by gemm_reduce, so both cores work. */
#define KC 2048
#define SPLIT_BELOW_TILES 16
#define PARTIAL_FLOATS ((size_t)16 << 20)

static pcl_status launch_packed(pcl_context *context, cl_kernel kernel, size_t m, size_t n, size_t k, size_t kbase,
                                size_t kslice, size_t slices, float alpha, cl_mem ap, cl_mem bp, float beta, cl_mem c,
                                size_t c_offset, size_t ldc, size_t period, size_t ldp, cl_mem partial, cl_int sm,
                                cl_int sk)
{
    cl_int M = (cl_int)m, N = (cl_int)n, K = (cl_int)k, KB = (cl_int)kbase, KS = (cl_int)kslice, LDC = (cl_int)ldc,
           PER = (cl_int)period, LDP = (cl_int)ldp, split = slices > 1;
    cl_ulong co = c_offset;
    PCL_CL_CHECK(clSetKernelArg(kernel, 16, sizeof sm, &sm), "clSetKernelArg(gemm_packed, 16)");
    PCL_CL_CHECK(clSetKernelArg(kernel, 17, sizeof sk, &sk), "clSetKernelArg(gemm_packed, 17)");
    PCL_TRY(pcl_kernel_set_args(kernel, "gemm_packed", 16, sizeof M, &M, sizeof N, &N, sizeof K, &K, sizeof KB, &KB,
                                sizeof KS, &KS, sizeof alpha, &alpha, sizeof ap, &ap, sizeof bp, &bp, sizeof beta,
                                &beta, sizeof c, &c, sizeof co, &co, sizeof LDC, &LDC, sizeof PER, &PER, sizeof LDP,
                                &LDP, sizeof split, &split, sizeof partial, &partial));
    size_t global[3] = {(m + PACK_MR - 1) / PACK_MR, (n + PACK_NR - 1) / PACK_NR, slices};
    return pcl_kernel_launch(context, kernel, "gemm_packed", 3, global, NULL);
}

static pcl_status gemm_packed_any(pcl_context *context, pcl_gemm_scratch *scratch, size_t m, size_t n, size_t k,
                                  float alpha, cl_mem ap, size_t a_offset, cl_int sm, cl_int sk, cl_mem bp,
                                  float beta, cl_mem c, size_t c_offset, size_t ldc, size_t period, size_t ldp);

pcl_status pcl_gemm_packed(pcl_context *context, pcl_gemm_scratch *scratch, size_t m, size_t n, size_t k,
                           float alpha, cl_mem ap, cl_mem bp, float beta, cl_mem c, size_t c_offset, size_t ldc,
                           size_t period, size_t ldp)
{
    return gemm_packed_any(context, scratch, m, n, k, alpha, ap, 0, 0, 0, bp, beta, c, c_offset, ldc, period, ldp);
}

/* sm == 0: A packed in ap; else A read in place at ap + a_offset with
 * element (i, k) at i*sm + k*sk (MR must divide m). */
static pcl_status gemm_packed_any(pcl_context *context, pcl_gemm_scratch *scratch, size_t m, size_t n, size_t k,
                                  float alpha, cl_mem ap, size_t a_offset, cl_int sm, cl_int sk, cl_mem bp,
                                  float beta, cl_mem c, size_t c_offset, size_t ldc, size_t period, size_t ldp)
{
    if (period == 0 || period > n) period = n, ldp = 0;
    char options[96];
    if (sm) strided_options(options, sizeof options);
    else packed_options(options, sizeof options, 0, 0);
    if (sm && a_offset) /* the kernel takes no A offset (packed_gemm never asks) */
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "gemm: strided A with an offset");
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(context, "gemm.cl", options, "gemm_packed", &kernel));
    size_t tiles = (m + PACK_MR - 1) / PACK_MR * ((n + PACK_NR - 1) / PACK_NR);
    size_t slices = 1;
    if (tiles < SPLIT_BELOW_TILES && k > 4 * KC) {
        slices = (SPLIT_BELOW_TILES + tiles - 1) / tiles;
        if (slices > k / KC) slices = k / KC;
        while (slices > 1 && slices * m * n > PARTIAL_FLOATS) slices /= 2;
    }
    if (slices <= 1) {
        size_t kc = KC;
        const char *env = getenv("PERCEPTCL_GEMM_KC"); /* tuning */
        if (env && atoi(env) > 0) kc = (size_t)atoi(env);
        for (size_t k0 = 0; k0 < k; k0 += kc)
            PCL_TRY(launch_packed(context, kernel, m, n, k, k0, kc, 1, alpha, ap, bp, k0 ? 1.0f : beta, c, c_offset,
                                  ldc, period, ldp, c, sm, sk));
        return PCL_OK;
    }
    size_t kslice = (k + slices - 1) / slices;
    slices = (k + kslice - 1) / kslice;
    pcl_gemm_scratch local = {0};
    if (!scratch) scratch = &local;
    pcl_status status = reserve_scratch(context, scratch, PCL_SCRATCH_SLOT_GEMM_PARTIAL, &scratch->partial,
                                        &scratch->partial_bytes, slices * m * n * sizeof(float));
    cl_mem partial = scratch->partial;
    if (status == PCL_OK)
        status = launch_packed(context, kernel, m, n, k, 0, kslice, slices, alpha, ap, bp, beta, c, c_offset, ldc,
                               period, ldp, partial, sm, sk);
    if (status == PCL_OK) {
        cl_int M = (cl_int)m, N = (cl_int)n, S = (cl_int)slices, LDC = (cl_int)ldc, PER = (cl_int)period,
               LDP = (cl_int)ldp;
        cl_ulong co = c_offset;
        status = pcl_kernel_get(context, "gemm.cl", options, "gemm_reduce", &kernel);
        if (status == PCL_OK)
            status = pcl_kernel_set_args(kernel, "gemm_reduce", 11, sizeof M, &M, sizeof N, &N, sizeof S, &S,
                                         sizeof alpha, &alpha, sizeof partial, &partial, sizeof beta, &beta, sizeof c,
                                         &c, sizeof co, &co, sizeof LDC, &LDC, sizeof PER, &PER, sizeof LDP, &LDP);
        size_t g2[2] = {n, m};
        if (status == PCL_OK) status = pcl_kernel_launch(context, kernel, "gemm_reduce", 2, g2, NULL);
    }
    /* The in-order queue keeps released scratch alive for enqueued kernels. */
    pcl_gemm_scratch_release(&local);
    return status;
}

static pcl_status packed_gemm(pcl_context *context, pcl_gemm_scratch *scratch, int trans_a, int trans_b, size_t m,
                              size_t n, size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b,
                              size_t b_offset, size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
{
    return pcl_gemm_packed_ex(context, scratch, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb,
                              beta, c, c_offset, ldc, 0, 0);
}

pcl_status pcl_gemm_packed_ex(pcl_context *context, pcl_gemm_scratch *scratch, int trans_a, int trans_b, size_t m,
                              size_t n, size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b,
                              size_t b_offset, size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc,
                              size_t period, size_t ldp)
{
    pcl_gemm_scratch local = {0};
    if (!scratch) scratch = &local;
    /* A is read in place (no packing pass) when its rows run along k (not
     * transposed), every MR-row panel is complete and it starts at offset 0;
     * PERCEPTCL_GEMM_PACK_A=1 packs always, 0 only where A cannot be read in
     * place. A transposed A read in place takes MR floats from a new row of
     * memory at every k: the FC AE's input and weight gradients ran at 19-24%
     * of the FMA peak that way and 25-40% faster packed (bench/RESULTS.md). */
    const char *env = getenv("PERCEPTCL_GEMM_PACK_A");
    const int pack_always = env && *env == '1', pack_never = env && *env == '0';
    int strided = m % PACK_MR == 0 && a_offset == 0 && !pack_always && (!trans_a || pack_never);
    pcl_status status = PCL_OK;
    if (!strided)
        status = reserve_scratch(context, scratch, PCL_SCRATCH_SLOT_GEMM_A, &scratch->a, &scratch->a_bytes,
                                 pcl_gemm_packed_a_floats(m, k) * 4);
    if (status == PCL_OK)
        status = reserve_scratch(context, scratch, PCL_SCRATCH_SLOT_GEMM_B, &scratch->b, &scratch->b_bytes,
                                 pcl_gemm_packed_b_floats(n, k) * 4);
    if (status == PCL_OK && !strided) status = pcl_gemm_pack_a(context, trans_a, m, k, a, a_offset, lda, scratch->a);
    if (status == PCL_OK) status = pcl_gemm_pack_b(context, trans_b, n, k, b, b_offset, ldb, scratch->b);
    if (status == PCL_OK && strided)
        status = gemm_packed_any(context, scratch, m, n, k, alpha, a, 0, trans_a ? 1 : (cl_int)lda,
                                 trans_a ? (cl_int)lda : 1, scratch->b, beta, c, c_offset, ldc, period, ldp);
    else if (status == PCL_OK)
        status = pcl_gemm_packed(context, scratch, m, n, k, alpha, scratch->a, scratch->b, beta, c, c_offset, ldc,
                                 period, ldp);
    pcl_gemm_scratch_release(&local);
    return status;
}

static pcl_status own_gemm(pcl_context *context, pcl_gemm_scratch *scratch, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                           float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                           size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
{
    if (pcl_gemm_own_packed(context))
        return packed_gemm(context, scratch, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb,
                           beta, c, c_offset, ldc);
    size_t limit = context->info.max_work_group_size;
    if (context->work_group_limit && context->work_group_limit < limit) limit = context->work_group_limit;
    /* The tile from the device's limits: its work-group within the compiled
     * kernel's CL_KERNEL_WORK_GROUP_SIZE (can be below the device's), its
     * As and Bs tiles within the local memory. */
    gemm_shape s;
    cl_kernel kernel;
    for (;;) {
        s = choose_shape(limit ? limit : 1);
        const uint64_t local_bytes = (uint64_t)s.tile_k * ((uint64_t)s.wg_m * s.wpt_m + (uint64_t)s.wg_n * s.wpt_n) * 4;
        if (local_bytes > context->info.local_memory && limit > 1) {
            limit /= 4;
            continue;
        }
        char options[160];
        snprintf(options, sizeof options,
                 "-DTRANS_A=%d -DTRANS_B=%d -DWG_M=%d -DWG_N=%d -DWPT_M=%d -DWPT_N=%d -DTILE_K=%d", trans_a ? 1 : 0,
                 trans_b ? 1 : 0, s.wg_m, s.wg_n, s.wpt_m, s.wpt_n, s.tile_k);
        PCL_TRY(pcl_kernel_get(context, "gemm.cl", options, "gemm", &kernel));
        size_t kernel_limit;
        PCL_TRY(pcl_kernel_work_group_limit(context, kernel, &kernel_limit));
        if ((size_t)s.wg_m * s.wg_n <= kernel_limit || limit <= 1) break;
        limit = kernel_limit;
    }
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

int pcl_gemm_own_packed(pcl_context *context)
{
    /* Packed on CPU devices, tiled elsewhere; PERCEPTCL_GEMM_KERNEL=packed|tiled
     * overrides (tests run both; "rows" is the packed path's former name). */
    const char *which = getenv("PERCEPTCL_GEMM_KERNEL");
    if (which && *which) return strcmp(which, "tiled") != 0;
    return context->info.type == PCL_DEVICE_TYPE_CPU;
}

pcl_status pcl_gemm(pcl_context *context, pcl_gemm_backend backend, int trans_a, int trans_b, size_t m, size_t n,
                    size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b, size_t b_offset,
                    size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
{
    return pcl_gemm_ex(context, backend, NULL, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb,
                       beta, c, c_offset, ldc);
}

pcl_status pcl_gemm_ex(pcl_context *context, pcl_gemm_backend backend, pcl_gemm_scratch *scratch, int trans_a,
                       int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda,
                       cl_mem b, size_t b_offset, size_t ldb, float beta, cl_mem c, size_t c_offset, size_t ldc)
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
    case PCL_GEMM_BACKEND_CLBLAST:
        return clblast_gemm(context, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb, beta, c,
                            c_offset, ldc);
    default:
        return own_gemm(context, scratch, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb, beta, c,
                        c_offset, ldc);
    }
}
