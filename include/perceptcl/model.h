/* perceptcl: a sequential model, the nn.Sequential of the library.
 *
 * An ordered list of layers (layers.h) that the model owns. The model keeps
 * the activation and gradient tensors between the layers, allocated for the
 * shape of the last input and reallocated when it changes (the last partial
 * mini-batch, a whole-image validation pass); reshape layers are views, so
 * they copy nothing.
 *
 *   pcl_model_create(context, &model)
 *   pcl_model_add(model, layer)               layer i gets the name "i"
 *   pcl_model_init_weights(model, ...)        seeded He / Xavier / Gaussian
 *   pcl_model_forward(model, x, &y)           y owned by the model
 *   pcl_model_zero_grad(model)
 *   pcl_model_backward(model, dy)             parameter gradients +=
 *   pcl_model_add_to_optimizer(model, opt)    "0.weight", "0.bias", ...
 *   pcl_model_weights(model)                  parameters and buffers by name
 *                                             (checkpoints, early stopping)
 *   pcl_model_destroy(model)
 *
 * Names follow PyTorch's nn.Sequential: "<index>.<name>" with the layer's
 * index in the model, so "0.weight", "2.bias", "3.running_mean", and
 * batch normalisation's gamma and beta are "<index>.weight" and
 * "<index>.bias" as in PyTorch's BatchNorm; a PyTorch nn.Sequential of the
 * same layers has the same keys, and checkpoints give the tensors its
 * shapes (dense weights (out, in), vectors (C): the table in train.h).
 *
 * The VAE sampler: its KL term is part of the model's loss. With kl weight w
 * (pcl_model_set_kl_weight, default 1) the loss of a batch of n images is
 *   (reconstruction loss) + w * (1/n) sum_images sum_samplers KL(image),
 * i.e. the KL enters per image as the trainer's mean over the batch does;
 * pcl_model_kl returns the last forward's (1/n) sum KL (without w) and
 * pcl_model_backward adds w/n times its gradient. The sampler's noise is
 * seeded per step with pcl_model_set_noise_seed (the trainer passes
 * pcl_train_step_seed(seed, step)); sampler at layer i draws from
 * pcl_train_step_seed(seed, i). */
#ifndef PERCEPTCL_MODEL_H
#define PERCEPTCL_MODEL_H

#include "perceptcl/layers.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/tensor.h"
#include "perceptcl/train.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_model pcl_model;

pcl_status pcl_model_create(pcl_context *context, pcl_model **model);
/* Destroys the model and every layer added to it. */
void pcl_model_destroy(pcl_model *model);

/* Appends a layer; the model owns it from now on, also when the call fails
 * (it is then destroyed), so pcl_model_add(m, made_by_create) needs no
 * clean-up on either path. The layer must be of the model's context. */
pcl_status pcl_model_add(pcl_model *model, pcl_layer *layer);

int pcl_model_layer_count(const pcl_model *model);
/* Layer index (NULL when out of range); the model still owns it. */
pcl_layer *pcl_model_layer(const pcl_model *model, int index);
pcl_context *pcl_model_context(const pcl_model *model);

/* Learning-rate multiplier of layer index's parameters (default 1), used by
 * pcl_model_add_to_optimizer (SRCNN: 0.1 on the last layer). */
pcl_status pcl_model_set_lr_multiplier(pcl_model *model, int index, double lr_multiplier);
/* Registers every parameter as "<index>.<name>" with its layer's multiplier. */
pcl_status pcl_model_add_to_optimizer(pcl_model *model, pcl_optimizer *optimizer);

/* The named parameters and buffers ("0.weight", "1.running_var"); owned by
 * the model, kept up to date by pcl_model_add. */
pcl_train_weights *pcl_model_weights(const pcl_model *model);
/* Total number of trained floats (parameters only). */
size_t pcl_model_param_floats(const pcl_model *model);

typedef enum pcl_model_init {
    PCL_INIT_HE_NORMAL = 0, /* Gaussian * sqrt(2 / fan_in) */
    PCL_INIT_XAVIER_UNIFORM,/* limit sqrt(6 / (fan_in + fan_out)) */
    PCL_INIT_GAUSSIAN       /* Gaussian * std (SRCNN: 0.001) */
} pcl_model_init;

/* Initialises the "weight" of every conv2d and dense layer (fan_in = in *
 * kh * kw, fan_out = out * kh * kw) with seed pcl_train_step_seed(seed, i)
 * for layer i, and sets their biases to 0. Other layers keep theirs. */
pcl_status pcl_model_init_weights(pcl_model *model, pcl_model_init init, double std, uint64_t seed);

/* The output shape {n, c, h, w} for an input shape; fails naming the layer
 * whose input does not fit. */
pcl_status pcl_model_output_shape(const pcl_model *model, const int in[4], int out[4]);

/* Training mode (default) or inference mode of every layer. */
void pcl_model_set_training(pcl_model *model, int training);

/* y = model(x). *y belongs to the model and stays valid until the next
 * forward or the model's destruction; x must stay alive and unchanged until
 * the backward that follows (it is read again). Intermediate tensors are
 * reallocated when x's shape differs from the previous forward's. */
pcl_status pcl_model_forward(pcl_model *model, const pcl_tensor *x, pcl_tensor **y);
/* Backward of the last forward: dy = d loss / d y (the shape of y). Every
 * parameter gradient accumulates (df/dtheta)^T dy; the gradient with respect
 * to x is not computed. */
pcl_status pcl_model_backward(pcl_model *model, const pcl_tensor *dy);
/* Sets every parameter gradient to 0. */
pcl_status pcl_model_zero_grad(pcl_model *model);

/* VAE samplers (see the top of this file). Models without one: kl 0. */
void pcl_model_set_kl_weight(pcl_model *model, double weight);
double pcl_model_kl_weight(const pcl_model *model);
int pcl_model_has_kl(const pcl_model *model);
pcl_status pcl_model_kl(const pcl_model *model, double *mean_kl);
void pcl_model_set_noise_seed(pcl_model *model, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
