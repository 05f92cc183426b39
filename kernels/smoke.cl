/* smoke.cl: the smallest kernel, used by the runtime tests
 * (tests/test_runtime.c) to prove a device compiles and runs code.
 *   scale_add: y[i] = a * x[i] + y[i] for i < n (bounds-checked: the launch
 *   rounds the global size up to the work-group size). */
__kernel void scale_add(const int n, const float a, __global const float *x, __global float *y)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = a * x[i] + y[i];
}
