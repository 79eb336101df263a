/* SPDX-License-Identifier: Apache-2.0 */
/* completion.h - certplanectl's shell completion scripts, generated from the command and option
 * tables of args.c (so a new command or option completes without editing a script) */
#ifndef CTL_CLI_COMPLETION_H
#define CTL_CLI_COMPLETION_H

#include <stdio.h>

#include "shared/err.h"

/** Writes the completion script for `shell` ("bash" or "zsh") to out: command names, each
 * command's options (a repeatable option may repeat), file names after an option whose help names a
 * file, the commands after `help`. Returns 0, or CP_EINVAL with the reason in err for another
 * shell. THREAD SAFETY: any thread (reads static tables only). */
int ctl_cli_completion(const char *shell, FILE *out, cp_err_t *err);

#endif
