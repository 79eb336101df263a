/* SPDX-License-Identifier: Apache-2.0 */
/* table.h - certplanectl's human output: aligned tables and the cell formats they use */
#ifndef CTL_CLI_TABLE_H
#define CTL_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "certplane/v1/certplane.pb-c.h"

/* THREAD SAFETY: a table is used by one thread at a time; the format functions are reentrant. */

/** Longest LAST ERROR shown in a table row, in characters (longer ones end in "..."). */
#define CTL_CLI_ERROR_WIDTH 60

/** An aligned text table with a header row. */
typedef struct ctl_cli_table ctl_cli_table_t;

/** A table with `ncols` columns named by `headers` (copied). The caller frees it. */
ctl_cli_table_t *ctl_cli_table_new(size_t ncols, const char *const *headers);

/** Frees t; NULL is a no-op. */
void ctl_cli_table_free(ctl_cli_table_t *t);

/** Appends a row of ncols cells (copied; NULL prints as "-"). */
void ctl_cli_table_add(ctl_cli_table_t *t, const char *const *cells);

/** Number of rows added so far (without the header). */
size_t ctl_cli_table_rows(const ctl_cli_table_t *t);

/** Prints the header and the rows, each column padded to its widest cell (counted in UTF-8
 *  characters) plus two spaces; the last column is not padded and no line ends in spaces. */
void ctl_cli_table_print(const ctl_cli_table_t *t, FILE *out);

/** Appends the certificate row NAME, STATE, DOMAINS, NOT AFTER, RENEW AFTER, LAST ERROR to a table
 *  made by ctl_cli_cert_table_new. */
void ctl_cli_table_add_cert(ctl_cli_table_t *t, const Certplane__V1__Certificate *c);

/** A table with the certificate columns (see ctl_cli_table_add_cert). */
ctl_cli_table_t *ctl_cli_cert_table_new(void);

/** Writes the first name (domain, else IP address) and "+N" for the N others ("a.example +2"), or
 *  "-" when there is none, into buf (truncated to size). */
void ctl_cli_fmt_names(const Certplane__V1__Certificate *c, char *buf, size_t size);

/** Writes ts as "2025-01-31 12:00:00Z" (UTC), or "-" when ts is NULL. */
void ctl_cli_fmt_time(const Google__Protobuf__Timestamp *ts, char *buf, size_t size);

/** Copies s into buf on one line (control characters become spaces), cut to at most `max` UTF-8
 *  characters with "..." as the last three when it was longer; "-" for NULL or "". max >= 4. */
void ctl_cli_fmt_trunc(const char *s, size_t max, char *buf, size_t size);

/** Name of a State value ("VALID"), or "UNKNOWN". Static storage. */
const char *ctl_cli_state_name(int state);

/** Name of any enum value of `d`, or "UNKNOWN". Static storage. */
const char *ctl_cli_enum_name(const ProtobufCEnumDescriptor *d, int value);

#endif
