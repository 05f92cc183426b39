/* conv2d_upsampled.cl: "nearest 2x upsampling, then a K x K convolution with
 * stride 1 and padding P = (K - 1) / 2" as four phase convolutions of the
 * low-resolution input (the sub-pixel form; src/nn/conv2d_upsampled.c).
 * Output row 2i + a (a = 0, 1) reads upsampled rows 2i + a - P + u, u in
 * 0..K-1, which are input rows i + floor((a - P + u) / 2): KC distinct rows
 * from i + LO on. So y[n, o, 2i + a, 2j + b] = b[o] + sum_{c, s, t}
 * w'[(2a + b) O + o, c, s, t] x[n, c, i + LO + s, j + LO + t], where w' sums
 * the taps of w that land on the same input pixel; padding (zero or
 * replicate) of the upsampled grid is the same padding of x.
 * Inputs: w (O x C x K x K), b (O; absent without bias); dw' (4O x C x KC x
 *   KC), db' (4O); the phase outputs t (n x 4O x H x W); dy (n x O x 2H x 2W).
 * Outputs: w' (4O x C x KC x KC), b' (4O); dw += the taps of dw' summed back,
 *   db += the four phases' db'; y (n x O x 2H x 2W) from t, with the ReLU
 *   when relu != 0 (the same expression as relu_forward); dt from dy.
 * Compile-time parameters: K (odd kernel size), P = (K - 1) / 2, LO (the
 *   first input row offset, floor(-P / 2)), KC (phase kernel size).
 * Why: the decoders of the conv autoencoders upsample 2x before each 5x5
 *   convolution; the phase form does 4 * 3 * 3 multiply-adds per output
 *   pixel instead of 5 * 5 and never makes the upsampled map (4x the input).
 *   Every sum runs in a fixed order (bitwise re-runs). */
#ifndef K
#define K 5
#define P 2
#define LO (-1)
#define KC 3
#endif

/* floor(v / 2) for v > -2K (C's division truncates toward zero). */
#define FLOOR_HALF(v) (((v) + 2 * K) / 2 - K)
/* The phase tap that kernel tap u of output phase a lands on. */
#define PHASE_TAP(a, u) (FLOOR_HALF((a) - P + (u)) - LO)

/* One item per (c, phase row q): its KC x KC taps of w', each the sum of the
 * w taps landing on it in increasing (u, v) order. Global (C, 4O). (One item
 * per w' element with a test per tap took 9% of a Yale B AE's inference.) */
__kernel void upsampled_weights(const int O, const int C, const int has_bias, __global const float *w,
                                __global const float *b, __global float *wp, __global float *bp)
{
    const int c = get_global_id(0), q = get_global_id(1);
    if (c >= C || q >= 4 * O) return;
    const int phase = q / O, o = q % O, a = phase >> 1, bb = phase & 1;
    __global const float *src = w + ((size_t)o * C + c) * K * K;
    float sum[KC * KC];
    for (int tap = 0; tap < KC * KC; tap++) sum[tap] = 0.0f;
    for (int u = 0; u < K; u++)
        for (int v = 0; v < K; v++) sum[PHASE_TAP(a, u) * KC + PHASE_TAP(bb, v)] += src[u * K + v];
    __global float *dst = wp + ((size_t)q * C + c) * KC * KC;
    for (int tap = 0; tap < KC * KC; tap++) dst[tap] = sum[tap];
    if (c == 0) bp[q] = has_bias ? b[o] : 0.0f;
}

/* One item per w element: global (K * K, C, O). */
__kernel void upsampled_fold(const int O, const int C, const int has_bias, __global const float *dwp,
                             __global const float *dbp, __global float *dw, __global float *db)
{
    const int tap = get_global_id(0), c = get_global_id(1), o = get_global_id(2);
    if (tap >= K * K || c >= C || o >= O) return;
    const int u = tap / K, v = tap % K;
    float sum = 0.0f;
    for (int phase = 0; phase < 4; phase++) {
        const int s = PHASE_TAP(phase >> 1, u), t = PHASE_TAP(phase & 1, v);
        sum += dwp[(((size_t)phase * O + o) * C + c) * KC * KC + s * KC + t];
    }
    dw[((size_t)o * C + c) * K * K + tap] += sum;
    if (has_bias && c == 0 && tap == 0) db[o] += ((dbp[o] + dbp[O + o]) + dbp[2 * O + o]) + dbp[3 * O + o];
}

/* One item per y element: global (2W, 2H, n * O). */
__kernel void upsampled_shuffle(const int N, const int O, const int H, const int W, const int relu,
                                __global const float *t, __global float *y)
{
    const int X = get_global_id(0), Y = get_global_id(1), no = get_global_id(2);
    if (X >= 2 * W || Y >= 2 * H || no >= N * O) return;
    const int n = no / O, o = no % O, phase = (Y & 1) * 2 + (X & 1);
    const float v = t[((((size_t)n * 4 + phase) * O + o) * H + (Y >> 1)) * W + (X >> 1)];
    y[((size_t)no * 2 * H + Y) * 2 * W + X] = relu ? (v > 0.0f ? v : 0.0f) : v;
}

/* One item per dy element: global (2W, 2H, n * O). */
__kernel void upsampled_unshuffle(const int N, const int O, const int H, const int W, __global const float *dy,
                                  __global float *dt)
{
    const int X = get_global_id(0), Y = get_global_id(1), no = get_global_id(2);
    if (X >= 2 * W || Y >= 2 * H || no >= N * O) return;
    const int n = no / O, o = no % O, phase = (Y & 1) * 2 + (X & 1);
    dt[((((size_t)n * 4 + phase) * O + o) * H + (Y >> 1)) * W + (X >> 1)] = dy[((size_t)no * 2 * H + Y) * 2 * W + X];
}
