/* perceptcl: optimizers that update parameters in place on the device.
 *
 * Every optimizer kind has the same shape (one file each in src/nn/optimizer_*.c):
 *   pcl_<kind>_create(context, &config, &optimizer)
 *   pcl_optimizer_add(optimizer, value, grad, name, lr_multiplier)  per tensor
 *   pcl_optimizer_add_layer(optimizer, layer, prefix, lr_multiplier)
 *   pcl_optimizer_step(optimizer)      one update of every parameter
 *   pcl_optimizer_destroy(optimizer)
 * The optimizer does not own the parameter and gradient tensors; it owns its
 * state tensors (same shape as each parameter), which pcl_optimizer_state
 * exposes so a checkpoint can save and restore them together with the step
 * count (pcl_optimizer_steps / pcl_optimizer_set_steps).
 *
 * Update rules: those documented for torch.optim.SGD and torch.optim.Adam
 * (maximize = False, amsgrad = False, one parameter group per distinct
 * learning rate). With lr the optimizer's learning rate times the tensor's
 * multiplier, g its gradient, p its value, t the step number (1 at the first
 * step):
 *
 * SGD:   g <- g + weight_decay p                     (when weight_decay != 0)
 *        b <- g                             at t = 1 (when momentum != 0)
 *        b <- momentum b + (1 - dampening) g    t > 1
 *        g <- g + momentum b  (nesterov)  or  g <- b
 *        p <- p - lr g
 *   state per parameter: "momentum_buffer" (b; only when momentum != 0).
 *
 * Adam:  g <- g + weight_decay p                     (when weight_decay != 0)
 *        m <- beta1 m + (1 - beta1) g
 *        v <- beta2 v + (1 - beta2) g^2
 *        p <- p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *   (PyTorch's arrangement of the bias corrections: eps is added after the
 *   second-moment correction, as in its implementation.)
 *   state per parameter: "exp_avg" (m), "exp_avg_sq" (v).
 *
 * Numerics: float32 on the device, elementwise (no reductions), so a re-run
 * is bitwise identical; the scalar bias corrections are computed in double on
 * the host. */
#ifndef PERCEPTCL_OPTIMIZER_H
#define PERCEPTCL_OPTIMIZER_H

#include "perceptcl/export.h"
#include "perceptcl/layers.h"
#include "perceptcl/tensor.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_optimizer pcl_optimizer;

typedef enum pcl_optimizer_kind { PCL_OPTIMIZER_KIND_SGD = 0, PCL_OPTIMIZER_KIND_ADAM } pcl_optimizer_kind;

typedef struct pcl_sgd_config {
    double learning_rate; /* > 0 */
    double momentum;      /* >= 0; 0 is plain SGD (no state) */
    double dampening;     /* in [0, 1]; PyTorch's default 0 */
    double weight_decay;  /* >= 0, L2 added to the gradient */
    int nesterov;         /* needs momentum > 0 and dampening 0 (as PyTorch) */
} pcl_sgd_config;

typedef struct pcl_adam_config {
    double learning_rate; /* > 0; PyTorch's default 1e-3 */
    double beta1, beta2;  /* in [0, 1); 0.9, 0.999 */
    double epsilon;       /* >= 0; 1e-8 */
    double weight_decay;  /* >= 0, L2 added to the gradient (not AdamW) */
} pcl_adam_config;

/* PyTorch's defaults (SGD: lr 0.01, the rest 0; Adam: 1e-3, 0.9, 0.999, 1e-8, 0). */
PCL_API pcl_sgd_config pcl_sgd_config_default(void);
PCL_API pcl_adam_config pcl_adam_config_default(void);

PCL_API pcl_status pcl_sgd_create(pcl_context *context, const pcl_sgd_config *config, pcl_optimizer **optimizer);
PCL_API pcl_status pcl_adam_create(pcl_context *context, const pcl_adam_config *config, pcl_optimizer **optimizer);
PCL_API void pcl_optimizer_destroy(pcl_optimizer *optimizer);

PCL_API pcl_optimizer_kind pcl_optimizer_get_kind(const pcl_optimizer *optimizer);
/* "sgd" or "adam". */
PCL_API const char *pcl_optimizer_kind_name(pcl_optimizer_kind kind);
/* Parses "sgd" / "adam" (case-insensitive). */
PCL_API pcl_status pcl_optimizer_kind_parse(const char *text, pcl_optimizer_kind *kind);

/* Registers a parameter tensor and its gradient (same element count) under a
 * unique name (copied; used for checkpoint entries). lr_multiplier >= 0
 * scales the learning rate for this tensor only (SRCNN: 0.1 on the last
 * layer). Refused after the first step. */
PCL_API pcl_status pcl_optimizer_add(pcl_optimizer *optimizer, pcl_tensor *value, pcl_tensor *grad, const char *name,
                                     double lr_multiplier);
/* Registers every parameter of a layer as "<prefix>.<name>" with PyTorch's
 * name (batch normalisation's gamma and beta as "weight" and "bias"), the
 * names pcl_train_weights_add_layer gives them. */
PCL_API pcl_status pcl_optimizer_add_layer(pcl_optimizer *optimizer, pcl_layer *layer, const char *prefix,
                                           double lr_multiplier);

/* One update of every registered parameter from its gradient. */
PCL_API pcl_status pcl_optimizer_step(pcl_optimizer *optimizer);
/* pcl_optimizer_step, then every registered gradient 0 (as
 * pcl_optimizer_zero_grad), in the same pass over memory: the next step's
 * zeroing costs nothing (for the FC AE's 424 MB of gradients a separate
 * fill took 13% of a training step). On an error the gradients are
 * undefined: zero them before the next backward. */
PCL_API pcl_status pcl_optimizer_step_zero_grad(pcl_optimizer *optimizer);
/* Sets every registered gradient to 0. */
PCL_API pcl_status pcl_optimizer_zero_grad(pcl_optimizer *optimizer);

/* The base learning rate (schedules change it between steps). */
PCL_API double pcl_optimizer_learning_rate(const pcl_optimizer *optimizer);
PCL_API pcl_status pcl_optimizer_set_learning_rate(pcl_optimizer *optimizer, double learning_rate);

/* Registered parameters, in the order added. Any output may be NULL. */
PCL_API int pcl_optimizer_param_count(const pcl_optimizer *optimizer);
PCL_API pcl_status pcl_optimizer_param(const pcl_optimizer *optimizer, int index, pcl_tensor **value, pcl_tensor **grad,
                                       const char **name, double *lr_multiplier);

/* State: steps taken so far, and the state tensors of each parameter
 * (pcl_optimizer_state_count per parameter: SGD 1 with momentum else 0,
 * Adam 2). Restoring a checkpoint writes the state tensors and the step
 * count; the next step then continues exactly. */
PCL_API uint64_t pcl_optimizer_steps(const pcl_optimizer *optimizer);
PCL_API void pcl_optimizer_set_steps(pcl_optimizer *optimizer, uint64_t steps);
PCL_API int pcl_optimizer_state_count(const pcl_optimizer *optimizer);
PCL_API pcl_status pcl_optimizer_state(const pcl_optimizer *optimizer, int param, int slot, pcl_tensor **state,
                                       const char **name);

/* The hyperparameters as "key=value" pairs separated by commas
 * ("lr=0.0001,momentum=0.9,..."), for checkpoint metadata and logs. */
PCL_API pcl_status pcl_optimizer_describe(const pcl_optimizer *optimizer, char *text, size_t capacity);

#ifdef __cplusplus
}
#endif
#endif
