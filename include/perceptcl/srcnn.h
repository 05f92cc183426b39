/* perceptcl: SRCNN (Dong et al., TPAMI 2016), the 9-5-5 network of Snell et
 * al. 2017 section 6, its training data and its test-time use.
 *
 * The network, on the Y channel scaled to [0, 1]:
 *   conv1 9x9, 1 -> 64, ReLU;  conv2 5x5, 64 -> 32, ReLU;  conv3 5x5, 32 -> 1
 * as a pcl_model of 5 layers (0 conv1, 1 ReLU, 2 conv2, 3 ReLU, 4 conv3),
 * built from the tables pcl_arch_srcnn_955 / pcl_arch_srcnn_955_replicate
 * (architectures.h).
 * Training uses valid convolutions, as SRCNN's Caffe model does: a 33x33
 * input gives a 17x17 output (33 - 8 - 4 - 4), compared with the centre
 * 17x17 of the ground-truth patch. (SRCNN's generate_train.m writes 21x21
 * labels: that is its 9-1-5 network; for 9-5-5 the label is 17x17.)
 * Test time uses replicate padding in every layer (SRCNN's MATLAB test code:
 * imfilter(..., 'same', 'replicate')), so the output has the input's size.
 * Initialisation: weights Gaussian std 0.001 (pcl_model_init_weights with
 * PCL_INIT_GAUSSIAN), biases 0.
 *
 * Weight files: pcl_model_save / pcl_model_load (model.h). The layers are
 * named, so the keys are
 *   conv1.weight [64, 1, 9, 9]   conv1.bias [64]
 *   conv2.weight [32, 64, 5, 5]  conv2.bias [32]
 *   conv3.weight [1, 32, 5, 5]   conv3.bias [1]
 * float32, the layout of torch.nn.Conv2d (out, in, kh, kw; cross-correlation),
 * so a PyTorch module with attributes conv1, conv2, conv3 loads them with
 * load_state_dict; both modes have the same tensors, so a file trained in
 * valid mode loads into a replicate model. The files in models/ (written by
 * the earlier pcl_srcnn_save with "format" = "perceptcl-srcnn-1",
 * "architecture" = "9-5-5") load unchanged. */
#ifndef PERCEPTCL_SRCNN_H
#define PERCEPTCL_SRCNN_H

#include "perceptcl/export.h"
#include "perceptcl/checkpoint.h"
#include "perceptcl/image.h"
#include "perceptcl/model.h"
#include "perceptcl/pipeline.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Pixels lost on each side by the valid network: (9 - 1) / 2 + 2 + 2. */
#define PCL_SRCNN_BORDER 8
/* SRCNN's training sub-image size and stride (generate_train.m). */
#define PCL_SRCNN_INPUT_SIZE 33
#define PCL_SRCNN_STRIDE 14

typedef enum pcl_srcnn_mode {
    PCL_SRCNN_MODE_VALID = 0,    /* training: output 16 pixels smaller in each dimension */
    PCL_SRCNN_MODE_REPLICATE = 1 /* test time: same-size output, edges replicated in every layer */
} pcl_srcnn_mode;

/* A new 9-5-5 SRCNN as a pcl_model (weights 0: initialise them with
 * pcl_srcnn_init or load them). */
PCL_API pcl_status pcl_srcnn_create(pcl_context *context, pcl_srcnn_mode mode, pcl_model **model);
/* Gaussian weights with std (SRCNN: 0.001) from seed, biases 0. */
PCL_API pcl_status pcl_srcnn_init(pcl_model *model, double std, uint64_t seed);
/* Test time: the network's Y for a bicubic-upscaled Y image (1 channel,
 * 0..255 as pcl_sr_prepare gives it, any size >= 1x1): input / 255, network
 * with replicate padding, output * 255 (not rounded or clamped). The whole
 * image goes through in one forward up to 2^19 pixels where the device's
 * memory allows (about 1.2 kB per pixel, within an eighth of its global
 * memory and its largest allocation; PERCEPTCL_SRCNN_TILE_PIXELS lowers the
 * bound), else in full-width strips (or tiles) with an 8-pixel halo taken
 * from the image; the result is bitwise the whole-image one. model must be
 * PCL_SRCNN_MODE_REPLICATE. */
PCL_API pcl_status pcl_srcnn_apply(pcl_model *model, const pcl_image *bicubic_y, pcl_image **out);

/* Colour images (srcnn upscale, compare): the network on Y, bicubic Cb, Cr.
 * pcl_srcnn_colour_input: 8-bit YCbCr (MATLAB's rgb2ycbcr on uint8) of a
 * gray, gray+alpha, RGB or RGBA image (other max values first scaled to
 * 0..255 and rounded); gray keeps its one channel (the protocol's Y).
 * pcl_srcnn_colour_output: the network's Y of an upscaled such image (model
 * NULL: its own, bicubic Y) merged with its Cb and Cr, back to 8-bit RGB
 * (ycbcr_to_rgb rounded; gray: Y rounded and clamped to 0..255).
 * pcl_srcnn_upscale_colour: input, bicubic x scale (2..8), output. model is
 * PCL_SRCNN_MODE_REPLICATE. */
PCL_API pcl_status pcl_srcnn_colour_input(const pcl_image *image, pcl_image **ycbcr);
PCL_API pcl_status pcl_srcnn_colour_output(pcl_model *model, const pcl_image *ycbcr_up, pcl_image **rgb);
PCL_API pcl_status pcl_srcnn_upscale_colour(pcl_model *model, const pcl_image *image, int scale, pcl_image **out);

/* A colour ground truth and its degraded input (srcnn compare): the image's
 * pcl_srcnn_colour_input modcropped to the scale (2..8), and its MATLAB
 * bicubic round trip, down by 1/scale and back up to the truth's size (float,
 * unrounded, every channel): the colour counterpart of pcl_sr_prepare. */
PCL_API pcl_status pcl_srcnn_colour_truth(const pcl_image *image, int scale, pcl_image **truth, pcl_image **bicubic);

/* Training data: the sub-images of SRCNN's generate_train.m as a pipeline
 * (pipeline.h) over the images of the folders dirs[0..count-1], each in
 * pcl_dataset_open_folder order (channels as stored):
 *   ycbcr-y; sr-degrade(scale); scale to [0, 1]; patches of
 *   PCL_SRCNN_INPUT_SIZE (33) at stride, target the centre
 *   PCL_SRCNN_INPUT_SIZE - 2 * PCL_SRCNN_BORDER (17) square
 * i.e. Y = rgb2ycbcr (8-bit rounded; gray as is), modcrop(scale), bicubic
 * down by 1/scale and up (pcl_sr_prepare), every 33x33 square at 0, stride,
 * 2 stride, ... (rows of positions top to bottom, left to right) divided by
 * 255, and as its target the centre 17x17 of the ground truth / 255. An
 * image smaller than 33x33 adds nothing. limit: 0, or the number of
 * sub-images to keep (the first ones). scale 2..8, stride >= 1. The
 * pipeline holds the sub-images; the folders are closed before return. */
PCL_API pcl_status pcl_srcnn_training_pipeline(const char *const *dirs, int count, int scale, int stride, size_t limit,
                                               pcl_pipeline **out);

#ifdef __cplusplus
}
#endif
#endif
