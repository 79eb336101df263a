/* SPDX-License-Identifier: Apache-2.0 */
/* sni.c - the edge's TLS context: Mozilla intermediate settings, SNI certificate choice, sessions
 */
#include "edge/sni.h"
#include "edge/ocsp.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/tls1.h>

static int ex_index = -1;
static int ctx_index = -1; /* the SSL_CTX's edge_sni_t */
static int alpn_index =
    -1; /* set (non-NULL) on an acme-tls/1 handshake answered with a challenge */
#define ACME_TLS_1 "acme-tls/1"
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    edge_cert_release(ptr);
}

static void ex_init(void)
{
    ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, ex_free);
    alpn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Session tickets are sealed with the fleet's keys (streamed by the controller), so a session made
 * on one edge resumes on any other; before they arrive, with this edge's own key. */
static int on_ticket_key(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *c,
                         EVP_MAC_CTX *h, int enc)
{
    edge_sni_t *s = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
    if (s == NULL)
        return enc ? -1 : 0;
    /* The table pointer is only used within this callback (as in on_client_hello). */
    edge_certmap_t *map = atomic_load_explicit(&s->current, memory_order_acquire);
    edge_tickets_t *t = edge_certmap_tickets0(map);
    int rc = edge_tickets_crypt(t != NULL ? t : s->own_tickets, name, iv, c, h, enc);
    if (!enc && rc == 2)
        atomic_fetch_add_explicit(&s->tickets_renewed, 1, memory_order_relaxed);
    return rc;
}

/* Whether the ClientHello's ALPN list offers acme-tls/1 (RFC 8737: a validating CA offers it
 * alone). */
static int offers_acme_tls(SSL *ssl)
{
    const unsigned char *p;
    size_t len;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                   &len) ||
        len < 2 || (((size_t)p[0] << 8) | p[1]) != len - 2)
        return 0;
    for (size_t i = 2; i < len;) {
        size_t n = p[i];
        if (i + 1 + n > len)
            return 0;
        if (n == sizeof ACME_TLS_1 - 1 && memcmp(p + i + 1, ACME_TLS_1, n) == 0)
            return 1;
        i += 1 + n;
    }
    return 0;
}

/* The TLS-ALPN-01 validation certificate for an acme-tls/1 handshake naming sni, or NULL. */
static edge_cert_t *alpn_choose0(SSL *ssl, const edge_certmap_t *map, const char *sni)
{
    /* Every handshake passes here: without a TLS-ALPN-01 answer held, nothing is parsed. */
    if (sni == NULL || edge_certmap_alpn_count(map) == 0 || !offers_acme_tls(ssl))
        return NULL;
    char lower[256];
    size_t n = strlen(sni);
    for (size_t i = 0; i <= n && i < sizeof lower; i++)
        lower[i] = (char)(sni[i] >= 'A' && sni[i] <= 'Z' ? sni[i] + 32 : sni[i]);
    return n < sizeof lower ? edge_certmap_alpn_get0(map, lower) : NULL;
}

/* Reads the host_name entry of the server_name extension (RFC 6066 section 3) into buf. */
static int client_hello_sni(SSL *ssl, char *buf, size_t size)
{
    const unsigned char *p;
    size_t len;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 2)
        return -1;
    size_t list = ((size_t)p[0] << 8) | p[1];
    if (list + 2 != len)
        return -1;
    p += 2;
    while (list >= 3) {
        unsigned type = p[0];
        size_t n = ((size_t)p[1] << 8) | p[2];
        if (n + 3 > list)
            return -1;
        if (type == TLSEXT_NAMETYPE_host_name) {
            if (n == 0 || n >= size || memchr(p + 3, '\0', n) != NULL)
                return -1;
            memcpy(buf, p + 3, n);
            buf[n] = '\0';
            return 0;
        }
        p += 3 + n;
        list -= 3 + n;
    }
    return -1;
}

/* Whether `name` may be an IP literal: IPv6 has a colon, an IPv4 dotted quad ends in a digit (a
 * DNS name cannot: top-level labels are not all-numeric). Spares DNS names the parsing. */
static int maybe_ip(const char *name)
{
    size_t len = strlen(name);
    return strchr(name, ':') != NULL || (len > 0 && name[len - 1] >= '0' && name[len - 1] <= '9');
}

edge_cert_t *edge_sni_choose0(const edge_certmap_t *map, const char *sni,
                              const struct sockaddr *local, edge_match_t *how)
{
    char ip[EDGE_CERT_IP_MAX];
    edge_cert_t *c = NULL;
    if (edge_certmap_ip_count(map) > 0) {
        /* A name (also one ending in a digit, "host1") is never chosen for by address. */
        int literal = sni != NULL && maybe_ip(sni) && edge_cert_ip_text(sni, ip) == 0;
        if (literal)
            c = edge_certmap_get0_ip(map, ip);
        if (c == NULL && (sni == NULL || literal) && edge_cert_ip_text_sa(local, ip) == 0)
            c = edge_certmap_get0_ip(map, ip);
    }
    if (c == NULL)
        return edge_certmap_get0(map, sni, how);
    if (how != NULL)
        *how = EDGE_MATCH_IP;
    return c;
}

/* The connection's local address, only when an IP-address certificate could be chosen by it. */
static const struct sockaddr *local_addr(edge_sni_t *s, SSL *ssl, const edge_certmap_t *map,
                                         const char *sni, struct sockaddr_storage *ss)
{
    if (edge_certmap_ip_count(map) == 0 || (sni != NULL && !maybe_ip(sni)))
        return NULL;
    if (s->local_addr != NULL)
        return s->local_addr(ssl, ss) == 0 ? (struct sockaddr *)ss : NULL;
    int fd = SSL_get_fd(ssl);
    socklen_t len = sizeof *ss;
    return fd >= 0 && getsockname(fd, (struct sockaddr *)ss, &len) == 0 ? (struct sockaddr *)ss
                                                                        : NULL;
}

/* The cert to serve: `chosen`, parsed now when it is cold (edge_cert_materialize), or the
 * fallback when it cannot be (logged once through the hook, counted by edge/cert.c). */
static edge_cert_t *ready_cert(edge_sni_t *s, const edge_certmap_t *map, edge_cert_t *chosen,
                               edge_match_t *how)
{
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    cp_err_t err = {0};
    int was_bad = edge_cert_is_bad(chosen);
    if (!was_bad && edge_cert_materialize(chosen, &leaf, &key, &err) == 0) {
        X509_free(leaf);
        EVP_PKEY_free(key);
        return chosen;
    }
    if (!was_bad && s->on_bad != NULL)
        s->on_bad(chosen, &err);
    *how = EDGE_MATCH_FALLBACK;
    return edge_certmap_get0(map, NULL, NULL);
}

static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    edge_sni_t *s = arg;
    char name[256];
    const char *sni = client_hello_sni(ssl, name, sizeof name) == 0 ? name : NULL;
    edge_match_t how;
    struct sockaddr_storage ss;
    /* The table pointer is only used within this callback; the cert is retained for later. */
    edge_certmap_t *map = atomic_load_explicit(&s->current, memory_order_acquire);
    const struct sockaddr *local = local_addr(s, ssl, map, sni, &ss);
    edge_cert_t *alpn = alpn_choose0(ssl, map, sni);
    SSL_set_ex_data(ssl, alpn_index, alpn);
    if (alpn != NULL)
        atomic_fetch_add_explicit(&s->alpn_answered, 1, memory_order_relaxed);
    edge_cert_t *cert;
    if (alpn != NULL) {
        cert = edge_cert_retain(alpn); /* pinned: always materialized */
        how = EDGE_MATCH_EXACT;
    } else {
        cert = edge_sni_choose0(map, sni, local, &how);
        cert = edge_cert_retain(ready_cert(s, map, cert, &how));
    }
    edge_cert_t *prev = SSL_get_ex_data(ssl, ex_index);
    SSL_set_ex_data(ssl, ex_index, cert);
    if (prev != NULL)
        edge_cert_release(prev); /* a second ClientHello after a HelloRetryRequest */
    else
        atomic_fetch_add_explicit(&s->handshakes[how], 1, memory_order_relaxed);
    /* The session id context must be set here, before OpenSSL decides on resumption: it binds a
     * session to the leaf, whether a name or an address chose it. */
    SSL_set_session_id_context(ssl, cert->sha256, sizeof cert->sha256);
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* Installs the chosen cert's leaf, key and chain (parsed again if the cache dropped it since the
 * ClientHello; the fallback, which is always parsed, if that fails). */
static int on_cert(SSL *ssl, void *arg)
{
    edge_sni_t *s = arg;
    edge_cert_t *cert = SSL_get_ex_data(ssl, ex_index);
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    if (cert == NULL || edge_cert_materialize(cert, &leaf, &key, NULL) != 0) {
        cert = edge_certmap_get0(atomic_load(&s->current), NULL, NULL);
        if (edge_cert_materialize(cert, &leaf, &key, NULL) != 0)
            return 0;
    }
    int ok = SSL_use_cert_and_key(ssl, leaf, key, cert->chain, 1) == 1;
    X509_free(leaf); /* the SSL holds its own references */
    EVP_PKEY_free(key);
    return ok ? 1 : 0;
}

static SSL_TICKET_RETURN on_ticket(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname,
                                   size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
    (void)keyname, (void)keyname_len;
    edge_sni_t *s = arg;
    switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
        const edge_cert_t *cert = SSL_get_ex_data(ssl, ex_index);
        unsigned int len = 0;
        const unsigned char *ctx = SSL_SESSION_get0_id_context(sess, &len);
        if (cert == NULL || len != sizeof cert->sha256 || memcmp(ctx, cert->sha256, len) != 0) {
            atomic_fetch_add_explicit(&s->tickets_rejected, 1, memory_order_relaxed);
            return SSL_TICKET_RETURN_IGNORE_RENEW;
        }
        atomic_fetch_add_explicit(&s->tickets_resumed, 1, memory_order_relaxed);
        return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    }
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:
        return SSL_TICKET_RETURN_ABORT;
    }
}

/* ALPN: acme-tls/1 for a TLS-ALPN-01 validation (and only then), else h2 before http/1.1 (what
 * h2o's own callback chose; h2o reads the result with SSL_get0_alpn_selected). */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)arg;
    static const unsigned char acme[] = "\x0a" ACME_TLS_1, web[] = "\x02h2\x08http/1.1";
    const unsigned char *ours = SSL_get_ex_data(ssl, alpn_index) != NULL ? acme : web;
    size_t n = ours == acme ? sizeof acme - 1 : sizeof web - 1;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ours, (unsigned int)n, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int ctx_configure(SSL_CTX *ctx, cp_err_t *err)
{
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    /* Mozilla intermediate leaves the cipher choice to the client (all listed ones are strong). */
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, EDGE_SNI_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
        unsigned long e = ERR_get_error();
        ERR_clear_error();
        return cp_err_set(err, CP_ECRYPTO, "TLS settings: %s", ERR_reason_error_string(e));
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    return 0;
}

int edge_sni_init(edge_sni_t *s, edge_certmap_t *initial, cp_err_t *err)
{
    pthread_once(&ex_once, ex_init);
    memset(s, 0, sizeof *s);
    if (ex_index < 0)
        return cp_err_set(err, CP_ECRYPTO, "SSL_get_ex_new_index failed");
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (s->ctx == NULL)
        return cp_err_set(err, CP_ECRYPTO, "SSL_CTX_new failed");
    int rc = ctx_configure(s->ctx, err);
    if (rc != 0) {
        SSL_CTX_free(s->ctx);
        s->ctx = NULL;
        return rc;
    }
    SSL_CTX_set_client_hello_cb(s->ctx, on_client_hello, s);
    SSL_CTX_set_cert_cb(s->ctx, on_cert, s);
    SSL_CTX_set_session_ticket_cb(s->ctx, NULL, on_ticket, s);
    SSL_CTX_set_alpn_select_cb(s->ctx, on_alpn, s);
    edge_ocsp_install(s->ctx); /* OCSP stapling (issue 14) */
    if (edge_tickets_new_random(&s->own_tickets, err) != 0 ||
        SSL_CTX_set_ex_data(s->ctx, ctx_index, s) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(s->ctx, on_ticket_key) != 1) {
        SSL_CTX_free(s->ctx);
        s->ctx = NULL;
        edge_tickets_release(s->own_tickets);
        return cp_err_set(err, CP_ECRYPTO, "session ticket keys: setup failed");
    }
    atomic_init(&s->current, edge_certmap_retain(initial));
    return 0;
}

void edge_sni_dispose(edge_sni_t *s)
{
    SSL_CTX_free(s->ctx);
    s->ctx = NULL;
    edge_certmap_release(atomic_exchange(&s->current, NULL));
    edge_tickets_release(s->own_tickets);
    s->own_tickets = NULL;
}

void edge_sni_set_local_addr(edge_sni_t *s, edge_sni_local_addr_fn fn)
{
    s->local_addr = fn;
}

void edge_sni_set_on_bad(edge_sni_t *s, edge_sni_bad_fn fn)
{
    s->on_bad = fn;
}

edge_certmap_t *edge_sni_swap(edge_sni_t *s, edge_certmap_t *next)
{
    return atomic_exchange_explicit(&s->current, next, memory_order_acq_rel);
}

edge_certmap_t *edge_sni_current0(edge_sni_t *s)
{
    return atomic_load_explicit(&s->current, memory_order_acquire);
}

const edge_cert_t *edge_sni_chosen0(const SSL *ssl)
{
    return ex_index < 0 ? NULL : SSL_get_ex_data(ssl, ex_index);
}
