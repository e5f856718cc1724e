{{- define "meshlake.labels" -}}
app.kubernetes.io/name: meshlake
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "meshlake.selector" -}}
app.kubernetes.io/name: meshlake
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meshlake.secretName" -}}
{{- default (printf "%s-meshlake" .Release.Name) .Values.postgres.existingSecret -}}
{{- end -}}

{{- define "meshlake.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* The platform pods' environment: the project, the governance service, Spark, the instance. */}}
{{- define "meshlake.platformEnv" -}}
- name: MESHLAKE_PROJECT
  value: /app
- name: MESHLAKE_HOME
  value: /var/lib/meshlake
- name: DAGSTER_HOME
  value: /opt/dagster/home
- name: MESHLAKE_SPARK_MASTER
  value: {{ .Values.platform.sparkMaster | quote }}
- name: MESHLAKE_GOVERNANCE_URL
  value: {{ printf "http://%s-governance:%v" .Release.Name .Values.governance.port | quote }}
- name: MESHLAKE_GOVERNANCE_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "meshlake.secretName" . }}
      key: MESHLAKE_GOVERNANCE_TOKEN
      optional: true
- name: DAGSTER_POSTGRES_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "meshlake.secretName" . }}
      key: DAGSTER_POSTGRES_URL
- name: MESHLAKE_DAGSTER_AUTOMATION
  value: "true"
{{- range $name, $value := .Values.platform.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}
