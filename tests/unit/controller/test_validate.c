/* SPDX-License-Identifier: Apache-2.0 */
/* test_validate.c - unit tests of domain, IP, certificate name and email validation */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "controller/service/validate.h"

#define W CTL_VALIDATE_ALLOW_WILDCARD
#define IP CTL_VALIDATE_ALLOW_IP
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Tables print the failing row before asserting, so a broken rule names its input. */
static void expect_einval(int rc, const cp_err_t *err, const char *input, const char *msg)
{
    if (rc != CP_EINVAL || strcmp(err->msg, msg) != 0)
        print_error("input \"%s\": rc %d, message \"%s\", expected \"%s\"\n", input, rc, err->msg,
                    msg);
    assert_int_equal(rc, CP_EINVAL);
    assert_int_equal(err->code, CP_EINVAL);
    assert_string_equal(err->msg, msg);
}

static void expect_ok(int rc, const cp_err_t *err, const char *input)
{
    if (rc != 0)
        print_error("input \"%s\": rejected with \"%s\"\n", input, err->msg);
    assert_int_equal(rc, 0);
}

/* "x" repeated n times into buf, which must hold n + 1. */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- domain names ---- */

#define LDH "domain name (letters, digits and hyphens only)"
#define UL "non-ASCII domain name: send the IDNA A-label (xn--...) instead"
#define IPD "IP address where a domain name is expected"
#define TWO "at least two labels required (like example.com)"

static const struct {
    const char *name;
    int flags;
    const char *msg;
} bad_domains[] = {
    {"", 0, "empty domain name"},
    {".", 0, "empty domain name"},
    {"com", 0, TWO},
    {"localhost.", 0, TWO},
    {".example.com", 0, "name starts with a dot"},
    {"example..com", 0, "empty label (two dots in a row)"},
    {"example.com..", 0, "empty label (two dots in a row)"},
    {"-example.com", 0, "label starts with a hyphen"},
    {"example.-com", 0, "label starts with a hyphen"},
    {"example-.com", 0, "label ends with a hyphen"},
    {"example.ab-.com", 0, "label ends with a hyphen"},
    {"ab--.example", 0, "label 'ab--' has '--' in positions 3-4 (reserved)"},
    {"xn--bcher-kva-.example", 0, "A-label 'xn--bcher-kva-' has no non-ASCII character"},
    {"xn--abc-.example", 0, "A-label 'xn--abc-' has no non-ASCII character"},
    {"xn--.example", 0, "A-label 'xn--' has no non-ASCII character"},
    {"_acme-challenge.example.com", 0, "invalid character '_' in " LDH},
    {"exa mple.com", 0, "invalid character 0x20 in " LDH},
    {"example.com\n", 0, "invalid character 0x0a in " LDH},
    {"example.com\t", 0, "invalid character 0x09 in " LDH},
    {"exam/ple.com", 0, "invalid character '/' in " LDH},
    {"exam%2eple.com", 0, "invalid character '%' in " LDH},
    {"example.com:443", 0, "invalid character ':' in " LDH},
    {"fe80::1%eth0", IP, "invalid character ':' in " LDH},
    {"[1.2.3.4]", IP, "invalid character '[' in " LDH},
    {"[example.com]", 0, "invalid character '[' in " LDH},
    {"example.123", 0, "top-level label is all-numeric"},
    {"127.1", 0, "top-level label is all-numeric"},
    {"1.2.3.4.5", 0, "top-level label is all-numeric"},
    {"1.2.3.4", 0, IPD},
    {"1.2.3.4", W, IPD},
    {"::1", 0, IPD},
    {"[::1]", 0, IPD},
    {"2001:db8::1", 0, IPD},
    {"[2001:DB8::1]", 0, IPD},
    {"b\xc3\xbc"
     "cher.example",
     0, UL},
    {"\xe4\xbe\x8b\xe3\x81\x88.jp", 0, UL},
    {"example.c\xc3\xb6m", 0, UL},
    {"ab--cd.example", 0, "label 'ab--cd' has '--' in positions 3-4 (reserved)"},
    {"www.R3--x.example", 0, "label 'R3--x' has '--' in positions 3-4 (reserved)"},
    {"xn--a.example", 0, "A-label 'xn--a': decodes to disallowed code point U+0080"},
    {"XN--A.example", 0, "A-label 'XN--A': decodes to disallowed code point U+0080"},
    {"xn--5a.example", 0, "A-label 'xn--5a': decodes to disallowed code point U+009F"},
    {"xn--ib9b.example", 0, "A-label 'xn--ib9b': decodes to disallowed code point U+D800"},
    {"xn--a-s10i.example", 0, "A-label 'xn--a-s10i': decodes to disallowed code point U+FFFE"},
    {"xn--zz-x.example", 0, "A-label 'xn--zz-x': invalid Punycode: truncated delta"},
    {"xn--bcher-kva9.example", 0, "A-label 'xn--bcher-kva9': invalid Punycode: truncated delta"},
    {"xn---abc.example", 0, "A-label 'xn---abc': invalid Punycode: bad digit at offset 0"},
    {"xn--99999999999.example", 0, "A-label 'xn--99999999999': invalid Punycode: delta overflows"},
    {"*.example.com", 0, "wildcard '*' not allowed here"},
    {"a*.example.com", 0, "wildcard '*' not allowed here"},
    {"*.*.example.com", W, "only one wildcard label allowed"},
    {"a*.example.com", W, "wildcard '*' preceded by other characters in label 'a*'"},
    {"f*o.example.com", W, "wildcard '*' preceded by other characters in label 'f*o'"},
    {"*x.example.com", W, "wildcard '*' followed by other characters in label '*x'"},
    {"**.example.com", W, "wildcard '*' followed by other characters in label '**'"},
    {"x.*.example.com", W, "wildcard only allowed as the leftmost label"},
    {"example.*", W, "wildcard only allowed as the leftmost label"},
    {"*.com", W, "wildcard directly under a top-level domain"},
    {"*.com.", W, "wildcard directly under a top-level domain"},
    {"*", W, TWO},
    {"*.", W, TWO},
};

static void test_bad_domains_give_their_exact_message(void **state)
{
    (void)state;
    assert_true(N_OF(bad_domains) >= 40);
    for (size_t i = 0; i < N_OF(bad_domains); i++) {
        cp_err_t err = {0};
        int rc = ctl_validate_domain(bad_domains[i].name, bad_domains[i].flags, &err);
        expect_einval(rc, &err, bad_domains[i].name, bad_domains[i].msg);
    }
}

static const struct {
    const char *name;
    int flags;
} good_domains[] = {
    {"example.com", 0},
    {"EXAMPLE.COM", 0},
    {"example.com.", 0},
    {"a.b", 0},
    {"www.example.co.uk", 0},
    {"a-b.example", 0},
    {"a--b.example", 0},
    {"ab-c-d.example", 0},
    {"123.example.com", 0},
    {"1.2.3.4.example", 0},
    {"example.com1", 0},
    {"example.c0m", 0},
    {"xn--bcher-kva.example", 0},
    {"XN--BCHER-KVA.EXAMPLE", 0},
    {"xn--mnchen-3ya.de", 0},
    {"www.xn--mnchen-3ya.de.", 0},
    {"xn--fiqs8s.example", 0},
    {"example.xn--p1ai", 0},
    {"xn--6a.example", 0}, /* U+00A0: no C1 control; IDNA tables are not applied */
    {"*.example.com", W},
    {"*.example.com.", W},
    {"*.xn--mnchen-3ya.de", W},
    {"example.com", W},
    {"1.2.3.4", IP},
    {"::1", IP},
    {"[2001:db8::1]", IP},
    {"*.example.com", W | IP},
};

static void test_good_domains_are_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OF(good_domains); i++) {
        cp_err_t err = {0};
        int rc = ctl_validate_domain(good_domains[i].name, good_domains[i].flags, &err);
        expect_ok(rc, &err, good_domains[i].name);
    }
}

static void test_label_of_63_accepted_and_64_rejected(void **state)
{
    (void)state;
    char label[70], name[80];
    cp_err_t err = {0};
    snprintf(name, sizeof name, "%s.example", repeat(label, 'a', 63));
    expect_ok(ctl_validate_domain(name, 0, &err), &err, name);
    snprintf(name, sizeof name, "example.%s", repeat(label, 'b', 63));
    expect_ok(ctl_validate_domain(name, 0, &err), &err, name);
    snprintf(name, sizeof name, "%s.example", repeat(label, 'a', 64));
    expect_einval(ctl_validate_domain(name, 0, &err), &err, name,
                  "label longer than 63 characters");
    snprintf(name, sizeof name, "example.%s", repeat(label, 'b', 64));
    expect_einval(ctl_validate_domain(name, 0, &err), &err, name,
                  "label longer than 63 characters");
}

/* Three 63-octet labels, one of `last` octets and three dots: 192 + last octets. */
static void long_name(char *buf, size_t size, size_t last)
{
    char l63[64], tail[64];
    repeat(l63, 'a', 63);
    snprintf(buf, size, "%s.%s.%s.%s", l63, l63, l63, repeat(tail, 'z', last));
}

static void test_name_of_253_accepted_and_254_rejected(void **state)
{
    (void)state;
    char name[300];
    cp_err_t err = {0};
    long_name(name, sizeof name, 61);
    assert_int_equal(strlen(name), 253);
    expect_ok(ctl_validate_domain(name, 0, &err), &err, name);
    strcat(name, ".");
    expect_ok(ctl_validate_domain(name, 0, &err), &err, name);
    long_name(name, sizeof name, 62);
    assert_int_equal(strlen(name), 254);
    expect_einval(ctl_validate_domain(name, 0, &err), &err, name,
                  "name longer than 253 characters");
    strcat(name, ".");
    expect_einval(ctl_validate_domain(name, 0, &err), &err, name,
                  "name longer than 253 characters");
}

static void test_rejection_does_not_depend_on_err(void **state)
{
    (void)state;
    assert_int_equal(ctl_validate_domain("xn--a.example", 0, NULL), CP_EINVAL);
    assert_int_equal(ctl_validate_domain("xn--zz-x.example", 0, NULL), CP_EINVAL);
    assert_int_equal(ctl_validate_domain(NULL, 0, NULL), CP_EINVAL);
    assert_int_equal(ctl_validate_email("a@xn--a.example", NULL), CP_EINVAL);
    const char *bad[] = {"example.com", "xn--a.example"};
    assert_int_equal(ctl_validate_names(bad, 2, NULL, 0, 0, NULL), CP_EINVAL);
}

/* ---- Punycode ---- */

static void expect_decoded(const char *in, const uint32_t *want, size_t n_want)
{
    uint32_t out[64];
    size_t n = 99;
    cp_err_t err = {0};
    expect_ok(ctl_validate_decode_punycode(in, strlen(in), out, 64, &n, &err), &err, in);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_int_equal(out[i], want[i]);
}

static void test_punycode_decodes_rfc3492_samples(void **state)
{
    (void)state;
    static const uint32_t buecher[] = {'b', 0xfc, 'c', 'h', 'e', 'r'};
    expect_decoded("bcher-kva", buecher, N_OF(buecher));
    expect_decoded("BCHER-KVA", (const uint32_t[]){'B', 0xfc, 'C', 'H', 'E', 'R'}, 6);
    static const uint32_t chinese[] = {0x4ed6, 0x4eec, 0x4e3a, 0x4ec0, 0x4e48,
                                       0x4e0d, 0x8bf4, 0x4e2d, 0x6587};
    expect_decoded("ihqwcrb4cv8a8dqg056pqjye", chinese, N_OF(chinese));
    static const uint32_t kinpachi[] = {'3', 0x5e74, 'B', 0x7d44, 0x91d1, 0x516b, 0x5148, 0x751f};
    expect_decoded("3B-ww4c5e180e575a65lsy2b", kinpachi, N_OF(kinpachi));
    expect_decoded("fiqs8s", (const uint32_t[]){0x4e2d, 0x56fd}, 2);
    expect_decoded("bn32g", (const uint32_t[]){0x10fffd}, 1);
    /* Only basic code points: valid Punycode, which the domain rules then refuse as an A-label. */
    expect_decoded("abc-", (const uint32_t[]){'a', 'b', 'c'}, 3);
    expect_decoded("", NULL, 0);
}

static const struct {
    const char *in;
    size_t max;
    const char *msg;
} bad_punycode[] = {
    {"zz-x", 63, "invalid Punycode: truncated delta"},
    {"a", 63, "decodes to disallowed code point U+0080"},
    {"dn32g", 63, "decodes to disallowed code point U+10FFFF"},
    {"en32g", 63, "decodes to disallowed code point U+110000"},
    {"-a", 63, "invalid Punycode: bad digit at offset 0"},
    {"ab-c_d", 63, "invalid Punycode: bad digit at offset 4"},
    {"99999999999", 63, "invalid Punycode: delta overflows"},
    {"\xc3\xbc-kva", 63, "invalid Punycode: non-basic code point"},
    {"bcher-kva", 5, "invalid Punycode: more than 5 code points"},
    {"bcher-kva", 3, "invalid Punycode: more than 3 code points"},
};

static void test_punycode_rejects_invalid_input(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OF(bad_punycode); i++) {
        uint32_t out[64];
        size_t n;
        cp_err_t err = {0};
        int rc = ctl_validate_decode_punycode(bad_punycode[i].in, strlen(bad_punycode[i].in), out,
                                              bad_punycode[i].max, &n, &err);
        expect_einval(rc, &err, bad_punycode[i].in, bad_punycode[i].msg);
    }
}

/* ---- normalization ---- */

static void expect_normal(const char *name, int flags, const char *want)
{
    char out[CTL_VALIDATE_NAME_BUF];
    cp_err_t err = {0};
    expect_ok(ctl_validate_domain_normalize(name, flags, out, sizeof out, &err), &err, name);
    assert_string_equal(out, want);
}

static void test_normalize_lowercases_and_strips_trailing_dot(void **state)
{
    (void)state;
    expect_normal("ExAmple.COM.", 0, "example.com");
    expect_normal("example.com", 0, "example.com");
    expect_normal("XN--BCHER-KVA.Example", 0, "xn--bcher-kva.example");
    expect_normal("*.Example.Com.", W, "*.example.com");
    expect_normal("1.2.3.4", IP, "1.2.3.4");
    expect_normal("[2001:DB8::0001]", IP, "2001:db8::1");
    expect_normal("0:0:0:0:0:0:0:1", IP, "::1");
}

static void test_normalize_failure_leaves_buffer_unchanged(void **state)
{
    (void)state;
    char out[16] = "untouched";
    cp_err_t err = {0};
    expect_einval(ctl_validate_domain_normalize("Bad_name.com", 0, out, sizeof out, &err), &err,
                  "Bad_name.com", "invalid character '_' in " LDH);
    assert_string_equal(out, "untouched");
    /* "www.example.com" needs 16 bytes; 15 are too few, 16 suffice. */
    expect_einval(ctl_validate_domain_normalize("WWW.example.com.", 0, out, 15, &err), &err,
                  "WWW.example.com.", "output buffer too small (16 bytes needed)");
    assert_string_equal(out, "untouched");
    expect_ok(ctl_validate_domain_normalize("WWW.example.com.", 0, out, 16, &err), &err, "16");
    assert_string_equal(out, "www.example.com");
    expect_einval(ctl_validate_domain_normalize("example.com", 0, NULL, 0, &err), &err, "NULL",
                  "output buffer is NULL");
}

/* ---- name sets ---- */

static void expect_names_error(const char *const *d, size_t nd, const char *const *ips, size_t ni,
                               int flags, const char *msg)
{
    cp_err_t err = {0};
    expect_einval(ctl_validate_names(d, nd, ips, ni, flags, &err), &err, "name set", msg);
}

static void test_duplicates_after_normalization_name_both_indexes(void **state)
{
    (void)state;
    const char *d[] = {"example.com", "www.example.com", "a.example.com", "EXAMPLE.com."};
    expect_names_error(d, 4, NULL, 0, 0, "domains[3]: duplicate of domains[0]");
    const char *d2[] = {"a.example", "B.example", "b.EXAMPLE"};
    expect_names_error(d2, 3, NULL, 0, 0, "domains[2]: duplicate of domains[1]");
    const char *w[] = {"*.example.com", "example.com", "*.EXAMPLE.com"};
    expect_names_error(w, 3, NULL, 0, W, "domains[2]: duplicate of domains[0]");
    const char *ips[] = {"::1", "10.0.0.1", "::0001"};
    expect_names_error(d, 1, ips, 3, 0, "ip_addresses[2]: duplicate of ip_addresses[0]");
    const char *ips2[] = {"2001:db8::1", "2001:DB8:0:0:0:0:0:1"};
    expect_names_error(NULL, 0, ips2, 2, 0, "ip_addresses[1]: duplicate of ip_addresses[0]");
    const char *lit[] = {"[::1]"};
    expect_names_error(lit, 1, ips, 1, IP, "ip_addresses[0]: duplicate of domains[0]");
}

static void test_bad_entry_error_names_its_path(void **state)
{
    (void)state;
    char l64[65], long_label[80];
    snprintf(long_label, sizeof long_label, "%s.com", repeat(l64, 'a', 64));
    const char *d[] = {"example.com", "b.example.com", long_label};
    expect_names_error(d, 3, NULL, 0, 0, "domains[2]: label longer than 63 characters");
    const char *wild[] = {"example.com", "*.example.com"};
    expect_names_error(wild, 2, NULL, 0, 0, "domains[1]: wildcard '*' not allowed here");
    const char *ips[] = {"10.0.0.1", "10.01.0.1"};
    expect_names_error(d, 1, ips, 2, 0, "ip_addresses[1]: IPv4 part 2 has a leading zero");
    const char *nul[] = {"example.com", NULL};
    expect_names_error(nul, 2, NULL, 0, 0, "domains[1]: empty domain name");
    const char *ipdom[] = {"example.com", "192.0.2.1"};
    expect_names_error(ipdom, 2, NULL, 0, 0, "domains[1]: " IPD);
}

static void test_wildcard_and_apex_are_not_duplicates(void **state)
{
    (void)state;
    const char *d[] = {"example.com", "*.example.com", "www.example.com"};
    const char *ips[] = {"192.0.2.1", "2001:db8::1"};
    cp_err_t err = {0};
    expect_ok(ctl_validate_names(d, 3, ips, 2, W, &err), &err, "set");
    expect_ok(ctl_validate_names(NULL, 0, ips, 1, 0, &err), &err, "one ip");
}

/* n names n0.example.com..., the first n_ips of them as IPv4 addresses 10.0.0.x instead. */
static int validate_generated(size_t n, size_t n_ips, cp_err_t *err)
{
    static char bufs[120][48];
    const char *d[120], *ips[120];
    for (size_t i = 0; i < n; i++) {
        if (i < n_ips)
            snprintf(bufs[i], sizeof bufs[i], "10.0.0.%zu", i);
        else
            snprintf(bufs[i], sizeof bufs[i], "n%zu.example.com", i);
        if (i < n_ips)
            ips[i] = bufs[i];
        else
            d[i - n_ips] = bufs[i];
    }
    return ctl_validate_names(d, n - n_ips, ips, n_ips, 0, err);
}

static void test_at_most_100_and_at_least_1_name(void **state)
{
    (void)state;
    cp_err_t err = {0};
    expect_ok(validate_generated(100, 0, &err), &err, "100 domains");
    expect_ok(validate_generated(100, 40, &err), &err, "60 domains + 40 ips");
    expect_ok(validate_generated(1, 0, &err), &err, "1 domain");
    const char *msg = "domains: too many names (101 domains and IP addresses, at most 100)";
    expect_einval(validate_generated(101, 0, &err), &err, "101 domains", msg);
    expect_einval(validate_generated(101, 41, &err), &err, "60 domains + 41 ips", msg);
    expect_einval(validate_generated(101, 101, &err), &err, "101 ips",
                  "ip_addresses: too many names (101 domains and IP addresses, at most 100)");
    expect_names_error(NULL, 0, NULL, 0, 0, "domains: at least one domain or IP address required");
    expect_names_error(NULL, 1, NULL, 0, 0, "domains: NULL array");
    expect_names_error(NULL, 0, NULL, 2, 0, "ip_addresses: NULL array");
}

/* ---- IP addresses ---- */

static const struct {
    const char *in, *canonical;
} good_ips[] = {
    {"1.2.3.4", "1.2.3.4"},
    {"0.0.0.0", "0.0.0.0"},
    {"255.255.255.255", "255.255.255.255"},
    {"10.0.10.100", "10.0.10.100"},
    {"::1", "::1"},
    {"::0001", "::1"},
    {"0:0:0:0:0:0:0:1", "::1"},
    {"2001:DB8::1", "2001:db8::1"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
    {"2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"},
    {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
    {"FE80::A", "fe80::a"},
    {"::", "::"},
};

static void test_good_ips_are_written_in_canonical_form(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OF(good_ips); i++) {
        char out[CTL_VALIDATE_NAME_BUF];
        cp_err_t err = {0};
        expect_ok(ctl_validate_ip(good_ips[i].in, out, sizeof out, &err), &err, good_ips[i].in);
        assert_string_equal(out, good_ips[i].canonical);
        expect_ok(ctl_validate_ip(good_ips[i].in, NULL, 0, &err), &err, good_ips[i].in);
    }
}

static const struct {
    const char *in, *msg;
} bad_ips[] = {
    {"", "empty IP address"},
    {"127.1", "IPv4 address needs four parts (no shorthand like 127.1)"},
    {"1.2.3", "IPv4 address needs four parts (no shorthand like 127.1)"},
    {"1.2.3.4.5", "IPv4 address has more than four parts"},
    {"01.2.3.4", "IPv4 part 1 has a leading zero"},
    {"1.2.3.00", "IPv4 part 4 has a leading zero"},
    {"1.2.3.256", "IPv4 part 4 is greater than 255"},
    {"1.2.3.1000", "IPv4 part 4 is greater than 255"},
    {"1..2.3", "IPv4 part 2 is not a decimal number"},
    {"1.2.3.", "IPv4 part 4 is not a decimal number"},
    {"a.b.c.d", "IPv4 part 1 is not a decimal number"},
    {"example.com", "IPv4 part 1 is not a decimal number"},
    {"0x7f.0.0.1", "invalid character 'x' in IPv4 address"},
    {"1.2.3.4 ", "invalid character 0x20 in IPv4 address"},
    {"1.2.3.4/32", "CIDR suffix (/...) not allowed: give one address"},
    {"2001:db8::/32", "CIDR suffix (/...) not allowed: give one address"},
    {"fe80::1%eth0", "zone id (%...) not allowed in an IP address"},
    {"[::1]", "brackets not allowed around an IP address"},
    {"[1.2.3.4]", "brackets not allowed around an IP address"},
    {":::1", "invalid IPv6 address"},
    {"1::2::3", "invalid IPv6 address"},
    {"12345::1", "invalid IPv6 address"},
    {"::00001", "invalid IPv6 address"},
    {"1:2:3:4:5:6:7:8:9", "invalid IPv6 address"},
    {"::1 ", "invalid IPv6 address"},
};

static void test_bad_ips_give_their_exact_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OF(bad_ips); i++) {
        char out[CTL_VALIDATE_NAME_BUF] = "untouched";
        cp_err_t err = {0};
        expect_einval(ctl_validate_ip(bad_ips[i].in, out, sizeof out, &err), &err, bad_ips[i].in,
                      bad_ips[i].msg);
        assert_string_equal(out, "untouched");
    }
    cp_err_t err = {0};
    expect_einval(ctl_validate_ip(NULL, NULL, 0, &err), &err, "NULL", "empty IP address");
    char small[3];
    expect_einval(ctl_validate_ip("::1", small, sizeof small, &err), &err, "::1",
                  "output buffer too small (4 bytes needed)");
}

/* ---- certificate names ---- */

static void test_cert_names_follow_the_key_safe_pattern(void **state)
{
    (void)state;
    char n63[64], n64[65];
    const char *good[] = {"example", "a",  "0",      "example.com",       "my-cert.v2",
                          "a-",      "a.", "9lives", repeat(n63, 'c', 63)};
    for (size_t i = 0; i < N_OF(good); i++) {
        cp_err_t err = {0};
        expect_ok(ctl_validate_cert_name(good[i], &err), &err, good[i]);
    }
    const struct {
        const char *in, *msg;
    } bad[] = {
        {"", "empty certificate name"},
        {NULL, "empty certificate name"},
        {repeat(n64, 'c', 64), "certificate name longer than 63 characters"},
        {"Example", "certificate name must be lower case"},
        {"exAmple", "certificate name must be lower case"},
        {"..", "certificate name must start with a letter or digit"},
        {".hidden", "certificate name must start with a letter or digit"},
        {"-x", "certificate name must start with a letter or digit"},
        {"a..b", "certificate name must not contain '..'"},
        {"a..", "certificate name must not contain '..'"},
        {"../etc", "invalid character '/' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a/b", "invalid character '/' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"%2e%2e", "invalid character '%' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a%2fb", "invalid character '%' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a\\b", "invalid character '\\' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a:b", "invalid character ':' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a_b", "invalid character '_' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a*", "invalid character '*' in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a b", "invalid character 0x20 in certificate name (a-z, 0-9, '.', '-' only)"},
        {"a\n", "invalid character 0x0a in certificate name (a-z, 0-9, '.', '-' only)"},
        {"\xc3\xa9t\xc3\xa9",
         "invalid character 0xc3 in certificate name (a-z, 0-9, '.', '-' only)"},
    };
    for (size_t i = 0; i < N_OF(bad); i++) {
        cp_err_t err = {0};
        expect_einval(ctl_validate_cert_name(bad[i].in, &err), &err, bad[i].in ? bad[i].in : "NULL",
                      bad[i].msg);
    }
}

/* ---- email addresses ---- */

static void test_good_emails_are_accepted(void **state)
{
    (void)state;
    char local64[65], max[300], l63[64], l53[54];
    snprintf(max, sizeof max, "%s@%s.%s.%s.example", repeat(local64, 'u', 64), repeat(l63, 'a', 63),
             l63, repeat(l53, 'b', 53));
    assert_int_equal(strlen(max), 254);
    const char *good[] = {"admin@example.com",
                          "first.last@example.com",
                          "a+tag@sub.example.co.uk",
                          "ADMIN@EXAMPLE.COM",
                          "x@xn--bcher-kva.example",
                          "!#$%&'*+-/=?^_`{|}~@example.com",
                          max};
    for (size_t i = 0; i < N_OF(good); i++) {
        cp_err_t err = {0};
        expect_ok(ctl_validate_email(good[i], &err), &err, good[i]);
    }
}

static void test_bad_emails_give_their_exact_message(void **state)
{
    (void)state;
    char local65[66], local64[65], long_local[90], max[300], l63[64], l54[55], l64[65];
    snprintf(long_local, sizeof long_local, "%s@example.com", repeat(local65, 'u', 65));
    snprintf(max, sizeof max, "%s@%s.%s.%s.example", repeat(local64, 'u', 64), repeat(l63, 'a', 63),
             l63, repeat(l54, 'b', 54));
    char bad_label[90];
    snprintf(bad_label, sizeof bad_label, "a@%s.com", repeat(l64, 'd', 64));
    const struct {
        const char *in, *msg;
    } bad[] = {
        {"", "empty email address"},
        {NULL, "empty email address"},
        {"admin", "email address has no '@'"},
        {"a@b@example.com", "email address has more than one '@'"},
        {"@example.com", "email address has an empty local part"},
        {".a@example.com", "email local part starts with a dot"},
        {"a.@example.com", "email local part ends with a dot"},
        {"a..b@example.com", "email local part has two dots in a row"},
        {long_local, "email local part longer than 64 characters"},
        {max, "email address longer than 254 characters"},
        {"a b@example.com", "invalid character 0x20 in email address"},
        {"\"a\"@example.com", "invalid character '\"' in email address"},
        {"<a@example.com>", "invalid character '<' in email address"},
        {"a@example.com>", "invalid character '>' in email address"},
        {"a@example.com,b@example.com", "invalid character ',' in email address"},
        {"a@example.com\nBcc: x@evil.example", "invalid character 0x0a in email address"},
        {"a@example.com\r", "invalid character 0x0d in email address"},
        {"a\\b@example.com", "invalid character '\\' in email address"},
        {"a@[192.0.2.1]", "invalid character '[' in email address"},
        {"\xc3\xbc@example.com", "non-ASCII email address not supported"},
        {"a@", "email domain: empty domain name"},
        {"a@example.com.", "email domain: ends with a dot"},
        {"a@localhost", "email domain: " TWO},
        {"a@192.0.2.1", "email domain: " IPD},
        {"a@*.example.com", "email domain: wildcard '*' not allowed here"},
        {"a@exa_mple.com", "email domain: invalid character '_' in " LDH},
        {"a@xn--a.example",
         "email domain: A-label 'xn--a': decodes to disallowed code point U+0080"},
        {bad_label, "email domain: label longer than 63 characters"},
    };
    for (size_t i = 0; i < N_OF(bad); i++) {
        cp_err_t err = {0};
        expect_einval(ctl_validate_email(bad[i].in, &err), &err, bad[i].in ? bad[i].in : "NULL",
                      bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_domains_give_their_exact_message),
        cmocka_unit_test(test_good_domains_are_accepted),
        cmocka_unit_test(test_label_of_63_accepted_and_64_rejected),
        cmocka_unit_test(test_name_of_253_accepted_and_254_rejected),
        cmocka_unit_test(test_rejection_does_not_depend_on_err),
        cmocka_unit_test(test_punycode_decodes_rfc3492_samples),
        cmocka_unit_test(test_punycode_rejects_invalid_input),
        cmocka_unit_test(test_normalize_lowercases_and_strips_trailing_dot),
        cmocka_unit_test(test_normalize_failure_leaves_buffer_unchanged),
        cmocka_unit_test(test_duplicates_after_normalization_name_both_indexes),
        cmocka_unit_test(test_bad_entry_error_names_its_path),
        cmocka_unit_test(test_wildcard_and_apex_are_not_duplicates),
        cmocka_unit_test(test_at_most_100_and_at_least_1_name),
        cmocka_unit_test(test_good_ips_are_written_in_canonical_form),
        cmocka_unit_test(test_bad_ips_give_their_exact_message),
        cmocka_unit_test(test_cert_names_follow_the_key_safe_pattern),
        cmocka_unit_test(test_good_emails_are_accepted),
        cmocka_unit_test(test_bad_emails_give_their_exact_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
