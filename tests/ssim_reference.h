/* Float64 reference of SSIM / MS-SSIM and their gradients, written straight
 * from shared/golden/README.md with direct 2-D window sums (no separable
 * passes, no code shared with the OpenCL path). Slow; for tests only. */
#ifndef PCL_TEST_SSIM_REFERENCE_H
#define PCL_TEST_SSIM_REFERENCE_H

/* Per-level means (README sections 4 and 6). */
typedef struct ref_ssim_level {
    int height, width, map_height, map_width;
    double cs, luminance, ssim;
} ref_ssim_level;

/* value = SSIM (scales 1) or MS-SSIM (scales 5, exponents beta), of x
 * (reference) and y, h rows of w. same: replicate padding, else valid.
 * grad (h*w, may be NULL) receives d value / d y. levels (scales entries,
 * may be NULL) the per-level means. Returns 0, or -1 when undefined (valid
 * mode with a level under 11x11). */
int ref_ssim(const double *x, const double *y, int h, int w, int same, double L, int scales, const double *beta,
             double *value, ref_ssim_level *levels, double *grad);

/* Level-1 maps: ssim_map (mh*mw) and stats (5*mh*mw: mu_x, mu_y, sigma_x2,
 * sigma_y2, sigma_xy); either may be NULL. */
void ref_ssim_maps(const double *x, const double *y, int h, int w, int same, double L, double *ssim_map,
                   double *stats);

/* D of README section 5: out has ceil(h/2) x ceil(w/2) values. */
void ref_downsample(const double *a, int h, int w, double *out);

/* The window weight g(k), k = -5..5 (computed in double). */
double ref_gauss(int k);

#endif
