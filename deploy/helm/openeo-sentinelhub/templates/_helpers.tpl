{{/* Chart name. */}}
{{- define "openeo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name (release-based, max 40 chars so "-<component>-headless" fits in 63). */}}
{{- define "openeo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "openeo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "openeo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "openeo.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Common labels. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "openeo.labels" -}}
helm.sh/chart: {{ include "openeo.chart" .root }}
{{ include "openeo.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: openeo-sentinelhub
{{- end -}}

{{- define "openeo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "openeo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The image of one component (each has its own, a Dockerfile target of the same name):
<component>.image.repository / .tag when set, else <image.repositoryPrefix>/<name> and the shared
image.tag (default: the chart appVersion). Call with (dict "root" $ "name" "gateway" "image" $v.image).
*/}}
{{- define "openeo.image" -}}
{{- $img := .image | default dict -}}
{{- $repo := $img.repository | default (printf "%s/%s" .root.Values.image.repositoryPrefix .name) -}}
{{- $tag := $img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo (toString $tag) -}}
{{- end -}}

{{/*
Static facts about the gRPC services (module, port, listen variable, secrets each one gets).
Secrets: sh = Sentinel Hub client, s3 = S3 keys, mongodb = URI, signing = result signing secret.
*/}}
{{- define "openeo.grpcServices" -}}
compiler:
  module: compiler_svc
  port: 50051
  listenEnv: COMPILER_LISTEN
  healthService: openeo.backend.v1.CompilerService
  addrEnv: COMPILER_ADDR
  secrets: [sh]
executor:
  module: executor_svc
  port: 50052
  listenEnv: EXECUTOR_LISTEN
  healthService: openeo.backend.v1.ExecutorService
  addrEnv: EXECUTOR_ADDR
  secrets: [sh, s3]
tiles:
  module: tiles_svc
  port: 50053
  listenEnv: TILES_LISTEN
  healthService: openeo.backend.v1.TilesService
  addrEnv: TILES_ADDR
  secrets: [sh]
store:
  module: store_svc
  port: 50054
  listenEnv: STORE_LISTEN
  healthService: openeo.backend.v1.StoreService
  addrEnv: STORE_ADDR
  secrets: [mongodb]
{{- end -}}

{{/* Headless Service name of a gRPC component. (dict "root" $ "component" "store") */}}
{{- define "openeo.headlessName" -}}
{{- printf "%s-%s-headless" (include "openeo.fullname" .root) .component -}}
{{- end -}}

{{/* gRPC target: dns:///<headless>.<ns>.svc.cluster.local:<port> (round_robin over pod IPs). */}}
{{- define "openeo.grpcTarget" -}}
{{- $svc := index (include "openeo.grpcServices" .root | fromYaml) .component -}}
{{- printf "dns:///%s.%s.svc.cluster.local:%v" (include "openeo.headlessName" .) .root.Release.Namespace $svc.port -}}
{{- end -}}

{{- define "openeo.emulatorUrl" -}}
{{- printf "http://%s-sentinelhub-emulator:8090" (include "openeo.fullname" .) -}}
{{- end -}}

{{/* Secret env entries. (dict "root" $ "secrets" (list "sh" "s3")) */}}
{{- define "openeo.secretEnv" -}}
{{- $s := .root.Values.secrets -}}
{{- range .secrets }}
{{- if eq . "sh" }}
- name: SH_CLIENT_ID
  valueFrom:
    secretKeyRef:
      name: {{ $s.sentinelhub.existingSecret }}
      key: {{ $s.sentinelhub.clientIdKey }}
- name: SH_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $s.sentinelhub.existingSecret }}
      key: {{ $s.sentinelhub.clientSecretKey }}
{{- else if eq . "s3" }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $s.s3.existingSecret }}
      key: {{ $s.s3.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s.s3.existingSecret }}
      key: {{ $s.s3.secretAccessKeyKey }}
{{- else if eq . "mongodb" }}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ $s.mongodb.existingSecret }}
      key: {{ $s.mongodb.uriKey }}
{{- else if eq . "signing" }}
- name: RESULT_SIGNING_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $s.resultSigning.existingSecret }}
      key: {{ $s.resultSigning.key }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level scheduling + security shared by all app pods. (dict "root" $ "component" "x") */}}
{{- define "openeo.podCommon" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "openeo.serviceAccountName" $root }}
automountServiceAccountToken: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- if $root.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ $root.Values.topologySpread.zone }}
    labelSelector:
      matchLabels:
        {{- include "openeo.selectorLabels" . | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ $root.Values.topologySpread.hostname }}
    labelSelector:
      matchLabels:
        {{- include "openeo.selectorLabels" . | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
