/* perceptcl: a sequential model, the nn.Sequential of the library.
 *
 * An ordered list of layers (layers.h) that the model owns. The model keeps
 * the activation and gradient tensors between the layers, allocated for the
 * shape of the last input and reallocated when it changes (the last partial
 * mini-batch, a whole-image validation pass); reshape layers are views, so
 * they copy nothing. To save memory, a ReLU or tanh after a conv2d, dense or
 * upsample layer overwrites that layer's output in place, and the gradients
 * share two buffers made at the first backward (none for inference).
 *
 *   pcl_model_build(context, spec, count, &model)  from a table (below)
 *   pcl_model_create(context, &model)
 *   pcl_model_add(model, layer)               layer i gets the name "i"
 *   pcl_model_add_named(model, layer, "conv1")
 *   pcl_model_init_weights(model, ...)        seeded He / Xavier / Gaussian / PyTorch default
 *   pcl_model_forward(model, x, &y)           y owned by the model
 *   pcl_model_zero_grad(model)
 *   pcl_model_backward(model, dy)             parameter gradients +=
 *   pcl_model_add_to_optimizer(model, opt)    "0.weight", "0.bias", ...
 *   pcl_model_weights(model)                  parameters and buffers by name
 *                                             (checkpoints, early stopping)
 *   pcl_model_save(model, path, metadata)     safetensors, PyTorch's names
 *   pcl_model_load(model, path, &metadata)
 *   pcl_model_destroy(model)
 *
 * Names follow PyTorch: "<prefix>.<name>" where the prefix is the layer's
 * name when it has one (pcl_model_add_named, a table entry's name: SRCNN's
 * "conv1", so "conv1.weight") and else its index in the model as in an
 * nn.Sequential, so "0.weight", "2.bias", "3.running_mean", and
 * batch normalisation's gamma and beta are "<index>.weight" and
 * "<index>.bias" as in PyTorch's BatchNorm; a PyTorch nn.Sequential of the
 * same layers has the same keys, and checkpoints give the tensors its
 * shapes (dense weights (out, in), vectors (C): the table in train_weights.h).
 * The optimizer's state and the training state use the same names. A named
 * layer also answers to its index name when a file is read (a training
 * state or model file written before the layer had a name resumes/loads).
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

#include "perceptcl/export.h"
#include "perceptcl/checkpoint.h"
#include "perceptcl/layers.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"
#include "perceptcl/train_weights.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_model pcl_model;

PCL_API pcl_status pcl_model_create(pcl_context *context, pcl_model **model);
/* Destroys the model and every layer added to it. */
PCL_API void pcl_model_destroy(pcl_model *model);

/* Appends a layer; the model owns it from now on, also when the call fails
 * (it is then destroyed), so pcl_model_add(m, made_by_create) needs no
 * clean-up on either path. The layer must be of the model's context. */
PCL_API pcl_status pcl_model_add(pcl_model *model, pcl_layer *layer);
/* The same with a name (copied): its tensors are "<name>.weight", ...
 * instead of "<index>.weight". NULL is pcl_model_add. A name must be
 * non-empty, of letters, digits, '_' and '.', not all digits (those are
 * index names), and unique in the model. */
PCL_API pcl_status pcl_model_add_named(pcl_model *model, pcl_layer *layer, const char *name);
/* The name layer index was given, or NULL when it has none. */
PCL_API const char *pcl_model_layer_name(const pcl_model *model, int index);

/* The architecture's name ("srcnn-9-5-5"), written as the "architecture"
 * metadata of pcl_model_save; NULL before one is set. pcl_model_build_architecture
 * sets it. */
PCL_API pcl_status pcl_model_set_architecture(pcl_model *model, const char *name);
PCL_API const char *pcl_model_architecture(const pcl_model *model);

PCL_API int pcl_model_layer_count(const pcl_model *model);
/* Layer index (NULL when out of range); the model still owns it. */
PCL_API pcl_layer *pcl_model_layer(const pcl_model *model, int index);
PCL_API pcl_context *pcl_model_context(const pcl_model *model);

/* Learning-rate multiplier of layer index's parameters (default 1), used by
 * pcl_model_add_to_optimizer (SRCNN: 0.1 on the last layer). */
PCL_API pcl_status pcl_model_set_lr_multiplier(pcl_model *model, int index, double lr_multiplier);
/* Registers every parameter as "<index>.<name>" with its layer's multiplier. */
PCL_API pcl_status pcl_model_add_to_optimizer(pcl_model *model, pcl_optimizer *optimizer);

/* The named parameters and buffers ("0.weight", "1.running_var"); owned by
 * the model, kept up to date by pcl_model_add. */
PCL_API pcl_train_weights *pcl_model_weights(const pcl_model *model);
/* Total number of trained floats (parameters only). */
PCL_API size_t pcl_model_param_floats(const pcl_model *model);

typedef enum pcl_model_init {
    PCL_INIT_HE_NORMAL = 0, /* Gaussian * sqrt(2 / fan_in) */
    PCL_INIT_XAVIER_UNIFORM,/* limit sqrt(6 / (fan_in + fan_out)) */
    PCL_INIT_GAUSSIAN,      /* Gaussian * std (SRCNN: 0.001) */
    PCL_INIT_TORCH_DEFAULT  /* PyTorch's nn.Conv2d / nn.Linear default: weight and
                             * bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
} pcl_model_init;

/* Initialises the "weight" of every conv2d and dense layer (fan_in = in *
 * kh * kw, fan_out = out * kh * kw) with seed pcl_train_step_seed(seed, i)
 * for layer i, and sets their biases to 0. Other layers keep theirs.
 * PCL_INIT_TORCH_DEFAULT draws the biases too (seed pcl_train_step_seed(s, 1)
 * from the weight's seed s), as reset_parameters does: kaiming_uniform_ with
 * a = sqrt(5) gives the weight bound sqrt(6 / ((1 + a^2) fan_in)) =
 * 1/sqrt(fan_in), the bias the same bound. */
PCL_API pcl_status pcl_model_init_weights(pcl_model *model, pcl_model_init init, double std, uint64_t seed);

/* The output shape {n, c, h, w} for an input shape; fails naming the layer
 * whose input does not fit. */
PCL_API pcl_status pcl_model_output_shape(const pcl_model *model, const int in[4], int out[4]);

/* Training mode (default) or inference mode of every layer. */
PCL_API void pcl_model_set_training(pcl_model *model, int training);

/* y = model(x). *y belongs to the model and stays valid until the next
 * forward or the model's destruction; x must stay alive and unchanged until
 * the backward that follows (it is read again). Intermediate tensors are
 * reallocated when x's shape differs from the previous forward's. */
PCL_API pcl_status pcl_model_forward(pcl_model *model, const pcl_tensor *x, pcl_tensor **y);
/* The output of the first `layers` layers (1..count): an autoencoder's code
 * (pcl_architecture.code_layers). *y belongs to the model as above; a
 * backward cannot follow (it needs a full forward). */
PCL_API pcl_status pcl_model_forward_to(pcl_model *model, const pcl_tensor *x, int layers, pcl_tensor **y);
/* Backward of the last forward: dy = d loss / d y (the shape of y). Every
 * parameter gradient accumulates (df/dtheta)^T dy; the gradient with respect
 * to x is not computed. */
PCL_API pcl_status pcl_model_backward(pcl_model *model, const pcl_tensor *dy);
/* pcl_model_backward, calling after(user, i) as soon as layer i's backward
 * is enqueued, for i from the last layer down to 0 (after may be NULL): a
 * data-parallel trainer starts copying the gradients of the layers done
 * while the layers below them still compute. A failure of after ends the
 * backward with its status. */
PCL_API pcl_status pcl_model_backward_each(pcl_model *model, const pcl_tensor *dy,
                                           pcl_status (*after)(void *user, int layer), void *user);
/* Sets every parameter gradient to 0. */
PCL_API pcl_status pcl_model_zero_grad(pcl_model *model);

/* ---- architectures as data ---------------------------------------------- */

/* One layer of a table. Fields a kind does not use stay 0; write tables
 * with the PCL_SPEC_* macros below, which name what each kind takes:
 *   CONV2D       in, out channels; kernel (square); stride (>= 1); pad on
 *                each side (0: valid) and padding (zero or replicate)
 *   DENSE        in, out features (in = c*h*w of the input: no flatten layer
 *                is needed, the dense layer reads any shape as in values)
 *   ACTIVATION   activation
 *   BINARY       (nothing: tanh, then sign in the forward pass)
 *   BATCHNORM    out channels (features after a dense layer); momentum,
 *                epsilon (0: PyTorch's 0.1 and 1e-5)
 *   UPSAMPLE     factor
 *   RESHAPE      shape: c, h, w of each image
 *   VAE_SAMPLER  out: the latent size L (input 2L: mu then log-variance)
 * name: the layer's name for its tensors (NULL: the index). */
typedef struct pcl_layer_spec {
    pcl_layer_kind kind;
    const char *name;
    int in, out;
    int kernel, stride, pad;
    pcl_padding padding;
    pcl_activation activation;
    int factor;
    int shape[3];
    float momentum, epsilon;
} pcl_layer_spec;

#define PCL_SPEC_CONV2D(name_, in_, out_, kernel_, stride_, pad_, padding_)                                    \
    { .kind = PCL_LAYER_KIND_CONV2D, .name = (name_), .in = (in_), .out = (out_), .kernel = (kernel_),            \
      .stride = (stride_), .pad = (pad_), .padding = (padding_) }
#define PCL_SPEC_DENSE(name_, in_, out_) { .kind = PCL_LAYER_KIND_DENSE, .name = (name_), .in = (in_), .out = (out_) }
#define PCL_SPEC_ACTIVATION(activation_) { .kind = PCL_LAYER_KIND_ACTIVATION, .activation = (activation_) }
#define PCL_SPEC_RELU PCL_SPEC_ACTIVATION(PCL_ACTIVATION_RELU)
#define PCL_SPEC_TANH PCL_SPEC_ACTIVATION(PCL_ACTIVATION_TANH)
#define PCL_SPEC_BINARY { .kind = PCL_LAYER_KIND_BINARY }
#define PCL_SPEC_BATCHNORM(name_, channels_) { .kind = PCL_LAYER_KIND_BATCHNORM, .name = (name_), .out = (channels_) }
#define PCL_SPEC_UPSAMPLE(factor_) { .kind = PCL_LAYER_KIND_UPSAMPLE, .factor = (factor_) }
#define PCL_SPEC_RESHAPE(c_, h_, w_) { .kind = PCL_LAYER_KIND_RESHAPE, .shape = { (c_), (h_), (w_) } }
#define PCL_SPEC_VAE_SAMPLER(latent_) { .kind = PCL_LAYER_KIND_VAE_SAMPLER, .out = (latent_) }

/* A named table with the input it is made for ({c, h, w} of one image). */
typedef struct pcl_architecture {
    const char *name;
    const pcl_layer_spec *spec;
    int count;
    int input[3];
    int code_layers; /* an autoencoder: the layers through its code (the
                        bottleneck's activation), for pcl_model_forward_to; 0: none */
} pcl_architecture;

/* A model with one layer per entry, in order (weights 0: initialise them
 * with pcl_model_init_weights or load them). Every entry's fields and names
 * are checked before anything is allocated; a bad entry fails with its
 * index, kind and what is wrong ("spec entry 3 (conv2d 'conv2'): kernel 0,
 * expected >= 1"). Whether the entries fit each other depends on the input
 * shape: pcl_model_build_architecture and pcl_model_spec_shape check that. */
PCL_API pcl_status pcl_model_build(pcl_context *context, const pcl_layer_spec *spec, int count, pcl_model **model);
/* pcl_model_build of arch's table, also checking that its input fits every
 * entry (pcl_model_spec_shape), with pcl_model_set_architecture(arch->name). */
PCL_API pcl_status pcl_model_build_architecture(pcl_context *context, const pcl_architecture *arch, pcl_model **model);
/* Walks a table without allocating anything: the output shape for input
 * shape in ({n, c, h, w}) and the number of trained floats (parameters;
 * either output may be NULL). Fails naming the first entry that is bad or
 * whose input does not fit (a conv's in channels, a dense layer's in
 * features, a reshape's element count). */
PCL_API pcl_status pcl_model_spec_shape(const pcl_layer_spec *spec, int count, const int in[4], int out[4],
                                        size_t *param_floats);

/* ---- model files --------------------------------------------------------- */

/* Writes every parameter and buffer (pcl_model_weights: names and PyTorch
 * shapes above, float32) as safetensors, atomically (checkpoint.h), so
 * safetensors.torch.load_file gives a state_dict for the same PyTorch
 * module. Metadata: "format" = "perceptcl-model-1", "architecture" (the
 * model's, when set), "perceptcl_version" (PCL_VERSION), then every entry of
 * metadata (may be NULL; same keys replace those), by convention "loss",
 * "training" (the recipe), "data". */
PCL_API pcl_status pcl_model_save(const pcl_model *model, const char *path, const pcl_checkpoint *metadata);
/* Reads a file of pcl_model_save or PyTorch (same names and shapes; a
 * named layer's tensors may also be under its index name; vectors stored
 * (C) may also be (C, 1, 1, 1) or (1, C, 1, 1); an nn.Sequential's
 * state_dict loads into a model of the same layers without names). Every
 * tensor is checked before the model is touched: a missing tensor, a wrong
 * shape, a tensor the model does not have, or a value that is not finite
 * fails naming the file and the tensor. metadata (may be NULL) receives the
 * file's checkpoint (tensors and metadata), destroyed by the caller. */
PCL_API pcl_status pcl_model_load(pcl_model *model, const char *path, pcl_checkpoint **metadata);

/* VAE samplers (see the top of this file). Models without one: kl 0. */
PCL_API void pcl_model_set_kl_weight(pcl_model *model, double weight);
PCL_API double pcl_model_kl_weight(const pcl_model *model);
PCL_API int pcl_model_has_kl(const pcl_model *model);
PCL_API pcl_status pcl_model_kl(const pcl_model *model, double *mean_kl);
PCL_API void pcl_model_set_noise_seed(pcl_model *model, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
