{{/* Chart name. */}}
{{- define "adx.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full resource name: stable, derived from the release name only. */}}
{{- define "adx.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "adx.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: never change after the first install. */}}
{{- define "adx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "adx.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Standard labels on every resource. */}}
{{- define "adx.labels" -}}
helm.sh/chart: {{ include "adx.chart" . }}
{{ include "adx.selectorLabels" . }}
app.kubernetes.io/version: {{ include "adx.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: exchange
app.kubernetes.io/part-of: adx
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "adx.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "adx.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "adx.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "adx.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "adx.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* Requests equal to limits: Guaranteed QoS when every container does it. */}}
{{- define "adx.resources" -}}
requests:
  cpu: {{ .cpu | quote }}
  memory: {{ .memory | quote }}
limits:
  cpu: {{ .cpu | quote }}
  memory: {{ .memory | quote }}
{{- end -}}

{{/* Container securityContext shared by every non-privileged container. */}}
{{- define "adx.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The minimum grace period: preStop sleep + drain delay + shutdown timeout + margin. */}}
{{- define "adx.minGracePeriod" -}}
{{- $s := .Values.shutdown -}}
{{- add $s.preStopSleepSeconds $s.drainDelaySeconds $s.timeoutSeconds $s.marginSeconds -}}
{{- end -}}

{{- define "adx.gracePeriod" -}}
{{- $min := include "adx.minGracePeriod" . | int -}}
{{- $set := int .Values.shutdown.terminationGracePeriodSeconds -}}
{{- if eq $set 0 -}}
{{- $min -}}
{{- else if lt $set $min -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d) must be at least preStopSleepSeconds + drainDelaySeconds + timeoutSeconds + marginSeconds (%d)" $set $min) -}}
{{- else -}}
{{- $set -}}
{{- end -}}
{{- end -}}

{{/* The backlog adx listens with: the sysctl value when the chart sets it, else 0 (= the node's somaxconn). */}}
{{- define "adx.backlog" -}}
{{- if eq .Values.sysctls.mode "none" -}}0{{- else -}}{{ int .Values.sysctls.somaxconn }}{{- end -}}
{{- end -}}

{{/* geoip edition ids in use, space separated. */}}
{{- define "adx.geoipEditions" -}}
{{- $d := .Values.geoip.databases -}}
{{- $ids := list -}}
{{- range $k := list "city" "isp" "connectionType" "anonymousIp" -}}
{{- $v := get $d $k -}}
{{- if $v }}{{ $ids = append $ids $v }}{{ end -}}
{{- end -}}
{{- $ids | uniq | join " " -}}
{{- end -}}

{{/* adx's config document, as YAML. */}}
{{- define "adx.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $dir := .Values.data.mountPath | trimSuffix "/" -}}
{{- $d := .Values.geoip.databases -}}
{{- $geo := dict -}}
{{- if $d.city }}{{ $_ := set $geo "city" (printf "%s/%s.mmdb" $dir $d.city) }}{{ end -}}
{{- if $d.isp }}{{ $_ := set $geo "isp" (printf "%s/%s.mmdb" $dir $d.isp) }}{{ end -}}
{{- if $d.connectionType }}{{ $_ := set $geo "connection_type" (printf "%s/%s.mmdb" $dir $d.connectionType) }}{{ end -}}
{{- if $d.anonymousIp }}{{ $_ := set $geo "anonymous_ip" (printf "%s/%s.mmdb" $dir $d.anonymousIp) }}{{ end -}}
{{- if $geo -}}
{{- $_ := set $geo "reload_interval" .Values.geoip.reloadInterval -}}
{{- with .Values.geoip.override }}{{ $_ := set $geo "override" . }}{{ end -}}
{{- with .Values.geoip.block }}{{ $_ := set $geo "block" . }}{{ end -}}
{{- $_ := set $cfg "geo" $geo -}}
{{- end -}}
{{- with .Values.devicedb.file -}}
{{- $_ := set $cfg "devicedb" (dict "file" (printf "%s/%s" $dir .)) -}}
{{- end -}}
{{- with .Values.currency.file -}}
{{- $_ := set $cfg "currency" (dict "file" (printf "%s/%s" $dir .) "max_age" $.Values.currency.maxAge) -}}
{{- end -}}
{{- $_ := set $cfg "events" (include "adx.eventsConfig" . | fromYaml) -}}
{{- $_ := set $cfg "notices" (include "adx.noticesConfig" . | fromYaml) -}}
{{- if not $cfg.supply }}{{ $_ := unset $cfg "supply" }}{{ end -}}
{{- if not $cfg.demand }}{{ $_ := unset $cfg "demand" }}{{ end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* adx's events section: paths on the events volume, secrets as mounted files. */}}
{{- define "adx.eventsConfig" -}}
{{- $e := .Values.events -}}
{{- $k := $e.kafka -}}
sink: {{ $e.sink }}
auction_sample: {{ $e.auctionSample }}
spill_dir: {{ $e.spill.dir | quote }}
spill_max_bytes: {{ int64 $e.spill.maxBytes }}
file:
  path: {{ $e.file.path | quote }}
  max_bytes: {{ int64 $e.file.maxBytes }}
  max_age: {{ $e.file.maxAge | quote }}
  keep: {{ int $e.file.keep }}
{{- if eq $e.sink "kafka" }}
kafka:
  brokers: {{ toJson $k.brokers }}
  topic: {{ $k.topic | quote }}
  client_id: {{ $k.clientId | quote }}
  {{- if $k.tls.enabled }}
  tls:
    enabled: true
    {{- with $k.tls.serverName }}
    server_name: {{ . | quote }}
    {{- end }}
    {{- if $k.tls.existingSecret }}
    {{- $dir := $k.tls.mountPath | trimSuffix "/" }}
    {{- with $k.tls.caKey }}
    ca_file: {{ printf "%s/%s" $dir . | quote }}
    {{- end }}
    {{- if $k.tls.certKey }}
    cert_file: {{ printf "%s/%s" $dir $k.tls.certKey | quote }}
    key_file: {{ printf "%s/%s" $dir $k.tls.keyKey | quote }}
    {{- end }}
    {{- end }}
  {{- end }}
  {{- if $k.sasl.mechanism }}
  sasl:
    mechanism: {{ $k.sasl.mechanism }}
    username: {{ $k.sasl.username | quote }}
    password_file: {{ printf "%s/%s" ($k.sasl.mountPath | trimSuffix "/") $k.sasl.passwordKey | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* adx's notices section: signing keys as files of the mounted keys Secret. */}}
{{- define "adx.noticesConfig" -}}
{{- $n := .Values.notices -}}
{{- with $n.baseURL }}
base_url: {{ . | quote }}
{{- end }}
ttl: {{ $n.ttl | quote }}
{{- if $n.keysSecret }}
keys:
  {{- range $n.keyIds }}
  - id: {{ . | quote }}
    secret_file: {{ printf "%s/%s" ($n.mountPath | trimSuffix "/") . | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The events volume's size in bytes, from events.spill.size (Mi, Gi or Ti). */}}
{{- define "adx.eventsVolumeBytes" -}}
{{- $size := .Values.events.spill.size -}}
{{- $unit := regexFind "(Mi|Gi|Ti)$" $size -}}
{{- $n := trimSuffix $unit $size | int64 -}}
{{- mul $n (get (dict "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776) $unit) -}}
{{- end -}}

{{/* How many adx pods may run at once: the autoscaler's maximum, else replicaCount. */}}
{{- define "adx.maxReplicas" -}}
{{- if .Values.autoscaling.hpa.enabled -}}
{{- int .Values.autoscaling.hpa.maxReplicas -}}
{{- else if .Values.autoscaling.keda.enabled -}}
{{- int .Values.autoscaling.keda.maxReplicas -}}
{{- else -}}
{{- int .Values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/* Input of checksum/config: the rendered config, or the Secret's name and revision. */}}
{{- define "adx.configChecksum" -}}
{{- if .Values.configSecret.name -}}
{{- printf "secret/%s/%s/%s" .Values.configSecret.name .Values.configSecret.key .Values.configSecret.revision | sha256sum -}}
{{- else -}}
{{- include "adx.config" . | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* Input of checksum/config-restart: the settings of the rendered config
that adx cannot reload live (docs/config.md, "Reloading without a
restart"): the live ones (demand, supply, the auction but its currency,
dsp_client, exchange, sellers, log) are left out. */}}
{{- define "adx.configRestartChecksum" -}}
{{- if .Values.configSecret.name -}}
{{- include "adx.configChecksum" . -}}
{{- else -}}
{{- $cfg := include "adx.config" . | fromYaml -}}
{{- range list "demand" "supply" "dsp_client" "exchange" "sellers" "log" -}}
{{- $_ := unset $cfg . -}}
{{- end -}}
{{- $_ := set $cfg "auction" (dict "currency" (dig "auction" "currency" "" $cfg)) -}}
{{- toYaml $cfg | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* Cross-value checks the JSON schema cannot express well. */}}
{{- define "adx.validate" -}}
{{- if and .Values.autoscaling.hpa.enabled .Values.autoscaling.keda.enabled -}}
{{- fail "autoscaling.hpa.enabled and autoscaling.keda.enabled are mutually exclusive: enable one" -}}
{{- end -}}
{{- if .Values.geoip.update.enabled -}}
{{- if not .Values.geoip.update.existingSecret -}}
{{- fail "geoip.update.enabled needs geoip.update.existingSecret (a Secret with the MaxMind account id and licence key)" -}}
{{- end -}}
{{- if not (include "adx.geoipEditions" .) -}}
{{- fail "geoip.update.enabled needs at least one of geoip.databases.{city,isp,connectionType,anonymousIp}" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.fetcher.enabled (not .Values.fetcher.files) -}}
{{- fail "fetcher.enabled needs at least one entry in fetcher.files" -}}
{{- end -}}
{{- if and .Values.autoscaling.hpa.enabled (gt (int .Values.autoscaling.hpa.minReplicas) (int .Values.autoscaling.hpa.maxReplicas)) -}}
{{- fail "autoscaling.hpa.minReplicas must not exceed maxReplicas" -}}
{{- end -}}
{{- if and .Values.autoscaling.keda.enabled (gt (int .Values.autoscaling.keda.minReplicas) (int .Values.autoscaling.keda.maxReplicas)) -}}
{{- fail "autoscaling.keda.minReplicas must not exceed maxReplicas" -}}
{{- end -}}
{{- include "adx.validateEvents" . -}}
{{- include "adx.validateNotices" . -}}
{{- end -}}

{{/* events: paths on the writable events volume, a budget that fits it, Kafka settings adx would refuse. */}}
{{- define "adx.validateEvents" -}}
{{- $e := .Values.events -}}
{{- $mount := $e.spill.mountPath | trimSuffix "/" -}}
{{- $data := .Values.data.mountPath | trimSuffix "/" -}}
{{- if or (eq $mount $data) (hasPrefix (printf "%s/" $data) $mount) (hasPrefix (printf "%s/" $mount) $data) -}}
{{- fail (printf "events.spill.mountPath (%s) and data.mountPath (%s) must not nest: adx mounts the data volume read-only" $mount $data) -}}
{{- end -}}
{{- range $key, $path := dict "events.file.path" $e.file.path "events.spill.dir" $e.spill.dir -}}
{{- if not (hasPrefix (printf "%s/" $mount) $path) -}}
{{- fail (printf "%s (%s) must be under events.spill.mountPath (%s): the rest of adx's file system is read-only" $key $path $mount) -}}
{{- end -}}
{{- end -}}
{{- $size := include "adx.eventsVolumeBytes" . | int64 -}}
{{- $need := int64 $e.spill.maxBytes -}}
{{- if eq $e.sink "file" -}}
{{- $need = add $need (mul (add (int64 $e.file.keep) 1) (int64 $e.file.maxBytes)) -}}
{{- end -}}
{{- if gt (int64 $need) $size -}}
{{- fail (printf "events.spill.size (%s = %d bytes) is below what adx may write there: events.spill.maxBytes%s = %d bytes" $e.spill.size $size (ternary " + (events.file.keep + 1) x events.file.maxBytes" "" (eq $e.sink "file")) (int64 $need)) -}}
{{- end -}}
{{- if and $e.spill.storageClass $e.spill.existingClaim -}}
{{- fail "events.spill.storageClass and events.spill.existingClaim are exclusive: a per-pod claim of a class, or one existing claim" -}}
{{- end -}}
{{- if and $e.spill.existingClaim (or .Values.autoscaling.hpa.enabled .Values.autoscaling.keda.enabled (gt (int .Values.replicaCount) 1)) -}}
{{- fail "events.spill.existingClaim holds one pod's spill: it needs replicaCount 1 and no autoscaler (use storageClass for a claim per pod)" -}}
{{- end -}}
{{- $k := $e.kafka -}}
{{- if and (eq $e.sink "kafka") (not $k.brokers) -}}
{{- fail "events.sink kafka needs events.kafka.brokers" -}}
{{- end -}}
{{- if and $k.tls.existingSecret (not $k.tls.enabled) -}}
{{- fail "events.kafka.tls.existingSecret is set but events.kafka.tls.enabled is false" -}}
{{- end -}}
{{- if and $k.tls.existingSecret (not (or $k.tls.caKey $k.tls.certKey $k.tls.keyKey)) -}}
{{- fail "events.kafka.tls.existingSecret needs caKey, or certKey and keyKey" -}}
{{- end -}}
{{- if ne (empty $k.tls.certKey) (empty $k.tls.keyKey) -}}
{{- fail "events.kafka.tls.certKey and keyKey go together (mutual TLS needs both)" -}}
{{- end -}}
{{- if $k.sasl.mechanism -}}
{{- if not $k.sasl.username -}}
{{- fail "events.kafka.sasl.mechanism needs events.kafka.sasl.username" -}}
{{- end -}}
{{- if not $k.sasl.existingSecret -}}
{{- fail "events.kafka.sasl.mechanism needs events.kafka.sasl.existingSecret (a Secret holding the password; values never hold it)" -}}
{{- end -}}
{{- else if or $k.sasl.username $k.sasl.existingSecret -}}
{{- fail "events.kafka.sasl.username or existingSecret is set without events.kafka.sasl.mechanism" -}}
{{- end -}}
{{- end -}}

{{/* notices: keys come as a Secret and the ids adx loads from it, together. */}}
{{- define "adx.validateNotices" -}}
{{- $n := .Values.notices -}}
{{- if and $n.keysSecret (not $n.keyIds) -}}
{{- fail "notices.keysSecret needs notices.keyIds: the ids (keys of the Secret) to load, the first signing" -}}
{{- end -}}
{{- if and $n.keyIds (not $n.keysSecret) -}}
{{- fail "notices.keyIds needs notices.keysSecret, the Secret holding them" -}}
{{- end -}}
{{- end -}}

{{/* geoipupdate env: credentials from the existing Secret, never from values. */}}
{{- define "adx.geoipupdateEnv" -}}
{{- $gu := .Values.geoip.update -}}
- name: GEOIPUPDATE_ACCOUNT_ID
  valueFrom:
    secretKeyRef:
      name: {{ $gu.existingSecret }}
      key: {{ $gu.accountIdKey }}
- name: GEOIPUPDATE_LICENSE_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $gu.existingSecret }}
      key: {{ $gu.licenseKeyKey }}
- name: GEOIPUPDATE_EDITION_IDS
  value: {{ include "adx.geoipEditions" . | quote }}
- name: GEOIPUPDATE_DB_DIR
  value: {{ .Values.data.mountPath | trimSuffix "/" | quote }}
- name: GEOIPUPDATE_VERBOSE
  value: "1"
{{- end -}}

{{/* fetcher env: one ADX_FETCH_URL_<i> per file, from the value or a Secret. */}}
{{- define "adx.fetcherEnv" -}}
{{- range $i, $f := .Values.fetcher.files }}
- name: ADX_FETCH_URL_{{ $i }}
{{- if hasKey $f "urlSecret" }}
  valueFrom:
    secretKeyRef:
      name: {{ $f.urlSecret.name }}
      key: {{ $f.urlSecret.key }}
{{- else }}
  value: {{ required "fetcher.files[].url or urlSecret is required" (get $f "url") | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* fetcher script: download to a temp name on the same volume, then rename (atomic for adx's watcher). */}}
{{- define "adx.fetchScript" -}}
{{- $dir := .ctx.Values.data.mountPath | trimSuffix "/" -}}
set -eu
fetch() {
  rc=0
{{- range $i, $f := .ctx.Values.fetcher.files }}
  if curl -fsSL --retry 5 --retry-connrefused --connect-timeout 10 -o '{{ $dir }}/.{{ $f.name }}.tmp' "$ADX_FETCH_URL_{{ $i }}"; then mv -f '{{ $dir }}/.{{ $f.name }}.tmp' '{{ $dir }}/{{ $f.name }}'; else echo 'fetch {{ $f.name }} failed' >&2; rc=1; fi
{{- end }}
  return $rc
}
{{- if .loop }}
while true; do sleep {{ int .ctx.Values.fetcher.intervalSeconds }}; fetch || echo "keeping the current files" >&2; done
{{- else }}
fetch
{{- end }}
{{- end -}}
