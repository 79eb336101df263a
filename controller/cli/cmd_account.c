/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_account.c - certplanectl's account commands: account rollover */
#include "controller/cli/cmd_account.h"

#include <stdlib.h>
#include <string.h>

#include "controller/cli/cmd_util.h"
#include "shared/json.h"

static void print_rollover(FILE *out, const Certplane__V1__RolloverAccountKeyResponse *r)
{
    const ProtobufCEnumValue *kt =
        protobuf_c_enum_descriptor_get_value(&certplane__v1__key_type__descriptor, r->key_type);
    fprintf(out,
            "Provider:    %s\nEmail:       %s\nAccount:     %s\nKey type:    %s\n"
            "Thumbprint:  %s\n",
            r->provider, r->email[0] != '\0' ? r->email : "-", r->account_url,
            kt != NULL ? kt->name : "?", r->key_thumbprint);
}

int ctl_cli_cmd_account(ctl_cli_ctx_t *c, cp_err_t *err)
{
    const ctl_cli_args_t *a = c->args;
    Certplane__V1__RolloverAccountKeyRequest req =
        CERTPLANE__V1__ROLLOVER_ACCOUNT_KEY_REQUEST__INIT;
    Certplane__V1__RolloverAccountKeyResponse *r = NULL;
    ctl_cli_resp_t resp = {0};
    char *body = NULL;
    if (strcmp(a->pos[0], "rollover") != 0)
        return cp_err_set(err, CP_EINVAL, "account: unknown action \"%s\" (expected rollover)",
                          a->pos[0]);
    if (a->o.provider != NULL)
        req.provider = a->o.provider;
    if (a->o.email != NULL)
        req.email = a->o.email;
    req.key_type = a->key_type;
    int rc = cp_json_encode(&req.base, 0, &body, NULL, err);
    if (rc == 0)
        rc = ctl_cli_http_call(c->http, "POST", "/v1/accounts:rollover", body, &resp, err);
    if (rc == 0)
        rc = ctl_cli_decode(&certplane__v1__rollover_account_key_response__descriptor, &resp,
                            (ProtobufCMessage **)&r, err);
    if (rc == 0 && a->o.json)
        fprintf(c->out, "%s\n", resp.body);
    else if (rc == 0)
        print_rollover(c->out, r);
    if (r != NULL)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    ctl_cli_resp_dispose(&resp);
    free(body);
    return rc;
}
