{{/* Chart name, truncated for label values. */}}
{{- define "berth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name. Pod names are <fullname>-<ordinal> and the headless Service is
<fullname>-headless, so keep it short enough for both (52 leaves room for "-headless" and an
ordinal inside the 63-character DNS label limit).
*/}}
{{- define "berth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "berth.headlessService" -}}
{{- printf "%s-headless" (include "berth.fullname" .) -}}
{{- end -}}

{{- define "berth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: immutable on a StatefulSet, so never add to them. */}}
{{- define "berth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "berth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "berth.labels" -}}
helm.sh/chart: {{ include "berth.chart" . }}
{{ include "berth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: berth
{{- end -}}

{{/* The helm test pod: same release, not selected as a server pod. */}}
{{- define "berth.testLabels" -}}
helm.sh/chart: {{ include "berth.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: berth
{{- end -}}

{{- define "berth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "berth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "berth.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Pod count: 1 in standalone mode, one per shard in cluster mode. */}}
{{- define "berth.replicas" -}}
{{- if eq .Values.mode "cluster" -}}{{ .Values.cluster.shards }}{{- else -}}1{{- end -}}
{{- end -}}

{{/* Where the password file is mounted (from auth.existingSecret). */}}
{{- define "berth.passwordFile" -}}
/etc/berth/secret/{{ .Values.auth.existingSecretPasswordKey }}
{{- end -}}

{{/* config.cacheSize in bytes (berth/Redis units: k=1000, kb=1024, m, mb, g, gb; any case). */}}
{{- define "berth.cacheBytes" -}}
{{- $s := lower (toString .) -}}
{{- $num := regexFind "^[0-9]+" $s -}}
{{- $mult := get (dict "" 1 "b" 1 "k" 1000 "kb" 1024 "m" 1000000 "mb" 1048576 "g" 1000000000 "gb" 1073741824) (trimPrefix $num $s) -}}
{{- mul (int64 $num) (int64 $mult) -}}
{{- end -}}

{{/* A Kubernetes memory quantity in bytes (plain number, k/M/G/T, Ki/Mi/Gi/Ti); 0 if unknown. */}}
{{- define "berth.quantityBytes" -}}
{{- if kindIs "string" . -}}
{{- $num := regexFind "^[0-9]+" . -}}
{{- $mult := get (dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776) (trimPrefix $num .) -}}
{{- if and $num $mult -}}{{ mul (int64 $num) (int64 $mult) }}{{- else -}}0{{- end -}}
{{- else -}}
{{- int64 . -}}
{{- end -}}
{{- end -}}

{{/*
Impossible combinations fail the render with a message saying what to change. The schema
catches types, enums and typos; these are the rules that span several values.
*/}}
{{- define "berth.validate" -}}
{{- $msgs := list -}}
{{- if and (eq .Values.mode "cluster") (not .Values.persistence.enabled) -}}
{{- $msgs = append $msgs "mode=cluster requires persistence.enabled=true: a shard's data must survive a pod restart, no other pod holds a copy" -}}
{{- end -}}
{{- if lt (int .Values.cluster.shards) 1 -}}
{{- $msgs = append $msgs (printf "cluster.shards must be at least 1 (got %v)" .Values.cluster.shards) -}}
{{- end -}}
{{- if and .Values.auth.enabled (not .Values.auth.existingSecret) -}}
{{- $msgs = append $msgs "auth.enabled=true requires auth.existingSecret (the name of a Secret you create; this chart never generates passwords)" -}}
{{- end -}}
{{- if and (not .Values.auth.enabled) .Values.auth.existingSecret -}}
{{- $msgs = append $msgs "auth.existingSecret is set but auth.enabled=false: set auth.enabled=true or drop auth.existingSecret" -}}
{{- end -}}
{{- if eq (int .Values.config.port) (int .Values.config.httpPort) -}}
{{- $msgs = append $msgs (printf "config.port and config.httpPort must differ (both %v)" .Values.config.port) -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- $msgs = append $msgs "metrics.serviceMonitor.enabled=true requires metrics.enabled=true" -}}
{{- end -}}
{{- if and (eq .Values.updateStrategy.type "OnDelete") (gt (int .Values.updateStrategy.partition) 0) -}}
{{- $msgs = append $msgs "updateStrategy.partition only applies to type=RollingUpdate" -}}
{{- end -}}
{{- if gt (int .Values.updateStrategy.partition) (int (include "berth.replicas" .)) -}}
{{- $msgs = append $msgs (printf "updateStrategy.partition (%v) is above the pod count (%s): no pod would ever be updated" .Values.updateStrategy.partition (include "berth.replicas" .)) -}}
{{- end -}}
{{- with (.Values.resources | default dict).limits -}}
{{- with .memory -}}
{{- $limit := include "berth.quantityBytes" . | int64 -}}
{{- $cache := include "berth.cacheBytes" $.Values.config.cacheSize | int64 -}}
{{- if and (gt $limit 0) (gt (add (mul $cache 2) 134217728) $limit) -}}
{{- $msgs = append $msgs (printf "config.cacheSize (%v) needs resources.limits.memory (%v) of at least twice it plus 128Mi: berth's caches take up to twice cacheSize, besides a base and sled's memory per stored entry (see the README), or the pod is OOM-killed" $.Values.config.cacheSize .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $k, $v := .Values.config.extra -}}
{{- if has $k (list "port" "bind" "dir" "http-port" "requirepass" "requirepass-file" "cluster-enabled" "cluster-shards" "cluster-statefulset" "cluster-service" "cluster-namespace" "cluster-ordinal") -}}
{{- $msgs = append $msgs (printf "config.extra.%s is set by the chart (use the chart's own value for it; requirepass goes through auth.existingSecret)" $k) -}}
{{- end -}}
{{- end -}}
{{- if $msgs -}}
{{- fail (printf "\n\nberth: invalid values:\n  - %s\n" (join "\n  - " $msgs)) -}}
{{- end -}}
{{- end -}}
