/* upsample.cl: nearest-neighbour upsampling by an integer factor F.
 * Inputs: x (planes of h x w; planes = n*c), or dy (planes of hF x wF).
 * Outputs: y[p, i, j] = x[p, i / F, j / F]; dx[p, i, j] = sum over the F x F
 *   block of dy, row by row (fixed order).
 * Compile-time parameters: none (F is an argument).
 * Why: the decoders of the conv autoencoders upsample 2x before each conv. */
__kernel void upsample_forward(const int planes, const int h, const int w, const int f, __global const float *x,
                               __global float *y)
{
    const int j = get_global_id(0), i = get_global_id(1), p = get_global_id(2);
    const int ho = h * f, wo = w * f;
    if (j >= wo || i >= ho || p >= planes) return;
    y[((size_t)p * ho + i) * wo + j] = x[((size_t)p * h + i / f) * w + j / f];
}

__kernel void upsample_backward(const int planes, const int h, const int w, const int f, __global const float *dy,
                                __global float *dx)
{
    const int j = get_global_id(0), i = get_global_id(1), p = get_global_id(2);
    if (j >= w || i >= h || p >= planes) return;
    const int wo = w * f;
    __global const float *src = dy + ((size_t)p * h * f + (size_t)i * f) * wo + (size_t)j * f;
    float sum = 0.0f;
    for (int u = 0; u < f; u++)
        for (int v = 0; v < f; v++) sum += src[u * wo + v];
    dx[((size_t)p * h + i) * w + j] = sum;
}
