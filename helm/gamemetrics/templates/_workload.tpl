{{/*
The pod every workload runs, in one place. Called with a dict:
  root       the chart's root context ($)
  component  the component name (labels, resource names)
  c          the component's values (resources, env, nodeSelector, tolerations, affinity)
  args       the container arguments (the image's entry point picks the service)
  needs      the secrets it reads: db, redis, jwt, qdrant, s3, notify, gdpr
  kafkaUser  the Kafka SASL user it connects as ("" = it does not use Kafka)
  port       an HTTP port with /healthz and /readyz (0 = none)
  metricsPort  a /metrics port of a non-HTTP process (0 = none)
  restartPolicy  for Jobs (Never/OnFailure); empty for Deployments
  inlineConfig   settings as inline env instead of the ConfigMap (hook Jobs run before it exists)
  serviceAccount a ServiceAccount name instead of the chart's
*/}}
{{- define "gamemetrics.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $c := .c -}}
serviceAccountName: {{ .serviceAccount | default (include "gamemetrics.serviceAccountName" $root) }}
automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
{{- with (default $v.nodeSelector $c.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.tolerations $c.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.affinity $c.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if and $v.topologySpread (not .restartPolicy) }}
topologySpreadConstraints:
  {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "gamemetrics.selectorLabels" (dict "root" $root "component" $.component) | nindent 8 }}
  {{- end }}
{{- end }}
containers:
  - name: {{ .component }}
    image: {{ include "gamemetrics.image" $root }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    securityContext:
      {{- toYaml $v.containerSecurityContext | nindent 6 }}
    {{- if not .inlineConfig }}
    envFrom:
      - configMapRef:
          name: {{ include "gamemetrics.fullname" $root }}
    {{- end }}
    env:
      {{- if .inlineConfig }}
      {{- range $name, $value := (include "gamemetrics.configData" $root | fromYaml) }}
      - name: {{ $name }}
        value: {{ $value | quote }}
      {{- end }}
      {{- end }}
      {{- include "gamemetrics.secretEnv" . | nindent 6 }}
      {{- if .port }}
      - name: PORT
        value: {{ .port | quote }}
      {{- end }}
      {{- if .metricsPort }}
      - name: GAMEMETRICS_WORKER_METRICS_PORT
        value: {{ .metricsPort | quote }}
      {{- end }}
      {{- range $name, $value := $c.env }}
      - name: {{ $name }}
        value: {{ $value | quote }}
      {{- end }}
    {{- if or .port .metricsPort }}
    ports:
      {{- if .port }}
      - name: http
        containerPort: {{ .port }}
        protocol: TCP
      {{- end }}
      {{- if .metricsPort }}
      - name: metrics
        containerPort: {{ .metricsPort }}
        protocol: TCP
      {{- end }}
    {{- end }}
    {{- if .port }}
    startupProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 2
      failureThreshold: 60
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 2
    {{- else if .metricsPort }}
    startupProbe:
      tcpSocket: {port: metrics}
      periodSeconds: 2
      failureThreshold: 90
    livenessProbe:
      httpGet: {path: /metrics, port: metrics}
      periodSeconds: 20
      timeoutSeconds: 5
      failureThreshold: 3
    {{- end }}
    resources:
      {{- toYaml $c.resources | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      - name: state
        mountPath: /var/lib/gamemetrics
      {{- if and .kafkaUser $v.kafka.tls.caSecret (has $v.kafka.securityProtocol (list "SSL" "SASL_SSL")) }}
      - name: kafka-ca
        mountPath: /etc/gamemetrics/kafka-ca
        readOnly: true
      {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ $v.scratchSizeLimit }}
  - name: state
    emptyDir:
      sizeLimit: {{ $v.scratchSizeLimit }}
  {{- if and .kafkaUser $v.kafka.tls.caSecret (has $v.kafka.securityProtocol (list "SSL" "SASL_SSL")) }}
  - name: kafka-ca
    secret:
      secretName: {{ $v.kafka.tls.caSecret }}
      items:
        - key: {{ $v.kafka.tls.caKey }}
          path: ca.crt
  {{- end }}
{{- end }}

{{/* Secret-backed variables: only those the workload needs, never a value in the manifest. */}}
{{- define "gamemetrics.secretEnv" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $secret := include "gamemetrics.secretName" $root -}}
{{- $k := $v.secrets.keys -}}
{{- $vars := list (list "GAMEMETRICS_PRIVACY_KEY" $k.privacyKey false) (list "GAMEMETRICS_AUDIT_KEY" $k.auditKey false) -}}
{{- if has "db" .needs }}{{ $vars = append $vars (list "GAMEMETRICS_DATABASE_URL" $k.databaseUrl false) }}{{ end }}
{{- if has "dbread" .needs }}{{ $vars = append $vars (list "GAMEMETRICS_DATABASE_READ_URL" $k.databaseReadUrl true) }}{{ end }}
{{- if has "redis" .needs }}{{ $vars = append $vars (list "GAMEMETRICS_REDIS_URL" $k.redisUrl false) }}{{ end }}
{{- if has "jwt" .needs }}{{ $vars = append $vars (list "GAMEMETRICS_GRAPHQL_JWT_SECRET" $k.graphqlJwtSecret false) }}{{ end }}
{{- if has "qdrant" .needs }}{{ $vars = append $vars (list "GAMEMETRICS_QDRANT_API_KEY" $k.qdrantApiKey true) }}{{ end }}
{{- if has "s3" .needs }}
{{- $vars = append $vars (list "GAMEMETRICS_S3_ACCESS_KEY_ID" $k.s3AccessKeyId true) }}
{{- $vars = append $vars (list "GAMEMETRICS_S3_SECRET_ACCESS_KEY" $k.s3SecretAccessKey true) }}
{{- end }}
{{- if has "notify" .needs }}
{{- $vars = append $vars (list "GAMEMETRICS_NOTIFY_WEBHOOK_SECRET" $k.notifyWebhookSecret true) }}
{{- $vars = append $vars (list "GAMEMETRICS_NOTIFY_SMTP_PASSWORD" $k.notifySmtpPassword true) }}
{{- end }}
{{- if has "gdpr" .needs }}{{ $vars = append $vars (list "GAMEMETRICS_GDPR_RECEIPT_KEY" $k.gdprReceiptKey false) }}{{ end }}
{{- if has "secretbox" .needs }}{{ $vars = append $vars (list "GAMEMETRICS_SECRET_BOX_KEY" $k.secretBoxKey false) }}{{ end }}
{{- range $vars }}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ index . 1 }}
      {{- if index . 2 }}
      optional: true
      {{- end }}
{{- end }}
{{- if .kafkaUser }}
{{- if hasPrefix "SASL" $v.kafka.securityProtocol }}
{{- $user := include "gamemetrics.kafkaUsername" (dict "root" $root "user" .kafkaUser) }}
{{- $pwSecret := include "gamemetrics.kafkaPasswordSecret" (dict "root" $root "user" .kafkaUser) }}
{{- if or (not $user) (not $pwSecret) }}
{{- fail (printf "kafka.users.%s: give username and passwordSecret, or enable strimzi.users (protocol %s needs SASL credentials)" .kafkaUser $v.kafka.securityProtocol) }}
{{- end }}
- name: GAMEMETRICS_KAFKA_SASL_USERNAME
  value: {{ $user | quote }}
- name: GAMEMETRICS_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $pwSecret }}
      key: {{ (index $v.kafka.users .kafkaUser).passwordKey }}
{{- end }}
{{- if and $v.kafka.tls.caSecret (has $v.kafka.securityProtocol (list "SSL" "SASL_SSL")) }}
- name: GAMEMETRICS_KAFKA_SSL_CA_FILE
  value: /etc/gamemetrics/kafka-ca/ca.crt
{{- end }}
{{- end }}
{{- end }}
