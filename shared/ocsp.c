/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp.c - times of an OCSP response (ocsp.h) */
#include "shared/ocsp.h"

#include <time.h>

#include <openssl/ocsp.h>

int64_t cp_ocsp_time_ms(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm) * 1000;
}

int cp_ocsp_times(const unsigned char *der, size_t len, int64_t *this_ms, int64_t *next_ms)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    OCSP_BASICRESP *bs = NULL;
    int rc = -1;
    *this_ms = *next_ms = 0;
    if (resp == NULL || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        goto out;
    bs = OCSP_response_get1_basic(resp);
    OCSP_SINGLERESP *one = bs != NULL ? OCSP_resp_get0(bs, 0) : NULL;
    if (one == NULL)
        goto out;
    int reason = 0;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    OCSP_single_get0_status(one, &reason, &rev, &thisupd, &nextupd);
    *this_ms = cp_ocsp_time_ms(thisupd);
    *next_ms = cp_ocsp_time_ms(nextupd);
    rc = 0;
out:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return rc;
}
