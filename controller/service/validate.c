/* SPDX-License-Identifier: Apache-2.0 */
/* validate.c - validation of domain names, IP addresses, certificate names and email addresses */
#include "controller/service/validate.h"

#include "shared/mem.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 63

/* Bootstring parameters for Punycode, RFC 3492 section 5. */
enum {
    PC_BASE = 36,
    PC_TMIN = 1,
    PC_TMAX = 26,
    PC_SKEW = 38,
    PC_DAMP = 700,
    PC_INITIAL_BIAS = 72,
    PC_INITIAL_N = 128
};

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Messages quote a rejected character only when it is printable ASCII, so that control characters
 * from untrusted input never reach a log line or an API response verbatim. */
static int bad_char(cp_err_t *err, const char *where, char c)
{
    unsigned char u = (unsigned char)c;
    if (u > 0x20 && u < 0x7f)
        return cp_err_set(err, CP_EINVAL, "invalid character '%c' in %s", c, where);
    return cp_err_set(err, CP_EINVAL, "invalid character 0x%02x in %s", u, where);
}

static int copy_out(const char *s, size_t len, char *out, size_t out_size, cp_err_t *err)
{
    if (out == NULL || out_size <= len)
        return cp_err_set(err, CP_EINVAL, "output buffer too small (%zu bytes needed)", len + 1);
    for (size_t i = 0; i < len; i++)
        out[i] = to_lower(s[i]);
    out[len] = '\0';
    return 0;
}

/* ---- Punycode (RFC 3492 section 6.2) ---- */

static uint32_t pc_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static int pc_digit(char c)
{
    if (is_digit(c))
        return c - '0' + 26;
    if (is_alpha(c))
        return to_lower(c) - 'a';
    return -1;
}

/* Code points no U-label can hold whatever the IDNA tables say: ASCII is never encoded as a delta,
 * C1 controls, surrogates, noncharacters and anything beyond Unicode. */
static bool pc_codepoint_ok(uint32_t cp)
{
    if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef))
        return false;
    return (cp & 0xfffe) != 0xfffe && cp <= 0x10ffff;
}

/* Reads one generalized variable-length integer (RFC 3492 section 3.3) at in[*pos]. */
static int pc_read_delta(const char *in, size_t len, size_t *pos, uint32_t bias, uint32_t *delta,
                         cp_err_t *err)
{
    uint32_t i = 0, w = 1;
    for (uint32_t k = PC_BASE;; k += PC_BASE) {
        if (*pos >= len)
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: truncated delta");
        int digit = pc_digit(in[*pos]);
        if (digit < 0)
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: bad digit at offset %zu", *pos);
        (*pos)++;
        if ((uint32_t)digit > (UINT32_MAX - i) / w)
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: delta overflows");
        i += (uint32_t)digit * w;
        uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
        if ((uint32_t)digit < t)
            break;
        if (w > UINT32_MAX / (PC_BASE - t))
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: delta overflows");
        w *= PC_BASE - t;
    }
    *delta = i;
    return 0;
}

/* Copies the basic code points before the last delimiter; returns where the deltas start. */
static int pc_copy_basic(const char *in, size_t len, uint32_t *out, size_t max, size_t *n,
                         size_t *pos, cp_err_t *err)
{
    const char *last = memrchr(in, '-', len);
    size_t basic = last != NULL ? (size_t)(last - in) : 0;
    if (basic > max)
        return cp_err_set(err, CP_EINVAL, "invalid Punycode: more than %zu code points", max);
    for (size_t j = 0; j < basic; j++) {
        if ((unsigned char)in[j] >= 0x80)
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: non-basic code point");
        out[j] = (unsigned char)in[j];
    }
    *n = basic;
    /* A delimiter at offset 0 is not one: there are no basic code points, and it is read as a
     * digit. */
    *pos = basic > 0 ? basic + 1 : 0;
    return 0;
}

int ctl_validate_decode_punycode(const char *in, size_t len, uint32_t *out, size_t max,
                                 size_t *n_out, cp_err_t *err)
{
    if (in == NULL || out == NULL || n_out == NULL)
        return cp_err_set(err, CP_EINVAL, "invalid Punycode: NULL argument");
    size_t n = 0, pos = 0;
    int rc = pc_copy_basic(in, len, out, max, &n, &pos, err);
    if (rc != 0)
        return rc;
    uint32_t cp = PC_INITIAL_N, i = 0, bias = PC_INITIAL_BIAS;
    while (pos < len) {
        uint32_t delta = 0;
        rc = pc_read_delta(in, len, &pos, bias, &delta, err);
        if (rc != 0)
            return rc;
        if (delta > UINT32_MAX - i)
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: delta overflows");
        bias = pc_adapt(delta, (uint32_t)n + 1, i == 0);
        i += delta;
        if (i / (n + 1) > UINT32_MAX - cp)
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: code point overflows");
        cp += i / (n + 1);
        i %= n + 1;
        if (!pc_codepoint_ok(cp))
            return cp_err_set(err, CP_EINVAL, "decodes to disallowed code point U+%04X", cp);
        if (n >= max)
            return cp_err_set(err, CP_EINVAL, "invalid Punycode: more than %zu code points", max);
        memmove(out + i + 1, out + i, (n - i) * sizeof *out);
        out[i++] = cp;
        n++;
    }
    *n_out = n;
    return 0;
}

/* ---- domain names ---- */

/* Labels starting "xn--" must be A-labels: the rest decodes and holds at least one non-ASCII code
 * point, otherwise it is an ASCII name in disguise or garbage. */
static int check_a_label(const char *p, size_t len, cp_err_t *err)
{
    uint32_t cps[LABEL_MAX];
    size_t n = 0;
    int rc = ctl_validate_decode_punycode(p + 4, len - 4, cps, LABEL_MAX, &n, err);
    if (rc != 0) {
        cp_err_prefix(err, "A-label '%.*s'", (int)len, p);
        return rc; /* not cp_err_prefix()'s result: that is 0 when err is NULL */
    }
    for (size_t j = 0; j < n; j++)
        if (cps[j] >= 0x80)
            return 0;
    return cp_err_set(err, CP_EINVAL, "A-label '%.*s' has no non-ASCII character", (int)len, p);
}

/* The leftmost label may be "*" when wildcards are allowed; any other '*' gets a message that says
 * which rule it breaks. */
static int check_wildcard(const char *p, size_t len, size_t idx, int flags, bool first_is_wild,
                          cp_err_t *err)
{
    if (!(flags & CTL_VALIDATE_ALLOW_WILDCARD))
        return cp_err_set(err, CP_EINVAL, "wildcard '*' not allowed here");
    if (len > 1 && p[0] == '*')
        return cp_err_set(err, CP_EINVAL,
                          "wildcard '*' followed by other characters in label '%.*s'", (int)len, p);
    if (len > 1)
        return cp_err_set(err, CP_EINVAL,
                          "wildcard '*' preceded by other characters in label '%.*s'", (int)len, p);
    if (idx > 0 && first_is_wild)
        return cp_err_set(err, CP_EINVAL, "only one wildcard label allowed");
    if (idx > 0)
        return cp_err_set(err, CP_EINVAL, "wildcard only allowed as the leftmost label");
    return 0;
}

static int check_label(const char *p, size_t len, size_t idx, int flags, bool first_is_wild,
                       cp_err_t *err)
{
    if (len == 0 && idx == 0)
        return cp_err_set(err, CP_EINVAL, "name starts with a dot");
    if (len == 0)
        return cp_err_set(err, CP_EINVAL, "empty label (two dots in a row)");
    if (len > LABEL_MAX)
        return cp_err_set(err, CP_EINVAL, "label longer than 63 characters");
    if (memchr(p, '*', len) != NULL)
        return check_wildcard(p, len, idx, flags, first_is_wild, err);
    for (size_t i = 0; i < len; i++)
        if (!is_alpha(p[i]) && !is_digit(p[i]) && p[i] != '-')
            return bad_char(err, "domain name (letters, digits and hyphens only)", p[i]);
    if (p[0] == '-')
        return cp_err_set(err, CP_EINVAL, "label starts with a hyphen");
    /* Before the trailing-hyphen rule, so that "xn--abc-" is reported as the ASCII-only A-label it
     * is. */
    if (len >= 4 && p[2] == '-' && p[3] == '-') {
        if (to_lower(p[0]) == 'x' && to_lower(p[1]) == 'n')
            return check_a_label(p, len, err);
        return cp_err_set(err, CP_EINVAL, "label '%.*s' has '--' in positions 3-4 (reserved)",
                          (int)len, p);
    }
    if (p[len - 1] == '-')
        return cp_err_set(err, CP_EINVAL, "label ends with a hyphen");
    return 0;
}

/* "[v6]" -> "v6" into buf; false when name is not a bracketed IPv6 address. */
static bool unbracket_v6(const char *name, char *buf, size_t size)
{
    size_t len = strlen(name);
    unsigned char bin[16];
    if (len < 2 || name[0] != '[' || name[len - 1] != ']' || len - 2 >= size)
        return false;
    memcpy(buf, name + 1, len - 2);
    buf[len - 2] = '\0';
    return inet_pton(AF_INET6, buf, bin) == 1;
}

/* An IP literal is refused as a domain name, or with ALLOW_IP normalized like an ip_addresses
 * entry. */
static int check_ip_literal(const char *name, int flags, char *out, size_t out_size, bool *is_ip,
                            cp_err_t *err)
{
    char inner[CTL_VALIDATE_NAME_BUF];
    unsigned char bin[16];
    *is_ip = true;
    if (unbracket_v6(name, inner, sizeof inner))
        name = inner;
    else if (inet_pton(AF_INET, name, bin) != 1 && inet_pton(AF_INET6, name, bin) != 1) {
        *is_ip = false;
        return 0;
    }
    if (!(flags & CTL_VALIDATE_ALLOW_IP))
        return cp_err_set(err, CP_EINVAL, "IP address where a domain name is expected");
    char canonical[INET6_ADDRSTRLEN];
    int rc = ctl_validate_ip(name, canonical, sizeof canonical, err);
    if (rc != 0 || out == NULL)
        return rc;
    return copy_out(canonical, strlen(canonical), out, out_size, err);
}

static int check_labels(const char *name, size_t len, int flags, cp_err_t *err)
{
    size_t n_labels = 0, start = 0;
    bool first_is_wild = name[0] == '*' && (len == 1 || name[1] == '.');
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.')
            continue;
        int rc = check_label(name + start, i - start, n_labels, flags, first_is_wild, err);
        if (rc != 0)
            return rc;
        n_labels++;
        start = i + 1;
    }
    if (n_labels < 2)
        return cp_err_set(err, CP_EINVAL, "at least two labels required (like example.com)");
    start = len;
    while (start > 0 && name[start - 1] != '.')
        start--;
    size_t digits = 0;
    while (is_digit(name[start + digits]))
        digits++;
    if (start + digits == len)
        return cp_err_set(err, CP_EINVAL, "top-level label is all-numeric");
    if (first_is_wild && n_labels < 3)
        return cp_err_set(err, CP_EINVAL, "wildcard directly under a top-level domain");
    return 0;
}

/* The one implementation behind ctl_validate_domain (out == NULL) and the normalizing form. */
static int check_domain(const char *name, int flags, char *out, size_t out_size, cp_err_t *err)
{
    if (name == NULL || name[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "empty domain name");
    for (const char *s = name; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return cp_err_set(err, CP_EINVAL,
                              "non-ASCII domain name: send the IDNA A-label (xn--...) instead");
    bool is_ip;
    int rc = check_ip_literal(name, flags, out, out_size, &is_ip, err);
    if (rc != 0 || is_ip)
        return rc;
    size_t len = strlen(name);
    if (name[len - 1] == '.')
        len--; /* one trailing dot names the root; it is not part of the name */
    if (len == 0)
        return cp_err_set(err, CP_EINVAL, "empty domain name");
    if (len > CTL_VALIDATE_DOMAIN_MAX)
        return cp_err_set(err, CP_EINVAL, "name longer than 253 characters");
    rc = check_labels(name, len, flags, err);
    if (rc != 0 || out == NULL)
        return rc;
    return copy_out(name, len, out, out_size, err);
}

int ctl_validate_domain(const char *name, int flags, cp_err_t *err)
{
    return check_domain(name, flags, NULL, 0, err);
}

int ctl_validate_domain_normalize(const char *name, int flags, char *out, size_t out_size,
                                  cp_err_t *err)
{
    if (out == NULL)
        return cp_err_set(err, CP_EINVAL, "output buffer is NULL");
    return check_domain(name, flags, out, out_size, err);
}

/* ---- IP addresses ---- */

/* inet_pton() already refuses shorthand and leading zeros, but says not why; this says why. */
static int check_ipv4(const char *s, cp_err_t *err)
{
    int parts = 0;
    for (;;) {
        size_t n = 0;
        unsigned v = 0;
        while (n < 4 && is_digit(s[n]))
            v = v * 10 + (unsigned)(s[n++] - '0');
        parts++;
        if (n == 0)
            return cp_err_set(err, CP_EINVAL, "IPv4 part %d is not a decimal number", parts);
        if (n > 1 && s[0] == '0')
            return cp_err_set(err, CP_EINVAL, "IPv4 part %d has a leading zero", parts);
        if (v > 255)
            return cp_err_set(err, CP_EINVAL, "IPv4 part %d is greater than 255", parts);
        s += n;
        if (*s == '\0')
            break;
        if (*s != '.')
            return bad_char(err, "IPv4 address", *s);
        if (parts == 4)
            return cp_err_set(err, CP_EINVAL, "IPv4 address has more than four parts");
        s++;
    }
    if (parts != 4)
        return cp_err_set(err, CP_EINVAL,
                          "IPv4 address needs four parts (no shorthand like 127.1)");
    return 0;
}

int ctl_validate_ip(const char *addr, char *canonical, size_t size, cp_err_t *err)
{
    if (addr == NULL || addr[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "empty IP address");
    if (strpbrk(addr, "[]") != NULL)
        return cp_err_set(err, CP_EINVAL, "brackets not allowed around an IP address");
    if (strchr(addr, '%') != NULL)
        return cp_err_set(err, CP_EINVAL, "zone id (%%...) not allowed in an IP address");
    if (strchr(addr, '/') != NULL)
        return cp_err_set(err, CP_EINVAL, "CIDR suffix (/...) not allowed: give one address");
    unsigned char bin[16];
    int af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
    if (af == AF_INET) {
        int rc = check_ipv4(addr, err);
        if (rc != 0)
            return rc;
    }
    if (inet_pton(af, addr, bin) != 1)
        return cp_err_set(err, CP_EINVAL, "invalid %s address", af == AF_INET ? "IPv4" : "IPv6");
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(af, bin, text, sizeof text) == NULL)
        return cp_err_set(err, CP_EINVAL, "IP address cannot be formatted");
    return canonical != NULL ? copy_out(text, strlen(text), canonical, size, err) : 0;
}

/* ---- certificate name sets ---- */

typedef char name_slot_t[CTL_VALIDATE_NAME_BUF];

static int find_duplicate(const name_slot_t *norm, size_t k, size_t n_domains, cp_err_t *err)
{
    for (size_t j = 0; j < k; j++) {
        if (strcmp(norm[j], norm[k]) != 0)
            continue;
        return cp_err_set(
            err, CP_EINVAL, "%s[%zu]: duplicate of %s[%zu]",
            k < n_domains ? "domains" : "ip_addresses", k < n_domains ? k : k - n_domains,
            j < n_domains ? "domains" : "ip_addresses", j < n_domains ? j : j - n_domains);
    }
    return 0;
}

static int check_name_counts(const void *domains, size_t n_domains, const void *ips, size_t n_ips,
                             cp_err_t *err)
{
    if (n_domains == 0 && n_ips == 0)
        return cp_err_set(err, CP_EINVAL, "domains: at least one domain or IP address required");
    /* Every message starts with the field it is about, so callers prefix a request path. */
    if (n_domains > CTL_VALIDATE_MAX_NAMES || n_ips > CTL_VALIDATE_MAX_NAMES ||
        n_domains + n_ips > CTL_VALIDATE_MAX_NAMES)
        return cp_err_set(
            err, CP_EINVAL, "%s: too many names (%zu domains and IP addresses, at most %d)",
            n_domains > 0 ? "domains" : "ip_addresses", n_domains + n_ips, CTL_VALIDATE_MAX_NAMES);
    if (n_domains > 0 && domains == NULL)
        return cp_err_set(err, CP_EINVAL, "domains: NULL array");
    if (n_ips > 0 && ips == NULL)
        return cp_err_set(err, CP_EINVAL, "ip_addresses: NULL array");
    return 0;
}

int ctl_validate_names(const char *const *domains, size_t n_domains, const char *const *ips,
                       size_t n_ips, int flags, cp_err_t *err)
{
    int rc = check_name_counts(domains, n_domains, ips, n_ips, err);
    if (rc != 0)
        return rc;
    /* Up to 25 KB of normal forms: on the heap, as callers may run on small thread stacks. */
    name_slot_t *norm = cp_xcalloc(n_domains + n_ips > 0 ? n_domains + n_ips : 1, sizeof *norm);
    for (size_t i = 0; i < n_domains + n_ips && rc == 0; i++) {
        if (i < n_domains) {
            rc = check_domain(domains[i], flags, norm[i], sizeof norm[i], err);
            if (rc != 0)
                cp_err_prefix(err, "domains[%zu]", i);
        } else {
            rc = ctl_validate_ip(ips[i - n_domains], norm[i], sizeof norm[i], err);
            if (rc != 0)
                cp_err_prefix(err, "ip_addresses[%zu]", i - n_domains);
        }
        if (rc == 0)
            rc = find_duplicate(norm, i, n_domains, err);
    }
    free(norm);
    return rc;
}

/* ---- certificate names and email addresses ---- */

int ctl_validate_cert_name(const char *name, cp_err_t *err)
{
    if (name == NULL || name[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "empty certificate name");
    size_t len = strlen(name);
    if (len > CTL_VALIDATE_CERT_NAME_MAX)
        return cp_err_set(err, CP_EINVAL, "certificate name longer than 63 characters");
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            return cp_err_set(err, CP_EINVAL, "certificate name must be lower case");
        if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-')
            return bad_char(err, "certificate name (a-z, 0-9, '.', '-' only)", c);
    }
    if (!is_alpha(name[0]) && !is_digit(name[0]))
        return cp_err_set(err, CP_EINVAL, "certificate name must start with a letter or digit");
    /* The name becomes a URL path segment and part of file-like keys: ".." must never appear. */
    if (strstr(name, "..") != NULL)
        return cp_err_set(err, CP_EINVAL, "certificate name must not contain '..'");
    return 0;
}

/* RFC 5322 atext: the characters of a dot-atom besides the dots. */
static bool is_atext(char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int check_local_part(const char *p, size_t len, cp_err_t *err)
{
    if (len == 0)
        return cp_err_set(err, CP_EINVAL, "email address has an empty local part");
    if (len > CTL_VALIDATE_EMAIL_LOCAL_MAX)
        return cp_err_set(err, CP_EINVAL, "email local part longer than 64 characters");
    if (p[0] == '.')
        return cp_err_set(err, CP_EINVAL, "email local part starts with a dot");
    if (p[len - 1] == '.')
        return cp_err_set(err, CP_EINVAL, "email local part ends with a dot");
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '.' && p[i + 1] == '.')
            return cp_err_set(err, CP_EINVAL, "email local part has two dots in a row");
        if (p[i] != '.' && !is_atext(p[i]))
            return bad_char(err, "email local part", p[i]);
    }
    return 0;
}

int ctl_validate_email(const char *email, cp_err_t *err)
{
    if (email == NULL || email[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "empty email address");
    /* These would split or break the "mailto:" URL and the header-like contexts it reaches. */
    for (const char *s = email; *s != '\0'; s++) {
        if ((unsigned char)*s >= 0x80)
            return cp_err_set(err, CP_EINVAL, "non-ASCII email address not supported");
        if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr("\"<>,()[]\\;:", *s) != NULL)
            return bad_char(err, "email address", *s);
    }
    size_t len = strlen(email);
    if (len > CTL_VALIDATE_EMAIL_MAX)
        return cp_err_set(err, CP_EINVAL, "email address longer than 254 characters");
    const char *at = strchr(email, '@');
    if (at == NULL)
        return cp_err_set(err, CP_EINVAL, "email address has no '@'");
    if (strchr(at + 1, '@') != NULL)
        return cp_err_set(err, CP_EINVAL, "email address has more than one '@'");
    int rc = check_local_part(email, (size_t)(at - email), err);
    if (rc != 0)
        return rc;
    if (at[1] != '\0' && email[len - 1] == '.')
        return cp_err_set(err, CP_EINVAL, "email domain: ends with a dot");
    rc = ctl_validate_domain(at + 1, 0, err);
    if (rc != 0)
        cp_err_prefix(err, "email domain");
    return rc;
}
