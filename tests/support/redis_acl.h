/* SPDX-License-Identifier: Apache-2.0 */
/* redis_acl.h - the harness's ACL mode: test Redis servers with the controller's ACL user and
 * controllers that log in as it */
#ifndef CP_TEST_REDIS_ACL_H
#define CP_TEST_REDIS_ACL_H

#include <stddef.h>

/*
 * With CP_TEST_REDIS_ACL_RULES=FILE in the environment (FILE: helm/certplane/files/redis-acl.rules)
 * every redis-server the harness starts also has the user "certplane" with those rules, and every
 * controller the harness starts logs in as that user instead of the URL's. With
 * CP_TEST_ACL_LOG_DIR=DIR each server's ACL LOG (the commands and keys Redis denied) is written to
 * DIR/acl-log-PID-PORT-N.txt before the server stops or restarts; integration.redis_acl runs
 * integration tests in this mode and reads the files. Without the variables nothing changes.
 *
 * THREAD SAFETY: call from the test's main thread (the rules are read once into static storage).
 */

/** Appends the redis-server arguments that create the ACL user ("--user certplane reset on >PW
 * RULES...") to argv[*n] onward, at most max - 1 - *n of them (argv stays NULL-terminated).
 * Errors: CP_EIO (the rules file cannot be read), CP_ETOOBIG (too many rules). Without
 * CP_TEST_REDIS_ACL_RULES: 0 and nothing appended. */
int cp_test_redis_acl_args(char **argv, size_t *n, size_t max);

/** The URL a controller uses: in ACL mode `url` with its user and password replaced by the ACL
 * user's (written to out), else `url` itself. */
const char *cp_test_redis_acl_url(const char *url, char *out, size_t size);

/** Writes the server's ACL LOG (redis-cli -p port ACL LOG, as the default user with password, ""
 * for none) to CP_TEST_ACL_LOG_DIR; a no-op without that variable. */
void cp_test_redis_acl_dump(int port, const char *password);

#endif
