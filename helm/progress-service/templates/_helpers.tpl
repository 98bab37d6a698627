{{- define "progress.name" -}}{{ .Release.Name }}{{- end -}}
{{- define "progress.labels" -}}
app.kubernetes.io/name: progress-service
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "progress.selector" -}}
app.kubernetes.io/name: progress-service
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "progress.env" -}}
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
- name: PROGRESS_STUCK_MINUTES
  value: {{ .Values.rules.stuckMinutes | quote }}
- name: PROGRESS_INACTIVITY_DAYS
  value: {{ .Values.rules.inactivityDays | quote }}
- name: PROGRESS_MISCONCEPTION_SHARE
  value: {{ .Values.rules.misconceptionShare | quote }}
- name: PROGRESS_MISCONCEPTION_MIN_STUDENTS
  value: {{ .Values.rules.misconceptionMinStudents | quote }}
- name: PROGRESS_MISCONCEPTION_WINDOW_HOURS
  value: {{ .Values.rules.misconceptionWindowHours | quote }}
- name: PROGRESS_EVENT_RETENTION_DAYS
  value: {{ .Values.eventRetentionDays | quote }}
- name: PROGRESS_DRY_RUN_MAX_EVENTS
  value: {{ .Values.dryRunMaxEvents | quote }}
- name: INTAKE_LANES
  value: {{ .Values.intake.lanes | quote }}
- name: PROGRESS_BULK_MAX_MESSAGES
  value: {{ .Values.intake.bulkMaxMessages | quote }}
- name: PROGRESS_BULK_MAX_AWAIT_MS
  value: {{ .Values.intake.bulkMaxAwaitMs | quote }}
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.dapr.apiTokenSecret }}, key: token}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.dapr.apiTokenSecret }}, key: token}
{{- end -}}
