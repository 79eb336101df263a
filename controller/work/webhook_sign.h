/* SPDX-License-Identifier: Apache-2.0 */
/* webhook_sign.h - Standard Webhooks signatures, secrets and the retry back-off (pure functions) */
#ifndef CTL_WEBHOOK_SIGN_H
#define CTL_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "shared/err.h"

/** Size of a signature header value with its NUL: "v1," + base64 of 32 bytes. */
#define CTL_WEBHOOK_SIG_SIZE 48
/** Size of a secret with its NUL: "whsec_" + base64 of 32 bytes. */
#define CTL_WEBHOOK_SECRET_SIZE 52

/** Makes a new secret "whsec_" + base64 of 32 random bytes. Errors: CP_EIO (no randomness).
 * THREAD SAFETY: any thread. */
int ctl_webhook_secret_new(char out[CTL_WEBHOOK_SECRET_SIZE], cp_err_t *err);

/** The webhook-signature value "v1,<base64(HMAC-SHA256(key, id "." timestamp "." body))>", key
 * being the base64-decoded part of secret after "whsec_". Errors: CP_EINVAL (not a whsec_ secret).
 * THREAD SAFETY: pure. */
int ctl_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                     size_t body_len, char out[CTL_WEBHOOK_SIG_SIZE], cp_err_t *err);

/** Wait before attempt `attempt` + 1 after `attempt` (>= 1) failed ones: base_ms * 2^(attempt-1)
 * capped at max_ms, then jittered into [half, whole] by rnd (any 32-bit random value).
 * THREAD SAFETY: pure. */
int64_t ctl_webhook_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t rnd);

#endif
