/* perceptcl: colour conversions on host images (pcl_image, see image.h).
 *
 * All conversions work on values in the 8-bit scale 0..255 (what 8-bit files
 * read as) and return new images; the source is never modified.
 *
 * Luma (ITU-R 601-2, as PIL's convert('L')):
 *   PCL_LUMA_MODE_EXACT: L = R*299/1000 + G*587/1000 + B*114/1000 in float, not rounded.
 *   PCL_LUMA_MODE_PIL:   L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 on integers
 *                   0..255, i.e. the 16-bit fixed-point weights rounded to
 *                   nearest; bit-identical to Pillow >= 8.3 convert('L')
 *                   (checked against Pillow 9.4). Inputs must be integers in 0..255.
 *
 * YCbCr (ITU-R BT.601, studio swing, exactly MATLAB rgb2ycbcr / ycbcr2rgb):
 *   Y  =  16 + ( 65.481 R + 128.553 G +  24.966 B) / 255
 *   Cb = 128 + (-37.797 R -  74.203 G + 112.000 B) / 255
 *   Cr = 128 + (112.000 R -  93.786 G -  18.214 B) / 255
 * with R, G, B in 0..255 (MATLAB's matrix T is defined on R, G, B in 0..1 and
 * output 0..255; dividing by 255 moves it to 8-bit input). The inverse uses
 * inv(T) computed in float64. PCL_YCBCR_MODE_FLOAT keeps the float result;
 * PCL_YCBCR_MODE_ROUND_U8 rounds (halves away from zero) and clamps to 0..255 like
 * MATLAB does for uint8 images. Alpha (4th channel) is dropped. */
#ifndef PERCEPTCL_COLOR_H
#define PERCEPTCL_COLOR_H

#include "perceptcl/export.h"
#include "perceptcl/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pcl_luma_mode {
    PCL_LUMA_MODE_EXACT = 0, /* float 0.299 R + 0.587 G + 0.114 B */
    PCL_LUMA_MODE_PIL        /* PIL integer arithmetic, see above */
} pcl_luma_mode;

typedef enum pcl_ycbcr_mode {
    PCL_YCBCR_MODE_FLOAT = 0, /* unrounded float result (MATLAB on double input, times 255) */
    PCL_YCBCR_MODE_ROUND_U8   /* rounded and clamped to 0..255 (MATLAB on uint8 input) */
} pcl_ycbcr_mode;

/* 1-channel luma of a 3- or 4-channel image (alpha ignored); a 1-channel
 * source is copied. */
PCL_API pcl_status pcl_color_luma(const pcl_image *src, pcl_luma_mode mode, pcl_image **out);

/* PIL's luma of one 8-bit pixel. */
static inline uint8_t pcl_color_luma_u8(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t)(((uint32_t)r * 19595u + (uint32_t)g * 38470u + (uint32_t)b * 7471u + 0x8000u) >> 16);
}

/* 3-channel RGB from 1 (replicated), 3 (copied) or 4 (alpha dropped) channels. */
PCL_API pcl_status pcl_color_to_rgb(const pcl_image *src, pcl_image **out);

/* RGB (3 or 4 channels) -> 3-channel YCbCr, and back. */
PCL_API pcl_status pcl_color_rgb_to_ycbcr(const pcl_image *src, pcl_ycbcr_mode mode, pcl_image **out);
PCL_API pcl_status pcl_color_ycbcr_to_rgb(const pcl_image *src, pcl_ycbcr_mode mode, pcl_image **out);

/* The Y channel of rgb2ycbcr alone (1 channel). A 1-channel source is taken
 * as gray R = G = B (so Y = 16 + 219 * v / 255). */
PCL_API pcl_status pcl_color_rgb_to_y(const pcl_image *src, pcl_ycbcr_mode mode, pcl_image **out);

/* Channel c of src as a 1-channel image. */
PCL_API pcl_status pcl_color_channel(const pcl_image *src, int channel, pcl_image **out);
/* One 1-channel image per channel; out must hold src->channels pointers.
 * On failure every out[i] is NULL. */
PCL_API pcl_status pcl_color_split(const pcl_image *src, pcl_image **out);
/* Interleaves count (1..4) 1-channel images of equal size. */
PCL_API pcl_status pcl_color_merge(pcl_image *const *planes, int count, pcl_image **out);

#ifdef __cplusplus
}
#endif
#endif
