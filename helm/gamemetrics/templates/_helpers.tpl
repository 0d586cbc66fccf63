{{/* Names, labels and the image. Every helper is namespaced "gamemetrics.". */}}

{{- define "gamemetrics.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gamemetrics.fullname" -}}
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

{{- define "gamemetrics.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels; call with (dict "root" $ "component" "ingest"). */}}
{{- define "gamemetrics.labels" -}}
helm.sh/chart: {{ include "gamemetrics.chart" .root }}
{{ include "gamemetrics.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: gamemetrics
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "gamemetrics.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gamemetrics.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/* Name of one component's resources: <fullname>-<component>. */}}
{{- define "gamemetrics.componentName" -}}
{{- printf "%s-%s" (include "gamemetrics.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gamemetrics.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{- define "gamemetrics.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gamemetrics.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the services read: the existing one, or the one the ExternalSecret writes. */}}
{{- define "gamemetrics.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else if .Values.secrets.externalSecret.enabled }}
{{- include "gamemetrics.fullname" . }}
{{- else }}
{{- fail "secrets: set secrets.existingSecret (a Secret you manage) or secrets.externalSecret.enabled: the chart never takes secrets as values" }}
{{- end }}
{{- end }}

{{/* Kafka SASL user of a service: (dict "root" $ "user" "ingest") -> username. */}}
{{- define "gamemetrics.kafkaUsername" -}}
{{- $u := index .root.Values.kafka.users .user }}
{{- if $u.username }}{{ $u.username }}{{ else if .root.Values.strimzi.users.enabled }}{{ include "gamemetrics.componentName" (dict "root" .root "component" .user) }}{{ end }}
{{- end }}

{{- define "gamemetrics.kafkaPasswordSecret" -}}
{{- $u := index .root.Values.kafka.users .user }}
{{- if $u.passwordSecret }}{{ $u.passwordSecret }}{{ else if .root.Values.strimzi.users.enabled }}{{ include "gamemetrics.componentName" (dict "root" .root "component" .user) }}{{ end }}
{{- end }}

{{/* The topic name with the deployment's prefix: (dict "root" $ "topic" "raw"). */}}
{{- define "gamemetrics.topic" -}}
{{- printf "%s%s" .root.Values.config.topicPrefix (index .root.Values.strimzi.topics.items .topic).name }}
{{- end }}

{{/* Replicas capped at a topic's partitions: (dict "root" $ "replicas" 3 "topic" "raw"). */}}
{{- define "gamemetrics.cappedReplicas" -}}
{{- $partitions := int (index .root.Values.strimzi.topics.items .topic).partitions }}
{{- min (int .replicas) $partitions }}
{{- end }}

{{/* The non-secret GAMEMETRICS_* settings, as a YAML map (the ConfigMap; inline env of hook Jobs). */}}
{{- define "gamemetrics.configData" -}}
GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS: {{ $.Values.kafka.bootstrapServers | quote }}
GAMEMETRICS_KAFKA_SECURITY_PROTOCOL: {{ $.Values.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL" $.Values.kafka.securityProtocol }}
GAMEMETRICS_KAFKA_SASL_MECHANISM: {{ $.Values.kafka.saslMechanism | quote }}
{{- end }}
GAMEMETRICS_TOPIC_PREFIX: {{ $.Values.config.topicPrefix | quote }}
GAMEMETRICS_DATABASE_SCHEMA: {{ $.Values.config.databaseSchema | quote }}
GAMEMETRICS_SCHEMA_REGISTRY_URL: {{ $.Values.config.schemaRegistryUrl | quote }}
GAMEMETRICS_QDRANT_URL: {{ $.Values.qdrant.url | quote }}
GAMEMETRICS_S3_ENDPOINT_URL: {{ $.Values.s3.endpoint | quote }}
GAMEMETRICS_S3_BUCKET: {{ $.Values.s3.bucket | quote }}
GAMEMETRICS_S3_REGION: {{ $.Values.s3.region | quote }}
GAMEMETRICS_LOG_FORMAT: {{ $.Values.config.logFormat | quote }}
GAMEMETRICS_LOG_LEVEL: {{ $.Values.config.logLevel | quote }}
GAMEMETRICS_STATE_DIR: /var/lib/gamemetrics
{{- /* never the local stack: every process refuses a public default or short key (gamemetrics/keys.py) */}}
GAMEMETRICS_ENV: "production"
GAMEMETRICS_WORKER_METRICS_HOST: "0.0.0.0"
{{- with $.Values.otel }}
{{- if .enabled }}
{{- if not .endpoint }}{{ fail "otel.enabled: set otel.endpoint to the collector's OTLP/HTTP URL (e.g. http://otel-collector:4318)" }}{{ end }}
OTEL_TRACES_EXPORTER: "otlp"
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .endpoint | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf"
OTEL_TRACES_SAMPLER: {{ .sampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ .samplerArg | quote }}
{{- range $name, $value := .env }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name, $value := $.Values.config.extraEnv }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end }}
