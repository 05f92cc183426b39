/* The private shape every optimizer kind shares (src/optimizer_*.c). */
#ifndef PERCEPTCL_OPTIMIZER_INTERNAL_H
#define PERCEPTCL_OPTIMIZER_INTERNAL_H

#include "runtime/internal.h"
#include "perceptcl/optimizer.h"

#define PCL_OPTIMIZER_MAX_SLOTS 2

typedef struct pcl_optimizer_entry {
    pcl_tensor *value, *grad; /* not owned */
    char *name;
    double lr_multiplier;
    pcl_tensor *state[PCL_OPTIMIZER_MAX_SLOTS]; /* owned, zeroed at add */
} pcl_optimizer_entry;

typedef struct pcl_optimizer_ops {
    /* Updates one parameter; optimizer->steps is already the new step t (>= 1).
     * zero_grad: its gradient set to 0 once read (pcl_optimizer_step_zero_grad). */
    pcl_status (*update)(pcl_optimizer *optimizer, pcl_optimizer_entry *param, int zero_grad);
    pcl_status (*describe)(const pcl_optimizer *optimizer, char *text, size_t capacity);
} pcl_optimizer_ops;

struct pcl_optimizer {
    pcl_optimizer_kind kind;
    const pcl_optimizer_ops *ops;
    pcl_context *context;
    double learning_rate;
    uint64_t steps;
    int slot_count;                              /* state tensors per parameter */
    const char *slot_names[PCL_OPTIMIZER_MAX_SLOTS];
    int count, capacity;
    pcl_optimizer_entry *params;
    void *config; /* the kind's config, copied */
};

/* Allocates an optimizer with a copy of config (config_size bytes). */
pcl_status pcl_optimizer_alloc(pcl_context *context, pcl_optimizer_kind kind, const pcl_optimizer_ops *ops,
                               double learning_rate, const void *config, size_t config_size,
                               pcl_optimizer **optimizer);

#endif
