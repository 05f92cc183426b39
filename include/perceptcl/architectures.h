/* perceptcl: the networks of Snell et al. 2017 as tables (model.h).
 *
 * Each is a const pcl_architecture (name, layer table, length, the input
 * {c, h, w} it is made for); build one with
 *   pcl_model_build_architecture(context, &pcl_arch_conv_ae_96, &model)
 * or read its table (arch.spec, arch.count) to derive a variant. The tables
 * live in src/experiments/architectures.c, one block per network, with the
 * paper's text and every choice the paper leaves open (and its source).
 *
 *   pcl_arch_srcnn_955            SRCNN 9-5-5 for training (valid
 *                                 convolutions: 33x33 in, 17x17 out); layers
 *                                 named conv1, conv2, conv3 (the weight
 *                                 files' keys conv1.weight ... conv3.bias)
 *   pcl_arch_srcnn_955_replicate  the same at test time (replicate padding,
 *                                 output the input's size); same tensors
 *   pcl_arch_fc_binary_ae         app. A.1: 32x32, dense 1024-8192-4096-
 *                                 2048-1024-512-256 ReLU, 256-bit binary
 *                                 bottleneck, mirrored decoder, tanh output
 *                                 (about 106 M parameters)
 *   pcl_arch_fc_binary_ae_narrow  not the paper's: pcl_arch_fc_binary_ae
 *                                 with hidden widths 512 ... 32 (1/16) and
 *                                 a 16-bit code, for tests and smoke runs
 *   pcl_arch_conv_ae_96           app. A.2: 96x96, three 5x5 stride-2 convs
 *                                 128, 256, 512, 128-unit tanh bottleneck,
 *                                 mirrored upsample + conv decoder
 *   pcl_arch_conv_ae_96_b512      the same with the 512-unit bottleneck
 *   pcl_arch_conv_ae_96_narrow    not the paper's: pcl_arch_conv_ae_96 with
 *                                 8, 16, 32 filters (1/16), for tests and
 *                                 smoke runs
 *   pcl_arch_elvae_96             app. B: the conv encoder, a Gaussian head
 *                                 (mu and log-variance of a 128-d z), the
 *                                 VAE sampler and the conv AE's decoder
 *   pcl_arch_elvae_96_narrow      not the paper's: pcl_arch_elvae_96 with 8,
 *                                 16, 32 filters, for tests and smoke runs
 *   pcl_arch_yaleb_ae_48          app. C: the conv AE at 48x48 with a 32-unit
 *                                 ReLU bottleneck and batch normalisation on
 *                                 every layer but the output
 * Layers without a name take their index (an nn.Sequential's keys). */
#ifndef PERCEPTCL_ARCHITECTURES_H
#define PERCEPTCL_ARCHITECTURES_H

#include "perceptcl/export.h"
#include "perceptcl/model.h"

#ifdef __cplusplus
extern "C" {
#endif

PCL_API extern const pcl_architecture pcl_arch_srcnn_955;
PCL_API extern const pcl_architecture pcl_arch_srcnn_955_replicate;
PCL_API extern const pcl_architecture pcl_arch_fc_binary_ae;
PCL_API extern const pcl_architecture pcl_arch_fc_binary_ae_narrow;
PCL_API extern const pcl_architecture pcl_arch_conv_ae_96;
PCL_API extern const pcl_architecture pcl_arch_conv_ae_96_b512;
PCL_API extern const pcl_architecture pcl_arch_conv_ae_96_narrow;
PCL_API extern const pcl_architecture pcl_arch_elvae_96;
PCL_API extern const pcl_architecture pcl_arch_elvae_96_narrow;
PCL_API extern const pcl_architecture pcl_arch_yaleb_ae_48;

#ifdef __cplusplus
}
#endif
#endif
