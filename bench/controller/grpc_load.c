/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_load.c - bounded load of unary certplane.v1.Certificates/GetCertificate calls on the gRPC C
 * core.
 *
 * T threads, each with its own channel (own TCP connection) and completion queue, keep C calls in
 * flight. Stops after --calls calls (all threads together) or --seconds seconds, whichever is
 * first; a --warmup phase of calls comes before and is not counted. With --pid, the server's CPU
 * time (user+sys from /proc/<pid>/stat) is sampled around the measured phase. One JSON line on
 * stdout.
 *
 *   grpc_load --target 127.0.0.1:8443 --token TOK --name web [--threads 2] [--concurrency 32]
 *             [--calls 200000] [--seconds 10] [--warmup 2000] [--pid N]
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define METHOD "/certplane.v1.Certificates/GetCertificate"

typedef struct {
    grpc_call *call;
    grpc_metadata_array init_md, trail_md;
    grpc_byte_buffer *req, *resp;
    grpc_status_code status;
    grpc_slice details;
    int64_t t0_ns;
    int busy;
} slot_t;

typedef struct {
    int id;
    grpc_channel *ch;
    grpc_completion_queue *cq;
    slot_t *slots;
    uint32_t *lat_us; /* measured calls only */
    size_t n_lat, cap_lat;
    uint64_t ok, errors, bytes, bad_status[17];
} worker_t;

static const char *g_target = "127.0.0.1:8443", *g_token = "", *g_name = "bench";
static int g_threads = 2, g_conc = 32;
static long g_calls = 200000, g_warmup = 2000;
static double g_seconds = 10;
static int g_pid = 0;
static grpc_slice g_method, g_auth_key, g_auth_val;
static grpc_slice g_req_slice;

static atomic_long g_claimed;   /* calls handed out (warm-up + measured) */
static atomic_int g_phase;      /* 0 warm-up, 1 measured, 2 stop */
static atomic_long g_warm_done; /* warm-up calls finished */
static int64_t g_t_start_ns, g_deadline_ns;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* utime+stime of a process in seconds, -1 when unreadable. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Hands out the next call: 0 warm-up, 1 measured, -1 none left. */
static int claim(void)
{
    int ph = atomic_load(&g_phase);
    if (ph == 2)
        return -1;
    if (ph == 1 && now_ns() >= g_deadline_ns) {
        atomic_store(&g_phase, 2);
        return -1;
    }
    long k = atomic_fetch_add(&g_claimed, 1);
    if (k < g_warmup)
        return 0;
    if (k >= g_warmup + g_calls)
        return -1;
    /* the first measured calls wait until main() has started the clock */
    while (atomic_load(&g_phase) == 0)
        usleep(50);
    return 1;
}

static void start_call(worker_t *w, slot_t *s, int measured)
{
    memset(s, 0, sizeof *s);
    grpc_metadata_array_init(&s->init_md);
    grpc_metadata_array_init(&s->trail_md);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(30, GPR_TIMESPAN));
    s->call = grpc_channel_create_call(w->ch, NULL, GRPC_PROPAGATE_DEFAULTS, w->cq, g_method, NULL,
                                       deadline, NULL);
    grpc_metadata md = {.key = g_auth_key, .value = g_auth_val};
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = g_token[0] ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = &md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    /* the op takes the byte buffer's slices: one buffer per call, over the shared request bytes */
    s->req = grpc_raw_byte_buffer_create(&g_req_slice, 1);
    ops[1].data.send_message.send_message = s->req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->trail_md;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    s->busy = measured ? 2 : 1;
    s->t0_ns = now_ns();
    grpc_call_error e = grpc_call_start_batch(s->call, ops, 6, s, NULL);
    if (e != GRPC_CALL_OK) {
        fprintf(stderr, "grpc_load: start_batch: %d\n", (int)e);
        exit(2);
    }
}

static void finish_call(worker_t *w, slot_t *s, int success)
{
    int64_t lat = now_ns() - s->t0_ns;
    int measured = s->busy == 2;
    if (success && s->status == GRPC_STATUS_OK && s->resp != NULL) {
        if (measured) {
            w->ok++;
            w->bytes += grpc_byte_buffer_length(s->resp);
        }
    } else if (measured) {
        w->errors++;
        w->bad_status[(unsigned)s->status < 17 ? s->status : 2]++;
        if (w->errors <= 3) {
            char *d = grpc_slice_to_c_string(s->details);
            fprintf(stderr, "grpc_load: call failed: status %d %s\n", (int)s->status, d);
            gpr_free(d);
        }
    }
    if (measured && w->n_lat < w->cap_lat)
        w->lat_us[w->n_lat++] = (uint32_t)(lat / 1000);
    if (!measured)
        atomic_fetch_add(&g_warm_done, 1);
    if (s->resp)
        grpc_byte_buffer_destroy(s->resp);
    grpc_byte_buffer_destroy(s->req);
    grpc_metadata_array_destroy(&s->init_md);
    grpc_metadata_array_destroy(&s->trail_md);
    grpc_slice_unref(s->details);
    grpc_call_unref(s->call);
    s->busy = 0;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    int active = 0;
    for (int i = 0; i < g_conc; i++) {
        int m = claim();
        if (m < 0)
            break;
        start_call(w, &w->slots[i], m);
        active++;
    }
    while (active > 0) {
        grpc_event ev = grpc_completion_queue_next(
            w->cq,
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(60, GPR_TIMESPAN)),
            NULL);
        if (ev.type != GRPC_OP_COMPLETE) {
            fprintf(stderr, "grpc_load: completion queue: event %d\n", (int)ev.type);
            exit(2);
        }
        slot_t *s = ev.tag;
        finish_call(w, s, ev.success);
        active--;
        int m = claim();
        if (m >= 0) {
            start_call(w, s, m);
            active++;
        }
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: grpc_load --target HOST:PORT --token TOK --name CERT [--threads N] "
            "[--concurrency N per thread] [--calls N] [--seconds S] [--warmup N] [--pid PID]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (!strcmp(a, "--target"))
            g_target = v;
        else if (!strcmp(a, "--token"))
            g_token = v;
        else if (!strcmp(a, "--name"))
            g_name = v;
        else if (!strcmp(a, "--threads"))
            g_threads = atoi(v);
        else if (!strcmp(a, "--concurrency"))
            g_conc = atoi(v);
        else if (!strcmp(a, "--calls"))
            g_calls = atol(v);
        else if (!strcmp(a, "--seconds"))
            g_seconds = atof(v);
        else if (!strcmp(a, "--warmup"))
            g_warmup = atol(v);
        else if (!strcmp(a, "--pid"))
            g_pid = atoi(v);
        else
            usage();
        i++;
    }
    if (g_threads < 1 || g_conc < 1 || g_calls < 1 || g_seconds <= 0 || strlen(g_name) > 120)
        usage();

    grpc_init();
    g_method = grpc_slice_from_static_string(METHOD);
    g_auth_key = grpc_slice_from_static_string("authorization");
    char auth[512];
    snprintf(auth, sizeof auth, "Bearer %s", g_token);
    g_auth_val = grpc_slice_from_copied_string(auth);
    /* GetCertificateRequest { string name = 1; } */
    unsigned char pb[128];
    size_t nl = strlen(g_name);
    pb[0] = 0x0a;
    pb[1] = (unsigned char)nl;
    memcpy(pb + 2, g_name, nl);
    g_req_slice = grpc_slice_from_copied_buffer((const char *)pb, nl + 2);

    worker_t *ws = calloc((size_t)g_threads, sizeof *ws);
    pthread_t *th = calloc((size_t)g_threads, sizeof *th);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    for (int i = 0; i < g_threads; i++) {
        /* a distinct arg value per channel: every thread gets its own subchannel (TCP connection)
         */
        grpc_arg args[2];
        args[0].type = GRPC_ARG_INTEGER;
        args[0].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
        args[0].value.integer = 1;
        args[1].type = GRPC_ARG_INTEGER;
        args[1].key = (char *)"certplane.bench.channel_id";
        args[1].value.integer = i;
        grpc_channel_args ca = {.num_args = 2, .args = args};
        ws[i].id = i;
        ws[i].ch = grpc_channel_create(g_target, creds, &ca);
        ws[i].cq = grpc_completion_queue_create_for_next(NULL);
        ws[i].slots = calloc((size_t)g_conc, sizeof(slot_t));
        ws[i].cap_lat = (size_t)g_calls;
        if (ws[i].cap_lat > 4000000)
            ws[i].cap_lat = 4000000;
        ws[i].lat_us = malloc(ws[i].cap_lat * sizeof(uint32_t));
    }

    /* warm-up (connections, server thread caches), then the measured phase */
    atomic_store(&g_phase, g_warmup > 0 ? 0 : 1);
    g_t_start_ns = now_ns();
    g_deadline_ns = g_t_start_ns + (int64_t)(g_seconds * 1e9) + (int64_t)30e9;
    for (int i = 0; i < g_threads; i++)
        pthread_create(&th[i], NULL, run, &ws[i]);
    /* the measured phase starts once every warm-up call has been handed out (and nearly all done)
     */
    int64_t warm_deadline = now_ns() + (int64_t)30e9;
    while (g_warmup > 0 && atomic_load(&g_claimed) < g_warmup && now_ns() < warm_deadline)
        usleep(200);
    double srv0 = g_pid ? proc_cpu_s(g_pid) : -1, cli0 = self_cpu_s();
    int64_t t0 = now_ns();
    g_deadline_ns = t0 + (int64_t)(g_seconds * 1e9);
    if (g_warmup > 0)
        atomic_store(&g_phase, 1);
    for (int i = 0; i < g_threads; i++)
        pthread_join(th[i], NULL);
    int64_t t1 = now_ns();
    double srv1 = g_pid ? proc_cpu_s(g_pid) : -1, cli1 = self_cpu_s();

    uint64_t ok = 0, errors = 0, bytes = 0;
    size_t n = 0;
    for (int i = 0; i < g_threads; i++) {
        ok += ws[i].ok;
        errors += ws[i].errors;
        bytes += ws[i].bytes;
        n += ws[i].n_lat;
    }
    uint32_t *all = malloc((n ? n : 1) * sizeof(uint32_t));
    size_t k = 0;
    for (int i = 0; i < g_threads; i++) {
        memcpy(all + k, ws[i].lat_us, ws[i].n_lat * sizeof(uint32_t));
        k += ws[i].n_lat;
    }
    qsort(all, n, sizeof(uint32_t), cmp_u32);
    double secs = (double)(t1 - t0) / 1e9;
    double calls = (double)(ok + errors);
#define PCT(p) (n ? all[(size_t)((double)(n - 1) * (p))] : 0)
    double srv = (g_pid && srv0 >= 0 && srv1 >= 0) ? srv1 - srv0 : -1;
    printf(
        "{\"transport\":\"grpc\",\"threads\":%d,\"concurrency\":%d,\"calls\":%.0f,\"ok\":%" PRIu64
        ",\"errors\":%" PRIu64 ",\"seconds\":%.3f,\"rps\":%.1f,\"resp_bytes_avg\":%.0f,"
        "\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u,\"server_cpu_s\":%.2f,"
        "\"server_cpu_us_per_call\":%.1f,\"client_cpu_s\":%.2f}\n",
        g_threads, g_conc * g_threads, calls, ok, errors, secs, calls / secs,
        ok ? (double)bytes / (double)ok : 0.0, PCT(0.50), PCT(0.90), PCT(0.99), n ? all[n - 1] : 0,
        srv, srv >= 0 && calls > 0 ? srv * 1e6 / calls : -1.0, cli1 - cli0);
    for (int i = 0; i < g_threads; i++) {
        grpc_channel_destroy(ws[i].ch);
        grpc_completion_queue_shutdown(ws[i].cq);
        while (
            grpc_completion_queue_next(ws[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
            GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(ws[i].cq);
    }
    grpc_channel_credentials_release(creds);
    grpc_slice_unref(g_req_slice);
    grpc_shutdown();
    return errors > 0 && ok == 0 ? 1 : 0;
}
