/* SPDX-License-Identifier: Apache-2.0 */
/* test_gateway_routes.c - the gateway's route table: matching, status mapping, docs/openapi.yaml
 * parity */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/gateway/gateway.h"
#include "shared/status.h"

static int match(const char *method, const char *path, const ctl_gateway_route_t **r, char *param,
                 char *allow)
{
    const char *p = NULL;
    size_t pl = 0;
    int st = ctl_gateway_match(path, strlen(path), method, strlen(method), r, &p, &pl, allow, 64);
    param[0] = '\0';
    if (st == 200 && p != NULL)
        snprintf(param, 128, "%.*s", (int)pl, p);
    return st;
}

static void test_custom_verbs_route_to_their_rpc(void **state)
{
    (void)state;
    const ctl_gateway_route_t *r;
    char param[128], allow[64];
    assert_int_equal(match("POST", "/v1/certificates/web-1:renew", &r, param, allow), 200);
    assert_string_equal(r->rpc, "RenewCertificate");
    assert_string_equal(param, "web-1");
    assert_int_equal(match("POST", "/v1/certificates/web-1:revoke", &r, param, allow), 200);
    assert_string_equal(r->rpc, "RevokeCertificate");
    assert_int_equal(match("POST", "/v1/certificates:import", &r, param, allow), 200);
    assert_string_equal(r->rpc, "ImportCertificate");
    assert_int_equal(match("POST", "/v1/edges:report", &r, param, allow), 200);
    assert_string_equal(r->rpc, "ReportEdgeStatus");
    assert_int_equal(match("GET", "/v1/certificates/a.example%2Fx", &r, param, allow), 200);
    assert_string_equal(r->rpc, "GetCertificate");
    assert_string_equal(param, "a.example%2Fx"); /* raw: decoded by the request layer */
}

/* The web console: one flat folder of files under /ui/, nothing deeper; whoami is GET only. */
static void test_console_routes(void **state)
{
    (void)state;
    const ctl_gateway_route_t *r;
    char param[128], allow[64];
    assert_int_equal(match("GET", "/ui/", &r, param, allow), 200);
    assert_int_equal(r->kind, CTL_GW_UI);
    assert_string_equal(param, "");
    assert_int_equal(match("GET", "/ui", &r, param, allow), 200);
    assert_int_equal(r->kind, CTL_GW_UI);
    assert_int_equal(match("GET", "/ui/app.js", &r, param, allow), 200);
    assert_int_equal(r->kind, CTL_GW_UI);
    assert_string_equal(param, "app.js");
    assert_int_equal(match("GET", "/ui/a/b.js", &r, param, allow), 404);
    assert_int_equal(match("GET", "/ui/..%2Fx", &r, param, allow), 200); /* a name, never found */
    assert_int_equal(match("POST", "/ui/app.js", &r, param, allow), 405);
    assert_int_equal(match("GET", "/v1/whoami", &r, param, allow), 200);
    assert_int_equal(r->kind, CTL_GW_WHOAMI);
    assert_int_equal(match("POST", "/v1/whoami", &r, param, allow), 405);
}

static void test_unknown_paths_are_404_and_wrong_methods_405_with_allow(void **state)
{
    (void)state;
    const ctl_gateway_route_t *r;
    char param[128], allow[64];
    assert_int_equal(match("GET", "/v1/nothing", &r, param, allow), 404);
    assert_int_equal(match("GET", "/v1/certificates/", &r, param, allow), 404);
    assert_int_equal(match("GET", "/v1/certificates/a/b", &r, param, allow), 404);
    assert_int_equal(match("POST", "/v1/certificates/a:frobnicate", &r, param, allow), 404);
    assert_int_equal(match("PUT", "/v1/certificates/a", &r, param, allow), 405);
    assert_string_equal(allow, "GET, DELETE");
    assert_int_equal(match("DELETE", "/v1/certificates", &r, param, allow), 405);
    assert_string_equal(allow, "POST, GET");
    assert_int_equal(match("POST", "/healthz", &r, param, allow), 405);
    assert_string_equal(allow, "GET");
}

static void test_grpc_codes_map_like_grpc_gateway(void **state)
{
    (void)state;
    static const int want[17] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                                 400, 409, 400, 501, 500, 503, 500, 401};
    for (int c = 0; c < 17; c++)
        assert_int_equal(cp_grpc_http_status(c), want[c]);
    assert_int_equal(cp_grpc_http_status(99), 500);
}

/* "METHOD PATH" pairs of the `paths:` section of docs/openapi.yaml: a path is a key indented by two
 * spaces, an operation a get/post/put/delete/patch key indented by four. */
static size_t openapi_ops(char ops[][160], size_t max)
{
    char file[512], line[512], path[128] = "";
    const char *src = getenv("CP_SOURCE_DIR");
    snprintf(file, sizeof(file), "%s/docs/openapi.yaml", src != NULL ? src : ".");
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    size_t n = 0;
    int in_paths = 0;
    static const char *const methods[] = {"get", "post", "put", "delete", "patch"};
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != ' ' && line[0] != '#' && line[0] != '\0') {
            in_paths = strcmp(line, "paths:") == 0;
            continue;
        }
        if (!in_paths)
            continue;
        size_t len = strlen(line);
        if (strncmp(line, "  /", 3) == 0 && line[len - 1] == ':') {
            snprintf(path, sizeof(path), "%.*s", (int)(len - 3), line + 2);
            continue;
        }
        for (size_t m = 0; m < 5; m++) {
            char key[16];
            snprintf(key, sizeof(key), "    %s:", methods[m]);
            if (strcmp(line, key) == 0 && n < max) {
                snprintf(ops[n++], 160, "%s %s", methods[m], path);
            }
        }
    }
    fclose(f);
    return n;
}

static void test_every_route_is_documented_and_every_documented_route_served(void **state)
{
    (void)state;
    char ops[64][160];
    size_t n = openapi_ops(ops, 64);
    assert_true(n >= 10);
    for (size_t i = 0; i < ctl_gateway_n_routes; i++) {
        const ctl_gateway_route_t *r = &ctl_gateway_routes[i];
        char want[160], lower[16];
        size_t k;
        for (k = 0; r->method[k] != '\0' && k + 1 < sizeof(lower); k++)
            lower[k] = (char)(r->method[k] - 'A' + 'a');
        lower[k] = '\0';
        snprintf(want, sizeof(want), "%s %s", lower, r->pattern);
        size_t j = 0;
        while (j < n && strcmp(ops[j], want) != 0)
            j++;
        if (j == n)
            fail_msg("route %s is not in docs/openapi.yaml", want);
    }
    for (size_t j = 0; j < n; j++) {
        size_t i = 0;
        for (; i < ctl_gateway_n_routes; i++) {
            char have[160];
            snprintf(have, sizeof(have), "%s %s", ctl_gateway_routes[i].method,
                     ctl_gateway_routes[i].pattern);
            if (strcasecmp(have, ops[j]) == 0)
                break;
        }
        if (i == ctl_gateway_n_routes)
            fail_msg("docs/openapi.yaml has %s, which the gateway does not serve", ops[j]);
    }
    assert_int_equal(n, ctl_gateway_n_routes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custom_verbs_route_to_their_rpc),
        cmocka_unit_test(test_unknown_paths_are_404_and_wrong_methods_405_with_allow),
        cmocka_unit_test(test_grpc_codes_map_like_grpc_gateway),
        cmocka_unit_test(test_console_routes),
        cmocka_unit_test(test_every_route_is_documented_and_every_documented_route_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
