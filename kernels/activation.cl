/* activation.cl: elementwise activations and the binary bottleneck.
 * Inputs: x (pre-activation), y (output, for the ReLU and tanh backward
 *   passes), dy; count n.
 * Outputs: y (forward) or dx (backward), n elements each; y may be x's
 *   buffer and dx dy's (the model runs ReLU and tanh in place).
 * Compile-time parameters: none.
 * Why: one launch per layer over the flat NCHW buffer; the binary bottleneck
 *   thresholds at a > 0 (the same as sign(tanh a) with 0 -> -1, without
 *   depending on how a device rounds tanh of tiny a) and passes tanh's
 *   gradient straight through. */
__kernel void relu_forward(const int n, __global const float *x, __global float *y)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__kernel void relu_backward(const int n, __global const float *y, __global const float *dy, __global float *dx)
{
    const int i = get_global_id(0);
    if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; /* y > 0 exactly where x > 0 */
}

__kernel void tanh_forward(const int n, __global const float *x, __global float *y)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = tanh(x[i]);
}

__kernel void tanh_backward(const int n, __global const float *y, __global const float *dy, __global float *dx)
{
    const int i = get_global_id(0);
    if (i < n) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

__kernel void binary_forward(const int n, __global const float *x, __global float *y)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = x[i] > 0.0f ? 1.0f : -1.0f;
}

__kernel void binary_backward(const int n, __global const float *x, __global const float *dy, __global float *dx)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float t = tanh(x[i]);
        dx[i] = dy[i] * (1.0f - t * t);
    }
}
