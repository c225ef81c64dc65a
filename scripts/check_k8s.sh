#!/usr/bin/env bash
# Offline checks of the Kubernetes deployment (no cluster needed):
#   - `kubectl kustomize` for every overlay in deploy/k8s/overlays/
#   - `helm lint --strict` and `helm template` for the chart with default, dev and production values
#   - `kubernetes-validate --strict` (bundled offline schemas) on every rendered output
#   - hadolint on the Dockerfile (if installed)
# Tools come from scripts/install_k8s_tools.sh (into .venv/bin). Exits non-zero on any failure.
# Env: K8S_VERSION (default 1.35.0), RENDER_DIR (default: a temp dir, kept when set), VENV.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
BIN="$VENV/bin"
K8S_VERSION="${K8S_VERSION:-1.35.0}"
CHART="$ROOT/deploy/helm/openeo-sentinelhub"
if [[ -n "${RENDER_DIR:-}" ]]; then
  mkdir -p "$RENDER_DIR"
else
  RENDER_DIR="$(mktemp -d)"
  trap 'rm -rf "$RENDER_DIR"' EXIT
fi

for tool in kubectl helm kubernetes-validate; do
  if [[ ! -x "$BIN/$tool" ]]; then
    echo "missing $BIN/$tool: run scripts/install_k8s_tools.sh" >&2
    exit 2
  fi
done

failures=0
step() {  # step <description> <command...>
  local desc="$1"; shift
  if "$@"; then
    echo "ok    $desc"
  else
    echo "FAIL  $desc" >&2
    failures=$((failures + 1))
  fi
}
validate() {  # validate <file>
  "$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$1"
}
render_and_validate() {  # render_and_validate <name> <command...>  (stdout -> $RENDER_DIR/<name>.yaml)
  local name="$1"; shift
  local out="$RENDER_DIR/$name.yaml"
  if "$@" >"$out"; then
    if [[ ! -s "$out" ]]; then
      echo "FAIL  render $name: empty output" >&2
      failures=$((failures + 1))
      return
    fi
    echo "ok    render $name ($(grep -c '^kind:' "$out") objects)"
    step "validate $name (kubernetes $K8S_VERSION, strict)" validate "$out"
  else
    echo "FAIL  render $name" >&2
    failures=$((failures + 1))
  fi
}

# kustomize overlays
for overlay in "$ROOT"/deploy/k8s/overlays/*/; do
  name="kustomize-$(basename "$overlay")"
  render_and_validate "$name" "$BIN/kubectl" kustomize "$overlay"
done

# helm: default values plus every values file next to the chart
declare -A helm_values=([default]="")
for f in "$ROOT"/deploy/helm/values-*.yaml; do
  [[ -e "$f" ]] || continue
  v="$(basename "$f" .yaml)"; v="${v#values-}"
  helm_values[$v]="$f"
done
for v in $(printf "%s\n" "${!helm_values[@]}" | sort); do
  args=()
  [[ -n "${helm_values[$v]}" ]] && args=(-f "${helm_values[$v]}")
  step "helm lint --strict ($v values)" "$BIN/helm" lint --strict --quiet "$CHART" "${args[@]}"
  render_and_validate "helm-$v" "$BIN/helm" template openeo-sentinelhub "$CHART" --namespace openeo \
    --kube-version "$K8S_VERSION" "${args[@]}"
done

# Dockerfile
if [[ -x "$BIN/hadolint" ]]; then
  step "hadolint Dockerfile" "$BIN/hadolint" "$ROOT/Dockerfile"
else
  echo "skip  hadolint not installed (scripts/install_k8s_tools.sh installs it)"
fi

if (( failures > 0 )); then
  echo "k8s checks: $failures failure(s)" >&2
  exit 1
fi
echo "k8s checks: all passed"
