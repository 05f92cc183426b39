/* Resume: one safetensors checkpoint with the weights, the optimizer's state,
 * the run's position and early stopping's state (train_checkpoint.h). */
#include "train/train_internal.h"

#include "perceptcl/checkpoint.h"
#include "perceptcl/trainer.h"

#include <jansson.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "perceptcl-train-2"
/* Before tensors had PyTorch's shapes: every tensor is (n, c, h, w). */
#define FORMAT_4D "perceptcl-train-1"

/* C hex floats round-trip a double exactly (and "inf" for the best loss of a
 * run without validation yet). */
static pcl_status set_double(pcl_checkpoint *c, const char *key, double value)
{
    char text[64];
    snprintf(text, sizeof text, "%a", value);
    return pcl_checkpoint_set_metadata(c, key, text);
}

static pcl_status get_double(const pcl_checkpoint *c, const char *path, const char *key, double *value)
{
    const char *text = pcl_checkpoint_metadata(c, key);
    if (!text) return pcl_fail(PCL_ERR_FORMAT, "%s: metadata '%s' missing", path, key);
    char *end;
    errno = 0;
    *value = strtod(text, &end);
    if (end == text || *end)
        return pcl_fail(PCL_ERR_FORMAT, "%s: metadata '%s' is \"%s\", expected a number", path, key, text);
    return PCL_OK;
}

static pcl_status state_name(char *name, size_t capacity, const char *param, const char *slot)
{
    if (snprintf(name, capacity, "optimizer.%s.%s", param, slot) >= (int)capacity)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: name 'optimizer.%s.%s' too long", param, slot);
    return PCL_OK;
}

/* The shape a tensor is saved with. */
typedef struct saved_shape {
    int ndim;
    int64_t dims[4];
} saved_shape;

static saved_shape device_shape(const pcl_tensor *t)
{
    saved_shape s = {4, {t->n, t->c, t->h, t->w}};
    return s;
}

static saved_shape weight_shape(const pcl_train_weights *weights, int index)
{
    saved_shape s;
    pcl_train_weights_shape(weights, index, &s.ndim, s.dims); /* index < count: cannot fail */
    return s;
}

/* An optimizer state tensor follows its parameter's saved shape (found by
 * the tensor); a parameter not among the weights keeps (n, c, h, w). */
static saved_shape state_shape(const pcl_train_weights *weights, const pcl_tensor *param, const pcl_tensor *state)
{
    for (int i = 0; i < pcl_train_weights_count(weights); i++) {
        pcl_tensor *t;
        pcl_train_weights_entry(weights, i, NULL, &t);
        if (t == param && pcl_tensor_count(t) == pcl_tensor_count(state)) return weight_shape(weights, i);
    }
    return device_shape(state);
}

/* The alias of the weight that is tensor param (NULL when none). */
static const char *weight_alias(const pcl_train_weights *weights, const pcl_tensor *param)
{
    for (int i = 0; i < pcl_train_weights_count(weights); i++) {
        pcl_tensor *t;
        pcl_train_weights_entry(weights, i, NULL, &t);
        if (t == param) return pcl_train_weights_alias(weights, i);
    }
    return NULL;
}

static pcl_status add(pcl_checkpoint *c, const char *name, const pcl_tensor *t, saved_shape shape)
{
    return pcl_checkpoint_add_tensor_shaped(c, name, t, shape.ndim, shape.dims);
}

static pcl_status fill(pcl_checkpoint *c, const pcl_train_weights *weights, const pcl_optimizer *optimizer,
                       const pcl_early_stop *stop, const pcl_train_position *position, const pcl_train_run *run)
{
    const char *loss_name = run ? run->loss_name : NULL;
    PCL_TRY(pcl_checkpoint_set_metadata(c, "format", FORMAT));
    if (run && run->batch_size > 0) PCL_TRY(pcl_checkpoint_set_metadata_i64(c, "batch_size", run->batch_size));
    if (run && run->recipe) PCL_TRY(pcl_checkpoint_set_metadata(c, "recipe", run->recipe));
    if (position) {
        PCL_TRY(pcl_checkpoint_set_metadata_u64(c, "seed", position->seed));
        PCL_TRY(pcl_checkpoint_set_metadata_i64(c, "epoch", position->epoch));
        PCL_TRY(pcl_checkpoint_set_metadata_i64(c, "batch", position->batch));
        PCL_TRY(pcl_checkpoint_set_metadata_i64(c, "step", position->step));
        PCL_TRY(pcl_checkpoint_set_metadata_u64(c, "epoch_rng", position->epoch_rng));
        PCL_TRY(pcl_checkpoint_set_metadata_u64(c, "rng", position->rng));
        PCL_TRY(set_double(c, "elapsed", position->elapsed));
        if (!isnan(position->epoch_loss)) PCL_TRY(set_double(c, "epoch_loss", position->epoch_loss));
    }
    if (loss_name) PCL_TRY(pcl_checkpoint_set_metadata(c, "loss", loss_name));
    for (int i = 0; i < pcl_train_weights_count(weights); i++) {
        const char *name;
        pcl_tensor *t;
        PCL_TRY(pcl_train_weights_entry(weights, i, &name, &t));
        PCL_TRY(add(c, name, t, weight_shape(weights, i)));
    }
    if (optimizer) {
        char text[512];
        PCL_TRY(pcl_checkpoint_set_metadata(c, "optimizer",
                                            pcl_optimizer_kind_name(pcl_optimizer_get_kind(optimizer))));
        PCL_TRY(pcl_checkpoint_set_metadata_u64(c, "optimizer_steps", pcl_optimizer_steps(optimizer)));
        PCL_TRY(set_double(c, "learning_rate", pcl_optimizer_learning_rate(optimizer)));
        PCL_TRY(pcl_optimizer_describe(optimizer, text, sizeof text));
        PCL_TRY(pcl_checkpoint_set_metadata(c, "optimizer_config", text));
        for (int i = 0; i < pcl_optimizer_param_count(optimizer); i++) {
            const char *pname;
            pcl_tensor *param;
            PCL_TRY(pcl_optimizer_param(optimizer, i, &param, NULL, &pname, NULL));
            for (int s = 0; s < pcl_optimizer_state_count(optimizer); s++) {
                pcl_tensor *t;
                const char *slot;
                PCL_TRY(pcl_optimizer_state(optimizer, i, s, &t, &slot));
                PCL_TRY(state_name(text, sizeof text, pname, slot));
                PCL_TRY(add(c, text, t, state_shape(weights, param, t)));
            }
        }
    }
    if (stop) {
        PCL_TRY(pcl_checkpoint_set_metadata_i64(c, "early_stop_have_best", stop->have_best));
        PCL_TRY(set_double(c, "early_stop_best", stop->best_loss));
        PCL_TRY(pcl_checkpoint_set_metadata_i64(c, "early_stop_best_epoch", stop->best_epoch));
        PCL_TRY(pcl_checkpoint_set_metadata_i64(c, "early_stop_bad_epochs", stop->bad_epochs));
        for (int i = 0; stop->have_best && i < stop->count; i++) {
            const char *name;
            char full[512];
            PCL_TRY(pcl_train_weights_entry(stop->weights, i, &name, NULL));
            snprintf(full, sizeof full, "best.%s", name);
            PCL_TRY(add(c, full, stop->best[i], weight_shape(stop->weights, i)));
        }
    }
    return PCL_OK;
}

pcl_status pcl_train_save_run(const char *path, const pcl_train_weights *weights, const pcl_optimizer *optimizer,
                              const pcl_early_stop *stop, const pcl_train_position *position, const pcl_train_run *run)
{
    if (!path || !weights) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_save: NULL argument");
    pcl_checkpoint *c;
    PCL_TRY(pcl_checkpoint_create(&c));
    pcl_status status = fill(c, weights, optimizer, stop, position, run);
    if (status == PCL_OK) status = pcl_checkpoint_write(c, path);
    pcl_checkpoint_destroy(c);
    return status;
}

pcl_status pcl_train_save(const char *path, const pcl_train_weights *weights, const pcl_optimizer *optimizer,
                          const pcl_early_stop *stop, const pcl_train_position *position, const char *loss_name)
{
    pcl_train_run run = {loss_name, 0, NULL};
    return pcl_train_save_run(path, weights, optimizer, stop, position, &run);
}

static int has_tensor(const pcl_checkpoint *c, const char *name)
{
    for (int i = 0; i < pcl_checkpoint_count(c); i++) {
        const char *entry;
        if (pcl_checkpoint_entry(c, i, &entry, NULL, NULL, NULL) == PCL_OK && !strcmp(entry, name)) return 1;
    }
    return 0;
}

/* Checks that the tensor is there with the expected shape, t's device
 * shape in a file of the earlier layout (all_4d), and finite values; the
 * message names the file, the tensor and both shapes (or the bad element).
 * A tensor absent under name is taken under alias (may be NULL: a named
 * layer's index name, as states written before it had a name call it).
 * apply 1 also uploads it. */
static pcl_status take(const pcl_checkpoint *c, const char *name, const char *alias, pcl_tensor *t, saved_shape shape,
                       int all_4d, int apply)
{
    if (alias && !has_tensor(c, name) && has_tensor(c, alias)) name = alias;
    if (all_4d) shape = device_shape(t);
    if (apply) return pcl_checkpoint_load_tensor_shaped(c, name, t, shape.ndim, shape.dims);
    return pcl_checkpoint_find_finite(c, name, shape.ndim, shape.dims, NULL);
}

/* Run twice: first apply = 0 checks everything, so a checkpoint that does not
 * fit leaves the model untouched; then apply = 1 loads. */
static pcl_status load(const pcl_checkpoint *c, const char *path, pcl_train_weights *weights,
                       pcl_optimizer *optimizer, pcl_early_stop *stop, pcl_train_position *position, int apply)
{
    const char *format = pcl_checkpoint_metadata(c, "format");
    int all_4d = format && strcmp(format, FORMAT_4D) == 0;
    if (!format || (strcmp(format, FORMAT) != 0 && !all_4d))
        return pcl_fail(PCL_ERR_FORMAT, "%s: metadata 'format' is %s%s%s, expected \"" FORMAT "\" (or \"" FORMAT_4D
                        "\")", path, format ? "\"" : "", format ? format : "missing", format ? "\"" : "");
    for (int i = 0; i < pcl_train_weights_count(weights); i++) {
        const char *name;
        pcl_tensor *t;
        PCL_TRY(pcl_train_weights_entry(weights, i, &name, &t));
        PCL_TRY(take(c, name, pcl_train_weights_alias(weights, i), t, weight_shape(weights, i), all_4d, apply));
    }
    if (optimizer) {
        const char *kind = pcl_checkpoint_metadata(c, "optimizer");
        const char *want = pcl_optimizer_kind_name(pcl_optimizer_get_kind(optimizer));
        if (!kind || strcmp(kind, want) != 0)
            return pcl_fail(PCL_ERR_FORMAT, "%s: optimizer is %s, this run uses %s (resume with the same "
                            "optimizer)", path, kind ? kind : "missing (a weights-only checkpoint)", want);
        uint64_t steps;
        double lr = 0.0;
        PCL_TRY(pcl_checkpoint_metadata_u64(c, "optimizer_steps", &steps));
        PCL_TRY(get_double(c, path, "learning_rate", &lr));
        char name[512];
        for (int i = 0; i < pcl_optimizer_param_count(optimizer); i++) {
            const char *pname;
            pcl_tensor *param;
            PCL_TRY(pcl_optimizer_param(optimizer, i, &param, NULL, &pname, NULL));
            for (int s = 0; s < pcl_optimizer_state_count(optimizer); s++) {
                pcl_tensor *t;
                const char *slot;
                PCL_TRY(pcl_optimizer_state(optimizer, i, s, &t, &slot));
                PCL_TRY(state_name(name, sizeof name, pname, slot));
                const char *param_alias = weight_alias(weights, param);
                char alias[512];
                if (param_alias) PCL_TRY(state_name(alias, sizeof alias, param_alias, slot));
                PCL_TRY(take(c, name, param_alias ? alias : NULL, t, state_shape(weights, param, t), all_4d, apply));
            }
        }
        if (!(lr > 0.0) || !isfinite(lr))
            return pcl_fail(PCL_ERR_FORMAT, "%s: learning_rate %g, expected a finite value > 0", path, lr);
        if (apply) {
            pcl_optimizer_set_learning_rate(optimizer, lr);
            pcl_optimizer_set_steps(optimizer, steps);
        }
    }
    if (stop && pcl_checkpoint_metadata(c, "early_stop_best")) {
        int64_t have, epoch, bad;
        double best = 0.0;
        PCL_TRY(pcl_checkpoint_metadata_i64(c, "early_stop_have_best", &have));
        PCL_TRY(pcl_checkpoint_metadata_i64(c, "early_stop_best_epoch", &epoch));
        PCL_TRY(pcl_checkpoint_metadata_i64(c, "early_stop_bad_epochs", &bad));
        PCL_TRY(get_double(c, path, "early_stop_best", &best));
        for (int i = 0; have && i < stop->count; i++) {
            const char *name;
            char full[512];
            PCL_TRY(pcl_train_weights_entry(stop->weights, i, &name, NULL));
            snprintf(full, sizeof full, "best.%s", name);
            const char *weight_alias_name = pcl_train_weights_alias(stop->weights, i);
            char alias[512];
            if (weight_alias_name) snprintf(alias, sizeof alias, "best.%s", weight_alias_name);
            PCL_TRY(take(c, full, weight_alias_name ? alias : NULL, stop->best[i], weight_shape(stop->weights, i),
                         all_4d, apply));
        }
        if (apply) {
            stop->have_best = have != 0;
            stop->best_loss = best;
            stop->best_epoch = epoch;
            stop->bad_epochs = (int)bad;
        }
    }
    if (position) {
        pcl_train_position p;
        PCL_TRY(pcl_checkpoint_metadata_u64(c, "seed", &p.seed));
        PCL_TRY(pcl_checkpoint_metadata_i64(c, "epoch", &p.epoch));
        PCL_TRY(pcl_checkpoint_metadata_i64(c, "batch", &p.batch));
        PCL_TRY(pcl_checkpoint_metadata_i64(c, "step", &p.step));
        PCL_TRY(pcl_checkpoint_metadata_u64(c, "epoch_rng", &p.epoch_rng));
        PCL_TRY(pcl_checkpoint_metadata_u64(c, "rng", &p.rng));
        PCL_TRY(get_double(c, path, "elapsed", &p.elapsed));
        /* states written before the epoch's loss sum was recorded lack it */
        p.epoch_loss = NAN;
        if (pcl_checkpoint_metadata(c, "epoch_loss")) PCL_TRY(get_double(c, path, "epoch_loss", &p.epoch_loss));
        if (apply) *position = p;
    }
    return PCL_OK;
}

pcl_status pcl_train_load(const char *path, pcl_train_weights *weights, pcl_optimizer *optimizer,
                          pcl_early_stop *stop, pcl_train_position *position)
{
    if (!path || !weights) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_load: NULL argument");
    pcl_checkpoint *c;
    PCL_TRY(pcl_checkpoint_read(path, &c));
    pcl_status status = load(c, path, weights, optimizer, stop, position, 0);
    if (status == PCL_OK) status = load(c, path, weights, optimizer, stop, position, 1);
    pcl_checkpoint_destroy(c);
    return status;
}

/* ---- the run a state belongs to ------------------------------------------- */

/* Appends "<what> <saved> (this run: <now>)" to the mismatch list. */
static void mismatch(char *text, size_t capacity, const char *what, const char *saved, const char *now)
{
    size_t used = strlen(text);
    if (used < capacity)
        snprintf(text + used, capacity - used, "%s%s %s (this run: %s)", used ? ", " : "", what, saved, now);
}

/* A recipe member as text: a string as is, anything else as compact JSON. */
static char *member_text(const json_t *value)
{
    if (!value) return strdup("none");
    if (json_is_string(value)) return strdup(json_string_value(value));
    return json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
}

static pcl_status recipe_object(const char *text, const char *what, json_t **out)
{
    json_error_t error;
    *out = json_loads(text, 0, &error);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return pcl_fail(PCL_ERR_FORMAT, "%s: recipe is not a JSON object (%s)", what, error.text);
    }
    return PCL_OK;
}

static void compare_recipes(const json_t *saved, const json_t *now, char *text, size_t capacity)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)saved, key, value) {
        const json_t *other = json_object_get(now, key);
        if (other && json_equal(value, (json_t *)other)) continue;
        char *a = member_text(value), *b = member_text(other);
        mismatch(text, capacity, key, a ? a : "?", b ? b : "?");
        free(a);
        free(b);
    }
    json_object_foreach((json_t *)now, key, value) {
        if (json_object_get(saved, key)) continue;
        char *b = member_text(value);
        mismatch(text, capacity, key, "none", b ? b : "?");
        free(b);
    }
}

pcl_status pcl_trainer_check_resume(const pcl_trainer_config *config, const char *path)
{
    if (!config || !path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_trainer_check_resume: NULL argument");
    pcl_checkpoint *c;
    PCL_TRY(pcl_checkpoint_read(path, &c));
    char text[2048] = "";
    pcl_status status = PCL_OK;
    const char *loss = pcl_checkpoint_metadata(c, "loss"), *want = pcl_loss_kind_name(config->loss);
    if (loss && want && strcmp(loss, want) != 0) mismatch(text, sizeof text, "loss", loss, want);
    if (pcl_checkpoint_metadata(c, "batch_size")) {
        int64_t batch = 0;
        status = pcl_checkpoint_metadata_i64(c, "batch_size", &batch);
        if (status == PCL_OK && batch != (int64_t)config->batch) {
            char a[32], b[32];
            snprintf(a, sizeof a, "%lld", (long long)batch);
            snprintf(b, sizeof b, "%zu", config->batch);
            mismatch(text, sizeof text, "batch", a, b);
        }
    }
    const char *recipe = pcl_checkpoint_metadata(c, "recipe");
    if (status == PCL_OK && recipe) {
        json_t *saved = NULL, *now = NULL;
        status = recipe_object(recipe, path, &saved);
        if (status == PCL_OK && config->recipe) status = recipe_object(config->recipe, "this run", &now);
        if (status == PCL_OK && !now) now = json_object();
        if (status == PCL_OK && !now)
            status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_trainer_check_resume: out of memory");
        if (status == PCL_OK) compare_recipes(saved, now, text, sizeof text);
        json_decref(saved);
        json_decref(now);
    }
    pcl_checkpoint_destroy(c);
    if (status == PCL_OK && text[0])
        status = pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s is the state of another run: %s; resume with the same "
                          "configuration (only the epochs and the maximum steps may change)", path, text);
    return status;
}
