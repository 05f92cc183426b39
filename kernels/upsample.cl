/* upsample.cl: nearest-neighbour upsampling by an integer factor F.
 * Inputs: x (planes of h x w; planes = n*c), or dy (planes of hF x wF).
 * Outputs: y[p, i, j] = x[p, i / F, j / F]; dx[p, i, j] = sum over the F x F
 *   block of dy, row by row (fixed order).
 * Compile-time parameters: F (the factor; one build per factor used).
 * Why: the decoders of the conv autoencoders upsample 2x before each conv.
 *   One item per input pixel, which writes (or sums) its F x F block: no
 *   division per output element, and consecutive items read consecutive
 *   inputs (PoCL vectorises the items of dimension 0). */
#ifndef F
#define F 2
#endif

__kernel void upsample_forward(const int planes, const int h, const int w, __global const float *x,
                               __global float *y)
{
    const int j = get_global_id(0), i = get_global_id(1), p = get_global_id(2);
    if (j >= w || i >= h || p >= planes) return;
    const int wo = w * F;
    const float value = x[((size_t)p * h + i) * w + j];
    __global float *dst = y + ((size_t)p * h * F + (size_t)i * F) * wo + (size_t)j * F;
    for (int u = 0; u < F; u++)
        for (int v = 0; v < F; v++) dst[u * wo + v] = value;
}

__kernel void upsample_backward(const int planes, const int h, const int w, __global const float *dy,
                                __global float *dx)
{
    const int j = get_global_id(0), i = get_global_id(1), p = get_global_id(2);
    if (j >= w || i >= h || p >= planes) return;
    const int wo = w * F;
    __global const float *src = dy + ((size_t)p * h * F + (size_t)i * F) * wo + (size_t)j * F;
    float sum = 0.0f;
    for (int u = 0; u < F; u++)
        for (int v = 0; v < F; v++) sum += src[u * wo + v];
    dx[((size_t)p * h + i) * w + j] = sum;
}
