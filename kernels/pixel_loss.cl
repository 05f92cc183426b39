/* pixel_loss.cl: per-image MSE / MAE and their gradients with respect to y,
 * and the MS-SSIM + L1 mix (perceptcl/loss.h) from MS-SSIM's and MAE's.
 *   pixel_loss_value: one work-group per image (group id 0 = image). The
 *     image is split into LANES fixed interleaved lanes (element i goes to
 *     lane i % LANES), each summed in order, then a pairwise tree over the
 *     lanes: the summation order never depends on the work-group size, so
 *     results are bit-identical on any device limit. values[n] = sum / (H*W).
 *   pixel_loss_grad: one work-item per element: MSE 2(y - x)/(H*W),
 *     MAE sign(y - x)/(H*W) with sign(0) = 0.
 *   msssim_l1_value: one work-item per image: alpha (1 - ms) + l1_weight mae.
 *   msssim_l1_grad: one work-item per element, grad holding d MS-SSIM / dy on
 *     entry: -alpha grad + l1_scale sign(y - x), sign(0) = 0.
 * Compile-time parameters: ABS (1: MAE, 0: MSE), LANES (power of two). */

static float pixel_term(float d)
{
#if ABS
    return fabs(d);
#else
    return d * d;
#endif
}

__kernel void pixel_loss_value(__global const float *x, __global const float *y, const int count,
                               __global float *values, __local float *lanes)
{
    const int n = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    __global const float *px = x + (size_t)n * count, *py = y + (size_t)n * count;
    for (int k = lid; k < LANES; k += ls) {
        float s = 0.0f;
        for (int i = k; i < count; i += LANES) s += pixel_term(py[i] - px[i]);
        lanes[k] = s;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = LANES / 2; span >= 1; span /= 2) {
        for (int k = lid; k < span; k += ls) lanes[k] += lanes[k + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) values[n] = lanes[0] / (float)count;
}

__kernel void pixel_loss_grad(__global const float *x, __global const float *y, const int total, const float scale,
                              __global float *grad)
{
    const int i = get_global_id(0);
    if (i >= total) return;
    const float d = y[i] - x[i];
#if ABS
    grad[i] = d > 0.0f ? scale : d < 0.0f ? -scale : 0.0f;
#else
    grad[i] = 2.0f * scale * d;
#endif
}

__kernel void msssim_l1_value(__global const float *ms, __global const float *mae, const int batch, const float alpha,
                              const float l1_weight, __global float *values)
{
    const int n = get_global_id(0);
    if (n >= batch) return;
    values[n] = alpha * (1.0f - ms[n]) + l1_weight * mae[n];
}

__kernel void msssim_l1_grad(__global const float *x, __global const float *y, const int total, const float alpha,
                             const float l1_scale, __global float *grad)
{
    const int i = get_global_id(0);
    if (i >= total) return;
    const float d = y[i] - x[i];
    grad[i] = -alpha * grad[i] + (d > 0.0f ? l1_scale : d < 0.0f ? -l1_scale : 0.0f);
}
