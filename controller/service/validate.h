/* SPDX-License-Identifier: Apache-2.0 */
/* validate.h - validation of domain names, IP addresses, certificate names and email addresses */
#ifndef CTL_VALIDATE_H
#define CTL_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "shared/err.h"

/* OWNERSHIP: every function only reads its inputs and writes into buffers the caller provides;
 * nothing is allocated that outlives a call. A failed call leaves every output buffer unchanged.
 * ERRORS: a rejected input gives CP_EINVAL and a message in err (when not NULL) that names the
 * rule, e.g. "label longer than 63 characters"; ctl_validate_names() prefixes it with the field
 * path. THREAD SAFETY: all functions are reentrant and may run on any thread at once (no shared
 * state). */

/** Flags of the domain functions. ALLOW_WILDCARD accepts one `*` as the whole leftmost label
 *  (`*.example.com`); ALLOW_IP accepts IPv4/IPv6 literals (also `[v6]`) in place of a domain name.
 */
enum { CTL_VALIDATE_ALLOW_WILDCARD = 1, CTL_VALIDATE_ALLOW_IP = 2 };

/** Most domains plus IP addresses in one certificate (the Let's Encrypt limit). */
#define CTL_VALIDATE_MAX_NAMES 100

/** Longest domain name in octets, without the optional trailing dot. */
#define CTL_VALIDATE_DOMAIN_MAX 253

/** Buffer size that always suffices for ctl_validate_domain_normalize() and ctl_validate_ip(). */
#define CTL_VALIDATE_NAME_BUF (CTL_VALIDATE_DOMAIN_MAX + 1)

/** Longest certificate name (it becomes a Redis key part and a URL path segment). */
#define CTL_VALIDATE_CERT_NAME_MAX 63

/** Longest email address, and longest local part (before the `@`). */
#define CTL_VALIDATE_EMAIL_MAX 254
#define CTL_VALIDATE_EMAIL_LOCAL_MAX 64

/** Checks that `name` is a domain name a certificate may carry: case-insensitive ASCII, LDH labels
 * of 1-63 octets, at most 253 octets without one optional trailing dot, at least two labels, a
 * top-level label that is not all-numeric. A label starting `xn--` must be an IDNA A-label (valid
 * Punycode that decodes to at least one non-ASCII code point); other labels with `--` in positions
 * 3-4 are reserved. Non-ASCII input (a U-label) is rejected: the caller must send the A-label.
 * `flags` is a mask of CTL_VALIDATE_ALLOW_*: without ALLOW_WILDCARD any `*` is rejected, without
 * ALLOW_IP any IP literal. Returns 0, or CP_EINVAL with the broken rule in err. THREAD SAFETY: any
 * thread. */
int ctl_validate_domain(const char *name, int flags, cp_err_t *err);

/** Validates `name` like ctl_validate_domain() and writes its normal form into `out`: lower case,
 * the trailing dot stripped; an IP literal (only with CTL_VALIDATE_ALLOW_IP) becomes its canonical
 * text without brackets, as ctl_validate_ip() writes it. CTL_VALIDATE_NAME_BUF bytes always
 * suffice. Returns 0, or CP_EINVAL (also when `out` is NULL or shorter than the result plus its
 * NUL); `out` is then unchanged. THREAD SAFETY: any thread, on its own `out`. */
int ctl_validate_domain_normalize(const char *name, int flags, char *out, size_t out_size,
                                  cp_err_t *err);

/** Checks an entry of a certificate's ip_addresses: an IPv4 dotted quad (four decimal parts 0-255,
 *  no leading zeros, no shorthand such as 127.1) or an IPv6 address inet_pton() accepts; brackets,
 *  zone ids (`%eth0`) and CIDR suffixes (`/24`) are rejected. When `canonical` is not NULL, writes
 *  the canonical inet_ntop() text ("::1" for "::0001") into it; CTL_VALIDATE_NAME_BUF (or 46) bytes
 *  suffice. Returns 0, or CP_EINVAL (also when `size` is too small); `canonical` is then unchanged.
 *  THREAD SAFETY: any thread, on its own `canonical`. */
int ctl_validate_ip(const char *addr, char *canonical, size_t size, cp_err_t *err);

/** Checks the name set of one certificate: every domains[i] with ctl_validate_domain(..., flags,
 * ...), every ips[i] with ctl_validate_ip(); together at least 1 and at most CTL_VALIDATE_MAX_NAMES
 * entries; no two entries equal after normalization (case, trailing dot, IPv6 spelling). An array
 * may be NULL when its count is 0. Returns 0, or CP_EINVAL whose message starts with the path of
 * the first bad entry: "domains[2]: label longer than 63 characters", "domains[3]: duplicate of
 * domains[0]", "ip_addresses[1]: duplicate of ip_addresses[0]". Allocates scratch memory freed
 * before it returns (out of memory aborts). THREAD SAFETY: any thread. */
int ctl_validate_names(const char *const *domains, size_t n_domains, const char *const *ips,
                       size_t n_ips, int flags, cp_err_t *err);

/** Checks a certificate name, which becomes part of Redis keys and URL path segments: exactly
 *  `[a-z0-9][a-z0-9.-]{0,62}` and no `..` anywhere (so "..", "a/b", "%2e", "Upper", ".x", "-x" and
 * "" are all rejected). Returns 0, or CP_EINVAL with the broken rule in err. THREAD SAFETY: any
 * thread. */
int ctl_validate_cert_name(const char *name, cp_err_t *err);

/** Checks an ACME contact email address (it becomes a "mailto:" URL): `local@domain`, the local
 * part RFC 5322 dot-atom text of at most 64 octets (atext characters, no leading, trailing or
 * double dots), the domain a domain name by ctl_validate_domain() rules with no wildcard, no IP
 * literal and no trailing dot, at most 254 octets in all. Spaces, quotes, angle brackets, commas,
 * control characters and non-ASCII are rejected. Note that atext includes `%`, `?`, `#`, `&` and
 * `/`: whoever builds the mailto URL must percent-encode them (RFC 6068). Returns 0, or CP_EINVAL
 * with the broken rule in err. THREAD SAFETY: any thread. */
int ctl_validate_email(const char *email, cp_err_t *err);

/** Decodes `len` octets of RFC 3492 Punycode (the part of an A-label after "xn--", without the
 * prefix) into at most `max` Unicode code points in `out` and stores their count in `*n_out`. Fails
 * on a truncated or overflowing delta, a non-basic code point before the last delimiter, more than
 * `max` code points, and on decoded code points that no U-label may contain: C1 controls,
 * surrogates, noncharacters and values above U+10FFFF (so "a", which decodes to U+0080, is
 * rejected). Returns 0, or CP_EINVAL with the reason in err; `out` and `*n_out` may then hold
 * partial results. THREAD SAFETY: any thread, on its own `out`. */
int ctl_validate_decode_punycode(const char *in, size_t len, uint32_t *out, size_t max,
                                 size_t *n_out, cp_err_t *err);

#endif
