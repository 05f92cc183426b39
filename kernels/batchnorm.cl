/* batchnorm.cl: batch normalisation per channel of an n x c x hw tensor.
 * Inputs: x, dy; per-channel mean, var, gamma, beta; eps; momentum.
 * Outputs: y (forward), dx (backward), partial sums, batch statistics,
 *   running statistics, gamma/beta gradients (accumulated).
 * bn_partial: partial[i*c + k] = sum_p of, by mode, 0: x, 1: (x - mean)^2,
 *   2: dy, 3: dy (x - mean), over image i, channel k (one item each);
 * bn_stats: finishes the sums over images in ascending order (fixed order):
 *   mode 0 writes mean = S / count; mode 1 writes var = S / count and, when
 *   update is set, running = (1 - m) running + m batch (var: unbiased).
 * bn_forward: y = gamma (x - mean) / sqrt(var + eps) + beta.
 * bn_backward: with s1 = sum dy, s2 = sum dy (x - mean) per channel,
 *   training (batch statistics): dx = gamma r (dy - s1/count - xhat r s2/count),
 *   inference (running statistics, constants): dx = gamma r dy;
 *   r = 1/sqrt(var + eps), xhat = (x - mean) r; gamma_grad += r s2,
 *   beta_grad += s1 (items of channel 0.. only in bn_param_grad).
 * Compile-time parameters: none.
 * Why: the two-stage sums keep results bitwise reproducible and independent
 *   of the work-group size; the variance is a second pass over x - mean,
 *   not E[x^2] - mean^2, which cancels badly in float32. */
__kernel void bn_partial(const int n, const int c, const int hw, const int mode, __global const float *x,
                         __global const float *dy, __global const float *mean, __global float *partial)
{
    const int k = get_global_id(0);
    if (k >= n * c) return;
    const int ch = k % c;
    const size_t base = (size_t)k * hw;
    const float m = mode == 1 || mode == 3 ? mean[ch] : 0.0f;
    float sum = 0.0f;
    if (mode == 0)
        for (int p = 0; p < hw; p++) sum += x[base + p];
    else if (mode == 1)
        for (int p = 0; p < hw; p++) {
            const float d = x[base + p] - m;
            sum += d * d;
        }
    else if (mode == 2)
        for (int p = 0; p < hw; p++) sum += dy[base + p];
    else
        for (int p = 0; p < hw; p++) sum += dy[base + p] * (x[base + p] - m);
    partial[k] = sum;
}

__kernel void bn_stats(const int n, const int c, const int mode, const float count, const int update,
                       const float momentum, __global const float *partial, __global float *stat,
                       __global float *running)
{
    const int k = get_global_id(0);
    if (k >= c) return;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += partial[(size_t)i * c + k];
    const float value = sum / count;
    stat[k] = value;
    if (update) {
        const float batch = mode == 1 ? (count > 1.0f ? sum / (count - 1.0f) : value) : value;
        running[k] = (1.0f - momentum) * running[k] + momentum * batch;
    }
}

__kernel void bn_sum(const int n, const int c, __global const float *partial, __global float *out)
{
    const int k = get_global_id(0);
    if (k >= c) return;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += partial[(size_t)i * c + k];
    out[k] = sum;
}

/* One item per 16 elements of a plane, global (hw / 16 rounded up, planes =
 * n * c): the channel's scale and shift read once, 16 values per load and
 * store (one item per element, its channel by a division, made this pass
 * 9% of a Yale B AE's inference). relu != 0: stored as relu_forward would
 * leave it (a batchnorm + ReLU pair, one memory pass less; backward reads
 * neither). */
__kernel void bn_forward(const int planes, const int c, const int hw, const float eps, __global const float *x,
                         __global const float *mean, __global const float *var, __global const float *gamma,
                         __global const float *beta, const int relu, __global float *y)
{
    const int p = 16 * get_global_id(0), plane = get_global_id(1), k = plane % c;
    if (p >= hw || plane >= planes) return;
    const float g = gamma[k], m = mean[k], r = rsqrt(var[k] + eps), b = beta[k];
    const size_t i = (size_t)plane * hw + p;
    if (p + 16 <= hw) {
        const float16 v = g * (vload16(0, x + i) - m) * r + b;
        vstore16(relu ? select((float16)(0.0f), v, v > (float16)(0.0f)) : v, 0, y + i);
    } else {
        for (int j = 0; j < hw - p; j++) {
            const float v = g * (x[i + j] - m) * r + b;
            y[i + j] = relu && !(v > 0.0f) ? 0.0f : v;
        }
    }
}

/* Global (hw / 16 rounded up, n * c), 16 elements per item as bn_forward. */
__kernel void bn_backward(const int planes, const int c, const int hw, const float eps, const float count,
                          const int training, __global const float *x, __global const float *dy,
                          __global const float *mean, __global const float *var, __global const float *gamma,
                          __global const float *s1, __global const float *s2, __global float *dx)
{
    const int p = 16 * get_global_id(0), plane = get_global_id(1), k = plane % c;
    if (p >= hw || plane >= planes) return;
    const size_t i = (size_t)plane * hw + p;
    const float r = rsqrt(var[k] + eps), g = gamma[k], m = mean[k], a = s1[k] / count, b = s2[k] / count;
    if (p + 16 <= hw) {
        const float16 d = vload16(0, dy + i);
        if (training) {
            const float16 xhat = (vload16(0, x + i) - m) * r;
            vstore16(g * r * (d - a - xhat * r * b), 0, dx + i);
        } else {
            vstore16(g * r * d, 0, dx + i);
        }
        return;
    }
    for (int j = 0; j < hw - p; j++) {
        if (training) {
            const float xhat = (x[i + j] - m) * r;
            dx[i + j] = g * r * (dy[i + j] - a - xhat * r * b);
        } else {
            dx[i + j] = g * r * dy[i + j];
        }
    }
}

__kernel void bn_param_grad(const int c, const float eps, __global const float *var, __global const float *s1,
                            __global const float *s2, __global float *gamma_grad, __global float *beta_grad)
{
    const int k = get_global_id(0);
    if (k >= c) return;
    gamma_grad[k] += rsqrt(var[k] + eps) * s2[k];
    beta_grad[k] += s1[k];
}
