/* The sequential model (model.h): owned layers, the tensors between them
 * sized for the last input shape, reshape layers as views. */
#include "perceptcl/model.h"

#include "nn/layer_internal.h"
#include "nn/train_weights_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcl_model {
    pcl_context *context;
    int count, capacity;
    pcl_layer **layers;
    char **names; /* per layer, NULL when unnamed */
    char *architecture;
    double *lr;
    pcl_train_weights *weights;
    int training;
    double kl_weight;
    uint64_t noise_seed;
    /* For the shape in[4] of the last forward: act[0] is the caller's x,
     * act[i + 1] layer i's output; grad[i] d loss / d act[i] for i >= 1,
     * grad[count] the caller's dy. A reshape layer's output (gradient input)
     * is a view of its input (gradient output); views rooted at the caller's
     * x or dy are remade every call (input_view / grad_view mark them).
     * Memory (bench/RESULTS.md, "Peak memory"): an activation layer whose
     * input only it reads runs in place (in_place[i]: act[i + 1] is a view
     * of act[i], grad[i] of grad[i + 1]), and the other gradients are views
     * of two buffers used in turn (a layer's dy in one, its dx in the
     * other: no gradient is needed after the next layer down has read it),
     * made at the first backward (none for inference).
     * A nearest 2x upsample followed by a conv2d that takes it in sub-pixel
     * form (layer_internal.h) runs as one step, conv i + 1 reading act[i]
     * (fused[i]): the upsampled map act[i + 1] and its gradient grad[i + 1]
     * are not made (act[i + 1] only when a forward_to ends there). */
    int shape[4];
    int allocated, grads_allocated;
    int (*shapes)[4];
    const pcl_tensor *x;
    pcl_tensor **act, **grad;
    pcl_tensor *grad_buffer[2];
    unsigned char *input_view, *grad_view, *in_place, *fused;
    int batch; /* images in the last forward */
};

pcl_status pcl_model_create(pcl_context *context, pcl_model **model)
{
    if (!model) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_create: model is NULL");
    *model = NULL;
    if (!context) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_create: context is NULL");
    pcl_model *m = calloc(1, sizeof *m);
    if (!m) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_create: out of memory");
    m->context = context;
    m->training = 1;
    m->kl_weight = 1.0;
    pcl_status status = pcl_train_weights_create(&m->weights);
    if (status != PCL_OK) {
        free(m);
        return status;
    }
    *model = m;
    return PCL_OK;
}

static void release_tensors(pcl_model *m)
{
    if (!m->act) return;
    for (int i = 1; i <= m->count; i++) pcl_tensor_destroy(m->act[i]);
    for (int i = 1; i < m->count; i++) pcl_tensor_destroy(m->grad[i]);
    for (int b = 0; b < 2; b++) pcl_tensor_destroy(m->grad_buffer[b]);
    memset(m->act, 0, (size_t)(m->count + 1) * sizeof *m->act);
    memset(m->grad, 0, (size_t)(m->count + 1) * sizeof *m->grad);
    m->grad_buffer[0] = m->grad_buffer[1] = NULL;
    m->allocated = m->grads_allocated = 0;
}

static void free_arrays(pcl_model *m)
{
    release_tensors(m);
    free(m->act);
    free(m->grad);
    free(m->shapes);
    free(m->input_view);
    free(m->grad_view);
    free(m->in_place);
    free(m->fused);
    m->act = m->grad = NULL;
    m->shapes = NULL;
    m->input_view = m->grad_view = m->in_place = m->fused = NULL;
}

void pcl_model_destroy(pcl_model *model)
{
    if (!model) return;
    free_arrays(model);
    for (int i = 0; i < model->count; i++) pcl_layer_destroy(model->layers[i]);
    for (int i = 0; i < model->count; i++) free(model->names[i]);
    free(model->layers);
    free(model->names);
    free(model->architecture);
    free(model->lr);
    pcl_train_weights_destroy(model->weights);
    free(model);
}

/* The prefix of layer index's tensors: its name, else its index. */
static const char *layer_prefix(const pcl_model *m, int index, char buffer[16])
{
    if (m->names[index]) return m->names[index];
    snprintf(buffer, 16, "%d", index);
    return buffer;
}

/* Why name cannot name a layer of m, or NULL when it can. */
static const char *bad_name(const pcl_model *m, const char *name)
{
    if (!*name) return "is empty";
    if (strlen(name) > 200) return "is longer than 200 characters";
    int digits = 1;
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.') return "has a character other than letters, digits, '_', '.'";
        if (!isdigit((unsigned char)*p)) digits = 0;
    }
    if (digits) return "is all digits (an index name)";
    for (int i = 0; i < m->count; i++)
        if (m->names[i] && !strcmp(m->names[i], name)) return "is already used";
    return NULL;
}

pcl_status pcl_model_add(pcl_model *model, pcl_layer *layer) { return pcl_model_add_named(model, layer, NULL); }

pcl_status pcl_model_add_named(pcl_model *model, pcl_layer *layer, const char *name)
{
    if (!model || !layer) {
        pcl_layer_destroy(layer);
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_add: NULL model or layer");
    }
    const char *why = name ? bad_name(model, name) : NULL;
    if (why) {
        pcl_layer_destroy(layer);
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_add: layer %d's name '%s' %s", model->count, name, why);
    }
    if (layer->context != model->context) {
        pcl_layer_destroy(layer);
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_add: layer %d (%s) belongs to another context",
                        model->count, pcl_layer_kind_name(layer->kind));
    }
    for (int i = 0; i < model->count; i++)
        if (model->layers[i] == layer)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_add: the layer is already layer %d", i);
    /* The per-shape arrays depend on the layer count: drop them. */
    free_arrays(model);
    if (model->count == model->capacity) {
        int capacity = model->capacity ? 2 * model->capacity : 8;
        pcl_layer **layers = realloc(model->layers, (size_t)capacity * sizeof *layers);
        if (layers) model->layers = layers;
        double *lr = layers ? realloc(model->lr, (size_t)capacity * sizeof *lr) : NULL;
        if (lr) model->lr = lr;
        char **names = lr ? realloc(model->names, (size_t)capacity * sizeof *names) : NULL;
        if (names) model->names = names;
        if (!layers || !lr || !names) {
            pcl_layer_destroy(layer);
            return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_add: out of memory");
        }
        model->capacity = capacity;
    }
    /* PyTorch's names and shapes ("0.weight", "2.running_mean"), as its
     * nn.Sequential's state_dict has them, or "conv1.weight" for a named
     * layer, which also answers to its index name when files are read. */
    char index_name[16];
    snprintf(index_name, sizeof index_name, "%d", model->count);
    char *copy = name ? strdup(name) : NULL;
    pcl_status status = name && !copy ? pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_add: out of memory") : PCL_OK;
    if (status == PCL_OK)
        status = pcl_train_weights_add_layer_aliased(model->weights, layer, name ? name : index_name,
                                                     name ? index_name : NULL);
    if (status != PCL_OK) {
        free(copy);
        pcl_layer_destroy(layer);
        return status;
    }
    pcl_layer_set_training(layer, model->training);
    model->names[model->count] = copy;
    model->layers[model->count] = layer;
    model->lr[model->count] = 1.0;
    model->count++;
    return PCL_OK;
}

int pcl_model_layer_count(const pcl_model *model) { return model ? model->count : 0; }

pcl_layer *pcl_model_layer(const pcl_model *model, int index)
{
    if (!model || index < 0 || index >= model->count) return NULL;
    return model->layers[index];
}

pcl_context *pcl_model_context(const pcl_model *model) { return model ? model->context : NULL; }

const char *pcl_model_layer_name(const pcl_model *model, int index)
{
    if (!model || index < 0 || index >= model->count) return NULL;
    return model->names[index];
}

pcl_status pcl_model_set_architecture(pcl_model *model, const char *name)
{
    if (!model || !name || !*name)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_set_architecture: NULL model or empty name");
    char *copy = strdup(name);
    if (!copy) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_set_architecture: out of memory");
    free(model->architecture);
    model->architecture = copy;
    return PCL_OK;
}

const char *pcl_model_architecture(const pcl_model *model) { return model ? model->architecture : NULL; }

pcl_status pcl_model_set_lr_multiplier(pcl_model *model, int index, double lr_multiplier)
{
    if (!model || index < 0 || index >= model->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_set_lr_multiplier: no layer %d (the model has %d)", index,
                        model ? model->count : 0);
    if (!(lr_multiplier >= 0) || !isfinite(lr_multiplier))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_set_lr_multiplier: multiplier %g is not a finite value >= 0",
                        lr_multiplier);
    model->lr[index] = lr_multiplier;
    return PCL_OK;
}

pcl_status pcl_model_add_to_optimizer(pcl_model *model, pcl_optimizer *optimizer)
{
    if (!model || !optimizer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_add_to_optimizer: NULL argument");
    for (int i = 0; i < model->count; i++) {
        char buffer[16]; /* the names pcl_model_add gave the weights */
        PCL_TRY(pcl_optimizer_add_layer(optimizer, model->layers[i], layer_prefix(model, i, buffer), model->lr[i]));
    }
    return PCL_OK;
}

pcl_train_weights *pcl_model_weights(const pcl_model *model) { return model ? model->weights : NULL; }

size_t pcl_model_param_floats(const pcl_model *model)
{
    size_t total = 0;
    for (int i = 0; model && i < model->count; i++)
        for (int p = 0; p < model->layers[i]->param_count; p++) total += pcl_tensor_count(model->layers[i]->params[p]);
    return total;
}

/* U(-bound, bound): 2 pcl_random_uniform - 1 from seed, times bound (the
 * draws of pcl_tensor_init_xavier_uniform, with the bound given). */
static pcl_status init_uniform(pcl_tensor *t, double bound, uint64_t seed)
{
    const size_t count = pcl_tensor_count(t);
    float *host = malloc(count * sizeof *host);
    if (!host) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_init_weights: %zu floats", count);
    uint64_t state = seed;
    for (size_t k = 0; k < count; k++) host[k] = (float)((2.0 * pcl_random_uniform(&state) - 1.0) * bound);
    pcl_status status = pcl_tensor_upload(t, host);
    free(host);
    return status;
}

pcl_status pcl_model_init_weights(pcl_model *model, pcl_model_init init, double std, uint64_t seed)
{
    if (!model) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_init_weights: model is NULL");
    if (init == PCL_INIT_GAUSSIAN && !(std >= 0 && isfinite(std)))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_init_weights: std %g is not a finite value >= 0", std);
    if (init != PCL_INIT_HE_NORMAL && init != PCL_INIT_XAVIER_UNIFORM && init != PCL_INIT_GAUSSIAN &&
        init != PCL_INIT_TORCH_DEFAULT)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_init_weights: unknown initialiser %d", (int)init);
    for (int i = 0; i < model->count; i++) {
        pcl_layer *layer = model->layers[i];
        if (layer->kind != PCL_LAYER_KIND_CONV2D && layer->kind != PCL_LAYER_KIND_DENSE) continue;
        pcl_tensor *weight = NULL, *bias = NULL;
        for (int p = 0; p < layer->param_count; p++) {
            if (!strcmp(layer->param_names[p], "weight")) weight = layer->params[p];
            else if (!strcmp(layer->param_names[p], "bias")) bias = layer->params[p];
        }
        if (!weight) continue;
        /* weight is (out, in, kh, kw) for both kinds (dense: kh = kw = 1) */
        const int fan_in = weight->c * weight->h * weight->w, fan_out = weight->n * weight->h * weight->w;
        const uint64_t s = pcl_train_step_seed(seed, (uint64_t)i);
        if (init == PCL_INIT_HE_NORMAL)
            PCL_TRY(pcl_tensor_init_he_normal(weight, fan_in, s));
        else if (init == PCL_INIT_XAVIER_UNIFORM)
            PCL_TRY(pcl_tensor_init_xavier_uniform(weight, fan_in, fan_out, s));
        else if (init == PCL_INIT_GAUSSIAN)
            PCL_TRY(pcl_tensor_init_gaussian(weight, std, s));
        else
            PCL_TRY(init_uniform(weight, 1.0 / sqrt((double)fan_in), s));
        if (!bias) continue;
        if (init == PCL_INIT_TORCH_DEFAULT)
            PCL_TRY(init_uniform(bias, 1.0 / sqrt((double)fan_in), pcl_train_step_seed(s, 1)));
        else
            PCL_TRY(pcl_tensor_fill(bias, 0.0f));
    }
    return PCL_OK;
}

pcl_status pcl_model_output_shape(const pcl_model *model, const int in[4], int out[4])
{
    if (!model || !in || !out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_output_shape: NULL argument");
    if (model->count == 0) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_output_shape: the model has no layers");
    int cur[4] = {in[0], in[1], in[2], in[3]};
    for (int i = 0; i < model->count; i++) {
        int next[4];
        pcl_status status = pcl_layer_output_shape(model->layers[i], cur, next);
        if (status != PCL_OK)
            return pcl_fail(status, "model layer %d (%s), input %dx%dx%dx%d: %s", i,
                            pcl_layer_kind_name(model->layers[i]->kind), cur[0], cur[1], cur[2], cur[3],
                            pcl_last_error());
        memcpy(cur, next, sizeof cur);
    }
    memcpy(out, cur, sizeof cur);
    return PCL_OK;
}

void pcl_model_set_training(pcl_model *model, int training)
{
    if (!model) return;
    model->training = training ? 1 : 0;
    for (int i = 0; i < model->count; i++) pcl_layer_set_training(model->layers[i], model->training);
}

static int is_reshape(const pcl_model *m, int i) { return m->layers[i]->kind == PCL_LAYER_KIND_RESHAPE; }

/* Makes the tensors for input shape in (after the old ones are released). */
static pcl_status allocate(pcl_model *m, const int in[4])
{
    const int L = m->count;
    if (!m->act) {
        m->act = calloc((size_t)L + 1, sizeof *m->act);
        m->grad = calloc((size_t)L + 1, sizeof *m->grad);
        m->shapes = calloc((size_t)L + 1, sizeof *m->shapes);
        m->input_view = calloc((size_t)L + 1, 1);
        m->grad_view = calloc((size_t)L + 1, 1);
        m->in_place = calloc((size_t)L + 1, 1);
        m->fused = calloc((size_t)L + 1, 1);
        if (!m->act || !m->grad || !m->shapes || !m->input_view || !m->grad_view || !m->in_place || !m->fused) {
            free_arrays(m);
            return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_forward: out of memory");
        }
    }
    release_tensors(m);
    memset(m->input_view, 0, (size_t)L + 1);
    memset(m->grad_view, 0, (size_t)L + 1);
    memset(m->in_place, 0, (size_t)L + 1);
    memset(m->fused, 0, (size_t)L + 1);
    PCL_TRY(pcl_model_output_shape(m, in, m->shapes[L]));
    memcpy(m->shapes[0], in, sizeof m->shapes[0]);
    for (int i = 0; i < L; i++) PCL_TRY(pcl_layer_output_shape(m->layers[i], m->shapes[i], m->shapes[i + 1]));
    /* Activations, front to back. act[0] (the caller's x) is marked as a
     * view root so reshapes right after it are remade per call. Layer i
     * runs in place when it is an activation and act[i] is the model's own
     * output of a layer i - 1 whose backward does not read it. */
    m->input_view[0] = 1;
    const char *fuse = getenv("PERCEPTCL_FUSE_UPSAMPLE"); /* "0": run the layers apart (benchmarks, tests) */
    for (int i = 0; i + 1 < L; i++)
        m->fused[i] = !(fuse && !strcmp(fuse, "0")) && m->layers[i]->kind == PCL_LAYER_KIND_UPSAMPLE &&
                      pcl_upsample_factor(m->layers[i]) == 2 && pcl_conv2d_takes_upsampled(m->layers[i + 1]);
    pcl_status status = PCL_OK;
    for (int i = 0; i < L && status == PCL_OK; i++) {
        const int *s = m->shapes[i + 1];
        if (m->fused[i]) continue; /* act[i + 1] not made */
        m->in_place[i] = m->layers[i]->kind == PCL_LAYER_KIND_ACTIVATION && i >= 1 && !is_reshape(m, i - 1) &&
                         !m->in_place[i - 1] && pcl_layer_backward_ignores_y(m->layers[i - 1]);
        if (is_reshape(m, i) && m->input_view[i])
            m->input_view[i + 1] = 1; /* made in forward */
        else if (is_reshape(m, i))
            status = pcl_reshape_view(m->layers[i], m->act[i], &m->act[i + 1]);
        else if (m->in_place[i])
            status = pcl_tensor_view(m->act[i], s[0], s[1], s[2], s[3], &m->act[i + 1]);
        else
            status = pcl_tensor_create(m->context, s[0], s[1], s[2], s[3], &m->act[i + 1]);
    }
    if (status != PCL_OK) {
        release_tensors(m);
        return status;
    }
    memcpy(m->shape, in, sizeof m->shape);
    m->allocated = 1;
    return PCL_OK;
}

/* Makes the gradient tensors for the allocated shape, back to front;
 * grad[L] is the caller's dy and grad[0] is never computed. in[i]: the
 * buffer (0 or 1) grad[i] lies in, -1 for the caller's dy. */
static pcl_status allocate_grads(pcl_model *m)
{
    const int L = m->count;
    signed char *in = malloc((size_t)L + 1);
    if (!in) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_backward: out of memory");
    size_t floats[2] = {0, 0};
    int largest[2] = {0, 0}; /* a buffer is shaped as the largest gradient it holds */
    in[L] = -1;
    m->grad_view[L] = 1;
    for (int i = L - 1; i >= 1; i--) {
        const int *s = m->shapes[i];
        if (m->fused[i - 1]) {
            in[i] = in[i + 1]; /* not made: the fused conv writes grad[i - 1] from grad[i + 1] */
            continue;
        }
        if (is_reshape(m, i) && m->grad_view[i + 1])
            m->grad_view[i] = 1, in[i] = -1; /* made in backward */
        else if (is_reshape(m, i) || (m->in_place[i] && in[i + 1] >= 0))
            in[i] = in[i + 1]; /* a view of grad[i + 1] */
        else
            in[i] = in[i + 1] == 0 ? 1 : 0;
        size_t count = (size_t)s[0] * s[1] * s[2] * s[3];
        if (in[i] >= 0 && count > floats[in[i]]) floats[in[i]] = count, largest[in[i]] = i;
    }
    pcl_status status = PCL_OK;
    for (int b = 0; b < 2 && status == PCL_OK; b++) {
        const int *s = m->shapes[largest[b]];
        if (floats[b]) status = pcl_tensor_create(m->context, s[0], s[1], s[2], s[3], &m->grad_buffer[b]);
    }
    for (int i = L - 1; i >= 1 && status == PCL_OK; i--) {
        const int *s = m->shapes[i];
        if (m->grad_view[i] || m->fused[i - 1]) continue;
        if (in[i] == in[i + 1])
            status = pcl_tensor_view(m->grad[i + 1], s[0], s[1], s[2], s[3], &m->grad[i]);
        else
            status = pcl_tensor_view_front(m->grad_buffer[in[i]], s[0], s[1], s[2], s[3], &m->grad[i]);
    }
    free(in);
    if (status != PCL_OK) {
        for (int i = 1; i < L; i++) {
            pcl_tensor_destroy(m->grad[i]);
            m->grad[i] = NULL;
        }
        for (int b = 0; b < 2; b++) {
            pcl_tensor_destroy(m->grad_buffer[b]);
            m->grad_buffer[b] = NULL;
        }
        return status;
    }
    m->grads_allocated = 1;
    return PCL_OK;
}

pcl_status pcl_model_forward(pcl_model *model, const pcl_tensor *x, pcl_tensor **y)
{
    if (!model) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_forward: NULL argument");
    return pcl_model_forward_to(model, x, model->count, y);
}

pcl_status pcl_model_forward_to(pcl_model *model, const pcl_tensor *x, int layers, pcl_tensor **y)
{
    if (!model || !x || !y) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_forward: NULL argument");
    *y = NULL;
    if (model->count == 0) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_forward: the model has no layers");
    if (layers < 1 || layers > model->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_forward_to: %d layers of a model of %d", layers,
                        model->count);
    if (x->context != model->context)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_forward: x belongs to another context");
    const int in[4] = {x->n, x->c, x->h, x->w};
    if (!model->allocated || memcmp(in, model->shape, sizeof in)) PCL_TRY(allocate(model, in));
    /* A partial forward leaves nothing for a backward to use. */
    model->x = layers == model->count ? x : NULL;
    model->act[0] = (pcl_tensor *)x; /* never written: only layers' const inputs */
    for (int i = 0; i < layers; i++) {
        pcl_layer *layer = model->layers[i];
        if (model->input_view[i + 1]) {
            pcl_tensor_destroy(model->act[i + 1]);
            model->act[i + 1] = NULL;
            PCL_TRY(pcl_reshape_view(layer, model->act[i], &model->act[i + 1]));
        }
        if (layer->kind == PCL_LAYER_KIND_VAE_SAMPLER)
            pcl_vae_sampler_set_seed(layer, pcl_train_step_seed(model->noise_seed, (uint64_t)i));
        /* A conv2d or batchnorm whose output the next layer, a ReLU,
         * overwrites in place stores that ReLU itself (one memory pass less;
         * SRCNN's separate ReLUs took 5% of `srcnn eval`, 1.3% of its
         * training step). The same in training: the ReLU's backward reads
         * only its output, and the conv2d's or batchnorm's backward not its
         * own. */
        int relu_done = 0;
        const int relu_next = i + 1 < layers && model->in_place[i + 1] && pcl_activation_is_relu(model->layers[i + 1]);
        pcl_status status = PCL_OK;
        if (model->fused[i] && i + 1 < layers) {
            /* upsample + conv2d as one sub-pixel convolution, with the ReLU
             * after them as below */
            relu_done = i + 2 < layers && model->in_place[i + 2] &&
                        pcl_activation_is_relu(model->layers[i + 2]);
            layer = model->layers[++i];
            status = pcl_conv2d_forward_upsampled(layer, model->act[i - 1], model->act[i + 1], relu_done);
        } else if (layer->kind == PCL_LAYER_KIND_CONV2D && relu_next) {
            status = pcl_conv2d_forward_relu(layer, model->act[i], model->act[i + 1], &relu_done);
        } else if (layer->kind == PCL_LAYER_KIND_BATCHNORM && relu_next) {
            status = pcl_batchnorm_forward_relu(layer, model->act[i], model->act[i + 1]);
            relu_done = 1;
        } else {
            if (model->fused[i] && !model->act[i + 1]) { /* a forward_to ending at a fused upsample */
                const int *s = model->shapes[i + 1];
                status = pcl_tensor_create(model->context, s[0], s[1], s[2], s[3], &model->act[i + 1]);
            }
            if (status == PCL_OK) status = pcl_layer_forward(layer, model->act[i], model->act[i + 1]);
        }
        if (status != PCL_OK)
            return pcl_fail(status, "model layer %d (%s) forward: %s", i, pcl_layer_kind_name(layer->kind),
                            pcl_last_error());
        i += relu_done; /* act[i + 2] is a view of act[i + 1]: the ReLU is done */
    }
    model->batch = x->n;
    *y = model->act[layers];
    return PCL_OK;
}

pcl_status pcl_model_backward(pcl_model *model, const pcl_tensor *dy)
{
    return pcl_model_backward_each(model, dy, NULL, NULL);
}

pcl_status pcl_model_backward_each(pcl_model *model, const pcl_tensor *dy, pcl_status (*after)(void *user, int layer),
                                   void *user)
{
    if (!model || !dy) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_backward: NULL argument");
    if (!model->allocated || !model->x)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_backward: no full forward before it");
    const int L = model->count;
    const pcl_tensor *y = model->act[L];
    if (!pcl_tensor_same_shape(dy, y))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_backward: dy is %dx%dx%dx%d, the output %dx%dx%dx%d", dy->n,
                        dy->c, dy->h, dy->w, y->n, y->c, y->h, y->w);
    if (!model->grads_allocated) PCL_TRY(allocate_grads(model));
    model->grad[L] = (pcl_tensor *)dy; /* read only */
    for (int i = L - 1; i >= 0; i--) {
        pcl_layer *layer = model->layers[i];
        if (i >= 1 && model->grad_view[i]) {
            const int *s = model->shapes[i];
            pcl_tensor_destroy(model->grad[i]);
            model->grad[i] = NULL;
            PCL_TRY(pcl_tensor_view(model->grad[i + 1], s[0], s[1], s[2], s[3], &model->grad[i]));
        }
        if (layer->kind == PCL_LAYER_KIND_VAE_SAMPLER)
            pcl_vae_sampler_set_kl_weight(layer, (float)(model->kl_weight / model->batch));
        int pair = i >= 1 && model->fused[i - 1]; /* conv i of a fused upsample + conv2d */
        pcl_status status;
        if (pair)
            status = pcl_conv2d_backward_upsampled(layer, model->act[i - 1], model->grad[i + 1],
                                                   i >= 2 ? model->grad[i - 1] : NULL);
        else
            status = pcl_layer_backward(layer, model->act[i], model->act[i + 1], model->grad[i + 1],
                                        i >= 1 ? model->grad[i] : NULL);
        if (status != PCL_OK)
            return pcl_fail(status, "model layer %d (%s) backward: %s", i, pcl_layer_kind_name(layer->kind),
                            pcl_last_error());
        for (int done = i; done >= i - pair; done--)
            if (after && (status = after(user, done)) != PCL_OK) {
                model->grad[L] = NULL;
                return status;
            }
        i -= pair;
    }
    model->grad[L] = NULL;
    return PCL_OK;
}

pcl_status pcl_model_zero_grad(pcl_model *model)
{
    if (!model) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_zero_grad: model is NULL");
    for (int i = 0; i < model->count; i++) PCL_TRY(pcl_layer_zero_grad(model->layers[i]));
    return PCL_OK;
}

void pcl_model_set_kl_weight(pcl_model *model, double weight)
{
    if (model) model->kl_weight = weight;
}

double pcl_model_kl_weight(const pcl_model *model) { return model ? model->kl_weight : 0.0; }

int pcl_model_has_kl(const pcl_model *model)
{
    for (int i = 0; model && i < model->count; i++)
        if (model->layers[i]->kind == PCL_LAYER_KIND_VAE_SAMPLER) return 1;
    return 0;
}

pcl_status pcl_model_kl(const pcl_model *model, double *mean_kl)
{
    if (!model || !mean_kl) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_kl: NULL argument");
    *mean_kl = 0.0;
    if (!pcl_model_has_kl(model)) return PCL_OK;
    if (!model->allocated || model->batch < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_kl: no forward yet");
    const int n = model->batch;
    float *kl = malloc((size_t)n * sizeof *kl);
    if (!kl) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_model_kl: out of memory");
    double sum = 0.0;
    for (int i = 0; i < model->count; i++) {
        if (model->layers[i]->kind != PCL_LAYER_KIND_VAE_SAMPLER) continue;
        pcl_status status = pcl_vae_sampler_kl(model->layers[i], kl, n);
        if (status != PCL_OK) {
            free(kl);
            return status;
        }
        for (int b = 0; b < n; b++) sum += kl[b];
    }
    free(kl);
    *mean_kl = sum / n;
    return PCL_OK;
}

void pcl_model_set_noise_seed(pcl_model *model, uint64_t seed)
{
    if (model) model->noise_seed = seed;
}
