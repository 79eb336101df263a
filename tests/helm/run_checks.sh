#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/helm/run_checks.sh - the helm.chart test: lint, render and check the chart; check deploy/
#
# Usage: run_checks.sh SOURCE_DIR BINARY_DIR
# Installs helm and the npm validator into BINARY_DIR/tools once (install_tools.sh), then for each
# values set (defaults, tests/helm/values-{production,hpa,sentinel,external-sentinel}.yaml):
# helm lint --strict, helm template, check_manifests.py (deployment rules), validate_schema.mjs
# (Kubernetes schemas via kubernetes-models). Also: a values set that breaks the rules must fail the
# checker (so the checks are not vacuous), NOTES.txt renders, and check_deploy.py passes.
set -uo pipefail
src=${1:?usage: run_checks.sh SOURCE_DIR BINARY_DIR}
bin=${2:?usage: run_checks.sh SOURCE_DIR BINARY_DIR}
here="$src/tests/helm"
chart="$src/helm/certplane"
tools="$bin/tools"
py=/usr/bin/python3

"$here/install_tools.sh" "$tools" || { echo "helm.chart: FAIL: tools could not be installed (see above)"; exit 1; }
helm="$tools/helm-3.17.2/helm/helm"
out=$(mktemp -d "${TMPDIR:-/tmp}/certplane-helm.XXXXXX")
trap 'rm -rf "$out"' EXIT
# helm writes caches and config; keep them in the scratch directory.
export HELM_CACHE_HOME="$out/cache" HELM_CONFIG_HOME="$out/config" HELM_DATA_HOME="$out/data"

failures=0
step() { # step NAME CMD...: runs CMD, prints its output on failure
    if "${@:2}" >"$out/step.log" 2>&1; then
        echo "ok   $1"; grep -h '^check_\|^validate_' "$out/step.log" | sed 's/^/       /'
    else
        echo "FAIL $1"; sed 's/^/       /' "$out/step.log"; failures=$((failures + 1))
    fi
}

render() { # render OUTPUT [helm options]: helm template into OUTPUT
    "$helm" template rel "$chart" --namespace certplane "${@:2}" >"$1"
}

# name | values file | check_manifests options
cases=(
  "default||"
  "production|$here/values-production.yaml|--expect-edge-kind DaemonSet --external-redis --external certplane-tokens --external certplane-eab --external certplane-redis"
  "hpa|$here/values-hpa.yaml|--expect-hpa --external internal-ca"
  "sentinel|$here/values-sentinel.yaml|--expect-sentinel 3 --expect-redis-url redis+sentinel://rel-certplane-redis-0.rel-certplane-redis-nodes:26379,rel-certplane-redis-1.rel-certplane-redis-nodes:26379,rel-certplane-redis-2.rel-certplane-redis-nodes:26379/certplane/0"
  "external-sentinel|$here/values-external-sentinel.yaml|--external-redis --external certplane-redis --expect-redis-url redis+sentinel://certplane:\$(REDIS_PASSWORD)@sentinel-0.redis.svc:26379,sentinel-1.redis.svc:26379,sentinel-2.redis.svc:26379/mymaster/1"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name values opts <<<"$c"
    vargs=(); [ -n "$values" ] && vargs=(-f "$values")
    step "$name: helm lint --strict" "$helm" lint --strict "$chart" "${vargs[@]}"
    step "$name: helm template" render "$out/$name.yaml" "${vargs[@]}"
    [ -s "$out/$name.yaml" ] || continue
    # shellcheck disable=SC2086
    step "$name: check_manifests" "$py" "$here/check_manifests.py" "$out/$name.yaml" --binary-dir "$bin" \
        --acl-rules "$chart/files/redis-acl.rules" $opts
    step "$name: kubernetes schemas" node "$here/validate_schema.mjs" "$tools/node" "$out/$name.yaml"
done

# Values that break the rules: the checker must say so (one controller, ClusterIP edges, a token inlined).
"$helm" template rel "$chart" --set controller.replicas=1 --set edge.service.type=ClusterIP \
    --set 'controller.extraEnv[0].name=CERTPLANE_API_TOKENS' \
    --set 'controller.extraEnv[0].value=inlined-admin-token:admin' \
    --set auth.adminToken=inlined-admin-token --set 'containerSecurityContext.runAsNonRoot=false' \
    >"$out/bad.yaml" 2>"$out/bad.err" || { cat "$out/bad.err"; failures=$((failures + 1)); }
"$py" "$here/check_manifests.py" "$out/bad.yaml" >"$out/bad.log" 2>&1
want=("replicas must be >= 2" "type must be LoadBalancer" "env CERTPLANE_API_TOKENS must come from a secretKeyRef"
      "contains a value of a Secret" "runAsNonRoot must be true")
missing=0
for w in "${want[@]}"; do grep -qF "$w" "$out/bad.log" || { echo "       not reported: $w"; missing=1; }; done
if [ $missing -eq 0 ] && grep -q '^FAIL' "$out/bad.log"; then echo "ok   broken values are rejected by check_manifests"
else echo "FAIL broken values are rejected by check_manifests"; cat "$out/bad.log"; failures=$((failures + 1)); fi

# Sentinel values that break the rules: a minority quorum and Redis open to every pod must be reported.
"$helm" template rel "$chart" -f "$here/values-sentinel.yaml" --set redis.sentinel.quorum=1 \
    --set redis.networkPolicy.enabled=false >"$out/bad-sentinel.yaml" 2>"$out/bad.err" ||
    { cat "$out/bad.err"; failures=$((failures + 1)); }
"$py" "$here/check_manifests.py" "$out/bad-sentinel.yaml" --expect-sentinel 3 >"$out/bad.log" 2>&1
if grep -qF "the quorum must be a majority" "$out/bad.log" && grep -qF "NetworkPolicy missing" "$out/bad.log"
then echo "ok   broken Sentinel values are rejected by check_manifests"
else echo "FAIL broken Sentinel values are rejected by check_manifests"; cat "$out/bad.log"; failures=$((failures + 1)); fi

# NOTES.txt: rendered through a scratch copy of the chart (helm template does not print NOTES).
notes_chart="$out/notes-chart"
cp -r "$chart" "$notes_chart"
{ printf '{{- define "test.notes" -}}\n'; cat "$chart/templates/NOTES.txt"; printf '{{- end }}\n'; } \
    >"$notes_chart/templates/_test_notes.tpl"
rm "$notes_chart/templates/NOTES.txt"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n{{ include "test.notes" . | indent 4 }}\n' \
    >"$notes_chart/templates/test-notes.yaml"
if "$helm" template rel "$notes_chart" --show-only templates/test-notes.yaml >"$out/notes.yaml" 2>&1 &&
   grep -q 'certplanectl create' "$out/notes.yaml" && grep -q 'curl .*/v1/certificates' "$out/notes.yaml"; then
    echo "ok   NOTES.txt renders with certplanectl and curl examples"
else echo "FAIL NOTES.txt"; cat "$out/notes.yaml"; failures=$((failures + 1)); fi

# Issue 16: the optional PrometheusRule and dashboard ConfigMap carry files/ unchanged (kinds without a
# kubernetes-models schema, so checked here rather than by validate_schema.mjs); promtool reads the rule.
monitoring_check() {
    "$helm" template rel "$chart" --set metrics.prometheusRule.enabled=true \
        --set metrics.grafanaDashboard.enabled=true --show-only templates/monitoring.yaml >"$out/mon.yaml" &&
    "$py" - "$out/mon.yaml" "$chart/files" "$out/mon-rules.yaml" <<'PY'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
rules = yaml.safe_load(open(sys.argv[2] + "/prometheus-rules.yaml"))
assert kinds["PrometheusRule"]["spec"]["groups"] == rules["groups"], "PrometheusRule groups differ from the file"
cm = kinds["ConfigMap"]
assert cm["metadata"]["labels"].get("grafana_dashboard") == "1", "dashboard ConfigMap without the sidecar label"
assert json.loads(cm["data"]["certplane.json"]) == json.load(open(sys.argv[2] + "/grafana-dashboard.json"))
yaml.safe_dump({"groups": kinds["PrometheusRule"]["spec"]["groups"]}, open(sys.argv[3], "w"))
print("check_monitoring: PrometheusRule (%d groups) and dashboard ConfigMap match helm/certplane/files" % len(rules["groups"]))
PY
    if command -v promtool >/dev/null; then promtool check rules "$out/mon-rules.yaml"; fi
}
step "monitoring: PrometheusRule and dashboard ConfigMap (enabled)" monitoring_check
[ -z "$("$helm" template rel "$chart" --show-only templates/monitoring.yaml 2>/dev/null)" ] &&
    echo "ok   monitoring: off by default" || { echo "FAIL monitoring: rendered by default"; failures=$((failures + 1)); }

step "deploy/: compose.yaml, Dockerfiles, haproxy.cfg" "$py" "$here/check_deploy.py" "$src" "$bin"
if command -v haproxy >/dev/null; then
    step "deploy/haproxy.cfg: haproxy -c" haproxy -c -f "$src/deploy/haproxy.cfg"
fi

if [ $failures -ne 0 ]; then echo "helm.chart: $failures check(s) FAILED"; exit 1; fi
echo "helm.chart: all checks passed"
