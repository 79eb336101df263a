/* SPDX-License-Identifier: Apache-2.0 */
/* store_tickets.c - TLS session-ticket keys in tls:ticket_keys (store_tickets.h) */
#include "controller/store/store_tickets.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "controller/store/keywrap.h"
#include "controller/store/store_internal.h"
#include "shared/mem.h"

#define KEY "tls:ticket_keys"
/* One line per key: 32 hex name, 128 hex secret, created ms. */
#define LINE_MAX_LEN (2 * CTL_STORE_TICKET_NAME_LEN + 2 * CTL_STORE_TICKET_SECRET_LEN + 24)

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* Parses the opened text into keys. */
static int parse(const char *text, ctl_store_ticket_key_t *keys, size_t *n, cp_err_t *err)
{
    *n = 0;
    for (const char *p = text; *p != '\0' && *n < CTL_STORE_TICKET_KEYS_MAX;) {
        ctl_store_ticket_key_t *k = &keys[*n];
        const char *sp1 = strchr(p, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (sp1 == NULL || sp2 == NULL || sp1 - p != 2 * CTL_STORE_TICKET_NAME_LEN ||
            sp2 - sp1 - 1 != 2 * CTL_STORE_TICKET_SECRET_LEN ||
            unhex(p, k->name, CTL_STORE_TICKET_NAME_LEN) != 0 ||
            unhex(sp1 + 1, k->secret, CTL_STORE_TICKET_SECRET_LEN) != 0)
            return cp_err_set(err, CP_EPROTO, KEY ": malformed");
        k->created_ms = strtoll(sp2 + 1, NULL, 10);
        (*n)++;
        const char *nl = strchr(sp2, '\n');
        p = nl != NULL ? nl + 1 : sp2 + strlen(sp2);
    }
    return 0;
}

/* GET of the raw (sealed) value; *raw NULL when absent. */
static int get_raw(ctl_store_t *s, char **raw, cp_err_t *err)
{
    *raw = NULL;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "GET");
    ctl_store__arg(&a, KEY);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_STRING)
        *raw = ctl_store__xstrndup(r->str, r->len);
    else if (rc == 0 && r->type != REDIS_REPLY_NIL)
        rc = ctl_store__proto(err, "GET " KEY);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

static int open_raw(ctl_store_t *s, const char *raw, ctl_store_ticket_key_t *keys, size_t *n,
                    cp_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    *n = 0;
    if (raw == NULL)
        return 0;
    int rc = ctl_keywrap_open(ctl_store_keyring(s), KEY, raw, &text, &len, err);
    if (rc == 0)
        rc = parse(text, keys, n, err);
    cp_secure_free(text, len);
    return rc;
}

int ctl_store_tickets_get(ctl_store_t *s, ctl_store_ticket_key_t *keys, size_t *n, cp_err_t *err)
{
    char *raw = NULL;
    int rc = get_raw(s, &raw, err);
    if (rc == 0)
        rc = open_raw(s, raw, keys, n, err);
    free(raw);
    return rc;
}

/* The keys as sealed text. */
static int seal(ctl_store_t *s, const ctl_store_ticket_key_t *keys, size_t n, char **out,
                cp_err_t *err)
{
    char *text = cp_xcalloc(n, LINE_MAX_LEN + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        hex(keys[i].name, CTL_STORE_TICKET_NAME_LEN, text + o);
        o += 2 * CTL_STORE_TICKET_NAME_LEN;
        text[o++] = ' ';
        hex(keys[i].secret, CTL_STORE_TICKET_SECRET_LEN, text + o);
        o += 2 * CTL_STORE_TICKET_SECRET_LEN;
        o += (size_t)snprintf(text + o, 24, " %" PRId64 "\n", keys[i].created_ms);
    }
    int rc = ctl_keywrap_seal(ctl_store_keyring(s), KEY, text, o, out, err);
    cp_secure_free(text, n * (LINE_MAX_LEN + 1));
    return rc;
}

/* Writes new in place of old (NULL: absent) and appends a TICKET_KEYS event; *done 0 when the
 * value changed meanwhile. */
static int swap(ctl_store_t *s, const char *old, const char *new_v, int *done, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, KEY);
    ctl_store__arg(&a, "events");
    ctl_store__arg(&a, "revision");
    ctl_store__arg(&a, old != NULL ? old : "");
    ctl_store__arg(&a, new_v);
    ctl_store__argf(&a, "%ld", s->opts.events_maxlen);
    redisReply *r = NULL;
    int rc = ctl_store__eval(s, CTL_STORE__LUA_TICKETS_SWAP, CTL_STORE__DURABLE, 3, &a, &r, err);
    *done = rc == 0 && r->element[0]->integer == 0;
    if (rc == 0 && r->element[0]->integer == 5)
        rc = cp_err_set(err, CP_ESTATE, KEY ": %s",
                        r->elements > 1 && r->element[1]->str ? r->element[1]->str : "?");
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_tickets_rotate(ctl_store_t *s, int64_t now_ms, int64_t rotate_ms, size_t keep,
                             int *rotated, cp_err_t *err)
{
    if (rotated != NULL)
        *rotated = 0;
    if (keep < 1 || keep > CTL_STORE_TICKET_KEYS_MAX)
        return cp_err_set(err, CP_EINVAL, "ticket keys: keep 1..%d", CTL_STORE_TICKET_KEYS_MAX);
    ctl_store_ticket_key_t keys[CTL_STORE_TICKET_KEYS_MAX + 1];
    size_t n = 0;
    char *raw = NULL, *sealed = NULL;
    int rc = get_raw(s, &raw, err), done = 0;
    if (rc == 0)
        rc = open_raw(s, raw, keys + 1, &n, err);
    if (rc != 0 || (n > 0 && now_ms - keys[1].created_ms < rotate_ms))
        goto out;
    if (RAND_bytes(keys[0].name, sizeof keys[0].name) != 1 ||
        RAND_bytes(keys[0].secret, sizeof keys[0].secret) != 1) {
        rc = cp_err_set(err, CP_ECRYPTO, "ticket keys: no random bytes");
        goto out;
    }
    keys[0].created_ms = now_ms;
    n = n + 1 < keep ? n + 1 : keep;
    rc = seal(s, keys, n, &sealed, err);
    if (rc == 0)
        rc = swap(s, raw, sealed, &done, err);
    if (rc == 0 && rotated != NULL)
        *rotated = done;
out:
    explicit_bzero(keys, sizeof keys);
    free(raw);
    free(sealed);
    return rc;
}
