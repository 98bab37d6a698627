{{- define "progress.name" -}}{{ .Release.Name }}{{- end -}}
{{- define "progress.labels" -}}
app.kubernetes.io/name: progress-service
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{/* Every pod of the release, both roles (and the migrations Job's): the PodMonitor,
the ServiceMonitor (both Services) and the NetworkPolicies' "pods of this release". */}}
{{- define "progress.selector" -}}
app.kubernetes.io/name: progress-service
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The two roles of the one image (docs/operations.md, "Roles"): the values key of
each, its component label (also the suffix of its resources' names) and its
PROGRESS_ROLE. Read with: include "progress.roles" . | fromYamlArray */}}
{{- define "progress.roles" -}}
- {key: frontEnd, component: front-end, role: api}
- {key: actorHost, component: actor-host, role: actors}
{{- end -}}

{{/* A role's resources' name. Call with (list $ "front-end"|"actor-host"). */}}
{{- define "progress.roleName" -}}
{{- printf "%s-%s" (include "progress.name" (index . 0)) (index . 1) -}}
{{- end -}}

{{/* One role's pods. Each Deployment's selector must be its own: Dapr's operator
creates the Service <app id>-dapr, through which the other sidecars reach an app id, with
the Deployment's matchLabels as its selector, so a selector shared by both roles would
send calls meant for the actor host to front end pods too. Call with (list $ component). */}}
{{- define "progress.roleSelector" -}}
{{ include "progress.selector" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}
{{- define "progress.roleLabels" -}}
{{ include "progress.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* A role's Dapr app id. The actor host keeps dapr.appId: its actors' state keys and
the Kafka consumer group are that id, so it must never change on an installed service.
The front end hosts no actor and consumes nothing: <dapr.appId>-api. Call with
(list $ role), role "api" or "actors". */}}
{{- define "progress.appId" -}}
{{- $root := index . 0 -}}
{{- if eq (index . 1) "api" -}}{{ printf "%s-api" $root.Values.dapr.appId }}{{- else -}}{{ $root.Values.dapr.appId }}{{- end -}}
{{- end -}}

{{/* The image; an empty tag means the chart's appVersion. */}}
{{- define "progress.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Names of the Dapr components the app calls (the app is told them, so they cannot drift). */}}
{{- define "progress.pubsubName" -}}kafka-pubsub{{- end -}}
{{- define "progress.statestoreName" -}}actorstate{{- end -}}
{{- define "progress.curriculumDir" -}}/etc/progress/curriculum{{- end -}}

{{/* A whole number as a quoted string: YAML numbers reach templates as floats, which
print as 2e+06; a fraction is refused. Call with (list "value.name" $value). */}}
{{- define "progress.int" -}}
{{- $name := index . 0 -}}{{- $value := index . 1 -}}
{{- if not (or (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value)) -}}
{{- fail (printf "%s must be a whole number, not %v" $name $value) -}}
{{- end -}}
{{- if ne (float64 $value) (float64 (int64 $value)) -}}
{{- fail (printf "%s must be a whole number, not %v" $name $value) -}}
{{- end -}}
{{ int64 $value | toString | quote }}
{{- end -}}

{{/* The app's environment from values (without extraEnv). */}}
{{- define "progress.baseEnv" -}}
- name: PROGRESS_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: PROGRESS_LOG_FORMAT
  value: json
- name: PROGRESS_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.postgres.existingSecret }}, key: url}
- name: PROGRESS_JWT_ISSUER
  value: {{ .Values.jwt.issuer | quote }}
- name: PROGRESS_JWT_AUDIENCE
  value: {{ .Values.jwt.audience | quote }}
- name: PROGRESS_JWT_JWKS_FILE
  value: /etc/progress/jwks/jwks.json
- name: PROGRESS_PUBSUB_NAME
  value: {{ include "progress.pubsubName" . | quote }}
- name: PROGRESS_STATESTORE_NAME
  value: {{ include "progress.statestoreName" . | quote }}
- name: PROGRESS_LEARNING_TOPIC
  value: {{ .Values.kafka.topics.learning | quote }}
- name: PROGRESS_EXERCISE_TOPIC
  value: {{ .Values.kafka.topics.exercise | quote }}
- name: PROGRESS_CODE_TOPIC
  value: {{ .Values.kafka.topics.code | quote }}
- name: PROGRESS_PROGRESS_TOPIC
  value: {{ .Values.kafka.topics.progressUpdated | quote }}
- name: PROGRESS_STRUGGLE_TOPIC
  value: {{ .Values.kafka.topics.struggleDetected | quote }}
- name: PROGRESS_DEADLETTER_TOPIC
  value: {{ .Values.kafka.topics.deadLetter | quote }}
- name: PROGRESS_HEALTH_TOPIC
  value: {{ .Values.kafka.topics.health | quote }}
- name: PROGRESS_PLACEMENT_METADATA_URL
  value: {{ .Values.dapr.placementMetadataUrl | quote }}
{{ include "progress.kafkaAppEnv" . }}
- name: PROGRESS_REPEATED_ERROR_COUNT
  value: {{ include "progress.int" (list "rules.repeatedErrorCount" .Values.rules.repeatedErrorCount) }}
- name: PROGRESS_CONSECUTIVE_FAILURE_COUNT
  value: {{ include "progress.int" (list "rules.consecutiveFailureCount" .Values.rules.consecutiveFailureCount) }}
- name: PROGRESS_STUCK_MINUTES
  value: {{ .Values.rules.stuckMinutes | quote }}
- name: PROGRESS_QUIZ_LOW_BELOW
  value: {{ .Values.rules.quizLowBelow | quote }}
- name: PROGRESS_QUIZ_HIGH_BELOW
  value: {{ .Values.rules.quizHighBelow | quote }}
- name: PROGRESS_INACTIVITY_DAYS
  value: {{ .Values.rules.inactivityDays | quote }}
- name: PROGRESS_HELP_PHRASES
  value: {{ .Values.rules.helpPhrases | toJson | quote }}
- name: PROGRESS_MISCONCEPTION_SHARE
  value: {{ .Values.rules.misconceptionShare | quote }}
- name: PROGRESS_MISCONCEPTION_MIN_STUDENTS
  value: {{ include "progress.int" (list "rules.misconceptionMinStudents" .Values.rules.misconceptionMinStudents) }}
- name: PROGRESS_MISCONCEPTION_WINDOW_HOURS
  value: {{ .Values.rules.misconceptionWindowHours | quote }}
- name: PROGRESS_WHEEL_SPINNING_ATTEMPTS
  value: {{ include "progress.int" (list "rules.wheelSpinningAttempts" .Values.rules.wheelSpinningAttempts) }}
- name: PROGRESS_WHEEL_SPINNING_MASTERY
  value: {{ .Values.rules.wheelSpinningMastery | quote }}
- name: PROGRESS_CURRICULUM_FILE
  value: {{ include "progress.curriculumDir" . }}/curriculum.toml
- name: PROGRESS_EVENT_RETENTION_DAYS
  value: {{ .Values.eventRetentionDays | quote }}
- name: PROGRESS_DRY_RUN_MAX_EVENTS
  value: {{ include "progress.int" (list "dryRunMaxEvents" .Values.dryRunMaxEvents) }}
- name: PROGRESS_INTAKE_LANES
  value: {{ include "progress.int" (list "intake.lanes" .Values.intake.lanes) }}
- name: PROGRESS_BULK_MAX_MESSAGES
  value: {{ include "progress.int" (list "intake.bulkMaxMessages" .Values.intake.bulkMaxMessages) }}
- name: PROGRESS_BULK_MAX_AWAIT_MS
  value: {{ include "progress.int" (list "intake.bulkMaxAwaitMs" .Values.intake.bulkMaxAwaitMs) }}
- name: PROGRESS_STREAM_TICKET_TTL_S
  value: {{ include "progress.int" (list "streamTickets.ttlSeconds" .Values.streamTickets.ttlSeconds) }}
{{- with .Values.streamTickets.existingSecret }}
- name: PROGRESS_STREAM_TICKET_SECRET
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: secret}
{{- end }}
- name: PROGRESS_PUBLIC_URL
  value: {{ .Values.digests.publicUrl | quote }}
- name: PROGRESS_SMTP_HOST
  value: {{ .Values.digests.smtp.host | quote }}
- name: PROGRESS_SMTP_PORT
  value: {{ include "progress.int" (list "digests.smtp.port" .Values.digests.smtp.port) }}
- name: PROGRESS_SMTP_STARTTLS
  value: {{ .Values.digests.smtp.starttls | quote }}
- name: PROGRESS_SMTP_FROM
  value: {{ .Values.digests.smtp.fromAddress | quote }}
{{- with .Values.digests.smtp.existingSecret }}
- name: PROGRESS_SMTP_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: username, optional: true}
- name: PROGRESS_SMTP_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: password, optional: true}
{{- end }}
- name: PROGRESS_DIGEST_SEND_TIMEOUT_S
  value: {{ .Values.digests.sendTimeoutSeconds | quote }}
- name: PROGRESS_DIGEST_TICK_S
  value: {{ .Values.digests.tickSeconds | quote }}
- name: PROGRESS_DIGEST_RETRY_BASE_S
  value: {{ .Values.digests.retryBaseSeconds | quote }}
- name: PROGRESS_DIGEST_MAX_ATTEMPTS
  value: {{ include "progress.int" (list "digests.maxAttempts" .Values.digests.maxAttempts) }}
{{- with .Values.digests.unsubscribeSecret }}
- name: PROGRESS_DIGEST_UNSUBSCRIBE_SECRET
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: secret}
{{- end }}
{{- with .Values.cors.origins }}
- name: PROGRESS_CORS_ORIGINS
  value: {{ join "," . | quote }}
{{- end }}
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.dapr.apiTokenSecret }}, key: token}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.dapr.apiTokenSecret }}, key: token}
{{- end -}}

{{/* What tells the roles apart in the app's environment: PROGRESS_ROLE, and for the
front end the actor host's app id (its operators' views ask the actor host by Dapr
service invocation, service/host_report.py). Call with (list $ role). */}}
{{- define "progress.roleEnv" -}}
{{- $root := index . 0 -}}{{- $role := index . 1 -}}
- name: PROGRESS_ROLE
  value: {{ $role | quote }}
{{- if eq $role "api" }}
- name: PROGRESS_ACTOR_HOST_APP_ID
  value: {{ include "progress.appId" (list $root "actors") | quote }}
{{- end }}
{{- end -}}

{{/* A role's app environment: the chart's (the same for both roles but for
progress.roleEnv), then extraEnv, which both roles get; a name the chart sets for either
role is refused. Call with (list $ role). */}}
{{- define "progress.env" -}}
{{- $root := index . 0 -}}{{- $role := index . 1 -}}
{{- $base := printf "%s\n%s" (include "progress.baseEnv" $root) (include "progress.roleEnv" (list $root $role)) -}}
{{- $taken := dict "PROGRESS_ROLE" true "PROGRESS_ACTOR_HOST_APP_ID" true -}}
{{- range (fromYamlArray $base) }}{{- $_ := set $taken .name true -}}{{- end -}}
{{- range $root.Values.extraEnv -}}
{{- if not (kindIs "map" .) -}}
{{- fail (printf "extraEnv entries are {name, value} or {name, valueFrom} maps, got %v" .) -}}
{{- end -}}
{{- if not .name -}}{{- fail (printf "extraEnv entry without a name: %v" .) -}}{{- end -}}
{{- if hasKey $taken .name -}}
{{- fail (printf "extraEnv sets %s, which the chart sets from values.yaml: set that value instead" .name) -}}
{{- end -}}
{{- end -}}
{{ $base }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/* daprd's resources (the injector's dapr.io/sidecar-* annotations) from a role's
sidecarResources: {requests: {cpu, memory}, limits: {cpu, memory}}, each optional.
Call with (list "frontEnd" $values). */}}
{{- define "progress.sidecarResourceAnnotations" -}}
{{- $key := index . 0 -}}{{- $resources := index . 1 | default dict -}}
{{- range $kind, $list := $resources }}
{{- if not (has $kind (list "requests" "limits")) }}
{{- fail (printf "%s.sidecarResources has requests and limits, not %s" $key $kind) }}
{{- end }}
{{- range $resource, $quantity := $list }}
{{- if not (has $resource (list "cpu" "memory")) }}
{{- fail (printf "%s.sidecarResources.%s has cpu and memory, not %s" $key $kind $resource) }}
{{- end }}
{{- if $quantity }}
dapr.io/sidecar-{{ $resource }}-{{ trimSuffix "s" $kind }}: {{ $quantity | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* A Kafka credential as component metadata: secretKeyRef to {secret, key}, auth.secret
when the reference names none. Call with (list "metadataName" $ref $). */}}
{{- define "progress.kafkaSecretRef" -}}
{{- $name := index . 0 -}}{{- $ref := index . 1 -}}{{- $root := index . 2 -}}
{{- $secret := $ref.secret | default $root.Values.kafka.auth.secret -}}
{{- if not (and $secret $ref.key) -}}
{{- fail (printf "kafka: %s needs a secret and a key (kafka.auth.type %s)" $name $root.Values.kafka.auth.type) -}}
{{- end -}}
- name: {{ $name }}
  secretKeyRef: {name: {{ $secret | quote }}, key: {{ $ref.key | quote }}}
{{- end -}}

{{/* Connection and authentication metadata shared by every Kafka component. */}}
{{- define "progress.kafkaMetadata" -}}
{{- $auth := .Values.kafka.auth -}}
{{- $tls := .Values.kafka.tls -}}
{{- $type := $auth.type | toString -}}
- {name: brokers, value: {{ .Values.kafka.brokers | quote }}}
- {name: version, value: {{ .Values.kafka.protocolVersion | quote }}}
- {name: authType, value: {{ $type | quote }}}
{{- if eq $type "none" }}
{{- if or $tls.caCert.key $tls.skipVerify $tls.disable }}
{{- fail "kafka.tls.* do not apply to kafka.auth.type none (plaintext): TLS without client authentication is type certificate" }}
{{- end }}
{{- else if has $type (list "password" "certificate" "mtls") }}
{{- if eq $type "password" }}
{{- if not (has $auth.saslMechanism (list "SHA-512" "SHA-256" "PLAINTEXT")) }}
{{- fail (printf "kafka.auth.saslMechanism must be SHA-512, SHA-256 or PLAINTEXT, not %v" $auth.saslMechanism) }}
{{- end }}
- {name: saslMechanism, value: {{ $auth.saslMechanism | quote }}}
{{ include "progress.kafkaSecretRef" (list "saslUsername" $auth.saslUsername .) }}
{{ include "progress.kafkaSecretRef" (list "saslPassword" $auth.saslPassword .) }}
{{- else if $tls.disable }}
{{- fail (printf "kafka.tls.disable applies to kafka.auth.type password only (certificate and mtls are TLS)") }}
{{- end }}
{{- if $tls.disable }}
- {name: disableTls, value: "true"}
{{- end }}
{{- if or (ne $type "password") $tls.caCert.key }}
{{ include "progress.kafkaSecretRef" (list "caCert" $tls.caCert .) }}
{{- end }}
{{- if eq $type "mtls" }}
{{ include "progress.kafkaSecretRef" (list "clientCert" $auth.clientCert .) }}
{{ include "progress.kafkaSecretRef" (list "clientKey" $auth.clientKey .) }}
{{- end }}
{{- if $tls.skipVerify }}
- {name: skipVerify, value: "true"}
{{- end }}
{{- else }}
{{- fail (printf "kafka.auth.type must be none, password, certificate or mtls, not %q" $type) }}
{{- end }}
{{- end -}}


{{/* The Kafka PEM files the app reads for GET /ops/intake, from kafka.auth/kafka.tls:
a list of {file, ref} (empty for plaintext, and for SASL over TLS with the system's CAs). */}}
{{- define "progress.kafkaAppFiles" -}}
{{- $auth := .Values.kafka.auth -}}{{- $tls := .Values.kafka.tls -}}
{{- $type := $auth.type | toString -}}
{{- $files := list -}}
{{- if or (has $type (list "certificate" "mtls")) (and (eq $type "password") $tls.caCert.key) -}}
{{- $files = append $files (dict "file" "ca.crt" "ref" $tls.caCert) -}}
{{- end -}}
{{- if eq $type "mtls" -}}
{{- $files = append $files (dict "file" "client.crt" "ref" $auth.clientCert) -}}
{{- $files = append $files (dict "file" "client.key" "ref" $auth.clientKey) -}}
{{- end -}}
{{- toJson $files -}}
{{- end -}}
{{- define "progress.kafkaAppDir" -}}/etc/progress/kafka{{- end -}}

{{/* How the app itself reaches the brokers (GET /ops/intake: consumer lag and dead
letters), the same way daprd's components do: kafka.auth.type none -> PLAINTEXT,
password -> SASL_SSL (SASL_PLAINTEXT with tls.disable), certificate and mtls -> SSL;
credentials from the same Secrets (env secretKeyRef, PEM files mounted by the
Deployment). */}}
{{- define "progress.kafkaAppEnv" -}}
{{- $auth := .Values.kafka.auth -}}{{- $tls := .Values.kafka.tls -}}
{{- $type := $auth.type | toString -}}
{{- $protocol := dict "none" "PLAINTEXT" "password" (ternary "SASL_PLAINTEXT" "SASL_SSL" (eq ($tls.disable | toString) "true")) "certificate" "SSL" "mtls" "SSL" -}}
{{- $mechanism := dict "SHA-512" "SCRAM-SHA-512" "SHA-256" "SCRAM-SHA-256" "PLAINTEXT" "PLAIN" -}}
{{- $dir := include "progress.kafkaAppDir" . -}}
- name: PROGRESS_KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: PROGRESS_KAFKA_SECURITY_PROTOCOL
  value: {{ get $protocol $type | default "PLAINTEXT" | quote }}
{{- if eq $type "password" }}
- name: PROGRESS_KAFKA_SASL_MECHANISM
  value: {{ get $mechanism ($auth.saslMechanism | toString) | default "SCRAM-SHA-512" | quote }}
- name: PROGRESS_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ $auth.saslUsername.secret | default $auth.secret | quote }}, key: {{ $auth.saslUsername.key | quote }}}
- name: PROGRESS_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $auth.saslPassword.secret | default $auth.secret | quote }}, key: {{ $auth.saslPassword.key | quote }}}
{{- end }}
{{- range (include "progress.kafkaAppFiles" . | fromJsonArray) }}
{{- $variable := get (dict "ca.crt" "PROGRESS_KAFKA_CA_FILE" "client.crt" "PROGRESS_KAFKA_CERT_FILE" "client.key" "PROGRESS_KAFKA_KEY_FILE") .file }}
- name: {{ $variable }}
  value: {{ printf "%s/%s" $dir .file | quote }}
{{- end }}
{{- if and (ne $type "none") $tls.skipVerify }}
- name: PROGRESS_KAFKA_TLS_SKIP_VERIFY
  value: "true"
{{- end }}
{{- end -}}

{{/* The projected volume of the app's Kafka PEM files (nothing when there are none). */}}
{{- define "progress.kafkaAppVolume" -}}
{{- $files := include "progress.kafkaAppFiles" . | fromJsonArray -}}
{{- if $files -}}
- name: kafka-tls
  projected:
    sources:
      {{- range $files }}
      - secret:
          name: {{ .ref.secret | default $.Values.kafka.auth.secret | quote }}
          items: [{key: {{ .ref.key | quote }}, path: {{ .file | quote }}}]
      {{- end }}
{{- end }}
{{- end -}}
