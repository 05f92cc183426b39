/* The eval and reconstruct commands of the autoencoder experiments
 * (autoencoder.h, "the eval and reconstruct commands"): their options, the
 * checks of eval's outputs, its pictures and study items, and reconstruct
 * whole. Shared by perceptcl convae and perceptcl fcae. */
#include "autoencoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *const exponents[] = {"equal", "standard", NULL};

int app_ae_test_arg(app_args *r, app_ae_test_options *o)
{
    if (app_args_is(r, "--model")) app_args_append(r, o->paths, &o->count, APP_AE_MAX_MODELS, "--model files");
    else if (app_args_is(r, "--data")) o->data = r->value;
    else if (app_args_is(r, "--images")) o->images = r->value;
    else if (app_args_is(r, "--protocol")) app_args_choice(r, app_ae_protocol_names, &o->protocol);
    else if (app_args_is(r, "--seed")) app_args_long(r, 0, 0x7fffffffL, &o->seed);
    else if (app_args_is(r, "--zoom")) app_args_int(r, 1, 16, &o->zoom);
    else if (app_args_is(r, "--msssim-weights")) app_args_choice(r, exponents, &o->standard);
    else return 0;
    return 1;
}

const char *app_ae_test_ready(app_args *r, app_ae_test_options *o, app_ae_resolve resolve)
{
    const char *root = pcl_data_root(o->data);
    if (r->exit_code < 0 && !o->count) app_args_error(r, "needs --model M");
    if (r->exit_code < 0 && !o->images && !root)
        app_args_error(r, "needs --data DIR (or PERCEPTCL_DATA) or --images DIR");
    if (r->exit_code < 0 && !o->images && !(o->protocol = resolve(r, root, o->protocol)))
        o->protocol = APP_AE_PROTOCOL_AUTO;
    return root;
}

void app_ae_eval_outputs_check(app_args *r, const app_ae_test_options *o, const char *report, const char *grid,
                               const char *study)
{
    char md[4200], js[4200], partial[4200];
    struct stat st;
    snprintf(md, sizeof md, "%s.md", report ? report : "");
    snprintf(js, sizeof js, "%s.json", report ? report : "");
    snprintf(partial, sizeof partial, "%s.partial", study ? study : "");
    if (r->exit_code < 0 && report && app_output_check(r, "--report", md)) app_output_check(r, "--report", js);
    if (r->exit_code < 0 && grid) app_output_check(r, "--grid", grid);
    if (r->exit_code < 0 && study && stat(study, &st) == 0) app_args_error(r, "--study %s: already exists", study);
    if (r->exit_code < 0 && study) app_output_check(r, "--study", partial);
    if (r->exit_code < 0 && study && (o->count < 2 || o->count > 3))
        app_args_error(r, "--study compares 2 or 3 models, not %d", o->count);
}

const char *app_ae_eval_args(app_args *r, app_ae_test_options *o, app_ae_eval_outputs *out, app_ae_resolve resolve)
{
    while (app_args_next(r)) {
        if (!r->option) app_args_error(r, "unexpected argument '%s'", r->value);
        else if (app_ae_test_arg(r, o)) continue;
        else if (app_args_is(r, "--report")) out->report = r->value;
        else if (app_args_is(r, "--grid")) out->grid = r->value;
        else if (app_args_is(r, "--study")) out->study = r->value;
        else if (app_args_is(r, "--study-count")) app_args_int(r, 1, 100000, &out->study_count);
    }
    const char *root = app_ae_test_ready(r, o, resolve);
    app_ae_eval_outputs_check(r, o, out->report, out->grid, out->study);
    return root;
}

void app_ae_test_run_end(app_ae_test_run *t)
{
    app_ae_session_end(&t->s);
    app_ae_set_free(&t->set);
}

int app_ae_eval_write(const char *app, const app_ae_test_run *t, const app_ae_test_options *o,
                      const app_ae_eval_outputs *out, const app_report *table)
{
    int rc = 0;
    const app_ae_eval *e = &t->s.eval;
    if (out->study && out->study_count > e->images)
        return fprintf(stderr, "perceptcl %s: --study-count %d: the test set has %ld images\n", app, out->study_count,
                       e->images), 2;
    if (!app_is_root()) return 0; /* every rank has the same scores and pictures */
    if (out->grid) rc = app_ae_grid_write(app, e, out->rows, out->row_count, out->panels, out->panel_count, o->zoom,
                                          out->grid);
    long *picked = rc == 0 && out->study ? malloc((size_t)out->study_count * sizeof *picked) : NULL;
    if (rc == 0 && out->study && !picked) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", app), 1);
    if (rc == 0 && out->study) app_ae_pick(e->images, out->study_count, (uint64_t)o->seed, picked);
    if (rc == 0 && out->study) rc = app_ae_study_write(app, e, t->s.labels, picked, out->study_count, out->study);
    if (rc == 0) rc = app_report_emit(app, table, out->report);
    if (rc && out->grid) remove(out->grid); /* written before a later failure: all or nothing */
    free(picked);
    return rc;
}

int app_ae_run_reconstruct(int argc, char **argv, const app_ae_reconstruct_command *c)
{
    const char *out = NULL;
    pcl_device_selection selection = {0};
    app_ae_test_options o = c->defaults;
    int count = 8;
    app_args r;
    app_args_init(&r, c->app, c->usage, c->options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option && out) app_args_error(&r, "expects one OUT.png, got an extra '%s'", r.value);
        else if (!r.option) out = r.value;
        else if (app_ae_test_arg(&r, &o)) continue;
        else if (app_args_is(&r, "--count")) app_args_int(&r, 1, 64, &count);
    }
    const char *root = app_ae_test_ready(&r, &o, c->resolve);
    if (r.exit_code < 0 && !out) app_args_error(&r, "expects OUT.png");
    if (r.exit_code < 0) app_output_check(&r, "OUT.png", out);
    if (r.exit_code >= 0) return r.exit_code;
    app_ae_test_run t = {0};
    int rc = c->start(c->app, &selection, root, &o, &t);
    if (rc == 0 && count > t.s.eval.images) count = (int)t.s.eval.images; /* a small folder: all of it */
    long picked[64];
    if (rc == 0) app_ae_pick(t.s.eval.images, count, (uint64_t)o.seed, picked);
    const int writer = app_is_root(); /* every rank has the same pictures: rank 0 writes them */
    if (rc == 0 && writer) rc = app_ae_grid_write(c->app, &t.s.eval, picked, count, NULL, 0, o.zoom, out);
    if (rc == 0 && writer) {
        fprintf(stderr, "perceptcl %s: %d images of %s (", c->app, count, t.set_name);
        for (int k = 0; k < count; k++) fprintf(stderr, "%s%ld", k ? " " : "", picked[k]);
        fprintf(stderr, "), columns: original");
        for (int m = 0; m < t.s.model_count; m++) fprintf(stderr, " | %s", t.s.labels[m]);
        fprintf(stderr, " -> %s\n", out);
    }
    app_ae_test_run_end(&t);
    return rc;
}
