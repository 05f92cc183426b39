/* The training flags every experiment's `train` takes (app.h): read through
 * the argument reader, all checked before any work (outputs and the state a
 * --resume continues included), then a trainer config and an optimizer. */
#include "app.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

app_train app_train_defaults(void)
{
    return (app_train){.losses = ~0u, .epochs = 10, .batch = 16, .seed = 1, .sgd_lr = 1e-2, .adam_lr = 1e-3,
                       .momentum = 0.9, .record_name = "records", .loss = PCL_LOSS_KIND_MSE,
                       .checkpoint_minutes = 10.0};
}

int app_train_arg(app_train *t, app_args *r)
{
    static const char *const optimizers[] = {"sgd", "adam", NULL};
    if (!r->option) return 0;
    if (app_args_is(r, "--loss")) {
        if (pcl_loss_kind_parse(r->value, &t->loss) != PCL_OK || !(t->losses & (1u << t->loss))) {
            char names[128] = "";
            /* The allowed names, in the enum's order (a name "" ends it). */
            const char *name;
            for (int k = 0; k < 32 && (name = pcl_loss_kind_name((pcl_loss_kind)k)) && name[0]; k++) {
                size_t used = strlen(names);
                if (t->losses & (1u << k)) snprintf(names + used, sizeof names - used, "%s%s", used ? "|" : "", name);
            }
            app_args_error(r, "--loss must be %s, not '%s'", names, r->value);
        }
        t->loss_given = 1;
    } else if (app_args_is(r, "--out")) t->out = r->value;
    else if (app_args_is(r, "--log")) t->log = r->value;
    else if (app_args_is(r, "--curve")) t->curve = r->value;
    else if (app_args_is(r, "--epochs")) app_args_long(r, 1, 1000000, &t->epochs);
    else if (app_args_is(r, "--max-steps")) app_args_long(r, 1, 1000000000, &t->max_steps);
    else if (app_args_is(r, "--batch")) app_args_long(r, 1, 65536, &t->batch);
    else if (app_args_is(r, "--seed")) app_args_long(r, 0, 0x7fffffffL, &t->seed);
    else if (app_args_is(r, "--lr")) t->lr_given = app_args_positive(r, &t->lr);
    else if (app_args_is(r, "--momentum")) app_args_double(r, 0.0, 1.0, &t->momentum);
    else if (app_args_is(r, "--weight-decay")) app_args_double(r, 0.0, INFINITY, &t->weight_decay);
    else if (app_args_is(r, "--optimizer")) app_args_choice(r, optimizers, &t->adam);
    else if (app_args_is(r, "--resume")) t->resume = 1;
    else if (app_args_is(r, "--patience")) app_args_long(r, 1, 1000000, &t->patience);
    else if (app_args_is(r, "--min-delta")) app_args_double(r, 0.0, INFINITY, &t->min_delta);
    else if (app_args_is(r, "--bucket-mb")) app_args_double(r, 0.001, 65536.0, &t->bucket_mb);
    else if (app_args_is(r, "--checkpoint-minutes")) app_args_double(r, 0.0, 1e6, &t->checkpoint_minutes);
    else return 0;
    return 1;
}

int app_output_check(app_args *r, const char *flag, const char *path)
{
    struct stat st;
    if (!path[0]) return app_args_error(r, "%s: empty path", flag);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return app_args_error(r, "%s %s: is a directory", flag, path);
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return app_args_error(r, "%s %s: folder %s does not exist", flag, path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return app_args_error(r, "%s %s: folder %s is not writable (%s)", flag, path, dir, strerror(errno));
    return 1;
}

int app_train_ready(app_train *t, app_args *r, json_t *recipe)
{
    t->app = r->app;
    if (r->exit_code < 0 && !t->loss_given) app_args_error(r, "needs --loss");
    if (r->exit_code < 0 && !t->out) app_args_error(r, "needs --out MODEL.safetensors");
    if (r->exit_code < 0 && t->patience == 0 && t->min_delta > 0) app_args_error(r, "--min-delta needs --patience");
    if (r->exit_code < 0 && (size_t)snprintf(t->state, sizeof t->state, "%s.train", t->out) >= sizeof t->state)
        app_args_error(r, "--out: path too long");
    if (r->exit_code < 0 && app_output_check(r, "--out", t->out) && app_output_check(r, "--out's state", t->state) &&
        (!t->log || app_output_check(r, "--log", t->log)))
        if (t->curve) app_output_check(r, "--curve", t->curve);
    if (r->exit_code < 0 && t->resume && access(t->state, R_OK) != 0)
        app_args_error(r, "--resume: no training state at %s", t->state);
    /* A state left by an earlier run (stopped, or finished) is not overwritten by a new one. */
    if (r->exit_code < 0 && !t->resume && access(t->state, F_OK) == 0)
        app_args_error(r, "%s holds the training state of an earlier run: --resume continues it; remove it to "
                          "start a new run",
                       t->state);
    if (!t->lr_given) t->lr = t->adam ? t->adam_lr : t->sgd_lr;
    /* What a resume must repeat, besides the loss and the batch the trainer records. */
    json_t *train = json_pack("{s:I, s:s, s:f}", "seed", (json_int_t)t->seed, "optimizer", t->adam ? "adam" : "sgd",
                              "lr", t->lr);
    if (train && !t->adam) json_object_set_new(train, "momentum", json_real(t->momentum));
    if (train && t->weight_decay > 0) json_object_set_new(train, "weight_decay", json_real(t->weight_decay));
    if (train && recipe && json_object_update(train, recipe) != 0) json_decref(train), train = NULL;
    json_decref(recipe);
    char *text = train ? json_dumps(train, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(train);
    if (r->exit_code < 0 && (!text || strlen(text) >= sizeof t->recipe))
        fprintf(stderr, "perceptcl %s: out of memory for the recipe\n", r->app), r->exit_code = 1;
    if (text && strlen(text) < sizeof t->recipe) strcpy(t->recipe, text);
    free(text);
    if (r->exit_code < 0 && t->resume) {
        pcl_trainer_config config = pcl_trainer_config_default();
        config.loss = t->loss;
        config.batch = (size_t)t->batch;
        config.recipe = t->recipe;
        if (pcl_trainer_check_resume(&config, t->state) != PCL_OK) r->exit_code = app_fail(r->app, "--resume");
    }
    return r->exit_code;
}

/* The first SIGINT or SIGTERM asks the trainer to save and stop after the
 * current step (pcl_trainer_config.stop_request); a second one ends the
 * process at once, as without the handler. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int signal_number)
{
    if (stop_signal) {
        signal(signal_number, SIG_DFL);
        raise(signal_number);
        return;
    }
    stop_signal = signal_number;
    static const char note[] = "perceptcl: stopping after this step to save the training state "
                               "(once more to stop at once, losing it)\n";
    if (write(STDERR_FILENO, note, sizeof note - 1) < 0) return; /* nothing to do about it here */
}

static void catch_stop_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int app_train_setup(const app_train *t, pcl_context *context, double sgd_lr_scale, pcl_trainer_config *config,
                    pcl_optimizer **optimizer)
{
    *config = pcl_trainer_config_default();
    config->loss = t->loss;
    config->batch = (size_t)t->batch;
    config->epochs = t->epochs;
    config->max_steps = t->max_steps;
    config->seed = (uint64_t)t->seed;
    config->patience = (int)t->patience;
    config->min_delta = t->min_delta;
    config->restore_best = t->patience > 0;
    config->checkpoint_path = t->state;
    config->checkpoint_seconds = t->checkpoint_minutes * 60.0;
    config->resume_path = t->resume ? t->state : NULL;
    config->log_path = t->log;
    config->curve_path = t->curve;
    config->recipe = t->recipe;
    config->comm = app_comm();
    if (pcl_comm_size(config->comm) == 1) {
        catch_stop_signals();
        config->stop_request = &stop_signal;
    }
    config->bucket_bytes = (size_t)(t->bucket_mb * 1048576.0);
    pcl_status s;
    if (t->adam) {
        pcl_adam_config adam = pcl_adam_config_default();
        adam.learning_rate = t->lr;
        adam.weight_decay = t->weight_decay;
        s = pcl_adam_create(context, &adam, optimizer);
    } else {
        pcl_sgd_config sgd = pcl_sgd_config_default();
        sgd.learning_rate = t->lr * sgd_lr_scale;
        sgd.momentum = t->momentum;
        sgd.weight_decay = t->weight_decay;
        s = pcl_sgd_create(context, &sgd, optimizer);
    }
    return s == PCL_OK ? 0 : app_fail(t->app, "optimizer");
}

int app_train_metadata(const char *app, const char *const *keys_values, pcl_checkpoint **metadata)
{
    if (pcl_checkpoint_create(metadata) != PCL_OK) return app_fail(app, "metadata");
    for (const char *const *kv = keys_values; kv[0]; kv += 2)
        if (kv[1] && pcl_checkpoint_set_metadata(*metadata, kv[0], kv[1]) != PCL_OK) return app_fail(app, kv[0]);
    return 0;
}

int app_train_save(const app_train *t, pcl_model *model, const pcl_trainer_result *result,
                   pcl_checkpoint *metadata)
{
    if (!app_is_root()) return 0; /* every rank holds the same weights */
    if (result->interrupted) {
        /* The model is written only by a run that ends: the state holds this one. */
        fprintf(stderr,
                "perceptcl %s: stopped by %s at step %lld; the training state is saved in %s: the same "
                "command with --resume continues it (no model written)\n",
                t->app, stop_signal == SIGINT ? "SIGINT" : "SIGTERM", (long long)result->steps, t->state);
        return 128 + (int)stop_signal;
    }
    char value[64];
    pcl_status s = pcl_checkpoint_set_metadata(metadata, "loss", pcl_loss_kind_name(t->loss));
    snprintf(value, sizeof value, "%lld", (long long)result->epochs);
    if (s == PCL_OK) s = pcl_checkpoint_set_metadata(metadata, "epochs", value);
    snprintf(value, sizeof value, "%lld", (long long)result->steps);
    if (s == PCL_OK) s = pcl_checkpoint_set_metadata(metadata, "steps", value);
    /* No epoch completed in this run (--max-steps mid-epoch): no train_loss. */
    snprintf(value, sizeof value, "%.9g", result->train_loss);
    if (s == PCL_OK && !isnan(result->train_loss)) s = pcl_checkpoint_set_metadata(metadata, "train_loss", value);
    /* "training": the recipe the state recorded, with the loss and the batch. */
    json_t *training = json_loads(t->recipe, 0, NULL);
    char *text = NULL;
    if (training && json_object_set_new(training, "loss", json_string(pcl_loss_kind_name(t->loss))) == 0 &&
        json_object_set_new(training, "batch", json_integer(t->batch)) == 0)
        text = json_dumps(training, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(training);
    if (s == PCL_OK && !text) return fprintf(stderr, "perceptcl %s: out of memory for the metadata\n", t->app), 1;
    if (s == PCL_OK) s = pcl_checkpoint_set_metadata(metadata, "training", text);
    free(text);
    if (s == PCL_OK) s = pcl_model_save(model, t->out, metadata);
    const char *app = t->app;
    if (s != PCL_OK) return app_fail(app, t->out);
    char ranks[96] = "";
    if (pcl_comm_size(app_comm()) > 1)
        snprintf(ranks, sizeof ranks, " (%d ranks, %.1f s in gradient exchanges)", pcl_comm_size(app_comm()),
                 result->exchange_seconds);
    if (isnan(result->train_loss))
        fprintf(stderr, "perceptcl %s: %lld steps (no full epoch in this run)%s -> %s\n", app,
                (long long)result->steps, ranks, t->out);
    else
        fprintf(stderr, "perceptcl %s: %lld epochs, %lld steps, last epoch loss %.6g, %.1f %s/s%s -> %s\n", app,
                (long long)result->epochs, (long long)result->steps, result->train_loss, result->images_per_second,
                t->record_name, ranks, t->out);
    return 0;
}
