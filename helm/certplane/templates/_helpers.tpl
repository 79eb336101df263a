{{/* SPDX-License-Identifier: Apache-2.0 */}}
{{/* templates/_helpers.tpl - names, labels, images, flags and the Redis URL, shared by every template */}}

{{- define "certplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource name prefix: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "certplane.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "certplane.controller.fullname" -}}{{ include "certplane.fullname" . | trunc 52 | trimSuffix "-" }}-controller{{- end }}
{{- define "certplane.edge.fullname" -}}{{ include "certplane.fullname" . | trunc 58 | trimSuffix "-" }}-edge{{- end }}
{{- define "certplane.redis.fullname" -}}{{ include "certplane.fullname" . | trunc 57 | trimSuffix "-" }}-redis{{- end }}
{{- define "certplane.tokens.secretName" -}}
{{- default (printf "%s-tokens" (include "certplane.fullname" .)) .Values.auth.existingSecret }}
{{- end }}
{{- define "certplane.eab.secretName" -}}
{{- default (printf "%s-eab" (include "certplane.fullname" .)) .Values.acme.eab.existingSecret }}
{{- end }}
{{- define "certplane.keys.secretName" -}}
{{- default (printf "%s-keys" (include "certplane.fullname" .)) .Values.keys.existingSecret }}
{{- end }}
{{- define "certplane.redis.secretName" -}}
{{- if .Values.redis.bundled }}
{{- default (printf "%s-redis" (include "certplane.fullname" .)) .Values.redis.existingSecret }}
{{- else }}
{{- .Values.redis.external.existingSecret }}
{{- end }}
{{- end }}

{{- define "certplane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "certplane.labels" -}}
helm.sh/chart: {{ include "certplane.chart" . }}
app.kubernetes.io/name: {{ include "certplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: certplane
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "controller"). */}}
{{- define "certplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "certplane.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Image reference: (dict "ctx" $ "image" .Values.image.controller). */}}
{{- define "certplane.image" -}}
{{- $repo := .image.repository }}
{{- if .ctx.Values.image.registry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .ctx.Values.image.registry) $repo }}{{ end }}
{{- printf "%s:%s" $repo (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}

{{- define "certplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "certplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* A flags map as container args "--name=value"; lists repeat the flag, empty values are left out. */}}
{{- define "certplane.flags" -}}
{{- range $name, $value := . }}
{{- if kindIs "slice" $value }}
{{- range $value }}
- {{ printf "--%s=%v" $name . | quote }}
{{- end }}
{{- else if not (or (kindIs "invalid" $value) (and (kindIs "string" $value) (eq $value ""))) }}
- {{ printf "--%s=%v" $name $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "certplane.redis.nodes" -}}{{ include "certplane.fullname" . | trunc 51 | trimSuffix "-" }}-redis-nodes{{- end }}
{{- define "certplane.redis.config" -}}{{ include "certplane.fullname" . | trunc 52 | trimSuffix "-" }}-redis-acl{{- end }}

{{/* The Redis URL given to the controllers. The password is never written here: with the bundled Redis
     the controllers read it from a file (CERTPLANE_REDIS_PASSWORD_FILE, a Secret volume) and log in as
     the ACL user; with an external one the pod expands $(REDIS_PASSWORD), an environment variable filled
     from the Secret. */}}
{{- define "certplane.redis.url" -}}
{{- if and .Values.redis.bundled .Values.redis.sentinel.enabled }}
{{- $sts := include "certplane.redis.fullname" . }}
{{- $svc := include "certplane.redis.nodes" . }}
{{- $hosts := list }}
{{- range $i := until (int .Values.redis.sentinel.replicas) }}
{{- $hosts = append $hosts (printf "%s-%d.%s:%d" $sts $i $svc (int $.Values.redis.sentinel.port)) }}
{{- end }}
{{- printf "redis+sentinel://%s/%s/0" (join "," $hosts) .Values.redis.sentinel.masterName }}
{{- else if .Values.redis.bundled }}
{{- printf "redis://%s:6379/0" (include "certplane.redis.fullname" .) }}
{{- else if .Values.redis.external.existingSecret }}
{{- $u := required "redis.external.url is required when redis.bundled is false" .Values.redis.external.url }}
{{- if regexMatch "^redis(\\+sentinel)?://[^@/]+@" $u }}
{{- regexReplaceAll "^(redis(\\+sentinel)?://)([^@/:]+)(:[^@/]*)?@" $u "${1}${3}:$(REDIS_PASSWORD)@" }}
{{- else }}
{{- regexReplaceAll "^(redis(\\+sentinel)?://)" $u "${1}:$(REDIS_PASSWORD)@" }}
{{- end }}
{{- else }}
{{- required "redis.external.url is required when redis.bundled is false" .Values.redis.external.url }}
{{- end }}
{{- end }}

{{/* The controller's ACL rule: files/redis-acl.rules without comments, on one line. */}}
{{- define "certplane.redis.aclRules" -}}
{{- $words := list }}
{{- range $line := splitList "\n" (.Files.Get "files/redis-acl.rules") }}
{{- if not (hasPrefix "#" (trim $line)) }}{{ $words = concat $words (splitList " " (trim $line) | compact) }}{{ end }}
{{- end }}
{{- join " " $words }}
{{- end }}

{{/* A secret value kept across upgrades: the value given, else the one in the existing Secret, else a
     new random one. (dict "ctx" $ "secret" NAME "key" KEY "value" GIVEN "length" N) */}}
{{- define "certplane.secretValue" -}}
{{- if .value }}
{{- .value }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum (int .length) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod anti-affinity spreading pods of one component over nodes: (dict "ctx" $ "component" C "mode" soft|hard "extra" AFFINITY). */}}
{{- define "certplane.affinity" -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "certplane.selectorLabels" (dict "ctx" .ctx "component" .component) | fromYaml)) }}
{{- $anti := dict }}
{{- if eq .mode "hard" }}
{{- $_ := set $anti "requiredDuringSchedulingIgnoredDuringExecution" (list $term) }}
{{- else }}
{{- $_ := set $anti "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term)) }}
{{- end }}
{{- $aff := deepCopy (default (dict) .extra) }}
{{- $_ := set $aff "podAntiAffinity" $anti }}
{{- toYaml $aff }}
{{- end }}

{{/* Pod annotations: Prometheus scrape hints plus the user's: (dict "ctx" $ "port" N "extra" MAP). Empty when none. */}}
{{- define "certplane.podAnnotations" -}}
{{- $a := dict }}
{{- if .ctx.Values.metrics.podAnnotations }}
{{- $_ := set $a "prometheus.io/scrape" "true" }}
{{- $_ := set $a "prometheus.io/port" (toString .port) }}
{{- $_ := set $a "prometheus.io/path" "/metrics" }}
{{- end }}
{{- with .extra }}{{ $a = merge (deepCopy .) $a }}{{ end }}
{{- if $a }}{{ toYaml $a }}{{ end }}
{{- end }}

{{/* Shell lines of a bundled Redis pod that write its ACL file /tmp/users.acl from the Secret volume
     (/etc/redis-secrets) and the rules (/etc/redis-acl): only SHA-256 of the passwords, on tmpfs. */}}
{{- define "certplane.redis.aclScript" -}}
umask 077
u=/etc/redis-acl/redis-acl-user; a=/etc/redis-acl; s=/etc/redis-secrets
{ sh $u default $s/admin-password $a/admin.rules
  sh $u {{ .Values.redis.acl.user }} $s/redis-password $a/redis-acl.rules
{{- if .Values.redis.sentinel.enabled }}
  sh $u replication $s/replication-password $a/replication.rules
  sh $u sentinel $s/replication-password $a/sentinel.rules
{{- end }}
} >/tmp/users.acl
{{- end }}

{{/* Volumes of a bundled Redis pod: the passwords (fixed file names), the ACL rules, tmpfs /tmp. */}}
{{- define "certplane.redis.volumes" -}}
- name: secrets
  secret:
    secretName: {{ include "certplane.redis.secretName" . }}
    defaultMode: 0440
    items:
      - {key: {{ .Values.redis.passwordKey }}, path: redis-password}
      - {key: {{ .Values.redis.adminPasswordKey }}, path: admin-password}
      {{- if .Values.redis.sentinel.enabled }}
      - {key: {{ .Values.redis.replicationPasswordKey }}, path: replication-password}
      {{- end }}
- name: acl
  configMap:
    name: {{ include "certplane.redis.config" . }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- end }}

{{/* Environment of the Sentinel-mode Redis containers: who they are and where the peers are. */}}
{{- define "certplane.redis.sentinelEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: PEERS
  value: {{ include "certplane.redis.nodes" . }}.{{ .Release.Namespace }}.svc
- name: STS_NAME
  value: {{ include "certplane.redis.fullname" . }}
- name: REPLICAS
  value: {{ .Values.redis.sentinel.replicas | quote }}
- name: MASTER_NAME
  value: {{ .Values.redis.sentinel.masterName | quote }}
- name: SENTINEL_PORT
  value: {{ .Values.redis.sentinel.port | quote }}
{{- end }}
