#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dns_exec_challtestsrv.sh - DNS-01 `exec` provider for tests: `present|cleanup <fqdn> <value>` sets or
# clears the TXT record in pebble-challtestsrv through its management API (CP_CHALLTESTSRV_URL).
set -eu
action="$1" fqdn="$2" value="$3"
url="${CP_CHALLTESTSRV_URL:?CP_CHALLTESTSRV_URL is not set}"
case "$action" in
present) exec curl -fsS --max-time 5 -d "{\"host\":\"$fqdn\",\"value\":\"$value\"}" "$url/set-txt" ;;
cleanup) exec curl -fsS --max-time 5 -d "{\"host\":\"$fqdn\"}" "$url/clear-txt" ;;
*) echo "unknown action: $action" >&2; exit 2 ;;
esac
