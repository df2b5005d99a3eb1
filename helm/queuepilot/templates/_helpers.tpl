{{/* Name of the chart, overridable. */}}
{{- define "queuepilot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name prefix of every object. */}}
{{- define "queuepilot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "queuepilot.workerName" -}}{{ include "queuepilot.fullname" . }}-worker{{- end -}}
{{- define "queuepilot.controllerName" -}}{{ include "queuepilot.fullname" . }}-controller{{- end -}}

{{- define "queuepilot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "queuepilot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: queuepilot
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component (worker or controller): pass (dict "ctx" $ "component" "worker"). */}}
{{- define "queuepilot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "queuepilot.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "queuepilot.componentLabels" -}}
{{ include "queuepilot.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "queuepilot.controllerServiceAccount" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (include "queuepilot.controllerName" .) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create=false" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "queuepilot.workerServiceAccount" -}}
{{- if .Values.worker.serviceAccount.create -}}
{{- default (include "queuepilot.workerName" .) .Values.worker.serviceAccount.name -}}
{{- else -}}
{{- required "worker.serviceAccount.name is required when worker.serviceAccount.create=false" .Values.worker.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* image reference: pass (dict "image" .Values.worker.image "ctx" $) */}}
{{- define "queuepilot.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* Container security context shared by both processes. */}}
{{- define "queuepilot.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "queuepilot.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Deployments the controller may scale: the chart's worker plus rbac.extraTargetDeployments. */}}
{{- define "queuepilot.targetDeployments" -}}
{{- $names := list (include "queuepilot.workerName" .) -}}
{{- range .Values.rbac.extraTargetDeployments }}{{ $names = append $names . }}{{ end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{/* Secrets the controller may read: its database Secret (the QueueScaler's) plus rbac.extraSecrets. */}}
{{- define "queuepilot.controllerSecrets" -}}
{{- $names := list .Values.queueScaler.databaseSecretName -}}
{{- range .Values.rbac.extraSecrets }}{{ $names = append $names . }}{{ end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{/* Cross-field checks the JSON schema cannot express. */}}
{{- define "queuepilot.validate" -}}
{{- if le (int .Values.worker.terminationGracePeriodSeconds) (int .Values.worker.gracePeriodSeconds) -}}
{{- fail (printf "worker.terminationGracePeriodSeconds (%v) must be greater than worker.gracePeriodSeconds (%v), or Kubernetes kills workers before they finish or release their jobs" .Values.worker.terminationGracePeriodSeconds .Values.worker.gracePeriodSeconds) -}}
{{- end -}}
{{- if gt (int .Values.queueScaler.minReplicas) (int .Values.queueScaler.maxReplicas) -}}
{{- fail (printf "queueScaler.minReplicas (%v) must not exceed queueScaler.maxReplicas (%v)" .Values.queueScaler.minReplicas .Values.queueScaler.maxReplicas) -}}
{{- end -}}
{{- if and (eq .Values.worker.processor "openai") (not .Values.openai.existingSecret) -}}
{{- fail "openai.existingSecret is required when worker.processor=openai (the API key is read from that Secret, never from values)" -}}
{{- end -}}
{{- if eq .Values.worker.store "supabase" -}}
{{- if not .Values.supabase.url -}}
{{- fail "supabase.url is required when worker.store=supabase (e.g. https://<project>.supabase.co)" -}}
{{- end -}}
{{- if not .Values.supabase.existingSecret -}}
{{- fail "supabase.existingSecret is required when worker.store=supabase (the service-role key is read from that Secret)" -}}
{{- end -}}
{{- end -}}
{{- if and (gt (int .Values.controller.replicaCount) 1) (not .Values.controller.leaderElection) -}}
{{- fail "controller.leaderElection must be true when controller.replicaCount > 1, or two controllers would both scale" -}}
{{- end -}}
{{- end -}}
