/* Minimal reproductions of the Oclgrind 21.10 defects that the oclgrind
 * suite works around (tests/oclgrind/README.md). Not built by meson:
 *   cc tests/oclgrind/repro.c -lOpenCL -o /tmp/oclgrind-repro
 *   oclgrind --uninitialized /tmp/oclgrind-repro fill
 *   oclgrind --uninitialized /tmp/oclgrind-repro freeze
 *   oclgrind --uninitialized --build-options -cl-opt-disable /tmp/oclgrind-repro halves
 * Each kernel below is valid OpenCL 1.2 that reads only initialised memory;
 * the program prints the kernel's result (expected in parentheses) and
 * Oclgrind should report nothing.
 *   fill    a buffer set by clEnqueueFillBuffer and read by a kernel:
 *           "Uninitialized value written to global memory" (the fill is not
 *           recorded as a write)
 *   freeze  a division and a remainder of the same operands (optimised
 *           builds turn them into an LLVM 'freeze'): "OCLGRIND FATAL ERROR
 *           (Uninitialized.cpp:1805) Unsupported instruction: freeze", the
 *           kernel stops and the result is wrong
 *   halves  a float16 summed by halves (.lo + .hi, three times) at
 *           -cl-opt-disable: "Uninitialized value written to global memory" */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <string.h>

static const char *kernels =
    "__kernel void fill(__global float *buf, __global float *out) { out[0] = buf[5]; }\n"
    "__kernel void freeze(__global float *buf, __global float *out) {\n"
    "    int a = (int)buf[1] + 7, b = (int)buf[2] + 3;\n"
    "    out[0] = (float)(a / b) + (float)(a % b);\n"
    "}\n"
    "__kernel void halves(__global float *buf, __global float *out) {\n"
    "    float16 v = vload16(0, buf);\n"
    "    float8 a = v.lo + v.hi;\n"
    "    float4 b = a.lo + a.hi;\n"
    "    float2 c = b.lo + b.hi;\n"
    "    out[0] = c.x + c.y;\n"
    "}\n";

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "fill";
    const float expected = !strcmp(which, "fill") ? 2.0f : !strcmp(which, "freeze") ? 3.0f : 32.0f;
    cl_platform_id platform;
    cl_device_id device;
    cl_int err;
    clGetPlatformIDs(1, &platform, NULL);
    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL);
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    cl_program program = clCreateProgramWithSource(context, 1, &kernels, NULL, &err);
    clBuildProgram(program, 1, &device, "", NULL, NULL);
    cl_kernel kernel = clCreateKernel(program, which, &err);
    if (err != CL_SUCCESS) return fprintf(stderr, "usage: %s fill|freeze|halves\n", argv[0]), 2;
    cl_mem buf = clCreateBuffer(context, CL_MEM_READ_WRITE, 64, NULL, &err);
    cl_mem out = clCreateBuffer(context, CL_MEM_READ_WRITE, 4, NULL, &err);
    float twos[16];
    for (int i = 0; i < 16; i++) twos[i] = 2.0f;
    if (!strcmp(which, "fill"))
        clEnqueueFillBuffer(queue, buf, &twos[0], sizeof(float), 0, 64, 0, NULL, NULL);
    else if (!strcmp(which, "freeze")) {
        const float zeros[16] = {0};
        clEnqueueWriteBuffer(queue, buf, CL_TRUE, 0, 64, zeros, 0, NULL, NULL);
    } else
        clEnqueueWriteBuffer(queue, buf, CL_TRUE, 0, 64, twos, 0, NULL, NULL);
    clSetKernelArg(kernel, 0, sizeof buf, &buf);
    clSetKernelArg(kernel, 1, sizeof out, &out);
    size_t one = 1;
    clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &one, &one, 0, NULL, NULL);
    float result = 0.0f;
    clEnqueueReadBuffer(queue, out, CL_TRUE, 0, 4, &result, 0, NULL, NULL);
    printf("%s: %g (expected %g)\n", which, result, expected);
    clReleaseMemObject(buf), clReleaseMemObject(out), clReleaseKernel(kernel), clReleaseProgram(program);
    clReleaseCommandQueue(queue), clReleaseContext(context);
    return result != expected;
}
