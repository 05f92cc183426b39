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
