/* trainer.cl: the training loop's one elementwise step.
 *   scale: x[i] = a * x[i] for i < n (bounds-checked: the launch rounds the
 *   global size up to the work-group size).
 * Input/output: x (n floats), in place. Compile-time parameters: none.
 * Why: loss.h gives d value / d y per image; the trainer's scalar loss is a
 * mean over the batch (and 1 - value for SSIM), so the gradient is scaled
 * by -1/n or 1/n (over channels too) before the backward pass. */
__kernel void scale(const int n, const float a, __global float *x)
{
    const int i = get_global_id(0);
    if (i < n) x[i] = a * x[i];
}

/* nonfinite_flags: flags[g] = 1 if any of x[g*chunk .. min(n, (g+1)*chunk))
 * is NaN or infinite, else 0 (one work-item per chunk, global size = number
 * of chunks, rounded up: items past it write nothing).
 * Why: MS-SSIM clamps a NaN term to a value of 0 with a gradient of 0, so a
 * NaN output would pass silently; the trainer checks the output with this
 * and reads back only the flags. */
__kernel void nonfinite_flags(const int n, const int chunk, const int chunks, __global const float *x,
                              __global int *flags)
{
    const int g = get_global_id(0);
    if (g >= chunks) return;
    const int end = min(n, (g + 1) * chunk);
    int bad = 0;
    for (int i = g * chunk; i < end; i++) bad |= !isfinite(x[i]);
    flags[g] = bad;
}
