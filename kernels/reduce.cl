/* reduce.cl: per-channel sums of NCHW tensors in a fixed order (no atomics).
 * Inputs: x (n x c x hw).
 * Outputs: sum_hw: partial[k] = sum_p x[k*hw + p] for k < n*c (one item per
 *   image and channel); sum_n_add: out[c] += sum_{i<n} partial[i*c + c']
 *   (ascending i; also the bias gradient of a dense layer, whose dy is n x c).
 * Compile-time parameters: none.
 * Why: bias gradients of conv and dense layers; the two stages keep the
 *   result independent of the work-group size and bitwise reproducible. */
__kernel void sum_hw(const int count, const int hw, __global const float *x, __global float *partial)
{
    const int k = get_global_id(0);
    if (k >= count) return;
    __global const float *p = x + (size_t)k * hw;
    float sum = 0.0f;
    for (int i = 0; i < hw; i++) sum += p[i];
    partial[k] = sum;
}

__kernel void sum_n_add(const int n, const int c, __global const float *partial, __global float *out)
{
    const int k = get_global_id(0);
    if (k >= c) return;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += partial[(size_t)i * c + k];
    out[k] += sum;
}
