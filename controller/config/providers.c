/* SPDX-License-Identifier: Apache-2.0 */
/* providers.c - named ACME providers from the --acme-* flags and --providers-file, and --issuers */
#include "controller/config/providers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/file.h"
#include "shared/mem.h"

#define NAME_MAX_LEN 63
#define MAX_PROVIDERS 64
#define PROVIDERS_FILE_MAX (1024 * 1024)
#define SECRET_FILE_MAX 4096

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '-' && ch != '_')))
            return 0;
    }
    return 1;
}

static char *dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? cp_xstrdup(s) : NULL;
}

static int key_type_parse(const char *s, cp_key_type_t *out)
{
    if (s == NULL || strcmp(s, "EC_P256") == 0)
        *out = CP_KEY_EC_P256;
    else if (strcmp(s, "RSA_2048") == 0)
        *out = CP_KEY_RSA_2048;
    else
        return 0;
    return 1;
}

/* Checks what every provider must satisfy, wherever it came from; `where` names it. */
static int check_one(const ctl_provider_t *p, const char *where, cp_err_t *err)
{
    if (p->directory == NULL)
        return cp_err_set(err, CP_EINVAL, "%s: directory: required", where);
    if (strstr(p->directory, "://") != NULL && strncmp(p->directory, "https://", 8) != 0)
        return cp_err_set(err, CP_EINVAL, "%s: directory: not an https:// URL: %s", where,
                          p->directory);
    if (p->ca_file != NULL && access(p->ca_file, R_OK) != 0)
        return cp_err_set(err, CP_EINVAL, "%s: ca_file: cannot read %s", where, p->ca_file);
    if ((p->eab_kid == NULL) != (p->eab_hmac_key == NULL))
        return cp_err_set(err, CP_EINVAL, "%s: the EAB key id and MAC key go together", where);
    return 0;
}

static ctl_provider_t *add(ctl_config_t *c)
{
    c->providers = cp_xrealloc(c->providers, (c->n_providers + 1) * sizeof(*c->providers));
    ctl_provider_t *p = &c->providers[c->n_providers++];
    memset(p, 0, sizeof(*p));
    return p;
}

/* The provider "default", from the --acme-* flags. */
static int add_default(ctl_config_t *c, cp_err_t *err)
{
    ctl_provider_t *p = add(c);
    p->name = cp_xstrdup("default");
    p->directory = dup_or_null(c->acme_provider);
    p->ca_file = dup_or_null(c->acme_ca_file);
    p->eab_kid = dup_or_null(c->eab_kid);
    p->eab_hmac_key = dup_or_null(c->eab_hmac_key);
    p->profile = dup_or_null(c->acme_profile);
    if (!key_type_parse(c->acme_account_key_type, &p->account_key_type))
        return cp_err_set(err, CP_EINVAL, "--acme-account-key-type: EC_P256 or RSA_2048, not %s",
                          c->acme_account_key_type);
    return check_one(p, "provider \"default\" (--acme-* flags)", err);
}

/* The MAC key of a file entry: from eab_hmac_key_file (first line) or eab_hmac_key_env. */
static int read_mac(json_t *o, ctl_provider_t *p, const char *where, cp_err_t *err)
{
    const char *file = json_string_value(json_object_get(o, "eab_hmac_key_file"));
    const char *env = json_string_value(json_object_get(o, "eab_hmac_key_env"));
    if (json_object_get(o, "eab_hmac_key") != NULL)
        return cp_err_set(err, CP_EINVAL,
                          "%s: eab_hmac_key: not in the file; use eab_hmac_key_file or "
                          "eab_hmac_key_env",
                          where);
    if (file != NULL && env != NULL)
        return cp_err_set(err, CP_EINVAL,
                          "%s: eab_hmac_key_file and eab_hmac_key_env exclude "
                          "each other",
                          where);
    if (env != NULL) {
        const char *v = getenv(env);
        if (v == NULL || v[0] == '\0')
            return cp_err_set(err, CP_EINVAL, "%s: eab_hmac_key_env: $%s is not set", where, env);
        p->eab_hmac_key = cp_xstrdup(v);
    } else if (file != NULL) {
        char *s = NULL;
        size_t n = 0;
        if (cp_file_read(file, SECRET_FILE_MAX, &s, &n, err) != 0)
            return cp_err_prefix(err, "%s: eab_hmac_key_file", where), CP_EINVAL;
        size_t len = strcspn(s, "\r\n");
        p->eab_hmac_key = len > 0 ? cp_xstrndup(s, len) : NULL;
        cp_secure_free(s, n);
        if (p->eab_hmac_key == NULL)
            return cp_err_set(err, CP_EINVAL, "%s: eab_hmac_key_file: %s is empty", where, file);
    }
    return 0;
}

static const char *const KNOWN[] = {"directory",         "ca_file",          "eab_kid",
                                    "eab_hmac_key_file", "eab_hmac_key_env", "profile",
                                    "account_key_type",  "eab_hmac_key",     NULL};

static int from_json(ctl_config_t *c, const char *name, json_t *o, cp_err_t *err)
{
    char where[160];
    snprintf(where, sizeof where, "%s: provider \"%s\"", c->providers_file, name);
    if (!name_ok(name))
        return cp_err_set(err, CP_EINVAL, "%s: a name is [a-z0-9][a-z0-9_-]{0,62}", where);
    if (ctl_providers_find(c, name) != NULL)
        return cp_err_set(err, CP_EINVAL,
                          "%s: defined twice (\"default\" is made from the "
                          "--acme-* flags)",
                          where);
    if (!json_is_object(o))
        return cp_err_set(err, CP_EINVAL, "%s: expected an object", where);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t i = 0;
        while (KNOWN[i] != NULL && strcmp(KNOWN[i], key) != 0)
            i++;
        if (KNOWN[i] == NULL)
            return cp_err_set(err, CP_EINVAL, "%s: unknown field \"%s\"", where, key);
        if (!json_is_string(v))
            return cp_err_set(err, CP_EINVAL, "%s: %s: expected a string", where, key);
    }
    ctl_provider_t *p = add(c);
    p->name = cp_xstrdup(name);
    p->directory = dup_or_null(json_string_value(json_object_get(o, "directory")));
    p->ca_file = dup_or_null(json_string_value(json_object_get(o, "ca_file")));
    p->eab_kid = dup_or_null(json_string_value(json_object_get(o, "eab_kid")));
    p->profile = dup_or_null(json_string_value(json_object_get(o, "profile")));
    const char *kt = json_string_value(json_object_get(o, "account_key_type"));
    if (!key_type_parse(kt, &p->account_key_type))
        return cp_err_set(err, CP_EINVAL, "%s: account_key_type: EC_P256 or RSA_2048, not %s",
                          where, kt);
    if (read_mac(o, p, where, err) != 0)
        return CP_EINVAL;
    return check_one(p, where, err);
}

static int load_file(ctl_config_t *c, cp_err_t *err)
{
    char *text = NULL;
    size_t n = 0;
    if (cp_file_read(c->providers_file, PROVIDERS_FILE_MAX, &text, &n, err) != 0)
        return cp_err_prefix(err, "--providers-file"), CP_EINVAL;
    json_error_t je;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    free(text);
    int rc = 0;
    json_t *ps = json_object_get(root, "providers");
    if (root == NULL)
        rc = cp_err_set(err, CP_EINVAL, "%s:%d:%d: %s", c->providers_file, je.line, je.column,
                        je.text);
    else if (!json_is_object(ps) || json_object_size(root) != 1)
        rc = cp_err_set(err, CP_EINVAL,
                        "%s: expected {\"providers\": {NAME: {\"directory\": ...}, ...}}",
                        c->providers_file);
    else if (json_object_size(ps) + 1 > MAX_PROVIDERS)
        rc = cp_err_set(err, CP_EINVAL, "%s: more than %d providers", c->providers_file,
                        MAX_PROVIDERS - 1);
    const char *name;
    json_t *o;
    if (rc == 0)
        json_object_foreach(ps, name, o)
        {
            if ((rc = from_json(c, name, o, err)) != 0)
                break;
        }
    json_decref(root);
    return rc;
}

/* --issuers: comma-separated provider names, in order. */
static int load_issuers(ctl_config_t *c, cp_err_t *err)
{
    const char *list = c->issuers_flag != NULL ? c->issuers_flag : "default";
    for (const char *s = list; *s != '\0';) {
        size_t len = strcspn(s, ",");
        char *name = cp_xstrndup(s, len);
        c->issuers = cp_xrealloc(c->issuers, (c->n_issuers + 1) * sizeof(*c->issuers));
        c->issuers[c->n_issuers++] = name;
        if (ctl_providers_find(c, name) == NULL) {
            char names[512];
            ctl_providers_names(c, names, sizeof names);
            return cp_err_set(err, CP_EINVAL, "--issuers: no provider \"%s\" (configured: %s)",
                              name, names);
        }
        s += len;
        if (*s == ',')
            s++;
    }
    if (c->n_issuers == 0)
        return cp_err_set(err, CP_EINVAL, "--issuers: empty");
    return 0;
}

int ctl_providers_load(ctl_config_t *c, cp_err_t *err)
{
    if (add_default(c, err) != 0)
        return CP_EINVAL;
    if (c->providers_file != NULL && load_file(c, err) != 0)
        return CP_EINVAL;
    return load_issuers(c, err);
}

void ctl_providers_dispose(ctl_config_t *c)
{
    for (size_t i = 0; i < c->n_providers; i++) {
        ctl_provider_t *p = &c->providers[i];
        free(p->name);
        free(p->directory);
        free(p->ca_file);
        free(p->eab_kid);
        cp_secure_free_str(p->eab_hmac_key);
        free(p->profile);
    }
    free(c->providers);
    for (size_t i = 0; i < c->n_issuers; i++)
        free(c->issuers[i]);
    free(c->issuers);
    c->providers = NULL;
    c->issuers = NULL;
    c->n_providers = c->n_issuers = 0;
}

const ctl_provider_t *ctl_providers_find(const ctl_config_t *c, const char *name)
{
    for (size_t i = 0; name != NULL && i < c->n_providers; i++)
        if (strcmp(c->providers[i].name, name) == 0)
            return &c->providers[i];
    return NULL;
}

void ctl_providers_names(const ctl_config_t *c, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_providers && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", c->providers[i].name);
}
