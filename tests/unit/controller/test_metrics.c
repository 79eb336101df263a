/* SPDX-License-Identifier: Apache-2.0 */
/* test_metrics.c - the metrics registry: fixed label sets, thread-safe counting, Prometheus text */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/metrics/metrics.h"

static char *render(const ctl_metrics_certs_t *s)
{
    size_t len = 0;
    char *t = ctl_metrics_render_text(s, &len);
    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    return t;
}

static void assert_has(const char *text, const char *line)
{
    if (strstr(text, line) == NULL)
        fail_msg("missing \"%s\" in:\n%s", line, text);
}

static int reset(void **state)
{
    (void)state;
    ctl_metrics_reset();
    return 0;
}

static void test_requests_are_counted_by_transport_method_and_code_name(void **state)
{
    (void)state;
    ctl_metrics_request("http", "GetCertificate", 0);
    ctl_metrics_request("http", "GetCertificate", 0);
    ctl_metrics_request("grpc", "/certplane.v1.Certificates/GetCertificate", 5);
    ctl_metrics_request("grpc", "NoSuchMethod", 99);
    char *t = render(NULL);
    assert_has(t, "# TYPE certplane_requests_total counter\n");
    assert_has(
        t,
        "certplane_requests_total{transport=\"http\",method=\"GetCertificate\",code=\"OK\"} 2\n");
    assert_has(t, "certplane_requests_total{transport=\"grpc\",method=\"GetCertificate\","
                  "code=\"NOT_FOUND\"} 1\n");
    /* A method the registry does not know never becomes a new label value. */
    assert_has(
        t, "certplane_requests_total{transport=\"grpc\",method=\"other\",code=\"UNKNOWN\"} 1\n");
    assert_null(strstr(t, "NoSuchMethod"));
    assert_null(strstr(t, "certplane_certificates{")); /* no store part without a scrape */
    free(t);
}

static void test_acme_latency_is_a_cumulative_histogram(void **state)
{
    (void)state;
    ctl_metrics_acme_latency(0.01);
    ctl_metrics_acme_latency(0.3);
    ctl_metrics_acme_latency(100);
    char *t = render(NULL);
    assert_has(t, "# TYPE certplane_acme_request_duration_seconds histogram\n");
    assert_has(t, "certplane_acme_request_duration_seconds_bucket{le=\"0.05\"} 1\n");
    assert_has(t, "certplane_acme_request_duration_seconds_bucket{le=\"0.25\"} 1\n");
    assert_has(t, "certplane_acme_request_duration_seconds_bucket{le=\"0.5\"} 2\n");
    assert_has(t, "certplane_acme_request_duration_seconds_bucket{le=\"60\"} 2\n");
    assert_has(t, "certplane_acme_request_duration_seconds_bucket{le=\"+Inf\"} 3\n");
    assert_has(t, "certplane_acme_request_duration_seconds_sum 100.31\n");
    assert_has(t, "certplane_acme_request_duration_seconds_count 3\n");
    free(t);
}

static void test_issuances_and_watch_streams(void **state)
{
    (void)state;
    ctl_metrics_issuance(false, true);
    ctl_metrics_issuance(true, false);
    ctl_metrics_issuance(true, false);
    ctl_metrics_watch_streams("http", 1);
    ctl_metrics_watch_streams("http", 1);
    ctl_metrics_watch_streams("http", -1);
    char *t = render(NULL);
    assert_has(t, "certplane_issuances_total{kind=\"issue\",result=\"success\"} 1\n");
    assert_has(t, "certplane_issuances_total{kind=\"issue\",result=\"failure\"} 0\n");
    assert_has(t, "certplane_issuances_total{kind=\"renew\",result=\"failure\"} 2\n");
    assert_has(t, "certplane_watch_streams{transport=\"http\"} 1\n");
    assert_has(t, "certplane_watch_streams{transport=\"grpc\"} 0\n");
    free(t);
}

static void test_scrape_gauges_escape_label_values(void **state)
{
    (void)state;
    ctl_metrics_expiry_t ex[2] = {{.name = "a\"b\\c\nd", .seconds = 86400.7},
                                  {.name = "old", .seconds = -10}};
    ctl_metrics_certs_t s = {.ok = true, .expiry = ex, .n_expiry = 2};
    s.by_state[3] = 5;
    char *t = render(&s);
    assert_has(t, "certplane_certificates_scrape_success 1\n");
    assert_has(t, "certplane_certificates{state=\"VALID\"} 5\n");
    assert_has(t, "certplane_certificates{state=\"PENDING\"} 0\n");
    assert_null(strstr(t, "STATE_UNSPECIFIED"));
    assert_has(t, "certplane_certificate_expiry_seconds{name=\"a\\\"b\\\\c\\nd\"} 86400\n");
    assert_has(t, "certplane_certificate_expiry_seconds{name=\"old\"} -10\n");
    free(t);
    s.ok = false;
    t = render(&s);
    assert_has(t, "certplane_certificates_scrape_success 0\n");
    assert_null(strstr(t, "certplane_certificate_expiry_seconds{"));
    free(t);
}

static void test_renewal_and_ari_window_gauges(void **state)
{
    (void)state;
    ctl_metrics_expiry_t ex[2] = {{.name = "ari",
                                   .seconds = 100,
                                   .renew_at = 1700000500,
                                   .ari_start = 1700000000,
                                   .ari_end = 1700001000,
                                   .ari_explanation = "https://ca.example/why",
                                   .issued_by = "backup"},
                                  {.name = "plain", .seconds = 100, .renew_at = 1700000600}};
    ctl_metrics_certs_t s = {.ok = true, .expiry = ex, .n_expiry = 2};
    char *t = render(&s);
    assert_has(t, "certplane_certificate_renew_time_seconds{name=\"ari\"} 1700000500\n");
    assert_has(t, "certplane_certificate_renew_time_seconds{name=\"plain\"} 1700000600\n");
    assert_has(t, "certplane_certificate_ari_window_start_seconds{name=\"ari\"} 1700000000\n");
    assert_has(t, "certplane_certificate_ari_window_end_seconds{name=\"ari\"} 1700001000\n");
    assert_has(t, "certplane_certificate_ari_explanation_info{name=\"ari\",url=\"https://"
                  "ca.example/why\"} 1\n");
    /* A CA without ARI: no window series. */
    assert_null(strstr(t, "certplane_certificate_ari_window_start_seconds{name=\"plain\"}"));
    /* Which provider issued (failover: issuers). */
    assert_has(t, "certplane_certificate_issuer_info{name=\"ari\",issued_by=\"backup\"} 1\n");
    assert_null(strstr(t, "certplane_certificate_issuer_info{name=\"plain\""));
    ctl_metrics_failover();
    free(t);
    t = render(&s);
    assert_has(t, "certplane_acme_failovers_total 1\n");
    free(t);
}

static void test_every_sample_has_help_and_type(void **state)
{
    (void)state;
    ctl_metrics_request("http", "ListEdges", 0);
    ctl_metrics_certs_t s = {.ok = true};
    char *t = render(&s), *save = NULL;
    char family[128] = "";
    for (char *line = strtok_r(t, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            snprintf(family, sizeof(family), "%.*s", (int)strcspn(line + 7, " "), line + 7);
            continue;
        }
        if (line[0] == '#')
            continue;
        if (strncmp(line, family, strlen(family)) != 0 || family[0] == '\0')
            fail_msg("sample without its TYPE line: %s", line);
    }
    free(t);
}

static void *count_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        ctl_metrics_request("grpc", "ListCertificates", 0);
        ctl_metrics_acme_latency(0.001);
    }
    return NULL;
}

static void test_concurrent_counting_loses_nothing(void **state)
{
    (void)state;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, count_many, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *t = render(NULL);
    assert_has(t, "method=\"ListCertificates\",code=\"OK\"} 40000\n");
    assert_has(t, "certplane_acme_request_duration_seconds_count 40000\n");
    assert_has(t, "certplane_acme_request_duration_seconds_sum 40\n");
    free(t);
}

static void test_render_without_certificates_is_fine(void **state)
{
    (void)state;
    size_t len = 0;
    char *t = ctl_metrics_render_text(NULL, &len);
    assert_non_null(strstr(t, "certplane_requests_total"));
    assert_null(strstr(t, "certplane_certificates_scrape_success"));
    assert_int_equal(len, strlen(t));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_requests_are_counted_by_transport_method_and_code_name, reset),
        cmocka_unit_test_setup(test_acme_latency_is_a_cumulative_histogram, reset),
        cmocka_unit_test_setup(test_issuances_and_watch_streams, reset),
        cmocka_unit_test_setup(test_renewal_and_ari_window_gauges, reset),
        cmocka_unit_test_setup(test_scrape_gauges_escape_label_values, reset),
        cmocka_unit_test_setup(test_every_sample_has_help_and_type, reset),
        cmocka_unit_test_setup(test_concurrent_counting_loses_nothing, reset),
        cmocka_unit_test_setup(test_render_without_certificates_is_fine, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
