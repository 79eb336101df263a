/* SPDX-License-Identifier: Apache-2.0 */
/* cfg.h - configuration from flags and CERTPLANE_* environment variables, one table for parser and
 * --help */
#ifndef CP_CFG_H
#define CP_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shared/err.h"

typedef enum cp_cfg_type {
    CP_CFG_STRING,   /* char * (malloc'd copy; NULL when unset and no default) */
    CP_CFG_INT,      /* int; decimal, range-checked by min/max */
    CP_CFG_BOOL,     /* bool; "--flag" sets true, "--flag=false|true|0|1|yes|no" */
    CP_CFG_DURATION, /* int64_t milliseconds; "250ms", "30s", "5m", "12h", "7d", or plain seconds */
    CP_CFG_LIST, /* cp_cfg_list_t; the flag may repeat; the environment variable is comma-separated
                  */
} cp_cfg_type_t;

/** A repeatable option's values (malloc'd strings). */
typedef struct cp_cfg_list {
    char **v;
    size_t n;
} cp_cfg_list_t;

/** Marks an option whose value is a secret: --help never prints its value or default. */
#define CP_CFG_SECRET 1

/** One option: the single source both the parser and --help read. `offset` is the field's offsetof
 * in the caller's configuration struct. `env` is the full variable name (CERTPLANE_...). */
typedef struct cp_cfg_opt {
    const char *flag; /* without the leading "--" */
    const char *env;
    cp_cfg_type_t type;
    size_t offset;
    const char *def; /* default as text, parsed like a flag value; NULL for none */
    const char *help;
    int flags;   /* CP_CFG_SECRET */
    int64_t min; /* CP_CFG_INT only: allowed range (both 0 means any) */
    int64_t max;
} cp_cfg_opt_t;

/** cp_cfg_parse returns this (positive) when --help or --version was given; the caller prints and
 * exits 0. */
#define CP_CFG_HELP 1
#define CP_CFG_VERSION 2

/** Fills `conf` from the defaults, then the environment, then argv (later wins). Unknown flags,
 * missing values, bad numbers, durations or booleans, and positional arguments are CP_EINVAL with a
 * message that names the flag or variable ("--workers: expected an integer from 1 to 64, got
 * \"x\""). On failure `conf` may hold partial values: release it with cp_cfg_dispose either way.
 *  THREAD SAFETY: call from one thread, before others start (reads the environment). */
int cp_cfg_parse(const cp_cfg_opt_t *opts, size_t n_opts, void *conf, int argc, char **argv,
                 cp_err_t *err);

/** Frees the strings and lists that cp_cfg_parse stored in `conf`, and zeroes those fields. */
void cp_cfg_dispose(const cp_cfg_opt_t *opts, size_t n_opts, void *conf);

/** Prints usage: "Usage: <prog> [options]", the summary, then each option with its variable, type,
 *  default (not for secrets) and help, wrapped to 100 columns. */
void cp_cfg_help(const cp_cfg_opt_t *opts, size_t n_opts, const char *prog, const char *summary,
                 FILE *out);

/** Parses a duration ("250ms", "30s", "5m", "12h", "7d", "90" = seconds) into milliseconds.
 *  Returns 0 or CP_EINVAL. */
int cp_cfg_parse_duration(const char *text, int64_t *ms);

#endif
