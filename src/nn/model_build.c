/* A model from a table of layer specs (model.h): the table is checked entry
 * by entry before any layer is made, and its shapes can be walked without a
 * device (pcl_model_spec_shape). */
#include "perceptcl/model.h"

#include "runtime/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* PyTorch's BatchNorm defaults, for a spec that leaves them 0. */
#define DEFAULT_MOMENTUM 0.1f
#define DEFAULT_EPSILON 1e-5f

static pcl_status bad_entry(int index, const pcl_layer_spec *e, const char *what)
{
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "spec entry %d (%s%s%s%s): %s", index, pcl_layer_kind_name(e->kind),
                    e->name ? " '" : "", e->name ? e->name : "", e->name ? "'" : "", what);
}

/* pcl_fail with a formatted reason naming entry index. */
#define BAD(fmt, ...)                                                                                                  \
    do {                                                                                                               \
        char why_[256];                                                                                                \
        snprintf(why_, sizeof why_, fmt, __VA_ARGS__);                                                                 \
        return bad_entry(index, e, why_);                                                                              \
    } while (0)

/* The fields of one entry, without an input shape. */
static pcl_status check_entry(const pcl_layer_spec *spec, int index)
{
    const pcl_layer_spec *e = &spec[index];
    if (e->name) {
        int digits = 1;
        if (!*e->name) BAD("%s", "empty name");
        for (const char *p = e->name; *p; p++) {
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
                BAD("name '%s' has a character other than letters, digits, '_', '.'", e->name);
            if (!isdigit((unsigned char)*p)) digits = 0;
        }
        if (digits) BAD("name '%s' is all digits (an index name)", e->name);
        if (strlen(e->name) > 200) BAD("%s", "name longer than 200 characters");
        for (int j = 0; j < index; j++)
            if (spec[j].name && !strcmp(spec[j].name, e->name)) BAD("name '%s' is also entry %d's", e->name, j);
    }
    switch (e->kind) {
    case PCL_LAYER_KIND_CONV2D:
        if (e->in < 1 || e->out < 1) BAD("channels %d -> %d, expected >= 1", e->in, e->out);
        if (e->kernel < 1) BAD("kernel %d, expected >= 1", e->kernel);
        if (e->stride < 1) BAD("stride %d, expected >= 1", e->stride);
        if (e->pad < 0) BAD("pad %d, expected >= 0", e->pad);
        if (e->padding != PCL_PADDING_ZERO && e->padding != PCL_PADDING_REPLICATE)
            BAD("unknown padding %d", (int)e->padding);
        return PCL_OK;
    case PCL_LAYER_KIND_DENSE:
        if (e->in < 1 || e->out < 1) BAD("features %d -> %d, expected >= 1", e->in, e->out);
        return PCL_OK;
    case PCL_LAYER_KIND_ACTIVATION:
        if (e->activation != PCL_ACTIVATION_RELU && e->activation != PCL_ACTIVATION_TANH)
            BAD("unknown activation %d", (int)e->activation);
        return PCL_OK;
    case PCL_LAYER_KIND_BINARY:
        return PCL_OK;
    case PCL_LAYER_KIND_BATCHNORM:
        if (e->out < 1) BAD("%d channels, expected >= 1", e->out);
        if (!(e->momentum >= 0.0f && e->momentum <= 1.0f)) BAD("momentum %g not in [0, 1]", e->momentum);
        if (!(e->epsilon >= 0.0f)) BAD("epsilon %g, expected >= 0 (0: 1e-5)", e->epsilon);
        return PCL_OK;
    case PCL_LAYER_KIND_UPSAMPLE:
        if (e->factor < 1) BAD("factor %d, expected >= 1", e->factor);
        return PCL_OK;
    case PCL_LAYER_KIND_RESHAPE:
        if (e->shape[0] < 1 || e->shape[1] < 1 || e->shape[2] < 1)
            BAD("shape %dx%dx%d, expected extents >= 1", e->shape[0], e->shape[1], e->shape[2]);
        return PCL_OK;
    case PCL_LAYER_KIND_VAE_SAMPLER:
        if (e->out < 1) BAD("latent size %d, expected >= 1", e->out);
        return PCL_OK;
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "spec entry %d: unknown layer kind %d", index, (int)e->kind);
}

static pcl_status check_table(const pcl_layer_spec *spec, int count, const char *what)
{
    if (!spec || count < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: empty table (%d entries)", what, count);
    for (int i = 0; i < count; i++) PCL_TRY(check_entry(spec, i));
    return PCL_OK;
}

pcl_status pcl_model_spec_shape(const pcl_layer_spec *spec, int count, const int in[4], int out[4],
                                size_t *param_floats)
{
    if (!in) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_spec_shape: in is NULL");
    PCL_TRY(check_table(spec, count, "pcl_model_spec_shape"));
    if (in[0] < 1 || in[1] < 1 || in[2] < 1 || in[3] < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_spec_shape: input %dx%dx%dx%d, expected extents >= 1",
                        in[0], in[1], in[2], in[3]);
    int s[4] = {in[0], in[1], in[2], in[3]};
    size_t params = 0;
    for (int index = 0; index < count; index++) {
        const pcl_layer_spec *e = &spec[index];
        const long long values = (long long)s[1] * s[2] * s[3];
        switch (e->kind) {
        case PCL_LAYER_KIND_CONV2D: {
            if (s[1] != e->in) BAD("input has %d channels, the layer takes %d", s[1], e->in);
            const int hp = s[2] + 2 * e->pad, wp = s[3] + 2 * e->pad;
            if (hp < e->kernel || wp < e->kernel)
                BAD("a %dx%d kernel does not fit a %dx%d input padded by %d", e->kernel, e->kernel, s[2], s[3], e->pad);
            s[1] = e->out;
            s[2] = (hp - e->kernel) / e->stride + 1;
            s[3] = (wp - e->kernel) / e->stride + 1;
            params += (size_t)e->out * e->in * e->kernel * e->kernel + (size_t)e->out;
            break;
        }
        case PCL_LAYER_KIND_DENSE:
            if (values != e->in) BAD("an input image holds %lld values, the layer takes %d", values, e->in);
            s[1] = e->out, s[2] = s[3] = 1;
            params += (size_t)e->out * e->in + (size_t)e->out;
            break;
        case PCL_LAYER_KIND_BATCHNORM:
            if (s[1] != e->out) BAD("input has %d channels, the layer %d", s[1], e->out);
            params += 2 * (size_t)e->out; /* gamma, beta (the running statistics are buffers) */
            break;
        case PCL_LAYER_KIND_UPSAMPLE:
            s[2] *= e->factor, s[3] *= e->factor;
            break;
        case PCL_LAYER_KIND_RESHAPE:
            if (values != (long long)e->shape[0] * e->shape[1] * e->shape[2])
                BAD("an input image holds %lld values, the shape %dx%dx%d %lld", values, e->shape[0], e->shape[1],
                    e->shape[2], (long long)e->shape[0] * e->shape[1] * e->shape[2]);
            s[1] = e->shape[0], s[2] = e->shape[1], s[3] = e->shape[2];
            break;
        case PCL_LAYER_KIND_VAE_SAMPLER:
            if (values != 2LL * e->out)
                BAD("an input image holds %lld values, expected 2 x %d (mean, log-variance)", values, e->out);
            s[1] = e->out, s[2] = s[3] = 1;
            break;
        case PCL_LAYER_KIND_ACTIVATION:
        case PCL_LAYER_KIND_BINARY:
            break;
        }
    }
    if (out) memcpy(out, s, sizeof s);
    if (param_floats) *param_floats = params;
    return PCL_OK;
}

static pcl_status make_layer(pcl_context *context, const pcl_layer_spec *e, pcl_layer **layer)
{
    switch (e->kind) {
    case PCL_LAYER_KIND_CONV2D: {
        pcl_conv2d_config c = {0};
        c.in_channels = e->in;
        c.out_channels = e->out;
        c.kernel_h = c.kernel_w = e->kernel;
        c.stride = e->stride;
        c.pad_h = c.pad_w = e->pad;
        c.padding = e->padding;
        c.backend = PCL_GEMM_BACKEND_AUTO;
        return pcl_conv2d_create(context, &c, layer);
    }
    case PCL_LAYER_KIND_DENSE:
        return pcl_dense_create(context, e->in, e->out, PCL_GEMM_BACKEND_AUTO, layer);
    case PCL_LAYER_KIND_ACTIVATION:
        return pcl_activation_create(context, e->activation, layer);
    case PCL_LAYER_KIND_BINARY:
        return pcl_binary_create(context, layer);
    case PCL_LAYER_KIND_BATCHNORM:
        return pcl_batchnorm_create(context, e->out, e->momentum > 0.0f ? e->momentum : DEFAULT_MOMENTUM,
                                    e->epsilon > 0.0f ? e->epsilon : DEFAULT_EPSILON, layer);
    case PCL_LAYER_KIND_UPSAMPLE:
        return pcl_upsample_create(context, e->factor, layer);
    case PCL_LAYER_KIND_RESHAPE:
        return pcl_reshape_create(context, e->shape[0], e->shape[1], e->shape[2], layer);
    case PCL_LAYER_KIND_VAE_SAMPLER:
        return pcl_vae_sampler_create(context, e->out, layer);
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "unknown layer kind %d", (int)e->kind);
}

pcl_status pcl_model_build(pcl_context *context, const pcl_layer_spec *spec, int count, pcl_model **model)
{
    if (!model) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_build: model is NULL");
    *model = NULL;
    if (!context) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_build: context is NULL");
    PCL_TRY(check_table(spec, count, "pcl_model_build"));
    pcl_model *m = NULL;
    PCL_TRY(pcl_model_create(context, &m));
    pcl_status status = PCL_OK;
    for (int i = 0; i < count && status == PCL_OK; i++) {
        pcl_layer *layer = NULL;
        status = make_layer(context, &spec[i], &layer);
        if (status == PCL_OK) status = pcl_model_add_named(m, layer, spec[i].name);
        if (status != PCL_OK)
            status = pcl_fail(status, "pcl_model_build: entry %d (%s): %s", i, pcl_layer_kind_name(spec[i].kind),
                              pcl_last_error());
    }
    if (status != PCL_OK) {
        pcl_model_destroy(m);
        return status;
    }
    *model = m;
    return PCL_OK;
}

pcl_status pcl_model_build_architecture(pcl_context *context, const pcl_architecture *arch, pcl_model **model)
{
    if (!model) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_build_architecture: model is NULL");
    *model = NULL;
    if (!arch || !arch->name)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_model_build_architecture: NULL architecture or name");
    const int in[4] = {1, arch->input[0], arch->input[1], arch->input[2]};
    pcl_status status = pcl_model_spec_shape(arch->spec, arch->count, in, NULL, NULL);
    if (status != PCL_OK) return pcl_fail(status, "architecture %s: %s", arch->name, pcl_last_error());
    PCL_TRY(pcl_model_build(context, arch->spec, arch->count, model));
    status = pcl_model_set_architecture(*model, arch->name);
    if (status != PCL_OK) {
        pcl_model_destroy(*model);
        *model = NULL;
    }
    return status;
}
