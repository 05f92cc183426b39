/* dense.cl: the bias of a dense layer.
 * Inputs: bias (out), y (n x out, the GEMM's x W^T). Output: y += bias per row.
 * Compile-time parameters: none.
 * Why: both GEMM backends write y with beta = 0; the bias is one cheap pass. */
__kernel void add_bias(const int total, const int out, __global const float *bias, __global float *y)
{
    const int i = get_global_id(0);
    if (i < total) y[i] += bias[i % out];
}
