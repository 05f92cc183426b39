/* optimizer.cl: parameter updates of the optimizers (src/nn/optimizer_*.c).
 * Inputs: p (parameter), g (gradient), state buffers (momentum b; Adam's m and
 *   v), count n, and scalars computed on the host in double and rounded once.
 * Outputs: p and the state buffers, updated in place, n elements each.
 * Compile-time parameters: none.
 * Why: one elementwise launch per parameter tensor; every element's update
 *   is a fixed sequence of float32 operations (no reductions), so results are
 *   bitwise reproducible on a device. The formulas follow PyTorch's documented
 *   torch.optim.SGD and torch.optim.Adam (see include/perceptcl/optimizer.h).
 *   FP_CONTRACT is off so that no compiler fuses a * b + c into an fma on one
 *   vendor and not another (the rounding would differ). Factors such as
 *   1 - beta2 come from the host computed in double and rounded once, as
 *   PyTorch passes them (1 - 0.999f in float32 is off by 1.3e-5 relative). */
#pragma OPENCL FP_CONTRACT OFF

/* first: 1 at the first step (b <- g); use_momentum 0: plain SGD (b unused). */
__kernel void sgd_step(const int n, __global float *p, __global float *g, __global float *b,
                       const float lr, const float momentum, const float one_minus_dampening, const float weight_decay,
                       const int use_momentum, const int first, const int nesterov, const int zero_grad)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    float d = g[i];
    if (zero_grad) g[i] = 0.0f; /* b may be g (no momentum): never written then */
    if (weight_decay != 0.0f) d = d + weight_decay * p[i];
    if (use_momentum) {
        float buf = first ? d : momentum * b[i] + one_minus_dampening * d;
        b[i] = buf;
        d = nesterov ? d + momentum * buf : buf;
    }
    p[i] = p[i] - lr * d;
}

/* step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t), both from the host. */
__kernel void adam_step(const int n, __global float *p, __global float *g, __global float *m,
                        __global float *v, const float step_size, const float bc2_sqrt, const float beta1,
                        const float one_minus_beta1, const float beta2, const float one_minus_beta2,
                        const float epsilon, const float weight_decay, const int zero_grad)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    float d = g[i];
    if (zero_grad) g[i] = 0.0f;
    if (weight_decay != 0.0f) d = d + weight_decay * p[i];
    const float mi = beta1 * m[i] + one_minus_beta1 * d;
    const float vi = beta2 * v[i] + one_minus_beta2 * (d * d);
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrt(vi) / bc2_sqrt + epsilon;
    p[i] = p[i] - step_size * (mi / denom);
}
