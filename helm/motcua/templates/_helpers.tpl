{{/* Names and labels shared by every template. */}}

{{- define "motcua.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-<chart>", or just the release when it already contains the chart name. */}}
{{- define "motcua.fullname" -}}
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

{{- define "motcua.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "motcua.labels" -}}
helm.sh/chart: {{ include "motcua.chart" . }}
{{ include "motcua.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels must never change after install: Deployments' selectors are immutable. */}}
{{- define "motcua.selectorLabels" -}}
app.kubernetes.io/name: {{ include "motcua.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "motcua.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "motcua.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "motcua.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "motcua.tenantsConfigMap" -}}
{{- default (printf "%s-tenants" (include "motcua.fullname" .)) .Values.existingTenantsConfigMap }}
{{- end }}

{{/* The tenant files as ConfigMap data: file name -> TOML text. */}}
{{- define "motcua.tenantsData" -}}
{{- if .Values.tenants }}
data:
  {{- range $file, $toml := .Values.tenants }}
  {{ $file | quote }}: |
    {{- $toml | nindent 4 }}
  {{- end }}
{{- else }}
data: {}
{{- end }}
{{- end }}

{{/* Environment common to web, worker and migration: paths, public URL, secrets by reference. */}}
{{- define "motcua.env" -}}
- name: MOTCUA_PUBLIC_URL
  value: {{ .Values.publicUrl | quote }}
- name: MOTCUA_TENANTS_DIR
  value: /etc/motcua/tenants
- name: MOTCUA_DATA_DIR
  value: /var/lib/motcua
- name: MOTCUA_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: MOTCUA_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.keys.databaseUrl }}
- name: MOTCUA_APP_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.keys.appDatabaseUrl }}
- name: MOTCUA_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.keys.masterKey }}
- name: MOTCUA_APP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.keys.appPassword }}
      optional: true
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Per-tenant secrets (OA secret key, adapter passwords) that tenant files name by variable. */}}
{{- define "motcua.envFrom" -}}
{{- range .Values.secrets.tenantSecrets }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end }}

{{/* Writable paths under a read-only root, and the tenant files (volume "tenants", set per pod). */}}
{{- define "motcua.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/motcua
- name: tenants
  mountPath: /etc/motcua/tenants
  readOnly: true
{{- end }}

{{- define "motcua.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
{{- end }}

{{/* Scheduling knobs shared by every pod. */}}
{{- define "motcua.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
