/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_watch.c - Watch: snapshot, replay, live events, slow watchers, against a real Redis
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "controller/service/service.h"
#include "controller/store/store.h"
#include "shared/x509.h"
#include "tests/support/harness.h"

static cp_test_redis_t g_redis;
static ctl_config_t g_cfg;
static ctl_service_t *g_svc;
static ctl_thread_t *g_t;
static char *g_pem, *g_key;

static const ctl_caller_t ADMIN = {.scopes = CTL_SCOPE_ADMIN, .token_id = "adm", .peer = "p"};
static const ctl_caller_t READ = {.scopes = CTL_SCOPE_READ, .token_id = "rd", .peer = "p"};
static const ctl_caller_t EDGE = {.scopes = CTL_SCOPE_EDGE, .token_id = "edg", .peer = "p"};

/* ---- a sink that records what it is sent ---------------------------------------------------- */

typedef struct tsink {
    pthread_mutex_t mu;
    Certplane__V1__CertificateEvent *ev[4096];
    size_t n;
    size_t limit; /* > 0: sends after this many fail with CP_ETOOBIG */
    int status;   /* of finish; -1 before */
    char msg[256];
    bool released;
    bool closed;        /* the client "left": the relay drops the watcher within a poll interval */
    size_t cap, queued; /* cap > 0: a transport's byte-bounded queue, drained by a reader thread */
} tsink_t;

static int ts_send(void *u, const Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    tsink_t *s = u;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    size_t len = protobuf_c_message_get_packed_size(&ev->base);
    if ((s->limit > 0 && s->n >= s->limit) || s->n == 4096 ||
        (s->cap > 0 && s->queued + len > s->cap)) {
        rc = cp_err_set(err, CP_ETOOBIG, "watcher too slow");
    } else {
        s->queued += len;
        uint8_t *buf = malloc(len + 1);
        protobuf_c_message_pack(&ev->base, buf);
        s->ev[s->n++] = certplane__v1__certificate_event__unpack(NULL, len, buf);
        free(buf);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void ts_finish(void *u, int status, const char *message)
{
    tsink_t *s = u;
    pthread_mutex_lock(&s->mu);
    s->status = status;
    snprintf(s->msg, sizeof s->msg, "%s", message);
    pthread_mutex_unlock(&s->mu);
}

static bool ts_closed(void *u)
{
    tsink_t *s = u;
    pthread_mutex_lock(&s->mu);
    bool closed = s->closed;
    pthread_mutex_unlock(&s->mu);
    return closed;
}

static int ts_fill(void *u)
{
    tsink_t *s = u;
    pthread_mutex_lock(&s->mu);
    int fill = s->cap > 0 ? (int)(s->queued * 1000 / s->cap) : 0;
    pthread_mutex_unlock(&s->mu);
    return fill;
}

static void ts_release(void *u)
{
    tsink_t *s = u;
    pthread_mutex_lock(&s->mu);
    s->released = true;
    pthread_mutex_unlock(&s->mu);
}

static tsink_t *ts_new(size_t limit, ctl_watch_sink_t *sink)
{
    tsink_t *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->limit = limit;
    s->status = -1;
    *sink = (ctl_watch_sink_t){s, ts_send, ts_finish, ts_closed, ts_release, ts_fill};
    return s;
}

static bool ts_released(tsink_t *s)
{
    pthread_mutex_lock(&s->mu);
    bool r = s->released;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* Closes the sink, waits until the service released it, and frees it. */
static void ts_free(tsink_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < 500 && !ts_released(s); i++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    assert_true(ts_released(s));
    for (size_t i = 0; i < s->n; i++)
        protobuf_c_message_free_unpacked(&s->ev[i]->base, NULL);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ts_free() for a sink read by a ts_drain thread. */
static void ts_free_with(tsink_t *s, pthread_t reader)
{
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    pthread_mutex_unlock(&s->mu);
    pthread_join(reader, NULL);
    ts_free(s);
}

/* Index of the first event of type with revision >= rev (or name), or -1; waits up to 5 s. */
static long ts_wait(tsink_t *s, int type, int64_t rev, const char *name)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&s->mu);
        for (size_t k = 0; k < s->n; k++) {
            const Certplane__V1__CertificateEvent *e = s->ev[k];
            if ((int)e->type == type && e->revision >= rev &&
                (name == NULL || strcmp(e->name, name) == 0)) {
                pthread_mutex_unlock(&s->mu);
                return (long)k;
            }
        }
        pthread_mutex_unlock(&s->mu);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static int64_t revision_now(void)
{
    ctl_store_t *s = NULL;
    int64_t rev = 0;
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &s, NULL), 0);
    assert_int_equal(ctl_store_revision(s, &rev, NULL), 0);
    ctl_store_free(s);
    return rev;
}

static int64_t create_on(ctl_thread_t *t, const char *name)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest req = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    char domain[128];
    snprintf(domain, sizeof domain, "%s.example.com", name);
    char *d[] = {domain};
    c.name = (char *)name;
    c.n_domains = 1;
    c.domains = d;
    req.certificate = &c;
    ProtobufCMessage *out = NULL;
    cp_err_t err = {0};
    int rc = ctl_service_invoke(g_svc, t, &ADMIN, ctl_service_rpc_by_name("CreateCertificate"),
                                &req.base, &out, &err);
    if (rc != 0)
        fail_msg("create %s: %s", name, err.msg);
    int64_t rev = ((Certplane__V1__Certificate *)out)->revision;
    protobuf_c_message_free_unpacked(out, NULL);
    return rev;
}

static int watch(const ctl_caller_t *who, int64_t from, const ctl_watch_sink_t *sink, cp_err_t *err)
{
    Certplane__V1__WatchRequest req = CERTPLANE__V1__WATCH_REQUEST__INIT;
    req.from_revision = from;
    req.edge_id = "edge-test";
    return ctl_service_watch(g_svc, g_t, who, &req, sink, err);
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_redis_start(&g_redis, NULL), 0);
    g_cfg.redis_url = g_redis.url;
    g_cfg.insecure_no_auth = true;
    g_cfg.acme_email = "ops@example.com";
    g_cfg.events_max = 100;
    g_cfg.edge_ttl_ms = 30000;
    assert_int_equal(ctl_service_new(&g_cfg, &g_svc, NULL), 0);
    assert_int_equal(ctl_service_start(g_svc, NULL), 0);
    g_t = ctl_thread_new(g_svc);
    EVP_PKEY *k = NULL;
    X509 *cert = NULL;
    const char *names[] = {"keyed.example.com"};
    assert_int_equal(cp_x509_key_generate(CP_KEY_EC_P256, &k, NULL), 0);
    assert_int_equal(cp_x509_self_signed(k, names, 1, 30, &cert, NULL), 0);
    assert_int_equal(cp_x509_cert_to_pem(cert, &g_pem, NULL), 0);
    assert_int_equal(cp_x509_key_to_pem(k, &g_key, NULL), 0);
    X509_free(cert);
    EVP_PKEY_free(k);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ctl_thread_free(g_t);
    ctl_service_free(g_svc);
    cp_test_redis_stop(&g_redis);
    free(g_pem);
    free(g_key);
    return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_snapshot_then_snapshot_end_then_live_events(void **state)
{
    (void)state;
    create_on(g_t, "snap-a");
    create_on(g_t, "snap-b");
    Certplane__V1__ImportCertificateRequest im = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    im.name = "keyed";
    im.fullchain_pem = g_pem;
    im.private_key_pem = g_key;
    ProtobufCMessage *out = NULL;
    assert_int_equal(ctl_service_invoke(g_svc, g_t, &ADMIN,
                                        ctl_service_rpc_by_name("ImportCertificate"), &im.base,
                                        &out, NULL),
                     0);
    protobuf_c_message_free_unpacked(out, NULL);
    ctl_store_t *s = NULL;
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &s, NULL), 0);
    assert_int_equal(ctl_store_challenge_set(s, "tok-1", "tok-1.thumb", 600, NULL, NULL), 0);
    ctl_store_free(s);
    int64_t rev = revision_now();

    ctl_watch_sink_t es, rs;
    tsink_t *edge = ts_new(0, &es), *reader = ts_new(0, &rs);
    assert_int_equal(watch(&EDGE, 0, &es, NULL), 0);
    assert_int_equal(watch(&READ, 0, &rs, NULL), 0);
    long end = ts_wait(edge, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 0, NULL);
    assert_true(end == 1 + 3 + 1); /* SNAPSHOT_BEGIN, three certificates, one challenge */
    assert_int_equal(edge->ev[0]->type, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN);
    assert_int_equal(edge->ev[0]->revision, rev);
    assert_int_equal(edge->ev[end]->revision, rev);
    for (long i = 1; i < end; i++)
        assert_int_not_equal(edge->ev[i]->type, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN);
    long k = ts_wait(edge, CERTPLANE__V1__EVENT_TYPE__UPSERT, 0, "keyed");
    assert_true(k >= 0 && k < end);
    assert_non_null(strstr(edge->ev[k]->certificate->private_key_pem, "PRIVATE KEY"));
    k = ts_wait(reader, CERTPLANE__V1__EVENT_TYPE__UPSERT, 0, "keyed");
    assert_string_equal(reader->ev[k]->certificate->private_key_pem, "");
    k = ts_wait(edge, CERTPLANE__V1__EVENT_TYPE__CHALLENGE_SET, 0, NULL);
    assert_string_equal(edge->ev[k]->challenge->token, "tok-1");
    assert_string_equal(edge->ev[k]->challenge->key_authorization, "tok-1.thumb");
    assert_non_null(edge->ev[k]->challenge->expire_time);

    int64_t r1 = create_on(g_t, "live-1");
    k = ts_wait(edge, CERTPLANE__V1__EVENT_TYPE__UPSERT, r1, "live-1");
    assert_int_equal(k, end + 1);
    assert_int_equal(edge->ev[k]->revision, r1);
    assert_int_equal(edge->ev[k]->certificate->state, 1);
    assert_true(ts_wait(reader, CERTPLANE__V1__EVENT_TYPE__UPSERT, r1, "live-1") >= 0);
    ts_free(edge);
    ts_free(reader);
}

/* The snapshot's UPSERTs in stream order, batches flattened; *n_batches counts SNAPSHOT_BATCH
 * messages, each checked to hold 2..max UPSERTs. The events stay owned by the sink. */
static size_t snapshot_upserts(tsink_t *s, long end, size_t max,
                               const Certplane__V1__CertificateEvent **out, size_t *n_batches)
{
    size_t n = 0;
    *n_batches = 0;
    for (long i = 1; i < end; i++) {
        const Certplane__V1__CertificateEvent *e = s->ev[i];
        if (e->type == CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BATCH) {
            assert_true(e->n_batch >= 2 && e->n_batch <= max);
            (*n_batches)++;
            for (size_t j = 0; j < e->n_batch; j++) {
                assert_int_equal(e->batch[j]->type, CERTPLANE__V1__EVENT_TYPE__UPSERT);
                out[n++] = e->batch[j];
            }
        } else if (e->type == CERTPLANE__V1__EVENT_TYPE__UPSERT) {
            out[n++] = e;
        }
    }
    return n;
}

/* WatchRequest.snapshot_batch: the same UPSERTs in the same order as one per message, several to a
 * SNAPSHOT_BATCH message (at most the number asked for); keys only for the edge scope. */
static void test_snapshot_in_batches_matches_one_per_message(void **state)
{
    (void)state;
    char name[32];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "bat-%d", i);
        create_on(g_t, name);
    }
    ctl_watch_sink_t ps, es, rs;
    tsink_t *plain = ts_new(0, &ps), *edge = ts_new(0, &es), *reader = ts_new(0, &rs);
    Certplane__V1__WatchRequest req = CERTPLANE__V1__WATCH_REQUEST__INIT;
    req.edge_id = "edge-test";
    assert_int_equal(ctl_service_watch(g_svc, g_t, &EDGE, &req, &ps, NULL), 0);
    req.snapshot_batch = 3;
    assert_int_equal(ctl_service_watch(g_svc, g_t, &EDGE, &req, &es, NULL), 0);
    assert_int_equal(ctl_service_watch(g_svc, g_t, &READ, &req, &rs, NULL), 0);
    long pend = ts_wait(plain, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 0, NULL);
    long eend = ts_wait(edge, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 0, NULL);
    long rend = ts_wait(reader, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 0, NULL);
    assert_true(pend > 0 && eend > 0 && rend > 0);
    const Certplane__V1__CertificateEvent *a[512], *b[512], *c[512];
    size_t na, nb, nc, batches_a, batches_b, batches_c;
    na = snapshot_upserts(plain, pend, 1, a, &batches_a);
    nb = snapshot_upserts(edge, eend, 3, b, &batches_b);
    nc = snapshot_upserts(reader, rend, 3, c, &batches_c);
    assert_int_equal(batches_a, 0);
    assert_true(na >= 7 && batches_b >= 3 && batches_c >= 3);
    assert_int_equal(na, nb);
    assert_int_equal(na, nc);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i]->name, b[i]->name);
        assert_string_equal(a[i]->name, c[i]->name);
        assert_int_equal(a[i]->revision, b[i]->revision);
        assert_string_equal(a[i]->certificate->private_key_pem, b[i]->certificate->private_key_pem);
        assert_string_equal(c[i]->certificate->private_key_pem, ""); /* read scope: never a key */
        if (strcmp(a[i]->name, "keyed") == 0)
            assert_non_null(strstr(b[i]->certificate->private_key_pem, "PRIVATE KEY"));
    }
    ts_free(plain);
    ts_free(edge);
    ts_free(reader);
}

typedef struct writer {
    ctl_thread_t *t;
    int n;
    const char *prefix;
} writer_t;

static void *write_many(void *arg)
{
    writer_t *w = arg;
    for (int i = 0; i < w->n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%d", w->prefix, i);
        create_on(w->t, name);
    }
    return NULL;
}

/* After index `from` in s, the events must have exactly the revisions lo+1..hi, in order. */
static void assert_contiguous(tsink_t *s, size_t from, int64_t lo, int64_t hi)
{
    pthread_mutex_lock(&s->mu);
    int64_t want = lo + 1;
    for (size_t i = from; i < s->n; i++) {
        if (s->ev[i]->revision != want)
            fail_msg("event %zu has revision %lld, want %lld", i, (long long)s->ev[i]->revision,
                     (long long)want);
        want++;
    }
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(want - 1, hi);
}

static void test_replay_and_snapshot_race_with_writers_without_gaps_or_duplicates(void **state)
{
    (void)state;
    int64_t rev0 = revision_now();
    writer_t w = {ctl_thread_new(g_svc), 80, "race"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_many, &w), 0);
    nanosleep(&(struct timespec){0, 5000000L}, NULL);
    ctl_watch_sink_t rs, ss;
    tsink_t *rep = ts_new(0, &rs), *snp = ts_new(0, &ss);
    assert_int_equal(watch(&EDGE, rev0, &rs, NULL), 0);
    assert_int_equal(watch(&EDGE, 0, &ss, NULL), 0);
    pthread_join(th, NULL);
    ctl_thread_free(w.t);
    int64_t last = revision_now();
    assert_true(ts_wait(rep, CERTPLANE__V1__EVENT_TYPE__UPSERT, last, NULL) >= 0);
    long end = ts_wait(snp, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 0, NULL);
    assert_true(end >= 0);
    /* The snapshot says so first, with SNAPSHOT_END's revision; the replay never does. */
    assert_int_equal(snp->ev[0]->type, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN);
    assert_int_equal(snp->ev[0]->revision, snp->ev[end]->revision);
    assert_int_not_equal(rep->ev[0]->type, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN);
    if (snp->ev[end]->revision < last) /* the writer was still going when the snapshot ended */
        assert_true(ts_wait(snp, CERTPLANE__V1__EVENT_TYPE__UPSERT, last, NULL) > end);
    nanosleep(&(struct timespec){0, 300000000L}, NULL); /* a duplicate would arrive meanwhile */
    assert_contiguous(rep, 0, rev0, last);
    assert_contiguous(snp, (size_t)end + 1, snp->ev[end]->revision, last);
    assert_false(rep->released);
    ts_free(rep);
    ts_free(snp);
}

static void test_revision_older_than_the_history_gets_a_snapshot(void **state)
{
    (void)state;
    ctl_store_t *s = NULL;
    int64_t first = 0;
    assert_int_equal(
        ctl_store_new(g_redis.url, &(ctl_store_opts_t){.events_maxlen = 100}, &s, NULL), 0);
    for (int i = 0; i < 400; i++)
        assert_int_equal(ctl_store_challenge_clear(s, "gone", NULL, NULL), 0);
    assert_int_equal(ctl_store_events_first(s, &first, NULL), 0);
    ctl_store_free(s);
    assert_true(first > 2);
    ctl_watch_sink_t ks;
    tsink_t *k = ts_new(0, &ks);
    assert_int_equal(watch(&READ, 1, &ks, NULL), 0);
    long end = ts_wait(k, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 0, NULL);
    assert_true(end > 0);
    assert_int_equal(k->ev[end]->revision, revision_now());
    assert_int_equal(k->ev[0]->type, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN);
    assert_int_equal(k->ev[0]->revision, k->ev[end]->revision);
    assert_int_equal(k->ev[1]->type, CERTPLANE__V1__EVENT_TYPE__UPSERT);
    ts_free(k);
}

static void test_slow_watcher_is_dropped_and_others_go_on(void **state)
{
    (void)state;
    int64_t rev = revision_now();
    ctl_watch_sink_t as, bs;
    tsink_t *slow = ts_new(2, &as), *fast = ts_new(0, &bs);
    assert_int_equal(watch(&EDGE, rev, &as, NULL), 0);
    assert_int_equal(watch(&EDGE, rev, &bs, NULL), 0);
    int64_t last = 0;
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "slow-%d", i);
        last = create_on(g_t, name);
    }
    assert_true(ts_wait(fast, CERTPLANE__V1__EVENT_TYPE__UPSERT, last, NULL) >= 0);
    assert_contiguous(fast, 0, rev, last);
    assert_true(ts_released(slow));
    assert_int_equal(slow->n, 2);
    assert_false(fast->released);
    ts_free(slow);
    ts_free(fast);
}

/* The reader of a byte-bounded sink: takes 512 bytes a millisecond until the sink is closed. */
static void *ts_drain(void *arg)
{
    tsink_t *s = arg;
    for (bool closed = false; !closed;) {
        pthread_mutex_lock(&s->mu);
        s->queued = s->queued > 512 ? s->queued - 512 : 0;
        closed = s->closed || s->released;
        pthread_mutex_unlock(&s->mu);
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    }
    return NULL;
}

/* A snapshot larger than the transport's queue goes at the reader's pace (sink->fill) instead of
 * being cut off as "too slow" (issue 13: a snapshot of 1,000,000 certificates over REST was cut
 * after its first 16 MiB). */
static void test_snapshot_larger_than_the_queue_waits_for_the_reader(void **state)
{
    (void)state;
    for (int i = 0; i < 120; i++) {
        char name[32];
        snprintf(name, sizeof name, "paced-%03d", i);
        create_on(g_t, name);
    }
    ctl_watch_sink_t as;
    tsink_t *s = ts_new(0, &as);
    s->cap = 4096; /* the 120 records are ~20 KiB */
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, ts_drain, s), 0);
    assert_int_equal(watch(&EDGE, 0, &as, NULL), 0);
    assert_true(ts_wait(s, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 0, NULL) >= 0);
    assert_true(ts_wait(s, CERTPLANE__V1__EVENT_TYPE__UPSERT, 0, "paced-119") >= 0);
    assert_false(ts_released(s));
    assert_int_equal(s->status, -1);
    ts_free_with(s, reader);
}

/* A refused Watch must not touch the sink: nothing sent, not released, not finished. */
static void assert_sink_untouched(tsink_t *k)
{
    assert_int_equal(k->n, 0);
    assert_false(k->released);
    assert_int_equal(k->status, -1);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static void test_watch_without_a_scope_is_refused_leaving_the_sink_alone(void **state)
{
    (void)state;
    ctl_watch_sink_t ks;
    tsink_t *k = ts_new(0, &ks);
    cp_err_t err = {0};
    ctl_caller_t none = {.scopes = 0};
    assert_int_equal(watch(&none, 0, &ks, &err), CP_EPERM);
    assert_sink_untouched(k);
}

static void test_watch_from_a_negative_revision_is_refused_leaving_the_sink_alone(void **state)
{
    (void)state;
    ctl_watch_sink_t ks;
    tsink_t *k = ts_new(0, &ks);
    cp_err_t err = {0};
    assert_int_equal(watch(&READ, -1, &ks, &err), CP_EINVAL);
    assert_string_equal(err.msg, "from_revision: must be >= 0");
    assert_sink_untouched(k);
}

static void test_watch_with_an_invalid_edge_id_is_refused_leaving_the_sink_alone(void **state)
{
    (void)state;
    ctl_watch_sink_t ks;
    tsink_t *k = ts_new(0, &ks);
    cp_err_t err = {0};
    Certplane__V1__WatchRequest req = CERTPLANE__V1__WATCH_REQUEST__INIT;
    req.edge_id = "bad/edge";
    assert_int_equal(ctl_service_watch(g_svc, g_t, &EDGE, &req, &ks, &err), CP_EINVAL);
    assert_sink_untouched(k);
}

static void test_watch_on_an_unstarted_service_is_unavailable(void **state)
{
    (void)state;
    ctl_service_t *svc = NULL;
    ctl_watch_sink_t ks;
    tsink_t *k = ts_new(0, &ks);
    cp_err_t err = {0};
    assert_int_equal(ctl_service_new(&g_cfg, &svc, NULL), 0);
    ctl_thread_t *t = ctl_thread_new(svc);
    Certplane__V1__WatchRequest req = CERTPLANE__V1__WATCH_REQUEST__INIT;
    req.from_revision = revision_now();
    assert_int_equal(ctl_service_watch(svc, t, &READ, &req, &ks, &err), CP_EUNAVAIL);
    ctl_thread_free(t);
    ctl_service_free(svc);
    assert_sink_untouched(k);
}

static void test_stopping_the_service_finishes_its_watchers_as_unavailable(void **state)
{
    (void)state;
    ctl_service_t *svc = NULL;
    ctl_watch_sink_t ks;
    tsink_t *k = ts_new(0, &ks);
    cp_err_t err = {0};
    assert_int_equal(ctl_service_new(&g_cfg, &svc, NULL), 0);
    ctl_thread_t *t = ctl_thread_new(svc);
    Certplane__V1__WatchRequest req = CERTPLANE__V1__WATCH_REQUEST__INIT;
    req.from_revision = revision_now();
    assert_int_equal(ctl_service_start(svc, NULL), 0);
    assert_int_equal(ctl_service_watch(svc, t, &READ, &req, &ks, &err), 0);
    ctl_thread_free(t);
    ctl_service_free(svc);
    assert_true(k->released);
    assert_int_equal(k->status, 14);
    assert_string_equal(k->msg, "controller shutting down");
    ts_free(k);
}

/* --watch-max-per-token: one more stream of that token is RESOURCE_EXHAUSTED (the sink untouched),
 * other tokens are not affected, and a closed stream gives its slot back. */
static void test_watch_streams_per_token_are_bounded(void **state)
{
    (void)state;
    ctl_caller_t a = READ, b = READ;
    memset(a.token_key, 'a', sizeof a.token_key);
    memset(b.token_key, 'b', sizeof b.token_key);
    int64_t rev = revision_now();
    g_cfg.watch_max_per_token = 2;
    ctl_watch_sink_t s1, s2, s3, s4;
    tsink_t *k1 = ts_new(0, &s1), *k2 = ts_new(0, &s2), *k3 = ts_new(0, &s3), *k4 = ts_new(0, &s4);
    cp_err_t err = {0};
    assert_int_equal(watch(&a, rev, &s1, NULL), 0);
    assert_int_equal(watch(&a, rev, &s2, NULL), 0);
    assert_int_equal(watch(&a, rev, &s3, &err), CP_ETOOBIG);
    assert_int_equal(cp_err_grpc_status(CP_ETOOBIG), 8); /* RESOURCE_EXHAUSTED */
    assert_non_null(strstr(err.msg, "too many Watch streams"));
    assert_sink_untouched(k3);
    assert_int_equal(watch(&b, rev, &s4, NULL), 0);
    ts_free(k1);
    k3 = ts_new(0, &s3);
    assert_int_equal(watch(&a, rev, &s3, NULL), 0);
    ts_free(k2);
    ts_free(k3);
    ts_free(k4);
    g_cfg.watch_max_per_token = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_then_snapshot_end_then_live_events),
        cmocka_unit_test(test_snapshot_in_batches_matches_one_per_message),
        cmocka_unit_test(test_replay_and_snapshot_race_with_writers_without_gaps_or_duplicates),
        cmocka_unit_test(test_slow_watcher_is_dropped_and_others_go_on),
        cmocka_unit_test(test_snapshot_larger_than_the_queue_waits_for_the_reader),
        cmocka_unit_test(test_watch_without_a_scope_is_refused_leaving_the_sink_alone),
        cmocka_unit_test(test_watch_from_a_negative_revision_is_refused_leaving_the_sink_alone),
        cmocka_unit_test(test_watch_with_an_invalid_edge_id_is_refused_leaving_the_sink_alone),
        cmocka_unit_test(test_watch_on_an_unstarted_service_is_unavailable),
        cmocka_unit_test(test_stopping_the_service_finishes_its_watchers_as_unavailable),
        cmocka_unit_test(test_revision_older_than_the_history_gets_a_snapshot),
        cmocka_unit_test(test_watch_streams_per_token_are_bounded),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
