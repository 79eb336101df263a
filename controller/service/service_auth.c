/* SPDX-License-Identifier: Apache-2.0 */
/* service_auth.c - API tokens: loading them from the configuration, authenticating callers */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "controller/service/service_auth.h"
#include "shared/file.h"
#include "shared/log.h"
#include "shared/mem.h"

/* Longest token accepted; longer lines are configuration mistakes (a key file pasted by accident).
 */
#define TOKEN_MAX 512

static int scope_parse(const char *text, size_t len, unsigned *scopes)
{
    if (len == 5 && memcmp(text, "admin", 5) == 0)
        *scopes = CTL_SCOPE_ADMIN;
    else if (len == 4 && memcmp(text, "read", 4) == 0)
        *scopes = CTL_SCOPE_READ;
    else if (len == 4 && memcmp(text, "edge", 4) == 0)
        *scopes = CTL_SCOPE_EDGE;
    else
        return CP_EINVAL;
    return 0;
}

static bool token_chars_ok(const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isgraph((unsigned char)t[i]))
            return false;
    return len > 0 && len <= TOKEN_MAX;
}

/* Adds one token; `where` names its origin for messages, which never quote the token itself. */
static int token_add(ctl_service__tokens_t *tt, const char *tok, size_t tlen, const char *scope,
                     size_t slen, const char *where, cp_err_t *err)
{
    unsigned scopes = 0;
    if (!token_chars_ok(tok, tlen))
        return cp_err_set(err, CP_EINVAL, "%s: a token must be 1-%d printable characters", where,
                          TOKEN_MAX);
    if (scope_parse(scope, slen, &scopes) != 0)
        return cp_err_set(err, CP_EINVAL, "%s: unknown scope \"%.*s\" (admin, read or edge)", where,
                          (int)(slen > 32 ? 32 : slen), scope);
    tt->v = cp_xrealloc(tt->v, (tt->n + 1) * sizeof *tt->v);
    ctl_service__token_t *t = &tt->v[tt->n++];
    SHA256((const unsigned char *)tok, tlen, t->digest);
    t->scopes = scopes;
    char copy[8] = {0};
    memcpy(copy, tok, tlen < 4 ? tlen : 4);
    cp_log_secret_prefix(copy, t->id, sizeof t->id);
    return 0;
}

/* One line of the tokens file: "TOKEN SCOPE", blank lines and # comments ignored. */
static int file_line(ctl_service__tokens_t *tt, char *line, const char *where, cp_err_t *err)
{
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    char *tok = p;
    while (*p != '\0' && !isspace((unsigned char)*p))
        p++;
    size_t tlen = (size_t)(p - tok);
    while (isspace((unsigned char)*p))
        p++;
    char *scope = p;
    while (*p != '\0' && !isspace((unsigned char)*p))
        p++;
    size_t slen = (size_t)(p - scope);
    while (isspace((unsigned char)*p))
        p++;
    if (slen == 0 || (*p != '\0' && *p != '#'))
        return cp_err_set(err, CP_EINVAL, "%s: expected \"TOKEN SCOPE\"", where);
    return token_add(tt, tok, tlen, scope, slen, where, err);
}

/* A tokens file holds secrets: at most this large, and wiped after parsing. */
#define TOKENS_FILE_MAX (1024 * 1024)

static int load_file(ctl_service__tokens_t *tt, const char *path, cp_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cp_file_read(path, TOKENS_FILE_MAX, &text, &len, err);
    if (rc != 0) {
        /* The contract's error for a file that cannot be read, whatever the reason. */
        cp_err_prefix(err, "--api-tokens-file");
        if (err != NULL)
            err->code = CP_EIO;
        return CP_EIO;
    }
    char *line = text;
    for (unsigned no = 1; rc == 0 && *line != '\0'; no++) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        char where[600];
        snprintf(where, sizeof where, "--api-tokens-file %s line %u", path, no);
        rc = file_line(tt, line, where, err);
        line = nl != NULL ? nl + 1 : line + strlen(line);
    }
    cp_secure_free(text, len);
    return rc;
}

/* "TOKEN:SCOPE,TOKEN:SCOPE"; the scope follows the last colon, so tokens may contain colons. */
static int load_list(ctl_service__tokens_t *tt, const char *list, cp_err_t *err)
{
    const char *p = list;
    for (unsigned i = 1; *p != '\0'; i++) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        char where[64];
        snprintf(where, sizeof where, "--api-tokens entry %u", i);
        const char *colon = NULL;
        for (const char *q = p; q < end; q++)
            if (*q == ':')
                colon = q;
        if (colon == NULL)
            return cp_err_set(err, CP_EINVAL, "%s: expected TOKEN:SCOPE", where);
        int rc =
            token_add(tt, p, (size_t)(colon - p), colon + 1, (size_t)(end - colon - 1), where, err);
        if (rc != 0)
            return rc;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

int ctl_service__tokens_load(ctl_service_t *svc, cp_err_t *err)
{
    const ctl_config_t *cfg = svc->cfg;
    ctl_service__tokens_t fresh = {0};
    int rc = 0;
    if (cfg->api_tokens_file != NULL && cfg->api_tokens_file[0] != '\0')
        rc = load_file(&fresh, cfg->api_tokens_file, err);
    if (rc == 0 && cfg->api_tokens != NULL)
        rc = load_list(&fresh, cfg->api_tokens, err);
    if (rc != 0) {
        free(fresh.v);
        return rc;
    }
    /* Callers authenticating right now finish with the old table; the next ones see the new one. */
    pthread_rwlock_wrlock(&svc->tokens_lock);
    ctl_service__tokens_t old = svc->tokens;
    svc->tokens = fresh;
    pthread_rwlock_unlock(&svc->tokens_lock);
    cp_secure_free(old.v, old.n * sizeof *old.v);
    return 0;
}

int ctl_service__tokens_reload(ctl_service_t *svc, size_t *n_tokens, cp_err_t *err)
{
    int rc = ctl_service__tokens_load(svc, err);
    if (rc == 0 && n_tokens != NULL) {
        pthread_rwlock_rdlock(&svc->tokens_lock);
        *n_tokens = svc->tokens.n;
        pthread_rwlock_unlock(&svc->tokens_lock);
    }
    return rc;
}

int ctl_service__authenticate(ctl_service_t *svc, const char *token, const char *peer,
                              ctl_caller_t *caller, cp_err_t *err)
{
    memset(caller, 0, sizeof *caller);
    snprintf(caller->peer, sizeof caller->peer, "%s", peer != NULL ? peer : "");
    if (svc->cfg->insecure_no_auth) {
        caller->scopes = CTL_SCOPE_ADMIN;
        snprintf(caller->token_id, sizeof caller->token_id, "insecure");
        return 0;
    }
    if (token == NULL || token[0] == '\0')
        return cp_err_set(err, CP_EAUTH, "missing bearer token");
    /* Digests have one length, and every configured token is compared without an early exit, so the
     * time taken says nothing about which token (or which prefix) matched. */
    unsigned char digest[32];
    SHA256((const unsigned char *)token, strlen(token), digest);
    const ctl_service__token_t *found = NULL;
    pthread_rwlock_rdlock(&svc->tokens_lock);
    for (size_t i = 0; i < svc->tokens.n; i++) {
        int differs = CRYPTO_memcmp(digest, svc->tokens.v[i].digest, sizeof digest);
        if (differs == 0 && found == NULL)
            found = &svc->tokens.v[i];
    }
    if (found != NULL) {
        caller->scopes = found->scopes;
        memcpy(caller->token_id, found->id, sizeof caller->token_id);
        memcpy(caller->token_key, digest, sizeof caller->token_key);
    }
    pthread_rwlock_unlock(&svc->tokens_lock);
    if (found == NULL)
        return cp_err_set(err, CP_EAUTH, "unknown token");
    return 0;
}
