/* perceptcl: the super-resolution evaluation protocol of SRCNN (Dong et al.),
 * as its MATLAB test code does it:
 *   Y = rgb2ycbcr(uint8 RGB)(:,:,1)         (BT.601, 8-bit rounded; gray images as is)
 *   gnd = modcrop(Y, scale)
 *   low = imresize(gnd, 1/scale, 'bicubic') (on floats: no rounding between passes)
 *   up  = imresize(low, scale, 'bicubic')
 *   shave `scale` pixels from every side, round both to uint8
 *   PSNR on the 8-bit values; SSIM as Wang's ssim_index (valid, Gaussian 11 / 1.5, L = 255).
 * A network's output replaces `up` (it is fed `up`, scaled as the model expects).
 * pcl_sr_evaluate_folder runs all of it over a folder of images;
 * pcl_sr_evaluate_folder_sharded shares the images out over the ranks of a
 * job (comm.h) with the same result. */
#ifndef PERCEPTCL_SR_H
#define PERCEPTCL_SR_H

#include "perceptcl/export.h"
#include "perceptcl/comm.h"
#include "perceptcl/device.h"
#include "perceptcl/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* From an 8-bit RGB or gray image: the ground-truth Y (modcropped, integer
 * values 0..255) and its bicubic down-then-up version (float, unrounded,
 * same size). Either output may be NULL. */
PCL_API pcl_status pcl_sr_prepare(const pcl_image *image, int scale, pcl_image **ground_truth_y, pcl_image **bicubic_y);

/* Removes `border` pixels from every side, then rounds and clamps to 0..255
 * as MATLAB's uint8() does (halves away from zero). 1-channel images. */
PCL_API pcl_status pcl_sr_shave_u8(const pcl_image *image, int border, pcl_image **out);

/* PSNR in dB of two equal-size images of 8-bit values (peak 255), in float64.
 * Identical images give +infinity. */
PCL_API pcl_status pcl_sr_psnr(const pcl_image *reference, const pcl_image *test, double *psnr);

/* PSNR and SSIM of the protocol for one pair: ground truth and estimate, both
 * unshaved; shaves `border`, rounds to uint8, measures (SSIM on the device). */
typedef struct pcl_sr_score {
    double psnr;
    double ssim;
} pcl_sr_score;
PCL_API pcl_status pcl_sr_score_pair(pcl_context *context, const pcl_image *ground_truth, const pcl_image *estimate,
                                     int border, pcl_sr_score *score);

/* The protocol's PSNR and SSIM of a crop (x, y, w, h, inside both images):
 * the estimate's Y (8-bit RGB: BT.601 Y rounded as rgb2ycbcr on uint8; one
 * channel: as is) against the ground truth's channel 0 (its Y), unshaved. A
 * crop under SSIM's 11x11 window gets PSNR only, SSIM 0. */
PCL_API pcl_status pcl_sr_score_crop(pcl_context *context, const pcl_image *ground_truth, const pcl_image *estimate,
                                     const int crop[4], pcl_sr_score *score);

/* An estimate of the ground-truth Y from the bicubic Y (unrounded, of the
 * ground truth's size, values 0..255), of that same size: a network, say. */
typedef pcl_status (*pcl_sr_estimate_fn)(void *user, const pcl_image *bicubic_y, pcl_image **estimate);
typedef struct pcl_sr_estimator {
    pcl_sr_estimate_fn estimate;
    void *user;
} pcl_sr_estimator;

/* The protocol over every image of a folder (in pcl_dataset_open_folder's
 * order), border = scale: the mean scores of the bicubic baseline in
 * means[0] and of estimator k in means[1 + k] (estimator_count + 1 entries),
 * the number of images in *images. A folder without images is an error; so is
 * any image that fails (the message names it). */
PCL_API pcl_status pcl_sr_evaluate_folder(pcl_context *context, const char *folder, int scale,
                                          const pcl_sr_estimator *estimators, int estimator_count, size_t *images,
                                          pcl_sr_score *means);
/* The same as one rank of a job (comm; NULL or a job of one: this process
 * alone, as above). Rank r scores its contiguous part of the images
 * (pcl_comm_shard), the per-image scores are gathered in image order
 * (pcl_comm_gather_doubles), and every rank computes the means from them in
 * image order as one process does: bitwise the same means for any number of
 * ranks. Every rank passes the same folder, scale and estimators (the same
 * models). A rank that fails returns its error at once while the others wait
 * in the gather: the job must then end (pcl_comm_abort, as perceptcl's
 * commands do), as with the trainer. */
PCL_API pcl_status pcl_sr_evaluate_folder_sharded(pcl_context *context, pcl_comm *comm, const char *folder, int scale,
                                                  const pcl_sr_estimator *estimators, int estimator_count,
                                                  size_t *images, pcl_sr_score *means);

#ifdef __cplusplus
}
#endif
#endif
