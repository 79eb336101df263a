/* SPDX-License-Identifier: Apache-2.0 */
/* cfg.c - configuration from flags and CERTPLANE_* environment variables */
#include "shared/cfg.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/mem.h"

#define FIELD(conf, opt, type) ((type *)((char *)(conf) + (opt)->offset))

int cp_cfg_parse_duration(const char *text, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1000}};
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return CP_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || v > (unsigned long long)INT64_MAX / 86400000)
        return CP_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *ms = (int64_t)v * units[i].ms;
            return 0;
        }
    }
    return CP_EINVAL;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return CP_EINVAL;
}

static void list_add(cp_cfg_list_t *l, const char *value)
{
    char **v = cp_xrealloc(l->v, (l->n + 1) * sizeof *v);
    l->v = v;
    l->v[l->n++] = cp_xstrdup(value);
}

static void list_clear(cp_cfg_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Stores one value. `from_env` splits list values on commas; `append` keeps earlier list values (a
 * flag repeated on the command line) instead of replacing those that came from a default or the
 * environment. */
static int set_value(const cp_cfg_opt_t *o, void *conf, const char *value, bool from_env,
                     bool append, const char *origin, cp_err_t *err)
{
    switch (o->type) {
    case CP_CFG_STRING:
        free(*FIELD(conf, o, char *));
        *FIELD(conf, o, char *) = cp_xstrdup(value);
        return 0;
    case CP_CFG_INT: {
        errno = 0;
        char *end;
        long long v = strtoll(value, &end, 10);
        bool ranged = o->min != 0 || o->max != 0;
        if (errno != 0 || end == value || *end != '\0' || v < INT_MIN || v > INT_MAX ||
            (ranged && (v < o->min || v > o->max))) {
            if (ranged)
                return cp_err_set(err, CP_EINVAL,
                                  "%s: expected an integer from %" PRId64 " to %" PRId64
                                  ", got \"%s\"",
                                  origin, o->min, o->max, value);
            return cp_err_set(err, CP_EINVAL, "%s: expected an integer, got \"%s\"", origin, value);
        }
        *FIELD(conf, o, int) = (int)v;
        return 0;
    }
    case CP_CFG_BOOL:
        if (parse_bool(value, FIELD(conf, o, bool)) != 0)
            return cp_err_set(err, CP_EINVAL, "%s: expected true or false, got \"%s\"", origin,
                              value);
        return 0;
    case CP_CFG_DURATION:
        if (cp_cfg_parse_duration(value, FIELD(conf, o, int64_t)) != 0)
            return cp_err_set(
                err, CP_EINVAL,
                "%s: expected a duration such as 250ms, 30s, 5m, 12h or 7d, got \"%s\"", origin,
                value);
        return 0;
    case CP_CFG_LIST: {
        cp_cfg_list_t *l = FIELD(conf, o, cp_cfg_list_t);
        if (!append)
            list_clear(l);
        if (!from_env) {
            list_add(l, value);
            return 0;
        }
        char *copy = cp_xstrdup(value), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
            list_add(l, tok);
        free(copy);
        return 0;
    }
    }
    return cp_err_set(err, CP_EINTERNAL, "%s: unknown option type", origin);
}

static const cp_cfg_opt_t *find_flag(const cp_cfg_opt_t *opts, size_t n, const char *name,
                                     size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int apply_defaults_and_env(const cp_cfg_opt_t *opts, size_t n, void *conf, cp_err_t *err)
{
    char origin[160];
    for (size_t i = 0; i < n; i++) {
        const cp_cfg_opt_t *o = &opts[i];
        snprintf(origin, sizeof origin, "default of --%s", o->flag);
        if (o->def != NULL && set_value(o, conf, o->def, true, false, origin, err) != 0)
            return CP_EINVAL;
        const char *env = o->env != NULL ? getenv(o->env) : NULL;
        snprintf(origin, sizeof origin, "%s", o->env != NULL ? o->env : "");
        if (env != NULL && set_value(o, conf, env, true, false, origin, err) != 0)
            return CP_EINVAL;
    }
    return 0;
}

/* Parses argv[*i] (and argv[*i + 1] when it is the value). Lists given on the command line replace
 * the default or environment values on their first occurrence and accumulate after that. */
static int parse_arg(const cp_cfg_opt_t *opts, size_t n, void *conf, int argc, char **argv, int *i,
                     bool *seen, cp_err_t *err)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        return CP_CFG_HELP;
    if (strcmp(arg, "--version") == 0)
        return CP_CFG_VERSION;
    if (strncmp(arg, "--", 2) != 0)
        return cp_err_set(err, CP_EINVAL, "unexpected argument \"%s\" (options start with --)",
                          arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const cp_cfg_opt_t *o = find_flag(opts, n, name, len);
    if (o == NULL)
        return cp_err_set(err, CP_EINVAL, "unknown option --%.*s (see --help)", (int)len, name);
    const char *value = eq != NULL ? eq + 1 : NULL;
    if (value == NULL && o->type == CP_CFG_BOOL)
        value = "true";
    if (value == NULL) {
        if (*i + 1 >= argc)
            return cp_err_set(err, CP_EINVAL, "--%s needs a value", o->flag);
        value = argv[++*i];
    }
    char origin[96];
    snprintf(origin, sizeof origin, "--%s", o->flag);
    size_t idx = (size_t)(o - opts);
    int rc = set_value(o, conf, value, false, seen[idx], origin, err);
    seen[idx] = true;
    return rc;
}

int cp_cfg_parse(const cp_cfg_opt_t *opts, size_t n_opts, void *conf, int argc, char **argv,
                 cp_err_t *err)
{
    int rc = apply_defaults_and_env(opts, n_opts, conf, err);
    if (rc != 0)
        return rc;
    bool *seen = cp_xcalloc(n_opts + 1, sizeof *seen);
    for (int i = 1; i < argc && rc == 0; i++)
        rc = parse_arg(opts, n_opts, conf, argc, argv, &i, seen, err);
    free(seen);
    return rc;
}

void cp_cfg_dispose(const cp_cfg_opt_t *opts, size_t n_opts, void *conf)
{
    for (size_t i = 0; i < n_opts; i++) {
        if (opts[i].type == CP_CFG_STRING) {
            free(*FIELD(conf, &opts[i], char *));
            *FIELD(conf, &opts[i], char *) = NULL;
        } else if (opts[i].type == CP_CFG_LIST) {
            list_clear(FIELD(conf, &opts[i], cp_cfg_list_t));
        }
    }
}

static const char *type_hint(cp_cfg_type_t t)
{
    static const char *const hints[] = {"string", "int", "bool", "duration", "list"};
    return (unsigned)t < 5 ? hints[t] : "?";
}

/* Prints text wrapped at 100 columns, each line indented by `indent` spaces. */
static void print_wrapped(FILE *out, const char *text, int indent)
{
    const int width = 100 - indent;
    while (*text != '\0') {
        int len = (int)strlen(text);
        int cut = len;
        if (len > width) {
            cut = width;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = width;
        }
        fprintf(out, "%*s%.*s\n", indent, "", cut, text);
        text += cut;
        while (*text == ' ')
            text++;
    }
}

void cp_cfg_help(const cp_cfg_opt_t *opts, size_t n_opts, const char *prog, const char *summary,
                 FILE *out)
{
    fprintf(out, "Usage: %s [options]\n\n", prog);
    print_wrapped(out, summary, 0);
    fprintf(out, "\nOptions (each also read from its environment variable; flags win):\n");
    for (size_t i = 0; i < n_opts; i++) {
        const cp_cfg_opt_t *o = &opts[i];
        fprintf(out, "  --%s <%s>", o->flag, type_hint(o->type));
        if (o->env != NULL)
            fprintf(out, "  [$%s]", o->env);
        if (o->def != NULL && !(o->flags & CP_CFG_SECRET))
            fprintf(out, "  (default: %s)", o->def[0] != '\0' ? o->def : "\"\"");
        fputc('\n', out);
        print_wrapped(out, o->help, 6);
    }
    fprintf(out,
            "  --help\n      Show this help and exit.\n  --version\n      Show the version.\n");
}
