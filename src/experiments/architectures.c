/* The paper's networks as tables (perceptcl/architectures.h). Sources:
 * Snell et al. 2017 (../shared/docs/paper-snell2017.txt, sec. 6 and
 * appendices A-C) and ../shared/docs/EXPERIMENTS.md where the paper is
 * silent. The autoencoders keep the layer order of bench/bench_train.c's
 * hand-built W4/W5 networks (no flatten before a dense layer: it reads any
 * c x h x w input), so a layer's index, and with it its initialisation seed
 * (pcl_model_init_weights), is the same. */
#include "perceptcl/architectures.h"

#define COUNT(table) ((int)(sizeof(table) / sizeof((table)[0])))
#define RELU PCL_SPEC_RELU
#define TANH PCL_SPEC_TANH

/* ---- SRCNN 9-5-5 (sec. 6; Dong et al. 2016) ------------------------------
 * Valid convolutions for training, as SRCNN's Caffe model (33x33 -> 17x17);
 * replicate padding at test time, as its MATLAB imfilter(..., 'replicate'). */
static const pcl_layer_spec srcnn_955[] = {
    PCL_SPEC_CONV2D("conv1", 1, 64, 9, 1, 0, PCL_PADDING_ZERO),  RELU,
    PCL_SPEC_CONV2D("conv2", 64, 32, 5, 1, 0, PCL_PADDING_ZERO), RELU,
    PCL_SPEC_CONV2D("conv3", 32, 1, 5, 1, 0, PCL_PADDING_ZERO),
};
const pcl_architecture pcl_arch_srcnn_955 = {"srcnn-9-5-5", srcnn_955, COUNT(srcnn_955), {1, 33, 33}, 0};

static const pcl_layer_spec srcnn_955_replicate[] = {
    PCL_SPEC_CONV2D("conv1", 1, 64, 9, 1, 4, PCL_PADDING_REPLICATE),  RELU,
    PCL_SPEC_CONV2D("conv2", 64, 32, 5, 1, 2, PCL_PADDING_REPLICATE), RELU,
    PCL_SPEC_CONV2D("conv3", 32, 1, 5, 1, 2, PCL_PADDING_REPLICATE),
};
const pcl_architecture pcl_arch_srcnn_955_replicate = {"srcnn-9-5-5-replicate", srcnn_955_replicate,
                                                       COUNT(srcnn_955_replicate), {1, 33, 33}, 0};

/* ---- fully-connected binary autoencoder (app. A.1) -----------------------
 * "The first layer expands the 1024-dimensional input to 8192 features, and
 * each successive hidden layer reduces the dimensionality by a factor of two
 * until ... 256 features. The decoder ... mirrors the encoder." ReLU except
 * the bottleneck and the output (tanh). The binary layer is the tanh and
 * its threshold to -1/+1 (EXPERIMENTS.md sec. 2: the authors' Caffe
 * binary_tanh layer), so the 256-unit dense layer feeds it directly. */
#define FC_BINARY_AE(w1, w2, w3, w4, w5, code)                                                                         \
    PCL_SPEC_DENSE(NULL, 1024, w1), RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w1, w2),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w2, w3),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w3, w4),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w4, w5),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w5, code), PCL_SPEC_BINARY,                                                                   \
    PCL_SPEC_DENSE(NULL, code, w5), RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w5, w4),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w4, w3),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w3, w2),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w2, w1),   RELU,                                                                              \
    PCL_SPEC_DENSE(NULL, w1, 1024), TANH,                                                                              \
    PCL_SPEC_RESHAPE(1, 32, 32)

static const pcl_layer_spec fc_binary_ae[] = {FC_BINARY_AE(8192, 4096, 2048, 1024, 512, 256)};
const pcl_architecture pcl_arch_fc_binary_ae = {"fc-binary-ae-32", fc_binary_ae, COUNT(fc_binary_ae), {1, 32, 32}, 12};

/* Not the paper's: the same layers with 1/16 of the hidden widths (512 ...
 * 32) and a 16-bit code, about 1.4 M parameters instead of 106 M, for
 * tests and smoke runs (perceptcl fcae train --narrow). */
static const pcl_layer_spec fc_binary_ae_narrow[] = {FC_BINARY_AE(512, 256, 128, 64, 32, 16)};
const pcl_architecture pcl_arch_fc_binary_ae_narrow = {"fc-binary-ae-32-narrow", fc_binary_ae_narrow,
                                                       COUNT(fc_binary_ae_narrow), {1, 32, 32}, 12};

/* ---- convolutional autoencoder on 96x96 (app. A.2) -----------------------
 * "3 convolutional layers, each with a filter size of 5 and a stride of 2
 * ... (96,96) to (48,48), then to (24,24), and finally to (12,12). ... 128
 * filters, the second 256, and the final 512. All layers have ReLU
 * activations, except the bottleneck and output, which are tanh. The
 * deconvolutional layers are ... convolutional layers that are preceded by
 * an upsampling step". Open, chosen here: padding 2 (the only one that
 * halves 96 with a 5x5 stride-2 kernel); the bottleneck is a dense layer
 * from the 12x12x512 features, and the decoder starts with the mirrored
 * dense layer (ReLU) back to 12x12x512 (issue "Experiment 2", bench W4);
 * decoder convolutions 5x5 stride 1 padding 2 (same size). */
#define CONV_AE_96(c1, c2, c3, bottleneck)                                                                             \
    PCL_SPEC_CONV2D(NULL, 1, c1, 5, 2, 2, PCL_PADDING_ZERO),  RELU,                                                    \
    PCL_SPEC_CONV2D(NULL, c1, c2, 5, 2, 2, PCL_PADDING_ZERO), RELU,                                                    \
    PCL_SPEC_CONV2D(NULL, c2, c3, 5, 2, 2, PCL_PADDING_ZERO), RELU,                                                    \
    PCL_SPEC_DENSE(NULL, c3 * 12 * 12, bottleneck),           TANH,                                                    \
    PCL_SPEC_DENSE(NULL, bottleneck, c3 * 12 * 12),           RELU,                                                    \
    PCL_SPEC_RESHAPE(c3, 12, 12),                                                                                      \
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, c3, c2, 5, 1, 2, PCL_PADDING_ZERO), RELU,                              \
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, c2, c1, 5, 1, 2, PCL_PADDING_ZERO), RELU,                              \
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, c1, 1, 5, 1, 2, PCL_PADDING_ZERO),  TANH

static const pcl_layer_spec conv_ae_96[] = {CONV_AE_96(128, 256, 512, 128)};
const pcl_architecture pcl_arch_conv_ae_96 = {"conv-ae-96", conv_ae_96, COUNT(conv_ae_96), {1, 96, 96}, 8};

/* "we built models with bottlenecks of both 128 and 512 units" */
static const pcl_layer_spec conv_ae_96_b512[] = {CONV_AE_96(128, 256, 512, 512)};
const pcl_architecture pcl_arch_conv_ae_96_b512 = {"conv-ae-96-b512", conv_ae_96_b512, COUNT(conv_ae_96_b512),
                                                   {1, 96, 96}, 8};

/* Not the paper's: the same layers with 1/16 of the filters (8, 16, 32) and
 * the 128-unit bottleneck, about 1.2 M parameters instead of 27 M, for
 * tests and smoke runs (perceptcl convae train --narrow). */
static const pcl_layer_spec conv_ae_96_narrow[] = {CONV_AE_96(8, 16, 32, 128)};
const pcl_architecture pcl_arch_conv_ae_96_narrow = {"conv-ae-96-narrow", conv_ae_96_narrow,
                                                     COUNT(conv_ae_96_narrow), {1, 96, 96}, 8};

/* ---- EL-VAE (app. B) ---------------------------------------------------------
 * "3 convolutional layers ... 128 ..., 256 ..., 512 ..., and a bottleneck of
 * size 128. We used a Gaussian MLP to form the approximate posterior ... The
 * deconvolutional layers again mirrored the convolutional layers and we used
 * tanh units at the output." Open, chosen here (EXPERIMENTS.md sec. 3.1):
 * no extra tanh hidden layer between the flattened 12x12x512 features and
 * (mu, log sigma^2), i.e. one dense layer giving both (128 each, the VAE
 * sampler's 2L input); the decoder is the conv AE's from z (dense, ReLU,
 * upsample + conv, tanh output). */
#define ELVAE_96(c1, c2, c3, latent)                                                                                   \
    PCL_SPEC_CONV2D(NULL, 1, c1, 5, 2, 2, PCL_PADDING_ZERO),  RELU,                                                    \
    PCL_SPEC_CONV2D(NULL, c1, c2, 5, 2, 2, PCL_PADDING_ZERO), RELU,                                                    \
    PCL_SPEC_CONV2D(NULL, c2, c3, 5, 2, 2, PCL_PADDING_ZERO), RELU,                                                    \
    PCL_SPEC_DENSE(NULL, c3 * 12 * 12, 2 * (latent)), /* mu, log sigma^2 */                                            \
    PCL_SPEC_VAE_SAMPLER(latent),                                                                                      \
    PCL_SPEC_DENSE(NULL, latent, c3 * 12 * 12),               RELU,                                                    \
    PCL_SPEC_RESHAPE(c3, 12, 12),                                                                                      \
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, c3, c2, 5, 1, 2, PCL_PADDING_ZERO), RELU,                              \
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, c2, c1, 5, 1, 2, PCL_PADDING_ZERO), RELU,                              \
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, c1, 1, 5, 1, 2, PCL_PADDING_ZERO),  TANH

static const pcl_layer_spec elvae_96[] = {ELVAE_96(128, 256, 512, 128)};
const pcl_architecture pcl_arch_elvae_96 = {"elvae-96", elvae_96, COUNT(elvae_96), {1, 96, 96}, 0};

/* Not the paper's: the same with 8, 16, 32 filters and the 128-d z (about
 * 1.2 M parameters instead of 27 M), for tests and smoke runs (perceptcl
 * elvae train --narrow). */
static const pcl_layer_spec elvae_96_narrow[] = {ELVAE_96(8, 16, 32, 128)};
const pcl_architecture pcl_arch_elvae_96_narrow = {"elvae-96-narrow", elvae_96_narrow, COUNT(elvae_96_narrow),
                                                   {1, 96, 96}, 0};

/* ---- Extended Yale B autoencoder (sec. 5, app. C) -------------------------------
 * "the same architecture described in Section A.2 except here we used a
 * 32-unit bottleneck with ReLU activations and batch normalization on all
 * layers except the output layer of the decoder." Images 48x48 (issue
 * "Experiment 4"), so 48 -> 24 -> 12 -> 6. Open, chosen here: batch
 * normalisation after each convolution / dense layer and before its ReLU
 * (Ioffe & Szegedy's placement), PyTorch's momentum 0.1 and epsilon 1e-5;
 * the layers before a batch normalisation keep their bias (PyTorch's
 * default), which the normalisation makes redundant but harmless. */
#define BN(c) PCL_SPEC_BATCHNORM(NULL, c)
static const pcl_layer_spec yaleb_ae_48[] = {
    PCL_SPEC_CONV2D(NULL, 1, 128, 5, 2, 2, PCL_PADDING_ZERO),   BN(128), RELU,
    PCL_SPEC_CONV2D(NULL, 128, 256, 5, 2, 2, PCL_PADDING_ZERO), BN(256), RELU,
    PCL_SPEC_CONV2D(NULL, 256, 512, 5, 2, 2, PCL_PADDING_ZERO), BN(512), RELU,
    PCL_SPEC_DENSE(NULL, 512 * 6 * 6, 32),                      BN(32),  RELU,
    PCL_SPEC_DENSE(NULL, 32, 512 * 6 * 6),                      BN(512 * 6 * 6), RELU,
    PCL_SPEC_RESHAPE(512, 6, 6),
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 512, 256, 5, 1, 2, PCL_PADDING_ZERO), BN(256), RELU,
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 256, 128, 5, 1, 2, PCL_PADDING_ZERO), BN(128), RELU,
    PCL_SPEC_UPSAMPLE(2), PCL_SPEC_CONV2D(NULL, 128, 1, 5, 1, 2, PCL_PADDING_ZERO),   TANH,
};
const pcl_architecture pcl_arch_yaleb_ae_48 = {"yaleb-ae-48", yaleb_ae_48, COUNT(yaleb_ae_48), {1, 48, 48}, 12};
