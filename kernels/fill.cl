/* fill.cl: sets count floats from offset to one value. The library fills
 * buffers with this kernel rather than clEnqueueFillBuffer: same cost, and
 * Oclgrind 21.10's uninitialised-value checker does not count memory set by
 * clEnqueueFillBuffer as written (tests/oclgrind/README.md). */
__kernel void fill_float(__global float *p, const ulong offset, const ulong count, const float value)
{
    const size_t i = get_global_id(0);
    if (i < count) p[offset + i] = value;
}
