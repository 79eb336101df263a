/* SPDX-License-Identifier: Apache-2.0 */
/* ondemand_policy.c - on-demand TLS name checks and pattern matching (ondemand_policy.h) */
#include "controller/service/ondemand_policy.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LABEL_MAX 63
#define NAME_MAX_LEN 253

static bool ldh(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* Checks a lower-case name of len bytes: LDH labels of 1..63 with no hyphen at either end, two or
 * more labels, a top-level label with a letter (so no IPv4 literal passes). */
static bool dns_ok(const char *s, size_t len)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    size_t labels = 0, start = 0;
    bool tld_alpha = false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!ldh(s[i]))
                return false;
            continue;
        }
        size_t n = i - start;
        if (n == 0 || n > LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
            return false;
        labels++;
        tld_alpha = false;
        for (size_t k = start; k < i; k++)
            tld_alpha = tld_alpha || (s[k] >= 'a' && s[k] <= 'z');
        start = i + 1;
    }
    return labels >= 2 && tld_alpha;
}

bool ctl_ondemand_name(const char *sni, char *out, size_t size)
{
    char buf[CTL_ONDEMAND_NAME_BUF];
    if (sni == NULL)
        return false;
    size_t len = strnlen(sni, sizeof buf);
    if (len == sizeof buf)
        return false;
    if (len > 0 && sni[len - 1] == '.')
        len--;
    for (size_t i = 0; i < len; i++)
        buf[i] = (sni[i] >= 'A' && sni[i] <= 'Z') ? (char)(sni[i] - 'A' + 'a') : sni[i];
    buf[len] = '\0';
    if (!dns_ok(buf, len) || size <= len)
        return false;
    memcpy(out, buf, len + 1);
    return true;
}

bool ctl_ondemand_pattern_ok(const char *pattern)
{
    char buf[CTL_ONDEMAND_NAME_BUF];
    if (pattern == NULL)
        return false;
    const char *p = strncmp(pattern, "*.", 2) == 0 ? pattern + 2 : pattern;
    return ctl_ondemand_name(p, buf, sizeof buf) && strcmp(buf, p) == 0;
}

bool ctl_ondemand_match(const char *const *patterns, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        const char *p = patterns[i];
        if (strncmp(p, "*.", 2) != 0) {
            if (strcasecmp(p, name) == 0)
                return true;
            continue;
        }
        const char *suffix = p + 1; /* ".example.com" */
        size_t sl = strlen(suffix);
        if (len <= sl + 0 || strcasecmp(name + len - sl, suffix) != 0)
            continue;
        size_t first = len - sl; /* the one label before the suffix */
        if (first > 0 && memchr(name, '.', first) == NULL)
            return true;
    }
    return false;
}

void ctl_ondemand_cert_name(const char *name, char *out, size_t size)
{
    if (strlen(name) <= LABEL_MAX) {
        snprintf(out, size, "%s", name);
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL);
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(out, size, "od-%s", hex);
}
