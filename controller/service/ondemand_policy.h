/* SPDX-License-Identifier: Apache-2.0 */
/* ondemand_policy.h - on-demand TLS (issue 14): which SNI names may get a certificate, by pattern
 */
#ifndef CTL_ONDEMAND_POLICY_H
#define CTL_ONDEMAND_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/** Buffer that always holds a normalized on-demand name or a certificate name for one. */
#define CTL_ONDEMAND_NAME_BUF 256

/** Whether `pattern` is a valid --on-demand-allow pattern: a DNS name of at least two labels, or
 *  "*." and such a name. THREAD SAFETY: pure. */
bool ctl_ondemand_pattern_ok(const char *pattern);

/** Whether `name` (normalized, see ctl_ondemand_name) matches one of the n patterns: the same
 *  name (any case), or for "*.suffix" exactly one non-empty label followed by ".suffix".
 *  THREAD SAFETY: pure. */
bool ctl_ondemand_match(const char *const *patterns, size_t n, const char *name);

/** Normalizes an SNI name an edge asks for into out (CTL_ONDEMAND_NAME_BUF bytes): lower case,
 *  no trailing dot. False (out unchanged) unless it is a DNS name that could get a certificate:
 *  letters, digits and inner hyphens only, labels of 1..63 bytes, at most 253 bytes, at least two
 *  labels, no wildcard, not an IP address, a top-level label that is not all digits.
 *  THREAD SAFETY: pure. */
bool ctl_ondemand_name(const char *sni, char *out, size_t size);

/** The certificate name for on-demand name `name` into out (CTL_ONDEMAND_NAME_BUF bytes): the name
 *  itself when it fits a certificate name (63 bytes), else "od-" and 32 hex digits of its SHA-256.
 *  THREAD SAFETY: pure. */
void ctl_ondemand_cert_name(const char *name, char *out, size_t size);

#endif
